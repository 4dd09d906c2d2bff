// SPDX-License-Identifier: GPL-2.0
/*
 * gwake-bench helpers: clock, timed loops, pinning, threads, the Go peer.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gwake/rt.h>

#include "bench.h"

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

struct bench_tally bench_tally;

void bench_samples_add(struct bench_samples *s, const double *v, size_t n)
{
	if (s->n + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		double *p;

		while (cap < s->n + n)
			cap *= 2;
		p = realloc(s->v, cap * sizeof(*p));
		if (!p)
			bench_die("out of memory");
		s->v = p;
		s->cap = cap;
	}
	memcpy(s->v + s->n, v, n * sizeof(*v));
	s->n += n;
}

/*
 * The latency samples of the current run. Client threads of one variant
 * append concurrently at the end of their latency pass; lat_mu protects
 * lat.
 */
static pthread_mutex_t lat_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bench_samples lat;

void bench_lat_add(const double *ns, size_t n)
{
	pthread_mutex_lock(&lat_mu);
	bench_samples_add(&lat, ns, n);
	pthread_mutex_unlock(&lat_mu);
}

int bench_wake_samples(int64_t per_sample_ns)
{
	int64_t n = bench_opts.slice_ns / per_sample_ns;

	if (n < 5)
		n = 5;
	if (n > BENCH_WAKE_SAMPLES_MAX)
		n = BENCH_WAKE_SAMPLES_MAX;
	return (int)n;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

double bench_wake_result(int64_t *v, int n, int pct)
{
	double d[BENCH_WAKE_SAMPLES_MAX];
	int i;

	if (n > BENCH_WAKE_SAMPLES_MAX)
		n = BENCH_WAKE_SAMPLES_MAX;
	for (i = 0; i < n; i++)
		d[i] = (double)v[i];
	bench_lat_add(d, (size_t)n);
	bench_ops_add((uint64_t)n);
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	if (pct != 50)
		return (double)v[(n * pct + 99) / 100 - 1];
	return n % 2 ? (double)v[n / 2] :
	       ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
}

void bench_lat_move(struct bench_samples *to)
{
	pthread_mutex_lock(&lat_mu);
	if (to)
		bench_samples_add(to, lat.v, lat.n);
	lat.n = 0;
	pthread_mutex_unlock(&lat_mu);
}

#define LAT_MAX		4096
#define LAT_WARMUP	16

/*
 * The latency pass of bench_timed_units(). One clock read per call: the
 * end of one call is the start of the next.
 */
static uint64_t latency_pass(void (*op)(void *ctx, uint64_t n), void *ctx,
			     int64_t budget_ns, unsigned int units)
{
	double *ns = malloc(LAT_MAX * sizeof(*ns));
	int64_t t0, t, start;
	uint64_t calls = 0;
	size_t n = 0;

	if (!ns)
		bench_die("out of memory");
	for (; calls < LAT_WARMUP; calls++)
		op(ctx, 1);
	start = t0 = bench_now_ns();
	while (n < LAT_MAX) {
		op(ctx, 1);
		calls++;
		t = bench_now_ns();
		ns[n++] = (double)(t - t0) / units;
		t0 = t;
		if (t - start >= budget_ns)
			break;
	}
	bench_lat_add(ns, n);
	free(ns);
	atomic_fetch_add_explicit(&bench_tally.clock_reads, n + 1,
				  memory_order_relaxed);
	return calls;
}

double bench_timed_units(void (*op)(void *ctx, uint64_t n), void *ctx,
			 int64_t slice_ns, unsigned int units)
{
	uint64_t n = 1, total = 0, calls, reads = 1;
	int64_t start, elapsed;

	calls = latency_pass(op, ctx, slice_ns / 8, units);
	start = bench_now_ns();
	for (;;) {
		op(ctx, n);
		total += n;
		elapsed = bench_now_ns() - start;
		reads++;
		if (elapsed >= slice_ns)
			break;
		/*
		 * Aim the next batch at the time left, from the rate so far,
		 * but never more than double: the first batches include
		 * warm-up (page faults, a thread's first migration).
		 */
		if (elapsed > 0) {
			double left = (double)(slice_ns - elapsed) * total /
				      elapsed;

			n = left > 2.0 * total ? 2 * total : (uint64_t)left + 1;
		} else {
			n = 2 * total;
		}
	}
	bench_ops_add((calls + total) * units);
	atomic_fetch_add_explicit(&bench_tally.clock_reads, reads,
				  memory_order_relaxed);
	return (double)elapsed / (double)total / units;
}

double bench_timed(void (*op)(void *ctx, uint64_t n), void *ctx,
		   int64_t slice_ns)
{
	return bench_timed_units(op, ctx, slice_ns, 1);
}

/* ---- system calls and context switches ---------------------------------- */

/* The tracepoint's id (0: not looked up yet, < 0: none), and the counter. */
static long sys_id;
static int sys_fd = -1;

static long tracepoint_id(const char *root)
{
	char path[256];
	long id = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/events/raw_syscalls/sys_enter/id",
		 root);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &id) != 1)
		id = -1;
	fclose(f);
	return id;
}

