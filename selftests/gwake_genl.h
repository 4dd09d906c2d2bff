/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "gwake" generic netlink family over raw netlink sockets, for the
 * selftests (genl_test, exit_test, the fuzzers and the torture test): no
 * libnl, so a test sees the wire as the kernel writes it, and every reply
 * is parsed strictly (an attribute this version does not document fails).
 *
 *   gnl_open(), gnl_resolve()     a socket with extended acks, the family
 *   gnl_send(), gnl_wait()        one request, and its answers to the end
 *   gnl_get_stats()               GWAKE_CMD_GET_STATS into struct gstats
 *   gnl_reset_stats()             GWAKE_CMD_RESET_STATS, its reply likewise
 *   gnl_get_threads()             the GWAKE_CMD_GET_THREADS dump
 */
#ifndef GWAKE_SELFTESTS_GWAKE_GENL_H
#define GWAKE_SELFTESTS_GWAKE_GENL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <linux/gwake.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

#define GNL_BUF_SIZE	(64 * 1024)

struct gnl {
	int fd;
	__u32 seq;
	__u16 family;		/* the gwake family's ID, once resolved */
	__u32 version;		/* its version, from the controller */
	__u32 ops[__GWAKE_CMD_MAX + 1];	/* CTRL_ATTR_OP_FLAGS by command, +1 if seen */
	char *buf;
	/* The extended ack of the last error, if the kernel sent one. */
	char extack[256];
	long extack_offs;	/* NLMSGERR_ATTR_OFFS, or -1 */
};

static inline int gnl_open(struct gnl *nl)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->buf = malloc(GNL_BUF_SIZE);
	if (!nl->buf)
		return -ENOMEM;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) ||
	    setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)))
		return -errno;
	return 0;
}

static inline void gnl_close(struct gnl *nl)
{
	if (nl->fd > 0)
		close(nl->fd);
	free(nl->buf);
	nl->buf = NULL;
}

/* Appends attribute @type to the attributes in @buf (@off bytes so far). */
static inline size_t gnl_attr(char *buf, size_t off, __u16 type, const void *data, __u16 len)
{
	struct nlattr a = { .nla_len = NLA_HDRLEN + len, .nla_type = type };

	memcpy(buf + off, &a, sizeof(a));
	memcpy(buf + off + NLA_HDRLEN, data, len);
	memset(buf + off + NLA_HDRLEN + len, 0, NLA_ALIGN(a.nla_len) - a.nla_len);
	return off + NLA_ALIGN(a.nla_len);
}

/* Sends one request; 0 or -errno. */
static inline int gnl_send_hdr(struct gnl *nl, __u16 type, __u16 flags, __u8 cmd, __u8 version,
			__u16 reserved, const void *attrs, size_t alen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	union {
		char b[1024];
		struct nlmsghdr align;
	} u;
	struct nlmsghdr *nlh = &u.align;
	struct genlmsghdr g = { .cmd = cmd, .version = version, .reserved = reserved };
	ssize_t n;

	if (NLMSG_LENGTH(GENL_HDRLEN + alen) > sizeof(u))
		return -EMSGSIZE;
	memset(&u, 0, sizeof(u));
	nlh->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN + alen);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	memcpy(NLMSG_DATA(nlh), &g, sizeof(g));
	if (alen)
		memcpy((char *)NLMSG_DATA(nlh) + GENL_HDRLEN, attrs, alen);
	n = sendto(nl->fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa));
	if (n < 0)
		return -errno;
	return n == (ssize_t)nlh->nlmsg_len ? 0 : -EIO;
}

static inline int gnl_send(struct gnl *nl, __u16 flags, __u8 cmd, const void *attrs, size_t alen)
{
	return gnl_send_hdr(nl, nl->family, flags, cmd, GWAKE_GENL_VERSION, 0, attrs, alen);
}

/*
 * Attributes of @len bytes at @data into @tb[0..@max]: -EBADMSG if any
 * header is malformed, or (if @strict) if a type is 0 or above @max or
 * comes twice (but type 1, the *_A_PAD of gwake's sets, which may come
 * before every u64 on some architectures); unknown types are otherwise
 * ignored.
 */
