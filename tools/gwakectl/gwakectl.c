// SPDX-License-Identifier: GPL-2.0
/*
 * gwakectl: what gwake.ko reports through its generic netlink family.
 *
 *   gwakectl [--json] stats                  the module's event counters
 *   gwakectl [--json] threads [--pid PID]    the registered threads
 *   gwakectl [--json] watch [-i SECONDS] [-n COUNT]
 *                                            the counters' rates, per second
 *   gwakectl [--json] reset                  zero the counters (CAP_SYS_ADMIN)
 *   gwakectl -V | --version
 *
 * One netlink socket (libnl-genl-3): connect, ask for extended acks, resolve
 * the "gwake" family and the commands it has (CTRL_CMD_GETFAMILY), send a
 * request, read replies until the ack (a do) or NLMSG_DONE (a dump),
 * parsing each with a policy: a reply that does not match it is an error,
 * never half-printed. The ABI is include/uapi/linux/gwake.h, explained in
 * docs/uapi.md.
 *
 * Exit status: 0, 1 on any error (with one line on stderr), 2 on bad usage.
 * watch also ends with 0 on SIGINT or SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <gwake/gwake.h>
#include <linux/genetlink.h>
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

/*
 * The project's version, from <gwake/gwake.h>; the fallback only serves a
 * tree whose header does not define it yet.
 */
#ifdef GWAKE_VERSION
#define GWAKECTL_VERSION	GWAKE_VERSION
#else
#define GWAKECTL_VERSION	"unknown"
#endif

static const char *prog = "gwakectl";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--json] stats\n"
		"       %s [--json] threads [--pid PID]\n"
		"       %s [--json] watch [-i SECONDS] [-n COUNT]\n"
		"       %s [--json] reset\n"
		"       %s -V | --version\n"
		"       %s -h | --help\n"
		"\n"
		"Reads gwake.ko's generic netlink family \"%s\".\n"
		"  stats            the module's event counters, since it was loaded\n"
		"                   or last reset\n"
		"  threads          the registered threads of every process; needs\n"
		"                   CAP_SYS_ADMIN (without it the kernel lists the\n"
		"                   caller's own process only: none, for gwakectl)\n"
		"  --pid PID        the threads of process PID only\n"
		"  watch            every counter's rate per second, once per interval,\n"
		"                   until interrupted (SIGINT, SIGTERM: exit status 0)\n"
		"  -i, --interval SECONDS\n"
		"                   the interval, 1 by default (a decimal, 0.01 to 86400)\n"
		"  -n, --count COUNT\n"
		"                   stop after COUNT samples\n"
		"  reset            set every counter back to 0 and print what they\n"
		"                   were; needs CAP_SYS_ADMIN\n"
		"  --json           JSON on stdout instead of a table: one document,\n"
		"                   or for watch one object per line and sample\n"
		"  -V, --version    print gwakectl's version\n",
		prog, prog, prog, prog, prog, prog, GWAKE_GENL_NAME);
}

/* One connection to the family, and what the current request came back with. */
struct ctl {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	bool json;
	bool ops[256];		/* the family's commands, from the controller */
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
	[GWAKE_STATS_A_REGISTERED]	= { .type = NLA_U64 },
	[GWAKE_STATS_A_RESETS]		= { .type = NLA_U64 },
};

/* One GET_STATS or RESET_STATS reply. */
struct stats {
	struct ctl *c;
	int cmd;		/* the command it answers */
	bool have;
	uint64_t v[NSTATS];
	uint64_t live;		/* registered now */
	bool have_resets;	/* not from a module older than RESET_STATS */
	uint64_t resets;
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

	if (!parse_reply(s->c, msg, s->cmd, tb, GWAKE_STATS_A_MAX, stats_policy))
		goto bad;
	for (i = 0; i < NSTATS; i++) {
		if (!tb[stat_names[i].attr]) {
			s->c->what = "a statistics reply without every counter";
			goto bad;
		}
		s->v[i] = nla_get_u64(tb[stat_names[i].attr]);
	}
	/*
	 * Registered now. A module older than RESET_STATS does not say, and
	 * cannot reset: there it is what was created minus every way a
	 * registration ends, the first four entries of stat_names[].
	 */
	if (tb[GWAKE_STATS_A_REGISTERED])
		s->live = nla_get_u64(tb[GWAKE_STATS_A_REGISTERED]);
	else
		s->live = s->v[0] - s->v[1] - s->v[2] - s->v[3];
	s->have_resets = tb[GWAKE_STATS_A_RESETS];
	s->resets = s->have_resets ? nla_get_u64(tb[GWAKE_STATS_A_RESETS]) : 0;
	s->have = true;
	return NL_OK;
bad:
	s->c->err = -EPROTO;
	return NL_STOP;
}

