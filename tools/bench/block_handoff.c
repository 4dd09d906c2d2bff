// SPDX-License-Identifier: GPL-2.0
/*
 * block-handoff: a G enters a blocking system call while another G of its
 * P is runnable; how long until that other G runs?
 *
 * One P (GOMAXPROCS=1 on the Go side): the P's only way to the runnable G
 * is to be taken from the M that blocked, by the monitor (Go's sysmon)
 * once it sees the P in a system call, and handed to another M. So this is
 * the monitor's reaction time plus one M wake-up: what every blocking call
 * that the runtime cannot predict costs the Gs behind it.
 *
 * One sample: the main G readies a receiver G blocked in a channel
 * receive (it goes to the P's run-next slot), reads the clock (t0) and
 * enters grt_nanosleep(2 ms); the receiver reads the clock when it runs
 * (t1). The sample is t1 - t0. After the sleep the main G waits (yielding)
 * until the receiver has reported and is blocked in its receive again.
 * The monitor is awake and ticking when a sample starts: the main G held
 * the P for the few microseconds since its sleep ended.
 *
 *   grt_nanosleep     the runtime on the backend of the run
 *   Go                tools/go/blockhandoff.go: the same in Go 1.19,
 *                     GOMAXPROCS=1, syscall.Nanosleep (entersyscall)
 *
 * Two groups of the same two rows: the median of a repetition's samples,
 * and their 90th percentile (the tail is where a monitor that ticks too
 * rarely shows). As in idle-wake, a repetition takes about one slice worth
 * of samples; the p99/op column is over every sample of every repetition.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwake/rt.h>

#include "bench.h"

#define BH_SLEEP_NS	(2 * 1000000LL)
#define BH_SAMPLES_MAX	BENCH_WAKE_SAMPLES_MAX
#define BH_WARMUP	1		/* the first sample of a runtime: not counted */

/* The percentile a group reports (bench_wake_result()). */
enum bh_stat {
	BH_MEDIAN = 50,
	BH_P90 = 90,
};

struct bh {
	struct grt_chan *ch;		/* int, unbuffered: main -> receiver */
	struct grt_waitgroup wg;
	int n;				/* samples, the warm-up included */
	/*
	 * t0 is stored by the main G before it blocks and read by the
	 * receiver after the hand-off, which the P's transfer orders
	 * (release/acquire on the P's status and the M's wake word);
	 * relaxed is enough, atomic because two threads touch it.
	 */
	_Atomic int64_t t0;
	atomic_int done;		/* samples the receiver reported */
	int64_t lat[BH_SAMPLES_MAX + BH_WARMUP];	/* the receiver's */
	int err;
};

static int bh_samples(void)
{
	return bench_wake_samples(BH_SLEEP_NS + BH_SLEEP_NS / 20);
}

static void bh_receiver(void *arg)
{
	struct bh *w = arg;
	int64_t t1;
	int i, x;

	for (i = 0; grt_chan_recv(w->ch, &x) == 1; i++) {
		t1 = bench_now_ns();
		if (i < w->n)
			w->lat[i] = t1 - atomic_load_explicit(&w->t0,
							      memory_order_relaxed);
		atomic_store_explicit(&w->done, i + 1, memory_order_release);
	}
	grt_waitgroup_done(&w->wg);
}

static void bh_main(void *arg)
{
	struct bh *w = arg;
	int i, x = 0, r;

	r = grt_chan_make(&w->ch, sizeof(int), 0);
	if (r) {
		w->err = r;
		return;
	}
	grt_waitgroup_add(&w->wg, 1);
	r = grt_go(bh_receiver, w);
	if (r) {
		grt_waitgroup_done(&w->wg);
		w->err = r;
		goto out;
	}
	for (i = 0; i < w->n;) {
		/* -EAGAIN: the receiver is not in its receive yet. */
		r = grt_chan_try_send(w->ch, &x);
		if (r == -EAGAIN) {
			grt_yield();
			continue;
		}
		if (r) {
			w->err = r;
			break;
		}
		atomic_store_explicit(&w->t0, bench_now_ns(), memory_order_relaxed);
		r = grt_nanosleep(BH_SLEEP_NS);
		if (r) {
			w->err = r;
			break;
		}
		i++;
		while (atomic_load_explicit(&w->done, memory_order_acquire) < i)
			grt_yield();
	}
	grt_chan_close(w->ch);
	grt_waitgroup_wait(&w->wg);
out:
	grt_chan_free(w->ch);
}

static double run_rt(const struct bench_variant *v, const char **why)
{
	static struct bh w;
	int r;

	memset(&w, 0, sizeof(w));
	w.n = bh_samples() + BH_WARMUP;
	r = bench_rt_run(1, 0, bh_main, &w);
	if (r || w.err) {
		fprintf(stderr, "gwake-bench: %s: %s\n", v->name,
			strerror(-(r ? r : w.err)));
		*why = "runtime error (see stderr)";
		return -1;
	}
	return bench_wake_result(w.lat + BH_WARMUP, w.n - BH_WARMUP, (int)v->iarg);
}

static double run_go(const struct bench_variant *v, const char **why)
{
	char n[32], sleep[32];
	const char *argv[] = { "blockhandoff", "-n", n, "-sleep", sleep,
			       v->iarg == BH_P90 ? "-p90" : NULL, NULL };

	snprintf(n, sizeof(n), "%d", bh_samples());
	snprintf(sleep, sizeof(sleep), "%lld", (long long)BH_SLEEP_NS);
	return bench_go(1, argv, why);
}

static void add_group(const char *id, const char *title, const char *unit,
		      enum bh_stat stat)
{
	struct bench_group g = {
		.id = id,
		.title = title,
		.unit = unit,
		.baseline = 0,
		.note = "One P; a G blocks in a 2 ms nanosleep with another "
			"runnable: the monitor must take its P.",
	};

	g.v[g.nv++] = (struct bench_variant){
		.name = "Go, syscall.Nanosleep", .run = run_go, .iarg = stat };
	g.v[g.nv++] = (struct bench_variant){
		.name = "grt, grt_nanosleep", .run = run_rt, .iarg = stat };
	bench_add_group(&g);
}

void bench_register_block_handoff(void)
{
	add_group("block-handoff/median",
		  "a G blocks in a system call with another runnable, until "
		  "that one runs (median)",
		  "ns, median of a rep's samples", BH_MEDIAN);
	add_group("block-handoff/p90",
		  "a G blocks in a system call with another runnable, until "
		  "that one runs (90th percentile)",
		  "ns, p90 of a rep's samples", BH_P90);
}
