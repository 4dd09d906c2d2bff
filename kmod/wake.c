// SPDX-License-Identifier: GPL-2.0
/*
 * gwake wake word: block, wake, swap, wake-many. The protocol (states,
 * who may write what, memory ordering, what the module does with a word
 * userspace scribbled on) is at the top of gwake.h.
 *
 * Locks taken here: only the target's wait-queue lock, inside the
 * wait-queue API (prepare_to_wait(), finish_wait(), __wake_up*()). Targets
 * are found under rcu_read_lock(); no global lock is touched.
 *
 * Statistics: every outcome is counted after the fact, on this CPU
 * (gwake_stat_inc(), stats.c): a wake by gwake_count_wake(), once per
 * handle, from __gwake_wake() and gwake_wake_many(); a block in
 * gwake_word_block(), which also keeps the owner's own counters. The
 * WAKE_MANY call itself is counted in dev.c, where a call that fails to
 * copy its array (and never reaches this file) is seen too. A wake or a
 * block that userspace completes in the shared word makes no system call
 * and is not counted.
 *
 * Why a wait is race free: the owner puts itself on reg->wq and sets its
 * task state (prepare_to_wait(), a full barrier) before it moves the word
 * IDLE -> SLEEPING. A waker that reads SLEEPING in its RMW (an exchange in
 * the module; in userspace a CAS, followed by WAKE with GWAKE_WAKE_SLEEPER) then
 * takes the queue lock after the owner queued itself, finds it and makes
 * it runnable, whether or not it has reached schedule() yet. A waker that
 * reads IDLE leaves PERMIT, and the owner's cmpxchg sees it and does not
 * sleep.
 */
#include <linux/hrtimer.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/wait.h>

#include "gwake.h"

/* The word's values for @reg's generation. */
static inline s64 gwake_w(const struct gwake_reg *reg, unsigned int state)
{
	return GWAKE_WORD(reg->gen, state);
}

/*
 * The owner takes a pending permit. Fully ordered: it pairs with the
 * waker's RMW, so what the waker wrote before WAKE is visible after BLOCK
 * returns.
 */
static bool gwake_take_permit(struct gwake_reg *reg)
{
	s64 permit = gwake_w(reg, GWAKE_WORD_PERMIT);

	return atomic64_try_cmpxchg(reg->word, &permit,
				    gwake_w(reg, GWAKE_WORD_IDLE));
}

/*
 * Is @w a word of @reg's registration at all? Anything else was written by
 * userspace (or is FREE, but a live owner's word is never FREE).
 */
static bool gwake_word_valid(const struct gwake_reg *reg, s64 w)
{
	return GWAKE_WORD_GEN((u64)w) == reg->gen &&
	       GWAKE_WORD_STATE(w) != GWAKE_WORD_FREE;
}

/*
 * The owner found garbage in its word: repair it, and report a wakeup (a
 * wake may have been lost to the scribble; a spurious return is what the
 * thread that scribbled gets).
 */
static int gwake_word_repair(struct gwake_reg *reg)
{
	atomic64_set(reg->word, gwake_w(reg, GWAKE_WORD_IDLE));
	return 0;
}

/*
 * Set @reg's permit, and wake its owner if it was asleep. Returns 1 if it
 * was (counted as woken even if it has not reached schedule() yet), 0 if a
 * permit is left, -ESRCH if the registration ended meanwhile. With
 * @sleeper, userspace made the word PERMIT already, having found SLEEPING:
 * only the wakeup is left to do. Caller holds RCU, which keeps @reg and its
 * wait queue alive even if the registration is ending.
 *
 * One exchange, not a compare-and-exchange loop: the registration was
 * looked up by its whole handle, so PERMIT of its generation is the right
 * value whatever the word held, and the owner's own steps are all
 * compare-and-exchanges that then see it. An exchange cannot be starved by
 * a word rewritten under it (by the owner consuming, by userspace wakers,
 * or by a scribbler), and the old value says what to do.
 */