static inline int gnl_parse(const void *data, int len, const struct nlattr **tb, int max, bool strict)
{
	const char *p = data;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		int type = a->nla_type & NLA_TYPE_MASK;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return -EBADMSG;
		if (type >= 1 && type <= max) {
			if (strict && tb[type] && type != 1)
				return -EBADMSG;
			tb[type] = a;
		} else if (strict) {
			return -EBADMSG;
		}
		len -= NLA_ALIGN(a->nla_len);
		p += NLA_ALIGN(a->nla_len);
	}
	/* The last attribute may end unpadded; anything else left is garbage. */
	return len > 0 ? -EBADMSG : 0;
}

static inline int gnl_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

static inline const void *gnl_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static inline __u64 gnl_u64(const struct nlattr *a)
{
	__u64 v;

	memcpy(&v, gnl_data(a), sizeof(v));
	return v;
}

static inline __u32 gnl_u32(const struct nlattr *a)
{
	__u32 v;

	memcpy(&v, gnl_data(a), sizeof(v));
	return v;
}

/* The extended ack of an NLMSG_ERROR, into nl->extack and nl->extack_offs. */
static inline void gnl_extack(struct gnl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nlh);
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + off)
		return;
	if (gnl_parse((const char *)e + off, nlh->nlmsg_len - NLMSG_HDRLEN - off, tb,
		      NLMSGERR_ATTR_MAX, false))
		return;
	if (tb[NLMSGERR_ATTR_MSG] && gnl_len(tb[NLMSGERR_ATTR_MSG]) > 0)
		snprintf(nl->extack, sizeof(nl->extack), "%.*s", gnl_len(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)gnl_data(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS] && gnl_len(tb[NLMSGERR_ATTR_OFFS]) == 4)
		nl->extack_offs = gnl_u32(tb[NLMSGERR_ATTR_OFFS]);
}

/* Called for every data message; a non-zero return is kept as the result. */
typedef int (*gnl_msg_fn)(const struct nlmsghdr *nlh, void *arg);

/*
 * Reads the answers to the last request until its end: the ack or error
 * of a request (NLMSG_ERROR), or NLMSG_DONE of a dump. Data messages go to
 * @fn (none expected if NULL). Returns 0, the kernel's -errno, the first
 * non-zero return of @fn, or -EBADMSG for a malformed or unexpected
 * message. Always reads to the end, so the socket is ready for the next.
 */
static inline int gnl_wait(struct gnl *nl, gnl_msg_fn fn, void *arg)
{
	int ret = 0;

	nl->extack[0] = '\0';
	nl->extack_offs = -1;
	for (;;) {
		ssize_t n = recv(nl->fd, nl->buf, GNL_BUF_SIZE, 0);
		struct nlmsghdr *nlh = (struct nlmsghdr *)nl->buf;
		int len = (int)n;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			int r;

			if (nlh->nlmsg_seq != nl->seq)
				return -EBADMSG;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				gnl_extack(nl, nlh);
				return ret ? ret : e->error;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				int err;

				if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(err)))
					return -EBADMSG;
				memcpy(&err, NLMSG_DATA(nlh), sizeof(err));
				return ret ? ret : err;
			}
			r = fn ? fn(nlh, arg) : -EBADMSG;
			if (!ret)
				ret = r;
		}
		if (len)
			return -EBADMSG;
	}
}

/* The payload of a genl message of @family and @cmd, or NULL. */
static inline const void *gnl_payload(const struct nlmsghdr *nlh, __u16 family, __u8 cmd, int *len)
{
	const struct genlmsghdr *g = NLMSG_DATA(nlh);

	if (nlh->nlmsg_type != family || nlh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN) ||
	    g->cmd != cmd)
		return NULL;
	*len = nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	return (const char *)g + GENL_HDRLEN;
}

