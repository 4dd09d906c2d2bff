// SPDX-License-Identifier: GPL-2.0
/*
 * gwake-bench: the reports. The text table, the TSV rows and the JSON
 * document are each a function of measured groups (struct group_result,
 * measure.c) and of the header facts (bench_env): nothing here measures.
 * The JSON schema and the columns are described in docs/benchmarks.md.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include <gwake/gwake.h>

#include "driver.h"

/*
 * How this gwake-bench was built, for the JSON header: numbers from another
 * compiler or other flags are not comparable. BENCH_CFLAGS comes from
 * tools/tools.mk; a build without it records null.
 */
#ifdef __clang__
#define BENCH_COMPILER	__VERSION__		/* "Debian Clang 14.0.6" */
#else
#define BENCH_COMPILER	"gcc " __VERSION__	/* __VERSION__ is "12.2.0" */
#endif

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

static void print_ratio(double r)
{
	if (r < 0)
		printf(" %7s", "-");
	else
		printf(" %7.3f", r);
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

void bench_report_header(FILE *j, const char *backends)
{
	char model[256] = "?", line[512], date[64];
	const char *why = bench_env.syscalls_why;
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
	       gwake_backend(), backends);
	printf("  Go peer: %s\n", bench_opts.go_peer ? bench_opts.go_peer :
	       "absent (Go rows are n/a)");
	printf("  %d repetitions of at least %lld ms per variant, interleaved; "
	       "median, p25, p75 over\n  repetitions; ratios are medians of "
	       "the same run (lower is faster for times).\n",
	       bench_opts.reps, (long long)(bench_opts.slice_ns / 1000000));
	printf("  p99/op: per-operation times of a latency pass, one clock "
	       "read each (%.0f ns here%s).\n", bench_env.clock_ns,
	       bench_env.clock_sys > 0.5 ? ", a system call: not in sys/op" : "");
	printf("  sys/op, csw/op: system calls (%s; in one extra, untimed\n"
	       "  repetition) and context switches (getrusage) of the whole "
	       "process per operation,\n  repetition set-up included.\n",
	       why ? why : "perf, raw_syscalls:sys_enter");
	printf("  /corunN groups: the same group with N CPU-bound threads of "
	       "another process\n  running throughout.\n");
	if (!j)
		return;
	fprintf(j, "{\"schema\": \"gwake-bench/2\", \"date\": \"%s\",\n"
		" \"gwake_version\": ", date);
	json_str(j, gwake_version());
	fputs(", \"compiler\": ", j);
	json_str(j, BENCH_COMPILER);
	fputs(", \"cflags\": ", j);
#ifdef BENCH_CFLAGS
	json_str(j, BENCH_CFLAGS);
#else
	fputs("null", j);
#endif
	fputs(",\n \"kernel\": ", j);
	json_str(j, u.release);
	fputs(", \"machine\": ", j);
	json_str(j, u.machine);
	fprintf(j, ", \"cpus\": %d, \"cpu_model\": ", bench_ncpus());
	json_str(j, model);
	fprintf(j, ",\n \"backend\": \"%s\", \"backends_available\": \"%s\", "
		"\"go_peer\": ", gwake_backend(), backends);
	if (bench_opts.go_peer)
		json_str(j, bench_opts.go_peer);
	else
		fputs("null", j);
	fprintf(j, ",\n \"reps\": %d, \"slice_ms\": %lld, \"quick\": %s, "
		"\"clock_read_ns\": %.1f, \"syscall_counter\": ",
		bench_opts.reps, (long long)(bench_opts.slice_ns / 1000000),
		bench_opts.quick ? "true" : "false", bench_env.clock_ns);
	if (why)
		json_str(j, why);
	else
		fputs("\"perf raw_syscalls:sys_enter\"", j);
}

void bench_report_text(const struct group_result *gr)
{
	const struct bench_group *g = gr->g;
	int i, w = 24;

	for (i = 0; i < gr->nv; i++)
		if ((int)strlen(gr->r[i].name) > w)
			w = (int)strlen(gr->r[i].name);
	printf("\n%s: %s", gr->id, g->title);
	if (gr->corunners)
		printf(", with %d CPU-bound co-runner%s", gr->corunners,
		       gr->corunners > 1 ? "s" : "");
	printf("\n  [%s; %d reps", g->unit, gr->reps);
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
	for (i = 0; i < gr->nv; i++) {
		const struct result *x = &gr->r[i];
		char m[10][32];

		if (!x->n) {
			printf("  %-*s  n/a: %s\n", w, x->name, x->why);
			continue;
		}
		fmt_num(m[0], 32, x->median);
		fmt_num(m[1], 32, x->p25);
		fmt_num(m[2], 32, x->p75);
		fmt_num(m[3], 32, x->p99);
		printf("  %-*s %9s %9s %9s %9s", w, x->name, m[0], m[1], m[2], m[3]);
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
	}
	if (g->note)
		printf("  %s\n", g->note);
	fflush(stdout);
}

