// SPDX-License-Identifier: GPL-2.0
/*
 * Random wakes, wake_manys, swaps and blocks from several threads, with
 * random timeouts and signals, checked for lost and spurious wakeups.
 * Both backends.
 *
 * The work: STRESS_TOKENS tokens circulate among STRESS_THREADS workers.
 * A worker holding a token passes it to a random other worker (moving the
 * count, then waking the receiver with gwake_wake(), gwake_wake_many() or
 * gwake_swap()); a worker without one blocks, often without a timeout,
 * until woken. Self-wakes (a wake, then block(0)), wakes of random workers
 * and short random timeouts add permits and races; the main thread sends
 * signals (handler without SA_RESTART) to interrupt blocks. Most
 * operations do not sleep, so that 10^6 of them fit in about a minute
 * under TCG, where one sleep and wake costs 0.1 to several milliseconds.
 *
 * At the end a worker with no wake due is woken to let it leave; one with
 * a wake due must leave by itself, so that a lost wake cannot hide there.
 * A second test aims at the narrowest races, timeouts and signals that end
 * a block as a wake arrives (timeout_and_signal_race).
 *
 * The checks, none of which depends on timing:
 *
 *  - Lost wakeup, exactly (no false alarm). Each worker counts its consumptions (calls that
 *    returned 0): its epoch. A waker reads the target's epoch E before a
 *    wake and, once the wake has returned, raises the target's "witnessed"
 *    to E. If a worker with epoch E sees witnessed >= E before it blocks, a
 *    wake started after its last consumption and completed: a permit must be
 *    pending (nothing but the worker consumes it, and a consumption would
 *    have moved the epoch). That block then has to return 0 (or -EINTR);
 *    -ETIMEDOUT means the wake was lost.
 *  - Lost wakeup in an unbounded block: the same condition while a worker
 *    sits in one block; the main thread fails the test if that lasts
 *    GWAKE_TEST_LONG_NS (a wake takes micro- to milliseconds), and if no
 *    worker makes progress at all for as long, instead of hanging.
 *  - Spurious wakeup: a consumption needs a wake, so a worker's epoch never
 *    exceeds the number of wakes aimed at it (counted before each call).
 *  - Return values: a wake returns 0 or 1 for a live worker; 1 (or a
 *    wake_many count) only for workers that may have been blocked during
 *    the call: a worker whose count of block calls entered and left did
 *    not move and was even (not in a call) throughout was not blocked.
 *  - Tokens are conserved.
 */
#include <sched.h>
#include <stdarg.h>

#include "gwake_test.h"

/* The minimum: 10^6 wake, wake_many, swap and block calls in all. */
#define STRESS_OPS		1000000
#define STRESS_THREADS		4
#define STRESS_TOKENS		2
/* How often the main thread checks progress and sends a signal. */
#define STRESS_TICK_US		1000
#define STRESS_SIGNAL_EVERY	2	/* ticks */

struct worker {
	/* Written by the worker only; read by the others. */
	_Alignas(64) atomic_llong epoch;	/* consumptions */
	atomic_llong blocks_entered, blocks_left;
	atomic_llong ops;
	/* Written by others. */
	_Alignas(64) atomic_int tokens;
	atomic_llong witnessed;			/* see the file comment; -1: none */
	atomic_llong wakes_started;
	/* Set once before the start. */
	pthread_t thread;
	gwake_t handle;
	unsigned int idx;
	/* The worker's own, read after pthread_join(). */
	uint64_t rng;
	long long woke, permits, timeouts, eintrs, swaps, wake_manys;
	char err[256];				/* the first failure, if any */
};

struct stress {
	struct worker w[STRESS_THREADS];
	gwake_t stale;			/* the handle of a thread that exited */
	atomic_int registered;		/* workers that have their handle */
	atomic_int left;		/* workers out of their loop */
	atomic_int ready, done;
	atomic_int waker_out;		/* timeout_and_signal_race: waker stopped */
	atomic_int failed;		/* some worker filled its err */
};

static struct stress *stress;

static uint64_t rnd(struct worker *w)
{
	return gwake_test_rand(&w->rng);
}

