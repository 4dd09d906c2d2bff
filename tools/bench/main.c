// SPDX-License-Identifier: GPL-2.0
/*
 * gwake-bench: run the benchmark scenarios side by side and report per-op
 * medians, spreads and ratios against the baselines of the same run.
 * docs/benchmarks.md describes every scenario and how to read the output.
 *
 *   gwake-bench [-r REPS] [-t SLICE_MS] [-f FILTER]... [--quick]
 *               [--backend user|kmod] [--go PATH] [--tsv FILE] [-l]
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

struct stats {
	int n;
	double min, p25, median, p75, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Linear interpolation between closest ranks (type 7, as R and numpy). */
static double quantile(const double *sorted, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;

	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
}

static struct stats compute(double *s, int n)
{
	struct stats st = { .n = n };

	if (!n)
		return st;
	qsort(s, n, sizeof(*s), cmp_double);
	st.min = s[0];
	st.max = s[n - 1];
	st.p25 = quantile(s, n, 0.25);
	st.median = quantile(s, n, 0.5);
	st.p75 = quantile(s, n, 0.75);
	return st;
}

static void fmt_num(char *buf, size_t len, double v)
{
	if (v >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

static bool selected(const struct bench_group *g, char **filters, int nf)
{
	int i;

	if (!nf)
		return true;
	for (i = 0; i < nf; i++)
		if (strstr(g->id, filters[i]))
			return true;
	return false;
}

static FILE *tsv;

static void print_ratio(double v, double base)
{
	char buf[32] = "-";

	if (base > 0)
		snprintf(buf, sizeof(buf), "%.3f", v / base);
	printf(" %8s", buf);
}

static void run_group(const struct bench_group *g)
{
	int reps = g->reps ? g->reps : bench_opts.reps;
	double samples[BENCH_MAX_VARIANTS][64];
	const char *why[BENCH_MAX_VARIANTS] = { 0 };
	struct stats st[BENCH_MAX_VARIANTS];
	int n[BENCH_MAX_VARIANTS] = { 0 };
	int r, i, w = 24;
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
			double x;

			/* A variant that is not available once is skipped. */
			if (why[i])
				continue;
			x = v->run(v, &reason);
			if (x < 0 || isnan(x)) {
				why[i] = reason ? reason : "not available";
				continue;
			}
			samples[i][n[i]++] = x;
		}
	}
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r%-72s\r", "");

	for (i = 0; i < g->nv; i++) {
		st[i] = compute(samples[i], n[i]);
		if ((int)strlen(g->v[i].name) > w)
			w = (int)strlen(g->v[i].name);
	}
	if (g->baseline >= 0 && n[g->baseline])
		base = st[g->baseline].median;
	if (g->baseline2 > 0 && n[g->baseline2])
		base2 = st[g->baseline2].median;

	printf("\n%s: %s\n  [%s; %d reps", g->id, g->title, g->unit, reps);
	if (g->baseline >= 0)
		printf("; ratio = median / median of \"%s\"",
		       g->v[g->baseline].name);
	if (g->baseline2 > 0)
		printf(",\n   ratio2 = median / median of \"%s\"",
		       g->v[g->baseline2].name);
	printf("]\n");
	printf("  %-*s %10s %10s %10s %10s %10s", w, "variant", "median",
	       "min", "p25", "p75", "max");
	if (g->baseline >= 0)
		printf(" %8s", "ratio");
	if (g->baseline2 > 0)
		printf(" %8s", "ratio2");
	printf("\n");
	for (i = 0; i < g->nv; i++) {
		char m[5][32];

		if (!n[i]) {
			printf("  %-*s  n/a: %s\n", w, g->v[i].name, why[i]);
			if (tsv)
				fprintf(tsv, "%s\t%s\t%s\t0\t\t\t\t\t\t\t\t%s\n",
					g->id, g->v[i].name, g->unit, why[i]);
			continue;
		}
		fmt_num(m[0], 32, st[i].median);
		fmt_num(m[1], 32, st[i].min);
		fmt_num(m[2], 32, st[i].p25);
		fmt_num(m[3], 32, st[i].p75);
		fmt_num(m[4], 32, st[i].max);
		printf("  %-*s %10s %10s %10s %10s %10s", w, g->v[i].name,
		       m[0], m[1], m[2], m[3], m[4]);
		if (g->baseline >= 0)
			print_ratio(st[i].median, base);
		if (g->baseline2 > 0)
			print_ratio(st[i].median, base2);
		printf("\n");
		if (tsv) {
			fprintf(tsv, "%s\t%s\t%s\t%d\t%g\t%g\t%g\t%g\t%g\t",
				g->id, g->v[i].name, g->unit, n[i],
				st[i].median, st[i].min, st[i].p25, st[i].p75,
				st[i].max);
			if (base > 0)
				fprintf(tsv, "%g", st[i].median / base);
			fputc('\t', tsv);
			if (base2 > 0)
				fprintf(tsv, "%g", st[i].median / base2);
			fprintf(tsv, "\t\n");
		}
	}
	if (g->note)
		printf("  %s\n", g->note);
	fflush(stdout);
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

static void header(void)
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
	printf("  wake word backend: %s\n", gwake_backend());
	printf("  Go peer: %s\n", bench_opts.go_peer ? bench_opts.go_peer :
	       "absent (Go rows are n/a)");
	printf("  %d repetitions of at least %lld ms per variant, interleaved; "
	       "spread over repetitions;\n  ratios are medians of the same "
	       "run (lower is faster for times).\n",
	       bench_opts.reps, (long long)(bench_opts.slice_ns / 1000000));
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: gwake-bench [options]\n"
"  -r, --reps N        repetitions per variant (default 5)\n"
"  -t, --slice MS      minimum measuring time per repetition (default 100)\n"
"  -f, --filter TEXT   only groups whose id contains TEXT (repeatable)\n"
"  -q, --quick         2 repetitions of 20 ms: a smoke test, not numbers\n"
"  -b, --backend NAME  force the wake word backend: user or kmod\n"
"      --go PATH       the Go peer (default: gwake-bench-go next to us)\n"
"      --tsv FILE      also write every row as tab-separated values\n"
"  -l, --list          list the groups and variants, run nothing\n");
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
		{ "tsv", required_argument, NULL, 'T' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char *filters[32];
	int nf = 0, c, i, j;
	bool list = false, slice_set = false;
	const char *go = NULL;

	while ((c = getopt_long(argc, argv, "r:t:f:qb:lh", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			bench_opts.reps = atoi(optarg);
			if (bench_opts.reps < 1 || bench_opts.reps > 64)
				bench_die("--reps: 1..64");
			break;
		case 't':
			bench_opts.slice_ns = atoll(optarg) * 1000000LL;
			if (bench_opts.slice_ns <= 0)
				bench_die("--slice: a positive number of ms");
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
			if (strcmp(optarg, "user") && strcmp(optarg, "kmod"))
				bench_die("--backend: user or kmod");
			setenv("GWAKE_BACKEND", optarg, 1);
			break;
		case 'G':
			go = optarg;
			break;
		case 'T':
			tsv = fopen(optarg, "w");
			if (!tsv)
				bench_die("%s: %s", optarg, strerror(errno));
			fprintf(tsv, "group\tvariant\tunit\tn\tmedian\tmin\tp25"
				"\tp75\tmax\tratio\tratio2\tnote\n");
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
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (bench_opts.quick) {
		bench_opts.reps = 2;
		if (!slice_set)
			bench_opts.slice_ns = 20 * 1000000LL;
	}
	bench_opts.go_peer = go ? go : find_go_peer(argv[0]);

	bench_register_handoff();
	bench_register_server();
	bench_register_rt_micro();
	bench_register_skynet();
	bench_register_idle();

	if (list) {
		for (i = 0; i < ngroups; i++) {
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
	if (!strcmp(gwake_backend(), "none"))
		bench_die("GWAKE_BACKEND=%s is not usable here",
			  getenv("GWAKE_BACKEND"));
	header();
	for (i = 0; i < ngroups; i++)
		if (selected(&groups[i], filters, nf))
			run_group(&groups[i]);
	if (tsv)
		fclose(tsv);
	return 0;
}
