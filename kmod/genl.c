// SPDX-License-Identifier: GPL-2.0
/*
 * gwake generic netlink family: statistics and registered threads.
 *
 * Three commands (the ABI is the second half of include/uapi/linux/gwake.h,
 * explained in docs/uapi.md):
 *
 *   GWAKE_CMD_GET_STATS    do: the per-CPU counters of stats.c, summed.
 *   GWAKE_CMD_GET_THREADS  dump: one message per registered thread.
 *   GWAKE_CMD_RESET_STATS  do: the counters start again from 0; the reply
 *                          is what they were. The one that changes
 *                          anything, and only the counters' base.
 *
 * Validation is the core's: each command has a strict policy (a command
 * that takes no attribute has one that rejects them all), and
 * .resv_start_op is 0, so every command, present and future, also has its
 * genlmsghdr.reserved and nlmsg_flags checked and may never opt out of
 * strict parsing.
 *
 * Permissions: statistics are system-wide event counts and tell nobody
 * anything about a particular process, so anyone may read them. The thread
 * dump names processes and threads, so without CAP_SYS_ADMIN it lists the
 * caller's own process only: what it could learn from its own handles
 * anyway. Threads outside the caller's PID namespace are never listed, and
 * IDs are given in that namespace. A reset of the counters takes them away
 * from every other reader's view, so it needs CAP_SYS_ADMIN, the family's
 * one privilege: checked in the handler with netlink_capable() rather than
 * by GENL_ADMIN_PERM, which would ask for CAP_NET_ADMIN.
 *
 * Locking: none of ours but the reset's (see gwake.h). The family is
 * parallel_ops; the dump walks the registration table one chain at a time
 * under RCU.
 */
#include <linux/build_bug.h>
#include <linux/capability.h>
#include <linux/gwake.h>
#include <linux/netlink.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "gwake.h"

static struct genl_family gwake_genl_family;

/* The attribute of each counter in a GWAKE_CMD_GET_STATS reply. */
static const u16 gwake_stat_attr[GWAKE_STAT_NR] = {
	[GWAKE_STAT_REGISTERS]		= GWAKE_STATS_A_REGISTERS,
	[GWAKE_STAT_UNREGISTERS]	= GWAKE_STATS_A_UNREGISTERS,
	[GWAKE_STAT_EXITS]		= GWAKE_STATS_A_EXITS,
	[GWAKE_STAT_RELEASES]		= GWAKE_STATS_A_RELEASES,
	[GWAKE_STAT_BLOCKS]		= GWAKE_STATS_A_BLOCKS,
	[GWAKE_STAT_BLOCKS_PERMIT]	= GWAKE_STATS_A_BLOCKS_PERMIT,
	[GWAKE_STAT_SLEEPS]		= GWAKE_STATS_A_SLEEPS,
	[GWAKE_STAT_TIMEOUTS]		= GWAKE_STATS_A_TIMEOUTS,
	[GWAKE_STAT_INTERRUPTS]		= GWAKE_STATS_A_INTERRUPTS,
	[GWAKE_STAT_WAKES_WOKEN]	= GWAKE_STATS_A_WAKES_WOKEN,
	[GWAKE_STAT_WAKES_PERMIT]	= GWAKE_STATS_A_WAKES_PERMIT,
	[GWAKE_STAT_WAKES_STALE]	= GWAKE_STATS_A_WAKES_STALE,
	[GWAKE_STAT_SWAPS]		= GWAKE_STATS_A_SWAPS,
	[GWAKE_STAT_WAKE_MANY]		= GWAKE_STATS_A_WAKE_MANY,
};

/*
 * Every counter has an attribute, and there is no counter without one:
 * they run from the PAD to WAKE_MANY; the attributes after those are not
 * event counters.
 */
static_assert(GWAKE_STATS_A_WAKE_MANY - GWAKE_STATS_A_PAD == GWAKE_STAT_NR);
static_assert(GWAKE_STATS_A_MAX == GWAKE_STATS_A_RESETS);

