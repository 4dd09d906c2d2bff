// SPDX-License-Identifier: GPL-2.0
/*
 * gwake-bench: the measuring loop. A group's variants are measured side by
 * side, repetition after repetition (rep 1 of every variant, then rep 2,
 * ...), so that drift of a noisy machine spreads over all of them, then
 * each variant once more, untimed, with the syscall counter open. Under
 * co-runners, CPU-bound threads of another process run from before the
 * first repetition to after the last: every variant of the group meets the
 * same load.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"

struct bench_env bench_env;

/* One timed repetition of one variant. */
struct sample {
	double v;
	uint64_t ops;
	int64_t csw;		/* context switches over the repetition */
	uint64_t wakes, same_cpu;
};

/* The cost repetition of a variant (cost_rep()). */
struct cost {
	uint64_t ops;
	int64_t sys;		/* < 0: not measured */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Linear interpolation between closest ranks (type 7, as R and numpy). */
static double quantile(const double *sorted, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t i = (size_t)pos;

	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + (pos - (double)i) * (sorted[i + 1] - sorted[i]);
}

/* The cost of one bench_now_ns(), in ns: the median of a few thousand. */
static double clock_cost(void)
{
	enum { N = 4001 };
	static double d[N];
	int64_t t0 = bench_now_ns(), t;
	int i;

	for (i = 0; i < N; i++) {
		t = bench_now_ns();
		d[i] = (double)(t - t0);
		t0 = t;
	}
	qsort(d, N, sizeof(*d), cmp_double);
	return quantile(d, N, 0.5);
}

void bench_measure_env(void)
{
	bench_env.clock_ns = clock_cost();
	if (!bench_syscalls_open(&bench_env.syscalls_why)) {
		bench_env.clock_sys = bench_clock_syscalls();
		bench_syscalls_close();
	}
}

static void summarise(const struct bench_group *g, const struct sample *s,
		      int n, const struct cost *cost,
		      struct bench_samples *lat, struct result *r)
{
	uint64_t ops = 0, wakes = 0, same = 0;
	double sorted[MAX_REPS];
	int64_t csw = 0;
	int i;

	r->n = n;
	r->p99 = r->ratio = r->ratio2 = r->ops_per_s = -1;
	r->sys_per_op = r->csw_per_op = r->same_cpu = -1;
	r->nlat = lat->n;
	if (!n)
		return;
	for (i = 0; i < n; i++) {
		r->samples[i] = sorted[i] = s[i].v;
		ops += s[i].ops;
		csw += s[i].csw;
		wakes += s[i].wakes;
		same += s[i].same_cpu;
	}
	qsort(sorted, (size_t)n, sizeof(double), cmp_double);
	r->min = sorted[0];
	r->max = sorted[n - 1];
	r->p25 = quantile(sorted, (size_t)n, 0.25);
	r->median = quantile(sorted, (size_t)n, 0.5);
	r->p75 = quantile(sorted, (size_t)n, 0.75);
	if (lat->n) {
		qsort(lat->v, lat->n, sizeof(double), cmp_double);
		r->p99 = quantile(lat->v, lat->n, 0.99) /
			 (g->unit_ns > 0 ? g->unit_ns : 1);
	}
	if (g->unit_ns > 0 && r->median > 0)
		r->ops_per_s = 1e9 / (r->median * g->unit_ns);
	if (ops)
		r->csw_per_op = (double)csw / (double)ops;
	if (cost->ops && cost->sys >= 0)
		r->sys_per_op = (double)cost->sys / (double)cost->ops;
	if (g->waker_cpu && wakes)
		r->same_cpu = (double)same / (double)wakes;
}

/*
 * The cost repetition of a variant: one more run, untimed, a quarter of
 * the slice long (at least 20 ms), with the syscall counter open; it slows
 * every system call, so no timed repetition ever runs with it.
 */
static void cost_rep(const struct bench_variant *v, bool available,
		     struct cost *c)
{
	int64_t slice = bench_opts.slice_ns, sys0;
	const char *reason = NULL;

