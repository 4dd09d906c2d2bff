/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gwake-bench: what the driver (main.c) and the scenarios share.
 *
 * A scenario file registers groups of variants. A group is one table of
 * the report: variants measured side by side, repetition after
 * repetition (rep 1 of every variant, then rep 2, ...), so that drift of a
 * noisy machine spreads over all of them, and the ratios between them are
 * taken from one run. One variant of a group is its baseline: the ratio
 * column is median(variant) / median(baseline).
 */
#ifndef GWAKE_TOOLS_BENCH_H
#define GWAKE_TOOLS_BENCH_H

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NSEC_PER_SEC	1000000000LL

struct bench_variant;

/*
 * Measure once. Returns the value in the group's unit (> 0), or a value
 * < 0 for "not available" after setting *why (a static string).
 */
typedef double (*bench_fn)(const struct bench_variant *v, const char **why);

struct bench_variant {
	const char *name;
	bench_fn run;
	/* Scenario-private parameters. */
	const void *arg;
	long iarg;
};

#define BENCH_MAX_VARIANTS	32

struct bench_group {
	/* "handoff/1pair/unpinned": what --filter matches. */
	const char *id;
	/* The table's title line. */
	const char *title;
	/* "ns/rt", "ns/op", "ms", "us CPU/s" ... */
	const char *unit;
	/*
	 * Index of the baseline variant in v[] (-1: no ratio column), and
	 * of an optional second one (0 if none: a second baseline is never
	 * the first variant).
	 */
	int baseline, baseline2;
	/* Repetitions, if not the default (slow variants: skynet, idle). */
	int reps;
	/* A line printed under the table (what to read from it). */
	const char *note;
	/*
	 * Nanoseconds in one unit of the value when it is a time per
	 * operation (1 for "ns per ...", 1e6 for "ms per tree"): the report
	 * derives operations per second from it. 0: not a time per op.
	 */
	double unit_ns;
	/* Hand-offs: report how often the woken thread ran on the waker's CPU. */
	bool waker_cpu;
	int nv;
	struct bench_variant v[BENCH_MAX_VARIANTS];
};

/* Register a group (copied). Called from each scenario's register(). */
void bench_add_group(const struct bench_group *g);

/* Options every scenario may read. */
struct bench_opts {
	/* Minimum measuring time of one repetition of one variant. */
	int64_t slice_ns;
	int reps;
	/* The Go peer binary, or NULL if it is not there. */
	const char *go_peer;
	/* Quick mode (make bench-quick, CI smoke): fewer, shorter runs. */
	bool quick;
};
extern struct bench_opts bench_opts;

/* The scenarios (one file each). */
void bench_register_handoff(void);
void bench_register_server(void);
void bench_register_rt_micro(void);
void bench_register_skynet(void);
void bench_register_select_timer(void);
void bench_register_idle(void);
void bench_register_idle_wake(void);
void bench_register_block_handoff(void);
void bench_register_wake_many(void);

/* ---- helpers (util.c) --------------------------------------------------- */

int64_t bench_now_ns(void);

/*
 * Call op(ctx, n) with growing n until at least slice_ns have passed;
 * returns nanoseconds per unit of n. The clock is read once per batch, so
 * its cost is negligible however cheap one op is.
 *
 * Before that, a latency pass: op(ctx, 1) timed one call at a time (one
 * clock read per call) for slice_ns / 8 or 4096 calls, after 16 calls of
 * warm-up. Those times feed the p99 column; they include one clock read
 * each (the report's header gives its cost). Every call is counted in
 * bench_tally.ops, which the syscall and context-switch columns divide by.
 * Thread safe: clients of one variant may call it concurrently.
 */
double bench_timed(void (*op)(void *ctx, uint64_t n), void *ctx,
		   int64_t slice_ns);

/*
 * The same, where one call of op's n stands for units operations of the
 * group's unit (two G switches per yield round trip): the result, the
 * latency samples and the op count are all per unit.
 */
double bench_timed_units(void (*op)(void *ctx, uint64_t n), void *ctx,
			 int64_t slice_ns, unsigned int units);

/*
 * What one repetition of a variant did, besides its value: reset by the
 * driver before each run of a variant, read after it. Scenarios that do
 * not use bench_timed() count their operations with bench_ops_add().
 */
struct bench_tally {
	/* Operations measured (all threads, all calls of bench_timed). */
	_Atomic uint64_t ops;
	/* Hand-offs observed, and those whose wakee ran on the waker's CPU. */
	_Atomic uint64_t wakes, wakes_same_cpu;
	/*
	 * Clock reads made by bench_timed(): where the clock is a system
	 * call (a VM without a usable TSC), the driver takes them out of the
	 * syscall count (bench_clock_syscalls()).
	 */
	_Atomic uint64_t clock_reads;
};
extern struct bench_tally bench_tally;