int bench_syscalls_open(const char **why)
{
	struct perf_event_attr a;

	if (!sys_id) {
		sys_id = tracepoint_id("/sys/kernel/tracing");
		if (sys_id < 0)
			sys_id = tracepoint_id("/sys/kernel/debug/tracing");
		/* perf does the same: tracefs is often just not mounted. */
		if (sys_id < 0 && !mount("nodev", "/sys/kernel/tracing",
					 "tracefs", 0, NULL))
			sys_id = tracepoint_id("/sys/kernel/tracing");
	}
	if (sys_id < 0) {
		*why = "no raw_syscalls tracepoint (tracefs not mountable here)";
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof(a);
	a.config = (uint64_t)sys_id;
	/* Threads and children created from now on count into this one. */
	a.inherit = 1;
	sys_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1,
			      PERF_FLAG_FD_CLOEXEC);
	if (sys_fd < 0) {
		*why = errno == EACCES || errno == EPERM ?
		       "perf_event_open: not permitted (perf_event_paranoid)" :
		       "perf_event_open of raw_syscalls:sys_enter failed";
		return -1;
	}
	return 0;
}

void bench_syscalls_close(void)
{
	if (sys_fd >= 0)
		close(sys_fd);
	sys_fd = -1;
}

int64_t bench_syscalls(void)
{
	uint64_t v;

	if (sys_fd < 0 || read(sys_fd, &v, sizeof(v)) != sizeof(v))
		return -1;
	return (int64_t)v;
}

double bench_clock_syscalls(void)
{
	enum { N = 1000 };
	int64_t a, b;
	int i;

	a = bench_syscalls();
	for (i = 0; i < N; i++)
		bench_now_ns();
	b = bench_syscalls();
	/* Minus the second read itself. */
	return a >= 0 && b - a > 1 ? (double)(b - a - 1) / N : 0;
}

int64_t bench_ctxsw(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return self.ru_nvcsw + self.ru_nivcsw + kids.ru_nvcsw + kids.ru_nivcsw;
}

int bench_ncpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	return CPU_COUNT(&set);
}

int bench_pin(int cpu)
{
	cpu_set_t set;
	int i, n = 0;

	CPU_ZERO(&set);
	if (cpu >= 0) {
		CPU_SET(cpu, &set);
	} else {
		for (i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &set);
	}
	n = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	return -n;
}

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("gwake-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void bench_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int err = pthread_create(t, NULL, fn, arg);

	if (err)
		bench_die("pthread_create: %s", strerror(err));
}

double bench_go(int gomaxprocs, const char *const *argv, const char **why)
{
	char env[32], out[256];
	const char *args[16];
	int fds[2], status, i;
	uint64_t ops = 0;
	size_t len = 0;
	ssize_t n;
	double v;
	pid_t pid;

	if (!bench_opts.go_peer) {
		*why = "Go peer not built (needs golang-go)";
		return -1;
	}
	args[0] = bench_opts.go_peer;
	for (i = 0; argv[i] && i < 14; i++)
		args[i + 1] = argv[i];
	args[i + 1] = NULL;
	snprintf(env, sizeof(env), "%d", gomaxprocs);

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds))
		bench_die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		setenv("GOMAXPROCS", env, 1);
		execv(args[0], (char *const *)args);
		fprintf(stderr, "gwake-bench: exec %s: %s\n", args[0],
			strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while (len < sizeof(out) - 1 &&
	       (n = read(fds[0], out + len, sizeof(out) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*why = "Go peer failed (see stderr)";
		return -1;
	}
	/* "VALUE [OPS]": OPS, the operations measured, for the cost columns. */
	n = sscanf(out, "%lf %" SCNu64, &v, &ops);
	if (n < 1 || v <= 0) {
		*why = "Go peer printed no number";
		return -1;
	}
	if (n == 2)
		bench_ops_add(ops);
	return v;
}

int bench_rt_run(unsigned int nprocs, size_t stack_size,
		 void (*body)(void *), void *arg)
{
	struct grt_config cfg = {
		.nprocs = nprocs,
		.stack_size = stack_size,
	};

	return grt_run(&cfg, body, arg);
}
