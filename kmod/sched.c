// SPDX-License-Identifier: GPL-2.0
/*
 * gwake scheduling state: what the scheduler does with each registered
 * thread, published in its slot of the shared area (struct gwake_sched,
 * uapi header), and the wait that uses it (GWAKE_BLOCK_PARTNER).
 *
 * The state is kept by a preempt notifier on each registered thread,
 * attached and detached by the thread itself (REGISTER; UNREGISTER, exit,
 * exec, or its next entry after the release of its file: gwake.h):
 *
 *   sched_out  the thread leaves its CPU: PREEMPTED if it is still
 *              runnable (on its run queue: a preemption or a yield),
 *              BLOCKED if it went to sleep (the scheduler dequeued it
 *              before the switch), and its switch count goes up;
 *   sched_in   it runs again: RUNNING, and on which CPU.
 *
 * The module's own wake of a sleeper moves BLOCKED to WAKING, so that a
 * thread about to run is not taken for an idle one (gwake_sched_waking()).
 *
 * The block notification (GWAKE_IOC_NOTIFY, at the end of this file): a
 * thread that asked for it has a timer armed at every sched_out that
 * blocks it outside the module's own wait, cancelled at its sched_in; a
 * block that outlasts it is counted in the slot and wakes the handle the
 * thread named.
 *
 * Context of the callbacks: the scheduler's, on the thread's CPU, as part
 * of its own context switch: sched_out with the run-queue lock held and
 * interrupts off, sched_in after the lock is dropped, with preemption
 * disabled. They write only the thread's own slot, a page the module owns
 * and keeps while the notifier is attached (the registration holds its
 * area); they wake nobody and touch no user memory through a user
 * pointer. The only lock they take is the hrtimer base's raw lock, to arm
 * (sched_out) or cancel (sched_in) the thread's block-notification timer
 * when it has one: the scheduler's own hrtick nests it the same way. Each
 * field is written with one store (WRITE_ONCE()); the switch count only by
 * the thread's own switches, so it needs no RMW.
 * The WAKING transition is a cmpxchg() from BLOCKED, so that a waker that
 * comes after the thread already runs again cannot overwrite RUNNING.
 *
 * Cost: once the module is loaded, every context switch on the system
 * checks whether the outgoing and incoming tasks have notifiers (a static
 * key enabled by preempt_notifier_inc()); a registered thread's switches
 * make two indirect calls and three stores more (and with a block
 * notification, an hrtimer armed at each block and cancelled at each switch
 * in; a load of notify_handle without). docs/benchmarks.md has
 * the measurement (registered against unregistered futex ping-pong).
 */
#include <linux/gwake.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/sched/task.h>
#include <linux/smp.h>

#include "gwake.h"

#ifndef CONFIG_PREEMPT_NOTIFIERS
#error "gwake needs CONFIG_PREEMPT_NOTIFIERS (selected by KVM) for the scheduling state"
#endif

static void gwake_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct gwake_reg *reg = container_of(pn, struct gwake_reg, pn);

	WRITE_ONCE(reg->sched->cpu, cpu);
	WRITE_ONCE(reg->sched->state, GWAKE_SCHED_RUNNING);
	/*
	 * The block is over before its report: no report. If the callback
	 * runs right now (on the CPU we blocked on) it cannot be waited
	 * for here; its report arrives just after the block, a hint late.
	 */
	if (READ_ONCE(reg->notify_handle))
		hrtimer_try_to_cancel(&reg->notify_timer);
}

static void gwake_sched_out(struct preempt_notifier *pn,
			    struct task_struct *next)
{
	struct gwake_reg *reg = container_of(pn, struct gwake_reg, pn);
	struct gwake_sched *s = reg->sched;

	WRITE_ONCE(s->switches, s->switches + 1);
	/*
	 * current is the thread leaving. A thread that blocks was dequeued
	 * before the switch (deactivate_task() in __schedule()); one that is
	 * preempted, or yields, stays on its run queue.
	 */
	if (READ_ONCE(current->on_rq)) {
		WRITE_ONCE(s->state, GWAKE_SCHED_PREEMPTED);
		return;
	}
	WRITE_ONCE(s->state, GWAKE_SCHED_BLOCKED);
	/*
	 * A block to report if it lasts (GWAKE_IOC_NOTIFY). The run-queue
	 * lock is held: only the hrtimer base's raw lock nests inside it,
	 * as for the scheduler's own hrtick.
	 */
	if (READ_ONCE(reg->notify_handle) && !READ_ONCE(reg->in_wait) &&
	    !READ_ONCE(reg->in_place_wait) && !gwake_reg_ended(reg))
		hrtimer_start(&reg->notify_timer,
			      ns_to_ktime(READ_ONCE(reg->notify_ns)),
			      HRTIMER_MODE_REL_PINNED_SOFT);
}

static struct preempt_ops gwake_preempt_ops = {
	.sched_in	= gwake_sched_in,
	.sched_out	= gwake_sched_out,
};