static inline void bench_ops_add(uint64_t n)
{
	atomic_fetch_add_explicit(&bench_tally.ops, n, memory_order_relaxed);
}

/* A growable array of samples; { 0 } is empty. */
struct bench_samples {
	double *v;
	size_t n, cap;
};

/* Append n values to s (exits on out of memory). No locking. */
void bench_samples_add(struct bench_samples *s, const double *v, size_t n);

/*
 * The per-operation latency samples (ns) of the current run: any thread
 * adds (locked); the driver moves them to its own array for the variant
 * after each run, or drops them (to == NULL).
 */
void bench_lat_add(const double *ns, size_t n);
void bench_lat_move(struct bench_samples *to);

/*
 * System calls of the whole process: all its threads, those that have
 * exited included, and its waited-for children (the Go peer), from a perf
 * counter on the raw_syscalls:sys_enter tracepoint with inherit set: it
 * counts what threads created after bench_syscalls_open() do. While it is
 * open every system call of the process takes the kernel's slow, traced
 * path (hundreds of ns here), so the driver opens it only for an extra,
 * untimed repetition. bench_syscalls() returns -1 while it is not open;
 * bench_syscalls_open() returns -1 with *why when it cannot be.
 *
 * Context switches (voluntary + involuntary) of the process and its
 * waited-for children come from getrusage(), which costs nothing extra.
 */
int bench_syscalls_open(const char **why);
void bench_syscalls_close(void);
int64_t bench_syscalls(void);
int64_t bench_ctxsw(void);

/*
 * System calls per bench_now_ns(), 0 with a vDSO clock, 1 without; with
 * the syscall counter open.
 */
double bench_clock_syscalls(void);

/*
 * Scenarios whose operation is one wake-up, timed sample by sample
 * (idle-wake, block-handoff). A repetition takes about one slice worth of
 * samples of per_sample_ns each, at least 5 and at most
 * BENCH_WAKE_SAMPLES_MAX; its value is their median (pct 50) or another
 * percentile (nearest rank). bench_wake_result() also adds every sample
 * to the p99 column, counts each as one operation, and sorts v.
 */
#define BENCH_WAKE_SAMPLES_MAX	1024
int bench_wake_samples(int64_t per_sample_ns);
double bench_wake_result(int64_t *v, int n, int pct);

/* Pin the calling thread to cpu (>= 0) or leave it free (-1). */
int bench_pin(int cpu);
int bench_ncpus(void);

/* Start a thread or die with a message. */
void bench_thread(pthread_t *t, void *(*fn)(void *), void *arg);

/* Print a message and exit(1): setup failures the report cannot hide. */
void bench_die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/*
 * Run the Go peer: GOMAXPROCS=gomaxprocs, arguments argv (NULL
 * terminated, after the binary). Returns the number it prints, or < 0
 * with *why if the peer is absent or failed.
 */
double bench_go(int gomaxprocs, const char *const *argv, const char **why);

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * Run body(arg) as the main G of a fresh runtime with nprocs Ps (0: one
 * per CPU) and stack_size bytes of stack per G (0: the default). Returns
 * grt_run()'s result; the runtime is torn down before it returns, so every
 * repetition starts from the same state and start-up is never measured.
 */
int bench_rt_run(unsigned int nprocs, size_t stack_size,
		 void (*body)(void *), void *arg);

/*
 * The plain futex wake word of the C baselines: 0 idle, 1 a permit is
 * pending, 2 the owner sleeps. The waker makes the FUTEX_WAKE system call
 * only if the owner sleeps; the owner sleeps only if no permit is pending.
 * This is the protocol of glibc's and urcu's waits: a fair baseline.
 */
static inline void bench_word_signal(atomic_uint *w)
{
	/* Release: the woken owner sees what we wrote before. */
	if (atomic_exchange_explicit(w, 1, memory_order_release) == 2)
		syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Wait for and consume the permit; with spin, poll spin times first. */
static inline void bench_word_wait(atomic_uint *w, int spin)
{
	unsigned int v;

	while (spin-- > 0 &&
	       atomic_load_explicit(w, memory_order_relaxed) != 1)
		cpu_relax();
	for (;;) {
		v = 1;
		if (atomic_compare_exchange_strong_explicit(w, &v, 0,
				memory_order_acquire, memory_order_relaxed))
			return;
		v = 0;
		if (atomic_compare_exchange_strong_explicit(w, &v, 2,
				memory_order_relaxed, memory_order_relaxed) ||
		    v == 2)
			syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 2, NULL,
				NULL, 0);
	}
}

#endif /* GWAKE_TOOLS_BENCH_H */
