// SPDX-License-Identifier: GPL-2.0
/*
 * runtime: micro-benchmarks of the runtime, each against Go's equivalent
 * (the runtime scenario; skynet.c is its last group).
 *
 *   runtime/gswitch  two Gs yield to each other on one P (grt_yield with one
 *               P; Go: runtime.Gosched at GOMAXPROCS=1). ns per switch.
 *   runtime/coro     a coroutine switch (grt_coro_*); Go's equivalent,
 *               iter.Pull over runtime.coroswitch, appeared in Go 1.23 and
 *               is not in Debian 12's Go 1.19. ns per switch.
 *   runtime/spawn    spawn a G that runs a trivial function and exits: one at
 *               a time (spawn, yield to it; Go: go f(); runtime.Gosched())
 *               and in batches of 1000 waited for with a wait group. ns
 *               per G.
 *   runtime/chan     two Gs ping-pong over two unbuffered channels, with one P
 *               and with two. ns per round trip.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gwake/rt.h>

#include "bench.h"

enum micro {
	U_GSWITCH,
	U_CORO,
	U_SPAWN,
	U_SPAWN1,
	U_CHAN,
};

struct mb {
	enum micro what;
	atomic_int stop;
	struct grt_chan *ping, *pong;
	struct grt_coro *coro;
	struct grt_waitgroup wg;
	long next;
	double ns;
	int err;
};

static void fail(struct mb *m, int err)
{
	if (!m->err)
		m->err = err;
}

/* rt/gswitch: the peer yields until told to stop. */
static void yielder(void *arg)
{
	struct mb *m = arg;

	while (!atomic_load_explicit(&m->stop, memory_order_relaxed))
		grt_yield();
	grt_waitgroup_done(&m->wg);
}

static void yield_op(void *ctx, uint64_t n)
{
	(void)ctx;
	while (n--)
		grt_yield();
}

/* rt/coro: the coroutine's body switches back until told to stop. */
static void coro_body(struct grt_coro *c, void *arg)
{
	struct mb *m = arg;

	while (!atomic_load_explicit(&m->stop, memory_order_relaxed))
		if (grt_coro_switch(c) < 0)
			break;
}

static void coro_op(void *ctx, uint64_t n)
{
	struct mb *m = ctx;
	int ret;

	while (n--)
		if ((ret = grt_coro_switch(m->coro))) {
			fail(m, ret < 0 ? ret : -EPROTO);
			return;
		}
}

/* rt/spawn: a G that runs a trivial function and exits. */
static void spawned(void *arg)
{
	struct mb *m = arg;

	grt_waitgroup_done(&m->wg);
}

static void spawn_op(void *ctx, uint64_t n)
{
	struct mb *m = ctx;
	uint64_t i;
	int ret;

	/* Batches of at most 1000 outstanding Gs, as Go's runs them. */
	while (n) {
		uint64_t b = n < 1000 ? n : 1000;

		grt_waitgroup_add(&m->wg, (int)b);
		for (i = 0; i < b; i++)
			if ((ret = grt_go(spawned, m))) {
				fail(m, ret);
				grt_waitgroup_done(&m->wg);
			}
		grt_waitgroup_wait(&m->wg);
		n -= b;
	}
}

static void nop(void *arg)
{
	(void)arg;
}

/* rt/spawn, one at a time: the spawner yields to its new G at once. */
static void spawn1_op(void *ctx, uint64_t n)
{
	struct mb *m = ctx;
	int ret;

	while (n--) {
		if ((ret = grt_go(nop, NULL))) {
			fail(m, ret);
			return;
		}
		grt_yield();
	}
}

/* rt/chan: the peer echoes x + 1 until ping is closed. */
static void echo(void *arg)
{
	struct mb *m = arg;
	long v;

	while (grt_chan_recv(m->ping, &v) == 1) {
		v++;
		if (grt_chan_send(m->pong, &v))
			break;
	}
	grt_waitgroup_done(&m->wg);
}

static void chan_op(void *ctx, uint64_t n)
{
	struct mb *m = ctx;
	long v, w = 0;

	while (n--) {
		v = m->next++;
		if (grt_chan_send(m->ping, &v) || grt_chan_recv(m->pong, &w) != 1 ||
		    w != v + 1) {
			fail(m, -EPROTO);
			return;
		}
	}
}