/* The JSON object of one reply, without a newline. */
static void print_stats_json(const struct stats *s)
{
	size_t i;

	printf("{");
	for (i = 0; i < NSTATS; i++)
		printf("%s\"%s\": %" PRIu64, i ? ", " : "", stat_names[i].name, s->v[i]);
	printf(", \"registered\": %" PRIu64, s->live);
	if (s->have_resets)
		printf(", \"resets\": %" PRIu64, s->resets);
	printf("}");
}

static void print_stats(const struct stats *s, bool json)
{
	size_t i;

	if (json) {
		print_stats_json(s);
		printf("\n");
		return;
	}
	for (i = 0; i < NSTATS; i++)
		printf("%-14s %20" PRIu64 "  %s\n", stat_names[i].name, s->v[i], stat_names[i].text);
	printf("%-14s %20" PRIu64 "  %s\n", "registered", s->live,
	       "registered now (not reset)");
	if (s->have_resets)
		printf("%-14s %20" PRIu64 "  %s\n", "resets", s->resets,
		       "resets since the module was loaded");
}

/* --- reset ------------------------------------------------------------ */

/* RESET_STATS's reply: the counts up to the reset. */
static void print_reset(const struct stats *s, bool json)
{
	size_t i;

	if (json) {
		printf("{\"reset\": true, \"resets\": %" PRIu64 ", \"before\": ", s->resets);
		print_stats_json(s);
		printf("}\n");
		return;
	}
	printf("statistics reset (reset %" PRIu64 " since the module was loaded); "
	       "counted before it:\n", s->resets);
	for (i = 0; i < NSTATS; i++)
		printf("%-14s %20" PRIu64 "  %s\n", stat_names[i].name, s->v[i], stat_names[i].text);
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

/*
 * Sends @msg (and frees it), and feeds every reply to @valid(@arg) until
 * the request is done. Returns 0; the kernel's negative errno, for the
 * caller to report (ctl_report()); or 1 after printing what else went
 * wrong (sending, receiving, a reply that does not parse).
 */
static int ctl_do(struct ctl *c, const char *name, struct nl_msg *msg,
		  nl_recvmsg_msg_cb_t valid, void *arg)
{
	int ret = 1, r;

	c->done = false;
	c->err = 0;
	c->extack[0] = '\0';
	c->what = NULL;
	nl_cb_set(c->cb, NL_CB_VALID, NL_CB_CUSTOM, valid, arg);

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
	if (c->what)
		fprintf(stderr, "%s: %s: the kernel sent %s\n", prog, name, c->what);
	else
		ret = c->err;
out:
	nlmsg_free(msg);
	return ret;
}

/*
 * Prints the kernel's error @err of request @name, with the extended ack's
 * message if there was one, or @hint for -EPERM. Returns -1.
 */
static int ctl_report(const struct ctl *c, const char *name, int err, const char *hint)
{
	if (c->extack[0])
		fprintf(stderr, "%s: %s: %s (%s)\n", prog, name, strerror(-err), c->extack);
	else if (err == -EPERM && hint)
		fprintf(stderr, "%s: %s: %s (%s)\n", prog, name, strerror(-err), hint);
	else
		fprintf(stderr, "%s: %s: %s\n", prog, name, strerror(-err));
	return -1;
}

/* ctl_do(), then ctl_report(): 0 or -1. */
static int ctl_request(struct ctl *c, const char *name, struct nl_msg *msg,
		       nl_recvmsg_msg_cb_t valid, void *arg, const char *eperm)
{
	int r = ctl_do(c, name, msg, valid, arg);

	if (r < 0)
		return ctl_report(c, name, r, eperm);
	return r ? -1 : 0;
}

/* A request of the gwake family, or NULL after saying why. */
static struct nl_msg *ctl_msg(struct ctl *c, const char *name, int cmd, bool dump)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0,
				 dump ? NLM_F_DUMP : 0, (uint8_t)cmd, GWAKE_GENL_VERSION)) {
		fprintf(stderr, "%s: %s: cannot build the request\n", prog, name);
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* --- the family and its commands -------------------------------------- */

static struct nla_policy ctrl_policy[CTRL_ATTR_MAX + 1] = {
	[CTRL_ATTR_FAMILY_ID]	= { .type = NLA_U16 },
	[CTRL_ATTR_OPS]		= { .type = NLA_NESTED },
};

static struct nla_policy ctrl_op_policy[CTRL_ATTR_OP_MAX + 1] = {
	[CTRL_ATTR_OP_ID]	= { .type = NLA_U32 },
	[CTRL_ATTR_OP_FLAGS]	= { .type = NLA_U32 },
};

/* CTRL_CMD_GETFAMILY's reply: the family's ID and its commands. */
static int on_family(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[CTRL_ATTR_MAX + 1], *op[CTRL_ATTR_OP_MAX + 1], *a;
	struct ctl *c = arg;
	int rem;

	if (nlh->nlmsg_type != GENL_ID_CTRL || !genlmsg_valid_hdr(nlh, 0) ||
	    genlmsg_hdr(nlh)->cmd != CTRL_CMD_NEWFAMILY ||
	    genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, ctrl_policy) < 0 ||
	    !tb[CTRL_ATTR_FAMILY_ID]) {
		c->what = "a malformed reply from the generic netlink controller";
		goto bad;
	}
	c->family = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (!tb[CTRL_ATTR_OPS])
		return NL_OK;
	nla_for_each_nested(a, tb[CTRL_ATTR_OPS], rem) {
		if (nla_parse_nested(op, CTRL_ATTR_OP_MAX, a, ctrl_op_policy) < 0 ||
		    !op[CTRL_ATTR_OP_ID]) {
			c->what = "a malformed list of the family's commands";
			goto bad;
		}
		if (nla_get_u32(op[CTRL_ATTR_OP_ID]) < sizeof(c->ops))
			c->ops[nla_get_u32(op[CTRL_ATTR_OP_ID])] = true;
	}
	return NL_OK;
bad:
	c->err = -EPROTO;
	return NL_STOP;
}

