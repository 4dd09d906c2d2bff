// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's mutex and wait group (include/gwake/rt.h, lib/rt/mutex.c,
 * lib/rt/waitgroup.c): bad use (error returns, and aborts with a message
 * where the API cannot report), the hand-off of starvation mode, and
 * stress with exact results. Plain (non-atomic) shared data throughout:
 * the memory-ordering contracts are what keeps the counts exact.
 */
#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_sync);

/* --- Mutex -------------------------------------------------------------- */

static void trylock_body(void *arg)
{
	struct grt_mutex *m = arg;

	RT_CHECK(grt_mutex_trylock(m));
	RT_CHECK(!grt_mutex_trylock(m));
	grt_mutex_unlock(m);
	grt_mutex_lock(m);
	RT_CHECK(!grt_mutex_trylock(m));
	grt_mutex_unlock(m);
	RT_CHECK(grt_mutex_trylock(m));
	grt_mutex_unlock(m);
}

TEST_F(rt_sync, mutex_trylock)
{
	static struct grt_mutex m = GRT_MUTEX_INIT;

	RT_RUN(1, trylock_body, &m);
	/* Uncontended, it works from any thread. */
	grt_mutex_init(&m);
	ASSERT_TRUE(grt_mutex_trylock(&m));
	grt_mutex_unlock(&m);
}

static void unlock_unlocked(void *arg)
{
	struct grt_mutex m = GRT_MUTEX_INIT;

	(void)arg;
	grt_mutex_unlock(&m);
}

/* Unlocking an unlocked mutex is a bug the API cannot return: abort. */
TEST_F(rt_sync, mutex_unlock_unlocked)
{
	RT_EXPECT_ABORT(unlock_unlocked, NULL,
			"grt_mutex_unlock of an unlocked mutex");
}

static void lock_twice(void *arg)
{
	struct grt_mutex m = GRT_MUTEX_INIT;

	(void)arg;
	grt_mutex_lock(&m);
	grt_mutex_lock(&m);
}

/* A thread outside the runtime that would have to wait cannot park. */
TEST_F(rt_sync, mutex_contended_outside_g)
{
	RT_EXPECT_ABORT(lock_twice, NULL,
			"a thread outside the runtime would have to wait");
}

#define LOCKERS		32
#define INCREMENTS	4000

struct counter {
	struct grt_mutex m;
	struct grt_waitgroup wg;
	/* Under m: plain on purpose. */
	long value;
	long in_section;
	long overlaps;
};

static void locker(void *arg)
{
	struct counter *c = arg;
	int i;

	for (i = 0; i < INCREMENTS; i++) {
		grt_mutex_lock(&c->m);
		if (c->in_section++)
			c->overlaps++;
		c->value++;
		/* Sometimes hold it across a reschedule. */
		if (i % 64 == 0)
			grt_yield();
		c->in_section--;
		grt_mutex_unlock(&c->m);
	}
	grt_waitgroup_done(&c->wg);
}

static void counter_body(void *arg)
{
	struct counter *c = arg;
	int i;

	RT_CHECK_EQ(0, grt_waitgroup_add(&c->wg, LOCKERS));
	for (i = 0; i < LOCKERS; i++)
		RT_GO(locker, c);
	grt_waitgroup_wait(&c->wg);
	grt_mutex_lock(&c->m);
	RT_CHECK_EQ((long)LOCKERS * INCREMENTS, c->value);
	RT_CHECK_EQ(0, c->overlaps);
	grt_mutex_unlock(&c->m);
}

/* Many Gs on two Ps increment a plain counter under the mutex. */
TEST_F(rt_sync, mutex_counter)
{
	static struct counter c;

	RT_RUN(2, counter_body, &c);
}

struct starve {
	struct grt_mutex m;
	atomic_int waiting, done;
	bool trylock_after_handoff;
};

static int64_t now_ns(void)
{
	return gwake_test_now_ns();
}

static void starving_waiter(void *arg)
{
	struct starve *s = arg;

	atomic_store(&s->waiting, 1);
	grt_mutex_lock(&s->m);
	grt_mutex_unlock(&s->m);
	atomic_store(&s->done, 1);
}

