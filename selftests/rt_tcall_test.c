// SPDX-License-Identifier: GPL-2.0
/*
 * Thread calls (grt_thread_start/_call/_stop/_free, lib/rt/tcall.c): bad
 * use and every error, calls run on the one server thread in order and one
 * at a time, a call from the server itself, calls that use the runtime,
 * a stop racing with callers (each call either ran or failed -ESRCH,
 * none is lost), many concurrent callers with exact results, a G readied
 * by one server while the only P waits for another, a call made with a
 * preemption pending (white box), and a deadlock with an idle server.
 * Both backends.
 */
#include "rt_test.h"
#include "rt/sched.h"

GWAKE_BACKEND_FIXTURE(rt_tcall);

static long tid_fn(void *arg)
{
	(void)arg;
	return gwake_test_gettid();
}

static long add1(void *arg)
{
	return (long)arg + 1;
}

/* --- Bad use ------------------------------------------------------------------ */

static struct grt_thread *stopped_thread;

static long stop_self(void *arg)
{
	return grt_thread_stop(arg);
}

static long call_self(void *arg)
{
	long r = 0;
	int err = grt_thread_call(arg, tid_fn, NULL, &r);

	/* From the server itself: runs inline, on this very thread. */
	return err ? err : (r == gwake_test_gettid() ? 1 : -1);
}

static void bad_use_body(void *arg)
{
	struct grt_thread *t;
	long r = 0;

	(void)arg;
	RT_CHECK_EQ(-EINVAL, grt_thread_start(NULL));
	RT_CHECK_EQ(0, grt_thread_start(&t));
	RT_CHECK_EQ(-EINVAL, grt_thread_call(NULL, add1, NULL, &r));
	RT_CHECK_EQ(-EINVAL, grt_thread_call(t, NULL, NULL, &r));
	RT_CHECK_EQ(-EINVAL, grt_thread_stop(NULL));
	RT_CHECK_EQ(-EINVAL, grt_thread_free(NULL));
	/* A result pointer is optional. */
	RT_CHECK_EQ(0, grt_thread_call(t, add1, (void *)41, NULL));
	RT_CHECK_EQ(0, grt_thread_call(t, add1, (void *)41, &r));
	RT_CHECK_EQ(42, r);
	/* The server cannot wait for itself to stop. */
	RT_CHECK_EQ(0, grt_thread_call(t, stop_self, t, &r));
	RT_CHECK_EQ(-EDEADLK, r);
	RT_CHECK_EQ(0, grt_thread_call(t, call_self, t, &r));
	RT_CHECK_EQ(1, r);
	RT_CHECK_EQ(0, grt_thread_stop(t));
	/* A thread that has exited: a clear error, the call never ran. */
	r = 7;
	RT_CHECK_EQ(-ESRCH, grt_thread_call(t, add1, NULL, &r));
	RT_CHECK_EQ(7, r);
	RT_CHECK_EQ(-ESRCH, grt_thread_stop(t));
	RT_CHECK_EQ(0, grt_thread_free(t));
	/* Not freed: teardown frees it; calls still fail cleanly. */
	RT_CHECK_EQ(0, grt_thread_start(&stopped_thread));
	RT_CHECK_EQ(0, grt_thread_stop(stopped_thread));
	RT_CHECK_EQ(-ESRCH, grt_thread_call(stopped_thread, add1, NULL, &r));
}

TEST_F(rt_tcall, bad_use_and_errors)
{
	struct grt_thread *t = NULL;
	long r;

	EXPECT_EQ(-EPERM, grt_thread_start(&t));
	EXPECT_EQ(-EINVAL, grt_thread_call(NULL, add1, NULL, &r));
	RT_RUN(2, bad_use_body, NULL);
}

/* --- One thread, in order, one call at a time ---------------------------------- */

