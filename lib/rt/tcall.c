// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Thread calls: the syscall-server pattern (Go #18023, #21827) without a
 * channel and without the scheduler on the fast path.
 *
 * A server is an M whose only G (locked to it, internally) loops over a
 * mailbox. It runs in the "system call" state: no P, so it costs the Gs no
 * parallelism and needs no P hand-off to run a call. Callers enqueue a
 * request that lives on their own stack in liburcu's wfcqueue (wait-free
 * for any number of enqueuers; the server is the only dequeuer, so it
 * needs no lock either), wake the server by its gwake handle if it waits,
 * and wait for the request's state word.
 *
 * Every wait here is a wait on a wake word, and the wake word decides how
 * long to spin before sleeping: the server waits for the next request
 * naming the M of the last caller as its partner, the caller waits for its
 * answer naming the server (gwake_block_for()). With the module that spin
 * lasts only while the partner runs on a CPU and nothing else wants ours,
 * a preempted partner gets our CPU, and a sleeping one makes us sleep at
 * once; without it, the userspace backend spins adaptively and stops when
 * it finds itself preempted. No wait here has a fixed spin of its own.
 *
 * The caller's wait comes in two kinds, chosen before the request is
 * posted:
 *
 *  - its P has other Gs to run: the G parks; the server readies it.
 *	PENDING --server done--> DONE			caller never parked
 *	PENDING --caller parks--> PARKED --server--> DONE + grt__ready(caller)
 *    Both transitions out of PENDING are atomic (the caller's park commit
 *    is a CAS, the server's completion an exchange), so exactly one side
 *    knows whether the caller parked: a completed call is never readied
 *    twice or lost.
 *  - its P has nothing else: the M waits on its own wake word, with the
 *    G and the P in the system-call state (syscall.c), so that a call that
 *    returns soon costs no scheduler round trip and no P hand-off, and the
 *    monitor hands the P to another M if Gs appear meanwhile and the call
 *    lasts. The server then wakes the caller's M by handle after DONE
 *    (the handle read before: the request may be gone after DONE). A
 *    permit left over when the caller saw DONE first is absorbed by the
 *    next wait on that M, which loops on its condition. While it waits so,
 *    its P (p->tcall_m) is lent, unless the G is locked: a G the server
 *    readies meanwhile asks the M (TW_WAITING -> TW_YIELD,
 *    grt__tcall_yield_p()), and the caller turns into the first kind
 *    (PENDING -> PARKED) and its M runs that G.
 *
 * The server's idle wait: it announces "waiting" (t->sleeping 1) with a
 * seq_cst store and re-checks the mailbox; callers enqueue (an xchg) and
 * then exchange t->sleeping to 0, waking the server if it was set: Dekker,
 * no lost wake-up. A server that waits long (a bounded first wait times
 * out) marks itself idle (t->sleeping 2) and then counts itself idle for
 * the deadlock check (grt__m_idle_begin()); whoever takes the mark back
 * uncounts it.
 *
 * Stop: the stop request is processed in order like a call. The server
 * then sets the stopped bit of t->state; callers add 2 to t->state before
 * they enqueue and subtract it after, and back out if they saw the bit, so
 * the server can drain until no caller is between the two and the mailbox
 * is empty, failing what it finds with -ESRCH. Nothing is left behind in
 * the mailbox.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "futex.h"
#include "runq.h"
#include "sched.h"

#define S grt__sched

/*
 * How long the server's first wait for a request may last before it
 * counts itself idle (a bounded sleep, not a spin: the deadlock check and
 * its lock are kept off the path of a server that is called all the time).
 */
#define TCALL_IDLE_AFTER_NS	(1000 * 1000)

/* t->sleeping */
enum { SRV_AWAKE, SRV_WAITING, SRV_IDLE };

enum { REQ_PENDING, REQ_PARKED, REQ_DONE };

/* m->tcall_wait */
enum grt__tcallwait { TW_NONE, TW_WAITING, TW_YIELD };

struct tcall_req {
	struct cds_wfcq_node node;
	long (*fn)(void *);
	void *arg;
	long ret;
	int err;
	bool stop;
	struct grt_g *g;
	/* The caller's M, if it waits on its wake word; 0 if the G parks. */
	gwake_t waiter;
	_Atomic uint32_t state;
};

struct grt_thread {
	/* The mailbox. Enqueue: any G, no lock. Dequeue: the server only. */
	struct __cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	/* Bit 0: stopped. Bits 1..: callers between check and enqueue. */
	_Atomic uint32_t state;
	/* SRV_*: the server waits on its wake word (or is about to). */
	_Atomic uint32_t sleeping;
	/* The M of the last caller: the partner of the server's next wait. */
	_Atomic gwake_t last_caller;
	_Atomic uint32_t ready;		/* server's handle is set */
	_Atomic uint32_t stop_sent;
	_Atomic uint32_t exited;
	struct grt_m *m;
	struct grt_g *g;
	struct grt_thread *next;	/* sched.threads, under sched.lock */
};

static void complete(struct tcall_req *r, long ret, int err)
{
	struct grt_g *g = r->g;
	gwake_t waiter = r->waiter;

	r->ret = ret;
	r->err = err;
	/* acq_rel: publishes ret/err (and fn's writes) to the caller; after
	 * this the request (on the caller's stack) may be gone. */
	if (atomic_exchange_explicit(&r->state, REQ_DONE,
				     memory_order_acq_rel) == REQ_PARKED)
		grt__ready(g);
	else if (waiter)
		gwake_wake(waiter);
}

static struct tcall_req *mailbox_get(struct grt_thread *t)
{
	struct cds_wfcq_node *node;

	if (cds_wfcq_empty(&t->head, &t->tail))
		return NULL;
	node = __cds_wfcq_dequeue_blocking(&t->head, &t->tail);
	return node ? caa_container_of(node, struct tcall_req, node) : NULL;
}

static void drain_stopped(struct grt_thread *t)
{
	struct tcall_req *r;

	for (;;) {
		while ((r = mailbox_get(t)))
			complete(r, 0, -ESRCH);
		if (atomic_load(&t->state) == 1 &&
		    cds_wfcq_empty(&t->head, &t->tail))
			return;
		sched_yield();
	}
}

/* Take the server's "waiting" mark back; uncount it if it was idle. */
static bool tcall_unmark(struct grt_thread *t)
{
	uint32_t s = atomic_exchange(&t->sleeping, SRV_AWAKE);

	if (s == SRV_IDLE)
		grt__m_idle_end();
	return s != SRV_AWAKE;
}

/*
 * The server has nothing to do: wait on its wake word until a caller
 * takes the "waiting" mark (and wakes it) or the runtime stops. A first,
 * bounded wait; then counted idle, and unbounded.
 */
static void tcall_idle(struct grt_thread *t)
{
	gwake_t partner = atomic_load_explicit(&t->last_caller, memory_order_relaxed);
	int64_t end = grt__nanotime() + TCALL_IDLE_AFTER_NS;
	uint32_t waiting = SRV_WAITING;

	atomic_store(&t->sleeping, SRV_WAITING);
	/* Dekker with tcall_post(): the mark (seq_cst), then the mailbox. */
	if (!cds_wfcq_empty(&t->head, &t->tail) || atomic_load(&S.stopping)) {
		tcall_unmark(t);
		return;
	}
	while (atomic_load(&t->sleeping) == SRV_WAITING) {
		int64_t left = end - grt__nanotime();

		if (left <= 0)
			break;
		gwake_block_for(partner, left);
		if (atomic_load(&S.stopping))
			break;
	}
	/*
	 * Long: mark it idle, then count it so, look for a deadlock, and
	 * sleep. In that order: grt__checkdead() reads the count before the
	 * mailbox, and nothing stops this thread between the two reads. A
	 * server counted first, then woken by a caller (its CAS failing),
	 * looked idle to the count and then took the request before the
	 * mailbox was read: a false deadlock report, while the call ran
	 * (lib/rt/tcallidle.pml). Counted only while it holds the mark, it
	 * is idle whenever it is counted. A caller that takes the mark
	 * before the count uncounts first: the count dips below the truth
	 * for a moment, which only delays a report.
	 */
	if (!atomic_load(&S.stopping) &&
	    atomic_compare_exchange_strong(&t->sleeping, &waiting, SRV_IDLE)) {
		grt__m_idle_begin();
		grt__lock();
		grt__checkdead();
		grt__unlock();
		while (atomic_load(&t->sleeping) == SRV_IDLE &&
		       !atomic_load(&S.stopping))
			(void)gwake_block_for(partner, -1);
	}
	tcall_unmark(t);
}

static void tcall_serve(void *arg)
{
	struct grt_thread *t = arg;
	struct grt_m *m = grt__curm();
	struct tcall_req *r, *stopreq = NULL;

	atomic_store_explicit(&m->curg->status, GRT_GSYSCALL,
			      memory_order_relaxed);
	atomic_store(&t->ready, 1);
	/* t lives until grt_thread_free(), which cannot run before we exit. */
	gwi_futex_wake(&t->ready);
	for (;;) {
		r = mailbox_get(t);
		if (r) {
			long ret;

			if (r->stop) {
				stopreq = r;
				break;
			}
			if (r->waiter)
				atomic_store_explicit(&t->last_caller, r->waiter,
						      memory_order_relaxed);
			ret = r->fn(r->arg);
			/* If fn took a P (it called the runtime), give it back. */
			m = grt__m_syscall_resume();
			complete(r, ret, 0);
			continue;
		}
		if (atomic_load(&S.stopping))
			break;
		tcall_idle(t);
	}
	if (stopreq) {
		atomic_fetch_or(&t->state, 1);
		drain_stopped(t);
		atomic_store(&t->exited, 1);
		complete(stopreq, 0, 0);
	}
	/* t may be freed from here on. The G ends, and so does its thread. */
	grt__m_syscall_end(grt__curm());
}

static void *tcall_mbody(struct grt_m *m)
{
	struct grt_thread *t = m->start_arg;
	struct grt_g *gp = t->g;

	grt__lockm(m, gp, true);
	grt__m_syscall_begin(m);
	grt__schedule(m, gp);
	return NULL;
}

int grt_thread_start(struct grt_thread **out)
{
	struct grt_thread *t;
	struct grt_m *m;

	if (!out)
		return -EINVAL;
	if (!grt__curg())
		return -EPERM;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	__cds_wfcq_init(&t->head, &t->tail);
	t->g = grt__galloc(tcall_serve, t, grt__gentry);
	if (!t->g) {
		free(t);
		return -ENOMEM;
	}
	atomic_store(&t->g->status, GRT_GRUNNABLE);
	m = grt__newm(tcall_mbody, t, true, NULL, false);
	if (!m) {
		grt__gfree_now(t->g);
		free(t);
		return -EAGAIN;
	}
	t->m = m;
	grt__lock();
	t->next = S.threads;
	S.threads = t;
	grt__unlock();
	/*
	 * Callers wake it by handle: wait until it has one. Sleeping, not
	 * yielding, holds our P just the same (the server needs none to get
	 * here) and costs two system calls instead of one per yield.
	 */
	while (!atomic_load(&t->ready))
		gwi_futex_wait(&t->ready, 0, NULL);
	*out = t;
	return 0;
}

/*
 * A G was put on the global run queue by an M without a P (a server
 * completing a parked caller's call): ask one M that waits on its wake
 * word for a thread call of its own (its P held in the system-call state,
 * because that P had nothing else to run when the call began) to park its
 * G instead and run the readied one on that P. Returns whether one was
 * asked; the readier then wakes nobody else.
 *
 * Without this the readied G gets a P only from wakep(): a second M woken
 * for an idle P, one more thread on the CPUs the server needs (with two
 * Ps, two callers' Ms spinning beside a busy server are three threads on
 * two CPUs), or, with no idle P, the monitor's hand-off of the waiting P
 * after 20 us. With four callers on two Ps that made a call cost up to 25x
 * what it costs with one or eight (docs/runtime.md, "Thread calls").
 *
 * Who may ask: a readier that put the G on the global queue because it
 * has no P (ready_() from a server, post_switch's NOP from a G back from
 * a system call), and only while no M spins (a spinning M finds the G
 * there anyway) and some M lends (sched.ntcallwait, so that programs
 * without thread calls never look at the Ps). A true return means the
 * readier wakes nobody else, so an asked M always answers: at its next
 * look at its word (tcall_wait()) it parks its G, or, if its own answer
 * came first, passes the request on with wakep(). The G that lends is
 * pinned to its M from the announcement to the wait (tcall_roundtrip()),
 * so the asked M is the one waiting. A stale p->tcall_m (the monitor
 * handed that P on) only asks an M that then takes a P the usual way.
 */
bool grt__tcall_yield_p(void)
{
	uint32_t i, w;

	if (!atomic_load_explicit(&S.ntcallwait, memory_order_relaxed) ||
	    atomic_load_explicit(&S.nmspinning, memory_order_relaxed))
		return false;
	for (i = 0; i < S.nprocs; i++) {
		struct grt_m *m = atomic_load_explicit(&S.allp[i]->tcall_m,
						       memory_order_relaxed);

		w = TW_WAITING;
		if (m && atomic_load_explicit(&m->tcall_wait, memory_order_relaxed) == w &&
		    atomic_compare_exchange_strong(&m->tcall_wait, &w, TW_YIELD)) {
			gwake_wake(m->handle);
			return true;
		}
	}
	return false;
}

/* The M that lent p for its system call numbered @tick, or NULL. */
static struct grt_m *lender(struct grt_p *p, uint32_t tick)
{
	struct grt_m *m = atomic_load_explicit(&p->tcall_m, memory_order_relaxed);

	if (atomic_load_explicit(&p->tcall_tick, memory_order_relaxed) != tick)
		return NULL;
	return m;
}

/*
 * The monitor found p in the system-call state for a while (retake()):
 * is it lent by an M that waits for a thread call (tcall_lend())? Then it
 * is no P to hand to another M. Handing it on is what the lending saves: a
 * second M that takes it finds nothing to run or takes the Gs the lender
 * would run, and either way one thread more wants the CPUs the server
 * needs; the lender, woken later, finds its P gone and queues its G. With
 * one P, calls of 200 us lost the P once each (a monitor backed off to 10
 * ms ticks took it at its second look).
 *
 * If there is work the lender is asked, as a readier without a P would
 * have asked it (grt__tcall_yield_p()); an M asked already answers when
 * it next runs. Work is what a hand-off would have served: the P's own
 * timers due (only an M holding it runs them), Gs in its queue, and while
 * no M spins, Gs on the global queue, a locked G's M waiting for a P
 * (the lender's M gives it one, give_p_to_locked()), or, with no P idle,
 * Gs queued on another P (Go's rule: a busy P's queue needs a thief). A
 * timer not yet due bounds the monitor's sleep (*due), as no M holding
 * the P would. Without work the P is left alone however long the call.
 *
 * @tick: the P's syscalltick the monitor read; the lend counts only for
 * the call it was made in. @queued: whether some P's queue has Gs, as
 * found by the first lent P of this look that needed it (-1: not looked
 * yet): one scan of the Ps per look, not one per lent P. Returns true to
 * leave p alone this tick; false for a lender asked 10 ms ago (by the
 * monitor or a readier) and still silent, an M that gets no CPU: then the
 * P is handed on.
 */
bool grt__tcall_lent(struct grt_p *p, uint32_t tick, int64_t now,
		     int64_t *due, int *queued)
{
	struct grt_m *m = lender(p, tick);
	int64_t timer = atomic_load_explicit(&p->timer0, memory_order_relaxed);
	bool work;
	uint32_t w;

	if (!m)
		return false;
	/* TW_NONE: the lender is taking p back (tcall_unlend()). */
	w = atomic_load_explicit(&m->tcall_wait, memory_order_relaxed);
	if (w == TW_NONE)
		return true;
	if (w == TW_YIELD) {
		if (p->mon_asktick != tick) {
			p->mon_asktick = tick;
			p->mon_askwhen = now;
		}
		return now - p->mon_askwhen < GRT_SYSMON_MAX_NS;
	}
	if (timer && timer > now && timer < *due)
		*due = timer;
	work = (timer && timer <= now) || !grt__runqempty(p);
	if (!work && !atomic_load_explicit(&S.nmspinning, memory_order_relaxed)) {
		work = !grt__gq_empty() ||
		       atomic_load_explicit(&S.nlockedwait, memory_order_relaxed);
		if (!work && !atomic_load_explicit(&S.npidle, memory_order_relaxed)) {
			if (*queued < 0)
				*queued = grt__runq_any();
			work = *queued;
		}
	}
	if (work && atomic_compare_exchange_strong(&m->tcall_wait, &w, TW_YIELD)) {
		gwake_wake(m->handle);
		p->mon_asktick = tick;
		p->mon_askwhen = now;
	}
	return true;
}

/*
 * For grt__timers_wake(), in the monitor's tick after retake(): was p's
 * lender asked for it (by retake(), for its due timers)? Then no other M
 * need be woken for those timers.
 */
bool grt__tcall_asked(struct grt_p *p)
{
	struct grt_m *m;

	if (atomic_load_explicit(&p->status, memory_order_acquire) != GRT_PSYSCALL)
		return false;
	m = lender(p, atomic_load_explicit(&p->syscalltick, memory_order_relaxed));
	return m && atomic_load_explicit(&m->tcall_wait, memory_order_relaxed) == TW_YIELD;
}

static bool tcall_commit(struct grt_g *gp, void *arg)
{
	struct tcall_req *r = arg;
	uint32_t st = REQ_PENDING;

	(void)gp;
	/* Fails only if the server completed it meanwhile: run on. */
	return atomic_compare_exchange_strong_explicit(
		&r->state, &st, REQ_PARKED, memory_order_acq_rel,
		memory_order_acquire);
}

/*
 * The same for a G whose M was asked for its P: if the answer came first,
 * the G runs on and the G that wanted the P needs another (wakep()).
 */
static bool tcall_commit_yield(struct grt_g *gp, void *arg)
{
	if (tcall_commit(gp, arg))
		return true;
	grt__wakep();
	return false;
}

/*
 * Enqueue r on t unless t is stopped. *wake: the server waits and it is
 * ours to wake; a caller that will wait on its own word (r->waiter) does
 * that in the same call as its wait (tcall_wait()), others here.
 */
static int tcall_post(struct grt_thread *t, struct tcall_req *r, bool *wake)
{
	if (atomic_fetch_add(&t->state, 2) & 1) {
		atomic_fetch_sub(&t->state, 2);
		return -ESRCH;
	}
	cds_wfcq_node_init(&r->node);
	/* An xchg: a full barrier before the load of sleeping. */
	cds_wfcq_enqueue(&t->head, &t->tail, &r->node);
	atomic_fetch_sub(&t->state, 2);
	*wake = atomic_load(&t->sleeping) && tcall_unmark(t);
	if (*wake && !r->waiter) {
		gwake_wake(t->m->handle);
		*wake = false;
	}
	return 0;
}

/*
 * Would the caller's P have anything else to run while it waits? If not,
 * its M waits on its own wake word (see the top of the file). @m: the
 * caller's M, pinned (grt__acquirem()) from here until its G parks or
 * enters the system-call state: the handle names this M, which must be
 * the one that waits.
 */
static gwake_t tcall_waiter(struct grt_m *m)
{
	if (m->p && grt__runqempty(m->p) && grt__gq_empty())
		return m->handle;
	return 0;
}

/*
 * m, waiting for a thread call in the system-call state, lends p: announce
 * it to grt__tcall_yield_p() (the M's state, the P's lender, the count
 * that lets readiers look at all).
 */
static void tcall_lend(struct grt_m *m, struct grt_p *p)
{
	/*
	 * The number grt_syscall_enter() is about to give the call: only
	 * the owner changes it while the P runs, and retake() reads it after
	 * SYSCALL, which that store releases.
	 */
	atomic_store_explicit(&p->tcall_tick,
			      atomic_load_explicit(&p->syscalltick,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&m->tcall_wait, TW_WAITING, memory_order_relaxed);
	atomic_store_explicit(&p->tcall_m, m, memory_order_relaxed);
	atomic_fetch_add_explicit(&S.ntcallwait, 1, memory_order_relaxed);
}

/*
 * The wait is over: withdraw what tcall_lend() announced, in two steps.
 * Before the G leaves the system-call state, on its M: nobody asks any
 * more. Returns whether a readier asked for the P meanwhile.
 */
static bool tcall_unlend(struct grt_m *m)
{
	atomic_fetch_sub_explicit(&S.ntcallwait, 1, memory_order_relaxed);
	return atomic_exchange_explicit(&m->tcall_wait, TW_NONE,
					memory_order_relaxed) == TW_YIELD;
}

/*
 * After it left the state: p is no longer lent. Until now the monitor
 * found p->tcall_m set and left p to its lender, about to take it back
 * (grt__tcall_lent()): had the monitor taken the P in that gap, the lender
 * would have queued its G, and with one P a new M would have taken over.
 * Only if the G got p back on m: otherwise the monitor took p, and
 * cleared the field itself (retake()); m may even run another G by now.
 * A G preempted on its way out (grt_syscall_exit()'s preemption check)
 * leaves the field set until the next lend; the monitor ignores it for
 * any later call on p (p->tcall_tick).
 */
static void tcall_unlend_p(struct grt_m *m, struct grt_p *p)
{
	struct grt_m *me = m;

	if (grt__curm() == m && m->p == p)
		atomic_compare_exchange_strong_explicit(&p->tcall_m, &me, NULL,
							memory_order_relaxed,
							memory_order_relaxed);
}

/*
 * Wait for r's answer; @wake: wake the server first (tcall_post()). An M
 * that waits on its own word wakes the server and blocks in one call,
 * gwake_swap(): one system call instead of two, and its block waits for
 * the server as a partner. The plain swap, not gwake_swap_here(): a
 * caller and a server kept on one CPU take turns, slower than two CPUs
 * spinning for each other when one is free. What the swap returns does
 * not matter: the loop waits for DONE, and a permit
 * left over from an earlier call only makes it look again.
 * @m: the caller's M, pinned by tcall_roundtrip(); the pin ends here (a
 * grt__releasem() before a park, or the entry into the system-call state).
 */
static void tcall_wait(struct grt_thread *t, struct tcall_req *r, bool wake,
		       struct grt_m *m)
{
	struct grt_p *p = m->p;
	bool yield = false, pass, lend;

	if (!r->waiter) {
		grt__releasem(m);
		grt__park(tcall_commit, r, "thread call");
		goto out;
	}
	if (!wake && atomic_load_explicit(&r->state, memory_order_acquire) == REQ_DONE) {
		grt__releasem(m);
		goto out;
	}
	/*
	 * Lend the P (grt__tcall_yield_p()), unless the G is locked: its M
	 * could not run another G, and parking it would cost the hand-off
	 * this wait avoids.
	 */
	lend = !m->lockedg;
	if (lend)
		tcall_lend(m, p);
	/*
	 * In the system-call state: the monitor may hand the P off. Our pin
	 * ends there without a preemption check (as in grt_syscall_enter()):
	 * the G stays on this M until it leaves the state. No kick of the
	 * monitor: readiers ask for the lent P (grt__tcall_yield_p()).
	 */
	grt__syscall_enter(false);
	/*
	 * Timers on the P: only the monitor serves them now, by asking us
	 * (grt__tcall_lent()); if it has backed off to 10 ms ticks, have it
	 * look at once, and its sleeps are then bounded by the timers.
	 */
	if (lend && atomic_load_explicit(&p->timer0, memory_order_relaxed) &&
	    atomic_load_explicit(&S.mon_delay, memory_order_relaxed) >
		    GRT_SYSMON_MIN_NS)
		grt__monitor_kick();
	m->curg->nopreempt--;
	if (wake)
		(void)gwake_swap(t->m->handle, -1);
	while (atomic_load_explicit(&r->state, memory_order_acquire) != REQ_DONE) {
		if (lend && atomic_load_explicit(&m->tcall_wait,
						 memory_order_relaxed) == TW_YIELD) {
			yield = true;
			break;
		}
		(void)gwake_block_for(t->m->handle, -1);
	}
	/* Asked, but the answer came first: pass the request on. */
	pass = lend && tcall_unlend(m) && !yield;
	grt_syscall_exit();
	if (lend)
		tcall_unlend_p(m, p);
	if (pass)
		grt__wakep();
	/*
	 * Asked for our P (grt__tcall_yield_p()): park the G as if its P had
	 * had other Gs from the start; the server readies it. The commit
	 * fails if the answer came meanwhile: run on, and wakep() for the G
	 * that wanted the P (tcall_commit_yield()).
	 */
	if (yield)
		grt__park(tcall_commit_yield, r, "thread call");
out:
	/* Acquire: pairs with complete()'s exchange. */
	(void)atomic_load_explicit(&r->state, memory_order_acquire);
}

/*
 * Post r on t and wait for its answer. From the choice of the wait to the
 * park or the system-call state the G is pinned to its M (no asynchronous
 * preemption can move it): r->waiter names that M.
 */
static int tcall_roundtrip(struct grt_thread *t, struct tcall_req *r)
{
	struct grt_m *m = grt__acquirem();
	bool wake;
	int err;

	r->g = m->curg;
	r->waiter = tcall_waiter(m);
	err = tcall_post(t, r, &wake);
	if (err) {
		grt__releasem(m);
		return err;
	}
	tcall_wait(t, r, wake, m);
	return 0;
}

int grt_thread_call(struct grt_thread *t, long (*fn)(void *), void *arg,
		    long *ret)
{
	struct tcall_req r = { .fn = fn, .arg = arg };
	struct grt_m *m;
	long v;
	int err;

	if (!t || !fn)
		return -EINVAL;
	m = grt__curm();
	if (!m || !m->curg)
		return -EPERM;
	if (m == t->m) {
		/* Already on the thread: run inline. */
		if (atomic_load(&t->state) & 1)
			return -ESRCH;
		v = fn(arg);
		if (ret)
			*ret = v;
		/* The M the G runs on now (fn may have moved it). */
		grt__stat_inc(&grt__curm()->ntcall);
		return 0;
	}
	err = tcall_roundtrip(t, &r);
	if (err)
		return err;
	if (!r.err && ret)
		*ret = r.ret;
	if (!r.err)	/* on the M the G runs on now: its own counter */
		grt__stat_inc(&grt__curm()->ntcall);
	return r.err;
}

int grt_thread_stop(struct grt_thread *t)
{
	struct tcall_req r = { .stop = true };
	struct grt_m *m;
	int err;

	if (!t)
		return -EINVAL;
	m = grt__curm();
	if (!m || !m->curg)
		return -EPERM;
	if (m == t->m)
		return -EDEADLK;
	if (atomic_exchange(&t->stop_sent, 1))
		return -ESRCH;
	err = tcall_roundtrip(t, &r);
	if (err)
		return err;
	return r.err;
}

int grt_thread_free(struct grt_thread *t)
{
	struct grt_thread **pp;
	int err;

	if (!t)
		return -EINVAL;
	err = grt_thread_stop(t);
	if (err == -ESRCH) {
		/* Stopped already: wait until its server let go of t. */
		while (!atomic_load(&t->exited))
			sched_yield();
		err = 0;
	}
	if (err)
		return err;
	grt__lock();
	for (pp = &S.threads; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	grt__unlock();
	free(t);
	return 0;
}

/* Teardown: every server thread has been joined. */
void grt__threads_free_all(void)
{
	struct grt_thread *t, *n;

	for (t = S.threads; t; t = n) {
		n = t->next;
		free(t);
	}
	S.threads = NULL;
}

/*
 * sched.lock held (checkdead): does a mailbox hold a request? A server
 * counts as idle only while it holds its idle mark (tcall_idle()), and a
 * caller enqueues before it takes the mark, on an M that counts as
 * running: a request found here is one a caller is posting or a server
 * is about to take, not a deadlock.
 */
bool grt__threads_have_work(void)
{
	struct grt_thread *t;

	for (t = S.threads; t; t = t->next)
		if (!cds_wfcq_empty(&t->head, &t->tail))
			return true;
	return false;
}
