// SPDX-License-Identifier: GPL-2.0
/*
 * rt: micro-benchmarks of the runtime, each against Go's equivalent.
 *
 *   rt/gswitch  two Gs yield to each other on one P (grt_yield with one
 *               P; Go: runtime.Gosched at GOMAXPROCS=1). ns per switch.
 *   rt/coro     a coroutine switch (grt_coro_*); Go's equivalent,
 *               iter.Pull over runtime.coroswitch, appeared in Go 1.23 and
 *               is not in Debian 12's Go 1.19. ns per switch.
 *   rt/spawn    spawn a G that runs a trivial function and exits, waiting
 *               for a batch with a wait group. ns per G.
 *   rt/chan     two Gs ping-pong over two unbuffered channels, with one P
 *               and with two. ns per round trip.
 */
#include <stdio.h>

#include "bench.h"

enum micro {
	U_GSWITCH,
	U_CORO,
	U_SPAWN,
	U_CHAN,
};

/* iarg: micro | nprocs << 8 */
static double run_rt(const struct bench_variant *v, const char **why)
{
	(void)v;
	*why = "the runtime core (lib/rt) is not there yet";
	return -1;
}

/* arg: the Go scenario; iarg: GOMAXPROCS */
static double run_go(const struct bench_variant *v, const char **why)
{
	char d[32];
	const char *argv[] = { v->arg, "-d", d, NULL };

	snprintf(d, sizeof(d), "%lld", (long long)bench_opts.slice_ns);
	return bench_go((int)v->iarg, argv, why);
}

static double not_in_go119(const struct bench_variant *v, const char **why)
{
	(void)v;
	*why = "iter.Pull (runtime.coroswitch) is Go 1.23; Debian 12 has 1.19";
	return -1;
}

void bench_register_rt_micro(void)
{
	struct bench_group g;

	g = (struct bench_group){
		.id = "rt/gswitch",
		.title = "G switch: two Gs yield to each other on one P",
		.unit = "ns per switch",
		.note = "Target: grt < 25 ns.",
	};
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt_yield, 1 P", .run = run_rt,
		.iarg = U_GSWITCH | 1 << 8 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go Gosched, GOMAXPROCS=1", .run = run_go,
		.arg = "gosched", .iarg = 1 };
	g.baseline = 1;
	bench_add_group(&g);

	g = (struct bench_group){
		.id = "rt/coro",
		.title = "coroutine switch (resume or yield)",
		.unit = "ns per switch",
		.note = "Target: grt < 15 ns. Go 1.23's iter.Pull measures "
			"~21 ns per switch elsewhere (not comparable here).",
		.baseline = -1,
	};
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt coroutine", .run = run_rt, .iarg = U_CORO | 1 << 8 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go iter.Pull", .run = not_in_go119 };
	bench_add_group(&g);

	g = (struct bench_group){
		.id = "rt/spawn",
		.title = "spawn a G that runs a trivial function and exits",
		.unit = "ns per G",
		.note = "Target: grt < 150 ns.",
	};
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt, 1 P", .run = run_rt, .iarg = U_SPAWN | 1 << 8 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt, 2 Ps", .run = run_rt, .iarg = U_SPAWN | 2 << 8 };
	g.baseline = g.nv;
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go, GOMAXPROCS=1", .run = run_go, .arg = "spawn",
		.iarg = 1 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go, GOMAXPROCS=2", .run = run_go, .arg = "spawn",
		.iarg = 2 };
	bench_add_group(&g);

	g = (struct bench_group){
		.id = "rt/chan",
		.title = "channel round trip between two Gs (unbuffered)",
		.unit = "ns per round trip",
	};
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt, 1 P", .run = run_rt, .iarg = U_CHAN | 1 << 8 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt, 2 Ps", .run = run_rt, .iarg = U_CHAN | 2 << 8 };
	g.baseline = g.nv;
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go, GOMAXPROCS=1", .run = run_go, .arg = "chanrt",
		.iarg = 1 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go, GOMAXPROCS=2", .run = run_go, .arg = "chanrt",
		.iarg = 2 };
	bench_add_group(&g);
}
