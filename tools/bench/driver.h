/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gwake-bench's driver, private to it: what the registry (registry.c), the
 * measuring loop (measure.c), the reports (report.c) and main.c share.
 * Scenario files never include this: they see bench.h only.
 *
 *   registry.c  the groups the scenarios registered, and which of them the
 *               command line selects;
 *   measure.c   one group, measured: every variant, repetition after
 *               repetition, under the group's co-runners; the result is a
 *               struct group_result;
 *   report.c    the text table, the TSV rows and the JSON of results: each
 *               a function of group_results, and nothing else.
 */
#ifndef GWAKE_TOOLS_BENCH_DRIVER_H
#define GWAKE_TOOLS_BENCH_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bench.h"

#define MAX_GROUPS	64
#define MAX_REPS	64

/* --- registry.c --------------------------------------------------------- */

int bench_ngroups(void);
const struct bench_group *bench_group_at(int i);

/* The scenario of a group: its id up to the first '/'. */
size_t bench_scenario_len(const struct bench_group *g);
bool bench_is_scenario(const struct bench_group *g, const char *name);

/* Does the command line (scenarios, -f filters) select g? */
bool bench_selected(const struct bench_group *g, char **filters, int nf,
		    char **scen, int ns);

/* The scenario names, once each, in registration order; comma-separated. */
void bench_list_scenarios(FILE *f);

/* --- measure.c ---------------------------------------------------------- */

/* What the report says of one variant, over its repetitions. */
struct result {
	const char *name;
	int n;				/* repetitions measured; 0: n/a */
	const char *why;		/* why n/a */
	double min, p25, median, p75, max;
	double p99;			/* per op, from latency passes; < 0: none */
	size_t nlat;
	double ratio, ratio2;		/* < 0: no baseline */
	double ops_per_s;		/* < 0: not a time per op */
	double sys_per_op, csw_per_op;	/* < 0: not measured */
	double same_cpu;		/* fraction; < 0: not measured */
	double samples[MAX_REPS];	/* in run order */
};

/* One group as measured: the group, its conditions, and every variant. */
struct group_result {
	const struct bench_group *g;
	/* "handoff/1pair/unpinned", or with "/corunN" under co-runners. */
	char id[96];
	int corunners;
	int reps;
	int nv;
	struct result r[BENCH_MAX_VARIANTS];
};

/*
 * Measure g with corunners CPU-bound threads running in another process
 * (started before the first repetition, stopped after the last), into *out.
 */
void bench_measure_group(const struct bench_group *g, int corunners,
			 struct group_result *out);

/*
 * Machine facts the report header shows, measured once before any group:
 * the cost of a clock read (ns), the system calls one makes (0 with a
 * vDSO clock), and why the syscall counter is unusable (NULL if usable).
 */
struct bench_env {
	double clock_ns;
	double clock_sys;
	const char *syscalls_why;
};
extern struct bench_env bench_env;
void bench_measure_env(void);

/* --- report.c ----------------------------------------------------------- */

/* The header of the text report; the JSON's opening, if j. */
void bench_report_header(FILE *j, const char *backends_available);

/* One group: its text table on stdout, its rows in tsv if non-NULL. */
void bench_report_text(const struct group_result *gr);
void bench_report_tsv_header(FILE *tsv);
void bench_report_tsv(FILE *tsv, const struct group_result *gr);

/* Every group measured, as the JSON document's "groups", then its end. */
void bench_report_json(FILE *j, const struct group_result *grs, int n);

#endif /* GWAKE_TOOLS_BENCH_DRIVER_H */