static void fail(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	atomic_store(&stress->failed, 1);
}

static void raise_to(atomic_llong *v, long long x)
{
	long long cur = atomic_load(v);

	while (cur < x && !atomic_compare_exchange_weak(v, &cur, x))
		;
}

/*
 * A random timeout: unbounded only if allowed, else short. What matters
 * is that timers expire while wakes arrive, not how long they run.
 */
static int64_t random_timeout(struct worker *w, bool may_sleep_for_ever)
{
	switch (rnd(w) % 8) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return NSEC_PER_USEC;
	case 3:
		return 10 * NSEC_PER_USEC;
	case 4:
		return 50 * NSEC_PER_USEC;
	case 5:
		return 200 * NSEC_PER_USEC;
	case 6:
		return may_sleep_for_ever ? -1 : NSEC_PER_MSEC;
	default:
		return may_sleep_for_ever ? INT64_MAX : 100 * NSEC_PER_USEC;
	}
}

/* A target's block-call counts, to tell "certainly not blocked". */
struct snap {
	long long entered, left;
};

static struct snap snap(struct worker *t)
{
	struct snap s;

	s.entered = atomic_load(&t->blocks_entered);
	s.left = atomic_load(&t->blocks_left);
	return s;
}

static bool not_blocked_throughout(struct snap a, struct snap b)
{
	return a.entered == a.left && b.entered == b.left && a.entered == b.entered;
}

/*
 * A blocking call by worker @w (gwake_block(), or gwake_swap() to @target
 * when it is not NULL), with the lost and spurious wakeup checks.
 */
static int checked_block(struct worker *w, struct worker *target, int64_t timeout)
{
	long long e = atomic_load(&w->epoch);	/* only I write it */
	long long seen = atomic_load(&w->witnessed);
	long long te = 0;
	int r;

	if (target) {
		te = atomic_load(&target->epoch);
		atomic_fetch_add(&target->wakes_started, 1);
	}
	atomic_fetch_add(&w->blocks_entered, 1);
	r = target ? gwake_swap(target->handle, timeout) : gwake_block(timeout);
	atomic_fetch_add(&w->blocks_left, 1);
	atomic_fetch_add(&w->ops, 1);
	if (target) {
		w->swaps++;
		/* The wake half is done once the call has returned. */
		if (r == 0 || r == -ETIMEDOUT || r == -EINTR)
			raise_to(&target->witnessed, te);
	}

	switch (r) {
	case 0:
		atomic_store(&w->epoch, e + 1);
		if (e + 1 > atomic_load(&w->wakes_started))
			fail(w, "spurious wakeup: consumption %lld with only %lld wakes sent",
			     e + 1, atomic_load(&w->wakes_started));
		break;
	case -ETIMEDOUT:
		w->timeouts++;
		if (seen >= e)
			fail(w, "LOST WAKEUP: %s(%lld ns) timed out, a wake due since consumption %lld",
			     target ? "gwake_swap" : "gwake_block", (long long)timeout, e);
		if (timeout < 0 || timeout == INT64_MAX)
			fail(w, "an unbounded block returned -ETIMEDOUT");
		break;
	case -EINTR:
		w->eintrs++;
		break;
	default:
		fail(w, "%s(%lld ns) returned %d", target ? "gwake_swap" : "gwake_block",
		     (long long)timeout, r);
		break;
	}
	return r;
}

/* gwake_wake(), with the return value checks. */
static void checked_wake(struct worker *w, struct worker *t)
{
	long long te = atomic_load(&t->epoch);
	struct snap a, b;
	int r;

	atomic_fetch_add(&t->wakes_started, 1);
	a = snap(t);
	r = gwake_wake(t->handle);
	b = snap(t);
	atomic_fetch_add(&w->ops, 1);
	if (r == 1) {
		w->woke++;
		if (not_blocked_throughout(a, b))
			fail(w, "gwake_wake() returned 1 for worker %u, which was not blocked",
			     t->idx);
	} else if (r == 0) {
		w->permits++;
	} else {
		fail(w, "gwake_wake(worker %u) returned %d", t->idx, r);
		return;
	}
	raise_to(&t->witnessed, te);
}

