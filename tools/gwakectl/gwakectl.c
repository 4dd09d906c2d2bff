// SPDX-License-Identifier: GPL-2.0
/*
 * gwakectl: what gwake.ko reports through its generic netlink family.
 *
 *   gwakectl [--json] stats                  the module's event counters
 *   gwakectl [--json] threads [--pid PID]    the registered threads
 *
 * One netlink socket (libnl-genl-3): connect, ask for extended acks, resolve
 * the "gwake" family, send one request, read replies until the ack (a do)
 * or NLMSG_DONE (a dump), parsing each with a policy: a reply that does
 * not match it is an error, never half-printed. The ABI is
 * include/uapi/linux/gwake.h, explained in docs/uapi.md.
 *
 * Exit status: 0, 1 on any error (with one line on stderr), 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/gwake.h>
#include <linux/netlink.h>

#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

static const char *prog = "gwakectl";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--json] stats\n"
		"       %s [--json] threads [--pid PID]\n"
		"       %s -h | --help\n"
		"\n"
		"Reads gwake.ko's generic netlink family \"%s\".\n"
		"  stats            the module's event counters, since it was loaded\n"
		"  threads          the registered threads of every process; needs\n"
		"                   CAP_SYS_ADMIN (without it the kernel lists the\n"
		"                   caller's own process only: none, for gwakectl)\n"
		"  --pid PID        the threads of process PID only\n"
		"  --json           one JSON document on stdout instead of a table\n",
		prog, prog, prog, GWAKE_GENL_NAME);
}

/* One connection to the family, and what the current request came back with. */
struct ctl {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	bool json;
	/* Set by the callbacks of one request. */
	bool done;
	int err;		/* a negative errno from the kernel, or ours */
	char extack[256];	/* the kernel's extended-ack message, if any */
	const char *what;	/* what went wrong on our side, if err < 0 */
};

/* --- stats ------------------------------------------------------------ */

/* Every counter, in the order of the uapi enum; names are the JSON keys. */
static const struct {
	int attr;
	const char *name;
	const char *text;
} stat_names[] = {
	{ GWAKE_STATS_A_REGISTERS,	"registers",	 "registrations" },
	{ GWAKE_STATS_A_UNREGISTERS,	"unregisters",	 "ended by UNREGISTER" },
	{ GWAKE_STATS_A_EXITS,		"exits",	 "ended by thread exit or exec" },
	{ GWAKE_STATS_A_RELEASES,	"releases",	 "ended by closing the file" },
	{ GWAKE_STATS_A_BLOCKS,		"blocks",	 "blocks" },
	{ GWAKE_STATS_A_BLOCKS_PERMIT,	"blocks_permit", "blocks that took a permit" },
	{ GWAKE_STATS_A_SLEEPS,		"sleeps",	 "blocks that slept" },
	{ GWAKE_STATS_A_TIMEOUTS,	"timeouts",	 "blocks that timed out" },
	{ GWAKE_STATS_A_INTERRUPTS,	"interrupts",	 "blocks a signal ended" },
	{ GWAKE_STATS_A_WAKES_WOKEN,	"wakes_woken",	 "wakes that woke a sleeper" },
	{ GWAKE_STATS_A_WAKES_PERMIT,	"wakes_permit",	 "wakes that left a permit" },
	{ GWAKE_STATS_A_WAKES_STALE,	"wakes_stale",	 "wakes of stale handles" },
	{ GWAKE_STATS_A_SWAPS,		"swaps",	 "swaps" },
	{ GWAKE_STATS_A_WAKE_MANY,	"wake_many",	 "wake-many calls" },
};

#define NSTATS	(sizeof(stat_names) / sizeof(stat_names[0]))

/* Attributes this program does not know (a newer module) are ignored. */
static struct nla_policy stats_policy[GWAKE_STATS_A_MAX + 1] = {
	[GWAKE_STATS_A_REGISTERS]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_UNREGISTERS]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_EXITS]		= { .type = NLA_U64 },
	[GWAKE_STATS_A_RELEASES]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_BLOCKS]		= { .type = NLA_U64 },
	[GWAKE_STATS_A_BLOCKS_PERMIT]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_SLEEPS]		= { .type = NLA_U64 },
	[GWAKE_STATS_A_TIMEOUTS]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_INTERRUPTS]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_WAKES_WOKEN]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_WAKES_PERMIT]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_WAKES_STALE]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_SWAPS]		= { .type = NLA_U64 },
	[GWAKE_STATS_A_WAKE_MANY]	= { .type = NLA_U64 },
};

struct stats {
	struct ctl *c;
	bool have;
	uint64_t v[NSTATS];
};