	*c = (struct cost){ .sys = -1 };
	if (!available || bench_env.syscalls_why ||
	    bench_syscalls_open(&bench_env.syscalls_why))
		return;
	memset(&bench_tally, 0, sizeof(bench_tally));
	bench_opts.slice_ns = slice / 4 > 20000000 ? slice / 4 : 20000000;
	sys0 = bench_syscalls();
	if (v->run(v, &reason) >= 0) {
		c->ops = atomic_load(&bench_tally.ops);
		/*
		 * Minus our own read of the counter and the clock's system
		 * calls, if it makes any.
		 */
		c->sys = bench_syscalls() - sys0 - 1 -
			 (int64_t)(bench_env.clock_sys *
				   (double)atomic_load(&bench_tally.clock_reads)
				   + 0.5);
		if (c->sys < 0)
			c->sys = 0;
	}
	bench_opts.slice_ns = slice;
	bench_syscalls_close();
	bench_lat_move(NULL);	/* not timed: not latency samples either */
}

/*
 * The co-runners: a child process with n threads that spin on the CPU and
 * make no system call, as a compute job beside the measured program would.
 * Forked before the group, killed after it; its CPU time and context
 * switches never reach our counters (getrusage() counts a child only once
 * it is waited for, after the group's last measurement).
 */
static void *corunner_spin(void *arg)
{
	volatile uint64_t x = (uintptr_t)arg;

	for (;;)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return NULL;
}

static pid_t corunners_start(int n)
{
	pid_t pid;
	int i;

	if (n <= 0)
		return 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		bench_die("fork (co-runners): %m");
	if (pid == 0) {
		/* Die with the parent, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		for (i = 1; i < n; i++) {
			pthread_t t;

			if (pthread_create(&t, NULL, corunner_spin, (void *)(uintptr_t)i))
				_exit(1);
		}
		corunner_spin(NULL);
	}
	return pid;
}

static void corunners_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void bench_measure_group(const struct bench_group *g, int corunners,
			 struct group_result *out)
{
	int reps = g->reps ? g->reps : bench_opts.reps;
	static struct sample samples[BENCH_MAX_VARIANTS][MAX_REPS];
	struct bench_samples lat[BENCH_MAX_VARIANTS] = { 0 };
	static struct cost cost[BENCH_MAX_VARIANTS];
	int n[BENCH_MAX_VARIANTS] = { 0 };
	double base = 0, base2 = 0;
	pid_t co;
	int r, i;

	if (bench_opts.quick && reps > 2)
		reps = 2;
	if (reps > MAX_REPS)
		reps = MAX_REPS;
	memset(out, 0, sizeof(*out));
	out->g = g;
	out->corunners = corunners;
	out->reps = reps;
	out->nv = g->nv;
	if (corunners)
		snprintf(out->id, sizeof(out->id), "%s/corun%d", g->id, corunners);
	else
		snprintf(out->id, sizeof(out->id), "%s", g->id);
	for (i = 0; i < g->nv; i++)
		out->r[i].name = g->v[i].name;

	if (!isatty(STDERR_FILENO))
		fprintf(stderr, "gwake-bench: %s (%d reps)\n", out->id, reps);
	co = corunners_start(corunners);
	for (r = 0; r < reps; r++) {
		if (isatty(STDERR_FILENO))
			fprintf(stderr, "\r%-60s rep %d/%d", out->id, r + 1, reps);
		for (i = 0; i < g->nv; i++) {
			const struct bench_variant *v = &g->v[i];
			const char *reason = NULL;
			int64_t csw0;
			double x;

			/* A variant that is not available once is skipped. */
			if (out->r[i].why)
				continue;
			memset(&bench_tally, 0, sizeof(bench_tally));
			bench_lat_move(NULL);	/* drop strays */
			csw0 = bench_ctxsw();
			x = v->run(v, &reason);
			if (x < 0 || isnan(x)) {
				out->r[i].why = reason ? reason : "not available";
				continue;
			}
			samples[i][n[i]] = (struct sample){
				.v = x,
				.ops = atomic_load(&bench_tally.ops),
				.csw = bench_ctxsw() - csw0,
				.wakes = atomic_load(&bench_tally.wakes),
				.same_cpu = atomic_load(&bench_tally.wakes_same_cpu),
			};
			n[i]++;
			bench_lat_move(&lat[i]);
		}
	}
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r%-72s\r", "");
	for (i = 0; i < g->nv; i++)
		cost_rep(&g->v[i], n[i] > 0, &cost[i]);
	corunners_stop(co);

	for (i = 0; i < g->nv; i++) {
		const char *why = out->r[i].why;

		summarise(g, samples[i], n[i], &cost[i], &lat[i], &out->r[i]);
		out->r[i].why = why;
		free(lat[i].v);
	}
	if (g->baseline >= 0 && n[g->baseline])
		base = out->r[g->baseline].median;
	if (g->baseline2 > 0 && n[g->baseline2])
		base2 = out->r[g->baseline2].median;
	for (i = 0; i < g->nv; i++) {
		if (n[i] && base > 0)
			out->r[i].ratio = out->r[i].median / base;
		if (n[i] && base2 > 0)
			out->r[i].ratio2 = out->r[i].median / base2;
	}
}
