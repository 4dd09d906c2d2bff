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
 * needs no lock either), wake the server by its gwake handle if it sleeps,
 * and wait for the request's state word:
 *
 *	PENDING --server done--> DONE			caller never parked
 *	PENDING --caller parks--> PARKED --server--> DONE + grt__ready(caller)
 *
 * Both transitions out of PENDING are atomic (the caller's park commit is
 * a CAS, the server's completion an exchange), so exactly one side knows
 * whether the caller parked, and a completed call is never readied twice
 * or lost. A caller whose P has nothing else to run spins on the word for
 * a few microseconds first: a short call then completes with no thread
 * going to sleep and no scheduler involvement at all. The server spins on
 * its mailbox for a while after each call before it sleeps; "sleeping" is
 * published with a seq_cst store and re-checked against the mailbox,
 * against the callers' enqueue (an xchg) followed by a load of it: Dekker,
 * no lost wake-up.
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
#include "sched.h"

#define S grt__sched

/* How long the server polls its mailbox after a call, and how long a
 * caller with nothing else to do polls for its result. */
#define TCALL_SERVER_SPIN_NS	50000
#define TCALL_CALLER_SPIN_NS	20000

enum { REQ_PENDING, REQ_PARKED, REQ_DONE };

struct tcall_req {
	struct cds_wfcq_node node;
	long (*fn)(void *);
	void *arg;
	long ret;
	int err;
	bool stop;
	struct grt_g *g;
	_Atomic uint32_t state;
};

struct grt_thread {
	/* The mailbox. Enqueue: any G, no lock. Dequeue: the server only. */
	struct __cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	/* Bit 0: stopped. Bits 1..: callers between check and enqueue. */
	_Atomic uint32_t state;
	/* 1 while the server sleeps (or is about to) on its wake word. */
	_Atomic uint32_t sleeping;
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

	r->ret = ret;
	r->err = err;
	/* acq_rel: publishes ret/err (and fn's writes) to the caller; after
	 * this the request (on the caller's stack) may be gone. */
	if (atomic_exchange_explicit(&r->state, REQ_DONE,
				     memory_order_acq_rel) == REQ_PARKED)
		grt__ready(g);
}

static struct tcall_req *mailbox_get(struct grt_thread *t)
{
	struct cds_wfcq_node *node;

	if (cds_wfcq_empty(&t->head, &t->tail))
		return NULL;
	node = __cds_wfcq_dequeue_blocking(&t->head, &t->tail);
	return node ? caa_container_of(node, struct tcall_req, node) : NULL;
}

/* After fn: if it took a P (it called the runtime), give it back. */
static struct grt_m *back_to_syscall_state(void)
{
	struct grt_m *m = grt__curm();
	struct grt_g *gp = m->curg;

	if (!m->in_syscall) {
		gp->nopreempt++;
		grt__entersyscall(m, gp);
		grt__entersyscall_block(m);
		gp->nopreempt--;
	}
	return m;
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

static void tcall_serve(void *arg)
{
	struct grt_thread *t = arg;
	struct grt_m *m = grt__curm();
	struct tcall_req *r, *stopreq = NULL;
	int64_t until;
	uint32_t i;

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
			ret = r->fn(r->arg);
			m = back_to_syscall_state();
			complete(r, ret, 0);
			continue;
		}
		if (atomic_load(&S.stopping))
			break;
		/* Callers are active: poll a while before sleeping. */
		until = grt__nanotime() + TCALL_SERVER_SPIN_NS;
		for (i = 1;; i++) {
			if (!cds_wfcq_empty(&t->head, &t->tail))
				break;
			if (!(i & 255) && grt__nanotime() > until)
				break;
			gwi_cpu_relax();
		}
		if (!cds_wfcq_empty(&t->head, &t->tail))
			continue;
		/*
		 * Counted idle before sleeping is visible; the caller that
		 * clears sleeping uncounts us (before it can go idle itself,
		 * so that no false deadlock is seen in between).
		 */
		atomic_fetch_add(&S.nmidlelocked, 1);
		atomic_store(&t->sleeping, 1);
		if (cds_wfcq_empty(&t->head, &t->tail) &&
		    !atomic_load(&S.stopping)) {
			grt__lock();
			grt__checkdead();
			grt__unlock();
			while (atomic_load(&t->sleeping) &&
			       !atomic_load(&S.stopping))
				(void)gwake_block(-1);
		}
		if (atomic_exchange(&t->sleeping, 0))
			atomic_fetch_sub(&S.nmidlelocked, 1);
	}
	if (stopreq) {
		atomic_fetch_or(&t->state, 1);
		drain_stopped(t);
		atomic_store(&t->exited, 1);
		complete(stopreq, 0, 0);
	}
	/* t may be freed from here on. The G ends, and so does its thread. */
	m = grt__curm();
	m->in_syscall = false;
	atomic_fetch_sub(&S.nmsyscall, 1);
}

