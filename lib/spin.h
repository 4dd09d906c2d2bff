/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgwake internals: how long the user backend spins before it sleeps.
 *
 * Spinning before FUTEX_WAIT pays when the waker is running on another CPU
 * and is about to wake us: a hand-off then costs a cache-line transfer
 * instead of a futex sleep, a wakeup IPI and a context switch (BRIEF §4:
 * 10x faster natively). It is a disaster when the waker cannot run because
 * we hold its CPU: with more runnable threads than CPUs, a blind spin of a
 * few thousand pauses made a ping-pong 1000x slower than plain futex.
 * Userspace cannot ask the kernel whether the waker is on a CPU, so the
 * backend learns it from outcomes, per thread:
 *
 *  - budget: how many pause iterations to spin in the next block. A spin
 *    that catches the permit after c iterations sets the budget to at least
 *    2c (so it keeps catching hand-offs of that latency, and doubles while
 *    they come near the end of the budget), otherwise lets it decay by 1/8
 *    towards what was actually needed. A spin that fails halves it, and
 *    below a floor it drops to 0.
 *  - probes: at budget 0 the thread does not spin, so it cannot learn that
 *    spinning would pay again. Every skip-th block it spins a short probe;
 *    a probe that fails doubles the interval (up to GWI_SPIN_BACKOFF_MAX
 *    blocks), one that succeeds restores a budget and the short interval.
 *
 * When spinning keeps failing (oversubscribed, or waker pinned to our
 * CPU), the cost converges to one short probe per GWI_SPIN_BACKOFF_MAX
 * blocks, i.e. plain futex. The budget never exceeds gwi_spin_limit,
 * about GWI_SPIN_LIMIT_NS of pausing (calibrated at init, since a pause
 * costs from a few to 150 cycles depending on the CPU and is emulated under
 * QEMU). The limit is of the order of a futex sleep plus wakeup, which is
 * what a spin can save: spinning at most as long as blocking would cost
 * is the classic 2-competitive rule. A system with one CPU never spins.
 *
 * The state is per thread and touched only by its owner: no atomics.
 */
#ifndef GWI_SPIN_H
#define GWI_SPIN_H

#include <stdint.h>

#include "compiler.h"

GWI_HIDDEN_BEGIN

#define GWI_SPIN_LIMIT_NS	20000u	/* the longest spin, in ns */
#define GWI_SPIN_BACKOFF_MIN	8u	/* blocks between probes, at first */
#define GWI_SPIN_BACKOFF_MAX	1024u	/* ... and at most */

struct gwi_spin {
	uint32_t budget;	/* pauses to spin in the next block */
	uint32_t skip;		/* blocks left before the next probe */
	uint32_t backoff;	/* the probe interval, in blocks */
};

/*
 * The largest budget in pause iterations, 0 on a one-CPU system; set once
 * by gwi_spin_calibrate() before the backend is published.
 */
extern uint32_t gwi_spin_limit;

/* Measures a pause and sets gwi_spin_limit. */
void gwi_spin_calibrate(void);

/* Smaller budgets are not worth a spin: they become 0 (probing). */
static inline uint32_t gwi_spin_floor(void)
{
	return gwi_spin_limit / 128 + 1;
}

/* The state of a newly registered thread: an optimistic half budget. */
static inline void gwi_spin_init(struct gwi_spin *s)
{
	s->budget = gwi_spin_limit / 2;
	s->skip = 0;
	s->backoff = GWI_SPIN_BACKOFF_MIN;
}

/* How many pause iterations to spin in this block (0: sleep at once). */
static inline uint32_t gwi_spin_begin(struct gwi_spin *s)
{
	if (s->budget)
		return s->budget;
	if (s->skip) {
		s->skip--;
		return 0;
	}
	return gwi_spin_limit / 8;	/* a probe; 0 on one CPU */
}

/* The spin caught the permit after used iterations. */
static inline void gwi_spin_won(struct gwi_spin *s, uint32_t used)
{
	uint32_t b = s->budget - s->budget / 8;
	uint32_t need = 2 * used + gwi_spin_floor();

	if (b < need)
		b = need;
	s->budget = b < gwi_spin_limit ? b : gwi_spin_limit;
	s->backoff = GWI_SPIN_BACKOFF_MIN;
}

/* The spin ran its whole length without a permit; the caller will sleep. */
static inline void gwi_spin_lost(struct gwi_spin *s)
{
	if (s->budget) {
		s->budget /= 2;
		if (s->budget >= gwi_spin_floor())
			return;
		s->budget = 0;
	} else if (s->backoff < GWI_SPIN_BACKOFF_MAX) {
		s->backoff *= 2;
	}
	s->skip = s->backoff;
}

GWI_HIDDEN_END

#endif /* GWI_SPIN_H */