/**
 * gwake_sched_attach() - start publishing the caller's scheduling state
 * @reg:	the caller's new registration, not yet published.
 *
 * Context: the registration's owner thread, process context.
 */
void gwake_sched_attach(struct gwake_reg *reg)
{
	struct gwake_sched *s = reg->sched;

	preempt_notifier_init(&reg->pn, &gwake_preempt_ops);
	/*
	 * The list is walked by our own switches: not while we change it.
	 * The first state is published in the same section, so that no
	 * switch can come between it and the notifier that keeps it.
	 */
	preempt_disable();
	preempt_notifier_register(&reg->pn);
	WRITE_ONCE(s->switches, 0);
	WRITE_ONCE(s->notified, 0);
	WRITE_ONCE(s->cpu, smp_processor_id());
	WRITE_ONCE(s->state, GWAKE_SCHED_RUNNING);
	/* Last: readers compare gen before and after the rest. */
	smp_store_release(&s->gen, reg->gen);
	preempt_enable();
}

/**
 * gwake_sched_detach() - stop publishing it
 * @reg:	the caller's registration, ended.
 *
 * Context: the registration's owner thread, any context.
 */
void gwake_sched_detach(struct gwake_reg *reg)
{
	preempt_disable();
	preempt_notifier_unregister(&reg->pn);
	preempt_enable();
	WRITE_ONCE(reg->sched->state, GWAKE_SCHED_NONE);
}

/**
 * gwake_sched_end() - the registration's slot is no longer its handle's
 * @reg:	a registration that just ended.
 *
 * Its notifier may still write the slot until its owner detaches it, but
 * readers see gen 0 and ignore the rest. Context: any.
 */
void gwake_sched_end(struct gwake_reg *reg)
{
	/* Pairs with the reader's acquire of gen (see gwake_sched_attach()). */
	smp_store_release(&reg->sched->gen, 0);
}

/**
 * gwake_sched_waking() - the module woke @reg's owner from its sleep
 * @reg:	the registration, found under RCU.
 *
 * Context: any; RCU held by the caller.
 */
void gwake_sched_waking(struct gwake_reg *reg)
{
	cmpxchg(&reg->sched->state, GWAKE_SCHED_BLOCKED, GWAKE_SCHED_WAKING);
}

/*
 * How the partner of a wait stands, read from the task itself: the module
 * does not need the published copy for that.
 */
enum gwake_partner {
	GWAKE_PARTNER_GONE,	/* not a live handle, or blocked: sleep */
	GWAKE_PARTNER_RUNNING,	/* on a CPU: worth spinning for */
	GWAKE_PARTNER_RUNNABLE,	/* runnable, not on a CPU: yield to it */
};

static enum gwake_partner gwake_partner_state(struct task_struct *p)
{
	if (owner_on_cpu(p))
		return GWAKE_PARTNER_RUNNING;
	if (task_is_running(p))
		return GWAKE_PARTNER_RUNNABLE;
	return GWAKE_PARTNER_GONE;
}

/**
 * gwake_sched_spin() - wait for a permit as the partner's state says
 * @self:	the caller's registration.
 * @partner:	the handle of the thread expected to wake the caller.
 * @spin_ns:	the longest spin; 0 for GWAKE_SPIN_DEFAULT_NS.
 * @deadline:	the caller's absolute CLOCK_MONOTONIC deadline, or NULL.
 *
 * While the partner is on a CPU, and nothing else waits for ours
 * (need_resched(), single_task_running()), spin for the permit, as the
 * kernel's own mutexes spin only while their owner runs (owner_on_cpu()).
 * If the partner is runnable, not on a CPU and queued on ours, give it
 * ours (yield_to()) once, and look again. Otherwise, return at once: the caller sleeps. A
 * pending signal or the caller's deadline ends the spin too; the caller's
 * sleep loop then reports them.
 *
 * Context: process context, the caller's own registration; may schedule.
 * Return: true if the permit is pending (the caller takes it), false if
 * the caller should sleep.
 */
bool gwake_sched_spin(struct gwake_reg *self, u64 partner, u64 spin_ns,
		      const ktime_t *deadline)
{
	const s64 permit = GWAKE_WORD(self->gen, GWAKE_WORD_PERMIT);
	struct task_struct *p = NULL;
	bool yielded = false, got = false;
	struct gwake_reg *reg;
	unsigned int n = 0;
	u64 end;

	rcu_read_lock();
	reg = gwake_reg_lookup(partner);
	if (reg && reg != self) {
		p = reg->task;
		get_task_struct(p);
	}
	rcu_read_unlock();
	if (!p)
		return false;

	if (!spin_ns)
		spin_ns = GWAKE_SPIN_DEFAULT_NS;
	end = ktime_get_ns() + min_t(u64, spin_ns, GWAKE_SPIN_MAX_NS);
	if (deadline)
		end = min_t(u64, end, ktime_to_ns(*deadline));
	for (;;) {
		if (atomic64_read(self->word) == permit) {
			got = true;
			break;
		}
		if (signal_pending(current))
			break;
		switch (gwake_partner_state(p)) {
		case GWAKE_PARTNER_RUNNING:
			if (need_resched() || !single_task_running())
				goto out;
			cpu_relax();
			break;
		case GWAKE_PARTNER_RUNNABLE:
			/*
			 * Waiting for our CPU: give it over. yield_to() marks
			 * the partner next on its own run queue only, so for
			 * a partner queued on another CPU it would hand ours
			 * to whoever else and not speed the partner up: sleep
			 * then (and whoever runs there is not ours to
			 * preempt).
			 */
			if (yielded || task_cpu(p) != raw_smp_processor_id())
				goto out;
			yielded = true;
			yield_to(p, false);
			break;
		default:
			goto out;
		}
		/*
		 * Not each time, being dearer than a look at the word: the
		 * clock, and whether the partner is still the handle's (one
		 * that unregistered or exec'd will not wake us).
		 */
		if (!(++n & 15)) {
			if (ktime_get_ns() > end)
				break;
			rcu_read_lock();
			reg = gwake_reg_lookup(partner);
			rcu_read_unlock();
			if (!reg)
				break;
		}
	}
out:
	put_task_struct(p);
	return got;
}