struct serial {
	struct grt_thread *t;
	long counter;			/* only the server touches it */
	atomic_int inside;
	atomic_int overlap;
	long server_tid;
	atomic_int bad_tid;
	atomic_int bad_result;
	struct grt_chan *done;
};

struct serial_arg {
	struct serial *s;
	long v;
};

static long serial_fn(void *arg)
{
	struct serial_arg *a = arg;
	struct serial *s = a->s;

	if (atomic_fetch_add(&s->inside, 1))
		atomic_fetch_add(&s->overlap, 1);
	if (gwake_test_gettid() != s->server_tid)
		atomic_fetch_add(&s->bad_tid, 1);
	s->counter++;		/* not atomic: calls never overlap */
	atomic_fetch_sub(&s->inside, 1);
	return a->v * 2;
}

#define CALLERS		64
#define CALLS		2000

static void caller_g(void *arg)
{
	struct serial *s = arg;
	struct serial_arg a = { .s = s };
	long r;
	int i;

	for (i = 0; i < CALLS; i++) {
		a.v = (long)grt_id() * 100000 + i;
		RT_CHECK_EQ(0, grt_thread_call(s->t, serial_fn, &a, &r));
		if (r != a.v * 2)
			atomic_fetch_add(&s->bad_result, 1);
	}
	grt_chan_send(s->done, NULL);
}

static void serial_body(void *arg)
{
	struct serial *s = arg;
	long tid;
	int i;

	RT_CHECK_EQ(0, grt_thread_start(&s->t));
	RT_CHECK_EQ(0, grt_thread_call(s->t, tid_fn, NULL, &tid));
	RT_CHECK(tid != gwake_test_gettid());
	s->server_tid = tid;
	RT_CHECK_EQ(0, grt_chan_make(&s->done, 0, CALLERS));
	for (i = 0; i < CALLERS; i++)
		RT_GO(caller_g, s);
	for (i = 0; i < CALLERS; i++)
		grt_chan_recv(s->done, NULL);
	RT_CHECK_EQ(0, grt_thread_free(s->t));
	grt_chan_free(s->done);
}

TEST_F_TIMEOUT(rt_tcall, stress_many_callers_one_thread, 300)
{
	struct serial s = { 0 };

	RT_RUN(0, serial_body, &s);
	EXPECT_EQ((long)CALLERS * CALLS, s.counter);
	EXPECT_EQ(0, atomic_load(&s.overlap));
	EXPECT_EQ(0, atomic_load(&s.bad_tid));
	EXPECT_EQ(0, atomic_load(&s.bad_result));
	memset(&s, 0, sizeof(s));
	RT_RUN(1, serial_body, &s);
	EXPECT_EQ((long)CALLERS * CALLS, s.counter);
	EXPECT_EQ(0, atomic_load(&s.overlap));
}

/* --- A call that uses the runtime ------------------------------------------------ */

struct chatty {
	struct grt_chan *c;
	long tid;
};

static long chatty_fn(void *arg)
{
	struct chatty *ch = arg;
	long v = 0;

	/* Blocks on a channel and sleeps, on the server thread. */
	if (grt_chan_recv(ch->c, &v) != 1)
		return -1;
	grt_sleep(100000);
	if (gwake_test_gettid() != ch->tid)
		return -2;
	return v;
}

static void feeder(void *arg)
{
	struct chatty *ch = arg;
	long v = 1234;

	grt_sleep(1000000);
	grt_chan_send(ch->c, &v);
}

static void chatty_body(void *arg)
{
	struct grt_thread *t;
	struct chatty ch;
	long r = 0;
	int i;

	(void)arg;
	RT_CHECK_EQ(0, grt_thread_start(&t));
	RT_CHECK_EQ(0, grt_thread_call(t, tid_fn, NULL, &ch.tid));
	RT_CHECK_EQ(0, grt_chan_make(&ch.c, sizeof(long), 0));
	for (i = 0; i < 5; i++) {
		RT_GO(feeder, &ch);
		RT_CHECK_EQ(0, grt_thread_call(t, chatty_fn, &ch, &r));
		RT_CHECK_EQ(1234, r);
	}
	RT_CHECK_EQ(0, grt_thread_free(t));
	grt_chan_free(ch.c);
}

