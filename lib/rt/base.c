// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The runtime's leaf services: what every other file calls and that calls
 * nothing of the runtime back. The scheduler's state (grt__sched, one per
 * process) and the current M (grt__tls_m) are defined here; the fatal
 * error path, the clock, the per-M random numbers, the scheduler lock and
 * the sanitizer's fiber annotations live here too, so that the files that
 * call each other (proc.c, syscall.c, sysmon.c, timer.c, ...) are exactly
 * the scheduler, and not everything that needs a clock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sched.h"

#ifdef GRT_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

struct grt_sched grt__sched;
GWI_TLS struct grt_m *grt__tls_m;

void grt__fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("grt: fatal error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

int64_t grt__nanotime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t grt_now(void)
{
	return grt__nanotime();
}

uint32_t grt__fastrand(struct grt_m *m)
{
	/* xorshift32; per-M state, no sharing. */
	uint32_t x = m->fastrand;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	m->fastrand = x;
	return x;
}

void grt__lock(void)
{
	pthread_mutex_lock(&grt__sched.lock);
}

void grt__unlock(void)
{
	pthread_mutex_unlock(&grt__sched.lock);
}

/* ---- Sanitizer fiber annotations --------------------------------------- */

#ifdef GRT_ASAN
void grt__switch_fiber_start(void **fake, const struct grt__ctx *to)
{
	__sanitizer_start_switch_fiber(fake, to->stack_lo, to->stack_size);
}

void grt__switch_fiber_finish(void *fake)
{
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
}
#endif
