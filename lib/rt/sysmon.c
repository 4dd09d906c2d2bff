// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The monitor (Go's sysmon): a thread that is not an M and holds no P.
 *
 *  - Retakes Ps stuck in a system call, taken (CAS SYSCALL -> IDLE) and
 *    handed to another M (grt__handoffp): a P whose G entered the call
 *    with Gs queued behind it once the call is GRT_SYSMON_WAITING_NS old
 *    (the entry was timed: grt_syscall_enter()); any other once two ticks
 *    at least 20 us apart saw the same call, while Gs wait for it (or no
 *    other M is spinning or idle, or after 10 ms in any case).
 *  - Preempts: a P that has been running the same G for more than 10 ms
 *    gets its G flagged (the G yields at its next safe point: any runtime
 *    call, grt_preempt_check()) and its M signalled. The signal handler
 *    never switches Gs; if the G is outside the runtime it detaches it
 *    from its P exactly as grt_syscall_enter() would, so the next tick
 *    hands the P and its run queue to another M. The hog keeps its own
 *    thread (the kernel time-slices it) until it calls into the runtime,
 *    where it finds no P and queues itself. That is safe at any
 *    instruction outside the runtime -- inside malloc, holding a user
 *    mutex -- because the G is never moved off its thread while it runs
 *    foreign code; see docs/runtime.md, "Preemption".
 *  - Wakes an M when a timer of an idle P expires.
 *  - GRT_DEBUG=schedtrace=MS: prints the "SCHED" line (stats.c) every MS
 *    milliseconds. Here because the monitor already wakes up on its own
 *    and holds no P: the trace costs the Ms nothing. It bounds the
 *    monitor's sleeps by the next line's time, deep sleep included (as
 *    Go's sysmon, which never sleeps deeply while tracing).
 *
 * Idle: when every P is idle the monitor blocks on its wake word, with
 * the earliest timer as deadline or none at all: an idle runtime has no
 * ticking thread. The deep sleep is a Dekker handshake: the monitor sets
 * mon_sleeping (seq_cst) then re-checks npidle; a P leaving the idle set
 * decrements npidle (seq_cst RMW) then reads mon_sleeping and kicks it
 * (grt__acquirep). A P with timers entering the idle set kicks it too
 * (pidleput), so that it recomputes its deadline.
 *
 * The monitor never spins before it sleeps (gwi_block_idle()): its ticks
 * end by timeout, and a kick is never worth a CPU kept busy for it. The
 * userspace backend's spin, clamped to each 20 us tick, had the monitor
 * burn most of its CPU time in pauses. The one wait it does on its CPU
 * is after a look, for a P due within 5 us, and only when a rationed
 * kick asked for it (spin_until()).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <ucontext.h>

#include "backend.h"
#include "diag.h"
#include "futex.h"
#include "runq.h"
#include "sched.h"

#define S grt__sched

static struct sigaction old_sa;
static bool sa_installed;
static _Atomic uint32_t mon_ready;

void grt__monitor_kick(void)
{
	if (S.mon_handle)
		gwake_wake(S.mon_handle);
}

static void preemptone(struct grt_p *p)
{
	struct grt_m *m = p->m;
	struct grt_g *gp = m ? m->curg : NULL;

	if (!gp)
		return;
	atomic_store_explicit(&gp->preempt, 1, memory_order_relaxed);
	grt__stat_inc(&S.npreempt);
	if (S.preempt_signal)
		pthread_kill(m->thread, S.preempt_signal);
}

/*
 * Takes the Ps that have been in a system call for too long, preempts the
 * Gs that have run for too long. Returns how many Ps it took; *due is set
 * to the earliest time a P it left in a system call becomes due, if that
 * is known (a timed entry, GRT_SYSMON_WAITING_NS; a timer of a P lent by
 * a thread-call caller, grt__tcall_lent()), else left alone; for a timed
 * entry, *duep and *duetick to that P and its call's number (the caller
 * clears *duep: a lent P's timer leaves it alone).
 */
static uint32_t retake(int64_t now, int64_t *due, struct grt_p **duep,
		       uint32_t *duetick)
{
	uint32_t i, n = 0;
	int queued = -1;	/* grt__tcall_lent()'s scan, once per look */

	for (i = 0; i < S.nprocs; i++) {
		struct grt_p *p = S.allp[i];
		uint32_t st = atomic_load(&p->status), t;
		int64_t since;

		if (st == GRT_PIDLE)
			continue;
		t = atomic_load_explicit(&p->schedtick, memory_order_relaxed);
		if (p->mon_schedtick != t || st != GRT_PRUNNING) {
			p->mon_schedtick = t;
			p->mon_schedwhen = now;
		} else if (now - p->mon_schedwhen >= GRT_PREEMPT_NS) {
			preemptone(p);
			p->mon_schedwhen = now;	/* again in 10 ms */
		}
		if (st != GRT_PSYSCALL)
			continue;
		t = atomic_load_explicit(&p->syscalltick, memory_order_relaxed);
		/* Ordered after the load of SYSCALL (seq_cst, an acquire). */
		since = atomic_load_explicit(&p->syscall_since,
					     memory_order_relaxed);
		if (since && !grt__runqempty(p)) {
			/* Gs wait and we know since when: no second look. */
			p->mon_syscalltick = t;
			p->mon_syscallwhen = since;
			if (now - since < GRT_SYSMON_WAITING_NS) {
				if (since + GRT_SYSMON_WAITING_NS < *due) {
					*due = since + GRT_SYSMON_WAITING_NS;
					*duep = p;
					*duetick = t;
				}
				continue;
			}
		} else {
			bool first = p->mon_syscalltick != t;

			if (first) {
				p->mon_syscalltick = t;
				p->mon_syscallwhen = now;
			}
			/* A thread-call caller's lent P: asked, not taken;
			 * looked at from the first look on. */
			if (grt__tcall_lent(p, t, now, due, &queued) || first)
				continue;
			if (now - p->mon_syscallwhen < GRT_SYSMON_MIN_NS)
				continue;
			/* Nothing waits for this P and others are free: let
			 * it be, unless the call has taken 10 ms. */
			if (grt__runqempty(p) &&
			    atomic_load(&S.nmspinning) + atomic_load(&S.npidle) > 0 &&
			    now - p->mon_syscallwhen < GRT_SYSMON_MAX_NS)
				continue;
		}
		if (atomic_compare_exchange_strong(&p->status, &st,
						   GRT_PIDLE)) {
			n++;
			grt__stat_inc(&S.nhandoff);
			atomic_fetch_add(&p->syscalltick, 1);
			atomic_store_explicit(&p->tcall_m, NULL,
					      memory_order_relaxed);
			grt__handoffp(p);
		}
	}
	return n;
}

/*
 * Kicked with leave to spin (grt_syscall_enter()) for a P due within
 * GRT_SYSMON_WAITING_NS: wait on the CPU. A timed sleep that short costs
 * more than it waits: the CPU halts and its timer must wake it, 10-20 us
 * on these VMs (block-handoff). Only with the leave, which kicks are
 * rationed for (syscall.c); never for a call a tick found. Ends early
 * when that call is over (p, if known, left the state or began another
 * call). Each round yields the CPU: the M we wait for may be the thread
 * we preempted, back from a short call and waiting for this CPU; if
 * nothing else wants it, sched_yield() returns at once.
 */
static void spin_until(int64_t due, struct grt_p *p, uint32_t tick)
{
	while (grt__nanotime() < due &&
	       !atomic_load_explicit(&S.stopping, memory_order_relaxed)) {
		if (p && (atomic_load(&p->status) != GRT_PSYSCALL ||
			  atomic_load_explicit(&p->syscalltick,
					       memory_order_relaxed) != tick))
			break;
		sched_yield();
	}
}

/* GRT_DEBUG=schedtrace: the line, and when the next one is due. */
static int64_t schedtrace(int64_t now, int64_t when)
{
	struct grt__wbuf w;

	if (!when || now < when)
		return when;
	grt__w_init(&w, STDERR_FILENO);
	grt__schedtrace(&w, now);
	grt__w_flush(&w);
	when += S.schedtrace_ns;
	return when > now ? when : now + S.schedtrace_ns;
}

static void *monitor(void *arg)
{
	int64_t delay = GRT_SYSMON_MIN_NS, now, next, due = INT64_MAX;
	int64_t trace = S.schedtrace_ns ? S.start_ns + S.schedtrace_ns : 0;
	uint32_t idle = 0, duetick = 0;
	struct grt_p *duep = NULL;
	bool kicked = false, spin = false;
	int err;

	(void)arg;
	err = gwake_self(&S.mon_handle);
	if (err)
		grt__fatal("monitor: gwake_self: %s", strerror(-err));
	/*
	 * Its ticks are 20 us timed sleeps; the kernel may stretch any timed
	 * sleep by the thread's timer slack, 50 us by default, which made a
	 * tick 70 us and a P in a system call wait two of them (115 us).
	 * 1 ns: the tick is what we ask for. Only this thread's slack.
	 */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	/* Signals go to Ms, never here. */
	{
		sigset_t all;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	/* Release: grt__monitor_start() then sees S.mon_handle. */
	atomic_store(&mon_ready, 1);
	gwi_futex_wake(&mon_ready);
	while (!atomic_load(&S.stopping)) {
		if (atomic_load(&S.npidle) == S.nprocs) {
			/* Deep sleep: nothing runs. */
			atomic_store(&S.mon_sleeping, 1);
			next = 0;
			if (atomic_load(&S.npidle) == S.nprocs &&
			    !atomic_load(&S.stopping)) {
				/* An M sleeps for the timers (proc.c). */
				next = atomic_load_explicit(&S.timer_m,
							    memory_order_relaxed) ?
				       0 : grt__timers_earliest(false);
				if (trace && (!next || trace < next))
					next = trace;
				now = grt__nanotime();
				if (!next)
					(void)gwi_block_idle(-1);
				else if (next > now)
					(void)gwi_block_idle(next - now);
			}
			atomic_store(&S.mon_sleeping, 0);
			delay = GRT_SYSMON_MIN_NS;
			idle = 0;
		} else {
			int64_t d = delay;

			atomic_store_explicit(&S.mon_delay, delay,
					      memory_order_relaxed);
			/* A P in a timed system call falls due before a tick;
			 * so may the next trace line. */
			if (due != INT64_MAX || trace) {
				int64_t at = trace && trace < due ? trace : due;

				now = grt__nanotime();
				d = at > now ? at - now : 1;
				if (d > delay)
					d = delay;
			}
			if (spin && due != INT64_MAX &&
			    due - now <= GRT_SYSMON_WAITING_NS) {
				spin_until(due, duep, duetick);
				kicked = false;
			} else {
				kicked = gwi_block_idle(d) == 0;
			}
		}
		if (atomic_load(&S.stopping))
			break;
		/* Taken at each look: leave for this look only. */
		spin = atomic_exchange_explicit(&S.mon_spin, false,
						memory_order_relaxed);
		now = grt__nanotime();
		trace = schedtrace(now, trace);
		due = INT64_MAX;
		duep = NULL;
		if (retake(now, &due, &duep, &duetick))
			idle = 0;
		else
			idle++;
		/* A timer expired: get an M to run it. */
		next = grt__timers_earliest(false);
		if (next && next <= now)
			grt__timers_wake(now);
		if (idle == 0 || kicked)
			delay = GRT_SYSMON_MIN_NS;
		else if (idle > 50 && delay < GRT_SYSMON_MAX_NS)
			delay *= 2;
		if (delay > GRT_SYSMON_MAX_NS)
			delay = GRT_SYSMON_MAX_NS;
	}
	return NULL;
}

/*
 * The preemption signal. Runs on the signalled M's thread, on whatever
 * stack it was on. Never switches G: see the comment at the top.
 */
static void preempt_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct grt_m *m = grt__tls_m;
	struct grt_g *gp;
	uintptr_t sp, lo;
	int saved = errno;

	(void)sig;
	(void)si;
	if (!m || m->in_syscall || !m->p)
		goto out;
	gp = m->curg;
	if (!gp || gp->nopreempt ||
	    atomic_load_explicit(&gp->status, memory_order_relaxed) !=
		    GRT_GRUNNING)
		goto out;
	/* On the G's own stack, not on g0 between two switches. */
	sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	lo = (uintptr_t)gp->ctx.stack_lo;
	if (sp < lo || sp >= lo + gp->ctx.stack_size)
		goto out;
	grt__entersyscall(m, gp, 0);
out:
	errno = saved;
}

int grt__monitor_start(void)
{
	pthread_attr_t attr;
	int err;

	if (S.preempt_signal) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = preempt_handler;
		sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		if (sigaction(S.preempt_signal, &sa, &old_sa))
			return -errno;
		sa_installed = true;
	}
	atomic_store(&mon_ready, 0);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256u << 10);
	err = pthread_create(&S.mon_thread, &attr, monitor, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		if (sa_installed)
			sigaction(S.preempt_signal, &old_sa, NULL);
		sa_installed = false;
		return -err;
	}
	S.mon_started = true;
	/*
	 * Its handle must exist before anyone kicks it. Sleep for it rather
	 * than yield: a yield loop made hundreds of system calls per start
	 * on a busy machine, all of them charged to the first operations.
	 */
	while (!atomic_load(&mon_ready))
		gwi_futex_wait(&mon_ready, 0, NULL);
	/* The caller is M0. */
	S.m0->watched = grt__monitor_watch(true);
	return 0;
}

