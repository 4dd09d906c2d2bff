// SPDX-License-Identifier: GPL-2.0
/*
 * skynet (github.com/atemerev/skynet): 1,000,000 leaf Gs in a tree of
 * tens (1,111,111 Gs in all); each leaf sends its number up a channel,
 * each inner G sums its ten children's and sends the sum to its parent.
 * The root checks the sum (499999500000). Reported in ms for the whole
 * tree, with as many Ps as CPUs on both sides.
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
	const char *argv[] = { "skynet", NULL };

	return bench_go((int)v->iarg, argv, why);
}

void bench_register_skynet(void)
{
	struct bench_group g = {
		.id = "skynet",
		.title = "1,000,000 leaf Gs in a tree of tens summing their ids",
		.unit = "ms for the whole tree",
		.reps = 3,
		.note = "Divide by 1,000,000 for the usual per-G figure. "
			"Target: grt faster than Go.",
	};

	g.v[g.nv++] = (struct bench_variant){
		.name = "grt, Ps = CPUs", .run = run_rt };
	g.baseline = g.nv;
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go, GOMAXPROCS = CPUs", .run = run_go,
		.iarg = bench_ncpus() };
	bench_add_group(&g);
}
