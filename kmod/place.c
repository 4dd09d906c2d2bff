// SPDX-License-Identifier: GPL-2.0
/*
 * gwake placement: SWAP with GWAKE_SWAP_PLACE runs a sleeping target on
 * the caller's CPU.
 *
 * The caller of SWAP wakes its target and blocks at once, so the target
 * should take the caller's CPU, whose cache is warm with what the caller
 * just wrote for it, and whose run queue is about to be empty. The
 * scheduler does not do that by itself: the sync hint of the wakeup
 * (WF_SYNC) makes wake_affine() choose the waker's CPU, but
 * select_idle_sibling() then prefers any idle CPU of the cache domain, the
 * target's previous one first, so on a machine with an idle CPU every swap
 * pays a cross-CPU wakeup (an IPI and an exit from idle), even when the
 * target last ran on the waker's CPU: select_idle_cpu() finds the idle
 * one. 6.6 added WF_CURRENT_CPU for seccomp's sync mode, for this reason;
 * a 6.1 module cannot reach it.
 *
 * So, with exported interfaces only: for the one wakeup, the target's
 * allowed CPUs are narrowed to the caller's (set_cpus_allowed_ptr(), which
 * for a sleeping task changes the mask and nothing else), it is woken
 * (try_to_wake_up() can then only choose that CPU), and its saved mask is
 * put back, before the target returns to userspace, by whichever of the
 * two gets there first:
 *
 *   gwake_place_begin()  (caller) only if the target sleeps in the
 *                        module's own wait and its mask allows the
 *                        caller's CPU and another: claim it, save its
 *                        mask in its registration, narrow the mask, mark
 *                        the restore pending, drop the claim;
 *   (the wake)           wake.c, as for any SWAP;
 *   gwake_place_end()    (caller) take the pending restore, and do it;
 *   gwake_place_wait()   (target, leaving its wait) wait out a claim;
 *                        take the pending restore and do it, or wait
 *                        until the caller has done it.
 *
 * The target therefore never returns to userspace with the narrowed mask,
 * whoever runs first (on a kernel with full preemption the target runs as
 * soon as it is woken, and restores its own mask; otherwise the caller
 * restores it before it blocks, and the target finds nothing to do). The
 * restore of a thread that sits on the CPU it was narrowed to, which the
 * saved mask allows, migrates nothing. Both run preemptible: the restore
 * may sleep (waiting for the stopper) if a third party moved the target
 * meanwhile.
 *
 * The fields, in the target's registration:
 *
 *   placing      a caller is choosing and narrowing it (0 or 1, taken by
 *                cmpxchg: one caller at a time). The target does not leave
 *                its wait while it is set, which keeps the registration
 *                alive for that caller. Dekker's handshake with in_wait:
 *
 *                  caller                      target, leaving its wait
 *                  placing = 1 (cmpxchg)       in_wait = false
 *                  smp_mb()                    smp_mb()
 *                  in_wait? else give up       placing? wait until 0
 *
 *                so either the caller sees the target gone (it is still
 *                under RCU then, which keeps the memory) or the target
 *                sees the claim and waits. The shared word is never
 *                trusted for this: userspace may have written it.
 *   place_state  a status, NONE (nothing to restore), PENDING or
 *                RESTORING (the caller is at it), and the placement's
 *                sequence number above it. PENDING -> NONE by the target
 *                (which then restores itself), PENDING -> RESTORING ->
 *                NONE by the caller (the target waits for NONE). The
 *                caller enters an RCU read section before it drops its
 *                claim and leaves it after its cmpxchg, since the target
 *                may restore, leave and end its registration meanwhile;
 *                RESTORING then keeps the registration alive. The sequence
 *                number keeps a caller late to its restore from taking a
 *                later placement's.
 *   place_saved, place_cpu   the mask to put back and the CPU narrowed
 *                to: written by the claim's holder, read by whoever takes
 *                the pending restore (ordered by place_state's release
 *                and acquire). A new claim needs place_state 0 and the
 *                target in a wait, so it never overwrites them under a
 *                restore.
 *
 * What userspace can see: sched_getaffinity() of the target, by another
 * thread while the target sleeps and is handed off, returns the caller's
 * CPU alone. The target itself never sees it, and a thread's own
 * sched_setaffinity() never races with a placement of it (it is asleep).
 * A restore finds a mask someone else changed after the narrowing and
 * leaves it alone, unless the change set that very CPU alone (the restore
 * cannot tell it from its own narrowing, and widens it again); both
 * restorers run right after the wakeup, so that window is a hand-off
 * long. What no interface a module can use prevents: a change
 * of the target's mask by another thread, or by a cpuset update, that
 * lands between the saving and the narrowing (a few instructions) is
 * overwritten, and the restore then puts back the mask from before it;
 * for a cpuset update that means the thread keeps CPUs its new cpuset
 * lacks until the mask changes again. (sched_setaffinity() closes that
 * race by re-reading the cpuset; cpuset_cpus_allowed() is not exported.)
 * That is why placement is asked for per call, GWAKE_SWAP_PLACE, and not
 * the default of SWAP.
 *
 * CPU hotplug is held off from the narrowing until the restore is taken
 * (cpus_read_trylock() by the caller, cpus_read_lock() by the target
 * around its own restore; placement is skipped if hotplug is under way),
 * so the CPU the target is narrowed to cannot go away, which would make
 * the scheduler widen the mask to the cpuset's for good. The caller keeps
 * to its CPU (migrate_disable()) from choosing it to the wake.
 *
 * Not placed: SCHED_DEADLINE targets (their admission test needs the
 * whole root domain: sched_setaffinity() would refuse the narrowing), a
 * thread whose mask allows one CPU, or not the caller's. Not offered on
 * PREEMPT_RT (GWAKE_FEATURE_PLACE clear, the flag -EINVAL): kept simple
 * where latency matters more than a cross-CPU wakeup.
 *
 * Locks: cpu_hotplug_lock (read) around a placement; inside it the
 * target's pi_lock, briefly, to read its mask as sched_getaffinity()
 * does, and what set_cpus_allowed_ptr() takes; the wakeup's wait-queue
 * lock (wake.c). The target takes cpu_hotplug_lock (read) only to restore.
 * Nothing here runs in atomic context except the reads under pi_lock.
 *
 * Cost: two mask changes of a task that is not running (each the
 * target's pi_lock and run-queue lock), instead of an IPI and an idle
 * exit on another CPU. docs/benchmarks.md has the swap rows with the share
 * of wakes that ran on the waker's CPU.
 */
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/gwake.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/deadline.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/wait_bit.h>