/*
 * gwake_wake_many() to @t and up to 3 other distinct workers (maybe me),
 * plus the stale handle at a random place.
 */
static void checked_wake_many(struct worker *w, struct worker *t)
{
	struct worker *ts[STRESS_THREADS];
	long long te[STRESS_THREADS];
	struct snap a[STRESS_THREADS], b;
	gwake_t hs[STRESS_THREADS + 1];
	unsigned int n = 0, nh, i, j, stale_at, maybe_blocked = 0;
	int r;

	ts[n++] = t;
	for (i = 0; i < STRESS_THREADS; i++) {
		struct worker *o = &stress->w[i];

		if (o != t && rnd(w) % 2)
			ts[n++] = o;
	}
	stale_at = rnd(w) % (n + 1);
	for (i = 0, nh = 0; i < n; i++) {
		if (i == stale_at)
			hs[nh++] = stress->stale;
		hs[nh++] = ts[i]->handle;
	}
	if (stale_at == n)
		hs[nh++] = stress->stale;
	for (i = 0; i < n; i++) {
		te[i] = atomic_load(&ts[i]->epoch);
		atomic_fetch_add(&ts[i]->wakes_started, 1);
		a[i] = snap(ts[i]);
	}
	r = gwake_wake_many(hs, nh);
	for (i = 0; i < n; i++) {
		b = snap(ts[i]);
		if (!not_blocked_throughout(a[i], b))
			maybe_blocked++;
	}
	atomic_fetch_add(&w->ops, 1);
	w->wake_manys++;
	if (r < 0 || (unsigned int)r > maybe_blocked) {
		fail(w, "gwake_wake_many(%u handles, %u live) returned %d, %u may have slept",
		     nh, n, r, maybe_blocked);
		return;
	}
	for (j = 0; j < n; j++)
		raise_to(&ts[j]->witnessed, te[j]);
}

static void pass_token(struct worker *w)
{
	struct worker *t;
	unsigned int j;
	int left;

	j = (w->idx + 1 + rnd(w) % (STRESS_THREADS - 1)) % STRESS_THREADS;
	t = &stress->w[j];
	left = atomic_fetch_sub(&w->tokens, 1) - 1;
	atomic_fetch_add(&t->tokens, 1);
	switch (rnd(w) % 8) {
	case 0:
	case 1:
		checked_wake_many(w, t);
		break;
	case 2:
	case 3:
		/* Unbounded only if I hold no token: a holder never sleeps for ever. */
		checked_block(w, t, random_timeout(w, left == 0));
		break;
	default:
		checked_wake(w, t);
		break;
	}
}

/* A wake to myself leaves a permit that block(0) must find. */
static void self_wake(struct worker *w)
{
	long long e = atomic_load(&w->epoch);
	int r;

	atomic_fetch_add(&w->wakes_started, 1);
	r = gwake_wake(w->handle);
	atomic_fetch_add(&w->ops, 1);
	if (r != 0)
		fail(w, "gwake_wake(myself) returned %d", r);
	raise_to(&w->witnessed, e);
	if (checked_block(w, NULL, 0) == -ETIMEDOUT)
		fail(w, "the permit of gwake_wake(myself) was lost");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int dice;
	gwake_t h;

	if (gwake_self(&w->handle))
		fail(w, "gwake_self() failed");
	atomic_fetch_add(&stress->registered, 1);
	/* After this, every worker's handle is set (release/acquire on ready). */
	while (!atomic_load(&stress->ready))
		usleep(100);
	while (!atomic_load(&stress->done) && !atomic_load(&stress->failed)) {
		/*
		 * Most operations do not sleep (a self-wake and its block(0),
		 * wakes of running threads): under TCG a real sleep and wake
		 * costs ~100 us, and the races need many operations more than
		 * many sleeps. A sleep still happens every few operations.
		 */
		dice = rnd(w) % 16;
		if (atomic_load(&w->tokens) > 0) {
			/* Never sleep for ever while holding a token. */
			if (dice < 6)
				pass_token(w);
			else if (dice < 12)
				self_wake(w);
			else if (dice < 14)
				checked_wake(w, &stress->w[rnd(w) % STRESS_THREADS]);
			else
				checked_block(w, NULL, random_timeout(w, false));
		} else {
			if (dice < 8)
				self_wake(w);
			else if (dice < 10)
				checked_wake(w, &stress->w[rnd(w) % STRESS_THREADS]);
			else
				checked_block(w, NULL, random_timeout(w, true));
		}
	}
	/* The handle must still be mine. */
	if (gwake_self(&h) || h != w->handle)
		fail(w, "gwake_self() changed during the run");
	/*
	 * Stay registered until every worker is out of its loop: a thread's
	 * handle goes stale when it exits, and a worker that has not seen
	 * "done" yet may still wake or swap to this one (-ESRCH then, which
	 * the checks take for a bug).
	 */
	atomic_fetch_add(&stress->left, 1);
	while (atomic_load(&stress->left) < STRESS_THREADS)
		usleep(100);
	return NULL;
}

