// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Coroutines (Go's runtime/coro.go): a direct G-to-G switch.
 *
 * c->gp holds the G blocked in the coroutine. A switch takes it with one
 * CAS (gp -> BUSY), makes it the M's current G and jumps straight onto
 * its stack: no g0, no run queue, no P or M change. The G that switched is
 * published in c->gp by the G that resumes, right after the jump (the
 * "transfer" value grt__ctx_swap hands over), i.e. only once nobody runs
 * on its stack any more; a third G can therefore never resume a G that
 * is still switching out. One CAS and one store per switch, where Go
 * needs three CAS.
 *
 * Thread locks (Go #65889): the creator's lock state is recorded at
 * grt_coro_new(). A locked pair stays on that M and the lock (with its
 * nesting count) is donated to whichever G runs; a switch in any other
 * lock state is refused (-EPERM) before anything changes. Rationale: a
 * generator and its consumer are one logical thread of control, so
 * thread-affine code in either must keep seeing the same thread, and a
 * switch must never move a locked G off its thread nor run an unlocked
 * one on a thread that is reserved for a locked G.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched.h"

#define CORO_BUSY	((struct grt_g *)(uintptr_t)1)

struct grt_coro {
	struct grt_g *_Atomic gp;	/* blocked G, BUSY, or NULL: ended */
	void (*fn)(struct grt_coro *c, void *arg);
	void *arg;
	/* Lock state of the creator: mp NULL if it was not locked. */
	struct grt_m *mp;
	uint32_t lockcount;
};

#define coro_xfer grt__xfer

/* On the G just resumed: finish what the switcher could not. */
static int coro_finish(struct coro_xfer *x)
{
	if (x->exit) {
		grt__gfree_now(x->from);
		atomic_store_explicit(&x->c->gp, NULL, memory_order_release);
		return 1;
	}
	/* Release: the switcher's writes before the switch are visible to
	 * whoever switches to it through c next. */
	atomic_store_explicit(&x->c->gp, x->from, memory_order_release);
	return 0;
}

static int coro_switch(struct grt_coro *c, bool exit)
{
	struct grt_m *m = grt__acquirem();
	struct grt_g *gp = m ? m->curg : NULL, *next;
	struct coro_xfer xfer = { .kind = GRT_X_CORO, .c = c, .exit = exit };
	struct coro_xfer *x;
	void *fake = NULL;
	bool locked;

	if (!gp)
		return -EPERM;
	locked = gp->lockedm != NULL;
	if ((c->mp || locked) &&
	    (m != c->mp || gp->lockcount != c->lockcount || gp->lockedint)) {
		grt__releasem(m);
		return -EPERM;
	}
	next = atomic_load_explicit(&c->gp, memory_order_acquire);
	if (!next) {
		grt__releasem(m);
		return -ESRCH;
	}
	if (exit && gp == grt__sched.maing) {
		grt__releasem(m);
		return -EPERM;
	}
	if (next == gp) {
		grt__releasem(m);
		return -EDEADLK;
	}
	if (next == CORO_BUSY ||
	    !atomic_compare_exchange_strong_explicit(&c->gp, &next, CORO_BUSY,
						     memory_order_acquire,
						     memory_order_relaxed))
		grt__fatal("concurrent grt_coro_switch on coroutine %p from "
			   "G%llu", (void *)c, (unsigned long long)gp->id);
	if (locked) {
		/* Donate the lock: the pair is one thread of control. */
		next->lockedm = m;
		next->lockcount = gp->lockcount;
		m->lockedg = next;
		gp->lockedm = NULL;
		gp->lockcount = 0;
	}
	if (!exit) {
		gp->waitreason = "coroutine";
		atomic_store_explicit(&gp->status, GRT_GWAITING,
				      memory_order_relaxed);
	}
	gp->m = NULL;
	m->curg = next;
	next->m = m;
	next->started = true;
	atomic_store_explicit(&next->preempt, 0, memory_order_relaxed);
	atomic_store_explicit(&next->status, GRT_GRUNNING,
			      memory_order_relaxed);
	xfer.from = gp;
	grt__switch_fiber_start(exit ? NULL : &fake, &next->ctx);
	x = grt__ctx_swap(&gp->ctx, &next->ctx, &xfer);
	if (exit)
		__builtin_unreachable();
	grt__switch_fiber_finish(fake);
	m = grt__curm();
	exit = coro_finish(x);
	grt__releasem(m);
	return exit;
}

static void corostart(struct grt_g *gp, void *xfer)
{
	struct grt_coro *c = gp->coro;
	int err;

	grt__switch_fiber_finish(NULL);
	coro_finish(xfer);
	gp->nopreempt--;	/* new Gs start at 1: see grt__gentry */
	c->fn(c, c->arg);
	err = coro_switch(c, true);
	grt__fatal("coroutine %p: G%llu cannot end: error %d (its thread "
		   "lock state differs from the one at grt_coro_new)",
		   (void *)c, (unsigned long long)gp->id, err);
}

int grt_coro_new(struct grt_coro **out,
		 void (*fn)(struct grt_coro *c, void *arg), void *arg)
{
	struct grt_m *m;
	struct grt_g *gp, *g;
	struct grt_coro *c;

	if (!out || !fn)
		return -EINVAL;
	m = grt__acquirem();
	gp = m ? m->curg : NULL;
	if (!gp)
		return -EPERM;
	c = calloc(1, sizeof(*c));
	if (!c) {
		grt__releasem(m);
		return -ENOMEM;
	}
	g = grt__galloc(NULL, NULL, corostart);
	if (!g) {
		grt__releasem(m);
		free(c);
		return -EAGAIN;
	}
	c->fn = fn;
	c->arg = arg;
	if (gp->lockedm) {
		c->mp = m;
		c->lockcount = gp->lockcount;
	}
	g->coro = c;
	g->waitreason = "coroutine";
	atomic_store_explicit(&g->status, GRT_GWAITING, memory_order_relaxed);
	atomic_store_explicit(&c->gp, g, memory_order_release);
	grt__releasem(m);
	*out = c;
	return 0;
}

int grt_coro_switch(struct grt_coro *c)
{
	if (!c)
		return -EINVAL;
	return coro_switch(c, false);
}

int grt_coro_exit(struct grt_coro *c)
{
	if (!c)
		return -EINVAL;
	return coro_switch(c, true);
}

int grt_coro_free(struct grt_coro *c)
{
	struct grt_g *g;

	if (!c)
		return -EINVAL;
	g = atomic_load_explicit(&c->gp, memory_order_acquire);
	if (g == CORO_BUSY)
		return -EBUSY;
	if (g) {
		if (!atomic_compare_exchange_strong(&c->gp, &g, NULL))
			return -EBUSY;
		grt__gfree_now(g);
	}
	free(c);
	return 0;
}
