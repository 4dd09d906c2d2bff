// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgwake: the user backend's spin limit (see spin.h): the cost of one
 * pause, measured once, and the cost of a sleep, measured continuously.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "deadline.h"
#include "spin.h"

#define CAL_PAUSES	128u
#define CAL_ROUNDS	5

_Atomic uint32_t gwi_spin_limit;

/* Written once by gwi_spin_calibrate(), before the backend is published. */
static bool spin_disabled;
uint32_t gwi_pause_ps = 1000;		/* picoseconds per gwi_cpu_relax() */

/* Moving averages of S and L in ns (estimates: updated racily). */
static _Atomic uint32_t futex_wake_ns = GWI_SPIN_S0_NS;
static _Atomic uint32_t wakeup_ns = GWI_SPIN_L0_NS;

static uint32_t limit_for(uint32_t s_ns, uint32_t l_ns)
{
	uint64_t ns = 2 * ((uint64_t)s_ns + l_ns);

	if (ns < GWI_SPIN_MIN_NS)
		ns = GWI_SPIN_MIN_NS;
	if (ns > GWI_SPIN_MAX_NS)
		ns = GWI_SPIN_MAX_NS;
	return (uint32_t)(ns * 1000 / gwi_pause_ps);
}

static void spin_calibrate_once(void);

/*
 * Both backends calibrate on init, and gwake-bench initialises both: the
 * measurement runs once per process, whoever asks first.
 */
void gwi_spin_calibrate(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, spin_calibrate_once);
}

static void spin_calibrate_once(void)
{
	uint64_t best = UINT64_MAX, ps;
	int round;

	/*
	 * One CPU: the thread that would wake us cannot run while we spin,
	 * so spinning can only delay it. (A process pinned to one CPU of
	 * several is caught by the adaptive budget instead: affinity can
	 * change at any time, the CPU count practically cannot.)
	 */
	if (sysconf(_SC_NPROCESSORS_ONLN) <= 1) {
		spin_disabled = true;
		atomic_store_explicit(&gwi_spin_limit, 0, memory_order_relaxed);
		return;
	}
	/*
	 * A pause costs from a few cycles to 150 (Skylake and later), and
	 * whatever QEMU makes of it. The fastest of a few rounds: preemption
	 * only makes a round slower.
	 */
	for (round = 0; round < CAL_ROUNDS; round++) {
		uint64_t t0 = gwi_now_ns(), t;
		unsigned int i;

		for (i = 0; i < CAL_PAUSES; i++)
			gwi_cpu_relax();
		t = gwi_now_ns() - t0;
		if (t < best)
			best = t;
	}
	ps = best * 1000 / CAL_PAUSES;
	if (ps < 100)		/* < 0.1 ns: the clock is too coarse to tell */
		ps = 100;
	if (ps > 10000000)	/* > 10 us a pause: absurd, keep spins short */
		ps = 10000000;
	gwi_pause_ps = (uint32_t)ps;
	atomic_store_explicit(&gwi_spin_limit, limit_for(GWI_SPIN_S0_NS, GWI_SPIN_L0_NS),
			      memory_order_relaxed);
}

/* avg += (sample - avg) / 8, then a new limit from both averages. */
static void sample(_Atomic uint32_t *avg, uint32_t ns)
{
	uint32_t a;

	if (spin_disabled)
		return;
	/*
	 * A sleeper that waited for a CPU for milliseconds says the machine
	 * is busy, not that spinning for milliseconds would pay: samples
	 * beyond the largest limit count as that limit.
	 */
	if (ns > GWI_SPIN_MAX_NS)
		ns = GWI_SPIN_MAX_NS;
	a = atomic_load_explicit(avg, memory_order_relaxed);
	a = a - a / 8 + ns / 8;
	atomic_store_explicit(avg, a, memory_order_relaxed);
	atomic_store_explicit(&gwi_spin_limit,
			      limit_for(atomic_load_explicit(&futex_wake_ns,
							     memory_order_relaxed),
					atomic_load_explicit(&wakeup_ns,
							     memory_order_relaxed)),
			      memory_order_relaxed);
}

void gwi_spin_sample_futex_wake(uint32_t ns)
{
	sample(&futex_wake_ns, ns);
}

void gwi_spin_sample_wakeup(uint32_t ns)
{
	sample(&wakeup_ns, ns);
}