static void sigusr1_handler(int sig)
{
	(void)sig;
}

static void *exit_at_once(void *arg)
{
	gwake_self(arg);
	return NULL;
}

FIXTURE(stress) {
	int unused;
};

GWAKE_BACKEND_VARIANTS(stress);

FIXTURE_SETUP(stress)
{
	GWAKE_SETUP_BACKEND(variant->backend);
}

FIXTURE_TEARDOWN(stress)
{
}

/* Per worker: in which block call the lost-wakeup condition was first seen. */
struct watch {
	long long block;
	int64_t since;
};

/*
 * The main thread's tick: true if worker @w has sat in one block call for
 * GWAKE_TEST_LONG_NS although a completed wake is due to it.
 */
static bool stuck(struct worker *w, struct watch *wt, int64_t now)
{
	long long e = atomic_load(&w->blocks_entered);
	long long ep = atomic_load(&w->epoch);
	long long seen = atomic_load(&w->witnessed);
	long long l = atomic_load(&w->blocks_left);

	if (e != l + 1 || seen < ep) {
		wt->block = -1;
		return false;
	}
	if (wt->block != e) {
		wt->block = e;
		wt->since = now;
		return false;
	}
	return now - wt->since > GWAKE_TEST_LONG_NS;
}

static void log_stuck(struct __test_metadata *_metadata, unsigned int i,
		      const struct watch *wt)
{
	TH_LOG("LOST WAKEUP: worker %u sits in block call %lld, a wake due since consumption %lld",
	       i, wt->block, atomic_load(&stress->w[i].epoch));
}