/* CTRL_CMD_GETFAMILY's reply: the ID, the version, and each op's flags. */
static inline int gnl_on_family(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1], *op[CTRL_ATTR_OP_MAX + 1];
	struct gnl *nl = arg;
	const char *p;
	int len, rem;

	p = gnl_payload(nlh, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, &len);
	if (!p || gnl_parse(p, len, tb, CTRL_ATTR_MAX, false))
		return -EBADMSG;
	if (!tb[CTRL_ATTR_FAMILY_ID] || gnl_len(tb[CTRL_ATTR_FAMILY_ID]) != 2 ||
	    !tb[CTRL_ATTR_VERSION] || gnl_len(tb[CTRL_ATTR_VERSION]) != 4)
		return -EBADMSG;
	memcpy(&nl->family, gnl_data(tb[CTRL_ATTR_FAMILY_ID]), 2);
	nl->version = gnl_u32(tb[CTRL_ATTR_VERSION]);
	if (!tb[CTRL_ATTR_OPS])
		return 0;
	/* A nest of nests, one per op: CTRL_ATTR_OP_ID and CTRL_ATTR_OP_FLAGS. */
	p = gnl_data(tb[CTRL_ATTR_OPS]);
	rem = gnl_len(tb[CTRL_ATTR_OPS]);
	while (rem >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		__u32 id;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > rem ||
		    gnl_parse(gnl_data(a), gnl_len(a), op, CTRL_ATTR_OP_MAX, false) ||
		    !op[CTRL_ATTR_OP_ID] || !op[CTRL_ATTR_OP_FLAGS])
			return -EBADMSG;
		id = gnl_u32(op[CTRL_ATTR_OP_ID]);
		if (id <= __GWAKE_CMD_MAX)
			nl->ops[id] = gnl_u32(op[CTRL_ATTR_OP_FLAGS]) + 1;
		rem -= NLA_ALIGN(a->nla_len);
		p += NLA_ALIGN(a->nla_len);
	}
	return 0;
}

/* Resolves GWAKE_GENL_NAME: 0, -ENOENT if it is not registered, or -errno. */
static inline int gnl_resolve(struct gnl *nl)
{
	char attrs[64];
	size_t alen = gnl_attr(attrs, 0, CTRL_ATTR_FAMILY_NAME, GWAKE_GENL_NAME,
			       sizeof(GWAKE_GENL_NAME));
	int ret;

	ret = gnl_send_hdr(nl, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1, 0, attrs, alen);
	if (ret)
		return ret;
	ret = gnl_wait(nl, gnl_on_family, nl);
	if (!ret && !nl->family)
		ret = -EBADMSG;
	return ret;
}

/* Statistics, by attribute type: a GET_STATS or RESET_STATS (@cmd) reply. */
struct gstats {
	__u64 v[GWAKE_STATS_A_MAX + 1];
	int replies;
	__u16 family;
	__u8 cmd;
};

static inline int gnl_on_stats(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[GWAKE_STATS_A_MAX + 1];
	struct gstats *s = arg;
	const void *p;
	int len, i;

	p = gnl_payload(nlh, s->family, s->cmd ? s->cmd : GWAKE_CMD_GET_STATS, &len);
	if (!p || gnl_parse(p, len, tb, GWAKE_STATS_A_MAX, true))
		return -EBADMSG;
	for (i = GWAKE_STATS_A_PAD + 1; i <= GWAKE_STATS_A_MAX; i++) {
		if (!tb[i] || gnl_len(tb[i]) != 8)
			return -EBADMSG;
		s->v[i] = gnl_u64(tb[i]);
	}
	s->replies++;
	return 0;
}

/* GET_STATS or RESET_STATS (@cmd), its one reply into *@s: 0 or -errno. */
static inline int gnl_stats_cmd(struct gnl *nl, __u8 cmd, struct gstats *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->family = nl->family;
	s->cmd = cmd;
	ret = gnl_send(nl, NLM_F_ACK, cmd, NULL, 0);
	if (ret)
		return ret;
	ret = gnl_wait(nl, gnl_on_stats, s);
	if (!ret && s->replies != 1)
		ret = -EBADMSG;
	return ret;
}

static inline int gnl_get_stats(struct gnl *nl, struct gstats *s)
{
	return gnl_stats_cmd(nl, GWAKE_CMD_GET_STATS, s);
}

/*
 * Resets the counters (CAP_SYS_ADMIN); *@s gets what they were up to the
 * reset, and the reset's number in v[GWAKE_STATS_A_RESETS].
 */
static inline int gnl_reset_stats(struct gnl *nl, struct gstats *s)
{
	return gnl_stats_cmd(nl, GWAKE_CMD_RESET_STATS, s);
}

struct gthread {
	__u64 handle;
	__u32 tgid, tid, state;
	__u64 blocks, blocks_permit, sleeps;
};

struct gthreads {
	struct gthread *v;
	size_t n, cap;
	__u16 family;
};

