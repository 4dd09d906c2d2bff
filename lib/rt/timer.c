// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Timers, per P (Go's p.timers): a binary min-heap of struct grt__timer on
 * when, under the P's timerlock. The P's owner runs its expired timers on
 * every scheduling round (findrunnable: one relaxed load of p->timer0 when
 * there are none); a spinning M runs the expired timers of other Ps in its
 * last stealing round; the monitor wakes an M when a timer of an idle P
 * expires and is the only thread that sleeps with a deadline.
 *
 * Timers live in the waiting G's stack (grt_sleep) and are added by the
 * park commit, i.e. once the G is off its stack: a timer can never fire
 * for a G that is still running. Nobody ever stops a sleep: its timer has
 * no owner lock, sequence number or reference (below), and costs what it
 * did before timers could be stopped, plus the store of t->p.
 *
 * Where a timer is
 * ----------------
 * t->p names the P whose heap holds t, NULL while t is on none. It is
 * written only under that P's timerlock: set by grt__timer_add(), cleared
 * by grt__timer_del() and by grt__timers_run() when it pops t. Anybody
 * finds t's heap by loading t->p and locking that P's timerlock; if t->p
 * changed meanwhile (t was popped, removed, or re-added elsewhere), it
 * unlocks and looks again. So a timer can be removed from any thread, an
 * M or not, whichever P it was added to; removal is O(log n) through the
 * index t->idx that the heap keeps up to date.
 *
 * Stop and reset against a fire (timer channels, lib/rt/timerchan.c;
 * context deadlines, lib/rt/context.c)
 * -----------------------------------------------------------------------
 * A popped timer's fn runs after the timerlock is released, on whichever
 * M popped it (the P's owner, a thief, a locked M), so a stop or reset
 * made on another M can fall between the pop and fn, or while fn runs.
 * The owner of a timer that can be stopped holds a lock of its own (the
 * timer channel's, the context's), and three rules make the race safe:
 *
 *  1. Sequence numbers. Under its lock, the owner keeps the number of its
 *     current arming in t->seq and changes it on every stop and reset,
 *     while t is on no heap (after grt__timer_del()). grt__timers_run()
 *     copies t->seq while t is still on the heap and passes the copy to
 *     fn; fn takes the owner's lock and acts only if its copy is still
 *     current. Everything a fire does that a stop must undo (the send of
 *     a timer channel) happens under the owner's lock, after that check.
 *     A stop, under the same lock, thus comes either wholly before the
 *     check (the fire is stale and does nothing) or wholly after the
 *     fire's effect (and undoes it: a timer channel's stop drains the
 *     value). Whether a stop found the timer pending is the owner's own
 *     "armed" flag, true from the arming until a fire of that arming took
 *     effect: a fire between the pop and fn still counts as pending.
 *
 *  2. References. The owner may free its object while a popped fire is
 *     on its way to fn. If t->ref is set, grt__timers_run() increments it
 *     under the timerlock, before it clears t->p; fn drops it when done.
 *     The owner frees by grt__timer_del() and then dropping its own
 *     reference: del sees t either on a heap (and takes it off: no pop
 *     can follow) or with p == NULL, after which every pop's increment is
 *     visible (rule 4). The last reference frees the object.
 *
 *  3. Eager removal. A stopped timer leaves the heap at once, and
 *     p->timer0 follows. It never keeps the deadlock check quiet
 *     (grt__checkdead() in proc.c reads timer0), never makes an M run
 *     timers for it, and never sets the monitor's deadline: a monitor
 *     already asleep until its time wakes up once, finds nothing due and
 *     sleeps on.
 *
 *  4. Memory ordering. t->p is stored with release under the timerlock
 *     and loaded with acquire without it. The owner's writes of when,
 *     seq, fn and ref before grt__timer_add() are published to the
 *     popper by the timerlock. The popper's reads of t (seq) and its
 *     increment of *t->ref (relaxed) come before its release store of
 *     p = NULL; an owner that loads NULL (acquire) may then rewrite t
 *     and sees the increment. The decrement of *t->ref is acq_rel, so
 *     whoever drops the last reference sees everything the others did
 *     with the object. A fire's effect and a stop are ordered by the
 *     owner's lock; the value a fire delivers travels through its
 *     channel, with the channel's ordering (include/gwake/rt.h).
 *
 * Lock order: the owner's lock, then a P's timerlock (del, add); a
 * timerlock is never held while fn runs or while another lock is taken.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched.h"

static void heap_swap(struct grt__timer **h, uint32_t a, uint32_t b)
{
	struct grt__timer *t = h[a];

	h[a] = h[b];
	h[b] = t;
	h[a]->idx = a;
	h[b]->idx = b;
}

static void heap_up(struct grt__timer **h, uint32_t i)
{
	while (i) {
		uint32_t parent = (i - 1) / 2;

		if (h[parent]->when <= h[i]->when)
			break;
		heap_swap(h, parent, i);
		i = parent;
	}
}