/*
 * Resolves the family with the controller, as genl_ctrl_resolve() would,
 * but keeps the list of its commands: a module older than this program
 * lacks some. Prints why it failed; returns 0 or -1.
 */
static int ctl_resolve(struct ctl *c)
{
	static const char name[] = "resolving the \"" GWAKE_GENL_NAME "\" family";
	struct nl_msg *msg = nlmsg_alloc();
	int r;

	c->family = 0;
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0, 0,
				 CTRL_CMD_GETFAMILY, 1) ||
	    nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, GWAKE_GENL_NAME) < 0) {
		fprintf(stderr, "%s: out of memory\n", prog);
		nlmsg_free(msg);
		return -1;
	}
	r = ctl_do(c, name, msg, on_family, c);
	if (r == -ENOENT) {
		fprintf(stderr, "%s: gwake netlink family not found: is gwake.ko loaded?\n", prog);
		return -1;
	}
	if (r < 0)
		return ctl_report(c, name, r, NULL);
	if (r)
		return -1;
	if (!c->family) {
		fprintf(stderr, "%s: the controller did not answer for the \"%s\" family\n", prog,
			GWAKE_GENL_NAME);
		return -1;
	}
	return 0;
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

	nl_cb_err(c->cb, NL_CB_CUSTOM, on_error, c);
	nl_cb_set(c->cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, c);
	nl_cb_set(c->cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, c);
	return ctl_resolve(c);
}

static void ctl_close(struct ctl *c)
{
	nl_cb_put(c->cb);
	nl_socket_free(c->sk);
}

/* --- the commands ----------------------------------------------------- */