static int gwake_word_wake(struct gwake_reg *reg, bool sync, bool sleeper)
{
	s64 permit = gwake_w(reg, GWAKE_WORD_PERMIT), old;
	int ret = 1;

	if (!sleeper) {
		/* Fully ordered: after end's FREE, if it came first. */
		old = atomic64_xchg(reg->word, permit);
		/*
		 * Ended: its word is FREE and must stay so. gwake_reg_end()
		 * sets ENDED (fully ordered) before it stores FREE, so an
		 * exchange that came after that store sees ENDED here.
		 */
		if (gwake_reg_ended(reg)) {
			atomic64_cmpxchg(reg->word, permit,
					 GWAKE_WORD(0, GWAKE_WORD_FREE));
			return -ESRCH;
		}
		/*
		 * IDLE or PERMIT: the owner will find the permit. Anything
		 * but SLEEPING is a scribble, with which the owner may be
		 * asleep: wake it.
		 */
		if (old == gwake_w(reg, GWAKE_WORD_IDLE) || old == permit) {
			ret = 0;
			/*
			 * The exchange is a full barrier, pairing with the one
			 * in the owner's prepare_to_wait(): an owner on its
			 * queue is seen. It is between prepare_to_wait() and
			 * its cmpxchg to SLEEPING, which the permit will fail,
			 * or giving up: a wakeup costs it nothing.
			 */
			if (!waitqueue_active(&reg->wq))
				return 0;
		}
	}
	/*
	 * Only a hint for spinners, so a stale answer is harmless here: the
	 * wakeup below takes the queue lock and misses nobody.
	 */
	if (waitqueue_active(&reg->wq))
		gwake_sched_waking(reg);
	/* One waiter at most: the owner. */
	if (sync)
		__wake_up_sync(&reg->wq, TASK_INTERRUPTIBLE);
	else
		__wake_up(&reg->wq, TASK_INTERRUPTIBLE, 1, NULL);
	return ret;
}

/*
 * Consume @reg's permit, sleeping until one is set, a signal arrives or
 * @deadline (absolute CLOCK_MONOTONIC, or NULL for none) passes. The
 * caller is @reg's owner. With a @partner handle, first wait as
 * gwake_sched_spin() decides. Returns 0, -ETIMEDOUT, or @intr when a
 * signal interrupted the wait; *@slept tells whether it called schedule().
 */
