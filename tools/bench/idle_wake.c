// SPDX-License-Identifier: GPL-2.0
/*
 * idle-wake: how long an idle runtime takes to run a G that becomes
 * runnable. "Idle" means every M is parked on its wake word (past its
 * spin, asleep in the kernel), no M is spinning, and the monitor sleeps
 * too: the state the runtime is in most of the time in a server that
 * waits for requests, and the one "idle Ms park on their wake words" is
 * about. Each sample starts from that state: before it, the runtime has
 * had a settle time of 2 ms with nothing to do, 20 times the longest spin
 * a wake word makes (GWI_SPIN_MAX_NS, 100 us) and far longer than a
 * spinning M's four rounds of stealing (lib/rt/proc.c, findrunnable).
 *
 * A repetition takes about one slice worth of samples (40 with the
 * default 100 ms: slice / 2.5 ms, at least 5; one more is taken first
 * and not counted, IW_WARMUP) and reports their median,
 * in ns; the table then shows the spread of those medians over the
 * repetitions, and the p99 column is over every single wake of every
 * repetition. Medians, because one sample is one wake-up of an idle CPU
 * and the occasional one that lands behind a host's other work would
 * otherwise dominate a mean.
 *
 * idle-wake/ready: from the call that makes the sleeper runnable to the
 * sleeper running (its first clock read). The waker then stays busy on
 * its CPU until the sleeper reports (a cpu_relax() loop), so the sleeper
 * is always run elsewhere: by an M, a thread, on the other CPU, that was
 * asleep. That is the point of the group; a waker that blocks right after
 * the wake would mostly hand its own CPU (or P) to the sleeper and
 * measure a local switch instead. Needs 2 CPUs. The price: now and then
 * the kernel queues the sleeper on the busy waker's CPU anyway, and it
 * runs only when the waker's time slice ends, milliseconds later; that is
 * a few per cent of the wakes, on every row alike, and shows in the p99
 * column, not in the medians.
 *
 *   C threads, futex word   a thread asleep in FUTEX_WAIT on the word of
 *                           bench_word_*(), woken by bench_word_signal()
 *   C threads, condvar      a thread in pthread_cond_wait(), signalled
 *   gwake wake              a thread in gwake_block(), gwake_wake()
 *                           (the wake word alone: the floor of the two
 *                           runtime rows)
 *   grt, G readies G        2 Ps (as GOMAXPROCS=2 of the Go rows); a G
 *                           blocked in grt_chan_recv(); the waker is a
 *                           G that wakes from grt_sleep(settle), then
 *                           blocks its thread in a raw nanosleep of
 *                           settle / 2 without telling the runtime, so it
 *                           keeps its P while the M woken alongside it
 *                           (the last spinner finding work wakes another)
 *                           parks again; then grt_chan_try_send(). The
 *                           receiver goes to the waker's run-next slot and
 *                           wakep() wakes the parked M by its wake word;
 *                           that M takes the idle P and steals the G. The
 *                           monitor ticks meanwhile (a P is running), as
 *                           Go's sysmon does.
 *   grt, thread readies G   2 Ps; the same receiver, every M parked and the
 *                           monitor asleep; the waker is a plain pthread
 *                           (not an M) calling grt_chan_try_send(): the G
 *                           goes to the global queue and wakep() wakes a
 *                           parked M. (A G asleep in a far timer keeps the
 *                           deadlock check quiet: a thread that is not an
 *                           M is invisible to it.)
 *   Go, G readies G         tools/go/idlewake.go: the grt G-readies-G row
 *                           in Go 1.19, GOMAXPROCS=2, the raw nanosleep a
 *                           RawSyscall. Go's spinning M takes a running P's
 *                           run-next G only after usleep(3) (runqgrab);
 *                           that is in its figure.
 *
 * idle-wake/timer: from a sleep's deadline (the clock read before the
 * call plus the duration, 2 ms) to the sleeper running. Nothing else is
 * runnable, so the sleep is also the settle time.
 *
 *   C thread, nanosleep     nanosleep(), relative, as the other two
 *   grt_sleep               2 Ps; the timer is on an idle P: the monitor,
 *                           the only thread that sleeps with a deadline,
 *                           wakes, and wakep() gets a parked M to run it
 *   Go time.Sleep           GOMAXPROCS=2; Go's idle M waits for the timer
 *                           in epoll_pwait(), whose timeout is in whole
 *                           milliseconds (netpoll: less than 1 ms left
 *                           waits 1 ms), which is in its figure
 *
 * All of them sleep in the kernel with the default timer slack (50 us for
 * a normal thread, prctl(PR_SET_TIMERSLACK)), which the kernel may add to
 * any timed sleep, and it is part of every row.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gwake/gwake.h>
#include <gwake/rt.h>

#include "bench.h"

#define IW_SETTLE_NS	(2 * 1000000LL)
#define IW_SAMPLES_MAX	BENCH_WAKE_SAMPLES_MAX
/*
 * Wakes taken but not counted first: the first one of a fresh thread or
 * runtime is often milliseconds (its first migration, page faults).
 */
