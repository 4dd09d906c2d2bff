// SPDX-License-Identifier: GPL-2.0
/*
 * Timer channels (include/gwake/rt.h, lib/rt/timerchan.c, lib/rt/timer.c):
 * bad input, one-shot timers that fire exactly once, stop and reset before
 * and after a fire (no stale value ever received afterwards), tickers that
 * drop ticks for a slow receiver, select with a timer case, free, the
 * deadlock check with stopped and pending timers, and stress: stop and
 * reset racing with fires on other Ps, many timers on many Gs.
 *
 * Nothing is timed. Where a test needs "the timer has not fired yet", the
 * timer is an hour away; "it has fired" is observed (a value in the
 * channel) or follows from two timers on one P's heap firing in deadline
 * order. The invariants are exact: as in Go 1.23, a stop or reset of a
 * timer whose value nobody received returns 1 whether it was still
 * pending or its value was waiting in the channel, so they hold whatever
 * the timing.
 */
#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_timer);

#define RECV(ch, p)	{ .chan = (ch), .elem = (p), .dir = GRT_SELECT_RECV }

#define MS		1000000LL
#define HOUR		(3600 * 1000 * MS)

/* Wait (sleeping, not spinning) until t's value is in its channel. */
static bool wait_fired(struct grt_timer *t)
{
	int64_t end = grt_now() + GWAKE_TEST_LONG_NS;

	while (grt_chan_len(grt_timer_chan(t)) == 0) {
		if (grt_now() > end)
			return false;
		grt_sleep(100000);
	}
	return true;
}

/*
 * Nothing more is ever received from t: a later timer fires and t's
 * channel stays empty. later_ns is long enough for anything already on
 * its way from t to have landed (t was stopped, so nothing is).
 */
static void check_silent(struct grt_timer *t, int64_t later_ns)
{
	struct grt_timer *later;
	int64_t v = 0;
	struct grt_select_case k[2];
	bool ok = false;

	RT_CHECK_EQ(0, grt_timer_new(&later, later_ns, 0));
	k[0] = (struct grt_select_case)RECV(grt_timer_chan(t), &v);
	k[1] = (struct grt_select_case)RECV(grt_timer_chan(later), &v);
	RT_CHECK_EQ(1, grt_select(k, 2, 0, &ok));
	RT_CHECK(ok);
	RT_CHECK_EQ(-EAGAIN, grt_chan_try_recv(grt_timer_chan(t), &v));
	RT_CHECK_EQ(0, grt_timer_free(later));
}

/* --- Bad input ---------------------------------------------------------- */

static void bad_args_body(void *arg)
{
	struct grt_timer *t = NULL;
	int64_t v;

	(void)arg;
	RT_CHECK_EQ(-EINVAL, grt_timer_new(NULL, 1, 0));
	RT_CHECK_EQ(-EINVAL, grt_timer_new(&t, -1, 0));
	RT_CHECK_EQ(-EINVAL, grt_timer_new(&t, 1, -1));
	RT_CHECK_EQ(-EINVAL, grt_timer_new(&t, INT64_MIN, 0));
	RT_CHECK(t == NULL);
	RT_CHECK_EQ(-EINVAL, grt_timer_stop(NULL));
	RT_CHECK_EQ(-EINVAL, grt_timer_reset(NULL, 1, 0));
	RT_CHECK_EQ(0, grt_timer_free(NULL));
	RT_CHECK(grt_timer_chan(NULL) == NULL);

	/* A bad reset leaves the timer as it was: pending, an hour away. */
	RT_CHECK_EQ(0, grt_timer_new(&t, HOUR, 0));
	RT_CHECK_EQ(-EINVAL, grt_timer_reset(t, -1, 0));
	RT_CHECK_EQ(-EINVAL, grt_timer_reset(t, 1, -5));
	RT_CHECK_EQ(1, grt_chan_cap(grt_timer_chan(t)));
	RT_CHECK_EQ(-EAGAIN, grt_chan_try_recv(grt_timer_chan(t), &v));
	RT_CHECK_EQ(1, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_free(t));
}