static void starve_body(void *arg)
{
	struct starve *s = arg;
	int64_t end;

	grt_mutex_lock(&s->m);
	RT_GO(starving_waiter, s);
	RT_CHECK(rt_yield_until(&s->waiting, 1));
	/* The waiter is parked on the mutex. Hold it for 3 ms. */
	end = now_ns() + 3 * NSEC_PER_MSEC;
	while (now_ns() < end)
		;
	/*
	 * Normal mode: unlock wakes the waiter, but we take the mutex again
	 * before it runs (one P: it runs only when we yield). It then finds
	 * the mutex held after waiting more than 1 ms, and switches it to
	 * starvation mode before it parks again.
	 */
	grt_mutex_unlock(&s->m);
	grt_mutex_lock(&s->m);
	grt_yield();
	RT_CHECK_EQ(0, atomic_load(&s->done));
	/*
	 * Starvation mode: unlock hands the mutex to the waiter. It has not
	 * run yet, but the mutex is no longer ours to take: trylock fails
	 * (in normal mode it would succeed and starve the waiter again).
	 */
	grt_mutex_unlock(&s->m);
	s->trylock_after_handoff = grt_mutex_trylock(&s->m);
	if (s->trylock_after_handoff)
		grt_mutex_unlock(&s->m);
	RT_CHECK(!s->trylock_after_handoff);
	RT_CHECK(rt_yield_until(&s->done, 1));
	/* Back to normal mode: free, and takeable at once. */
	RT_CHECK(grt_mutex_trylock(&s->m));
	grt_mutex_unlock(&s->m);
}

/*
 * A waiter that keeps losing the race for more than 1 ms gets the mutex
 * handed to it (Go's starvation mode), and the mutex goes back to normal
 * mode when that waiter was the last.
 */
TEST_F(rt_sync, mutex_starvation_handoff)
{
	static struct starve s;

	RT_RUN(1, starve_body, &s);
}

struct barge {
	struct grt_mutex m;
	atomic_int stop;
	atomic_long rounds;
};

static void barger(void *arg)
{
	struct barge *b = arg;

	/* Relock at once, forever: in normal mode it always wins. */
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		grt_mutex_lock(&b->m);
		atomic_fetch_add_explicit(&b->rounds, 1, memory_order_relaxed);
		grt_mutex_unlock(&b->m);
	}
}

static void barge_body(void *arg)
{
	struct barge *b = arg;
	int i;

	RT_GO(barger, b);
	while (!atomic_load(&b->rounds))
		grt_yield();
	/* Each lock must come through despite the barging G. */
	for (i = 0; i < 50; i++) {
		grt_mutex_lock(&b->m);
		grt_mutex_unlock(&b->m);
	}
	atomic_store(&b->stop, 1);
}

/* A G that relocks in a tight loop on another P cannot starve a waiter. */
TEST_F(rt_sync, mutex_no_starvation)
{
	static struct barge b;

	RT_RUN(2, barge_body, &b);
}

/* --- Wait group --------------------------------------------------------- */

/* Errors leave the counter as it was; no G needed for any of this. */
TEST_F(rt_sync, waitgroup_errors)
{
	struct grt_waitgroup wg = GRT_WAITGROUP_INIT;

	EXPECT_EQ(-EINVAL, grt_waitgroup_done(&wg));
	EXPECT_EQ(-EINVAL, grt_waitgroup_add(&wg, -1));
	EXPECT_EQ(0, grt_waitgroup_add(&wg, 1));
	EXPECT_EQ(-EINVAL, grt_waitgroup_add(&wg, -2));
	EXPECT_EQ(-EOVERFLOW, grt_waitgroup_add(&wg, INT32_MAX));
	EXPECT_EQ(0, grt_waitgroup_add(&wg, INT32_MAX - 1));
	EXPECT_EQ(-EOVERFLOW, grt_waitgroup_add(&wg, 1));
	EXPECT_EQ(0, grt_waitgroup_add(&wg, -(INT32_MAX - 1)));
	EXPECT_EQ(0, grt_waitgroup_done(&wg));
	EXPECT_EQ(-EINVAL, grt_waitgroup_done(&wg));
	/* At zero, wait returns at once, even outside a G. */
	grt_waitgroup_wait(&wg);
	grt_waitgroup_init(&wg);
	grt_waitgroup_wait(&wg);
}

