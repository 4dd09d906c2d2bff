// SPDX-License-Identifier: GPL-2.0
/*
 * rt_switch: quick micro-benchmarks of the runtime core, for optimising
 * lib/rt (the full, Go-compared suite is gwake-bench's rt/ groups). Each
 * prints the best of several runs, ns per operation:
 *
 *   gswitch   two Gs grt_yield() to each other on one P (per switch)
 *   coro      grt_coro_switch() back and forth (per switch)
 *   spawn     grt_go() of a G that returns, one at a time (per G)
 *   tcall     grt_thread_call() round trip into a locked thread, 1 caller
 *   idle      CPU time (user+sys) per second of an idle runtime, in us
 *
 * Usage: rt_switch [-n iterations] [test...]
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <gwake/rt.h>

static long iters = 1000000;
static double result;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static atomic_int gs_stop;

static void yielder(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&gs_stop, memory_order_relaxed))
		grt_yield();
}

static void gswitch_body(void *arg)
{
	double t;
	long i;

	(void)arg;
	atomic_store(&gs_stop, 0);
	grt_go(yielder, NULL);
	grt_yield();
	t = now_ns();
	for (i = 0; i < iters; i++)
		grt_yield();
	result = (now_ns() - t) / (2.0 * iters);
	atomic_store(&gs_stop, 1);
	grt_yield();
}

static void coro_fn(struct grt_coro *c, void *arg)
{
	(void)arg;
	for (;;)
		grt_coro_switch(c);
}

static void coro_body(void *arg)
{
	struct grt_coro *c;
	double t;
	long i;

	(void)arg;
	grt_coro_new(&c, coro_fn, NULL);
	grt_coro_switch(c);
	t = now_ns();
	for (i = 0; i < iters; i++)
		grt_coro_switch(c);
	result = (now_ns() - t) / (2.0 * iters);
	grt_coro_free(c);
}

static void nop(void *arg)
{
	(void)arg;
}

static void spawn_body(void *arg)
{
	double t;
	long i;

	(void)arg;
	t = now_ns();
	for (i = 0; i < iters; i++) {
		grt_go(nop, NULL);
		grt_yield();
	}
	result = (now_ns() - t) / iters;
}

static long tc_fn(void *arg)
{
	return (long)arg + 1;
}

static void tcall_body(void *arg)
{
	struct grt_thread *t;
	long i, r, n = iters / 10;
	double t0;

	(void)arg;
	grt_thread_start(&t);
	for (i = 0; i < 1000; i++)
		grt_thread_call(t, tc_fn, (void *)i, &r);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		grt_thread_call(t, tc_fn, (void *)i, &r);
	result = (now_ns() - t0) / n;
	grt_thread_free(t);
}

static double cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

static void idle_body(void *arg)
{
	double c0;

	(void)arg;
	grt_sleep(100000000);	/* let every M park */
	c0 = cpu_us();
	grt_sleep(2000000000);
	result = (cpu_us() - c0) / 2.0;
}

static const struct {
	const char *name;
	void (*body)(void *);
	unsigned int nprocs;
	int runs;
} tests[] = {
	{ "gswitch", gswitch_body, 1, 5 },
	{ "coro", coro_body, 1, 5 },
	{ "spawn", spawn_body, 1, 5 },
	{ "tcall", tcall_body, 1, 5 },
	{ "tcall2", tcall_body, 2, 5 },
	{ "idle", idle_body, 0, 1 },
};

int main(int argc, char **argv)
{
	unsigned int i;
	int opt, r, k;

	while ((opt = getopt(argc, argv, "n:")) != -1)
		if (opt == 'n')
			iters = atol(optarg);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		struct grt_config cfg = { .nprocs = tests[i].nprocs };
		double best = 1e30;
		bool want = optind >= argc;

		for (k = optind; k < argc; k++)
			want |= !strcmp(argv[k], tests[i].name);
		if (!want)
			continue;
		for (k = 0; k < tests[i].runs; k++) {
			r = grt_run(&cfg, tests[i].body, NULL);
			if (r) {
				fprintf(stderr, "%s: grt_run: %d\n",
					tests[i].name, r);
				return 1;
			}
			if (result < best)
				best = result;
		}
		printf("%-8s %10.1f %s\n", tests[i].name, best,
		       strcmp(tests[i].name, "idle") ? "ns" : "us CPU per s");
	}
	return 0;
}