/* The size of a GET_STATS or RESET_STATS reply's attributes. */
#define GWAKE_STATS_REPLY_SIZE \
	((GWAKE_STATS_A_MAX - GWAKE_STATS_A_PAD) * nla_total_size_64bit(sizeof(u64)))

/* The wake word as the dump reports it. */
static u32 gwake_thread_state(const struct gwake_reg *reg)
{
	s64 w = atomic64_read(reg->word);

	if (w == GWAKE_WORD(reg->gen, GWAKE_WORD_PERMIT))
		return GWAKE_THREAD_PERMIT;
	if (w == GWAKE_WORD(reg->gen, GWAKE_WORD_SLEEPING))
		return GWAKE_THREAD_ASLEEP;
	return GWAKE_THREAD_IDLE;
}

/*
 * The reply to GET_STATS or RESET_STATS (@cmd): the counters in @val, the
 * REGISTERED gauge and the RESETS count. Frees @msg on error.
 */
static int gwake_genl_stats_reply(struct sk_buff *msg, struct genl_info *info,
				  u8 cmd, const u64 *val, u64 live, u64 resets)
{
	unsigned int i;
	void *hdr;

	hdr = genlmsg_put_reply(msg, info, &gwake_genl_family, 0, cmd);
	if (!hdr)
		goto nospace;
	for (i = 0; i < GWAKE_STAT_NR; i++) {
		if (nla_put_u64_64bit(msg, gwake_stat_attr[i], val[i],
				      GWAKE_STATS_A_PAD))
			goto nospace;
	}
	if (nla_put_u64_64bit(msg, GWAKE_STATS_A_REGISTERED, live,
			      GWAKE_STATS_A_PAD) ||
	    nla_put_u64_64bit(msg, GWAKE_STATS_A_RESETS, resets,
			      GWAKE_STATS_A_PAD))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int gwake_genl_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	u64 val[GWAKE_STAT_NR], live, resets;
	struct sk_buff *msg;

	msg = genlmsg_new(GWAKE_STATS_REPLY_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	gwake_stats_read(val, &live, &resets);
	return gwake_genl_stats_reply(msg, info, GWAKE_CMD_GET_STATS, val, live,
				      resets);
}

/*
 * The reply is allocated before the reset, and has a fixed size allocated
 * in full, so that nothing fails for want of memory once the counters are
 * reset. Only its delivery can still fail (the caller's receive buffer is
 * full): the error then reaches the caller, but the reset has happened.
 */
static int gwake_genl_reset_stats(struct sk_buff *skb, struct genl_info *info)
{
	u64 val[GWAKE_STAT_NR], live, resets;
	struct sk_buff *msg;

	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		GENL_SET_ERR_MSG(info,
				 "resetting the statistics needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	msg = genlmsg_new(GWAKE_STATS_REPLY_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	gwake_stats_reset(val, &live, &resets);
	return gwake_genl_stats_reply(msg, info, GWAKE_CMD_RESET_STATS, val,
				      live, resets);
}

/**
 * struct gwake_dump_ctx - the state of one GWAKE_CMD_GET_THREADS dump
 * @ns:		the caller's PID namespace, referenced: IDs are given in it,
 *		and threads it cannot see are left out.
 * @tgid:	the one process to list, referenced, or NULL for all.
 * @chain:	the table chain the next message batch starts with.
 * @skip:	how many listed threads of @chain were sent already: non-zero
 *		only when one chain needed more than one batch.
 *
 * Lives in netlink_callback.ctx, which the core zeroes before ->start().
 */
struct gwake_dump_ctx {
	struct pid_namespace *ns;
	struct pid *tgid;
	unsigned int chain;
	unsigned int skip;
};

static_assert(sizeof(struct gwake_dump_ctx) <=
	      sizeof_field(struct netlink_callback, ctx));

static struct gwake_dump_ctx *gwake_dump_ctx(struct netlink_callback *cb)
{
	return (struct gwake_dump_ctx *)cb->ctx;
}

/*
 * ->start: runs in the context of the process that sent the request, so
 * current is the caller. Decides which threads the dump lists.
 */
static int gwake_genl_threads_start(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct nlattr *attr = info->attrs[GWAKE_THREAD_A_TGID];
	struct gwake_dump_ctx *ctx = gwake_dump_ctx(cb);
	bool admin = netlink_capable(cb->skb, CAP_SYS_ADMIN);
	struct pid *own = task_tgid(current);
	struct pid *pid = NULL;

	if (attr) {
		/* In the caller's PID namespace, as every ID here is. */
		pid = find_get_pid(nla_get_u32(attr));
		if (!pid || !pid_has_task(pid, PIDTYPE_TGID)) {
			put_pid(pid);
			NL_SET_ERR_MSG_ATTR(cb->extack, attr, "no such process");
			return -ESRCH;
		}
		if (pid != own && !admin) {
			put_pid(pid);
			NL_SET_ERR_MSG_ATTR(cb->extack, attr,
					    "listing another process needs CAP_SYS_ADMIN");
			return -EPERM;
		}
	} else if (!admin) {
		pid = get_pid(own);
	}
	ctx->tgid = pid;
	ctx->ns = get_pid_ns(task_active_pid_ns(current));
	return 0;
}

static int gwake_genl_threads_done(struct netlink_callback *cb)
{
	struct gwake_dump_ctx *ctx = gwake_dump_ctx(cb);

	put_pid(ctx->tgid);
	put_pid_ns(ctx->ns);
	return 0;
}

/* What gwake_genl_thread_fill() needs for one chain of one batch. */
struct gwake_dump_fill {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	const struct gwake_dump_ctx *ctx;
	unsigned int seen;	/* threads of the chain listed or skipped */
};

/* One thread's message, if the dump lists it; -EMSGSIZE when full. */
static int gwake_genl_thread_fill(const struct gwake_reg *reg, void *arg)
{
	struct gwake_dump_fill *f = arg;
	const struct gwake_dump_ctx *ctx = f->ctx;
	struct task_struct *task = reg->task;
	pid_t tid, tgid;
	void *hdr;

	/* Its handle is stale already (gwake_reg_lookup()). */
	if (READ_ONCE(task->flags) & PF_EXITING)
		return 0;
	if (ctx->tgid && task_tgid(task) != ctx->tgid)
		return 0;
	/* 0: not visible in the caller's namespace (or being reaped). */
	tid = task_pid_nr_ns(task, ctx->ns);
	tgid = task_tgid_nr_ns(task, ctx->ns);
	if (!tid || !tgid)
		return 0;
	if (f->seen++ < ctx->skip)
		return 0;

	hdr = genlmsg_put(f->skb, NETLINK_CB(f->cb->skb).portid,
			  f->cb->nlh->nlmsg_seq, &gwake_genl_family,
			  NLM_F_MULTI, GWAKE_CMD_GET_THREADS);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(f->skb, GWAKE_THREAD_A_HANDLE, reg->handle,
			      GWAKE_THREAD_A_PAD) ||
	    nla_put_u32(f->skb, GWAKE_THREAD_A_TGID, tgid) ||
	    nla_put_u32(f->skb, GWAKE_THREAD_A_TID, tid) ||
	    nla_put_u32(f->skb, GWAKE_THREAD_A_STATE, gwake_thread_state(reg)) ||
	    nla_put_u64_64bit(f->skb, GWAKE_THREAD_A_BLOCKS,
			      READ_ONCE(reg->nr_blocks), GWAKE_THREAD_A_PAD) ||
	    nla_put_u64_64bit(f->skb, GWAKE_THREAD_A_BLOCKS_PERMIT,
			      READ_ONCE(reg->nr_blocks_permit),
			      GWAKE_THREAD_A_PAD) ||
	    nla_put_u64_64bit(f->skb, GWAKE_THREAD_A_SLEEPS,
			      READ_ONCE(reg->nr_sleeps), GWAKE_THREAD_A_PAD)) {
		genlmsg_cancel(f->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(f->skb, hdr);
	return 0;
}

/*
 * ->dumpit: fills @skb with whole chains where it can. A chain that does
 * not fit after others is taken back out and starts the next batch, so a
 * thread is listed at most once unless a single chain fills a whole batch
 * (thousands of threads hashed together), which then continues by position
 * within the chain.
 */
static int gwake_genl_threads_dump(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	struct gwake_dump_ctx *ctx = gwake_dump_ctx(cb);
	struct gwake_dump_fill f = { .skb = skb, .cb = cb, .ctx = ctx };
	unsigned int nr = gwake_reg_nr_chains();
	int ret;

	for (; ctx->chain < nr; ctx->chain++, ctx->skip = 0) {
		unsigned int start = skb->len;

		f.seen = 0;
		ret = gwake_reg_walk_chain(ctx->chain, gwake_genl_thread_fill, &f);
		if (!ret)
			continue;
		if (ret != -EMSGSIZE)
			return ret;
		if (start) {
			nlmsg_trim(skb, skb->data + start);
		} else {
			/* The thread that did not fit was counted in seen. */
			if (f.seen - 1 == ctx->skip)
				return -EMSGSIZE;
			ctx->skip = f.seen - 1;
		}
		break;
	}
	return skb->len;
}

/* GET_STATS and RESET_STATS take no attribute: this rejects them all. */
static const struct nla_policy gwake_stats_policy[GWAKE_STATS_A_PAD + 1] = {
	[GWAKE_STATS_A_PAD] = { .type = NLA_REJECT },
};

/* GWAKE_CMD_GET_THREADS takes GWAKE_THREAD_A_TGID and nothing else. */
static const struct nla_policy gwake_get_threads_policy[GWAKE_THREAD_A_TGID + 1] = {
	[GWAKE_THREAD_A_TGID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct genl_ops gwake_genl_ops[] = {
	{
		.cmd		= GWAKE_CMD_GET_STATS,
		.doit		= gwake_genl_get_stats,
		.policy		= gwake_stats_policy,
		.maxattr	= ARRAY_SIZE(gwake_stats_policy) - 1,
	},
	{
		.cmd		= GWAKE_CMD_GET_THREADS,
		.start		= gwake_genl_threads_start,
		.dumpit		= gwake_genl_threads_dump,
		.done		= gwake_genl_threads_done,
		.policy		= gwake_get_threads_policy,
		.maxattr	= ARRAY_SIZE(gwake_get_threads_policy) - 1,
	},
	{
		.cmd		= GWAKE_CMD_RESET_STATS,
		.doit		= gwake_genl_reset_stats,
		.policy		= gwake_stats_policy,
		.maxattr	= ARRAY_SIZE(gwake_stats_policy) - 1,
	},
};

static struct genl_family gwake_genl_family __ro_after_init = {
	.name		= GWAKE_GENL_NAME,
	.version	= GWAKE_GENL_VERSION,
	.module		= THIS_MODULE,
	.ops		= gwake_genl_ops,
	.n_ops		= ARRAY_SIZE(gwake_genl_ops),
	/* Every command, now and later, is validated strictly. */
	.resv_start_op	= 0,
	/* Nothing here needs genl_mutex: see gwake.h. */
	.parallel_ops	= true,
	/*
	 * The initial network namespace only: the counters and the table
	 * are system-wide, and a network namespace is no boundary for them.
	 */
	.netnsok	= false,
};

/**
 * gwake_genl_init() - register the "gwake" generic netlink family
 *
 * Context: module init, last (main.c): nothing may fail after it, since
 * a dump of the family's policy through the controller can outlive its
 * unregistration.
 * Return: 0 or a negative errno.
 */
int gwake_genl_init(void)
{
	return genl_register_family(&gwake_genl_family);
}

/**
 * gwake_genl_exit() - unregister the family
 *
 * Context: module exit, first. Waits for requests in flight; a dump in
 * progress holds a reference to the module, so none is running.
 */
void gwake_genl_exit(void)
{
	genl_unregister_family(&gwake_genl_family);
}