/* GET_STATS, or RESET_STATS, into @s: 0 or -1 (said why). */
static int get_stats(struct ctl *c, int cmd, struct stats *s)
{
	const char *name = cmd == GWAKE_CMD_RESET_STATS ? "reset" : "stats";
	struct nl_msg *msg;

	memset(s, 0, sizeof(*s));
	s->c = c;
	s->cmd = cmd;
	msg = ctl_msg(c, name, cmd, false);
	if (!msg || ctl_request(c, name, msg, on_stats, s,
				"resetting the statistics needs CAP_SYS_ADMIN"))
		return -1;
	if (!s->have) {
		fprintf(stderr, "%s: %s: the kernel acked without a reply\n", prog, name);
		return -1;
	}
	return 0;
}

static int cmd_stats(struct ctl *c)
{
	struct stats s;

	if (get_stats(c, GWAKE_CMD_GET_STATS, &s))
		return -1;
	print_stats(&s, c->json);
	return 0;
}

static int cmd_threads(struct ctl *c, uint32_t pid)
{
	struct threads ts = { .c = c };
	struct nl_msg *msg;
	int ret = -1;

	msg = ctl_msg(c, "threads", GWAKE_CMD_GET_THREADS, true);
	if (msg && pid && nla_put_u32(msg, GWAKE_THREAD_A_TGID, pid) < 0) {
		fprintf(stderr, "%s: threads: cannot build the request\n", prog);
		nlmsg_free(msg);
		msg = NULL;
	}
	if (msg && !ctl_request(c, "threads", msg, on_thread, &ts,
				"other processes need CAP_SYS_ADMIN")) {
		print_threads(&ts, c->json);
		ret = 0;
	}
	free(ts.v);
	return ret;
}

static int cmd_reset(struct ctl *c)
{
	struct stats s;

	/* The controller's list tells; -EOPNOTSUPP would say the same. */
	if (!c->ops[GWAKE_CMD_RESET_STATS]) {
		fprintf(stderr, "%s: reset: the loaded gwake.ko cannot reset its statistics "
			"(no GWAKE_CMD_RESET_STATS): it is older than this gwakectl\n", prog);
		return -1;
	}
	if (get_stats(c, GWAKE_CMD_RESET_STATS, &s))
		return -1;
	print_reset(&s, c->json);
	return 0;
}

/* --- watch ------------------------------------------------------------ */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Waits until CLOCK_MONOTONIC reaches @deadline_ns, or one of the blocked
 * signals in @set arrives: true if one did. Blocked and waited for with
 * sigtimedwait(), a signal cannot slip in between a check and the sleep.
 */
static bool wait_until(int64_t deadline_ns, const sigset_t *set)
{
	for (;;) {
		int64_t left = deadline_ns - now_ns();
		struct timespec ts;

		if (left <= 0)
			return false;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		if (sigtimedwait(set, NULL, &ts) > 0)
			return true;
		/* EAGAIN: the time is up (checked above); EINTR: again. */
	}
}

/*
 * One sample: the rate of each counter over the @ns since @prev. After a
 * reset (the module's count of resets moved, or a counter went down) the
 * counters start from 0 somewhere in the interval: the rates are their
 * values over the whole interval, a lower bound.
 */
static void print_sample(const struct stats *prev, const struct stats *cur, int64_t ns,
			 unsigned long n, bool json)
{
	double secs = (double)ns / 1e9;
	bool reset = cur->resets != prev->resets;
	size_t i;

	for (i = 0; i < NSTATS; i++)
		reset |= cur->v[i] < prev->v[i];
	if (json) {
		printf("{\"sample\": %lu, \"interval\": %.6f, \"reset\": %s, \"registered\": %" PRIu64
		       ", \"rates\": {", n, secs, reset ? "true" : "false", cur->live);
		for (i = 0; i < NSTATS; i++)
			printf("%s\"%s\": %.3f", i ? ", " : "", stat_names[i].name,
			       (double)(cur->v[i] - (reset ? 0 : prev->v[i])) / secs);
		printf("}}\n");
		return;
	}
	printf("sample %lu: rates per second over %.3f s%s\n", n, secs,
	       reset ? " (the counters were reset meanwhile: from the reset on only)" : "");
	for (i = 0; i < NSTATS; i++)
		printf("  %-14s %16.2f/s  %s\n", stat_names[i].name,
		       (double)(cur->v[i] - (reset ? 0 : prev->v[i])) / secs, stat_names[i].text);
	printf("  %-14s %16" PRIu64 "    %s\n", "registered", cur->live, "registered now");
}