/*
 * With the module: ask it to wake the monitor whenever the calling M has
 * been blocked in the kernel for GRT_SYSMON_WAITING_NS (gwake_block_notify():
 * a system call, a page fault; not the M's own waits on its wake word).
 * The monitor then looks at once, where it would otherwise find the P of
 * a blocked M only at its next tick; for a P whose G entered the call
 * with Gs queued (a timed entry, retake()) that is when the P is due. The
 * userspace backend cannot see a thread block (-EOPNOTSUPP): the ticks
 * remain. Off (on == false) before the M outlives the runtime (M0).
 * Returns whether the calling M's blocks now wake the monitor.
 */
bool grt__monitor_watch(bool on)
{
	if (!S.mon_handle)
		return false;
	return !gwake_block_notify(on ? S.mon_handle : 0,
				   GRT_SYSMON_WAITING_NS) && on;
}

void grt__monitor_stop(void)
{
	if (S.mon_started) {
		/* The caller is M0, which outlives the runtime. */
		S.m0->watched = grt__monitor_watch(false);
		atomic_store(&S.stopping, 1);
		grt__monitor_kick();
		pthread_join(S.mon_thread, NULL);
		S.mon_started = false;
	}
	S.mon_handle = 0;
	if (sa_installed) {
		sigaction(S.preempt_signal, &old_sa, NULL);
		sa_installed = false;
	}
}