TEST_F(rt_timer, bad_args)
{
	struct grt_timer *t = NULL;

	/* Outside a G: no P to put it on. The clock works anywhere. */
	EXPECT_EQ(-EPERM, grt_timer_new(&t, 1, 0));
	EXPECT_EQ(NULL, t);
	EXPECT_LT(0, grt_now());
	RT_RUN(1, bad_args_body, NULL);
}

/* grt_now() is CLOCK_MONOTONIC and never goes back. */
TEST_F(rt_timer, now_is_monotonic)
{
	int64_t a = grt_now(), b = gwake_test_now_ns(), c = grt_now();

	EXPECT_LE(a, b);
	EXPECT_LE(b, c);
}

/* --- One-shot ----------------------------------------------------------- */

static void one_shot_body(void *arg)
{
	struct grt_timer *t;
	int64_t t0 = grt_now(), v = 0;

	(void)arg;
	RT_CHECK_EQ(0, grt_timer_new(&t, MS, 0));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	/* The value is the fire time: never before the deadline. */
	RT_CHECK(v >= t0 + MS);
	RT_CHECK(v <= grt_now());
	/* Exactly once: a later timer fires, t stays silent. */
	check_silent(t, 5 * MS);
	/* Fired and received: nothing to stop. */
	RT_CHECK_EQ(0, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_free(t));

	/* ns 0 fires at once, still through the channel. */
	RT_CHECK_EQ(0, grt_timer_new(&t, 0, 0));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	RT_CHECK(v >= t0);
	RT_CHECK_EQ(0, grt_timer_free(t));
}

TEST_F(rt_timer, one_shot_fires_once)
{
	RT_RUN(2, one_shot_body, NULL);
}

/* --- Stop --------------------------------------------------------------- */

static void stop_body(void *arg)
{
	struct grt_timer *t;
	int64_t v;

	(void)arg;
	/* Before the fire: 1, and never a value. */
	RT_CHECK_EQ(0, grt_timer_new(&t, HOUR, 0));
	RT_CHECK_EQ(1, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_stop(t));
	check_silent(t, MS);
	RT_CHECK_EQ(0, grt_timer_free(t));

	/*
	 * Whenever it comes, a stop of a timer nobody received from says 1
	 * (pending, or its value drained), and nothing comes after it.
	 */
	RT_CHECK_EQ(0, grt_timer_new(&t, MS, 0));
	RT_CHECK_EQ(1, grt_timer_stop(t));
	check_silent(t, 5 * MS);
	RT_CHECK_EQ(0, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_free(t));

	/* Fired, value waiting: the stop takes it back (Go 1.23). */
	RT_CHECK_EQ(0, grt_timer_new(&t, MS, 0));
	RT_CHECK(wait_fired(t));
	RT_CHECK_EQ(1, grt_chan_len(grt_timer_chan(t)));
	RT_CHECK_EQ(1, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_chan_len(grt_timer_chan(t)));
	RT_CHECK_EQ(-EAGAIN, grt_chan_try_recv(grt_timer_chan(t), &v));
	check_silent(t, MS);
	RT_CHECK_EQ(0, grt_timer_free(t));

	/* Fired and received: 0. */
	RT_CHECK_EQ(0, grt_timer_new(&t, MS, 0));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	RT_CHECK_EQ(0, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_free(t));
}

TEST_F(rt_timer, stop)
{
	RT_RUN(2, stop_body, NULL);
	rt_check_leaks(_metadata);
}

/* --- Reset -------------------------------------------------------------- */