/*
 * Samples the counters every @interval_ns, on a fixed schedule from the
 * first sample (a late sample does not shift the ones after it, and a
 * missed one is skipped), and prints the rates of each interval, @count
 * times or, if 0, until SIGINT or SIGTERM. Those end it with 0.
 */
static int cmd_watch(struct ctl *c, int64_t interval_ns, unsigned long count)
{
	struct stats prev, cur;
	int64_t t_prev, t_cur, next;
	unsigned long n = 0;
	struct sigaction sa;
	sigset_t set;
	int ret = 0;

	/*
	 * Blocked, so that they wait for sigtimedwait(); a signal ignored
	 * when we started (a shell's background job) stays ignored.
	 */
	sigemptyset(&set);
	if (!sigaction(SIGINT, NULL, &sa) && sa.sa_handler != SIG_IGN)
		sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	t_prev = now_ns();
	if (get_stats(c, GWAKE_CMD_GET_STATS, &prev))
		return -1;
	next = t_prev;
	while (!count || n < count) {
		int64_t now = now_ns();

		next += interval_ns;
		if (next <= now)	/* fell behind: skip to the next one due */
			next += ((now - next) / interval_ns + 1) * interval_ns;
		if (wait_until(next, &set))
			break;
		t_cur = now_ns();
		if (get_stats(c, GWAKE_CMD_GET_STATS, &cur)) {
			ret = -1;
			break;
		}
		print_sample(&prev, &cur, t_cur - t_prev, ++n, c->json);
		if (fflush(stdout)) {
			ret = -1;
			break;
		}
		prev = cur;
		t_prev = t_cur;
	}
	return ret;
}

/* --- arguments -------------------------------------------------------- */

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

/* An interval: decimal seconds from 0.01 to a day, into nanoseconds. */
static int parse_interval(const char *s, int64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0.01 || v > 86400)
		return -1;
	*ns = (int64_t)(v * 1e9 + 0.5);
	return 0;
}

/* A count of samples: a decimal number from 1 to ULONG_MAX. */
static int parse_count(const char *s, unsigned long *n)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	*n = strtoul(s, &end, 10);
	if (errno || *end || !*n)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t interval_ns = 1000000000;
	bool have_interval = false;
	unsigned long count = 0;
	struct ctl c = { 0 };
	const char *cmd;
	uint32_t pid = 0;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "hjp:i:n:V", opts, NULL)) != -1) {
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
		case 'i':
			if (parse_interval(optarg, &interval_ns)) {
				fprintf(stderr, "%s: -i %s: not a number of seconds from 0.01 to 86400\n",
					prog, optarg);
				return 2;
			}
			have_interval = true;
			break;
		case 'n':
			if (parse_count(optarg, &count)) {
				fprintf(stderr, "%s: -n %s: not a positive count\n", prog, optarg);
				return 2;
			}
			break;
		case 'V':
			printf("%s %s\n", prog, GWAKECTL_VERSION);
			return fflush(stdout) ? 1 : 0;
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
	if (strcmp(cmd, "stats") && strcmp(cmd, "threads") && strcmp(cmd, "watch") &&
	    strcmp(cmd, "reset")) {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
		usage(stderr);
		return 2;
	}
	if (pid && strcmp(cmd, "threads")) {
		fprintf(stderr, "%s: --pid goes with threads only\n", prog);
		return 2;
	}
	if ((have_interval || count) && strcmp(cmd, "watch")) {
		fprintf(stderr, "%s: -i and -n go with watch only\n", prog);
		return 2;
	}

	if (ctl_open(&c))
		goto out;
	if (!strcmp(cmd, "stats"))
		ret = cmd_stats(&c);
	else if (!strcmp(cmd, "threads"))
		ret = cmd_threads(&c, pid);
	else if (!strcmp(cmd, "watch"))
		ret = cmd_watch(&c, interval_ns, count);
	else
		ret = cmd_reset(&c);
	if (ret)
		ret = 1;
	else
		ret = fflush(stdout) ? 1 : 0;
out:
	ctl_close(&c);
	return ret;
}
