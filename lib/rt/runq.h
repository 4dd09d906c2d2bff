/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Run queues (runq.c): the fast paths, inline, because the scheduler runs
 * them on every G switch (a call into another file cost grt_yield about
 * 1 ns of its 25); the slow paths (overflow, stealing, the global queue's
 * batches) are in runq.c. Ownership and ordering rules are at the top of
 * runq.c; "owner only" means the M holding the P.
 */
#ifndef GWAKE_LIB_RT_RUNQ_H
#define GWAKE_LIB_RT_RUNQ_H

#include "sched.h"

void grt__runq_init(void);
void grt__globrunqput(struct grt_g *gp);
struct grt_g *grt__globrunqget(struct grt_p *p, uint32_t max);
void grt__runqput(struct grt_p *p, struct grt_g *gp, bool next);
struct grt_g *grt__runqsteal(struct grt_p *p, struct grt_p *p2,
			     bool steal_next);
/*
 * The sleep of a thief's back-off before it takes a busy P's run-next G
 * (runq.c, runnext_wait()). A variable only so that the white-box tests
 * (selftests/rt_runq_test.c) can stand in for the owner during it.
 */
extern void (*grt__steal_sleep)(void);
/* Overflow of a full ring, from grt__runqput_tail(). Owner only. */
bool grt__runqputslow(struct grt_p *p, struct grt_g *gp, uint32_t h,
		       uint32_t t);

static inline bool grt__gq_empty(void)
{
	return cds_wfcq_empty(&grt__sched.gqhead, &grt__sched.gqtail);
}

static inline void grt__lifo_lock(struct grt_p *p)
{
	while (atomic_exchange_explicit(&p->lifolock, 1,
					memory_order_acquire))
		while (atomic_load_explicit(&p->lifolock,
					    memory_order_relaxed))
			gwi_cpu_relax();
}

static inline void grt__lifo_unlock(struct grt_p *p)
{
	atomic_store_explicit(&p->lifolock, 0, memory_order_release);
}

static inline struct grt_g *grt__lifo_pop(struct grt_p *p)
{
	struct grt_g *gp = NULL;
	uint32_t n;

	if (!atomic_load_explicit(&p->nlifo, memory_order_relaxed))
		return NULL;
	grt__lifo_lock(p);
	n = atomic_load_explicit(&p->nlifo, memory_order_relaxed);
	if (n) {
		gp = p->lifo[n - 1];
		atomic_store_explicit(&p->nlifo, n - 1, memory_order_relaxed);
	}
	grt__lifo_unlock(p);
	return gp;
}

/* Owner only: enqueue at the tail of the ring (or overflow). */
static inline void grt__runqput_tail(struct grt_p *p, struct grt_g *gp)
{
	uint32_t h, t;

	for (;;) {
		h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
		if (t - h < GRT_RUNQ_SIZE) {
			atomic_store_explicit(&p->runq[t % GRT_RUNQ_SIZE], gp,
					      memory_order_relaxed);
			/* Release: the slot is written before a consumer
			 * can see the new tail. */
			atomic_store_explicit(&p->runqtail, t + 1,
					      memory_order_release);
			return;
		}
		if (grt__runqputslow(p, gp, h, t))
			return;
	}
}

/* Owner only. *inherit: gp came from runnext (inherits the time slice). */
static inline struct grt_g *grt__runqget(struct grt_p *p, bool *inherit)
{
	struct grt_g *gp;
	uint32_t h, t;

	gp = atomic_load_explicit(&p->runnext, memory_order_relaxed);
	if (gp && atomic_compare_exchange_strong_explicit(
			&p->runnext, &gp, NULL, memory_order_acquire,
			memory_order_relaxed)) {
		*inherit = true;
		return gp;
	}
	*inherit = false;
	gp = grt__lifo_pop(p);
	if (gp)
		return gp;
	for (;;) {
		h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
		if (t == h)
			return NULL;
		gp = atomic_load_explicit(&p->runq[h % GRT_RUNQ_SIZE],
					  memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(
				&p->runqhead, &h, h + 1, memory_order_release,
				memory_order_relaxed))
			return gp;
	}
}

static inline bool grt__runqempty(struct grt_p *p)
{
	uint32_t h, t;

	/* A snapshot: exact for the owner, a hint for anyone else. */
	h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
	t = atomic_load_explicit(&p->runqtail, memory_order_acquire);
	return t == h &&
	       !atomic_load_explicit(&p->runnext, memory_order_acquire) &&
	       !atomic_load_explicit(&p->nlifo, memory_order_acquire);
}

/* Does any P's queue (ring, run-next or LIFO) hold Gs? A snapshot. */
static inline bool grt__runq_any(void)
{
	uint32_t i;

	for (i = 0; i < grt__sched.nprocs; i++)
		if (!grt__runqempty(grt__sched.allp[i]))
			return true;
	return false;
}

#endif
