// SPDX-License-Identifier: GPL-2.0
/*
 * skynet (github.com/atemerev/skynet): 1,000,000 leaf Gs in a tree of
 * tens (1,111,111 Gs in all); each leaf sends its number up a channel,
 * each inner G sums its ten children's and sends the sum to its parent.
 * The root checks the sum (499999500000). Reported in ms for the whole
 * tree (from the root's spawn to its sum), with as many Ps as CPUs on both
 * sides.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gwake/rt.h>

#include "bench.h"

struct sky {
	struct grt_chan *up;	/* the parent's channel */
	long long num, size;
};

struct sky_run {
	long long sum;
	int64_t ns;
	int err;
};

static struct sky_run sky_run;

static void sky_fail(int err)
{
	if (!sky_run.err)
		sky_run.err = err;
}

/*
 * One node: a leaf sends its number up; an inner node starts ten children
 * with their arguments in an array on its own stack (valid: it waits for
 * all ten sums before it returns), adds up what they send on its buffered
 * channel, and sends the total up.
 */
static void skynet(void *arg)
{
	struct sky *me = arg, kids[10];
	long long sum = 0, v;
	struct grt_chan *rc;
	int i;

	if (me->size == 1) {
		if (grt_chan_send(me->up, &me->num))
			sky_fail(-EPIPE);
		return;
	}
	if (grt_chan_make(&rc, sizeof(long long), 10)) {
		sky_fail(-ENOMEM);
		return;
	}
	for (i = 0; i < 10; i++) {
		kids[i] = (struct sky){
			.up = rc,
			.num = me->num + i * (me->size / 10),
			.size = me->size / 10,
		};
		if (grt_go(skynet, &kids[i])) {
			sky_fail(-EAGAIN);
			/* Account for it ourselves, so the sum still fails. */
			v = -1;
			grt_chan_send(rc, &v);
		}
	}
	for (i = 0; i < 10; i++) {
		if (grt_chan_recv(rc, &v) != 1)
			sky_fail(-EPIPE);
		sum += v;
	}
	grt_chan_free(rc);
	if (grt_chan_send(me->up, &sum))
		sky_fail(-EPIPE);
}

static void sky_main(void *arg)
{
	struct sky root = { .num = 0, .size = 1000000 };
	int64_t start = bench_now_ns();

	(void)arg;
	if (grt_chan_make(&root.up, sizeof(long long), 0)) {
		sky_fail(-ENOMEM);
		return;
	}
	if (grt_go(skynet, &root)) {
		sky_fail(-EAGAIN);
	} else if (grt_chan_recv(root.up, &sky_run.sum) != 1) {
		sky_fail(-EPIPE);
	}
	sky_run.ns = bench_now_ns() - start;
	grt_chan_free(root.up);
}

/*
 * Stacks of 16 KiB (GRT_STACK_MIN), not the default 64: skynet's frames are
 * tiny, and Go starts goroutines with 8 KiB (growable) stacks.
 */
static double run_rt(const struct bench_variant *v, const char **why)
{
	int ret;

	(void)v;
	memset(&sky_run, 0, sizeof(sky_run));
	ret = bench_rt_run(0, GRT_STACK_MIN, sky_main, NULL);
	if (!ret && !sky_run.err && sky_run.sum != 499999500000LL)
		sky_run.err = -EPROTO;
	if (ret || sky_run.err) {
		fprintf(stderr, "gwake-bench: skynet: %s (sum %lld)\n",
			strerror(-(ret ? ret : sky_run.err)), sky_run.sum);
		*why = "runtime error (see stderr)";
		return -1;
	}
	bench_ops_add(1);
	return sky_run.ns / 1e6;
}

static double run_go(const struct bench_variant *v, const char **why)
{
	const char *argv[] = { "skynet", NULL };

	return bench_go((int)v->iarg, argv, why);
}

void bench_register_skynet(void)
{
	struct bench_group g = {
		.id = "runtime/skynet",
		.title = "1,000,000 leaf Gs in a tree of tens summing their ids",
		.unit = "ms for the whole tree",
		.unit_ns = 1e6,
		.reps = 3,
		.note = "Divide by 1,000,000 for the usual per-G figure. "
			"Target: grt at most 100 ms (0.1 us per leaf G) "
			"and at most 0.1 of Go.",
	};

	g.v[g.nv++] = (struct bench_variant){
		.name = "grt, Ps = CPUs", .run = run_rt };
	g.baseline = g.nv;
	g.v[g.nv++] = (struct bench_variant){
		.name = "Go, GOMAXPROCS = CPUs", .run = run_go,
		.iarg = bench_ncpus() };
	bench_add_group(&g);
}