TEST_F_TIMEOUT(stress, random_ops, 600)
{
	struct sigaction sa = { .sa_handler = sigusr1_handler, .sa_flags = 0 };
	struct watch watch[STRESS_THREADS];
	long long total = 0, last_total = -1, tokens = 0;
	int64_t t0, now, last_progress, t_end;
	unsigned int i, tick = 0, signals = 0, joined = 0;
	bool lost = false;
	pthread_t t;

	stress = calloc(1, sizeof(*stress));
	ASSERT_NE(NULL, stress);
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	ASSERT_EQ(0, pthread_create(&t, NULL, exit_at_once, &stress->stale));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_NE(0, stress->stale);

	for (i = 0; i < STRESS_THREADS; i++) {
		struct worker *w = &stress->w[i];

		w->idx = i;
		w->rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		atomic_init(&w->witnessed, -1);
		atomic_init(&w->tokens, i < STRESS_TOKENS);
		watch[i].block = -1;
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		ASSERT_EQ(0, pthread_create(&stress->w[i].thread, NULL, worker_main,
					    &stress->w[i]));
	}
	while (atomic_load(&stress->registered) < STRESS_THREADS)
		usleep(100);
	t0 = gwake_test_now_ns();
	last_progress = t0;
	atomic_store(&stress->ready, 1);

	/* Watch progress and stuck workers; interrupt blocks with signals. */
	while (!atomic_load(&stress->failed)) {
		usleep(STRESS_TICK_US);
		now = gwake_test_now_ns();
		total = 0;
		for (i = 0; i < STRESS_THREADS; i++)
			total += atomic_load(&stress->w[i].ops);
		if (total >= STRESS_OPS)
			break;
		if (total != last_total) {
			last_total = total;
			last_progress = now;
		} else if (now - last_progress > GWAKE_TEST_LONG_NS) {
			TH_LOG("no progress for %lld s after %lld operations: every worker is stuck",
			       GWAKE_TEST_LONG_NS / NSEC_PER_SEC, total);
			lost = true;
			break;
		}
		for (i = 0; i < STRESS_THREADS; i++) {
			if (stuck(&stress->w[i], &watch[i], now)) {
				log_stuck(_metadata, i, &watch[i]);
				lost = true;
			}
		}
		if (lost)
			break;
		if (++tick % STRESS_SIGNAL_EVERY == 0) {
			i = (tick / STRESS_SIGNAL_EVERY) % STRESS_THREADS;
			pthread_kill(stress->w[i].thread, SIGUSR1);
			signals++;
		}
	}
	t_end = gwake_test_now_ns();

	/*
	 * Stop: every worker checks "done" before each call that may sleep for
	 * ever. One that sits in a block with no wake due needs one to leave
	 * it; one with a wake due must leave by itself, and is judged as
	 * during the run (then woken too, so that the test ends).
	 */
	atomic_store(&stress->done, 1);
	for (;;) {
		unsigned int running = 0;

		now = gwake_test_now_ns();
		for (i = 0; i < STRESS_THREADS; i++) {
			struct worker *w = &stress->w[i];

			if (joined & 1u << i)
				continue;
			if (!pthread_tryjoin_np(w->thread, NULL)) {
				joined |= 1u << i;
				continue;
			}
			running++;
			if (stuck(w, &watch[i], now) && !lost) {
				log_stuck(_metadata, i, &watch[i]);
				lost = true;
			}
			if (watch[i].block == -1 || lost)
				gwake_wake(w->handle);
		}
		if (!running)
			break;
		usleep(STRESS_TICK_US);
	}
	EXPECT_FALSE(lost);

	for (i = 0; i < STRESS_THREADS; i++) {
		struct worker *w = &stress->w[i];

		tokens += atomic_load(&w->tokens);
		TH_LOG("worker %u: %lld ops, %lld consumed, %lld woke a sleeper, %lld left a permit",
		       i, atomic_load(&w->ops), atomic_load(&w->epoch), w->woke, w->permits);
		TH_LOG("worker %u: %lld swaps, %lld wake_manys, %lld timeouts, %lld EINTR",
		       i, w->swaps, w->wake_manys, w->timeouts, w->eintrs);
		EXPECT_EQ(0, w->err[0]) TH_LOG("worker %u: %s", i, w->err);
	}
	TH_LOG("%s: %lld operations in %.2f s, %u signals", variant->backend, total,
	       (t_end - t0) / 1e9, signals);
	EXPECT_EQ(STRESS_TOKENS, tokens) TH_LOG("tokens were not conserved");
	EXPECT_LE(STRESS_OPS, total) TH_LOG("stopped early");
	free(stress);
}

/*
 * The narrowest races: a block that ends by timeout or by a signal just as
 * a wake arrives. "As if it came after": the block may return 0 or its
 * error, but the wake must then be a pending permit. The sleeper (worker 0)
 * blocks with timeouts of a few microseconds; the waker (worker 1) wakes it
 * at random moments, half of the time then waiting until the wake has been
 * consumed; the main thread sends the sleeper signals. The checks are
 * those of checked_block() and checked_wake(); a backend that clears the
 * wake word on timeout or EINTR without looking loses a wake here.
 */
#define RACE_BLOCKS		50000

static void delay(struct worker *w, unsigned int max)
{
	unsigned int n = rnd(w) % max;

	while (n--)
		__asm__ __volatile__("" ::: "memory");
}

