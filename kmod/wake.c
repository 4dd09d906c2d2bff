// SPDX-License-Identifier: GPL-2.0
/*
 * gwake wake word: block, wake, swap, wake-many. The protocol (states,
 * who may write what, memory ordering) is at the top of gwake.h.
 *
 * Locks taken here: only the target's wait-queue lock, inside the
 * wait-queue API (prepare_to_wait(), finish_wait(), __wake_up*()). Targets
 * are found under rcu_read_lock(); no global lock is touched.
 *
 * Statistics: every outcome is counted in one place, after the fact, on
 * this CPU (gwake_stat_inc(), stats.c): a wake in __gwake_wake(), a block
 * in gwake_word_block(), which also keeps the owner's own counters. The
 * WAKE_MANY call itself is counted in dev.c, where a call that fails to
 * copy its array (and never reaches this file) is seen too.
 *
 * Why a wait is race free: the owner puts itself on reg->wq and sets its
 * task state (prepare_to_wait(), a full barrier) before it moves the word
 * IDLE -> SLEEPING. A waker that reads SLEEPING in its atomic_xchg() then
 * takes the queue lock after the owner queued itself, finds it and makes it
 * runnable, whether or not it has reached schedule() yet. A waker that reads
 * IDLE leaves PERMIT, and the owner's cmpxchg sees it and does not sleep.
 */
#include <linux/hrtimer.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/wait.h>

#include "gwake.h"

/*
 * The owner takes a pending permit. Fully ordered: it pairs with the
 * waker's atomic_xchg(), so what the waker wrote before WAKE is visible
 * after BLOCK returns. Only the owner leaves PERMIT, so once the owner has
 * seen PERMIT this cannot fail.
 */
static bool gwake_take_permit(struct gwake_reg *reg)
{
	return atomic_cmpxchg(&reg->state, GWAKE_PERMIT, GWAKE_IDLE) ==
	       GWAKE_PERMIT;
}

/*
 * Set @reg's permit, and wake its owner if it was asleep. Returns 1 if it
 * was (counted as woken even if it has not reached schedule() yet), else
 * 0. Caller holds RCU, which keeps @reg and its wait queue alive even if
 * the registration is being removed.
 */
static int gwake_word_wake(struct gwake_reg *reg, bool sync)
{
	if (atomic_xchg(&reg->state, GWAKE_PERMIT) != GWAKE_SLEEPING)
		return 0;
	/* One waiter at most: the owner. */
	if (sync)
		__wake_up_sync(&reg->wq, TASK_INTERRUPTIBLE);
	else
		__wake_up(&reg->wq, TASK_INTERRUPTIBLE, 1, NULL);
	return 1;
}

/*
 * Consume @reg's permit, sleeping until one is set, a signal arrives or
 * @deadline (absolute CLOCK_MONOTONIC, or NULL for none) passes. The
 * caller is @reg's owner. Returns 0, -ETIMEDOUT, or @intr when a signal
 * interrupted the wait; *@slept tells whether it called schedule().
 */
static int __gwake_word_block(struct gwake_reg *reg, const ktime_t *deadline,
			      int intr, bool *slept)
{
	struct hrtimer_sleeper timer, *to = NULL;
	DEFINE_WAIT(wait);
	int ret;

	/* A pending permit: no wait queue, no timer. */
	if (gwake_take_permit(reg))
		return 0;

	if (deadline) {
		/* A deadline already past only takes a pending permit. */
		if (ktime_compare(*deadline, ktime_get()) <= 0)
			return -ETIMEDOUT;
		/* As futex_setup_timer() does, with the caller's slack. */
		to = &timer;
		hrtimer_init_sleeper_on_stack(to, CLOCK_MONOTONIC,
					      HRTIMER_MODE_ABS);
		hrtimer_set_expires_range_ns(&to->timer, *deadline,
					     current->timer_slack_ns);
		hrtimer_sleeper_start_expires(to, HRTIMER_MODE_ABS);
	}

	for (;;) {
		/*
		 * TASK_FREEZABLE as futex: the freezer may freeze us asleep,
		 * and the thaw is a spurious wakeup, absorbed by this loop.
		 */
		prepare_to_wait(&reg->wq, &wait,
				TASK_INTERRUPTIBLE | TASK_FREEZABLE);
		/* IDLE -> SLEEPING; already SLEEPING after a spurious wakeup. */
		if (atomic_cmpxchg(&reg->state, GWAKE_IDLE, GWAKE_SLEEPING) ==
		    GWAKE_PERMIT) {
			gwake_take_permit(reg);
			ret = 0;
			goto out;
		}
		if (signal_pending(current)) {
			ret = intr;
			break;
		}
		if (to && !to->task) {
			ret = -ETIMEDOUT;
			break;
		}
		*slept = true;
		schedule();
	}

	/*
	 * Give up: SLEEPING -> IDLE. If that fails the word is PERMIT: a wake
	 * raced in first and counted us as woken, so deliver it rather than
	 * lose it. A wake after the cmpxchg leaves a permit.
	 */
	if (atomic_cmpxchg(&reg->state, GWAKE_SLEEPING, GWAKE_IDLE) !=
	    GWAKE_SLEEPING) {
		gwake_take_permit(reg);
		ret = 0;
	}
out:
	finish_wait(&reg->wq, &wait);
	if (to) {
		hrtimer_cancel(&to->timer);
		destroy_hrtimer_on_stack(&to->timer);
	}
	return ret;
}