static void wait_outside(void *arg)
{
	struct grt_waitgroup wg = GRT_WAITGROUP_INIT;

	(void)arg;
	grt_waitgroup_add(&wg, 1);
	grt_waitgroup_wait(&wg);
}

/* Waiting outside a G with work outstanding cannot park: abort. */
TEST_F(rt_sync, waitgroup_wait_outside_g)
{
	RT_EXPECT_ABORT(wait_outside, NULL,
			"a thread outside the runtime would have to wait");
}

#define FANIN		2000

struct fanin {
	struct grt_waitgroup wg;
	atomic_int next;
	/* Written by one G each, read after wait(): plain. */
	long slot[FANIN];
};

static void fanin_worker(void *arg)
{
	struct fanin *f = arg;
	int i = atomic_fetch_add_explicit(&f->next, 1, memory_order_relaxed);

	f->slot[i] = (long)i * i + 1;
	RT_CHECK_EQ(0, grt_waitgroup_done(&f->wg));
}

static void fanin_body(void *arg)
{
	struct fanin *f = arg;
	long sum = 0, want = 0;
	int i;

	RT_CHECK_EQ(0, grt_waitgroup_add(&f->wg, FANIN));
	for (i = 0; i < FANIN; i++)
		RT_GO(fanin_worker, f);
	grt_waitgroup_wait(&f->wg);
	for (i = 0; i < FANIN; i++) {
		sum += f->slot[i];
		want += (long)i * i + 1;
	}
	RT_CHECK_EQ(want, sum);
	RT_CHECK_EQ(-EINVAL, grt_waitgroup_done(&f->wg));
}

/*
 * Fan-in: every done() happens before wait() returns, so the workers'
 * plain writes are all visible to the waiter.
 */
TEST_F(rt_sync, waitgroup_fan_in)
{
	static struct fanin f;

	RT_RUN(2, fanin_body, &f);
}

#define WAITERS		8

struct multi {
	struct grt_waitgroup wg, waiters_done;
	atomic_int arrived, released;
	int round;
};

static void multi_waiter(void *arg)
{
	struct multi *mw = arg;

	atomic_fetch_add(&mw->arrived, 1);
	grt_waitgroup_wait(&mw->wg);
	atomic_fetch_add(&mw->released, 1);
	grt_waitgroup_done(&mw->waiters_done);
}

static void multi_body(void *arg)
{
	struct multi *mw = arg;
	int round, i;

	/* Two rounds: the group is reusable once every wait returned. */
	for (round = 1; round <= 2; round++) {
		atomic_store(&mw->arrived, 0);
		RT_CHECK_EQ(0, grt_waitgroup_add(&mw->wg, 3));
		RT_CHECK_EQ(0, grt_waitgroup_add(&mw->waiters_done, WAITERS));
		for (i = 0; i < WAITERS; i++)
			RT_GO(multi_waiter, mw);
		RT_CHECK(rt_yield_until(&mw->arrived, WAITERS));
		RT_CHECK_EQ(0, grt_waitgroup_done(&mw->wg));
		RT_CHECK_EQ(0, grt_waitgroup_done(&mw->wg));
		grt_yield();
		RT_CHECK_EQ(WAITERS * (round - 1), atomic_load(&mw->released));
		RT_CHECK_EQ(0, grt_waitgroup_done(&mw->wg));
		grt_waitgroup_wait(&mw->waiters_done);
		RT_CHECK_EQ(WAITERS * round, atomic_load(&mw->released));
	}
}

/* The last done() releases every waiter, not one; none before it. */
TEST_F(rt_sync, waitgroup_many_waiters)
{
	static struct multi mw;

	RT_RUN(1, multi_body, &mw);
}

TEST_HARNESS_MAIN
