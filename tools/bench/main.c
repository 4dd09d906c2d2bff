// SPDX-License-Identifier: GPL-2.0
/*
 * gwake-bench: run the benchmark scenarios side by side and report per-op
 * medians, spreads and ratios against the baselines of the same run.
 * docs/benchmarks.md describes every scenario and how to read the output.
 *
 *   gwake-bench [-r REPS] [-t SLICE_MS] [-f FILTER]... [--quick]
 *               [--backend user|kmod] [--go PATH] [--json FILE]
 *               [--tsv FILE] [-l] [SCENARIO...]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <gwake/gwake.h>

#include "backend.h"
#include "bench.h"

struct bench_opts bench_opts = {
	.slice_ns = 100 * 1000 * 1000,
	.reps = 5,
};

#define MAX_GROUPS	64

static struct bench_group groups[MAX_GROUPS];
static int ngroups;

void bench_add_group(const struct bench_group *g)
{
	if (ngroups == MAX_GROUPS)
		bench_die("too many groups");
	if (g->nv > BENCH_MAX_VARIANTS)
		bench_die("%s: too many variants", g->id);
	groups[ngroups++] = *g;
}

/* One timed repetition of one variant. */
struct sample {
	double v;
	uint64_t ops;
	/* Context switches over the repetition. */
	int64_t csw;
	uint64_t wakes, same_cpu;
};

/* The cost repetition of a variant (cost_rep()). */
struct cost {
	uint64_t ops;
	int64_t sys;	/* < 0: not measured */
};

