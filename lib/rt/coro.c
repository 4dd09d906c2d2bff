// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Coroutines (Go's runtime/coro.go): a direct G-to-G switch.
 *
 * c->gp holds the G blocked in the coroutine. A switch takes it with one
 * CAS (gp -> BUSY), makes it the M's current G and jumps straight onto
 * its stack: no g0, no run queue, no P or M change. The G that switched is
 * published in c->gp by the G that resumes, right after the jump, i.e.
 * only once nobody runs on its stack any more; a third G can therefore
 * never resume a G that is still switching out. One CAS and one store
 * per switch, where Go needs three CAS.
 *
 * The switch itself is grt_coro_switch()/grt_coro_exit() in
 * ctx_x86_64.S, which calls the two halves here:
 *
 *   grt__coro_prepare()  on the switcher's stack, after its registers are
 *			  saved: every check, the CAS, the hand-over of the
 *			  M; returns the two Gs (or a refusal);
 *   grt__coro_resumed()  on the resumed G's stack, right after the jump:
 *			  publishes (or frees) the switcher, drops the
 *			  resumed G's nopreempt.
 *
 * and then returns straight into the resumed G's caller. No C frame spans
 * the jump, so the returns of the two C halves are predicted like any
 * call; only the final return to the caller on the other side is an
 * indirect jump (which the branch predictor learns), instead of a C
 * function's ret that the return stack buffer mispredicts on every
 * switch (the caller it has is the switcher's, not the resumed G's).
 *
 * Ownership and ordering of c->gp:
 *   - A blocked G (a pointer) is owned by c: anyone may try to take it,
 *     and only the CAS gp -> BUSY does; the CAS (acquire) pairs with the
 *     release store that published the G, so everything the G and the G
 *     that published it wrote before that store is visible to the taker
 *     and to the taken G once it runs on the taker's M (the API's
 *     "the switcher's writes are visible to the G it switches to").
 *   - BUSY is owned by the G that stored it until the G it resumed
 *     replaces it: nobody else writes c->gp meanwhile (a second switcher
 *     sees BUSY or fails its CAS and aborts; grt_coro_free() returns
 *     -EBUSY), so that replacement is a plain store with release order,
 *     no RMW.
 *   - NULL (ended) is final: switches return -ESRCH, grt_coro_free()
 *     frees c.
 * The CAS is the one atomic RMW of a switch and about a quarter of its
 * cost (2-3 ns of 12 measured here; a plain load and store instead would
 * be 9). It stays: it is what makes two switches into one coroutine at
 * once a reported bug instead of one G running on two threads.
 * The fields of the two Gs and the M written by the hand-over (status,
 * m, curg, ...) belong to the M doing the switch: the switcher's G
 * stopped being anyone else's business when it called us, the resumed G
 * became ours with the CAS. The status stores are relaxed: the status
 * word is for diagnostics and for grt__ready()'s CAS, which nobody may
 * apply to a G blocked in a coroutine.
 *
 * Preemption: the switcher raises its nopreempt before anything changes
 * (acquirem) and leaves it raised while blocked in c; the resumed G
 * drops its own, raised when it switched out (or at creation: new Gs
 * start at 1), in grt__coro_resumed(). So m->curg->nopreempt > 0 at
 * every instruction from before the hand-over until that drop, which is
 * what keeps the preemption signal (which only detaches the P, never
 * switches) out of the switch. A preemption request that arrived
 * meanwhile is honoured by the resumed G there, as at the end of any
 * runtime call.
 *
 * Thread locks (Go #65889): the creator's lock state is recorded at
 * grt_coro_new(). A locked pair stays on that M and the lock (with its
 * nesting count) is donated to whichever G runs; a switch in any other
 * lock state is refused (-EPERM) before anything changes. Rationale: a
 * generator and its consumer are one logical thread of control, so
 * thread-affine code in either must keep seeing the same thread, and a
 * switch must never move a locked G off its thread nor run an unlocked
 * one on a thread that is reserved for a locked G. Everything locked,
 * ending, or odd takes coro_prepare_slow(); the fast path is an unlocked
 * pair of an unlocked creator switching back and forth.
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

static struct grt__coro_go coro_refuse(long err)
{
	return (struct grt__coro_go){ .err = err, .to = NULL };
}

/* The switch is on: m runs next from now on (see ownership above). */
static inline struct grt__coro_go coro_handover(struct grt_m *m,
						struct grt_g *gp,
						struct grt_g *next, bool exit)
{
	if (!exit) {
		gp->waitreason = "coroutine";
		atomic_store_explicit(&gp->status, GRT_GWAITING,
				      memory_order_relaxed);
	}
	gp->m = NULL;
	m->curg = next;
	next->m = m;
	atomic_store_explicit(&next->preempt, 0, memory_order_relaxed);
	atomic_store_explicit(&next->status, GRT_GRUNNING,
			      memory_order_relaxed);
	/* Last: nothing may run on this stack's fake frames after it. A
	 * dying G passes NULL so that ASan frees them. */
#ifdef GRT_ASAN
	grt__switch_fiber_start(exit ? NULL : &gp->asan_fake, &next->ctx);
#endif
	return (struct grt__coro_go){ .from = gp, .to = next };
}

/*
 * Everything but an unlocked, non-ending switch on an M that has its P:
 * the same checks in full, in the order the API documents them. Called
 * with gp's nopreempt raised (m may change in acquirem_slow).
 */
static __attribute__((noinline)) struct grt__coro_go
coro_prepare_slow(struct grt_coro *c, struct grt_m *m, struct grt_g *gp,
		  bool exit)
{
	struct grt_g *next;
	bool locked;

	if (gwi_unlikely(m->in_syscall))
		m = grt__acquirem_slow(m);
	locked = gp->lockedm != NULL;
	if ((c->mp || locked) &&
	    (m != c->mp || gp->lockcount != c->lockcount || gp->lockedint)) {
		grt__releasem(m);
		return coro_refuse(-EPERM);
	}
	next = atomic_load_explicit(&c->gp, memory_order_acquire);
	if (!next) {
		grt__releasem(m);
		return coro_refuse(-ESRCH);
	}
	if (exit && gp == grt__sched.maing) {
		grt__releasem(m);
		return coro_refuse(-EPERM);
	}
	if (next == gp) {
		grt__releasem(m);
		return coro_refuse(-EDEADLK);
	}
	if (next == CORO_BUSY ||
	    !atomic_compare_exchange_strong_explicit(&c->gp, &next, CORO_BUSY,
						     memory_order_acquire,
						     memory_order_relaxed))
		grt__fatal("concurrent grt_coro_switch on coroutine %p from "
			   "G%llu", (void *)c, (unsigned long long)gp->id);
	if (locked) {
		/* Donate the lock: the pair is one thread of control. */
		next->lockcount = gp->lockcount;
		gp->lockcount = 0;
		grt__unlockm(m, gp);
		grt__lockm(m, next, false);
	}
	return coro_handover(m, gp, next, exit);
}

/*
 * The first half of grt_coro_switch(c) (exit false) or grt_coro_exit(c)
 * (exit true), called by ctx_x86_64.S with the caller's callee-saved
 * registers and FP modes already saved on its stack. Either refuses
 * (.to NULL, .err the negative errno the API returns, nothing changed)
 * or hands the M over and returns the Gs to switch from and to.
 */
struct grt__coro_go grt__coro_prepare(struct grt_coro *c, bool exit)
{
	struct grt_m *m = grt__curm();
	struct grt_g *gp, *next;

	if (gwi_unlikely(!c))
		return coro_refuse(-EINVAL);
	if (gwi_unlikely(!m || !(gp = m->curg)))
		return coro_refuse(-EPERM);
	/* grt__acquirem(), its slow case in coro_prepare_slow. */
	gp->nopreempt++;
	__asm__ __volatile__("" ::: "memory");
	if (gwi_unlikely(m->in_syscall || exit || c->mp || gp->lockedm))
		return coro_prepare_slow(c, m, gp, exit);
	/* Relaxed: the CAS that takes it is the acquire. Ended (NULL),
	 * BUSY or ourselves: the slow path says which. */
	next = atomic_load_explicit(&c->gp, memory_order_relaxed);
	if (gwi_unlikely((uintptr_t)next <= (uintptr_t)CORO_BUSY ||
			 next == gp))
		return coro_prepare_slow(c, m, gp, exit);
	if (gwi_unlikely(!atomic_compare_exchange_strong_explicit(
				&c->gp, &next, CORO_BUSY, memory_order_acquire,
				memory_order_relaxed)))
		grt__fatal("concurrent grt_coro_switch on coroutine %p from "
			   "G%llu", (void *)c, (unsigned long long)gp->id);
	return coro_handover(m, gp, next, false);
}

/* A preemption request came while self was switched in: honour it now. */
static __attribute__((noinline)) int coro_preempted(void)
{
	grt__preempt_self();
	return 0;
}

/* grt__coro_resumed() after grt_coro_exit(): from is dead. */
static __attribute__((noinline)) int coro_resumed_ended(struct grt_g *from,
							struct grt_g *self,
							struct grt_coro *c)
{
	grt__gfree_now(from);
	atomic_store_explicit(&c->gp, NULL, memory_order_release);
	grt__releasem(self->m);
	return 1;
}

/*
 * The second half, on the resumed G self (now m->curg), called by
 * ctx_x86_64.S right after the jump; from's stack is no longer in use.
 * Returns what the resumed grt_coro_switch() returns: 1 if from ended.
 * The slow cases are tail calls, so that the common one needs no frame.
 */
int grt__coro_resumed(struct grt_g *from, struct grt_g *self,
		      struct grt_coro *c, bool exit)
{
#ifdef GRT_ASAN
	grt__switch_fiber_finish(self->asan_fake);
	self->asan_fake = NULL;
#endif
	if (gwi_unlikely(exit))
		return coro_resumed_ended(from, self, c);
	/* Release: see the ordering contract at the top. */
	atomic_store_explicit(&c->gp, from, memory_order_release);
	/* grt__releasem() of self, which raised it when it switched out. */
	__asm__ __volatile__("" ::: "memory");
	if (--self->nopreempt == 0 &&
	    gwi_unlikely(atomic_load_explicit(&self->preempt,
					      memory_order_relaxed)))
		return coro_preempted();
	return 0;
}

/*
 * First code of a coroutine's G, entered from the first switch into it
 * once grt__coro_resumed() has run (so xfer is its return value, 0, and
 * our nopreempt is already down to 0).
 */
static void corostart(struct grt_g *gp, void *xfer)
{
	struct grt_coro *c = gp->coro;
	int err;

	(void)xfer;
	gp->started = true;
	c->fn(c, c->arg);
	err = grt__coro_exit(c);
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
#ifdef GRT_ASAN
	g->asan_fake = NULL;	/* a recycled G may carry a stale one */
#endif
	atomic_store_explicit(&g->status, GRT_GWAITING, memory_order_relaxed);
	atomic_store_explicit(&c->gp, g, memory_order_release);
	grt__releasem(m);
	*out = c;
	return 0;
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