static void *tcall_mbody(struct grt_m *m)
{
	struct grt_thread *t = m->start_arg;
	struct grt_g *gp = t->g;

	gp->lockedm = m;
	gp->lockedint = true;
	m->lockedg = gp;
	m->in_syscall = true;
	atomic_fetch_add(&S.nmsyscall, 1);
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

/* Enqueue r on t unless t is stopped. */
static int tcall_post(struct grt_thread *t, struct tcall_req *r)
{
	if (atomic_fetch_add(&t->state, 2) & 1) {
		atomic_fetch_sub(&t->state, 2);
		return -ESRCH;
	}
	cds_wfcq_node_init(&r->node);
	/* An xchg: a full barrier before the load of sleeping. */
	cds_wfcq_enqueue(&t->head, &t->tail, &r->node);
	atomic_fetch_sub(&t->state, 2);
	if (atomic_load(&t->sleeping) && atomic_exchange(&t->sleeping, 0)) {
		atomic_fetch_sub(&S.nmidlelocked, 1);
		gwake_wake(t->m->handle);
	}
	return 0;
}

static void tcall_wait(struct tcall_req *r)
{
	struct grt_m *m = grt__acquirem();
	bool spin, pin;
	int64_t until;
	uint32_t i;

	/* Spin only if this P has nothing else to do. */
	spin = m->p && grt__runqempty(m->p) &&
	       cds_wfcq_empty(&S.gqhead, &S.gqtail);
	grt__releasem(m);
	if (spin) {
		until = grt__nanotime() + TCALL_CALLER_SPIN_NS;
		for (i = 1;; i++) {
			if (atomic_load_explicit(&r->state,
						 memory_order_acquire) ==
			    REQ_DONE)
				return;
			if (!(i & 255) && grt__nanotime() > until)
				break;
			gwi_cpu_relax();
		}
	}
	if (atomic_load_explicit(&r->state, memory_order_acquire) != REQ_DONE) {
		struct grt_g *gp;

		/*
		 * Nothing else to run here: wait as a locked G does -- the
		 * P goes back to the idle set, this M sleeps on its own wake
		 * word, and the server's grt__ready() wakes exactly this M
		 * by handle. Parking through the scheduler instead would
		 * have the server ready us through the global queue and
		 * wakep(), which wakes an arbitrary idle M (and that one
		 * another spinner): three thread wake-ups per call instead
		 * of one when the CPUs are oversubscribed and spinning
		 * fails.
		 */
		m = grt__acquirem();
		gp = m->curg;
		pin = spin && !gp->lockedm;
		if (pin) {
			gp->lockedm = m;
			m->lockedg = gp;
		}
		grt__releasem(m);
		grt__park(tcall_commit, r, "thread call");
		if (pin) {
			m = grt__acquirem();
			gp->lockedm = NULL;
			m->lockedg = NULL;
			grt__releasem(m);
		}
	}
	/* Acquire: pairs with complete()'s exchange. */
	(void)atomic_load_explicit(&r->state, memory_order_acquire);
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
		return 0;
	}
	r.g = m->curg;
	err = tcall_post(t, &r);
	if (err)
		return err;
	tcall_wait(&r);
	if (!r.err && ret)
		*ret = r.ret;
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
	r.g = m->curg;
	err = tcall_post(t, &r);
	if (err)
		return err;
	tcall_wait(&r);
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
 * sched.lock held (checkdead): a server counts as idle from just before
 * it publishes "sleeping" until it has looked at its mailbox once more,
 * so a non-empty mailbox means it is about to run, not a deadlock.
 */
bool grt__threads_have_work(void)
{
	struct grt_thread *t;

	for (t = S.threads; t; t = t->next)
		if (!cds_wfcq_empty(&t->head, &t->tail))
			return true;
	return false;
}