TEST_F(rt_tcall, call_may_block_on_the_runtime)
{
	RT_RUN(1, chatty_body, NULL);
	RT_RUN(2, chatty_body, NULL);
}

/* --- A stop racing with callers ----------------------------------------------- */

struct race {
	struct grt_thread *t;
	long ran;			/* server only */
	atomic_long ok;
	atomic_long refused;
	atomic_int bad;
	struct grt_chan *done;
};

static long count_fn(void *arg)
{
	struct race *r = arg;

	return ++r->ran;
}

static void racer(void *arg)
{
	struct race *r = arg;
	long v;
	int i, err;

	for (i = 0; i < 500; i++) {
		err = grt_thread_call(r->t, count_fn, r, &v);
		if (!err)
			atomic_fetch_add(&r->ok, 1);
		else if (err == -ESRCH)
			atomic_fetch_add(&r->refused, 1);
		else
			atomic_fetch_add(&r->bad, 1);
		if (i % 16 == 0)
			grt_yield();
	}
	grt_chan_send(r->done, NULL);
}

static void race_body(void *arg)
{
	struct race *r = arg;
	int i;

	RT_CHECK_EQ(0, grt_thread_start(&r->t));
	RT_CHECK_EQ(0, grt_chan_make(&r->done, 0, 16));
	for (i = 0; i < 16; i++)
		RT_GO(racer, r);
	grt_sleep(200000);
	RT_CHECK_EQ(0, grt_thread_stop(r->t));
	for (i = 0; i < 16; i++)
		grt_chan_recv(r->done, NULL);
	RT_CHECK_EQ(0, grt_thread_free(r->t));
	grt_chan_free(r->done);
}

TEST_F(rt_tcall, stop_races_with_callers_nothing_lost)
{
	struct race r = { 0 };

	RT_RUN(0, race_body, &r);
	/* Every call either ran exactly once or was refused. */
	EXPECT_EQ(16 * 500, atomic_load(&r.ok) + atomic_load(&r.refused));
	EXPECT_EQ(r.ran, atomic_load(&r.ok));
	EXPECT_EQ(0, atomic_load(&r.bad));
}

/* --- A P that waits for a call runs what another call readies ------------------- */

/*
 * One P. G1 calls server A while the main G is runnable, so G1 parks; G2 calls
 * server B with nothing else to run, so its M waits for B holding the P.
 * A's call returns only once B's has started, and B's only once G1 ran on
 * (or after 5 s): G1, readied by A's thread, must get the P while G2's
 * call is still in progress. The M that waits for B gives the P up when
 * asked (tcall.c, grt__tcall_yield_p()); the monitor asks it too
 * (grt__tcall_lent()), and hands the P on if it stays silent for 10 ms.
 */
struct lend {
	struct grt_thread *a, *b;
	atomic_int a_started;
	atomic_int b_started;
	atomic_int g1_ran;
	long seen;			/* what B's call saw, read after done */
	struct grt_chan *done;
};

/* Until *flag is set, or 5 s; the flag. Blocks the server thread it runs on. */
static long lend_wait_for(atomic_int *flag)
{
	struct timespec ts = { .tv_nsec = 1000000 };
	int i;

	for (i = 0; i < 5000 && !atomic_load(flag); i++)
		nanosleep(&ts, NULL);
	return atomic_load(flag);
}

static long until_b_started(void *arg)
{
	struct lend *l = arg;

	atomic_store(&l->a_started, 1);
	return lend_wait_for(&l->b_started);
}

static long until_g1_ran(void *arg)
{
	struct lend *l = arg;

	atomic_store(&l->b_started, 1);
	return lend_wait_for(&l->g1_ran);
}