/**
 * gwake_sched_init() - enable preempt notifiers (a static key)
 *
 * Context: module init. Return: 0.
 */
int gwake_sched_init(void)
{
	preempt_notifier_inc();
	return 0;
}

/**
 * gwake_sched_exit() - drop the static key again
 *
 * Context: module exit; no notifier is attached.
 */
void gwake_sched_exit(void)
{
	preempt_notifier_dec();
}

/*
 * The block notification (GWAKE_IOC_NOTIFY). The owner's sched_out arms
 * notify_timer when the owner blocks outside the module's own wait, its
 * sched_in cancels it; if the block lasts, this runs: softirq context on
 * the CPU the owner blocked on (a thread on PREEMPT_RT), so it may take
 * the target's wait-queue lock, which the notifier could not. @reg stays
 * allocated while the timer can run: its free cancels it first
 * (gwake_sched_notify_stop()). Its area, where the target is looked up,
 * is held by @reg.
 */
static enum hrtimer_restart gwake_notify_fire(struct hrtimer *timer)
{
	struct gwake_reg *reg = container_of(timer, struct gwake_reg,
					     notify_timer);
	u64 handle = READ_ONCE(reg->notify_handle);
	struct gwake_reg *target;

	if (!handle || gwake_reg_ended(reg))
		return HRTIMER_NORESTART;
	/* Only this callback writes it, and a timer never runs twice at once. */
	WRITE_ONCE(reg->sched->notified, reg->sched->notified + 1);
	rcu_read_lock();
	target = gwake_reg_lookup_in(reg->area, handle);
	if (target)
		gwake_wake_reg(target);
	else
		gwake_stat_inc(GWAKE_STAT_WAKES_STALE);
	rcu_read_unlock();
	return HRTIMER_NORESTART;
}

/**
 * gwake_sched_notify_init() - prepare a new registration's report timer
 * @reg:	the registration, not yet attached.
 *
 * Context: process context.
 */
void gwake_sched_notify_init(struct gwake_reg *reg)
{
	hrtimer_init(&reg->notify_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	reg->notify_timer.function = gwake_notify_fire;
}

/**
 * gwake_sched_notify_stop() - no report is pending or running any more
 * @reg:	a detached registration (nothing can arm its timer again), or
 *		the caller's own while it runs.
 *
 * Context: process context; waits for a running callback.
 */
void gwake_sched_notify_stop(struct gwake_reg *reg)
{
	hrtimer_cancel(&reg->notify_timer);
}

/**
 * gwake_notify() - NOTIFY: report the caller's blocks that last
 * @gf:		the file the caller is in an ioctl on.
 * @handle:	whom to wake, or 0 to stop.
 * @threshold_ns: how long a block lasts before it is reported, already
 *		checked against GWAKE_NOTIFY_MAX_NS.
 *
 * Both fields are the owner's and read by its own switches, which cannot
 * run between the two stores with the thread runnable (a preemption here
 * is not a block). The handle must be live now; it may go stale later,
 * and a report then wakes nobody.
 *
 * Context: process context.
 * Return: 0, -ENOENT if the caller is not registered on @gf, -EINVAL if
 * @handle is the caller's own, -ESRCH if @handle is not a live handle of
 * the caller's process.
 */
int gwake_notify(struct gwake_file *gf, u64 handle, u64 threshold_ns)
{
	struct gwake_reg *self = gwake_reg_self(gf);
	bool live = true;

	if (!self)
		return -ENOENT;
	/* Reports to oneself would be permits nobody can tell from a wake. */
	if (handle && handle == self->handle)
		return -EINVAL;
	if (handle) {
		rcu_read_lock();
		live = !!gwake_reg_lookup(handle);
		rcu_read_unlock();
	}
	if (!live)
		return -ESRCH;
	WRITE_ONCE(self->notify_ns, threshold_ns);
	WRITE_ONCE(self->notify_handle, handle);
	if (!handle)
		gwake_sched_notify_stop(self);
	return 0;
}