static void reset_body(void *arg)
{
	struct grt_timer *t;
	int64_t v = 0, old = 0, r0;

	(void)arg;
	/* Pending: 1, and it fires once, at the new time. */
	RT_CHECK_EQ(0, grt_timer_new(&t, HOUR, 0));
	r0 = grt_now();
	RT_CHECK_EQ(1, grt_timer_reset(t, MS, 0));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	RT_CHECK(v >= r0 + MS);
	check_silent(t, 5 * MS);

	/* Fired and received: 0; fires again. */
	RT_CHECK_EQ(0, grt_timer_reset(t, MS, 0));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));

	/* Fired, value not received: 1, and that stale value is gone --
	 * what is received next is the new setting's. */
	RT_CHECK_EQ(0, grt_timer_reset(t, 0, 0));
	RT_CHECK(wait_fired(t));
	RT_CHECK_EQ(1, grt_chan_len(grt_timer_chan(t)));
	r0 = grt_now();
	RT_CHECK_EQ(1, grt_timer_reset(t, MS, 0));
	RT_CHECK_EQ(0, grt_chan_len(grt_timer_chan(t)));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	RT_CHECK(v >= r0 + MS);
	old = v;
	check_silent(t, 5 * MS);

	/* Stopped: 0; fires at the new time. */
	RT_CHECK_EQ(0, grt_timer_reset(t, HOUR, 0));
	RT_CHECK_EQ(1, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_reset(t, 0, 0));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	RT_CHECK(v > old);

	/* A one-shot reset into a ticker, and back. */
	RT_CHECK_EQ(0, grt_timer_reset(t, 0, MS));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	RT_CHECK_EQ(1, grt_timer_reset(t, MS, 0));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	check_silent(t, 5 * MS);
	RT_CHECK_EQ(0, grt_timer_free(t));
}

TEST_F(rt_timer, reset)
{
	RT_RUN(2, reset_body, NULL);
	rt_check_leaks(_metadata);
}

/* Reset from outside a G: refused, nothing changed. Stop and free work
 * after the runtime has ended; a timer left pending counts as pending. */
static void outlive_body(void *arg)
{
	struct grt_timer **t = arg;

	RT_CHECK_EQ(0, grt_timer_new(&t[0], HOUR, 0));
	RT_CHECK_EQ(0, grt_timer_new(&t[1], HOUR, MS));
	RT_CHECK_EQ(0, grt_timer_new(&t[2], 0, 0));
	RT_CHECK(wait_fired(t[2]));
}

TEST_F(rt_timer, after_the_runtime)
{
	struct grt_timer *t[3];
	int64_t v;

	RT_RUN(2, outlive_body, t);
	EXPECT_EQ(-EPERM, grt_timer_reset(t[0], 1, 0));
	EXPECT_EQ(1, grt_timer_stop(t[0]));
	EXPECT_EQ(0, grt_timer_stop(t[0]));
	EXPECT_EQ(0, grt_timer_free(t[0]));
	EXPECT_EQ(0, grt_timer_free(t[1]));
	/* The value is still there, receivable without a runtime. */
	EXPECT_EQ(1, grt_chan_try_recv(grt_timer_chan(t[2]), &v));
	EXPECT_EQ(0, grt_timer_stop(t[2]));
	EXPECT_EQ(0, grt_timer_free(t[2]));
	/* And the next runtime starts with empty heaps. */
	RT_RUN(1, one_shot_body, NULL);
	rt_check_leaks(_metadata);
}

/* --- Ticker ------------------------------------------------------------- */

static void ticker_body(void *arg)
{
	struct grt_timer *t;
	int64_t t0 = grt_now(), v, last;
	int i;

	(void)arg;
	RT_CHECK_EQ(0, grt_timer_new(&t, MS, MS));
	last = t0;
	for (i = 0; i < 10; i++) {
		RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
		/* Fire times go forwards, the first not before its time. */
		RT_CHECK(v > last);
		RT_CHECK(i || v >= t0 + MS);
		last = v;
	}
	/* A ticker is pending until stopped. */
	RT_CHECK_EQ(1, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_stop(t));
	check_silent(t, 5 * MS);
	RT_CHECK_EQ(0, grt_timer_free(t));
}

TEST_F(rt_timer, ticker)
{
	RT_RUN(2, ticker_body, NULL);
	rt_check_leaks(_metadata);
}