/* What the report says of one variant, over its repetitions. */
struct result {
	int n;
	const char *why;
	double min, p25, median, p75, max;
	/* Per-operation p99 from the latency passes; < 0: none. */
	double p99;
	size_t nlat;
	double ratio, ratio2;		/* < 0: no baseline */
	double ops_per_s;		/* < 0: not a time per op */
	double sys_per_op, csw_per_op;	/* < 0: not measured */
	double same_cpu;		/* fraction; < 0: not measured */
	double samples[64];
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

static void fmt_num(char *buf, size_t len, double v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else if (v >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

/* Operations per second, short: 12.3M, 456k, 789. */
static void fmt_rate(char *buf, size_t len, double v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else if (v >= 1e9)
		snprintf(buf, len, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.1f", v);
}

/* The scenario of a group: its id up to the first '/'. */
static size_t scenario_len(const struct bench_group *g)
{
	return strcspn(g->id, "/");
}

static bool is_scenario(const struct bench_group *g, const char *name)
{
	size_t l = scenario_len(g);

	return strlen(name) == l && !strncmp(g->id, name, l);
}

static bool selected(const struct bench_group *g, char **filters, int nf,
		     char **scen, int ns)
{
	int i;

	if (ns) {
		for (i = 0; i < ns; i++)
			if (is_scenario(g, scen[i]))
				break;
		if (i == ns)
			return false;
	}
	if (!nf)
		return true;
	for (i = 0; i < nf; i++)
		if (strstr(g->id, filters[i]))
			return true;
	return false;
}

/* The scenario names, once each, in registration order. */
static int scenario_names(const char **names, int max)
{
	int i, j, n = 0;

	for (i = 0; i < ngroups; i++) {
		for (j = 0; j < n; j++)
			if (is_scenario(&groups[i], names[j]))
				break;
		if (j == n && n < max) {
			static char buf[MAX_GROUPS][32];

			snprintf(buf[n], sizeof(buf[n]), "%.*s",
				 (int)scenario_len(&groups[i]), groups[i].id);
			names[n] = buf[n];
			n++;
		}
	}
	return n;
}

static FILE *tsv, *json;
/* System calls per clock read (bench_clock_syscalls()). */
static double clock_sys;
static bool json_first_group = true;
static const char *syscalls_why;

static void print_ratio(double r)
{
	if (r < 0)
		printf(" %7s", "-");
	else
		printf(" %7.3f", r);
}

static void summarise(const struct bench_group *g, const struct sample *s,
		      int n, const struct cost *cost,
		      struct bench_samples *lat, struct result *r)
{
	uint64_t ops = 0, wakes = 0, same = 0;
	double sorted[64];
	int64_t csw = 0;
	int i;

	r->n = n;
	r->p99 = r->ratio = r->ratio2 = r->ops_per_s = -1;
	r->sys_per_op = r->csw_per_op = r->same_cpu = -1;
	r->nlat = lat->n;
	if (!n)
		return;
	for (i = 0; i < n; i++) {
		/* In run order for the JSON; sorted for the quantiles. */
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

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* A number, or null for "not measured" (< 0). */
static void json_num(FILE *f, const char *key, double v)
{
	fprintf(f, ", \"%s\": ", key);
	if (v < 0 || isnan(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

static void json_group(const struct bench_group *g, int reps,
		       const struct result *r)
{
	int i, k;

	fprintf(json, "%s\n    {\"id\": ", json_first_group ? "" : ",");
	json_first_group = false;
	json_str(json, g->id);
	fprintf(json, ", \"scenario\": \"%.*s\", \"title\": ",
		(int)scenario_len(g), g->id);
	json_str(json, g->title);
	fputs(", \"unit\": ", json);
	json_str(json, g->unit);
	fprintf(json, ", \"reps\": %d, \"baseline\": ", reps);
	if (g->baseline >= 0)
		json_str(json, g->v[g->baseline].name);
	else
		fputs("null", json);
	fputs(", \"baseline2\": ", json);
	if (g->baseline2 > 0)
		json_str(json, g->v[g->baseline2].name);
	else
		fputs("null", json);
	fputs(", \"note\": ", json);
	if (g->note)
		json_str(json, g->note);
	else
		fputs("null", json);
	fputs(",\n     \"variants\": [", json);
	for (i = 0; i < g->nv; i++) {
		fprintf(json, "%s\n      {\"name\": ", i ? "," : "");
		json_str(json, g->v[i].name);
		if (!r[i].n) {
			fputs(", \"available\": false, \"reason\": ", json);
			json_str(json, r[i].why);
			fputs("}", json);
			continue;
		}
		fputs(", \"available\": true, \"samples\": [", json);
		for (k = 0; k < r[i].n; k++)
			fprintf(json, "%s%.6g", k ? ", " : "", r[i].samples[k]);
		fputs("]", json);
		json_num(json, "median", r[i].median);
		json_num(json, "min", r[i].min);
		json_num(json, "p25", r[i].p25);
		json_num(json, "p75", r[i].p75);
		json_num(json, "max", r[i].max);
		json_num(json, "p99_op", r[i].p99);
		fprintf(json, ", \"latency_samples\": %zu", r[i].nlat);
		json_num(json, "ratio", r[i].ratio);
		json_num(json, "ratio2", r[i].ratio2);
		json_num(json, "ops_per_s", r[i].ops_per_s);
		json_num(json, "syscalls_per_op", r[i].sys_per_op);
		json_num(json, "ctxsw_per_op", r[i].csw_per_op);
		json_num(json, "wakee_on_waker_cpu", r[i].same_cpu);
		fputs("}", json);
	}
	fputs("]}", json);
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
	if (!available || syscalls_why ||
	    bench_syscalls_open(&syscalls_why))
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
			 (int64_t)(clock_sys *
				   (double)atomic_load(&bench_tally.clock_reads)
				   + 0.5);
		if (c->sys < 0)
			c->sys = 0;
	}
	bench_opts.slice_ns = slice;
	bench_syscalls_close();
	bench_lat_move(NULL);	/* not timed: not latency samples either */
}

static void run_group(const struct bench_group *g)
{
	int reps = g->reps ? g->reps : bench_opts.reps;
	static struct sample samples[BENCH_MAX_VARIANTS][64];
	static struct result res[BENCH_MAX_VARIANTS];
	struct bench_samples lat[BENCH_MAX_VARIANTS] = { 0 };
	const char *why[BENCH_MAX_VARIANTS] = { 0 };
	int n[BENCH_MAX_VARIANTS] = { 0 };
	int r, i, w = 24;
	static struct cost cost[BENCH_MAX_VARIANTS];
	double base = 0, base2 = 0;

	if (bench_opts.quick && reps > 2)
		reps = 2;
	if (reps > 64)
		reps = 64;
	if (!isatty(STDERR_FILENO))
		fprintf(stderr, "gwake-bench: %s (%d reps)\n", g->id, reps);
	for (r = 0; r < reps; r++) {
		if (isatty(STDERR_FILENO))
			fprintf(stderr, "\r%-60s rep %d/%d", g->id, r + 1,
				reps);
		for (i = 0; i < g->nv; i++) {
			const struct bench_variant *v = &g->v[i];
			const char *reason = NULL;
			int64_t csw0;
			double x;

			/* A variant that is not available once is skipped. */
			if (why[i])
				continue;
			memset(&bench_tally, 0, sizeof(bench_tally));
			bench_lat_move(NULL);	/* drop strays */
			csw0 = bench_ctxsw();
			x = v->run(v, &reason);
			if (x < 0 || isnan(x)) {
				why[i] = reason ? reason : "not available";
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

	for (i = 0; i < g->nv; i++) {
		summarise(g, samples[i], n[i], &cost[i], &lat[i], &res[i]);
		res[i].why = why[i];
		free(lat[i].v);
		if ((int)strlen(g->v[i].name) > w)
			w = (int)strlen(g->v[i].name);
	}
	if (g->baseline >= 0 && n[g->baseline])
		base = res[g->baseline].median;
	if (g->baseline2 > 0 && n[g->baseline2])
		base2 = res[g->baseline2].median;
	for (i = 0; i < g->nv; i++) {
		if (n[i] && base > 0)
			res[i].ratio = res[i].median / base;
		if (n[i] && base2 > 0)
			res[i].ratio2 = res[i].median / base2;
	}

	printf("\n%s: %s\n  [%s; %d reps", g->id, g->title, g->unit, reps);
	if (g->baseline >= 0)
		printf("; ratio = median / median of \"%s\"",
		       g->v[g->baseline].name);
	if (g->baseline2 > 0)
		printf(",\n   ratio2 = median / median of \"%s\"",
		       g->v[g->baseline2].name);
	printf("]\n");
	printf("  %-*s %9s %9s %9s %9s", w, "variant", "median", "p25", "p75",
	       "p99/op");
	if (g->baseline >= 0)
		printf(" %7s", "ratio");
	if (g->baseline2 > 0)
		printf(" %7s", "ratio2");
	if (g->unit_ns > 0)
		printf(" %8s", "ops/s");
	printf(" %7s %7s", "sys/op", "csw/op");
	if (g->waker_cpu)
		printf(" %7s", "samecpu");
	printf("\n");
	for (i = 0; i < g->nv; i++) {
		const struct result *x = &res[i];
		char m[10][32];

		if (!n[i]) {
			printf("  %-*s  n/a: %s\n", w, g->v[i].name, why[i]);
			if (tsv)
				fprintf(tsv, "%s\t%s\t%s\t0\t\t\t\t\t\t\t\t\t\t\t\t%s\n",
					g->id, g->v[i].name, g->unit, why[i]);
			continue;
		}
		fmt_num(m[0], 32, x->median);
		fmt_num(m[1], 32, x->p25);
		fmt_num(m[2], 32, x->p75);
		fmt_num(m[3], 32, x->p99);
		printf("  %-*s %9s %9s %9s %9s", w, g->v[i].name, m[0], m[1],
		       m[2], m[3]);
		if (g->baseline >= 0)
			print_ratio(x->ratio);
		if (g->baseline2 > 0)
			print_ratio(x->ratio2);
		if (g->unit_ns > 0) {
			fmt_rate(m[4], 32, x->ops_per_s);
			printf(" %8s", m[4]);
		}
		fmt_num(m[5], 32, x->sys_per_op);
		fmt_num(m[6], 32, x->csw_per_op);
		printf(" %7s %7s", m[5], m[6]);
		if (g->waker_cpu) {
			if (x->same_cpu >= 0)
				printf(" %6.0f%%", 100 * x->same_cpu);
			else
				printf(" %7s", "-");
		}
		printf("\n");
		if (tsv)
			fprintf(tsv, "%s\t%s\t%s\t%d\t%g\t%g\t%g\t%g\t%g\t%g"
				"\t%g\t%g\t%g\t%g\t%g\t\n",
				g->id, g->v[i].name, g->unit, x->n, x->median,
				x->min, x->p25, x->p75, x->max, x->p99,
				x->ratio, x->ratio2, x->sys_per_op,
				x->csw_per_op, x->same_cpu);
	}
	if (g->note)
		printf("  %s\n", g->note);
	fflush(stdout);
	if (json)
		json_group(g, reps, res);
}

static const char *find_go_peer(const char *argv0)
{
	static char path[PATH_MAX];
	ssize_t len;
	char *slash;

	(void)argv0;
	len = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (len <= 0)
		return NULL;
	path[len] = '\0';
	slash = strrchr(path, '/');
	if (!slash)
		return NULL;
	strcpy(slash + 1, "gwake-bench-go");
	return access(path, X_OK) ? NULL : path;
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

/* "kmod" and "user" if both can be used here, else the one that can. */
static const char *backends_available(void)
{
	bool k = !gwi_backend_init(&gwi_kmod_backend);
	bool u = !gwi_backend_init(&gwi_user_backend);

	return k && u ? "user kmod" : k ? "kmod" : u ? "user" : "none";
}

static void header(FILE *j, double clock_ns)
{
	char model[256] = "?", line[512], date[64];
	struct utsname u;
	time_t now = time(NULL);
	FILE *f;

	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');

			if (c) {
				snprintf(model, sizeof(model), "%s", c + 2);
				model[strcspn(model, "\n")] = '\0';
			}
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	printf("gwake-bench %s\n", date);
	printf("  kernel %s %s, %d CPUs (%s)\n", u.release, u.machine,
	       bench_ncpus(), model);
	printf("  wake word backend: %s (available here: %s)\n",
	       gwake_backend(), backends_available());
	printf("  Go peer: %s\n", bench_opts.go_peer ? bench_opts.go_peer :
	       "absent (Go rows are n/a)");
	printf("  %d repetitions of at least %lld ms per variant, interleaved; "
	       "median, p25, p75 over\n  repetitions; ratios are medians of "
	       "the same run (lower is faster for times).\n",
	       bench_opts.reps, (long long)(bench_opts.slice_ns / 1000000));
	printf("  p99/op: per-operation times of a latency pass, one clock "
	       "read each (%.0f ns here%s).\n", clock_ns,
	       clock_sys > 0.5 ? ", a system call: not in sys/op" : "");
	printf("  sys/op, csw/op: system calls (%s; in one extra, untimed\n"
	       "  repetition) and context switches (getrusage) of the whole "
	       "process per operation,\n  repetition set-up included.\n",
	       syscalls_why ? syscalls_why : "perf, raw_syscalls:sys_enter");
	if (!j)
		return;
	fprintf(j, "{\"schema\": \"gwake-bench/1\", \"date\": \"%s\",\n"
		" \"kernel\": ", date);
	json_str(j, u.release);
	fputs(", \"machine\": ", j);
	json_str(j, u.machine);
	fprintf(j, ", \"cpus\": %d, \"cpu_model\": ", bench_ncpus());
	json_str(j, model);
	fprintf(j, ",\n \"backend\": \"%s\", \"backends_available\": \"%s\", "
		"\"go_peer\": ", gwake_backend(), backends_available());
	if (bench_opts.go_peer)
		json_str(j, bench_opts.go_peer);
	else
		fputs("null", j);
	fprintf(j, ",\n \"reps\": %d, \"slice_ms\": %lld, \"quick\": %s, "
		"\"clock_read_ns\": %.1f, \"syscall_counter\": ",
		bench_opts.reps, (long long)(bench_opts.slice_ns / 1000000),
		bench_opts.quick ? "true" : "false", clock_ns);
	if (syscalls_why)
		json_str(j, syscalls_why);
	else
		fputs("\"perf raw_syscalls:sys_enter\"", j);
	fputs(",\n \"groups\": [", j);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: gwake-bench [options] [SCENARIO...]\n"
"  SCENARIO            handoff, server, idle-wake, runtime, idle-burn\n"
"                      (default: all of them; -l lists the groups)\n"
"  -r, --reps N        repetitions per variant (default 5)\n"
"  -t, --slice MS      minimum measuring time per repetition (default 100)\n"
"  -f, --filter TEXT   only groups whose id contains TEXT (repeatable)\n"
"  -q, --quick         2 repetitions of 20 ms: a smoke test, not numbers\n"
"  -b, --backend NAME  the wake word backend of the runtime: user or kmod\n"
"      --go PATH       the Go peer (default: gwake-bench-go next to us)\n"
"      --json FILE     also write every result as JSON (docs/benchmarks.md)\n"
"      --tsv FILE      also write every row as tab-separated values\n"
"  -l, --list          list the groups and variants, run nothing\n");
}

/* A whole decimal number in [min, max], or a one-line error and exit 2. */
static long parse_num(const char *opt, const char *arg, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "gwake-bench: %s: '%s' is not a number from "
			"%ld to %ld\n", opt, arg, min, max);
		exit(2);
	}
	return v;
}

static void list_scenarios(FILE *f)
{
	const char *names[MAX_GROUPS];
	int n = scenario_names(names, MAX_GROUPS), i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", names[i]);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "reps", required_argument, NULL, 'r' },
		{ "slice", required_argument, NULL, 't' },
		{ "filter", required_argument, NULL, 'f' },
		{ "quick", no_argument, NULL, 'q' },
		{ "backend", required_argument, NULL, 'b' },
		{ "go", required_argument, NULL, 'G' },
		{ "json", required_argument, NULL, 'J' },
		{ "tsv", required_argument, NULL, 'T' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char *filters[32], *scen[32];
	int nf = 0, ns = 0, c, i, j, nsel = 0;
	bool list = false, slice_set = false;
	const char *go = NULL, *backend = NULL, *json_path = NULL;
	double clock_ns;

	while ((c = getopt_long(argc, argv, "r:t:f:qb:lh", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			bench_opts.reps = (int)parse_num("--reps", optarg, 1, 64);
			break;
		case 't':
			bench_opts.slice_ns = parse_num("--slice", optarg, 1,
							600000) * 1000000LL;
			slice_set = true;
			break;
		case 'f':
			if (nf == 32)
				bench_die("too many filters");
			filters[nf++] = optarg;
			break;
		case 'q':
			bench_opts.quick = true;
			break;
		case 'b':
			if (strcmp(optarg, "user") && strcmp(optarg, "kmod")) {
				fprintf(stderr, "gwake-bench: --backend: unknown "
					"backend '%s' (valid: user, kmod)\n",
					optarg);
				return 2;
			}
			backend = optarg;
			setenv("GWAKE_BACKEND", optarg, 1);
			break;
		case 'G':
			go = optarg;
			break;
		case 'J':
			json_path = optarg;
			break;
		case 'T':
			tsv = fopen(optarg, "w");
			if (!tsv)
				bench_die("%s: %s", optarg, strerror(errno));
			fprintf(tsv, "group\tvariant\tunit\tn\tmedian\tmin\tp25"
				"\tp75\tmax\tp99_op\tratio\tratio2\tsys_per_op"
				"\tcsw_per_op\twakee_on_waker_cpu\tnote\n");
			break;
		case 'l':
			list = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (bench_opts.quick) {
		bench_opts.reps = 2;
		if (!slice_set)
			bench_opts.slice_ns = 20 * 1000000LL;
	}
	bench_opts.go_peer = go ? go : find_go_peer(argv[0]);
	if (go && access(go, X_OK)) {
		fprintf(stderr, "gwake-bench: --go %s: %s\n", go,
			strerror(errno));
		return 2;
	}

	bench_register_handoff();
	bench_register_server();
	bench_register_idle_wake();
	bench_register_rt_micro();
	bench_register_skynet();
	bench_register_idle();

	for (; optind < argc; optind++) {
		for (i = 0; i < ngroups; i++)
			if (is_scenario(&groups[i], argv[optind]))
				break;
		if (i == ngroups) {
			fprintf(stderr, "gwake-bench: unknown scenario '%s' "
				"(valid: ", argv[optind]);
			list_scenarios(stderr);
			fputs(")\n", stderr);
			return 2;
		}
		if (ns == 32)
			bench_die("too many scenarios");
		scen[ns++] = argv[optind];
	}
	for (i = 0; i < ngroups; i++)
		nsel += selected(&groups[i], filters, nf, scen, ns);
	if (!nsel) {
		fprintf(stderr, "gwake-bench: no group matches the filters "
			"(gwake-bench -l lists them; scenarios: ");
		list_scenarios(stderr);
		fputs(")\n", stderr);
		return 2;
	}

	if (list) {
		for (i = 0; i < ngroups; i++) {
			if (!selected(&groups[i], filters, nf, scen, ns))
				continue;
			printf("%s  %s [%s]\n", groups[i].id, groups[i].title,
			       groups[i].unit);
			for (j = 0; j < groups[i].nv; j++)
				printf("    %s%s\n", groups[i].v[j].name,
				       j == groups[i].baseline ?
				       "  (baseline)" : "");
		}
		return 0;
	}

	/* The backend choice is made by the first gwake_*() call: now. */
	if (!strcmp(gwake_backend(), "none")) {
		fprintf(stderr, "gwake-bench: --backend %s: not usable here%s "
			"(available: %s)\n", backend,
			!strcmp(backend, "kmod") ?
			" (no /dev/gwake: is gwake.ko loaded?)" : "",
			backends_available());
		return 2;
	}
	if (json_path) {
		json = fopen(json_path, "w");
		if (!json)
			bench_die("%s: %s", json_path, strerror(errno));
	}
	clock_ns = clock_cost();
	if (!bench_syscalls_open(&syscalls_why)) {
		clock_sys = bench_clock_syscalls();
		bench_syscalls_close();
	}
	header(json, clock_ns);
	for (i = 0; i < ngroups; i++)
		if (selected(&groups[i], filters, nf, scen, ns))
			run_group(&groups[i]);
	if (tsv)
		fclose(tsv);
	if (json) {
		fputs("\n ]}\n", json);
		if (fclose(json))
			bench_die("%s: %s", json_path, strerror(errno));
	}
	return 0;
}
