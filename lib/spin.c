// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgwake: calibration of the user backend's spin limit (see spin.h).
 */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "spin.h"

#define CAL_PAUSES	128u
#define CAL_ROUNDS	5

uint32_t gwi_spin_limit;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void gwi_spin_calibrate(void)
{
	uint64_t best = UINT64_MAX, limit;
	int round;

	/*
	 * One CPU: the thread that would wake us cannot run while we spin,
	 * so spinning can only delay it. (A process pinned to one CPU of
	 * several is caught by the adaptive budget instead: affinity can
	 * change at any time, the CPU count practically cannot.)
	 */
	if (sysconf(_SC_NPROCESSORS_ONLN) <= 1) {
		gwi_spin_limit = 0;
		return;
	}
	/* The fastest of a few rounds: preemption only makes rounds slower. */
	for (round = 0; round < CAL_ROUNDS; round++) {
		uint64_t t0 = now_ns(), t;
		unsigned int i;

		for (i = 0; i < CAL_PAUSES; i++)
			gwi_cpu_relax();
		t = now_ns() - t0;
		if (t < best)
			best = t;
	}
	if (!best)
		best = 1;
	limit = (uint64_t)GWI_SPIN_LIMIT_NS * CAL_PAUSES / best;
	/* Sane bounds whatever the clock said: 64 pauses .. 2^20. */
	if (limit < 64)
		limit = 64;
	if (limit > 1u << 20)
		limit = 1u << 20;
	gwi_spin_limit = (uint32_t)limit;
}