#define IW_WARMUP	1
#define IW_LAT_MAX	(IW_SAMPLES_MAX + IW_WARMUP)

static int iw_samples(void)
{
	return bench_wake_samples(IW_SETTLE_NS + IW_SETTLE_NS / 4);
}

/*
 * Sleep ns in the kernel, telling nobody: in a G this blocks its M and
 * keeps its P, as a long computation would. Absolute, so that a signal
 * (the runtime's preemption signal) cannot stretch it.
 */
static void raw_sleep(int64_t ns)
{
	int64_t until = bench_now_ns() + ns;
	struct timespec ts = {
		.tv_sec = until / NSEC_PER_SEC,
		.tv_nsec = until % NSEC_PER_SEC,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* The waker's busy wait for the sleeper's report: it keeps its CPU. */
static void wait_done(atomic_int *done, int want)
{
	while (atomic_load_explicit(done, memory_order_acquire) != want)
		cpu_relax();
}

/* ---- C threads ----------------------------------------------------------- */

enum cmech {
	C_FUTEX,
	C_CONDVAR,
	C_GWAKE,
};

struct cwake {
	enum cmech mech;
	atomic_uint word;		/* C_FUTEX */
	pthread_mutex_t mu;		/* C_CONDVAR */
	pthread_cond_t cv;
	bool flag;
	gwake_t handle;			/* C_GWAKE */
	atomic_uint ready;		/* a bench_word: the handle is set */
	_Atomic int64_t t0;
	atomic_bool stop;
	atomic_int done;
	int64_t lat[IW_LAT_MAX];
};

static void cw_wait(struct cwake *w)
{
	switch (w->mech) {
	case C_FUTEX:
		bench_word_wait(&w->word, 0);
		break;
	case C_CONDVAR:
		pthread_mutex_lock(&w->mu);
		while (!w->flag)
			pthread_cond_wait(&w->cv, &w->mu);
		w->flag = false;
		pthread_mutex_unlock(&w->mu);
		break;
	case C_GWAKE:
		while (gwake_block(-1) != 0)
			;
		break;
	}
}

static void cw_wake(struct cwake *w)
{
	switch (w->mech) {
	case C_FUTEX:
		bench_word_signal(&w->word);
		break;
	case C_CONDVAR:
		pthread_mutex_lock(&w->mu);
		w->flag = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		break;
	case C_GWAKE:
		gwake_wake(w->handle);
		break;
	}
}

static void *cw_sleeper(void *arg)
{
	struct cwake *w = arg;
	int64_t t1;
	int i;

	if (w->mech == C_GWAKE && gwake_self(&w->handle))
		bench_die("idle-wake: gwake_self failed");
	bench_word_signal(&w->ready);
	for (i = 0;; i++) {
		cw_wait(w);
		t1 = bench_now_ns();
		if (atomic_load(&w->stop))
			return NULL;
		w->lat[i] = t1 - atomic_load_explicit(&w->t0,
						      memory_order_relaxed);
		atomic_store_explicit(&w->done, i + 1, memory_order_release);
	}
}

static double run_c_ready(const struct bench_variant *v, const char **why)
{
	static struct cwake w;
	int n = iw_samples(), i;
	pthread_t t;

	if (bench_ncpus() < 2) {
		*why = "needs 2 CPUs (the waker keeps one busy)";
		return -1;
	}
	memset(&w, 0, sizeof(w));
	w.mech = (enum cmech)v->iarg;
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	bench_thread(&t, cw_sleeper, &w);
	/* Sleep, not sched_yield(): sys/op counts every system call. */
	bench_word_wait(&w.ready, 0);
	for (i = 0; i < n + IW_WARMUP; i++) {
		raw_sleep(IW_SETTLE_NS);
		/* Relaxed: the wake orders it (word, mutex or wake word). */
		atomic_store_explicit(&w.t0, bench_now_ns(),
				      memory_order_relaxed);
		cw_wake(&w);
		wait_done(&w.done, i + 1);
	}
	atomic_store(&w.stop, true);
	cw_wake(&w);
	pthread_join(t, NULL);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return bench_wake_result(w.lat + IW_WARMUP, n, 50);
}

static double run_c_timer(const struct bench_variant *v, const char **why)
{
	static int64_t lat[IW_LAT_MAX];
	struct timespec ts = { .tv_nsec = IW_SETTLE_NS };
	int n = iw_samples(), i;
	int64_t t;

	(void)v;
	(void)why;
	for (i = 0; i < n + IW_WARMUP; i++) {
		t = bench_now_ns();
		/* No signal handler runs on this thread: no EINTR. */
		nanosleep(&ts, NULL);
		lat[i] = bench_now_ns() - (t + IW_SETTLE_NS);
	}
	return bench_wake_result(lat + IW_WARMUP, n, 50);
}

/* ---- the runtime ---------------------------------------------------------- */

enum rmech {
	R_G_READIES_G,
	R_THREAD_READIES_G,
	R_TIMER,
};

struct rwake {
	enum rmech mech;
	int n;				/* samples, the warm-up included */
	struct grt_chan *ch;		/* int64_t t0, unbuffered */
	struct grt_waitgroup wg;
	atomic_int done;
	int64_t lat[IW_LAT_MAX];
	int err;
};

static void rw_fail(struct rwake *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* The sleeper: blocked in a receive whenever it is not reporting. */
static void rw_receiver(struct rwake *w)
{
	int64_t t0, t1;
	int i;

	for (i = 0; grt_chan_recv(w->ch, &t0) == 1; i++) {
		t1 = bench_now_ns();
		if (i < IW_LAT_MAX)
			w->lat[i] = t1 - t0;
		atomic_store_explicit(&w->done, i + 1, memory_order_release);
	}
}

static void rw_receiver_g(void *arg)
{
	struct rwake *w = arg;

	rw_receiver(w);
	grt_waitgroup_done(&w->wg);
}

/*
 * Send t0 to the receiver, which must be blocked in its receive: -EAGAIN
 * means it is not (yet), and the sample would not start from a parked
 * receiver; the caller settles again and retries.
 */
static int rw_send(struct rwake *w)
{
	int64_t t0 = bench_now_ns();

	return grt_chan_try_send(w->ch, &t0);
}

/* The G-readies-G waker: main, after spawning the receiver. */
static void rw_g_waker(struct rwake *w)
{
	int i, ret;

	for (i = 0; i < w->n;) {
		grt_sleep(IW_SETTLE_NS);
		/* Keep our P while the M woken with us parks again. */
		raw_sleep(IW_SETTLE_NS / 2);
		ret = rw_send(w);
		if (ret == -EAGAIN)
			continue;
		if (ret) {
			rw_fail(w, ret);
			return;
		}
		wait_done(&w->done, ++i);
	}
}

static void *rw_thread_waker(void *arg)
{
	struct rwake *w = arg;
	int i, ret;

	for (i = 0; i < w->n;) {
		raw_sleep(IW_SETTLE_NS);
		ret = rw_send(w);
		if (ret == -EAGAIN)
			continue;
		if (ret) {
			rw_fail(w, ret);
			break;
		}
		wait_done(&w->done, ++i);
	}
	/* Any thread may close: the receiver's loop ends. */
	grt_chan_close(w->ch);
	return NULL;
}

/* Keeps a timer pending so that the deadlock check stays quiet. */
static void rw_keeper_g(void *arg)
{
	(void)arg;
	grt_sleep(3600 * NSEC_PER_SEC);
}

static void rw_main(void *arg)
{
	struct rwake *w = arg;
	pthread_t t;
	int64_t t0;
	int i, ret;

	if (w->mech == R_TIMER) {
		for (i = 0; i < w->n; i++) {
			t0 = bench_now_ns();
			grt_sleep(IW_SETTLE_NS);
			w->lat[i] = bench_now_ns() - (t0 + IW_SETTLE_NS);
		}
		return;
	}
	ret = grt_chan_make(&w->ch, sizeof(int64_t), 0);
	if (ret) {
		rw_fail(w, ret);
		return;
	}
	if (w->mech == R_G_READIES_G) {
		grt_waitgroup_add(&w->wg, 1);
		ret = grt_go(rw_receiver_g, w);
		if (ret) {
			grt_waitgroup_done(&w->wg);
			rw_fail(w, ret);
		} else {
			rw_g_waker(w);
		}
		grt_chan_close(w->ch);
		grt_waitgroup_wait(&w->wg);
	} else {
		/* Discarded, still asleep, when main returns. */
		ret = grt_go(rw_keeper_g, NULL);
		if (ret) {
			rw_fail(w, ret);
		} else {
			bench_thread(&t, rw_thread_waker, w);
			rw_receiver(w);
			/* It closed the channel: it is about to return. */
			pthread_join(t, NULL);
		}
	}
	grt_chan_free(w->ch);
}

static double run_rt(const struct bench_variant *v, const char **why)
{
	static struct rwake w;
	int ret;

	memset(&w, 0, sizeof(w));
	w.mech = (enum rmech)v->iarg;
	w.n = iw_samples() + IW_WARMUP;
	if (w.mech != R_TIMER && bench_ncpus() < 2) {
		*why = "needs 2 CPUs (the waker keeps one busy)";
		return -1;
	}
	/* 2 Ps, as the Go rows' GOMAXPROCS=2, whatever the CPU count. */
	ret = bench_rt_run(2, 0, rw_main, &w);
	if (ret || w.err) {
		fprintf(stderr, "gwake-bench: %s: %s\n", v->name,
			strerror(-(ret ? ret : w.err)));
		*why = "runtime error (see stderr)";
		return -1;
	}
	return bench_wake_result(w.lat + IW_WARMUP, w.n - IW_WARMUP, 50);
}

/* ---- Go -------------------------------------------------------------------- */

static double run_go(const struct bench_variant *v, const char **why)
{
	char n[32], settle[32];
	const char *argv[] = { "idlewake", v->iarg ? "-timer" : "-ready",
			       "-n", n, "-settle", settle, NULL };

	if (!v->iarg && bench_ncpus() < 2) {
		*why = "needs 2 CPUs (the waker keeps one busy)";
		return -1;
	}
	snprintf(n, sizeof(n), "%d", iw_samples());
	snprintf(settle, sizeof(settle), "%lld", (long long)IW_SETTLE_NS);
	return bench_go(2, argv, why);
}

void bench_register_idle_wake(void)
{
	struct bench_group ready = {
		.id = "idle-wake/ready",
		.title = "a sleeper made runnable while everything is parked, "
			 "until it runs",
		.unit = "ns, median of a rep's wakes",
		.baseline = 0,
		.note = "Each wake after 2 ms of idleness; the waker stays "
			"busy, so the sleeper runs on the other CPU.",
	};
	struct bench_group timer = {
		.id = "idle-wake/timer",
		.title = "a 2 ms sleep while everything is parked: deadline "
			 "until running",
		.unit = "ns late, median of a rep's sleeps",
		.baseline = 0,
		.note = "Includes the kernel's timer slack (50 us by default) "
			"on every row.",
	};

	ready.v[ready.nv++] = (struct bench_variant){
		.name = "C threads, futex word", .run = run_c_ready,
		.iarg = C_FUTEX };
	ready.v[ready.nv++] = (struct bench_variant){
		.name = "C threads, condvar", .run = run_c_ready,
		.iarg = C_CONDVAR };
	ready.v[ready.nv++] = (struct bench_variant){
		.name = "gwake wake", .run = run_c_ready, .iarg = C_GWAKE };
	ready.v[ready.nv++] = (struct bench_variant){
		.name = "grt, G readies G", .run = run_rt,
		.iarg = R_G_READIES_G };
	ready.v[ready.nv++] = (struct bench_variant){
		.name = "grt, thread readies G", .run = run_rt,
		.iarg = R_THREAD_READIES_G };
	ready.baseline2 = ready.nv;
	ready.v[ready.nv++] = (struct bench_variant){
		.name = "Go, G readies G, GOMAXPROCS=2", .run = run_go,
		.iarg = 0 };
	bench_add_group(&ready);

	timer.v[timer.nv++] = (struct bench_variant){
		.name = "C thread, nanosleep", .run = run_c_timer };
	timer.v[timer.nv++] = (struct bench_variant){
		.name = "grt_sleep", .run = run_rt, .iarg = R_TIMER };
	timer.baseline2 = timer.nv;
	timer.v[timer.nv++] = (struct bench_variant){
		.name = "Go time.Sleep, GOMAXPROCS=2", .run = run_go,
		.iarg = 1 };
	bench_add_group(&timer);
}