/* The parsed message, or NULL after recording why it is malformed. */
static struct nlattr **parse_reply(struct ctl *c, struct nl_msg *msg, int cmd,
				   struct nlattr **tb, int maxattr,
				   struct nla_policy *policy)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh;

	if (nlh->nlmsg_type != c->family || !genlmsg_valid_hdr(nlh, 0)) {
		c->what = "a reply that is not from the gwake family";
		return NULL;
	}
	gnlh = genlmsg_hdr(nlh);
	if (gnlh->cmd != cmd) {
		c->what = "a reply to another command";
		return NULL;
	}
	if (genlmsg_parse(nlh, 0, tb, maxattr, policy) < 0) {
		c->what = "a malformed reply (attribute type or size)";
		return NULL;
	}
	return tb;
}

static int on_stats(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[GWAKE_STATS_A_MAX + 1];
	struct stats *s = arg;
	size_t i;

	if (!parse_reply(s->c, msg, GWAKE_CMD_GET_STATS, tb, GWAKE_STATS_A_MAX,
			 stats_policy))
		goto bad;
	for (i = 0; i < NSTATS; i++) {
		if (!tb[stat_names[i].attr]) {
			s->c->what = "a statistics reply without every counter";
			goto bad;
		}
		s->v[i] = nla_get_u64(tb[stat_names[i].attr]);
	}
	s->have = true;
	return NL_OK;
bad:
	s->c->err = -EPROTO;
	return NL_STOP;
}

static void print_stats(const struct stats *s, bool json)
{
	/*
	 * Registered now: created minus every way a registration ends, the
	 * first four entries of stat_names[].
	 */
	uint64_t live = s->v[0] - s->v[1] - s->v[2] - s->v[3];
	size_t i;

	if (json) {
		printf("{");
		for (i = 0; i < NSTATS; i++)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "", stat_names[i].name, s->v[i]);
		printf(", \"registered\": %" PRIu64 "}\n", live);
		return;
	}
	for (i = 0; i < NSTATS; i++)
		printf("%-14s %20" PRIu64 "  %s\n", stat_names[i].name, s->v[i], stat_names[i].text);
	printf("%-14s %20" PRIu64 "  %s\n", "registered", live,
	       "registered now (registers - unregisters - exits - releases)");
}

/* --- threads ---------------------------------------------------------- */

static struct nla_policy thread_policy[GWAKE_THREAD_A_MAX + 1] = {
	[GWAKE_THREAD_A_HANDLE]		= { .type = NLA_U64 },
	[GWAKE_THREAD_A_TGID]		= { .type = NLA_U32 },
	[GWAKE_THREAD_A_TID]		= { .type = NLA_U32 },
	[GWAKE_THREAD_A_STATE]		= { .type = NLA_U32 },
	[GWAKE_THREAD_A_BLOCKS]		= { .type = NLA_U64 },
	[GWAKE_THREAD_A_BLOCKS_PERMIT]	= { .type = NLA_U64 },
	[GWAKE_THREAD_A_SLEEPS]		= { .type = NLA_U64 },
};

/* Every attribute a thread message must carry. */
static const int thread_required[] = {
	GWAKE_THREAD_A_HANDLE, GWAKE_THREAD_A_TGID, GWAKE_THREAD_A_TID,
	GWAKE_THREAD_A_STATE, GWAKE_THREAD_A_BLOCKS,
	GWAKE_THREAD_A_BLOCKS_PERMIT, GWAKE_THREAD_A_SLEEPS,
};

struct thread {
	uint64_t handle;
	uint32_t tgid, tid, state;
	uint64_t blocks, blocks_permit, sleeps;
};

struct threads {
	struct ctl *c;
	struct thread *v;
	size_t n, cap;
};

static const char *state_name(uint32_t state)
{
	switch (state) {
	case GWAKE_THREAD_IDLE:
		return "idle";
	case GWAKE_THREAD_PERMIT:
		return "permit";
	case GWAKE_THREAD_ASLEEP:
		return "asleep";
	default:
		return "unknown";	/* a state added after this program */
	}
}