static void lend_g1(void *arg)
{
	struct lend *l = arg;
	long r = 0;

	RT_CHECK_EQ(0, grt_thread_call(l->a, until_b_started, l, &r));
	RT_CHECK_EQ(1, r);
	atomic_store(&l->g1_ran, 1);
	grt_chan_send(l->done, NULL);
}

static void lend_g2(void *arg)
{
	struct lend *l = arg;

	RT_CHECK_EQ(0, grt_thread_call(l->b, until_g1_ran, l, &l->seen));
	grt_chan_send(l->done, NULL);
}

static void lend_body(void *arg)
{
	struct lend *l = arg;
	int round;

	RT_CHECK_EQ(0, grt_thread_start(&l->a));
	RT_CHECK_EQ(0, grt_thread_start(&l->b));
	RT_CHECK_EQ(0, grt_chan_make(&l->done, 0, 2));
	for (round = 0; round < 20; round++) {
		atomic_store(&l->a_started, 0);
		atomic_store(&l->b_started, 0);
		atomic_store(&l->g1_ran, 0);
		l->seen = -1;
		RT_GO(lend_g1, l);
		/* G1 calls A with us runnable: it parks (no P to keep). */
		while (!atomic_load(&l->a_started))
			grt_yield();
		RT_GO(lend_g2, l);
		grt_chan_recv(l->done, NULL);
		grt_chan_recv(l->done, NULL);
		RT_CHECK_EQ(1, l->seen);
	}
	RT_CHECK_EQ(0, grt_thread_free(l->a));
	RT_CHECK_EQ(0, grt_thread_free(l->b));
	grt_chan_free(l->done);
}

TEST_F(rt_tcall, waiting_callers_p_runs_a_readied_g)
{
	struct lend l = { 0 };

	RT_RUN(1, lend_body, &l);
	memset(&l, 0, sizeof(l));
	RT_RUN(2, lend_body, &l);
}

/* --- The monitor leaves a lent P to its lender --------------------------------- */

/*
 * One P, lent by a caller whose calls last (tcall.c, grt__tcall_lent()).
 * Calls of 200 us with nothing else to run: the monitor, which handed a P
 * left in a system call on after 20 us when no other P was idle, leaves
 * it. Then a G asleep on that P's timer heap while the only other G waits
 * for a call that returns once the sleeper woke: the monitor asks the
 * lender, whose M runs the timer. The previous monitor handed the P on
 * about once per call and per round; now it never should, but a lender
 * asked and silent for 10 ms (a debug kernel under emulation) is handed
 * on: the bound is a fifth of the old count.
 */
struct lent {
	struct grt_thread *t;
	atomic_int asleep;
	atomic_int woke;
};

static long sleep_200us(void *arg)
{
	struct timespec ts = { .tv_nsec = 200000 };

	nanosleep(&ts, NULL);
	return (long)arg;
}

/* At most 5 s: then the round fails, it does not hang. */
static long until_woke(void *arg)
{
	struct lent *lt = arg;

	return lend_wait_for(&lt->woke);
}

static void lent_sleeper(void *arg)
{
	struct lent *lt = arg;

	atomic_store(&lt->asleep, 1);
	RT_CHECK_EQ(0, grt_sleep(1000000));
	atomic_store(&lt->woke, 1);
}

#define LENT_CALLS	50
#define LENT_ROUNDS	20