/*
 * __gwake_word_block() and its accounting: the CPU's counters and the
 * owner's own (plain stores: only the owner writes them; WRITE_ONCE() for
 * the thread dump that reads them).
 */
static int gwake_word_block(struct gwake_reg *reg, const ktime_t *deadline,
			    int intr)
{
	bool slept = false;
	int ret;

	ret = __gwake_word_block(reg, deadline, intr, &slept);

	gwake_stat_inc(GWAKE_STAT_BLOCKS);
	WRITE_ONCE(reg->nr_blocks, reg->nr_blocks + 1);
	if (slept) {
		gwake_stat_inc(GWAKE_STAT_SLEEPS);
		WRITE_ONCE(reg->nr_sleeps, reg->nr_sleeps + 1);
	} else if (!ret) {
		gwake_stat_inc(GWAKE_STAT_BLOCKS_PERMIT);
		WRITE_ONCE(reg->nr_blocks_permit, reg->nr_blocks_permit + 1);
	}
	if (ret == -ETIMEDOUT)
		gwake_stat_inc(GWAKE_STAT_TIMEOUTS);
	else if (ret)
		gwake_stat_inc(GWAKE_STAT_INTERRUPTS);
	return ret;
}

static int __gwake_wake(u64 handle, bool sync)
{
	struct gwake_reg *reg;
	int ret = -ESRCH;

	rcu_read_lock();
	reg = gwake_reg_lookup(handle);
	if (reg)
		ret = gwake_word_wake(reg, sync);
	rcu_read_unlock();

	if (ret > 0)
		gwake_stat_inc(GWAKE_STAT_WAKES_WOKEN);
	else if (!ret)
		gwake_stat_inc(GWAKE_STAT_WAKES_PERMIT);
	else
		gwake_stat_inc(GWAKE_STAT_WAKES_STALE);
	return ret;
}

/**
 * gwake_block() - BlockG: consume the caller's permit, sleeping for it
 * @gf:		the file the caller is in an ioctl on.
 * @deadline:	absolute CLOCK_MONOTONIC deadline, or NULL to wait without one.
 *
 * Context: process context, sleeps interruptibly.
 * Return: 0 when woken or a permit was pending, -ETIMEDOUT, -EINTR (seen
 * by userspace only when a signal handler runs; other signals restart the
 * call), or -ENOENT if the caller is not registered on @gf.
 */
int gwake_block(struct gwake_file *gf, const ktime_t *deadline)
{
	struct gwake_reg *self = gwake_reg_self(gf);

	if (!self)
		return -ENOENT;
	/*
	 * -ERESTARTNOHAND: a signal that runs a handler ends the call with
	 * -EINTR; one that does not (a stop, a ptrace attach, as when a
	 * debugger attaches) restarts it transparently, as futex waits are.
	 * Restarting is exact because the deadline is absolute and nothing
	 * was done yet: a permit that arrived meanwhile is still in the word.
	 */
	return gwake_word_block(self, deadline, -ERESTARTNOHAND);
}

/**
 * gwake_wake() - WakeG: wake a thread of the caller's process by handle
 * @handle:	the target's handle, unchecked.
 *
 * Context: any process context; takes no sleeping lock except the
 * target's wait-queue lock (a sleeping lock only on PREEMPT_RT).
 * Return: 1 if the target was asleep and is now woken, 0 if a permit is
 * left for it (or was pending), -ESRCH if @handle is stale, foreign or was
 * never issued.
 */
int gwake_wake(u64 handle)
{
	return __gwake_wake(handle, false);
}

/**
 * gwake_swap() - wake a thread with the sync hint, then block the caller
 * @gf:		the file the caller is in an ioctl on.
 * @handle:	the target's handle, unchecked.
 * @deadline:	as for gwake_block().
 *
 * The sync hint tells the scheduler that the waker is about to sleep, so
 * the target may be placed on the waker's CPU.
 *
 * Context: process context, sleeps interruptibly.
 * Return: what gwake_block() returns, except that any signal ends the wait
 * with -EINTR, handler or not; -ENOENT without waking if the caller is not
 * registered on @gf; -ESRCH without blocking if @handle is stale.
 */
int gwake_swap(struct gwake_file *gf, u64 handle, const ktime_t *deadline)
{
	struct gwake_reg *self = gwake_reg_self(gf);
	int ret;

	if (!self)
		return -ENOENT;
	gwake_stat_inc(GWAKE_STAT_SWAPS);
	ret = __gwake_wake(handle, true);
	if (ret < 0)
		return ret;
	/*
	 * Plain -EINTR, for every signal: a transparent restart would replay
	 * the wake above, and a second wake can reach the target after it
	 * consumed the first, as a spurious permit.
	 */
	return gwake_word_block(self, deadline, -EINTR);
}

/**
 * gwake_wake_many() - wake each of an array of handles, in order
 * @handles:	the handles, already copied from userspace.
 * @count:	their number, at most GWAKE_WAKE_MANY_MAX.
 *
 * Stale and foreign handles are skipped. Each wake takes its own RCU read
 * section, and the loop offers to reschedule between wakes, so a long
 * array neither holds up grace periods nor keeps a CPU from others on a
 * kernel without full preemption.
 *
 * Context: process context (may reschedule); otherwise as gwake_wake().
 * Return: the number of sleepers woken; permits left are not counted.
 */
int gwake_wake_many(const u64 *handles, u32 count)
{
	int woken = 0;
	u32 i;

	for (i = 0; i < count; i++) {
		if (__gwake_wake(handles[i], false) > 0)
			woken++;
		cond_resched();
	}
	return woken;
}
