// SPDX-License-Identifier: GPL-2.0
/*
 * idle-burn: the CPU time a runtime burns while it has nothing to do: a few Gs
 * blocked on a channel, the main G asleep in a timer (grt_sleep; Go:
 * time.Sleep), every M parked. getrusage(RUSAGE_SELF) user + system time,
 * all threads, over a window of wall time, in microseconds of CPU per
 * second. The window is 10 slices (1 s by default), after 50 ms to let
 * start-up settle.
 *
 * "C thread, one sleep": the same window spent by this thread in one
 * FUTEX_WAIT with that timeout, nothing else running. One wake-up at its
 * end is the least any runtime can do whose main G sleeps through the
 * window (it must wake to end it): the floor of the other two rows.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <gwake/rt.h>

#include "bench.h"

struct idle {
	struct grt_chan *block;
	struct grt_waitgroup wg;
	double us_per_s;
	int err;
};

static int64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NSEC_PER_SEC +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* The measuring window: 10 slices. */
static int64_t window_ns(void)
{
	return 10 * bench_opts.slice_ns;
}

/* us of CPU per s of a window that began at CPU time c0, wall time t0. */
static double burn_since(int64_t c0, int64_t t0)
{
	int64_t c1 = cpu_ns(), t1 = bench_now_ns();

	return (double)(c1 - c0) / 1e3 / ((double)(t1 - t0) / 1e9);
}

static void blocked(void *arg)
{
	struct idle *id = arg;

	grt_chan_recv(id->block, NULL);
	grt_waitgroup_done(&id->wg);
}

static void idle_main(void *arg)
{
	struct idle *id = arg;
	int64_t c0, t0;
	int i;

	if (grt_chan_make(&id->block, 0, 0)) {
		id->err = -ENOMEM;
		return;
	}
	for (i = 0; i < 4; i++) {
		grt_waitgroup_add(&id->wg, 1);
		if (grt_go(blocked, id)) {
			id->err = -EAGAIN;
			grt_waitgroup_done(&id->wg);
		}
	}
	/* Settle, as the Go peer does; then the main G sleeps too. */
	grt_sleep(50 * 1000000LL);
	c0 = cpu_ns();
	t0 = bench_now_ns();
	grt_sleep(window_ns());
	id->us_per_s = burn_since(c0, t0);
	grt_chan_close(id->block);
	grt_waitgroup_wait(&id->wg);
	grt_chan_free(id->block);
}

static double run_rt(const struct bench_variant *v, const char **why)
{
	static struct idle id;
	int ret;

	(void)v;
	memset(&id, 0, sizeof(id));
	ret = bench_rt_run(0, 0, idle_main, &id);
	if (ret || id.err) {
		fprintf(stderr, "gwake-bench: idle: %s\n",
			strerror(-(ret ? ret : id.err)));
		*why = "runtime error (see stderr)";
		return -1;
	}
	return id.us_per_s;
}

static double run_c(const struct bench_variant *v, const char **why)
{
	int64_t ns = window_ns(), c0, t0;
	struct timespec ts = { ns / NSEC_PER_SEC, ns % NSEC_PER_SEC };
	unsigned int word = 0;

	(void)v;
	(void)why;
	c0 = cpu_ns();
	t0 = bench_now_ns();
	/* Nobody wakes it: -ETIMEDOUT (or -EINTR, then a short window). */
	syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	return burn_since(c0, t0);
}

static double run_go(const struct bench_variant *v, const char **why)
{
	char d[32];
	const char *argv[] = { "idle", "-d", d, NULL };

	(void)v;
	snprintf(d, sizeof(d), "%lld", (long long)window_ns());
	return bench_go(bench_ncpus(), argv, why);
}

void bench_register_idle(void)
{
	struct bench_group g = {
		.id = "idle-burn",
		.title = "CPU burned by an idle runtime (Gs blocked, Ms parked)",
		.unit = "us CPU per s",
		.reps = 3,
		.baseline = 1,
		.note = "Target: grt at most 0.5 of Go (and < 1000 us/s).",
	};

	g.v[g.nv++] = (struct bench_variant){ .name = "grt", .run = run_rt };
	g.v[g.nv++] = (struct bench_variant){ .name = "Go", .run = run_go };
	g.v[g.nv++] = (struct bench_variant){ .name = "C thread, one sleep",
					      .run = run_c };
	bench_add_group(&g);
}
