// SPDX-License-Identifier: GPL-2.0
/*
 * gwake-bench helpers: clock, timed loops, pinning, threads, the Go peer.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

double bench_timed(void (*op)(void *ctx, uint64_t n), void *ctx,
		   int64_t slice_ns)
{
	int64_t start = bench_now_ns(), elapsed;
	uint64_t n = 1, total = 0;

	for (;;) {
		op(ctx, n);
		total += n;
		elapsed = bench_now_ns() - start;
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
	return (double)elapsed / (double)total;
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
	if (sscanf(out, "%lf", &v) != 1 || v <= 0) {
		*why = "Go peer printed no number";
		return -1;
	}
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
