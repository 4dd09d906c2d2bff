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
 * backend learns from outcomes. Two quantities:
 *
 * The limit (process-wide): the longest spin worth making. A spin can save
 * at most what a sleep costs, and a sleep costs the hand-off that ends it
 * two things: the waker's FUTEX_WAKE system call S (an IPI, which in a VM
 * is a VM exit) and the sleeper's wakeup latency L (from the waker's
 * decision until the sleeper runs again: the IPI, a halted CPU to resume,
 * a context switch). Wakers measure S and woken sleepers measure L (the
 * waker stamps the slot, slots.h); the limit is 2 (S + L), moving
 * averages, clamped to [GWI_SPIN_MIN_NS, GWI_SPIN_MAX_NS]. That is the
 * classic competitive rule of spinning about as long as blocking costs,
 * and it follows the machine (S + L is ~10 us natively here, several times
 * that under QEMU's TCG) instead of being a constant that is wrong on one
 * of them. In ping-pong the limit must cover S + L, or a pair whose
 * threads both fell asleep never gets back to the state where both spin
 * and a round trip costs two cache-line transfers.
 *
 * The budget (per thread): how many pause iterations to spin in the next
 * block, at most the limit. A spin that catches the permit after c
 * iterations sets the budget to at least 2c (so it keeps catching hand-offs
 * of that latency, and doubles while they arrive near the end of the
 * budget), otherwise lets it decay by 1/8 towards what was actually needed.
 * A spin that fails halves it, and below a floor it drops to 0. At 0 the
 * thread cannot learn that spinning would pay again, so every skip-th block
 * it spins a full-length probe; a probe that fails doubles the interval
 * (up to GWI_SPIN_BACKOFF_MAX blocks), one that succeeds restores a budget.
 *
 * When spinning keeps failing (oversubscribed, or the waker pinned to our
 * CPU), the cost converges to one probe per GWI_SPIN_BACKOFF_MAX blocks,
 * i.e. plain futex. A system with one CPU never spins.
 *
 * The budget state is per thread and touched only by its owner. The limit
 * and the latency average are shared, updated racily with relaxed atomics:
 * they are estimates, and a lost update only delays convergence.
 */
#ifndef GWI_SPIN_H
#define GWI_SPIN_H

#include <stdatomic.h>
#include <stdint.h>

#include "compiler.h"

GWI_HIDDEN_BEGIN

#define GWI_SPIN_MIN_NS		1000u	/* limit bounds, in ns */
#define GWI_SPIN_MAX_NS		100000u
#define GWI_SPIN_S0_NS		5000u	/* S and L before they are measured */
#define GWI_SPIN_L0_NS		5000u
#define GWI_SPIN_BACKOFF_MIN	8u	/* blocks between probes, at first */
#define GWI_SPIN_BACKOFF_MAX	1024u	/* ... and at most */

struct gwi_spin {
	uint32_t budget;	/* pauses to spin in the next block */
	uint32_t skip;		/* blocks left before the next probe */
	uint32_t backoff;	/* the probe interval, in blocks */
};

/* The limit in pause iterations; 0 on a one-CPU system (never spin). */
extern _Atomic uint32_t gwi_spin_limit;

/* Measures a pause and sets the initial limit; at backend init (once per process). */
void gwi_spin_calibrate(void);

/*
 * Feed one sample into the averages and recompute the limit: the time of a
 * FUTEX_WAKE call, measured by the waker (S), and the time from a waker's
 * stamp to the woken sleeper running, measured by the sleeper (L).
 */
void gwi_spin_sample_futex_wake(uint32_t ns);
void gwi_spin_sample_wakeup(uint32_t ns);

/*
 * The number of pauses that takes about ns nanoseconds, at most n: caps a
 * spin by a timeout. Set once, before the backend is published.
 */
extern uint32_t gwi_pause_ps;

static inline uint32_t gwi_spin_clamp(uint32_t n, uint64_t ns)
{
	uint64_t max;

	if (ns >= GWI_SPIN_MAX_NS)	/* longer than any spin; no overflow */
		return n;
	max = ns * 1000 / gwi_pause_ps;
	return max < n ? (uint32_t)max : n;
}

static inline uint32_t gwi_spin_max(void)
{
	return atomic_load_explicit(&gwi_spin_limit, memory_order_relaxed);
}

/* Smaller budgets are not worth a spin: they become 0 (probing). */
static inline uint32_t gwi_spin_floor(uint32_t limit)
{
	return limit / 128 + 1;
}

/* The state of a newly registered thread: optimistic, a full budget. */
static inline void gwi_spin_init(struct gwi_spin *s)
{
	s->budget = gwi_spin_max();
	s->skip = 0;
	s->backoff = GWI_SPIN_BACKOFF_MIN;
}

/* How many pause iterations to spin in this block (0: sleep at once). */
static inline uint32_t gwi_spin_begin(struct gwi_spin *s)
{
	uint32_t limit = gwi_spin_max();

	if (s->budget)
		return s->budget < limit ? s->budget : limit;
	if (s->skip) {
		s->skip--;
		return 0;
	}
	return limit;	/* a probe; 0 on one CPU */
}

/* The spin caught the permit after used iterations. */
static inline void gwi_spin_won(struct gwi_spin *s, uint32_t used)
{
	uint32_t limit = gwi_spin_max();
	uint32_t b = s->budget;
	uint32_t need = 2 * used + gwi_spin_floor(limit);

	if (b < need)
		b = need;
	s->budget = b < limit ? b : limit;
	s->backoff = GWI_SPIN_BACKOFF_MIN;
}

/* The spin ran its whole length without a permit; the caller will sleep. */
static inline void gwi_spin_lost(struct gwi_spin *s)
{
	if (s->budget) {
		s->budget /= 2;
		if (s->budget >= gwi_spin_floor(gwi_spin_max()))
			return;
		s->budget = 0;
	} else if (s->backoff < GWI_SPIN_BACKOFF_MAX) {
		s->backoff *= 2;
	}
	s->skip = s->backoff;
}

GWI_HIDDEN_END

#endif /* GWI_SPIN_H */
