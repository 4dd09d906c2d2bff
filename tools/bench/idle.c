// SPDX-License-Identifier: GPL-2.0
/*
 * idle: the CPU time a runtime burns while it has nothing to do: a few Gs
 * blocked on a channel, every M parked. getrusage(RUSAGE_SELF) user +
 * system time over a window of wall time, in microseconds of CPU per
 * second. The window is 10 slices (1 s by default), after 50 ms to let
 * start-up settle.
 */
#include <stdio.h>

#include "bench.h"

static double run_rt(const struct bench_variant *v, const char **why)
{
	(void)v;
	*why = "the runtime core (lib/rt) is not there yet";
	return -1;
}

static double run_go(const struct bench_variant *v, const char **why)
{
	char d[32];
	const char *argv[] = { "idle", "-d", d, NULL };

	(void)v;
	snprintf(d, sizeof(d), "%lld", (long long)(10 * bench_opts.slice_ns));
	return bench_go(bench_ncpus(), argv, why);
}

void bench_register_idle(void)
{
	struct bench_group g = {
		.id = "idle",
		.title = "CPU burned by an idle runtime (Gs blocked, Ms parked)",
		.unit = "us CPU per s",
		.reps = 3,
		.baseline = 1,
		.note = "Target: grt < 1000 us/s (1 ms of CPU per second).",
	};

	g.v[g.nv++] = (struct bench_variant){ .name = "grt", .run = run_rt };
	g.v[g.nv++] = (struct bench_variant){ .name = "Go", .run = run_go };
	bench_add_group(&g);
}