/*
 * A slow receiver: one P, the main G sleeping 5 periods between receives.
 * The ticker and the sleep share P0's heap, so the ticks due before the
 * sleep ends fire before it does: a value is always waiting -- one only:
 * the others were dropped -- and, one P being busy with us, nothing can
 * fire between two non-blocking receives.
 */
static void slow_receiver_body(void *arg)
{
	struct grt_timer *t;
	int64_t v, last = 0;
	int i;

	(void)arg;
	RT_CHECK_EQ(0, grt_timer_new(&t, MS, MS));
	for (i = 0; i < 5; i++) {
		grt_sleep(5 * MS);
		RT_CHECK_EQ(1, grt_chan_len(grt_timer_chan(t)));
		RT_CHECK_EQ(1, grt_chan_try_recv(grt_timer_chan(t), &v));
		RT_CHECK_EQ(-EAGAIN, grt_chan_try_recv(grt_timer_chan(t), &v));
		RT_CHECK(v > last);
		last = v;
	}
	RT_CHECK_EQ(1, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_free(t));
}

TEST_F(rt_timer, ticker_drops_for_slow_receiver)
{
	RT_RUN(1, slow_receiver_body, NULL);
}

/* --- Select ------------------------------------------------------------- */

static void sender_g(void *arg)
{
	int x = 7;

	grt_sleep(MS);
	RT_CHECK_EQ(0, grt_chan_send(arg, &x));
}

static void select_body(void *arg)
{
	struct grt_chan *never, *c;
	struct grt_timer *t;
	int64_t when = 0, t0 = grt_now();
	int x = 0;
	struct grt_select_case k[2];
	bool ok = false;

	(void)arg;
	RT_CHECK_EQ(0, grt_chan_make(&never, sizeof(int), 0));
	RT_CHECK_EQ(0, grt_chan_make(&c, sizeof(int), 1));

	/* Nothing else ready: the select blocks and times out. */
	RT_CHECK_EQ(0, grt_timer_new(&t, MS, 0));
	k[0] = (struct grt_select_case)RECV(never, &x);
	k[1] = (struct grt_select_case)RECV(grt_timer_chan(t), &when);
	RT_CHECK_EQ(1, grt_select(k, 2, 0, &ok));
	RT_CHECK(ok);
	RT_CHECK(when >= t0 + MS);
	RT_CHECK_EQ(0, grt_timer_free(t));

	/* Another case ready: it wins, the timer (an hour) is freed
	 * pending, which stops it. */
	RT_CHECK_EQ(0, grt_timer_new(&t, HOUR, 0));
	x = 3;
	RT_CHECK_EQ(0, grt_chan_send(c, &x));
	x = 0;
	k[0] = (struct grt_select_case)RECV(c, &x);
	k[1] = (struct grt_select_case)RECV(grt_timer_chan(t), &when);
	RT_CHECK_EQ(0, grt_select(k, 2, 0, &ok));
	RT_CHECK_EQ(3, x);
	RT_CHECK_EQ(0, grt_timer_free(t));

	/* Blocked first, then the other case becomes ready. */
	RT_CHECK_EQ(0, grt_timer_new(&t, HOUR, 0));
	RT_GO(sender_g, c);
	k[1] = (struct grt_select_case)RECV(grt_timer_chan(t), &when);
	RT_CHECK_EQ(0, grt_select(k, 2, 0, &ok));
	RT_CHECK_EQ(7, x);
	RT_CHECK_EQ(1, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_free(t));

	/* Non-blocking: a pending timer is not ready; a fired one is. */
	RT_CHECK_EQ(0, grt_timer_new(&t, HOUR, 0));
	k[0] = (struct grt_select_case)RECV(NULL, &x);
	k[1] = (struct grt_select_case)RECV(grt_timer_chan(t), &when);
	RT_CHECK_EQ(-EAGAIN, grt_select(k, 2, GRT_SELECT_NONBLOCK, &ok));
	RT_CHECK_EQ(1, grt_timer_reset(t, 0, 0));
	RT_CHECK(wait_fired(t));
	RT_CHECK_EQ(1, grt_select(k, 2, GRT_SELECT_NONBLOCK, &ok));
	RT_CHECK_EQ(0, grt_timer_free(t));

	RT_CHECK_EQ(0, grt_chan_free(never));
	RT_CHECK_EQ(0, grt_chan_free(c));
}