static void lent_body(void *arg)
{
	struct grt_stats st = { .size = sizeof(st) };
	struct lent *lt = arg;
	long r;
	int i;

	RT_CHECK_EQ(0, grt_thread_start(&lt->t));
	for (i = 0; i < LENT_CALLS; i++) {
		r = 0;
		RT_CHECK_EQ(0, grt_thread_call(lt->t, sleep_200us, (void *)(long)i, &r));
		RT_CHECK_EQ(i, r);
	}
	for (i = 0; i < LENT_ROUNDS; i++) {
		atomic_store(&lt->asleep, 0);
		atomic_store(&lt->woke, 0);
		RT_GO(lent_sleeper, lt);
		RT_CHECK(rt_yield_until(&lt->asleep, 1));
		r = 0;
		RT_CHECK_EQ(0, grt_thread_call(lt->t, until_woke, lt, &r));
		RT_CHECK_EQ(1, r);
	}
	RT_CHECK_EQ(0, grt_stats(&st));
	if (st.handoffs)
		fprintf(stderr, "# %llu hand-offs of the lent P in %d calls\n",
		       (unsigned long long)st.handoffs, LENT_CALLS + LENT_ROUNDS);
	RT_CHECK(st.handoffs < (LENT_CALLS + LENT_ROUNDS) / 5);
	RT_CHECK_EQ(0, grt_thread_free(lt->t));
}

TEST_F_TIMEOUT(rt_tcall, lent_p_is_asked_not_handed_on, 120)
{
	struct lent lt = { 0 };

	RT_RUN(1, lent_body, &lt);
}

/* --- A call made with a preemption pending ----------------------------------- */

/*
 * White box: the monitor may set a G's preempt flag at any moment (the G
 * ran 10 ms) and the G gives up its M at its next grt__releasem(). A
 * caller must not move to another M between choosing to wait on its M's
 * word and waiting there: the server would wake the M it named, and the
 * caller would sleep on another word for ever. Every call here starts with
 * the flag set, beside a G that yields so that a preempted G finds another
 * M to run it. It hung within 200 to 30000 calls before the choice and the
 * wait were made on one pinned M.
 */
struct pending {
	struct grt_thread *t;
	atomic_int stop;
	struct grt_chan *done;
};

static void pending_yielder(void *arg)
{
	struct pending *pd = arg;

	while (!atomic_load(&pd->stop))
		grt_yield();
	grt_chan_send(pd->done, NULL);
}

static void pending_caller(void *arg)
{
	struct pending *pd = arg;
	long r;
	int i;

	for (i = 0; i < 20000; i++) {
		atomic_store(&grt__curg()->preempt, 1);
		r = 0;
		RT_CHECK_EQ(0, grt_thread_call(pd->t, add1, (void *)(long)i, &r));
		RT_CHECK_EQ(i + 1, r);
	}
	atomic_store(&pd->stop, 1);
	grt_chan_send(pd->done, NULL);
}

static void pending_body(void *arg)
{
	struct pending *pd = arg;

	RT_CHECK_EQ(0, grt_thread_start(&pd->t));
	RT_CHECK_EQ(0, grt_chan_make(&pd->done, 0, 2));
	RT_GO(pending_yielder, pd);
	RT_GO(pending_caller, pd);
	grt_chan_recv(pd->done, NULL);
	grt_chan_recv(pd->done, NULL);
	RT_CHECK_EQ(0, grt_thread_free(pd->t));
	grt_chan_free(pd->done);
}

TEST_F_TIMEOUT(rt_tcall, call_with_a_preemption_pending, 120)
{
	struct pending pd = { 0 };

	RT_RUN(2, pending_body, &pd);
}

/* --- Deadlock with an idle server ------------------------------------------------ */

static void idle_server_deadlock(void *arg)
{
	struct grt_thread *t;
	struct grt_chan *c;
	long r;

	(void)arg;
	grt_thread_start(&t);
	grt_thread_call(t, add1, NULL, &r);
	grt_chan_make(&c, 0, 0);
	grt_chan_recv(c, NULL);		/* nobody sends; the server idles */
}

TEST_F(rt_tcall, deadlock_with_an_idle_server_is_reported)
{
	struct grt_config cfg = { .nprocs = 2 };
	int saved, fd, ret;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open("/dev/null", O_WRONLY);
	dup2(fd, STDERR_FILENO);
	ret = grt_run(&cfg, idle_server_deadlock, NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	EXPECT_EQ(-EDEADLK, ret);
}

TEST_HARNESS_MAIN