static int __gwake_word_block(struct gwake_reg *reg, const ktime_t *deadline,
			      u64 partner, u64 spin_ns, int intr, bool *slept)
{
	s64 idle = gwake_w(reg, GWAKE_WORD_IDLE), sleeping, w;
	struct hrtimer_sleeper timer, *to = NULL;
	DEFINE_WAIT(wait);
	int ret;

	/* A pending permit: no wait queue, no timer. */
	if (gwake_take_permit(reg))
		return 0;
	if (!gwake_word_valid(reg, atomic64_read(reg->word)))
		return gwake_word_repair(reg);

	if (deadline) {
		/* A deadline already past only takes a pending permit. */
		if (ktime_compare(*deadline, ktime_get()) <= 0)
			return -ETIMEDOUT;
	}
	if (partner && gwake_sched_spin(reg, partner, spin_ns, deadline) &&
	    gwake_take_permit(reg))
		return 0;
	if (deadline) {
		/* As futex_setup_timer() does, with the caller's slack. */
		to = &timer;
		hrtimer_init_sleeper_on_stack(to, CLOCK_MONOTONIC,
					      HRTIMER_MODE_ABS);
		hrtimer_set_expires_range_ns(&to->timer, *deadline,
					     current->timer_slack_ns);
		hrtimer_sleeper_start_expires(to, HRTIMER_MODE_ABS);
	}

	sleeping = gwake_w(reg, GWAKE_WORD_SLEEPING);
	for (;;) {
		/*
		 * TASK_FREEZABLE as futex: the freezer may freeze us asleep,
		 * and the thaw is a spurious wakeup, absorbed by this loop.
		 */
		prepare_to_wait(&reg->wq, &wait,
				TASK_INTERRUPTIBLE | TASK_FREEZABLE);
		/* IDLE -> SLEEPING; already SLEEPING after a spurious wakeup. */
		w = idle;
		if (!atomic64_try_cmpxchg(reg->word, &w, sleeping) &&
		    w != sleeping) {
			ret = w == gwake_w(reg, GWAKE_WORD_PERMIT) ?
			      (gwake_take_permit(reg), 0) : gwake_word_repair(reg);
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
	 * lose it (or garbage: repair it, and return as if woken). A wake
	 * after the cmpxchg leaves a permit.
	 */
	w = sleeping;
	if (!atomic64_try_cmpxchg(reg->word, &w, idle)) {
		if (w == gwake_w(reg, GWAKE_WORD_PERMIT))
			gwake_take_permit(reg);
		else
			gwake_word_repair(reg);
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
			    u64 partner, u64 spin_ns, int intr)
{
	bool slept = false;
	int ret;

	/* Our own wait: the block notification (sched.c) ignores it. */
	WRITE_ONCE(reg->in_wait, true);
	ret = __gwake_word_block(reg, deadline, partner, spin_ns, intr, &slept);
	WRITE_ONCE(reg->in_wait, false);
	/* Not back to userspace while a SWAP places us (place.c). */
	gwake_place_wait(reg);

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

/* Counts a wake by its result (GWAKE_STATS_A_WAKES_*). */
static void gwake_count_wake(int ret)
{
	if (ret > 0)
		gwake_stat_inc(GWAKE_STAT_WAKES_WOKEN);
	else if (!ret)
		gwake_stat_inc(GWAKE_STAT_WAKES_PERMIT);
	else
		gwake_stat_inc(GWAKE_STAT_WAKES_STALE);
}

static int __gwake_wake(u64 handle, bool sync, bool sleeper)
{
	struct gwake_reg *reg;
	int ret = -ESRCH;

	rcu_read_lock();
	reg = gwake_reg_lookup(handle);
	if (reg)
		ret = gwake_word_wake(reg, sync, sleeper);
	rcu_read_unlock();
	gwake_count_wake(ret);
	return ret;
}

/**
 * gwake_wake_reg() - wake a registration already found
 * @reg:	a live registration, found under RCU (which the caller holds).
 *
 * What WAKE does once it has the target, counted as a WAKE: for the block
 * notification's timer, which finds its target in an area, not in the
 * caller's process (sched.c).
 *
 * Context: any that may take the target's wait-queue lock (softirq, or a
 * thread on PREEMPT_RT); RCU held.
 * Return: as gwake_wake().
 */
int gwake_wake_reg(struct gwake_reg *reg)
{
	int ret = gwake_word_wake(reg, false, false);

	gwake_count_wake(ret);
	return ret;
}

/**
 * gwake_block() - BlockG: consume the caller's permit, sleeping for it
 * @gf:		the file the caller is in an ioctl on.
 * @deadline:	absolute CLOCK_MONOTONIC deadline, or NULL to wait without one.
 * @partner:	the handle of the thread expected to wake the caller, or 0.
 * @spin_ns:	with @partner, the longest spin; 0 for the default.
 *
 * Context: process context, sleeps interruptibly.
 * Return: 0 when woken or a permit was pending, -ETIMEDOUT, -EINTR (seen
 * by userspace only when a signal handler runs; other signals restart the
 * call), or -ENOENT if the caller is not registered on @gf.
 */
int gwake_block(struct gwake_file *gf, const ktime_t *deadline, u64 partner,
		u64 spin_ns)
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
	return gwake_word_block(self, deadline, partner, spin_ns, -ERESTARTNOHAND);
}

/**
 * gwake_wake() - WakeG: wake a thread of the caller's process by handle
 * @handle:	the target's handle, unchecked.
 * @sleeper:	the caller set the permit in the shared word already and
 *		found the target sleeping: only wake it (GWAKE_WAKE_SLEEPER).
 *
 * Context: any process context; takes no sleeping lock except the
 * target's wait-queue lock (a sleeping lock only on PREEMPT_RT).
 * Return: 1 if the target was asleep and is now woken, 0 if a permit is
 * left for it (or was pending), -ESRCH if @handle is stale, foreign or was
 * never issued.
 */
int gwake_wake(u64 handle, bool sleeper)
{
	return __gwake_wake(handle, false, sleeper);
}

/**
 * gwake_swap() - wake a thread with the sync hint, then block the caller
 * @gf:		the file the caller is in an ioctl on.
 * @handle:	the target's handle, unchecked.
 * @deadline:	as for gwake_block().
 * @partner:	wait for the target as a partner (GWAKE_BLOCK_PARTNER).
 * @place:	run a sleeping target on this CPU (GWAKE_SWAP_PLACE).
 *
 * The sync hint tells the scheduler that the waker is about to sleep, so
 * the target may be placed on the waker's CPU; with @place, a target that
 * sleeps in the module is put there (place.c), unless it cannot be (one
 * CPU allowed to it or online, SCHED_DEADLINE, hotplug under way).
 *
 * Context: process context, sleeps interruptibly.
 * Return: what gwake_block() returns, except that any signal ends the wait
 * with -EINTR, handler or not; -ENOENT without waking if the caller is not
 * registered on @gf; -ESRCH without blocking if @handle is stale.
 */
int gwake_swap(struct gwake_file *gf, u64 handle, const ktime_t *deadline,
	       bool partner, bool place)
{
	struct gwake_reg *self = gwake_reg_self(gf);
	struct gwake_place pl;
	bool placed;
	int ret;

	if (!self)
		return -ENOENT;
	gwake_stat_inc(GWAKE_STAT_SWAPS);
	placed = place && gwake_place_begin(self, handle, &pl);
	ret = __gwake_wake(handle, true, false);
	if (placed)
		gwake_place_end(&pl);
	if (ret < 0)
		return ret;
	/*
	 * Plain -EINTR, for every signal: a transparent restart would replay
	 * the wake above, and a second wake can reach the target after it
	 * consumed the first, as a spurious permit.
	 */
	return gwake_word_block(self, deadline, partner ? handle : 0, 0, -EINTR);
}

/*
 * WAKE_MANY wakes in batches of this many targets: one RCU read section
 * and no cond_resched() inside a batch, one between batches. 32 keeps the
 * batch's array at 512 bytes of stack on 64-bit.
 */
#define GWAKE_WAKE_BATCH	32

struct gwake_wake_target {
	struct gwake_reg *reg;
	u32 cpu;
};

/*
 * Sorts a batch by the CPU each target last ran on (insertion sort: at
 * most GWAKE_WAKE_BATCH entries, stable, so handles on one CPU keep the
 * caller's order).
 */
static void gwake_sort_by_cpu(struct gwake_wake_target *t, unsigned int n)
{
	unsigned int i, j;

	for (i = 1; i < n; i++) {
		struct gwake_wake_target x = t[i];

		for (j = i; j > 0 && t[j - 1].cpu > x.cpu; j--)
			t[j] = t[j - 1];
		t[j] = x;
	}
}

/**
 * gwake_wake_many() - wake each of an array of handles, grouped by CPU
 * @handles:	the handles, already copied from userspace.
 * @count:	their number, at most GWAKE_WAKE_MANY_MAX.
 * @sleepers:	each is a sleeper whose permit the caller set in the shared
 *		word (GWAKE_WAKE_SLEEPER): only wake them.
 *
 * Stale and foreign handles are skipped. The handles are taken in batches
 * of GWAKE_WAKE_BATCH: a batch is looked up, ordered by the CPU each
 * target last ran on (its published scheduling state, read once: only a
 * hint, since the wakeup itself chooses the CPU) and woken in that order,
 * all in one RCU read section. On a kernel without full preemption there
 * is no rescheduling point inside a batch, so a wakee that would preempt
 * the caller runs only once the batch is out, where N separate WAKE or
 * FUTEX_WAKE calls give it the CPU at the return of the first; with full
 * preemption (or PREEMPT_RT) the caller can be preempted at any wakeup,
 * as with separate calls. Between batches the loop offers to reschedule,
 * so the longest array neither holds up grace periods for long nor keeps
 * a CPU from others. The order of the wakes is not part of the ABI.
 *
 * Context: process context (may reschedule); otherwise as gwake_wake().
 * Return: the number of sleepers woken; permits left are not counted.
 */
int gwake_wake_many(const u64 *handles, u32 count, bool sleepers)
{
	struct gwake_wake_target t[GWAKE_WAKE_BATCH];
	unsigned int i, n, m;
	int woken = 0, ret;
	u32 done;

	for (done = 0; done < count; done += n) {
		n = min_t(u32, count - done, GWAKE_WAKE_BATCH);
		m = 0;
		rcu_read_lock();
		for (i = 0; i < n; i++) {
			struct gwake_reg *reg = gwake_reg_lookup(handles[done + i]);

			if (!reg) {
				gwake_count_wake(-ESRCH);
				continue;
			}
			t[m].reg = reg;
			t[m].cpu = READ_ONCE(reg->sched->cpu);
			m++;
		}
		gwake_sort_by_cpu(t, m);
		for (i = 0; i < m; i++) {
			ret = gwake_word_wake(t[i].reg, false, sleepers);
			gwake_count_wake(ret);
			if (ret > 0)
				woken++;
		}
		rcu_read_unlock();
		cond_resched();
	}
	return woken;
}