TEST_F(rt_timer, select_timeout)
{
	RT_RUN(2, select_body, NULL);
	rt_check_leaks(_metadata);
}

/*
 * The first of several timers in one select wins, on one P's heap. They
 * are 100 ms apart: select picks at random among cases ready when it
 * looks, and a debug kernel under emulation can take milliseconds
 * between the timers' creation and the select (1 ms apart, all three had
 * fired there once).
 */
static void first_of_three_body(void *arg)
{
	struct grt_timer *t[3];
	int64_t when;
	struct grt_select_case k[3];
	int i;

	(void)arg;
	for (i = 0; i < 3; i++) {
		RT_CHECK_EQ(0, grt_timer_new(&t[i], (3 - i) * 100 * MS, 0));
		k[i] = (struct grt_select_case)RECV(grt_timer_chan(t[i]), &when);
	}
	RT_CHECK_EQ(2, grt_select(k, 3, 0, NULL));
	for (i = 0; i < 3; i++)
		RT_CHECK_EQ(0, grt_timer_free(t[i]));
}

TEST_F(rt_timer, select_first_timer_wins)
{
	RT_RUN(1, first_of_three_body, NULL);
}

/* --- Free --------------------------------------------------------------- */

static atomic_int blocked;

static void blocked_recv_g(void *arg)
{
	int64_t v;

	atomic_fetch_add(&blocked, 1);
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(arg), &v));
	atomic_fetch_add(&blocked, 1);
}

static void free_body(void *arg)
{
	struct grt_timer *t;

	(void)arg;
	atomic_store(&blocked, 0);
	RT_CHECK_EQ(0, grt_timer_new(&t, HOUR, 0));
	RT_GO(blocked_recv_g, t);
	RT_CHECK(rt_yield_until(&blocked, 1));
	/* A G waits on the channel: refused, nothing changed. */
	RT_CHECK_EQ(-EBUSY, grt_timer_free(t));
	RT_CHECK_EQ(1, grt_timer_reset(t, 0, 0));
	RT_CHECK(rt_yield_until(&blocked, 2));
	RT_CHECK_EQ(0, grt_timer_free(t));

	/* Free of a pending timer and of a ticker stops them: the runtime
	 * can end (a pending timer would otherwise be waited for by
	 * nobody, and the freed memory would be touched by its fire). */
	RT_CHECK_EQ(0, grt_timer_new(&t, MS, 0));
	RT_CHECK_EQ(0, grt_timer_free(t));
	RT_CHECK_EQ(0, grt_timer_new(&t, 0, MS / 10));
	grt_sleep(MS);
	RT_CHECK_EQ(0, grt_timer_free(t));
	grt_sleep(2 * MS);
}

TEST_F(rt_timer, free)
{
	RT_RUN(1, free_body, NULL);
	rt_check_leaks(_metadata);
}

/* A G locked to its thread waits on a timer: its own M is woken. */
static void locked_body(void *arg)
{
	struct grt_timer *t;
	int64_t v;
	int i;

	(void)arg;
	RT_CHECK_EQ(0, grt_lock_thread());
	RT_CHECK_EQ(0, grt_timer_new(&t, 0, MS));
	for (i = 0; i < 5; i++)
		RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	RT_CHECK_EQ(1, grt_timer_stop(t));
	RT_CHECK_EQ(0, grt_timer_free(t));
	RT_CHECK_EQ(0, grt_unlock_thread());
}

TEST_F(rt_timer, locked_g)
{
	RT_RUN(2, locked_body, NULL);
}