static inline int gnl_on_thread(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[GWAKE_THREAD_A_MAX + 1];
	struct gthreads *ts = arg;
	struct gthread *t;
	const void *p;
	int len;

	if (!(nlh->nlmsg_flags & NLM_F_MULTI))
		return -EBADMSG;
	p = gnl_payload(nlh, ts->family, GWAKE_CMD_GET_THREADS, &len);
	if (!p || gnl_parse(p, len, tb, GWAKE_THREAD_A_MAX, true))
		return -EBADMSG;
	if (!tb[GWAKE_THREAD_A_HANDLE] || gnl_len(tb[GWAKE_THREAD_A_HANDLE]) != 8 ||
	    !tb[GWAKE_THREAD_A_TGID] || gnl_len(tb[GWAKE_THREAD_A_TGID]) != 4 ||
	    !tb[GWAKE_THREAD_A_TID] || gnl_len(tb[GWAKE_THREAD_A_TID]) != 4 ||
	    !tb[GWAKE_THREAD_A_STATE] || gnl_len(tb[GWAKE_THREAD_A_STATE]) != 4 ||
	    !tb[GWAKE_THREAD_A_BLOCKS] || gnl_len(tb[GWAKE_THREAD_A_BLOCKS]) != 8 ||
	    !tb[GWAKE_THREAD_A_BLOCKS_PERMIT] || gnl_len(tb[GWAKE_THREAD_A_BLOCKS_PERMIT]) != 8 ||
	    !tb[GWAKE_THREAD_A_SLEEPS] || gnl_len(tb[GWAKE_THREAD_A_SLEEPS]) != 8)
		return -EBADMSG;
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? 2 * ts->cap : 64;
		struct gthread *v = realloc(ts->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ts->v = v;
		ts->cap = cap;
	}
	t = &ts->v[ts->n++];
	t->handle = gnl_u64(tb[GWAKE_THREAD_A_HANDLE]);
	t->tgid = gnl_u32(tb[GWAKE_THREAD_A_TGID]);
	t->tid = gnl_u32(tb[GWAKE_THREAD_A_TID]);
	t->state = gnl_u32(tb[GWAKE_THREAD_A_STATE]);
	t->blocks = gnl_u64(tb[GWAKE_THREAD_A_BLOCKS]);
	t->blocks_permit = gnl_u64(tb[GWAKE_THREAD_A_BLOCKS_PERMIT]);
	t->sleeps = gnl_u64(tb[GWAKE_THREAD_A_SLEEPS]);
	return 0;
}

/* The thread dump, of process @tgid only if non-zero. 0 or -errno. */
static inline int gnl_get_threads(struct gnl *nl, __u32 tgid, struct gthreads *ts)
{
	char attrs[16];
	size_t alen = 0;
	int ret;

	ts->n = 0;
	ts->family = nl->family;
	if (tgid)
		alen = gnl_attr(attrs, 0, GWAKE_THREAD_A_TGID, &tgid, sizeof(tgid));
	ret = gnl_send(nl, NLM_F_DUMP, GWAKE_CMD_GET_THREADS, attrs, alen);
	if (ret)
		return ret;
	return gnl_wait(nl, gnl_on_thread, ts);
}

/* The dump's entry for @handle, or NULL. */
static inline const struct gthread *gthreads_find(const struct gthreads *ts, __u64 handle)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (ts->v[i].handle == handle)
			return &ts->v[i];
	return NULL;
}

/* How many entries of process @tgid. */
static inline size_t gthreads_count(const struct gthreads *ts, __u32 tgid)
{
	size_t i, n = 0;

	for (i = 0; i < ts->n; i++)
		n += ts->v[i].tgid == tgid;
	return n;
}

/*
 * The number of registrations the counters say exist: created minus ended
 * in every way.
 */
static inline __u64 gstats_live(const struct gstats *s)
{
	return s->v[GWAKE_STATS_A_REGISTERS] - s->v[GWAKE_STATS_A_UNREGISTERS] -
	       s->v[GWAKE_STATS_A_EXITS] - s->v[GWAKE_STATS_A_RELEASES];
}

/*
 * The counters once every registration made since @before has ended: a
 * thread's registration ends at its sched_process_exit, which comes after
 * pthread_join() can return (the TID word is cleared in exit_mm(), before
 * it), so right after a join the counters may still show it. Polls for up
 * to ten seconds; 0 (with *@s the last reading) or -errno.
 */
static inline int gnl_get_stats_settled(struct gnl *nl, const struct gstats *before,
					struct gstats *s)
{
	int tries, ret = 0;

	for (tries = 0; tries < 10000; tries++) {
		ret = gnl_get_stats(nl, s);
		if (ret || gstats_live(s) == gstats_live(before))
			break;
		usleep(1000);
	}
	return ret;
}

#endif /* GWAKE_SELFTESTS_GWAKE_GENL_H */