static int on_thread(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[GWAKE_THREAD_A_MAX + 1];
	struct threads *ts = arg;
	struct thread *t;
	size_t i;

	if (!parse_reply(ts->c, msg, GWAKE_CMD_GET_THREADS, tb, GWAKE_THREAD_A_MAX,
			 thread_policy))
		goto bad;
	for (i = 0; i < sizeof(thread_required) / sizeof(thread_required[0]); i++) {
		if (!tb[thread_required[i]]) {
			ts->c->what = "a thread message without every attribute";
			goto bad;
		}
	}
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? 2 * ts->cap : 64;
		struct thread *v = realloc(ts->v, cap * sizeof(*v));

		if (!v) {
			ts->c->err = -ENOMEM;
			return NL_STOP;
		}
		ts->v = v;
		ts->cap = cap;
	}
	t = &ts->v[ts->n++];
	t->handle = nla_get_u64(tb[GWAKE_THREAD_A_HANDLE]);
	t->tgid = nla_get_u32(tb[GWAKE_THREAD_A_TGID]);
	t->tid = nla_get_u32(tb[GWAKE_THREAD_A_TID]);
	t->state = nla_get_u32(tb[GWAKE_THREAD_A_STATE]);
	t->blocks = nla_get_u64(tb[GWAKE_THREAD_A_BLOCKS]);
	t->blocks_permit = nla_get_u64(tb[GWAKE_THREAD_A_BLOCKS_PERMIT]);
	t->sleeps = nla_get_u64(tb[GWAKE_THREAD_A_SLEEPS]);
	return NL_OK;
bad:
	ts->c->err = -EPROTO;
	return NL_STOP;
}

static int thread_cmp(const void *a, const void *b)
{
	const struct thread *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return 0;
}

static void print_threads(struct threads *ts, bool json)
{
	size_t i;

	qsort(ts->v, ts->n, sizeof(*ts->v), thread_cmp);
	if (json) {
		printf("[");
		for (i = 0; i < ts->n; i++) {
			const struct thread *t = &ts->v[i];

			printf("%s{\"tgid\": %" PRIu32 ", \"tid\": %" PRIu32
			       ", \"handle\": %" PRIu64 ", \"state\": \"%s\""
			       ", \"blocks\": %" PRIu64 ", \"blocks_permit\": %" PRIu64
			       ", \"sleeps\": %" PRIu64 "}",
			       i ? ", " : "", t->tgid, t->tid, t->handle,
			       state_name(t->state), t->blocks, t->blocks_permit, t->sleeps);
		}
		printf("]\n");
		return;
	}
	printf("%8s %8s %-18s %-7s %12s %12s %12s\n",
	       "TGID", "TID", "HANDLE", "STATE", "BLOCKS", "PERMIT", "SLEEPS");
	for (i = 0; i < ts->n; i++) {
		const struct thread *t = &ts->v[i];

		printf("%8" PRIu32 " %8" PRIu32 " 0x%016" PRIx64 " %-7s %12" PRIu64
		       " %12" PRIu64 " %12" PRIu64 "\n",
		       t->tgid, t->tid, t->handle, state_name(t->state),
		       t->blocks, t->blocks_permit, t->sleeps);
	}
}

/* --- the connection --------------------------------------------------- */

static struct nla_policy extack_policy[NLMSGERR_ATTR_MAX + 1] = {
	[NLMSGERR_ATTR_MSG]	= { .type = NLA_STRING },
	[NLMSGERR_ATTR_OFFS]	= { .type = NLA_U32 },
};

/*
 * NLMSG_ERROR with a non-zero error: keep the errno and the extended ack's
 * message. With NETLINK_CAP_ACK the request is not echoed in full
 * (NLM_F_CAPPED), and the TLVs follow the error's copy of its header.
 */
static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct ctl *c = arg;
	size_t off = sizeof(*e);

	(void)nla;
	c->err = e->error < 0 ? e->error : -EPROTO;
	c->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + off)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off),
		      (int)(nlh->nlmsg_len - NLMSG_HDRLEN - off), extack_policy) < 0)
		return NL_STOP;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(c->extack, sizeof(c->extack), "%s", nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

/* The ack of a do request (NLM_F_ACK is set on every request). */
static int on_ack(struct nl_msg *msg, void *arg)
{
	struct ctl *c = arg;

	(void)msg;
	c->done = true;
	return NL_STOP;
}

/* NLMSG_DONE: the end of a dump, with the dump's error if it failed midway. */
static int on_finish(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct ctl *c = arg;
	int err;

	c->done = true;
	if (nlmsg_datalen(nlh) >= (int)sizeof(err)) {
		memcpy(&err, nlmsg_data(nlh), sizeof(err));
		if (err < 0)
			c->err = err;
	}
	return NL_STOP;
}

/* Prints why the connection failed; returns -1. */
static int ctl_open(struct ctl *c)
{
	int one = 1, ret;

	c->sk = nl_socket_alloc();
	c->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!c->sk || !c->cb) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return -1;
	}
	ret = genl_connect(c->sk);
	if (ret < 0) {
		fprintf(stderr, "%s: generic netlink socket: %s\n", prog, nl_geterror(ret));
		return -1;
	}
	/* Dump messages may exceed a page; never truncate one. */
	nl_socket_enable_msg_peek(c->sk);
	/*
	 * Extended acks say which attribute the kernel rejected and why.
	 * Kernels without them (before 4.12) just do not send any.
	 */
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	c->family = genl_ctrl_resolve(c->sk, GWAKE_GENL_NAME);
	if (c->family == -NLE_OBJ_NOTFOUND) {
		fprintf(stderr, "%s: gwake netlink family not found: is gwake.ko loaded?\n", prog);
		return -1;
	}
	if (c->family < 0) {
		fprintf(stderr, "%s: resolving the \"%s\" family: %s\n", prog,
			GWAKE_GENL_NAME, nl_geterror(c->family));
		return -1;
	}
	nl_cb_err(c->cb, NL_CB_CUSTOM, on_error, c);
	nl_cb_set(c->cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, c);
	nl_cb_set(c->cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, c);
	return 0;
}