#include "gwake.h"

/*
 * place_state: the placement's status in the low bits, its sequence number
 * above them, so that a caller late to its restore cannot take that of a
 * later placement by another caller.
 */
#define GWAKE_PLACE_NONE	0
#define GWAKE_PLACE_PENDING	1
#define GWAKE_PLACE_RESTORING	2
#define GWAKE_PLACE_STATUS	3
#define GWAKE_PLACE_SEQ_ONE	4

/**
 * gwake_place_alloc() - the registration's saved mask for placement
 * @reg:	a new registration, not yet published.
 *
 * Context: process context, may sleep.
 * Return: 0 or -ENOMEM.
 */
int gwake_place_alloc(struct gwake_reg *reg)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		return 0;
	return alloc_cpumask_var(&reg->place_saved, GFP_KERNEL_ACCOUNT) ?
	       0 : -ENOMEM;
}

/**
 * gwake_place_free() - free what gwake_place_alloc() allocated
 * @reg:	the registration being freed.
 */
void gwake_place_free(struct gwake_reg *reg)
{
	if (!IS_ENABLED(CONFIG_PREEMPT_RT))
		free_cpumask_var(reg->place_saved);
}

/* Store @v to @var and wake whoever waits for it (wait_var_event()). */
static void gwake_place_set(atomic_t *var, int v)
{
	atomic_set_release(var, v);
	/* The store before the waiters' list is read: wake_up_var(). */
	smp_mb__after_atomic();
	wake_up_var(var);
}