static void heap_down(struct grt__timer **h, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && h[l]->when < h[m]->when)
			m = l;
		if (r < n && h[r]->when < h[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

/* p->timerlock held. */
static void update_timer0(struct grt_p *p)
{
	atomic_store_explicit(&p->timer0, p->ntimers ? p->timers[0]->when : 0,
			      memory_order_relaxed);
}

/* Take the entry at i out of p's heap; p->timerlock held. */
static void heap_remove(struct grt_p *p, uint32_t i)
{
	uint32_t last = --p->ntimers;

	if (i != last) {
		p->timers[i] = p->timers[last];
		p->timers[i]->idx = i;
		/* Up if it beats its new parent; else (or then: a parent
		 * moved down here is no later than its old children) down. */
		heap_up(p->timers, i);
		heap_down(p->timers, p->ntimers, i);
	}
	update_timer0(p);
}

void grt__timer_add(struct grt_p *p, struct grt__timer *t)
{
	pthread_mutex_lock(&p->timerlock);
	if (p->ntimers == p->timerscap) {
		uint32_t cap = p->timerscap ? 2 * p->timerscap : 16;
		struct grt__timer **h = realloc(p->timers, cap * sizeof(*h));

		if (!h)
			grt__fatal("out of memory for timers");
		p->timers = h;
		p->timerscap = cap;
	}
	t->idx = p->ntimers;
	p->timers[p->ntimers++] = t;
	atomic_store_explicit(&t->p, p, memory_order_release);
	heap_up(p->timers, t->idx);
	update_timer0(p);
	pthread_mutex_unlock(&p->timerlock);
}

bool grt__timer_del(struct grt__timer *t)
{
	for (;;) {
		struct grt_p *p = atomic_load_explicit(&t->p,
						       memory_order_acquire);

		if (!p)
			return false;
		pthread_mutex_lock(&p->timerlock);
		/* Still there? It may have been popped (or moved) while we
		 * took the lock. */
		if (atomic_load_explicit(&t->p, memory_order_relaxed) == p) {
			heap_remove(p, t->idx);
			atomic_store_explicit(&t->p, NULL,
					      memory_order_release);
			pthread_mutex_unlock(&p->timerlock);
			return true;
		}
		pthread_mutex_unlock(&p->timerlock);
	}
}

/*
 * Run p's timers that expired at now. Their functions run with no lock
 * held (they ready Gs onto the caller's P). Returns true if any ran.
 *
 * The lock is taken, not tried: it used to be tried ("someone else is
 * running them"), but now a stop or reset on any thread holds it for a
 * moment too, and a P that skipped its round because of one could go
 * idle with an expired timer and leave it to the monitor's next tick.
 * Every holder keeps it for a heap operation, never longer.
 */
bool grt__timers_run(struct grt_p *p, int64_t now)
{
	bool ran = false;

	for (;;) {
		struct grt__timer *t;
		uint64_t seq;

		pthread_mutex_lock(&p->timerlock);
		if (!p->ntimers || p->timers[0]->when > now) {
			pthread_mutex_unlock(&p->timerlock);
			return ran;
		}
		t = p->timers[0];
		heap_remove(p, 0);
		/* Rules 1, 2 and 4 at the top: copy the arming, hold the
		 * owner's object, and only then let go of t. */
		seq = t->seq;
		if (t->ref)
			atomic_fetch_add_explicit(t->ref, 1,
						  memory_order_relaxed);
		atomic_store_explicit(&t->p, NULL, memory_order_release);
		pthread_mutex_unlock(&p->timerlock);
		t->fn(t, seq);
		ran = true;
	}
}

/*
 * The earliest timer of any P, or of the idle Ps only (idle: what an M
 * that sleeps for an idle runtime's timers waits for; a running P's are
 * its owner's, and the monitor's when late), 0 if none.
 */
int64_t grt__timers_earliest(bool idle)
{
	int64_t best = 0;
	uint32_t i;

	for (i = 0; i < grt__sched.nprocs; i++) {
		struct grt_p *p = grt__sched.allp[i];
		int64_t w = atomic_load(&p->timer0);

		if (w && (!best || w < best) &&
		    (!idle || atomic_load_explicit(&p->status,
						   memory_order_relaxed) ==
				      GRT_PIDLE))
			best = w;
	}
	return best;
}

void grt__timers_free(struct grt_p *p)
{
	uint32_t i;

	/* Still on a heap: a sleeper discarded with its G, a pending timer
	 * channel or context deadline, which its owner may stop or free
	 * after grt_run() returned. */
	for (i = 0; i < p->ntimers; i++)
		atomic_store_explicit(&p->timers[i]->p, NULL,
				      memory_order_relaxed);
	free(p->timers);
	p->timers = NULL;
	p->ntimers = p->timerscap = 0;
}

static void sleep_fire(struct grt__timer *t, uint64_t seq)
{
	(void)seq;
	grt__ready_fifo(t->g);
}

static bool sleep_commit(struct grt_g *gp, void *arg)
{
	struct grt__timer *t = arg;
	struct grt_m *m = grt__curm();

	t->g = gp;
	grt__timer_add(m->p, t);
	return true;
}

int grt_sleep(int64_t ns)
{
	struct grt__timer t = { .fn = sleep_fire };

	if (!grt__curg())
		return -EPERM;
	if (ns <= 0) {
		grt_yield();
		return 0;
	}
	t.when = grt__nanotime() + ns;
	grt__park(sleep_commit, &t, "sleep");
	return 0;
}