static void *race_sleeper(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	if (gwake_self(&w->handle))
		fail(w, "gwake_self() failed");
	atomic_fetch_add(&stress->registered, 1);
	while (!atomic_load(&stress->ready))
		usleep(100);
	for (i = 0; i < RACE_BLOCKS && !atomic_load(&stress->failed); i++) {
		/* 1 to 16 us, or 0 (a pending permit only) one time in 16. */
		int64_t timeout = (int64_t)(rnd(w) % 16 + 1) * NSEC_PER_USEC;

		checked_block(w, NULL, rnd(w) % 16 ? timeout : 0);
	}
	atomic_store(&stress->done, 1);
	/*
	 * Stay registered until the waker has stopped: it may have read
	 * done == 0 just before, and its last wake must find this thread
	 * alive (exiting would make the handle stale, -ESRCH).
	 */
	while (!atomic_load(&stress->waker_out))
		usleep(100);
	return NULL;
}

static void *race_waker(void *arg)
{
	struct worker *w = arg;

	if (gwake_self(&w->handle))
		fail(w, "gwake_self() failed");
	atomic_fetch_add(&stress->registered, 1);
	while (!atomic_load(&stress->ready))
		usleep(100);
	while (!atomic_load(&stress->done) && !atomic_load(&stress->failed)) {
		struct worker *t = &stress->w[0];
		long long e = atomic_load(&t->epoch);

		checked_wake(w, t);
		if (rnd(w) % 2) {
			delay(w, 20000);
			continue;
		}
		/*
		 * No other wake until this one is consumed, so that a lost one
		 * is not masked by the next: the sleeper's following blocks
		 * then see a permit due and time out.
		 */
		while (atomic_load(&t->epoch) == e && !atomic_load(&stress->done) &&
		       !atomic_load(&stress->failed))
			sched_yield();
	}
	atomic_store(&stress->waker_out, 1);
	return NULL;
}

TEST_F_TIMEOUT(stress, timeout_and_signal_race, 300)
{
	struct sigaction sa = { .sa_handler = sigusr1_handler, .sa_flags = 0 };
	struct worker *sleeper, *waker;
	unsigned int signals = 0;
	int64_t t0;

	stress = calloc(1, sizeof(*stress));
	ASSERT_NE(NULL, stress);
	sleeper = &stress->w[0];
	waker = &stress->w[1];
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	sleeper->rng = 0x2545f4914f6cdd1dULL;
	waker->rng = 0x9e3779b97f4a7c15ULL;
	sleeper->idx = 0;
	waker->idx = 1;
	atomic_init(&sleeper->witnessed, -1);
	atomic_init(&waker->witnessed, -1);
	ASSERT_EQ(0, pthread_create(&sleeper->thread, NULL, race_sleeper, sleeper));
	ASSERT_EQ(0, pthread_create(&waker->thread, NULL, race_waker, waker));
	while (atomic_load(&stress->registered) < 2)
		usleep(100);
	t0 = gwake_test_now_ns();
	atomic_store(&stress->ready, 1);
	while (!atomic_load(&stress->done) && !atomic_load(&stress->failed)) {
		pthread_kill(sleeper->thread, SIGUSR1);
		signals++;
		delay(waker, 200000);
	}
	/* Both end by themselves: all the sleeper's timeouts are finite. */
	atomic_store(&stress->done, 1);
	ASSERT_EQ(0, pthread_join(sleeper->thread, NULL));
	ASSERT_EQ(0, pthread_join(waker->thread, NULL));
	TH_LOG("%s: %lld blocks in %.2f s: %lld consumed, %lld timeouts, %lld EINTR; "
	       "%lld wakes (%lld woke it), %u signals", variant->backend,
	       atomic_load(&sleeper->ops), (gwake_test_now_ns() - t0) / 1e9,
	       atomic_load(&sleeper->epoch), sleeper->timeouts, sleeper->eintrs,
	       atomic_load(&waker->ops), waker->woke, signals);
	EXPECT_EQ(0, sleeper->err[0]) TH_LOG("sleeper: %s", sleeper->err);
	EXPECT_EQ(0, waker->err[0]) TH_LOG("waker: %s", waker->err);
	free(stress);
}

TEST_HARNESS_MAIN