/*
 * An idle runtime sleeps for its timers in one M (lib/rt/proc.c, "An idle
 * runtime's timers"). Here the earliest timer is stopped from outside the
 * runtime while that M sleeps for it: the M wakes at a deadline that no
 * longer exists and must go on sleeping for the next timer (a G's sleep).
 * A stop that lands between the M's look at the clock and its taking of
 * the P is a window of a few instructions, out of a test's reach: that
 * one was found by a stress program run by hand (3 lost sleeps in 3000
 * runs before the fix, none after).
 */
struct outside_stop {
	struct grt_timer *t;
	atomic_int armed;
	int stopped;
};

static void *stop_from_outside(void *arg)
{
	struct outside_stop *os = arg;
	struct timespec ms = { 0, NSEC_PER_MSEC };
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	while (!atomic_load(&os->armed) && gwake_test_now_ns() < end)
		nanosleep(&ms, NULL);
	/* Everything idle by now: main sleeps, the timer is 10 ms away. */
	nanosleep(&ms, NULL);
	nanosleep(&ms, NULL);
	os->stopped = grt_timer_stop(os->t);
	return NULL;
}

static void stopped_outside_body(void *arg)
{
	struct outside_stop *os = arg;

	RT_CHECK_EQ(0, grt_timer_new(&os->t, 10 * NSEC_PER_MSEC, 0));
	atomic_store(&os->armed, 1);
	RT_CHECK_EQ(0, grt_sleep(30 * NSEC_PER_MSEC));
	RT_CHECK_EQ(0, grt_timer_free(os->t));
}

TEST_F_TIMEOUT(rt_timer, idle_sleep_survives_outside_stop, 60)
{
	static struct outside_stop os;
	unsigned int np;
	pthread_t th;

	for (np = 1; np <= 2; np++) {
		memset(&os, 0, sizeof(os));
		ASSERT_EQ(0, pthread_create(&th, NULL, stop_from_outside, &os));
		RT_RUN(np, stopped_outside_body, &os);
		pthread_join(th, NULL);
		/* Stopped before it fired, or (a slow machine) after. */
		EXPECT_TRUE(os.stopped == 1 || os.stopped == 0);
	}
}

/* --- Deadlock check ----------------------------------------------------- */

static struct grt_chan *dead_chan;

/* The only G waits for ever; a stopped timer and a fired, unreceived one
 * exist: neither can ready anybody, so this is a deadlock. */
static void stopped_timer_deadlock_body(void *arg)
{
	struct grt_timer *t, *f;

	(void)arg;
	RT_CHECK_EQ(0, grt_timer_new(&t, HOUR, 0));
	RT_CHECK_EQ(0, grt_timer_new(&f, 0, 0));
	RT_CHECK(wait_fired(f));
	RT_CHECK_EQ(1, grt_timer_stop(t));
	grt_chan_recv(dead_chan, NULL);
}

/* Waiting on a pending timer is not a deadlock, on any number of Ps. */
static void pending_timer_body(void *arg)
{
	struct grt_timer *t, *s;
	int64_t v;

	(void)arg;
	RT_CHECK_EQ(0, grt_timer_new(&s, HOUR, 0));
	RT_CHECK_EQ(1, grt_timer_stop(s));
	RT_CHECK_EQ(0, grt_timer_new(&t, 5 * MS, 0));
	RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
	RT_CHECK_EQ(0, grt_timer_free(t));
	RT_CHECK_EQ(0, grt_timer_free(s));
}

TEST_F(rt_timer, deadlock_check)
{
	char out[4096];

	ASSERT_EQ(0, grt_chan_make(&dead_chan, 0, 0));
	EXPECT_EQ(-EDEADLK, rt_run_capture(_metadata, 2,
					   stopped_timer_deadlock_body, NULL,
					   out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "all goroutines are asleep - deadlock!"));
	EXPECT_NE(NULL, strstr(out, "G1 [chan receive, main]"));
	RT_RUN(1, pending_timer_body, NULL);
	RT_RUN(3, pending_timer_body, NULL);
	/* dead_chan is not freed: the discarded main G's waiter, on a stack
	 * that is gone, is still queued on it (docs/runtime.md). */
}