/*
 * Put @p's saved mask back, unless someone else changed the narrowed one.
 * Process context; may sleep. Caller holds cpu_hotplug_lock (read).
 */
static void gwake_place_restore(struct gwake_reg *reg)
{
	struct task_struct *p = reg->task;
	unsigned long flags;
	bool ours;

	raw_spin_lock_irqsave(&p->pi_lock, flags);
	ours = cpumask_equal(&p->cpus_mask, cpumask_of(reg->place_cpu));
	raw_spin_unlock_irqrestore(&p->pi_lock, flags);
	/*
	 * It cannot fail: the saved mask holds place_cpu, active (hotplug is
	 * held off), and the task is a user thread.
	 */
	if (ours)
		set_cpus_allowed_ptr(p, reg->place_saved);
}

/*
 * Claim the target of @handle and save its mask, if it sleeps in the
 * module's own wait with a mask that allows @cpu and another CPU and it
 * may be moved. Caller holds RCU. The word and the published state are
 * hints (userspace can write the one, both change under us); in_wait,
 * checked after the claim, decides.
 */
static struct gwake_reg *gwake_place_claim(struct gwake_reg *self,
					   u64 handle, unsigned int cpu)
{
	struct gwake_reg *reg = gwake_reg_lookup(handle);
	struct task_struct *p;
	unsigned long flags;
	bool ok;

	/* A one-CPU mask (a pinned thread) is checked first: the commonest no. */
	if (!reg || reg == self ||
	    READ_ONCE(reg->task->nr_cpus_allowed) < 2 ||
	    atomic64_read(reg->word) != GWAKE_WORD(reg->gen, GWAKE_WORD_SLEEPING) ||
	    READ_ONCE(reg->sched->state) != GWAKE_SCHED_BLOCKED ||
	    atomic_cmpxchg(&reg->placing, 0, 1))
		return NULL;
	/* Pairs with gwake_place_wait()'s: the claim, then in_wait. */
	smp_mb__after_atomic();
	if (!READ_ONCE(reg->in_wait) ||
	    (atomic_read(&reg->place_state) & GWAKE_PLACE_STATUS) != GWAKE_PLACE_NONE)
		goto drop;

	/* As sched_getaffinity(): a consistent copy under pi_lock. */
	p = reg->task;
	raw_spin_lock_irqsave(&p->pi_lock, flags);
	cpumask_copy(reg->place_saved, &p->cpus_mask);
	ok = !dl_task(p) && !(p->flags & (PF_KTHREAD | PF_NO_SETAFFINITY));
	raw_spin_unlock_irqrestore(&p->pi_lock, flags);
	/* One CPU allowed is the user's choice, and nothing to gain. */
	if (ok && cpumask_test_cpu(cpu, reg->place_saved) &&
	    cpumask_weight(reg->place_saved) > 1)
		return reg;
drop:
	gwake_place_set(&reg->placing, 0);
	return NULL;
}

/**
 * gwake_place_begin() - narrow a sleeping target to the caller's CPU
 * @self:	the caller's registration.
 * @handle:	the target's handle, unchecked.
 * @pl:		out: what gwake_place_end() needs.
 *
 * On success it returns in an RCU read section, which keeps the target's
 * registration for gwake_place_end() should the target restore its own
 * mask, leave and end it meanwhile: the caller wakes the target (without
 * sleeping), then calls gwake_place_end().
 *
 * Context: process context, may sleep.
 * Return: true if the target was narrowed.
 */
bool gwake_place_begin(struct gwake_reg *self, u64 handle,
		       struct gwake_place *pl)
{
	struct gwake_reg *reg;
	unsigned int cpu;

