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
 * for a G that is still running.
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
	heap_up(p->timers, t->idx);
	update_timer0(p);
	pthread_mutex_unlock(&p->timerlock);
}

/*
 * Run p's timers that expired at now. Their functions run with no lock
 * held (they ready Gs onto the caller's P). Returns true if any ran.
 */
bool grt__timers_run(struct grt_p *p, int64_t now)
{
	bool ran = false;

	for (;;) {
		struct grt__timer *t;

		if (pthread_mutex_trylock(&p->timerlock))
			return ran;	/* someone else is at it */
		if (!p->ntimers || p->timers[0]->when > now) {
			pthread_mutex_unlock(&p->timerlock);
			return ran;
		}
		t = p->timers[0];
		p->timers[0] = p->timers[--p->ntimers];
		p->timers[0]->idx = 0;
		if (p->ntimers)
			heap_down(p->timers, p->ntimers, 0);
		update_timer0(p);
		pthread_mutex_unlock(&p->timerlock);
		t->fn(t);
		ran = true;
	}
}

int64_t grt__timers_earliest(void)
{
	int64_t best = 0;
	uint32_t i;

	for (i = 0; i < grt__sched.nprocs; i++) {
		int64_t w = atomic_load(&grt__sched.allp[i]->timer0);

		if (w && (!best || w < best))
			best = w;
	}
	return best;
}

void grt__timers_free(struct grt_p *p)
{
	free(p->timers);
	p->timers = NULL;
	p->ntimers = p->timerscap = 0;
}

static void sleep_fire(struct grt__timer *t)
{
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