/* --- Stress ------------------------------------------------------------- */

/*
 * Stop and reset racing with fires on other Ps. An owner G makes a timer
 * due in 0-30 us and hands it to a racer G; the racer, on another P,
 * spins for 0-40 us, then stops or resets the timer, or first receives
 * its value, while the owner's P runs the fire. The owner then checks
 * that nothing of the old setting leaks: the exact results of stop and
 * reset below hold whatever the interleaving.
 *
 * Both sides must run at once for the fire to race with the stop. The
 * racer is locked to its thread, so that the owner's send wakes its own
 * M, which takes an idle P (there are two Ps per pair), instead of
 * queueing it on the owner's P; and the owner yields rather than parks
 * while it waits, so that each of its rounds through the scheduler runs
 * its P's due timers (an idle P's would wait for the monitor's tick).
 */
#define RACE_PAIRS_MAX	2
#define RACE_ITERS	1000

enum race_op { RACE_STOP, RACE_RESET, RACE_RECV_STOP, RACE_TICK_STOP, RACE_N };

struct race_job {
	struct grt_timer *t;
	enum race_op op;
	int64_t until;		/* the racer acts at this time */
};

struct race {
	struct grt_chan *jobs, *acks;	/* one pair of channels per pair */
	struct grt_waitgroup *wg;	/* both Gs of every pair */
	uint64_t seed;
};

static void spin_until(int64_t until)
{
	while (grt_now() < until)
		;
}

static void racer_g(void *arg)
{
	struct race *r = arg;
	struct race_job j;
	int64_t v;
	int res;

	RT_CHECK_EQ(0, grt_lock_thread());
	for (;;) {
		/* Poll: a racer woken from a park would come tens of
		 * microseconds late, long after the fire. */
		res = grt_chan_try_recv(r->jobs, &j);
		if (res == -EAGAIN) {
			grt_preempt_check();
			continue;
		}
		if (res != 1)
			break;
		spin_until(j.until);
		switch (j.op) {
		case RACE_STOP:
		case RACE_TICK_STOP:
			/* Nobody received: pending or drained, always 1. */
			res = grt_timer_stop(j.t);
			RT_CHECK_EQ(1, res);
			break;
		case RACE_RESET:
			res = grt_timer_reset(j.t, 20000, 0);
			RT_CHECK_EQ(1, res);
			/* The new setting fires once. */
			RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(j.t), &v));
			RT_CHECK_EQ(0, grt_timer_stop(j.t));
			break;
		default:
			RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(j.t), &v));
			RT_CHECK_EQ(0, grt_timer_stop(j.t));
			break;
		}
		RT_CHECK_EQ(0, grt_chan_send(r->acks, NULL));
	}
	RT_CHECK_EQ(0, grt_unlock_thread());
	grt_waitgroup_done(r->wg);
}

static void owner_g(void *arg)
{
	struct race *r = arg;
	struct grt_timer *t;
	struct race_job j;
	int64_t v, ns;
	int i;

	RT_CHECK_EQ(0, grt_timer_new(&t, HOUR, 0));
	RT_CHECK_EQ(1, grt_timer_stop(t));
	for (i = 0; i < RACE_ITERS; i++) {
		j.t = t;
		j.op = (enum race_op)(gwake_test_rand(&r->seed) % RACE_N);
		ns = gwake_test_rand(&r->seed) % 30000;
		/* From 2 us before the fire is due to 8 us after: where the
		 * fire runs, give or take the owner's round. */
		j.until = grt_now() + ns - 2000 +
			  gwake_test_rand(&r->seed) % 10000;
		RT_CHECK_EQ(0, grt_timer_reset(t, ns, j.op == RACE_TICK_STOP ?
						      5000 : 0));
		RT_CHECK_EQ(0, grt_chan_send(r->jobs, &j));
		while (grt_chan_try_recv(r->acks, NULL) == -EAGAIN)
			grt_yield();
		/*
		 * Stopped, and nothing of it is left or will come: a stale
		 * fire landing now would be received below before the new
		 * setting's, which would then still be pending for the stop.
		 */
		RT_CHECK_EQ(-EAGAIN, grt_chan_try_recv(grt_timer_chan(t), &v));
		if (i % 64 == 0) {
			RT_CHECK_EQ(0, grt_timer_reset(t, 0, 0));
			RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
			RT_CHECK_EQ(0, grt_timer_stop(t));
		}
	}
	RT_CHECK_EQ(0, grt_chan_close(r->jobs));
	RT_CHECK_EQ(0, grt_timer_free(t));
	grt_waitgroup_done(r->wg);
}