	if (IS_ENABLED(CONFIG_PREEMPT_RT) || num_online_cpus() < 2)
		return false;
	/* Hotplug under way: no placement rather than waiting for it. */
	if (!cpus_read_trylock())
		return false;
	migrate_disable();
	cpu = smp_processor_id();

	rcu_read_lock();
	reg = gwake_place_claim(self, handle, cpu);
	rcu_read_unlock();
	if (!reg)
		goto out;
	/* Alive: its owner does not leave its wait while we hold the claim. */
	if (set_cpus_allowed_ptr(reg->task, cpumask_of(cpu))) {
		gwake_place_set(&reg->placing, 0);
		goto out;
	}
	reg->place_cpu = cpu;
	pl->reg = reg;
	pl->state = (atomic_read(&reg->place_state) & ~GWAKE_PLACE_STATUS) +
		    GWAKE_PLACE_SEQ_ONE;
	/* Before the claim goes: from then on only RCU keeps reg for us. */
	rcu_read_lock();
	atomic_set_release(&reg->place_state, pl->state | GWAKE_PLACE_PENDING);
	gwake_place_set(&reg->placing, 0);
	return true;
out:
	migrate_enable();
	cpus_read_unlock();
	return false;
}

/**
 * gwake_place_end() - restore the target's mask, if it has not yet
 * @pl:		as filled by gwake_place_begin().
 *
 * Context: process context, in the RCU read section gwake_place_begin()
 * began, which this ends; may sleep after that.
 */
void gwake_place_end(struct gwake_place *pl)
{
	struct gwake_reg *reg = pl->reg;
	bool mine;

	/*
	 * Ours: the target waits in gwake_place_wait() until we are done,
	 * so its registration outlives the RCU section. Not ours: the target
	 * restored its own mask already.
	 */
	mine = atomic_cmpxchg(&reg->place_state, pl->state | GWAKE_PLACE_PENDING,
			      pl->state | GWAKE_PLACE_RESTORING) ==
	       (pl->state | GWAKE_PLACE_PENDING);
	rcu_read_unlock();
	migrate_enable();
	if (mine) {
		gwake_place_restore(reg);
		gwake_place_set(&reg->place_state, pl->state | GWAKE_PLACE_NONE);
	}
	cpus_read_unlock();
}

/**
 * gwake_place_wait() - the owner leaves its wait, with its own mask
 * @reg:	the caller's registration; in_wait is already false.
 *
 * Waits out a claim on it, then restores its own mask if a placement left
 * that pending, or waits until the placing caller has restored it.
 *
 * Context: the owner, in BLOCK or SWAP, process context; may sleep
 * (uninterruptibly, for the few steps of a placement).
 */
void gwake_place_wait(struct gwake_reg *reg)
{
	int v;

	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		return;
	/*
	 * Pairs with gwake_place_claim()'s: in_wait, then the claim. The
	 * acquire on the claim orders the read of place_state after it: a
	 * claim seen dropped shows the PENDING set before the drop.
	 */
	smp_mb();
	if (likely(!atomic_read_acquire(&reg->placing) &&
		   !(atomic_read_acquire(&reg->place_state) & GWAKE_PLACE_STATUS)))
		return;

	/* Not counted as a block of its own (the block notification). */
	WRITE_ONCE(reg->in_place_wait, true);
	wait_var_event(&reg->placing, !atomic_read_acquire(&reg->placing));
	v = atomic_read_acquire(&reg->place_state);
	if (v & GWAKE_PLACE_STATUS) {
		cpus_read_lock();
		if ((v & GWAKE_PLACE_STATUS) == GWAKE_PLACE_PENDING &&
		    atomic_try_cmpxchg_acquire(&reg->place_state, &v,
					       v & ~GWAKE_PLACE_STATUS))
			gwake_place_restore(reg);
		else
			wait_var_event(&reg->place_state,
				       !(atomic_read_acquire(&reg->place_state) &
					 GWAKE_PLACE_STATUS));
		cpus_read_unlock();
	}
	WRITE_ONCE(reg->in_place_wait, false);
}