static void ctl_close(struct ctl *c)
{
	nl_cb_put(c->cb);
	nl_socket_free(c->sk);
}

/*
 * Sends command @cmd (a dump if @dump), with the TGID attribute if @tgid,
 * and feeds every reply to @valid(@arg) until the request is done. Prints
 * what went wrong; returns 0 or -1.
 */
static int ctl_request(struct ctl *c, const char *name, int cmd, bool dump,
		       uint32_t tgid, nl_recvmsg_msg_cb_t valid, void *arg)
{
	struct nl_msg *msg;
	int ret = -1, r;

	c->done = false;
	c->err = 0;
	c->extack[0] = '\0';
	c->what = NULL;
	nl_cb_set(c->cb, NL_CB_VALID, NL_CB_CUSTOM, valid, arg);

	msg = nlmsg_alloc();
	if (!msg) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return -1;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0,
			 dump ? NLM_F_DUMP : 0, (uint8_t)cmd, GWAKE_GENL_VERSION) ||
	    (tgid && nla_put_u32(msg, GWAKE_THREAD_A_TGID, tgid) < 0)) {
		fprintf(stderr, "%s: %s: cannot build the request\n", prog, name);
		goto out;
	}
	r = nl_send_auto(c->sk, msg);
	if (r < 0) {
		fprintf(stderr, "%s: %s: send: %s\n", prog, name, nl_geterror(r));
		goto out;
	}
	while (!c->done && !c->err) {
		r = nl_recvmsgs(c->sk, c->cb);
		if (r < 0 && !c->err) {
			fprintf(stderr, "%s: %s: receive: %s\n", prog, name, nl_geterror(r));
			goto out;
		}
	}
	if (c->err) {
		if (c->what)
			fprintf(stderr, "%s: %s: the kernel sent %s\n", prog, name, c->what);
		else if (c->extack[0])
			fprintf(stderr, "%s: %s: %s (%s)\n", prog, name, strerror(-c->err),
				c->extack);
		else if (c->err == -EPERM)
			fprintf(stderr, "%s: %s: %s (other processes need CAP_SYS_ADMIN)\n",
				prog, name, strerror(-c->err));
		else
			fprintf(stderr, "%s: %s: %s\n", prog, name, strerror(-c->err));
		goto out;
	}
	ret = 0;
out:
	nlmsg_free(msg);
	return ret;
}

/* A PID: a decimal number from 1 to INT_MAX, nothing else. */
static int parse_pid(const char *s, uint32_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > INT_MAX)
		return -1;
	*pid = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct threads ts = { 0 };
	struct stats st = { 0 };
	struct ctl c = { 0 };
	const char *cmd;
	uint32_t pid = 0;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "hjp:", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			c.json = true;
			break;
		case 'p':
			if (parse_pid(optarg, &pid)) {
				fprintf(stderr, "%s: --pid %s: not a process ID\n", prog, optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "stats") && strcmp(cmd, "threads")) {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
		usage(stderr);
		return 2;
	}
	if (pid && strcmp(cmd, "threads")) {
		fprintf(stderr, "%s: --pid goes with threads only\n", prog);
		return 2;
	}

	if (ctl_open(&c))
		goto out;
	if (!strcmp(cmd, "stats")) {
		st.c = &c;
		if (ctl_request(&c, "stats", GWAKE_CMD_GET_STATS, false, 0, on_stats, &st))
			goto out;
		if (!st.have) {
			fprintf(stderr, "%s: stats: the kernel acked without a reply\n", prog);
			goto out;
		}
		print_stats(&st, c.json);
	} else {
		ts.c = &c;
		if (ctl_request(&c, "threads", GWAKE_CMD_GET_THREADS, true, pid, on_thread, &ts))
			goto out;
		print_threads(&ts, c.json);
	}
	ret = fflush(stdout) ? 1 : 0;
out:
	free(ts.v);
	ctl_close(&c);
	return ret;
}