static void race_body(void *arg)
{
	struct race r[RACE_PAIRS_MAX];
	struct grt_waitgroup wg = GRT_WAITGROUP_INIT;
	int i, pairs = (int)grt_nprocs() / 2;

	(void)arg;
	if (pairs > RACE_PAIRS_MAX)
		pairs = RACE_PAIRS_MAX;
	RT_CHECK_EQ(0, grt_waitgroup_add(&wg, 2 * pairs));
	for (i = 0; i < pairs; i++) {
		RT_CHECK_EQ(0, grt_chan_make(&r[i].jobs,
					     sizeof(struct race_job), 1));
		RT_CHECK_EQ(0, grt_chan_make(&r[i].acks, 0, 1));
		r[i].wg = &wg;
		r[i].seed = 2463534242u + (uint64_t)i * 7919u;
	}
	for (i = 0; i < pairs; i++) {
		RT_GO(racer_g, &r[i]);
		RT_GO(owner_g, &r[i]);
	}
	grt_waitgroup_wait(&wg);
	for (i = 0; i < pairs; i++) {
		RT_CHECK_EQ(0, grt_chan_free(r[i].jobs));
		RT_CHECK_EQ(0, grt_chan_free(r[i].acks));
	}
}

TEST_F(rt_timer, stop_reset_race_stress)
{
	unsigned int np;

	for (np = 2; np <= 4; np++)
		RT_RUN(np, race_body, NULL);
	rt_check_leaks(_metadata);
}

/* Many Gs, each with a few timers and a ticker, on 4 Ps. */
#define MANY_GS		500

static atomic_long fired;

static void many_g(void *arg)
{
	struct grt_waitgroup *wg = arg;
	uint64_t seed = grt_id() * 2654435761u | 1;
	struct grt_timer *t, *tick;
	int64_t v, ns, t0;
	int i;

	for (i = 0; i < 3; i++) {
		ns = gwake_test_rand(&seed) % (2 * MS);
		t0 = grt_now();
		RT_CHECK_EQ(0, grt_timer_new(&t, ns, 0));
		RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(t), &v));
		RT_CHECK(v >= t0 + ns);
		RT_CHECK_EQ(0, grt_timer_free(t));
		atomic_fetch_add(&fired, 1);
	}
	RT_CHECK_EQ(0, grt_timer_new(&tick, 0, MS / 2));
	for (i = 0; i < 3; i++)
		RT_CHECK_EQ(1, grt_chan_recv(grt_timer_chan(tick), &v));
	RT_CHECK_EQ(0, grt_timer_free(tick));
	grt_waitgroup_done(wg);
}

static void many_body(void *arg)
{
	struct grt_waitgroup wg = GRT_WAITGROUP_INIT;
	int i;

	(void)arg;
	atomic_store(&fired, 0);
	RT_CHECK_EQ(0, grt_waitgroup_add(&wg, MANY_GS));
	for (i = 0; i < MANY_GS; i++)
		RT_GO(many_g, &wg);
	grt_waitgroup_wait(&wg);
	RT_CHECK_EQ(3 * MANY_GS, atomic_load(&fired));
}

TEST_F(rt_timer, many_timers_many_gs)
{
	RT_RUN(4, many_body, NULL);
	rt_check_leaks(_metadata);
}

TEST_HARNESS_MAIN