void bench_report_tsv_header(FILE *tsv)
{
	fprintf(tsv, "group\tvariant\tunit\tn\tmedian\tmin\tp25\tp75\tmax\tp99_op"
		"\tratio\tratio2\tsys_per_op\tcsw_per_op\twakee_on_waker_cpu"
		"\tnote\tcorunners\n");
}

void bench_report_tsv(FILE *tsv, const struct group_result *gr)
{
	int i;

	for (i = 0; i < gr->nv; i++) {
		const struct result *x = &gr->r[i];

		if (!x->n) {
			fprintf(tsv, "%s\t%s\t%s\t0\t\t\t\t\t\t\t\t\t\t\t\t%s\t%d\n",
				gr->id, x->name, gr->g->unit, x->why, gr->corunners);
			continue;
		}
		fprintf(tsv, "%s\t%s\t%s\t%d\t%g\t%g\t%g\t%g\t%g\t%g\t%g\t%g\t%g"
			"\t%g\t%g\t\t%d\n",
			gr->id, x->name, gr->g->unit, x->n, x->median, x->min,
			x->p25, x->p75, x->max, x->p99, x->ratio, x->ratio2,
			x->sys_per_op, x->csw_per_op, x->same_cpu, gr->corunners);
	}
	fflush(tsv);
}

static void json_group(FILE *j, const struct group_result *gr, bool first)
{
	const struct bench_group *g = gr->g;
	int i, k;

	fprintf(j, "%s\n    {\"id\": ", first ? "" : ",");
	json_str(j, gr->id);
	fprintf(j, ", \"scenario\": \"%.*s\", \"group\": ",
		(int)bench_scenario_len(g), g->id);
	json_str(j, g->id);
	fprintf(j, ", \"corunners\": %d, \"title\": ", gr->corunners);
	json_str(j, g->title);
	fputs(", \"unit\": ", j);
	json_str(j, g->unit);
	fprintf(j, ", \"reps\": %d, \"baseline\": ", gr->reps);
	if (g->baseline >= 0)
		json_str(j, g->v[g->baseline].name);
	else
		fputs("null", j);
	fputs(", \"baseline2\": ", j);
	if (g->baseline2 > 0)
		json_str(j, g->v[g->baseline2].name);
	else
		fputs("null", j);
	fputs(", \"note\": ", j);
	if (g->note)
		json_str(j, g->note);
	else
		fputs("null", j);
	fputs(",\n     \"variants\": [", j);
	for (i = 0; i < gr->nv; i++) {
		const struct result *x = &gr->r[i];

		fprintf(j, "%s\n      {\"name\": ", i ? "," : "");
		json_str(j, x->name);
		if (!x->n) {
			fputs(", \"available\": false, \"reason\": ", j);
			json_str(j, x->why);
			fputs("}", j);
			continue;
		}
		fputs(", \"available\": true, \"samples\": [", j);
		for (k = 0; k < x->n; k++)
			fprintf(j, "%s%.6g", k ? ", " : "", x->samples[k]);
		fputs("]", j);
		json_num(j, "median", x->median);
		json_num(j, "min", x->min);
		json_num(j, "p25", x->p25);
		json_num(j, "p75", x->p75);
		json_num(j, "max", x->max);
		json_num(j, "p99_op", x->p99);
		fprintf(j, ", \"latency_samples\": %zu", x->nlat);
		json_num(j, "ratio", x->ratio);
		json_num(j, "ratio2", x->ratio2);
		json_num(j, "ops_per_s", x->ops_per_s);
		json_num(j, "syscalls_per_op", x->sys_per_op);
		json_num(j, "ctxsw_per_op", x->csw_per_op);
		json_num(j, "wakee_on_waker_cpu", x->same_cpu);
		fputs("}", j);
	}
	fputs("]}", j);
}

void bench_report_json(FILE *j, const struct group_result *grs, int n)
{
	int i;

	fputs(",\n \"groups\": [", j);
	for (i = 0; i < n; i++)
		json_group(j, &grs[i], i == 0);
	fputs("\n ]}\n", j);
}