static void micro_main(void *arg)
{
	struct mb *m = arg;
	int ret = 0;

	switch (m->what) {
	case U_GSWITCH:
		grt_waitgroup_add(&m->wg, 1);
		if ((ret = grt_go(yielder, m)))
			break;
		grt_yield();
		/* Every yield of ours is two switches: there and back. */
		m->ns = bench_timed_units(yield_op, m, bench_opts.slice_ns,
					  2);
		atomic_store(&m->stop, 1);
		grt_waitgroup_wait(&m->wg);
		break;
	case U_CORO:
		if ((ret = grt_coro_new(&m->coro, coro_body, m)))
			break;
		m->ns = bench_timed_units(coro_op, m, bench_opts.slice_ns, 2);
		atomic_store(&m->stop, 1);
		/* Let the body see stop and return: the switch returns 1. */
		if (grt_coro_switch(m->coro) != 1)
			fail(m, -EPROTO);
		grt_coro_free(m->coro);
		break;
	case U_SPAWN:
		m->ns = bench_timed(spawn_op, m, bench_opts.slice_ns);
		break;
	case U_SPAWN1:
		m->ns = bench_timed(spawn1_op, m, bench_opts.slice_ns);
		break;
	case U_CHAN:
		if ((ret = grt_chan_make(&m->ping, sizeof(long), 0)) ||
		    (ret = grt_chan_make(&m->pong, sizeof(long), 0)))
			break;
		grt_waitgroup_add(&m->wg, 1);
		if ((ret = grt_go(echo, m)))
			break;
		m->ns = bench_timed(chan_op, m, bench_opts.slice_ns);
		grt_chan_close(m->ping);
		grt_waitgroup_wait(&m->wg);
		break;
	}
	if (ret)
		fail(m, ret);
	grt_chan_free(m->ping);
	grt_chan_free(m->pong);
}

/* iarg: micro | nprocs << 8 */
static double run_rt(const struct bench_variant *v, const char **why)
{
	static struct mb m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.what = (enum micro)(v->iarg & 0xff);
	ret = bench_rt_run((unsigned int)(v->iarg >> 8), 0, micro_main, &m);
	if (ret || m.err) {
		fprintf(stderr, "gwake-bench: rt %s: %s\n", v->name,
			strerror(-(ret ? ret : m.err)));
		*why = "runtime error (see stderr)";
		return -1;
	}
	return m.ns;
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
		.id = "runtime/gswitch",
		.title = "G switch: two Gs yield to each other on one P",
		.unit = "ns per switch",
		.unit_ns = 1,
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
		.id = "runtime/coro",
		.title = "coroutine switch (resume or yield)",
		.unit = "ns per switch",
		.unit_ns = 1,
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
		.id = "runtime/spawn",
		.title = "spawn a G that runs a trivial function and exits",
		.unit = "ns per G",
		.unit_ns = 1,
		.note = "Target: grt < 150 ns. One at a time: spawn, then yield "
			"to it (1 P). Batches: spawn 1000, wait for them with a "
			"wait group.",
	};
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt one at a time, 1 P", .run = run_rt,
		.iarg = U_SPAWN1 | 1 << 8 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt batches, 1 P", .run = run_rt,
		.iarg = U_SPAWN | 1 << 8 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt batches, 2 Ps", .run = run_rt,
		.iarg = U_SPAWN | 2 << 8 };
	g.baseline = g.nv;
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go one at a time, GOMAXPROCS=1", .run = run_go,
		.arg = "spawn1", .iarg = 1 };
	g.baseline2 = g.nv;
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go batches, GOMAXPROCS=1", .run = run_go,
		.arg = "spawn", .iarg = 1 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go batches, GOMAXPROCS=2", .run = run_go,
		.arg = "spawn", .iarg = 2 };
	bench_add_group(&g);

	g = (struct bench_group){
		.id = "runtime/chan",
		.title = "channel round trip between two Gs (unbuffered)",
		.unit = "ns per round trip",
		.unit_ns = 1,
		.note = "Target: grt, 1 P at most 0.7 of Go with GOMAXPROCS=1; "
			"grt, 2 Ps at most 0.8 of Go with GOMAXPROCS=2 "
			"(ratio2).",
	};
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt, 1 P", .run = run_rt, .iarg = U_CHAN | 1 << 8 };
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt, 2 Ps", .run = run_rt, .iarg = U_CHAN | 2 << 8 };
	g.baseline = g.nv;
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go, GOMAXPROCS=1", .run = run_go, .arg = "chanrt",
		.iarg = 1 };
	g.baseline2 = g.nv;
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go, GOMAXPROCS=2", .run = run_go, .arg = "chanrt",
		.iarg = 2 };
	bench_add_group(&g);
}
