// SPDX-License-Identifier: GPL-2.0
/*
 * gwake-bench: run the benchmark scenarios side by side and report per-op
 * medians, spreads and ratios against the baselines of the same run.
 * docs/benchmarks.md describes every scenario and how to read the output.
 *
 *   gwake-bench [-r REPS] [-t SLICE_MS] [-f FILTER]... [-c N,M...]
 *               [--quick] [--backend user|kmod] [--go PATH] [--json FILE]
 *               [--tsv FILE] [-l] [SCENARIO...]
 *   gwake-bench --version
 *
 * The parts: the scenarios (one file each) register groups in the
 * registry (registry.c); each group is measured (measure.c) into a result
 * that the reports (report.c) print as text, TSV and JSON; this file only
 * reads the command line and runs the selected groups in order.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gwake/gwake.h>

#include "backend.h"
#include "driver.h"

#define MAX_CORUN	8

/*
 * The scenarios measured by default under 0 and 1 co-runner: the hand-offs
 * and the server, whose spinning decisions a busy machine puts to the
 * test. The others (micro-benchmarks, idle) only without.
 */
static bool corun_by_default(const struct bench_group *g)
{
	return bench_is_scenario(g, "handoff") || bench_is_scenario(g, "server");
}

/* "0,1,4" into counts[]; a one-line error and exit 2 if malformed. */
static int parse_corunners(const char *arg, int *counts)
{
	const char *p = arg;
	int n = 0;

	for (;;) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v < 0 || v > 64 || n == MAX_CORUN ||
		    (*end && *end != ',')) {
			fprintf(stderr, "gwake-bench: --corunners: '%s' is not a "
				"list of up to %d counts from 0 to 64 (e.g. 0,1)\n",
				arg, MAX_CORUN);
			exit(2);
		}
		counts[n++] = (int)v;
		if (!*end)
			return n;
		p = end + 1;
	}
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

/* "kmod" and "user" if both can be used here, else the one that can. */
static const char *backends_available(void)
{
	bool k = !gwi_backend_init(&gwi_kmod_backend);
	bool u = !gwi_backend_init(&gwi_user_backend);

	return k && u ? "user kmod" : k ? "kmod" : u ? "user" : "none";
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: gwake-bench [options] [SCENARIO...]\n"
"  SCENARIO            handoff, server, idle-wake, block-handoff, wake-many,\n"
"                      runtime, idle-burn\n"
"                      (default: all of them; -l lists the groups)\n"
"  -r, --reps N        repetitions per variant (default 5)\n"
"  -t, --slice MS      minimum measuring time per repetition (default 100)\n"
"  -f, --filter TEXT   only groups whose id contains TEXT (repeatable)\n"
"  -c, --corunners N,M run each group with N, then M, ... CPU-bound threads\n"
"                      of another process beside it (default: 0,1 for handoff\n"
"                      and server, 0 for the rest; groups /corunN)\n"
"  -q, --quick         2 repetitions of 20 ms: a smoke test, not numbers\n"
"  -b, --backend NAME  the wake word backend of the runtime: user or kmod\n"
"      --go PATH       the Go peer (default: gwake-bench-go next to us)\n"
"      --json FILE     also write every result as JSON (docs/benchmarks.md)\n"
"      --tsv FILE      also write every row as tab-separated values\n"
"  -l, --list          list the groups and variants, run nothing\n"
"  -V, --version       print gwake-bench's version and exit\n");
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

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "reps", required_argument, NULL, 'r' },
		{ "slice", required_argument, NULL, 't' },
		{ "filter", required_argument, NULL, 'f' },
		{ "corunners", required_argument, NULL, 'c' },
		{ "quick", no_argument, NULL, 'q' },
		{ "backend", required_argument, NULL, 'b' },
		{ "go", required_argument, NULL, 'G' },
		{ "json", required_argument, NULL, 'J' },
		{ "tsv", required_argument, NULL, 'T' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	static struct group_result results[MAX_GROUPS * MAX_CORUN];
	int corun[MAX_CORUN], ncorun = 0, nres = 0;
	char *filters[32], *scen[32];
	int nf = 0, ns = 0, c, i, j, k, nsel = 0;
	bool list = false, slice_set = false;
	const char *go = NULL, *backend = NULL, *json_path = NULL;
	FILE *tsv = NULL, *json = NULL;

	while ((c = getopt_long(argc, argv, "r:t:f:c:qb:lhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			bench_opts.reps = (int)parse_num("--reps", optarg, 1, MAX_REPS);
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
		case 'c':
			ncorun = parse_corunners(optarg, corun);
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
			bench_report_tsv_header(tsv);
			break;
		case 'l':
			list = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("gwake-bench %s\n", gwake_version());
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
	bench_register_block_handoff();
	bench_register_wake_many();
	bench_register_rt_micro();
	bench_register_skynet();
	bench_register_select_timer();
	bench_register_idle();

	for (; optind < argc; optind++) {
		for (i = 0; i < bench_ngroups(); i++)
			if (bench_is_scenario(bench_group_at(i), argv[optind]))
				break;
		if (i == bench_ngroups()) {
			fprintf(stderr, "gwake-bench: unknown scenario '%s' "
				"(valid: ", argv[optind]);
			bench_list_scenarios(stderr);
			fputs(")\n", stderr);
			return 2;
		}
		if (ns == 32)
			bench_die("too many scenarios");
		scen[ns++] = argv[optind];
	}
	for (i = 0; i < bench_ngroups(); i++)
		nsel += bench_selected(bench_group_at(i), filters, nf, scen, ns);
	if (!nsel) {
		fprintf(stderr, "gwake-bench: no group matches the filters "
			"(gwake-bench -l lists them; scenarios: ");
		bench_list_scenarios(stderr);
		fputs(")\n", stderr);
		return 2;
	}

	if (list) {
		for (i = 0; i < bench_ngroups(); i++) {
			const struct bench_group *g = bench_group_at(i);

			if (!bench_selected(g, filters, nf, scen, ns))
				continue;
			printf("%s  %s [%s]%s\n", g->id, g->title, g->unit,
			       !ncorun && corun_by_default(g) ? " (also /corun1)" : "");
			for (j = 0; j < g->nv; j++)
				printf("    %s%s\n", g->v[j].name,
				       j == g->baseline ? "  (baseline)" : "");
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
	bench_measure_env();
	bench_report_header(json, backends_available());
	for (i = 0; i < bench_ngroups(); i++) {
		const struct bench_group *g = bench_group_at(i);
		static const int by_default[] = { 0, 1 };
		const int *counts = ncorun ? corun : by_default;
		int nc = ncorun ? ncorun : corun_by_default(g) ? 2 : 1;

		if (!bench_selected(g, filters, nf, scen, ns))
			continue;
		for (k = 0; k < nc; k++) {
			struct group_result *gr = &results[nres++];

			bench_measure_group(g, counts[k], gr);
			bench_report_text(gr);
			if (tsv)
				bench_report_tsv(tsv, gr);
		}
	}
	if (tsv)
		fclose(tsv);
	if (json) {
		bench_report_json(json, results, nres);
		if (fclose(json))
			bench_die("%s: %s", json_path, strerror(errno));
	}
	return 0;
}
