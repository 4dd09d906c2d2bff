// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The G-M-P scheduler.
 *
 * G, M, P
 * -------
 * A G is a green thread: a function, its own mmap'ed stack and a saved
 * context. An M is an OS thread; it runs Gs by switching from its own
 * stack (g0, the thread's stack, where the scheduler runs) to theirs. A P
 * is the right to run Gs: there are nprocs of them, each with a local run
 * queue, and an M must hold a P to run a G (except for a G inside a system
 * call, or one detached from its P by the preemption signal, which keeps
 * its M but lets the P go). See docs/runtime.md for the whole picture and
 * for which primitive blocks what.
 *
 * Where runnable Gs live: runnext, the LIFO of unstarted Gs, the ring and
 * the global queue, in that order of preference (runq.c).
 *
 * Parking and unparking Ms (the design of Go's proc.go, with wake words)
 * -----------------------------------------------------------------------
 * We must keep enough Ms running to use the available Ps, but park the
 * rest so an idle runtime costs no CPU. Two things make that hard: the
 * scheduler state is distributed (per-P queues), so "is there work?"
 * cannot be answered atomically; and for good performance we must not
 * wake a thread when the work could be picked up by one already running
 * (a wake is a futex/ioctl round trip, microseconds here).
 *
 * Rejected approaches (Go's essay, still true here):
 *  1. Centralise all scheduler state: kills scalability.
 *  2. Direct G hand-off: when a G becomes runnable, hand it to an idle P
 *     and wake its M. Thrashes threads: the readier usually parks right
 *     after, and the woken M finds its G gone or competes for it; it also
 *     destroys locality (the G is best run where it was readied).
 *  3. Wake an M whenever a G is readied and there is an idle P, without
 *     the spinning protocol below: excessive thread parking/unparking.
 *
 * The protocol: an M is "spinning" when it is out of local work and
 * looking for work in the global queue and other Ps. At most half of the
 * busy Ps' worth of Ms spin (2*nmspinning < nprocs - npidle). Whoever
 * makes work available (grt__ready, grt_go, a P handed off) calls wakep():
 * if there is an idle P and no spinning M, it CASes nmspinning 0 -> 1 and
 * wakes exactly one parked M by its gwake handle, handing it an idle P.
 * A spinning M that finds work stops spinning and calls wakep() itself, so
 * a burst of work unparks Ms one by one, each making sure the next one is
 * looking. A spinning M that finds nothing must become non-spinning
 * *before* re-checking every queue (the decrement of nmspinning is a full
 * barrier): otherwise work submitted between its last check and the
 * decrement would see nmspinning > 0, wake nobody, and be stranded. This
 * is the spinning-to-idle re-check; it covers the per-P queues and the
 * global queue. Timers on idle Ps are the monitor's job (sysmon.c): it is
 * the only thread that sleeps with a deadline, and only when there is one.
 *
 * The enqueue side's matching barrier: the global queue's enqueue is an
 * xchg (full barrier) before the nmspinning load. A per-P queue's enqueue
 * is a plain release store, so a spinner may miss it -- harmlessly: the
 * enqueuing P is running and will run the G itself.
 *
 * A non-spinning M going idle re-checks the global queue too. Go's
 * enqueue takes sched.lock, so its check under that lock, just before
 * the P goes idle, cannot miss one; ours is lock-free. A readier without
 * a P (a thread-call server completing a call, a G back from a system
 * call) that enqueued after that check and read npidle before the P was
 * put idle woke nobody. An M is non-spinning only while another spins,
 * so the G was not lost, but that spinner may have found a G elsewhere
 * (its wakep() then saw no idle P either), and the G waited until that
 * G blocked or was preempted. The P going idle (npidle, a seq_cst RMW)
 * and then the queue, against the readier's enqueue (xchg) and then
 * npidle: one of the two sees the other (lib/rt/idlegq.pml).
 *
 * An M parks on its own wake word (gwake_block); the waker sets m->nextp
 * under sched.lock before gwake_wake(m->handle). Wake words keep a permit,
 * so a wake that arrives before the M blocks is not lost, and every wait
 * loop re-checks its condition, so a stale permit costs one extra loop.
 *
 * Locked Gs (LockOSThread, lockos.c)
 * ----------------------------------
 * A locked G never enters a run queue. When it parks, its M hands its P
 * off and blocks on its own wake word; grt__ready() of the G marks it
 * ready and wakes that M by handle. The M then takes an idle P or queues
 * itself on sched.lockedwait, where the next P that is released (or the
 * next M that passes through the scheduler while Ms are waiting) is
 * handed to it directly. No other M ever picks the G up (Go #18023).
 *
 * Locking: sched.lock protects the idle P and M lists, allm, allg,
 * lockedwait and the counters noted in sched.h; it is
 * never held across a context switch or a blocking wait, and is taken
 * only on g0 or with the G's nopreempt raised. Order: sched.lock before
 * gqlock before a P's timerlock. sched.gflock (the global dead-G list,
 * gfput/gfget) is a leaf.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "diag.h"
#include "runq.h"
#include "sched.h"

#define S grt__sched

/* 0 idle, 1 running: grt_run() is not reentrant. */
static _Atomic uint32_t grt_running;

#define GRT_GFREE_LOCAL_MAX	64u

static inline bool grt_stopping(void)
{
	return atomic_load_explicit(&S.stopping, memory_order_acquire);
}

/* ---- Locked Gs and idle Ms without a P ----------------------------------- */

void grt__lockm(struct grt_m *m, struct grt_g *gp, bool internal)
{
	gp->lockedm = m;
	gp->lockedint = internal;
	m->lockedg = gp;
}

void grt__unlockm(struct grt_m *m, struct grt_g *gp)
{
	gp->lockedm = NULL;
	gp->lockedint = false;
	m->lockedg = NULL;
}

void grt__m_idle_begin(void)
{
	atomic_fetch_add(&S.nmidlelocked, 1);
}

void grt__m_idle_end(void)
{
	atomic_fetch_sub(&S.nmidlelocked, 1);
}

/* ---- Ps ----------------------------------------------------------------- */

/*
 * sched.lock held. parking: the caller is an M that gives up its P in
 * findrunnable() and will park in stopm() next (or take a P back, waking
 * the monitor as any acquirep() does); it then sleeps for this P's timers
 * itself if the runtime is idle (see "An idle runtime's timers").
 */
static void pidleput_locked(struct grt_p *p, bool parking)
{
	struct grt_m *w;

	if (!grt__runqempty(p))
		grt__fatal("pidleput: P%d has runnable Gs", p->id);
	atomic_store_explicit(&p->status, GRT_PIDLE, memory_order_release);
	p->m = NULL;
	w = S.lockedwait;
	if (w && !grt_stopping()) {
		/* A locked M is waiting for a P: it gets this one. */
		S.lockedwait = w->waitlink;
		if (!S.lockedwait)
			S.lockedwait_tail = NULL;
		w->waiting_p = false;
		atomic_fetch_sub_explicit(&S.nlockedwait, 1,
					  memory_order_relaxed);
		atomic_store_explicit(&w->nextp, p, memory_order_release);
		gwake_wake(w->handle);
		return;
	}
	p->link = S.pidle;
	S.pidle = p;
	/* seq_cst RMW: see the monitor's deep sleep (sysmon.c). */
	atomic_fetch_add(&S.npidle, 1);
	if (!atomic_load_explicit(&p->timer0, memory_order_relaxed))
		return;
	/* Whoever sleeps until the earliest timer must look again. */
	w = atomic_load_explicit(&S.timer_m, memory_order_relaxed);
	if (w)
		gwake_wake(w->handle);
	else if (atomic_load(&S.mon_sleeping) &&
		 !(parking && atomic_load(&S.npidle) == S.nprocs))
		grt__monitor_kick();
}

/*
 * sched.lock held: take the idle P that *pp points to (a link of the idle
 * list) off the list. The seq_cst RMW on npidle is one side of the Dekker
 * with the monitor's deep sleep (sysmon.c).
 */
static struct grt_p *pidle_unlink_locked(struct grt_p **pp)
{
	struct grt_p *p = *pp;

	*pp = p->link;
	p->link = NULL;
	atomic_fetch_sub(&S.npidle, 1);
	return p;
}

/* sched.lock held. */
static struct grt_p *pidleget_locked(void)
{
	return S.pidle ? pidle_unlink_locked(&S.pidle) : NULL;
}

struct grt_p *grt__pidleget(void)
{
	struct grt_p *p;

	grt__lock();
	p = pidleget_locked();
	grt__unlock();
	return p;
}

static bool mon_lazy_extend(struct grt_m *m);

/* m takes p, off the idle list already; the monitor is the caller's. */
static void bindp(struct grt_m *m, struct grt_p *p)
{
	m->p = p;
	p->m = m;
	atomic_store_explicit(&p->status, GRT_PRUNNING, memory_order_release);
}

void grt__acquirep(struct grt_m *m, struct grt_p *p)
{
	bindp(m, p);
	/*
	 * A P left the idle set: the monitor must watch it (sysmon.c),
	 * unless Ps run unwatched already and this one has no timer: it may
	 * then run one G unwatched too (mon_lazy_extend), for the G that an
	 * unwatched P readied and woke us for would otherwise wait for the
	 * monitor's wake-up before it runs.
	 */
	m->lazy_left = 0;
	if (atomic_load(&S.mon_sleeping) &&
	    (atomic_load_explicit(&p->timer0, memory_order_relaxed) ||
	     !mon_lazy_extend(m)))
		grt__monitor_kick();
}

struct grt_p *grt__releasep(struct grt_m *m)
{
	struct grt_p *p = m->p;

	m->p = NULL;
	p->m = NULL;
	return p;
}

/* ---- Ms ----------------------------------------------------------------- */

/* sched.lock held. */
static void mput_locked(struct grt_m *m)
{
	m->idle = true;
	m->schedlink = S.midle;
	S.midle = m;
	S.nmidle++;
}

/* sched.lock held: unlink m from the idle M list (it is on it). */
static void mdel_locked(struct grt_m *m)
{
	struct grt_m **pp;

	for (pp = &S.midle; *pp != m; pp = &(*pp)->schedlink)
		;
	*pp = m->schedlink;
	m->schedlink = NULL;
	m->idle = false;
	S.nmidle--;
}

/* sched.lock held. */
static struct grt_m *mget_locked(void)
{
	struct grt_m *m = S.midle;

	if (m)
		mdel_locked(m);
	return m;
}

static void *mstart(void *arg);

struct grt_m *grt__newm(void *(*body)(struct grt_m *), void *arg, bool tcall,
			struct grt_p *p, bool spinning)
{
	pthread_attr_t attr;
	struct grt_m *m;
	int err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->start = body;
	m->start_arg = arg;
	m->is_tcall = tcall;
	m->spinning = spinning;
	atomic_store_explicit(&m->nextp, p, memory_order_relaxed);
	grt__lock();
	m->id = (int)S.mnext++;
	m->fastrand = 0x9e3779b9u * (uint32_t)(m->id + 1) | 1;
	/* Link first, then publish the head: the diagnostics walk allm
	 * without the lock (diag.h). */
	m->alllink = atomic_load_explicit(&S.allm, memory_order_relaxed);
	atomic_store_explicit(&S.allm, m, memory_order_release);
	S.mcount++;
	grt__unlock();

	pthread_attr_init(&attr);
#ifdef GRT_ASAN
	pthread_attr_setstacksize(&attr, 1u << 20);
#else
	pthread_attr_setstacksize(&attr, 256u << 10);
#endif
	err = pthread_create(&m->thread, &attr, mstart, m);
	pthread_attr_destroy(&attr);
	if (err) {
		/* The M stays on allm, marked dead; nothing waits for it. */
		grt__lock();
		m->dead = true;
		S.mcount--;
		grt__unlock();
		return NULL;
	}
	m->joinable = true;
	return m;
}

static void *sched_body(struct grt_m *m);

void grt__startm(struct grt_p *p, bool spinning)
{
	struct grt_m *nm;

	grt__lock();
	if (!p) {
		p = pidleget_locked();
		if (!p) {
			grt__unlock();
			if (spinning)
				atomic_fetch_sub(&S.nmspinning, 1);
			return;
		}
	}
	nm = mget_locked();
	if (!nm) {
		grt__unlock();
		/* A new thread starts with p and spinning already set. */
		if (!grt__newm(sched_body, NULL, false, p, spinning)) {
			fprintf(stderr, "grt: cannot start an M\n");
			grt__lock();
			pidleput_locked(p, false);
			grt__unlock();
			if (spinning)
				atomic_fetch_sub(&S.nmspinning, 1);
		}
		return;
	}
	nm->spinning = spinning;
	atomic_store_explicit(&nm->nextp, p, memory_order_release);
	grt__unlock();
	gwake_wake(nm->handle);
}

void grt__wakep(void)
{
	uint32_t zero = 0;

	if (!atomic_load(&S.npidle)) {
		/* Work that waits for a busy P: the monitor must watch it
		 * (a G back from a system call, say, with nprocs 1). */
		grt__mon_lazy_check();
		return;
	}
	if (atomic_load_explicit(&S.nmspinning, memory_order_relaxed) ||
	    !atomic_compare_exchange_strong(&S.nmspinning, &zero, 1))
		return;
	grt__startm(NULL, true);
}

/*
 * The monitor found expired timers (at now): hand each idle P that has
 * some to an M, not spinning, which runs them first thing (findrunnable)
 * and then the Gs they readied, on that P. One thread woken per P, where
 * wakep() woke a spinning M that stole the timers onto its own P and then
 * woke another M to keep one spinning (Go's chain), for nothing when a
 * lone G wakes from a sleep. A P that is running runs its own timers at
 * its next scheduling round; if such a P's are late, a spinning M helps
 * (wakep(), which then runs them in its last stealing round).
 */
void grt__timers_wake(int64_t now)
{
	bool busy_late = false;
	uint32_t i;

	for (i = 0; i < S.nprocs; i++) {
		struct grt_p *p = S.allp[i], **pp;
		int64_t w = atomic_load_explicit(&p->timer0,
						 memory_order_relaxed);

		if (!w || w > now)
			continue;
		grt__lock();
		for (pp = &S.pidle; *pp && *pp != p; pp = &(*pp)->link)
			;
		if (!*pp || grt_stopping()) {
			grt__unlock();
			/* A lent P's lender was asked for them: it runs them. */
			busy_late |= !grt__tcall_asked(p);
			continue;
		}
		pidle_unlink_locked(pp);
		grt__unlock();
		grt__startm(p, false);
	}
	if (busy_late)
		grt__wakep();
}

void grt__handoffp(struct grt_p *p)
{
	uint32_t zero = 0;

	if (!grt__runqempty(p) || !grt__gq_empty()) {
		grt__startm(p, false);
		return;
	}
	/* No local work: help only if nobody is spinning or idle. */
	if (!atomic_load(&S.nmspinning) && !atomic_load(&S.npidle) &&
	    atomic_compare_exchange_strong(&S.nmspinning, &zero, 1)) {
		grt__startm(p, true);
		return;
	}
	grt__lock();
	if (!grt__gq_empty() && !grt_stopping()) {
		grt__unlock();
		grt__startm(p, false);
		return;
	}
	pidleput_locked(p, false);
	grt__unlock();
}

/*
 * An idle runtime's timers
 * ------------------------
 * While some P runs, the monitor ticks and wakes an M for each idle P
 * whose timer expires (grt__timers_wake). When every P is idle, the last
 * M to park (stopm with npidle == nprocs) becomes sched.timer_m and sleeps
 * until the earliest timer itself; the monitor then sleeps with no
 * deadline. At the deadline timer_m takes the idle P whose timer expired
 * (timer_take) and runs it without waking the monitor: one thread wakes
 * per timer, where it took two (the monitor, then the M it woke), and on
 * this VM each wake of a thread from a long sleep costs about 100 us of
 * CPU (idle-burn).
 *
 * The P then runs unwatched (sched.mon_lazy, a flag; each M's allowance
 * of unwatched G switch-ins, one, in m->lazy_left): no preemption, no
 * hand-off of a P stuck in a system call. That is safe only while it runs
 * the one G its timer readied and nothing else wants a P, so the first
 * sign of anything more kicks the monitor (grt__mon_lazy_end): a second G
 * switched in (execute, grt_yield), a G readied or spawned that finds no
 * idle P (wakep), a system call (grt__entersyscall), more than one G from
 * the timers, a timer armed (timer channels, context deadlines; not a
 * sleep, whose G parks). An M that takes an idle P meanwhile (for a G
 * readied on the unwatched P: wakep) runs it unwatched too, for one G more
 * (acquirep, mon_lazy_extend), unless the P has timers; otherwise, as
 * ever, taking an idle P wakes the monitor. The monitor is only left
 * asleep if it was asleep when the P left the idle set (the Dekker pair
 * of sysmon.c: npidle's seq_cst decrement, then the load of mon_sleeping)
 * and no timer is pending but the one that woke us (another P's would be
 * nobody's; one of this P's would wait for a hog to schedule).
 *
 * Who wakes a sleeping timer_m early: a P with timers entering the idle
 * set (pidleput) and the M that hands it a P (startm); it then looks
 * again. A timer_m that finds no idle P with an expired timer (stopped
 * from outside, or run by another M) keeps the role while every P is
 * idle and gives it up otherwise (timer_take); one handed a P gives it
 * up too. Races between timer_m and the monitor (both awake
 * at a deadline) are settled under sched.lock: the P leaves the idle
 * list once.
 */

/* sched.lock held. */
static void timer_m_clear_locked(struct grt_m *m)
{
	if (atomic_load_explicit(&S.timer_m, memory_order_relaxed) == m)
		atomic_store_explicit(&S.timer_m, NULL, memory_order_relaxed);
}

/*
 * timer_m at its deadline (now): take an idle P whose timer expired, and
 * itself off the idle M list. NULL if there is none (see above) or if m
 * was handed a P meanwhile (m->nextp: the caller's loop takes it).
 */
static struct grt_p *timer_take(struct grt_m *m, int64_t now)
{
	struct grt_p *p = NULL, **pp;

	grt__lock();
	if (!m->idle || grt_stopping()) {
		grt__unlock();
		return NULL;
	}
	for (pp = &S.pidle; *pp; pp = &(*pp)->link) {
		int64_t w = atomic_load_explicit(&(*pp)->timer0,
						 memory_order_relaxed);

		if (w && w <= now) {
			p = pidle_unlink_locked(pp);
			mdel_locked(m);
			break;
		}
	}
	/*
	 * Found none: the timer was stopped from outside, or another M ran
	 * it. With every P idle, nobody else may be sleeping for the rest
	 * (the monitor sleeps without a deadline while there is a timer_m):
	 * keep the role and look again. With a P running, the monitor is
	 * the one to watch timers: give the role up, and make sure it is
	 * awake.
	 */
	if (p || atomic_load(&S.npidle) != S.nprocs) {
		timer_m_clear_locked(m);
		if (!p && atomic_load(&S.mon_sleeping))
			grt__monitor_kick();
	}
	grt__unlock();
	return p;
}

/* timer_m took p (timer_take): run it, the monitor left asleep if it may. */
static void acquirep_timer(struct grt_m *m, struct grt_p *p)
{
	bool others = false;
	uint32_t i;

	bindp(m, p);
	/* Any timer but the one we woke for needs the monitor: its own P's
	 * are run only when this M schedules, which a hog may never do. */
	for (i = 0; i < S.nprocs; i++)
		if (S.allp[i] != p &&
		    atomic_load_explicit(&S.allp[i]->timer0,
					 memory_order_relaxed))
			others = true;
	pthread_mutex_lock(&p->timerlock);
	if (p->ntimers > 1)
		others = true;
	pthread_mutex_unlock(&p->timerlock);
	/*
	 * A locked M queued for a P. (An M in a system call is no reason: it
	 * kicks the monitor through wakep() if it comes back to no idle P,
	 * and a thread-call server is counted there for its whole life.)
	 */
	if (atomic_load(&S.nlockedwait))
		others = true;
	if (!atomic_load(&S.mon_sleeping))
		return;		/* awake: it will see this P */
	if (others) {
		grt__monitor_kick();
	} else {
		m->lazy_left = 1;	/* the G the timer readied */
		atomic_store(&S.mon_lazy, 1);
	}
}

/*
 * m took an idle P while Ps run unwatched: it may switch in one G
 * unwatched too. Its own allowance, not a shared count: an M that never
 * uses it (a spinner that finds nothing) must not leave it to another.
 * Racing with grt__mon_lazy_end() is harmless: that kicks the monitor,
 * and m then finds mon_lazy 0 at its first switch.
 */
static bool mon_lazy_extend(struct grt_m *m)
{
	if (!atomic_load(&S.mon_lazy))
		return false;
	m->lazy_left = 1;
	return true;
}

void grt__mon_lazy_end(void)
{
	if (atomic_exchange(&S.mon_lazy, 0))
		grt__monitor_kick();
}

/* m switches a G in while Ps run unwatched: past its allowance, end it. */
static inline void mon_lazy_step(struct grt_m *m)
{
	if (m->lazy_left)
		m->lazy_left--;
	else
		grt__mon_lazy_end();
}

/* Timers due sooner than this are waited for with a slack of 1 ns. */
#define TIMER_EXACT_NS	10000000

/*
 * Sleep on the M's wake word until whoever hands it a P (m->nextp, then a
 * wake by handle) has done so, and take that P. The exchange is the
 * acquire pairing with the giver's release store. As timer_m, also wake at
 * the earliest timer and take its P (above). Returns false when the
 * runtime stops first.
 */
static bool wait_nextp(struct grt_m *m)
{
	long slack = -1;
	struct grt_p *p;
	int64_t when, now;
	bool ok = true;

	for (;;) {
		p = atomic_exchange_explicit(&m->nextp, NULL,
					     memory_order_acquire);
		if (p)
			break;
		if (grt_stopping()) {
			ok = false;
			goto out;
		}
		if (atomic_load_explicit(&S.timer_m, memory_order_relaxed) ==
		    m && (when = grt__timers_earliest(true))) {
			now = grt__nanotime();
			if (when > now) {
				/*
				 * Wake when the timer is due, not up to the
				 * default slack (50 us) later; the thread's
				 * own slack is back before it runs a G (it is
				 * inherited by threads and processes a G
				 * makes). Not for a timer 10 ms or more
				 * away: the thread's own slack applies,
				 * by default 50 us, at most 0.5% of such a
				 * sleep, and the two prctl calls around it
				 * are a third of an idle runtime's system
				 * calls (idle-burn).
				 */
				if (slack < 0 && when - now < TIMER_EXACT_NS) {
					slack = prctl(PR_GET_TIMERSLACK, 0UL,
						      0UL, 0UL, 0UL);
					(void)prctl(PR_SET_TIMERSLACK, 1UL,
						    0UL, 0UL, 0UL);
				}
				gwi_block_idle(when - now);
				continue;
			}
			p = timer_take(m, now);
			if (p) {
				acquirep_timer(m, p);
				goto out;
			}
			continue;
		}
		/*
		 * With a P running, work may come back within a spin (a
		 * ping-pong's next hand-off: wakep() right away). With
		 * every P idle, only a timer or a thread outside the Ps can
		 * make work, and a spin would only burn CPU (idle-burn).
		 */
		if (atomic_load_explicit(&S.npidle, memory_order_relaxed) ==
		    S.nprocs)
			gwi_block_idle(-1);
		else
			gwake_block(-1);
	}
	if (atomic_load_explicit(&S.timer_m, memory_order_relaxed) == m) {
		grt__lock();
		timer_m_clear_locked(m);
		grt__unlock();
	}
	grt__acquirep(m, p);
out:
	if (slack > 0)
		(void)prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0UL, 0UL,
			    0UL);
	return ok;
}

/*
 * Park the M until someone hands it a P (startm) or the runtime stops.
 * The last M to park in an idle runtime sleeps for its timers (above).
 * Returns false when stopping.
 */
static bool stopm(struct grt_m *m)
{
	if (m->spinning)
		grt__fatal("stopm: M%d is spinning", m->id);
	grt__lock();
	mput_locked(m);
	if (atomic_load(&S.npidle) == S.nprocs) {
		/* Nothing runs: no unwatched P either. */
		atomic_store_explicit(&S.mon_lazy, 0, memory_order_relaxed);
		m->lazy_left = 0;
		if (!atomic_load_explicit(&S.timer_m, memory_order_relaxed))
			atomic_store_explicit(&S.timer_m, m,
					      memory_order_relaxed);
	}
	grt__checkdead();
	grt__unlock();
	return wait_nextp(m);
}

/*
 * A locked M needs a P to run its G: take an idle one or queue for the
 * next one released. Returns false when stopping.
 */
static bool wait_for_p_(struct grt_m *m)
{
	struct grt_p *p;

	grt__lock();
	p = pidleget_locked();
	if (p) {
		grt__unlock();
		grt__acquirep(m, p);
		return true;
	}
	m->waiting_p = true;
	m->waitlink = NULL;
	if (S.lockedwait_tail)
		S.lockedwait_tail->waitlink = m;
	else
		S.lockedwait = m;
	S.lockedwait_tail = m;
	atomic_fetch_add(&S.nlockedwait, 1);
	grt__unlock();
	/* The P it waits for may be an unwatched one (a hog's). */
	grt__mon_lazy_check();
	return wait_nextp(m);
}

/*
 * An unlocked M passing through the scheduler while locked Ms wait for a
 * P gives them its own. Returns true if it did (and now has no P).
 */
static bool give_p_to_locked(struct grt_m *m)
{
	struct grt_m *w;
	struct grt_p *p;

	grt__lock();
	w = S.lockedwait;
	if (!w || grt_stopping()) {
		grt__unlock();
		return false;
	}
	S.lockedwait = w->waitlink;
	if (!S.lockedwait)
		S.lockedwait_tail = NULL;
	w->waiting_p = false;
	atomic_fetch_sub(&S.nlockedwait, 1);
	p = grt__releasep(m);
	atomic_store_explicit(&w->nextp, p, memory_order_release);
	grt__unlock();
	gwake_wake(w->handle);
	return true;
}

/* ---- Gs ------------------------------------------------------------------ */

/* Ids are unique and never 0; a P's own are increasing, not the whole. */
#define GRT_GOID_BATCH	256

static uint64_t newgoid(struct grt_p *p)
{
	if (!p)
		return atomic_fetch_add_explicit(&S.goidgen, 1,
						 memory_order_relaxed) + 1;
	if (gwi_unlikely(p->goidcache == p->goidcacheend)) {
		p->goidcache = atomic_fetch_add_explicit(&S.goidgen,
							 GRT_GOID_BATCH,
							 memory_order_relaxed) + 1;
		p->goidcacheend = p->goidcache + GRT_GOID_BATCH;
	}
	return p->goidcache++;
}

/*
 * Build the initial frame (ctx_x86_64.S) so that the first switch to gp
 * "returns" into grt__ctx_entry, which calls entry(gp, xfer). The new G
 * inherits the spawner's MXCSR and x87 control word, as a new thread
 * inherits its creator's floating-point environment.
 */
static uint64_t fpctl_now(void)
{
	uint32_t mxcsr;
	uint16_t fpucw;

	__asm__ __volatile__("stmxcsr %0" : "=m"(mxcsr));
	__asm__ __volatile__("fnstcw %0" : "=m"(fpucw));
	return (uint64_t)mxcsr | ((uint64_t)fpucw << 32);
}

static void gctx_init(struct grt_g *gp)
{
	uintptr_t top = (uintptr_t)gp->ctx.stack_lo + gp->ctx.stack_size;
	void (*entry)(struct grt_g *, void *) = gp->entry;
	uint64_t *sp;

	top &= ~(uintptr_t)15;
	sp = (uint64_t *)top - 8;
	sp[0] = gp->fpctl;
	sp[1] = 0;				/* r15 */
	sp[2] = 0;				/* r14 */
	sp[3] = (uint64_t)(uintptr_t)entry;	/* r13 */
	sp[4] = (uint64_t)(uintptr_t)gp;	/* r12 */
	sp[5] = 0;				/* rbx */
	sp[6] = 0;				/* rbp */
	sp[7] = (uint64_t)(uintptr_t)grt__ctx_entry;
	gp->ctx.sp = sp;
}

/*
 * Dead Gs, per P then global, as Go's gfput/gfget: a P keeps up to
 * GRT_GFREE_LOCAL_MAX on its own list (owner only, no lock) with their
 * stacks, moves half of them to the global list when it has that many and
 * takes half that many back when it has none, a batch per round of
 * sched.gflock. Gs spawned on one P and retired on another (a spawner
 * whose Gs are stolen) flow back that way. Global dead Gs keep no stack:
 * it goes to the P's stack cache (stack.c), and a G taken from the global
 * list gets one only when it first runs, so that a spawner refilled from
 * there does not hold stacks for Gs that have not run. Moved one G per
 * round of the scheduler's lock, with a global stack cache, a spawner on
 * two Ps took that lock three times per G against its thief.
 */
static void gfput_global(struct grt_g *list)
{
	struct grt_g *gp, *next;

	pthread_mutex_lock(&S.gflock);
	for (gp = list; gp; gp = next) {
		next = gp->schedlink;
		gp->schedlink = S.gfree;
		__atomic_store_n(&S.gfree, gp, __ATOMIC_RELAXED);
		S.ngfree++;
	}
	pthread_mutex_unlock(&S.gflock);
}

/* sched.gflock held, S.gfree not empty. */
static struct grt_g *gfget_global(void)
{
	struct grt_g *gp = S.gfree;

	__atomic_store_n(&S.gfree, gp->schedlink, __ATOMIC_RELAXED);
	S.ngfree--;
	return gp;
}

static void gfput(struct grt_p *p, struct grt_g *gp)
{
	struct grt_g *batch = NULL;

	if (!p) {
		grt__stack_put(NULL, gp);
		gp->schedlink = NULL;
		gfput_global(gp);
		return;
	}
	gp->schedlink = p->gfree;
	p->gfree = gp;
	if (++p->ngfree < GRT_GFREE_LOCAL_MAX)
		return;
	while (p->ngfree > GRT_GFREE_LOCAL_MAX / 2) {
		gp = p->gfree;
		p->gfree = gp->schedlink;
		p->ngfree--;
		grt__stack_put(p, gp);
		gp->schedlink = batch;
		batch = gp;
	}
	gfput_global(batch);
}

static struct grt_g *gfget(struct grt_p *p)
{
	struct grt_g *gp = NULL;

	if (p && !p->gfree && GRT_PEEK(S.gfree)) {
		pthread_mutex_lock(&S.gflock);
		while (p->ngfree < GRT_GFREE_LOCAL_MAX / 2 && S.gfree) {
			gp = gfget_global();
			gp->schedlink = p->gfree;
			p->gfree = gp;
			p->ngfree++;
		}
		pthread_mutex_unlock(&S.gflock);
	}
	if (p) {
		gp = p->gfree;
		if (gp) {
			p->gfree = gp->schedlink;
			p->ngfree--;
		}
		return gp;
	}
	if (GRT_PEEK(S.gfree)) {
		pthread_mutex_lock(&S.gflock);
		if (S.gfree)
			gp = gfget_global();
		pthread_mutex_unlock(&S.gflock);
	}
	return gp;
}

/*
 * A G ready to be started with entry(gp, xfer) running fn(arg): from the
 * current P's free list or new. NULL with errno-style code in *err.
 */
static struct grt_g *galloc_(struct grt_p *p, void (*fn)(void *), void *arg,
			     void (*entry)(struct grt_g *, void *), bool eager,
			     int *err)
{
	struct grt_g *gp = gfget(p);
	struct grt_m *m;

	if (!gp) {
		gp = calloc(1, sizeof(*gp));
		if (!gp) {
			*err = -ENOMEM;
			return NULL;
		}
		grt__lock();
		/* Link, then publish (diag.h): allg is walked without
		 * the lock by the diagnostics. */
		gp->alllink = atomic_load_explicit(&S.allg,
						   memory_order_relaxed);
		atomic_store_explicit(&S.allg, gp, memory_order_release);
		S.ngs++;
		grt__unlock();
	}
	gp->fn = fn;
	gp->entry = entry;
	gp->fpctl = fpctl_now();
	gp->ctx.sp = NULL;
	gp->arg = arg;
	gp->m = NULL;
	gp->lockedm = NULL;
	gp->lockcount = 0;
	gp->lockedint = false;
	gp->waitreason = NULL;
	gp->coro = NULL;
	gp->started = false;
	gp->nopreempt = 1;	/* see grt__gentry */
	atomic_store_explicit(&gp->preempt, 0, memory_order_relaxed);
	gp->id = newgoid(p);
	m = grt__curm();
	if (m)
		grt__stat_inc(&m->nspawn);
	else
		atomic_fetch_add_explicit(&S.nspawn_nom, 1,
					  memory_order_relaxed);
	/* A recycled G brings its stack: set the context up now. Others get
	 * a stack when they first run (execute), unless needed now. */
	if (gp->stack_map) {
		grt__stack_reuse(gp);
		gctx_init(gp);
	} else if (eager) {
		*err = grt__stack_alloc(gp);
		if (*err) {
			gfput(p, gp);
			return NULL;
		}
		gctx_init(gp);
	}
	return gp;
}

struct grt_g *grt__galloc(void (*fn)(void *), void *arg,
			  void (*entry)(struct grt_g *, void *))
{
	struct grt_m *m = grt__curm();
	int err;

	return galloc_(m ? m->p : NULL, fn, arg, entry, true, &err);
}

/* Free a G that will never run again (not running anywhere). */
void grt__gfree_now(struct grt_g *gp)
{
	struct grt_m *m = grt__curm();

	atomic_store_explicit(&gp->status, GRT_GDEAD, memory_order_relaxed);
	gp->lockedm = NULL;
	gfput(m ? m->p : NULL, gp);
}

/* ---- Context switches ---------------------------------------------------- */

/* On g0: run gp until it switches back. Returns the G that switched back
 * (not gp if gp made a coroutine switch). */
static struct grt_g *execute(struct grt_m *m, struct grt_g *gp, bool inherit)
{
	struct grt_g *back;
	void *fake = NULL;

	if (gwi_unlikely(!gp->ctx.sp)) {
		grt__stack_get(m->p, gp);
		gctx_init(gp);
	}
	m->curg = gp;
	gp->m = m;
	gp->started = true;
	if (gwi_unlikely(__atomic_load_n(&gp->ready_busy, __ATOMIC_RELAXED)))
		__atomic_store_n(&gp->ready_busy, false, __ATOMIC_RELAXED);
	atomic_store_explicit(&gp->preempt, 0, memory_order_relaxed);
	atomic_store_explicit(&gp->status, GRT_GRUNNING, memory_order_relaxed);
	if (!inherit && m->p)
		atomic_store_explicit(&m->p->schedtick,
				      atomic_load_explicit(&m->p->schedtick,
							   memory_order_relaxed) + 1,
				      memory_order_relaxed);
	grt__stat_inc(&m->nsched);
	if (gwi_unlikely(atomic_load_explicit(&S.mon_lazy,
					      memory_order_relaxed)))
		mon_lazy_step(m);
#ifdef GRT_ASAN
	{
		/*
		 * What grt__ctx_swap_g0() relies on, checked wherever the
		 * sanitizers run: g0 runs with the modes it started with
		 * (MXCSR's exception flags, bits 0-5, aside: they are
		 * status, not modes).
		 */
		uint64_t now = fpctl_now();

		if (gwi_unlikely((now ^ m->g0fp) & ~(uint64_t)0x3f))
			grt__fatal("M%d: g0 runs with FP modes %#llx, not %#llx",
				   m->id, (unsigned long long)now,
				   (unsigned long long)m->g0fp);
	}
#endif
	grt__switch_fiber_start(&fake, &gp->ctx);
	back = grt__ctx_swap_g0(&m->g0, &gp->ctx, NULL, m->g0fp);
	grt__switch_fiber_finish(fake);
	return back;
}

/* From a G (nopreempt raised): switch to g0, which performs act. */
void grt__mcall(struct grt_m *m, struct grt_g *gp, enum grt__gaction act)
{
	struct grt__xfer *x;
	void *fake = NULL;

	m->action = act;
	if (act == GRT_ACT_EXIT) {
		/* Dying: ASan frees this stack's fake frames. */
		grt__switch_fiber_start(NULL, &m->g0);
		grt__ctx_swap(&gp->ctx, &m->g0, gp);
		__builtin_unreachable();
	}
	grt__switch_fiber_start(&fake, &m->g0);
	x = grt__ctx_swap(&gp->ctx, &m->g0, gp);
	grt__switch_fiber_finish(fake);
	grt__resumed(x);
}

/*
 * Resumed by a direct switch: finish the switcher's yield. We run on the
 * switcher's M and P, with our nopreempt raised.
 */
void grt__resumed(struct grt__xfer *x)
{
	if (gwi_likely(!x))
		return;
	if (x->kind == GRT_X_YIELD)
		grt__runqput_tail(grt__curm()->p, x->from);
}

/* ---- Park, ready, yield, spawn, exit ------------------------------------- */

struct grt_g *grt__curg(void)
{
	struct grt_m *m = grt__curm();

	return m ? m->curg : NULL;
}

void grt__park(bool (*commit)(struct grt_g *gp, void *arg), void *arg,
	       const char *reason)
{
	struct grt_m *m = grt__acquirem();
	struct grt_g *gp = m ? m->curg : NULL;

	if (!gp)
		grt__fatal("grt__park called outside a G");
	gp->waitreason = reason;
	m->commit = commit;
	m->commit_arg = arg;
	grt__mcall(m, gp, GRT_ACT_PARK);
	grt__releasem(grt__curm());
}

static void ready_(struct grt_g *gp, bool next);

void grt__ready(struct grt_g *gp)
{
	ready_(gp, true);
}

/* Timers: a batch of expired timers keeps deadline order (FIFO). */
void grt__ready_fifo(struct grt_g *gp)
{
	ready_(gp, false);
}

static void ready_(struct grt_g *gp, bool next)
{
	uint32_t st = GRT_GWAITING;
	struct grt_m *m, *lm;
	struct grt_g *cur;

	if (!atomic_compare_exchange_strong_explicit(
			&gp->status, &st, GRT_GRUNNABLE,
			memory_order_acq_rel, memory_order_relaxed))
		grt__fatal("grt__ready: G%llu is not waiting (status %u)",
			   (unsigned long long)gp->id, st);
	lm = gp->lockedm;
	if (lm) {
		/*
		 * Straight to its own M: never through a run queue. The M
		 * counts as running again from now on (post_switch counted
		 * it idle), so that our own M going idle next cannot look
		 * like a deadlock.
		 */
		atomic_fetch_sub(&S.nmidlelocked, 1);
		atomic_store_explicit(&lm->lockedg_ready, 1,
				      memory_order_release);
		gwake_wake(lm->handle);
		/* It will want a P, maybe the unwatched one. */
		grt__mon_lazy_check();
		return;
	}
	m = grt__curm();
	cur = m ? m->curg : NULL;
	if (cur)
		cur->nopreempt++;	/* m->p must not change under us */
	__asm__ __volatile__("" ::: "memory");
	if (m && m->p) {
		grt__runqput(m->p, gp, next);
	} else {
		grt__globrunqput(gp);
		/*
		 * From an M without a P (a thread-call server completing a
		 * call): an M that waits for a thread call of its own with
		 * its P idle runs the G there, without a thread woken. An M
		 * asked always answers (tcall.c), so nothing else is needed.
		 */
		if (grt__tcall_yield_p())
			goto out;
	}
	/* wakep() kicks the monitor if it finds no idle P for the G; an
	 * idle P it hands out stays unwatched only for this G (acquirep). */
	if (!m || !m->timers_local)
		grt__wakep();
out:
	if (cur)
		grt__releasem(m);
}

/*
 * Yield by switching straight to the next local G, without the g0 round
 * trip (one context switch instead of two); the G we switch to puts us
 * at the tail of the run queue once we are off our stack (grt__resumed).
 * Everything unusual -- a locked G, locked Ms waiting for a P, timers,
 * the global queue's turn, the runtime stopping -- takes the general
 * path through g0 and findrunnable().
 */
void grt_yield(void)
{
	struct grt_m *m = grt__acquirem();
	struct grt_g *gp = m ? m->curg : NULL, *next;
	struct grt__xfer xfer, *x;
	struct grt_p *p;
	void *fake = NULL;
	bool inherit;

	if (!gp)
		return;
	p = m->p;
	if (gwi_unlikely(gp->lockedm ||
			 atomic_load_explicit(&S.nlockedwait,
					      memory_order_relaxed) ||
			 atomic_load_explicit(&S.mon_lazy,
					      memory_order_relaxed) ||
			 atomic_load_explicit(&p->timer0,
					      memory_order_relaxed) ||
			 grt_stopping()))
		goto slow;
	if (atomic_load_explicit(&p->schedtick, memory_order_relaxed) % 61 == 0)
		goto slow;
	next = grt__runqget(p, &inherit);
	if (!next) {
		/* Nothing else here: Go would still switch; we do not. */
		if (!grt__gq_empty())
			goto slow;
		grt__releasem(m);
		return;
	}
	if (gwi_unlikely(!next->ctx.sp)) {
		grt__stack_get(p, next);
		gctx_init(next);
	}
	atomic_store_explicit(&p->schedtick,
			      atomic_load_explicit(&p->schedtick,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&gp->status, GRT_GRUNNABLE, memory_order_relaxed);
	gp->m = NULL;
	m->curg = next;
	next->m = m;
	next->started = true;
	atomic_store_explicit(&next->preempt, 0, memory_order_relaxed);
	atomic_store_explicit(&next->status, GRT_GRUNNING, memory_order_relaxed);
	xfer.kind = GRT_X_YIELD;
	xfer.from = gp;
	grt__stat_inc(&m->nsched);
	grt__switch_fiber_start(&fake, &next->ctx);
	x = grt__ctx_swap(&gp->ctx, &next->ctx, &xfer);
	grt__switch_fiber_finish(fake);
	grt__resumed(x);
	grt__releasem(grt__curm());
	return;
slow:
	grt__mcall(m, gp, GRT_ACT_YIELD);
	grt__releasem(grt__curm());
}

void grt__preempt_self(void)
{
	struct grt_m *m = grt__acquirem();
	struct grt_g *gp = m->curg;

	atomic_store_explicit(&gp->preempt, 0, memory_order_relaxed);
	grt__mcall(m, gp, GRT_ACT_PREEMPT);
	m = grt__curm();
	m->curg->nopreempt--;
}

void grt_preempt_check(void)
{
	struct grt_m *m = grt__curm();

	if (m && m->curg && (atomic_load_explicit(&m->curg->preempt,
						  memory_order_relaxed) ||
			     m->in_syscall)) {
		m = grt__acquirem();
		grt__releasem(m);
	}
}

static void gexit_(void);

void grt__gentry(struct grt_g *gp, void *xfer)
{
	grt__switch_fiber_finish(NULL);
	/* New Gs start with nopreempt 1, until the switcher's request is
	 * done (it needs our P). */
	grt__resumed(xfer);
	gp->nopreempt--;
	gp->fn(gp->arg);
	gexit_();
}

/*
 * Not declared noreturn on purpose: a call to a noreturn function makes
 * ASan unpoison the whole thread stack (and query sigaltstack, a system
 * call) first, on every G exit. The G's stack is recycled with its shadow
 * cleared anyway (stack.c).
 */
static void gexit_(void)
{
	struct grt_m *m = grt__curm();
	struct grt_g *gp = m ? m->curg : NULL;

	if (!gp)
		grt__fatal("grt_exit called outside a G");
	gp->nopreempt++;
	grt__mcall(m, gp, GRT_ACT_EXIT);
}

void grt__gexit(void)
{
	gexit_();
	__builtin_unreachable();
}

void grt_exit(void)
{
	gexit_();
	__builtin_unreachable();
}

int grt_go(void (*fn)(void *), void *arg)
{
	struct grt_m *m;
	struct grt_g *gp;
	int err = 0;

	if (!fn)
		return -EINVAL;
	m = grt__acquirem();
	if (!m || !m->curg)
		return -EPERM;
	gp = galloc_(m->p, fn, arg, grt__gentry, false, &err);
	if (!gp) {
		grt__releasem(m);
		return err;
	}
	atomic_store_explicit(&gp->status, GRT_GRUNNABLE, memory_order_relaxed);
	grt__runqput(m->p, gp, true);
	grt__wakep();
	grt__releasem(m);
	return 0;
}

uint64_t grt_id(void)
{
	struct grt_g *gp = grt__curg();

	return gp ? gp->id : 0;
}

unsigned int grt_nprocs(void)
{
	return atomic_load(&grt_running) ? S.nprocs : 0;
}

/* ---- The scheduler loop --------------------------------------------------- */

static void stop_world_locked(void);
static void resetspinning(struct grt_m *m);

/* Work stealing: four rounds over all Ps in random order. */
static struct grt_g *stealwork(struct grt_m *m, struct grt_p *p)
{
	int64_t now = 0;
	uint32_t i, k, start;
	bool inherit;

	for (i = 0; i < 4; i++) {
		bool last = i == 3;

		start = grt__fastrand(m) % S.nprocs;
		for (k = 0; k < S.nprocs; k++) {
			struct grt_p *p2 = S.allp[(start + k) % S.nprocs];
			struct grt_g *gp;
			int64_t w;

			if (p2 == p)
				continue;
			w = atomic_load_explicit(&p2->timer0,
						 memory_order_relaxed);
			if (last && w) {
				if (!now)
					now = grt__nanotime();
				if (w <= now && grt__timers_run(p2, now)) {
					gp = grt__runqget(p, &inherit);
					if (gp)
						return gp;
				}
			}
			if (atomic_load_explicit(&p2->status,
						 memory_order_relaxed) ==
			    GRT_PIDLE)
				continue;
			gp = grt__runqsteal(p, p2, last);
			if (gp) {
				grt__stat_inc(&m->nsteal);
				return gp;
			}
		}
	}
	return NULL;
}

/*
 * Find a runnable G for m (which holds a P), parking m when there is none.
 * Returns NULL when the runtime stops.
 */
static struct grt_g *findrunnable(struct grt_m *m, bool *inherit)
{
	struct grt_p *p;
	struct grt_g *gp;
	bool ran, spinning;

top:
	if (grt_stopping())
		return NULL;
	p = m->p;
	*inherit = false;
	ran = false;
	if (gwi_unlikely(atomic_load_explicit(&S.nlockedwait,
					      memory_order_relaxed)) &&
	    give_p_to_locked(m)) {
		/* No P, no spinning: let someone else look (see resetspinning). */
		if (m->spinning)
			resetspinning(m);
		if (!stopm(m))
			return NULL;
		goto top;
	}
	if (atomic_load_explicit(&p->timer0, memory_order_relaxed)) {
		m->timers_local = true;
		ran = grt__timers_run(p, grt__nanotime());
		m->timers_local = false;
	}
	/* Fairness: two Gs respawning each other must not starve the
	 * global queue. */
	if (atomic_load_explicit(&p->schedtick, memory_order_relaxed) % 61 == 0 &&
	    !grt__gq_empty()) {
		gp = grt__globrunqget(p, 1);
		if (gp) {
			/* The timers' Gs wait on our P: help them. */
			if (ran)
				grt__wakep();
			return gp;
		}
	}
	gp = grt__runqget(p, inherit);
	if (gp) {
		/* The timers readied more than the G we run: wake help. */
		if (ran && !grt__runqempty(p)) {
			grt__wakep();
			grt__mon_lazy_check();
		}
		return gp;
	}
	gp = grt__globrunqget(p, 0);
	if (gp)
		return gp;

	if (m->spinning ||
	    2 * atomic_load(&S.nmspinning) <
		    S.nprocs - atomic_load(&S.npidle)) {
		if (!m->spinning) {
			m->spinning = true;
			atomic_fetch_add(&S.nmspinning, 1);
		}
		gp = stealwork(m, p);
		if (gp)
			return gp;
	}

	/* Nothing: give up the P. */
	grt__lock();
	if (grt_stopping()) {
		grt__unlock();
		return NULL;
	}
	if (!grt__gq_empty()) {
		gp = grt__globrunqget(p, 0);
		grt__unlock();
		if (gp)
			return gp;
		goto top;
	}
	p = grt__releasep(m);
	pidleput_locked(p, true);
	grt__unlock();

	/*
	 * Look again, now that the P is idle (see the essay at the top). A
	 * spinner drops nmspinning first (full barrier) and looks at every
	 * source of work; any M looks at the global queue, whose enqueue
	 * takes no lock. Work found: take a P back, spinning as before.
	 */
	spinning = m->spinning;
	if (spinning) {
		m->spinning = false;
		atomic_fetch_sub(&S.nmspinning, 1);
	}
	if ((spinning && grt__runq_any()) || !grt__gq_empty()) {
		p = grt__pidleget();
		if (p) {
			grt__acquirep(m, p);
			if (spinning) {
				m->spinning = true;
				atomic_fetch_add(&S.nmspinning, 1);
			}
			goto top;
		}
	}
	if (!stopm(m))
		return NULL;
	goto top;
}

static void resetspinning(struct grt_m *m)
{
	m->spinning = false;
	/* The last spinner found work: make sure somebody keeps looking. */
	if (atomic_fetch_sub(&S.nmspinning, 1) == 1)
		grt__wakep();
}

/* Main exit: sched.lock held. */
static void stop_world_locked(void)
{
	struct grt_m *m;
	gwake_t hs[64];
	size_t n = 0;

	atomic_store(&S.stopping, 1);
	/*
	 * Every M at once: one gwake_wake_many() per 64 (with the module, one
	 * system call that wakes them grouped by CPU, where N calls would
	 * each give a wakee a chance to preempt us).
	 */
	for (m = S.allm; m; m = m->alllink) {
		if (m->dead || !m->handle)
			continue;
		hs[n++] = m->handle;
		if (n == sizeof(hs) / sizeof(hs[0])) {
			gwake_wake_many(hs, n);
			n = 0;
		}
	}
	if (n)
		gwake_wake_many(hs, n);
	grt__monitor_kick();
}

/*
 * A locked G parked: hand the P off and sleep on the M's own wake word
 * until grt__ready() of the G wakes us, then get a P back. Returns false
 * when stopping.
 */
static bool stoplockedm(struct grt_m *m)
{
	/* Counted in nmidlelocked by post_switch; the readier uncounts. */
	grt__handoffp(grt__releasep(m));
	grt__lock();
	grt__checkdead();
	grt__unlock();
	while (!atomic_exchange_explicit(&m->lockedg_ready, 0,
					 memory_order_acquire)) {
		if (grt_stopping())
			return false;
		gwake_block(-1);
	}
	return wait_for_p_(m);
}

/* A locked G wants to let others run (yield, preemption). */
static bool locked_yield(struct grt_m *m)
{
	int64_t w = atomic_load_explicit(&m->p->timer0, memory_order_relaxed);

	/* This M never runs findrunnable(): run the P's timers here, or a
	 * locked G that never parks would starve the sleepers of its P. */
	if (w && w <= grt__nanotime())
		grt__timers_run(m->p, grt__nanotime());
	if (grt__runqempty(m->p) && grt__gq_empty())
		return true;
	grt__handoffp(grt__releasep(m));
	return wait_for_p_(m);
}

static void gdestroy(struct grt_m *m, struct grt_g *gp, bool *mexit)
{
	bool locked = gp->lockedm != NULL;

	atomic_store_explicit(&gp->status, GRT_GDEAD, memory_order_relaxed);
	gp->m = NULL;
	grt__unlockm(m, gp);
	gp->lockcount = 0;
	m->curg = NULL;
	if (gp == S.maing) {
		grt__lock();
		stop_world_locked();
		grt__unlock();
		S.maing = NULL;
	}
	gfput(m->p, gp);
	/*
	 * A G that exits while locked takes its thread with it, as in Go:
	 * it may have changed thread state (signal mask, namespaces,
	 * credentials) that another G must not inherit. The thread that
	 * called grt_run() is the exception; it goes back to work.
	 */
	if (locked && m != S.m0)
		*mexit = true;
}

/*
 * On g0, after gp switched back with m->action. Returns a G to run at
 * once (the same gp in most cases) or NULL to look for work. *mexit: the
 * M must end its thread.
 */
static struct grt_g *post_switch(struct grt_m *m, struct grt_g *gp,
				 bool *inherit, bool *mexit)
{
	enum grt__gaction act = m->action;

	m->action = GRT_ACT_NONE;
	*inherit = true;
	switch (act) {
	case GRT_ACT_PARK:
		m->curg = NULL;
		gp->m = NULL;
		atomic_store_explicit(&gp->status, GRT_GWAITING,
				      memory_order_release);
		if (m->commit && !m->commit(gp, m->commit_arg)) {
			atomic_store_explicit(&gp->status, GRT_GRUNNABLE,
					      memory_order_relaxed);
			return gp;
		}
		/*
		 * A locked G's M counts as idle from here on; its readier
		 * uncounts it (ready_). Only after the commit: before it,
		 * whatever will wake the G (a waiter record, a timer) may not
		 * be visible yet, and an M counted idle then could make the
		 * runtime look dead. If the readier got there first, the
		 * counter dips below the truth for a moment, which can only
		 * delay a deadlock report, never fake one.
		 */
		if (gp->lockedm)
			atomic_fetch_add(&S.nmidlelocked, 1);
		if (gp->lockedm) {
			if (!stoplockedm(m))
				return NULL;
			return gp;
		}
		return NULL;
	case GRT_ACT_YIELD:
	case GRT_ACT_PREEMPT:
		m->curg = NULL;
		gp->m = NULL;
		atomic_store_explicit(&gp->status, GRT_GRUNNABLE,
				      memory_order_relaxed);
		if (gp->lockedm)
			return locked_yield(m) ? gp : NULL;
		if (act == GRT_ACT_YIELD) {
			grt__runqput(m->p, gp, false);
		} else {
			grt__globrunqput(gp);
		}
		return NULL;
	case GRT_ACT_EXIT:
		gdestroy(m, gp, mexit);
		return NULL;
	case GRT_ACT_NOP:
		/* Back from a system call and no P to be had. */
		m->curg = NULL;
		gp->m = NULL;
		atomic_store_explicit(&gp->status, GRT_GRUNNABLE,
				      memory_order_relaxed);
		if (gp->lockedm)
			return wait_for_p_(m) ? gp : NULL;
		grt__globrunqput(gp);
		/* A P lent by a thread-call waiter (tcall.c), or wakep(). */
		if (!grt__tcall_yield_p())
			grt__wakep();
		return NULL;
	default:
		grt__fatal("post_switch: unknown action %d", act);
	}
}

/* The scheduler loop of one M. Returns when the M must end. */
static void schedule(struct grt_m *m, struct grt_g *gp)
{
	bool inherit = false, mexit = false;

	for (;;) {
		if (!gp) {
			if (!m->p) {
				if (!stopm(m))
					return;
			}
			gp = findrunnable(m, &inherit);
			if (!gp)
				return;
			if (m->spinning)
				resetspinning(m);
		}
		if (gp->lockedm && gp->lockedm != m)
			grt__fatal("G%llu is locked to another M but was "
				   "found in a run queue",
				   (unsigned long long)gp->id);
		if (grt_stopping())
			return;
		gp = execute(m, gp, inherit);
		gp = post_switch(m, gp, &inherit, &mexit);
		if (mexit) {
			if (m->p)
				grt__handoffp(grt__releasep(m));
			grt__lock();
			m->dead = true;
			S.mcount--;
			grt__checkdead();
			grt__unlock();
			return;
		}
		if (grt_stopping())
			return;
	}
}

void grt__schedule(struct grt_m *m, struct grt_g *gp)
{
	schedule(m, gp);
}

static void *sched_body(struct grt_m *m)
{
	struct grt_p *p;

	/* Wait for the P our creator hands over (startm). */
	for (;;) {
		p = atomic_exchange_explicit(&m->nextp, NULL,
					     memory_order_acquire);
		if (p)
			break;
		if (grt_stopping())
			return NULL;
		gwake_block(-1);
	}
	grt__acquirep(m, p);
	schedule(m, NULL);
	return NULL;
}

/* Learn the bounds of the thread's own stack and its modes: the M's g0. */
static void m_init_g0(struct grt_m *m)
{
	pthread_attr_t attr;
	void *lo = NULL;
	size_t size = 0;

	if (!pthread_getattr_np(pthread_self(), &attr)) {
		pthread_attr_getstack(&attr, &lo, &size);
		pthread_attr_destroy(&attr);
	}
	m->g0.stack_lo = lo;
	m->g0.stack_size = size;
	m->g0fp = fpctl_now();
	m->tid = (pid_t)syscall(SYS_gettid);
}

static void *mstart(void *arg)
{
	struct grt_m *m = arg;
	void *ret;
	int err;

	grt__tls_m = m;
	/*
	 * A new thread inherits its creator's signal mask, and the monitor,
	 * which starts Ms too (startm from retake, grt__timers_wake), blocks
	 * every signal: an M of its making could never take the preemption
	 * signal, nor report a stack overflow. Ms run with grt_run()'s
	 * caller's mask, as M0 does, with the preemption signal unblocked
	 * (as Go unblocks its own signals on every M).
	 */
	pthread_sigmask(SIG_SETMASK, &S.sigmask, NULL);
	if (S.preempt_signal) {
		sigset_t ps;

		sigemptyset(&ps);
		sigaddset(&ps, S.preempt_signal);
		pthread_sigmask(SIG_UNBLOCK, &ps, NULL);
	}
	m_init_g0(m);
	grt__sigstack_init(m);
	err = gwake_self(&m->handle);
	if (err)
		grt__fatal("M%d: gwake_self: %s", m->id, strerror(-err));
	m->watched = grt__monitor_watch(true);
	ret = m->start(m);
	grt__sigstack_fini(m);
	return ret;
}

/* ---- Deadlock detection ----------------------------------------------------- */

/*
 * Called with sched.lock held whenever an M goes idle. If no M is running
 * (all are idle or parked with their locked G), no G is in a system call,
 * no timer is pending and the main G has not returned, nothing can ever
 * make progress again: report every G and stop the runtime; grt_run()
 * returns -EDEADLK. Only Gs, Ms and timers can ready a G: a thread that
 * is not an M and will later send on a channel is not seen (documented).
 *
 * Not a snapshot: the lock freezes mcount and nmidle, not nmidlelocked
 * nor the queues, which move between the reads below. So an M may be
 * counted in nmidlelocked only while it is idle (never a moment early;
 * a moment late is harmless): then, when the count says nothing runs,
 * nothing is left that could move what is read after it.
 */
void grt__checkdead(void)
{
	struct grt__symtab st;
	struct grt__wbuf w;
	int64_t run;
	uint32_t i;

	if (grt_stopping() || !S.maing)
		return;
	run = (int64_t)S.mcount - S.nmidle -
	      (int64_t)atomic_load(&S.nmidlelocked);
	if (run > 0)
		return;
	for (i = 0; i < S.nprocs; i++)
		if (atomic_load(&S.allp[i]->timer0))
			return;
	if (!grt__gq_empty() || grt__runq_any() || grt__threads_have_work())
		return;
	S.deadlock = true;
	/* Every G with what it waits for and where (dump.c). */
	fflush(stderr);
	grt__w_init(&w, STDERR_FILENO);
	grt__w_str(&w, "grt: all goroutines are asleep - deadlock!\n\n");
	if (grt__diag_enter()) {
		grt__symtab_begin(&st, false);
		grt__dump_gs(&w, &st, NULL, 0);
		grt__symtab_end(&st);
		grt__diag_exit();
	}
	grt__w_flush(&w);
	stop_world_locked();
}

/* ---- grt_run ------------------------------------------------------------------ */

static void teardown(void)
{
	struct grt_m *m, *mn;
	struct grt_g *gp, *gn;
	uint32_t i;

	/* No diagnostic may look at what is freed below. */
	grt__diag_close();
	grt__sigquit_uninstall();
	grt__fault_uninstall();
	/* On M0's thread: sigaltstack is per thread. */
	if (S.m0)
		grt__sigstack_fini(S.m0);
	grt__monitor_stop();
	for (m = S.allm; m; m = m->alllink)
		if (m != S.m0 && m->joinable)
			pthread_join(m->thread, NULL);
	/*
	 * Every M is stopped: no timer can fire. Before the stacks go: a
	 * discarded sleeper's timer, on its G's stack, is still on a heap.
	 */
	for (i = 0; i < S.nprocs; i++)
		grt__timers_free(S.allp[i]);
	grt__threads_free_all();
	grt__stackcache_free();
	for (gp = S.allg; gp; gp = gn) {
		gn = gp->alllink;
		grt__stack_free(gp);
		free(gp);
	}
	for (m = S.allm; m; m = mn) {
		mn = m->alllink;
		free(m);
	}
	for (i = 0; i < S.nprocs; i++) {
		pthread_mutex_destroy(&S.allp[i]->timerlock);
		free(S.allp[i]);
	}
	free(S.allp);
	pthread_mutex_destroy(&S.gqlock);
	pthread_mutex_destroy(&S.gflock);
	pthread_mutex_destroy(&S.lock);
	memset(&S, 0, sizeof(S));
	grt__tls_m = NULL;
}

static unsigned int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}


int grt_run(const struct grt_config *cfg, void (*main_fn)(void *), void *arg)
{
	static const struct grt_config defcfg;
	uint32_t zero = 0;
	struct grt_m *m0;
	struct grt_g *gp;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	bool deadlock;
	uint32_t i;
	int err;

	if (!main_fn)
		return -EINVAL;
	if (!cfg)
		cfg = &defcfg;
	if (cfg->flags & ~GRT_LOCK_MAIN)
		return -EINVAL;
	if (cfg->nprocs > GRT_NPROCS_MAX)
		return -EINVAL;
	if (cfg->stack_size && (cfg->stack_size < GRT_STACK_MIN ||
				cfg->stack_size > GRT_STACK_MAX))
		return -EINVAL;
	if (!atomic_compare_exchange_strong(&grt_running, &zero, 1))
		return -EBUSY;

	memset(&S, 0, sizeof(S));
	S.start_ns = grt__nanotime();
	grt__debug_parse();
	pthread_mutex_init(&S.lock, NULL);
	pthread_mutex_init(&S.gflock, NULL);
	S.nprocs = cfg->nprocs ? cfg->nprocs : online_cpus();
	grt__runq_init();
	S.stack_size = cfg->stack_size ? cfg->stack_size : GRT_STACK_DEFAULT;
#ifdef GRT_ASAN
	if (!cfg->stack_size)
		S.stack_size *= 4;	/* redzones */
#endif
	S.stack_size = (S.stack_size + pg - 1) & ~(pg - 1);
	S.preempt_signal = cfg->preempt_signal == 0 ? SIGURG :
			   cfg->preempt_signal < 0 ? 0 : cfg->preempt_signal;
	/* Every M gets the caller's signal mask (mstart), whoever made it. */
	pthread_sigmask(SIG_SETMASK, NULL, &S.sigmask);

	err = -ENOMEM;
	S.allp = calloc(S.nprocs, sizeof(*S.allp));
	m0 = calloc(1, sizeof(*m0));
	if (!S.allp || !m0)
		goto fail_alloc;
	for (i = 0; i < S.nprocs; i++) {
		struct grt_p *p = aligned_alloc(GRT_CACHELINE, sizeof(*p));

		if (!p)
			goto fail_alloc;
		memset(p, 0, sizeof(*p));
		p->id = (int)i;
		pthread_mutex_init(&p->timerlock, NULL);
		S.allp[i] = p;
	}

	/* The calling thread is M0. */
	err = gwake_self(&m0->handle);
	if (err) {
		/*
		 * No usable backend (GWAKE_BACKEND names none, or one that
		 * cannot be used: libgwake said why on stderr, once) is
		 * -ENODEV, whatever gwake_self() returned for it; a bad
		 * config is -EINVAL.
		 */
		if (!strcmp(gwake_backend(), "none"))
			err = -ENODEV;
		goto fail_alloc;
	}
	m0->id = (int)S.mnext++;
	m0->fastrand = 0x2545f491u;
	m0->thread = pthread_self();
	S.allm = m0;
	S.mcount = 1;
	S.m0 = m0;
	m_init_g0(m0);
	grt__sigstack_init(m0);
	grt__tls_m = m0;

	/* Ps 1.. are idle; M0 takes P0. */
	for (i = S.nprocs; i-- > 1;) {
		S.allp[i]->link = S.pidle;
		S.pidle = S.allp[i];
		S.npidle++;
	}
	grt__acquirep(m0, S.allp[0]);

	gp = galloc_(m0->p, main_fn, arg, grt__gentry, false, &err);
	if (!gp)
		goto fail_m0;
	S.maing = gp;
	atomic_store_explicit(&gp->status, GRT_GRUNNABLE, memory_order_relaxed);
	if (cfg->flags & GRT_LOCK_MAIN) {
		gp->lockedm = m0;
		gp->lockcount = 1;
		m0->lockedg = gp;
	}

	err = grt__monitor_start();
	if (err)
		goto fail_m0;
	/* Diagnostics: everything they look at exists from here on. */
	grt__symtab_capture();
	grt__fault_install();
	grt__sigquit_install();
	grt__diag_open();

	schedule(m0, gp);

	/* The runtime stops: main returned, or a deadlock. */
	grt__lock();
	if (!grt_stopping())
		stop_world_locked();
	grt__unlock();
	deadlock = S.deadlock;
	teardown();
	atomic_store(&grt_running, 0);
	return deadlock ? -EDEADLK : 0;

fail_m0:
	teardown();
	atomic_store(&grt_running, 0);
	return err;
fail_alloc:
	if (S.allp)
		for (i = 0; i < S.nprocs; i++)
			free(S.allp[i]);
	free(S.allp);
	free(m0);
	memset(&S, 0, sizeof(S));
	atomic_store(&grt_running, 0);
	return err;
}
