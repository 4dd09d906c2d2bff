// SPDX-License-Identifier: GPL-2.0
/*
 * The wake word through libgwake: permits, return values, timeouts,
 * signals, swap, wake_many and memory ordering, for both backends.
 *
 * "Is the target asleep?" is never guessed with a sleep: a peer announces
 * the call it is about to make and /proc tells when it sleeps in it (see
 * gwake_peer_post_asleep()). Timeouts that a correct library never reaches
 * are GWAKE_TEST_LONG_NS, so a lost wakeup fails with a message.
 */
#include "gwake_test.h"

FIXTURE(wake) {
	struct gwake_peer peers[4];
	unsigned int npeers;
};

GWAKE_BACKEND_VARIANTS(wake);

FIXTURE_SETUP(wake)
{
	GWAKE_SETUP_BACKEND(variant->backend);
}

FIXTURE_TEARDOWN(wake)
{
}

/* Starts @n peers in self->peers; their handles are distinct. */
#define START_PEERS(n) do {						\
	unsigned int __i;						\
	for (__i = 0; __i < (n); __i++) {				\
		ASSERT_EQ(0, gwake_peer_start(&self->peers[__i]));	\
	}								\
	self->npeers = (n);						\
} while (0)

/* --- Probe -------------------------------------------------------------- */

TEST_F(wake, handles)
{
	gwake_t h1 = 0, h2 = 0;

	ASSERT_STREQ(variant->backend, gwake_backend());
	ASSERT_EQ(0, gwake_self(&h1));
	EXPECT_NE(0, h1);
	ASSERT_EQ(0, gwake_self(&h2));
	EXPECT_EQ(h1, h2) TH_LOG("gwake_self() changed the handle of a registered thread");
	START_PEERS(2);
	EXPECT_NE(h1, self->peers[0].handle);
	EXPECT_NE(h1, self->peers[1].handle);
	EXPECT_NE(self->peers[0].handle, self->peers[1].handle);
	h2 = self->peers[0].handle;
	EXPECT_EQ(0, gwake_peer_run(&self->peers[0], GWAKE_PEER_SELF, 0, 0));
	EXPECT_EQ(h2, self->peers[0].handle);
	ASSERT_EQ(0, gwake_peer_stop(&self->peers[0]));
	ASSERT_EQ(0, gwake_peer_stop(&self->peers[1]));
}

/* --- Bad input ---------------------------------------------------------- */

/*
 * Values that were never issued: -ESRCH and nothing woken. My own handle
 * with one bit flipped is not my handle: a library that checks only part
 * of it (an index without its generation) wakes me here.
 */
TEST_F(wake, wake_bad_handle)
{
	gwake_t h;
	unsigned int b;

	ASSERT_EQ(0, gwake_self(&h));
	EXPECT_EQ(-ESRCH, gwake_wake(0));
	EXPECT_EQ(-ESRCH, gwake_wake(~(gwake_t)0));
	for (b = 0; b < 64; b++) {
		EXPECT_EQ(-ESRCH, gwake_wake(h ^ (1ULL << b)))
			TH_LOG("handle %#llx ^ bit %u", (unsigned long long)h, b);
	}
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("a bad handle reached me");
}

/*
 * gwake_wake_many(): -EFAULT for NULL with n > 0, -EINVAL above
 * GWAKE_WAKE_MANY_MAX, checked before any handle is woken.
 */
TEST_F(wake, wake_many_bad)
{
	static gwake_t hs[GWAKE_WAKE_MANY_MAX + 1];
	gwake_t h;
	unsigned int i;

	ASSERT_EQ(0, gwake_self(&h));
	for (i = 0; i < ARRAY_SIZE(hs); i++)
		hs[i] = h;
	EXPECT_EQ(-EFAULT, gwake_wake_many(NULL, 1));
	EXPECT_EQ(-EFAULT, gwake_wake_many(NULL, GWAKE_WAKE_MANY_MAX));
	EXPECT_EQ(0, gwake_wake_many(NULL, 0));
	EXPECT_EQ(-EINVAL, gwake_wake_many(hs, GWAKE_WAKE_MANY_MAX + 1));
	EXPECT_EQ(-EINVAL, gwake_wake_many(hs, SIZE_MAX));
	/* n truncated to 32 bits would be 1: still too many. */
	EXPECT_EQ(-EINVAL, gwake_wake_many(hs, (size_t)1 << 32 | 1));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("a rejected wake_many woke me");
}

/*
 * gwake_swap() to a bad handle: -ESRCH without blocking. A permit is
 * pending, so an implementation that blocks anyway consumes it and
 * returns 0 instead (and one that drops the permit fails afterwards).
 */
TEST_F(wake, swap_bad_handle)
{
	gwake_t h, stale;

	START_PEERS(1);
	stale = self->peers[0].handle;
	ASSERT_EQ(0, gwake_peer_stop(&self->peers[0]));

	ASSERT_EQ(0, gwake_self(&h));
	ASSERT_EQ(0, gwake_wake(h));
	EXPECT_EQ(-ESRCH, gwake_swap(0, -1));
	EXPECT_EQ(-ESRCH, gwake_swap(stale, -1));
	EXPECT_EQ(-ESRCH, gwake_swap(h ^ 1, GWAKE_TEST_LONG_NS));
	EXPECT_EQ(0, gwake_block(0)) TH_LOG("a failed swap took my permit");
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
}

/* --- Behaviour: the permit ---------------------------------------------- */

/* A wake before the block is kept: the block returns at once. */
TEST_F(wake, permit_kept)
{
	gwake_t h;

	ASSERT_EQ(0, gwake_self(&h));
	EXPECT_EQ(0, gwake_wake(h));
	EXPECT_EQ(0, gwake_block(0));
	EXPECT_EQ(0, gwake_wake(h));
	EXPECT_EQ(0, gwake_block(GWAKE_TEST_LONG_NS));
	/* The unbounded path: a lost permit hangs until the harness kills the test. */
	EXPECT_EQ(0, gwake_wake(h));
	EXPECT_EQ(0, gwake_block(-1));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
}

/* Permits do not accumulate: two wakes, one permit. */
TEST_F(wake, permits_not_accumulated)
{
	gwake_t h;

	ASSERT_EQ(0, gwake_self(&h));
	EXPECT_EQ(0, gwake_wake(h));
	EXPECT_EQ(0, gwake_wake(h));
	EXPECT_EQ(0, gwake_block(0));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("permits accumulated");

	/* The same from another thread. */
	START_PEERS(1);
	EXPECT_EQ(0, gwake_peer_run(&self->peers[0], GWAKE_PEER_WAKE, h, 0));
	EXPECT_EQ(0, gwake_peer_run(&self->peers[0], GWAKE_PEER_WAKE, h, 0));
	EXPECT_EQ(0, gwake_block(0));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("permits accumulated");
	ASSERT_EQ(0, gwake_peer_stop(&self->peers[0]));
}

/*
 * Timeouts: 0 only takes a pending permit; a positive one ends in
 * -ETIMEDOUT, never before it elapsed (a lower bound on CLOCK_MONOTONIC is
 * a correctness property: it catches a spin phase that is not counted or a
 * deadline computed twice); a timed-out block leaves no state behind.
 */
TEST_F(wake, block_timeout)
{
	static const int64_t timeouts[] = { 1, 1000, NSEC_PER_MSEC, 5 * NSEC_PER_MSEC };
	unsigned int i;
	int64_t t0;
	gwake_t h;

	ASSERT_EQ(0, gwake_self(&h));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
	for (i = 0; i < ARRAY_SIZE(timeouts); i++) {
		t0 = gwake_test_now_ns();
		EXPECT_EQ(-ETIMEDOUT, gwake_block(timeouts[i]));
		EXPECT_LE(t0 + timeouts[i], gwake_test_now_ns())
			TH_LOG("-ETIMEDOUT before %lld ns elapsed", (long long)timeouts[i]);
	}
	/* After timeouts, a wake is still a permit and still only one. */
	EXPECT_EQ(0, gwake_wake(h));
	EXPECT_EQ(0, gwake_block(NSEC_PER_MSEC));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
}

/*
 * Every negative timeout waits for ever, and so does INT64_MAX (a library
 * that adds it to "now" without saturating overflows into the past and
 * times out at once).
 */
TEST_F(wake, block_forever_values)
{
	static const int64_t timeouts[] = { -1, INT64_MIN, -NSEC_PER_SEC, INT64_MAX };
	struct gwake_peer *p = &self->peers[0];
	unsigned int i;

	START_PEERS(1);
	for (i = 0; i < ARRAY_SIZE(timeouts); i++) {
		ASSERT_TRUE(gwake_peer_post_asleep(p, GWAKE_PEER_BLOCK, 0, timeouts[i]))
			TH_LOG("gwake_block(%lld) did not sleep: returned %d",
			       (long long)timeouts[i], gwake_peer_result(p));
		EXPECT_EQ(1, gwake_wake(p->handle));
		EXPECT_EQ(0, gwake_peer_result(p));
	}
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/*
 * gwake_wake() says 1 when it woke a sleeper, 0 when it left a permit for a
 * thread that was not blocked (here: waiting on a semaphore), and the
 * permit is then there for that thread's next block.
 */
TEST_F(wake, wake_return_values)
{
	struct gwake_peer *p = &self->peers[0];

	START_PEERS(1);
	EXPECT_EQ(0, gwake_wake(p->handle));
	EXPECT_EQ(0, gwake_wake(p->handle));
	EXPECT_EQ(0, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0));
	EXPECT_EQ(-ETIMEDOUT, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0));

	ASSERT_TRUE(gwake_peer_post_asleep(p, GWAKE_PEER_BLOCK, 0, -1));
	EXPECT_EQ(1, gwake_wake(p->handle));
	EXPECT_EQ(0, gwake_peer_result(p));
	/* The wake was consumed by the block it ended: no permit is left. */
	EXPECT_EQ(-ETIMEDOUT, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0));

	ASSERT_TRUE(gwake_peer_post_asleep(p, GWAKE_PEER_BLOCK, 0, GWAKE_TEST_LONG_NS));
	EXPECT_EQ(1, gwake_wake(p->handle));
	EXPECT_EQ(0, gwake_peer_result(p));
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/* A wake reaches its target and no other sleeper. */
TEST_F(wake, wake_targets_one)
{
	struct gwake_peer *a = &self->peers[0], *b = &self->peers[1];
	int i;

	START_PEERS(2);
	ASSERT_TRUE(gwake_peer_post_asleep(a, GWAKE_PEER_BLOCK, 0, -1));
	ASSERT_TRUE(gwake_peer_post_asleep(b, GWAKE_PEER_BLOCK, 0, -1));
	EXPECT_EQ(1, gwake_wake(a->handle));
	EXPECT_EQ(0, gwake_peer_result(a));
	/*
	 * a has returned; b must still be in its block. Watching for a while
	 * only makes a wrong wakeup of b more likely to be seen.
	 */
	for (i = 0; i < 100 && !atomic_load(&b->blocks_left); i++)
		usleep(500);
	EXPECT_EQ(0, atomic_load(&b->blocks_left)) TH_LOG("waking a woke b");
	EXPECT_EQ(1, gwake_wake(b->handle));
	EXPECT_EQ(0, gwake_peer_result(b));
	ASSERT_EQ(0, gwake_peer_stop(a));
	ASSERT_EQ(0, gwake_peer_stop(b));
}

/*
 * Waking needs no registration: a thread that never called gwake_self()
 * wakes a sleeper and leaves a permit.
 */
static void *wake_twice(void *arg)
{
	const gwake_t *hs = arg;
	intptr_t r1 = gwake_wake(hs[0]);
	intptr_t r2 = gwake_wake(hs[1]);

	return (void *)(r1 * 10 + r2);
}

TEST_F(wake, waker_needs_no_registration)
{
	struct gwake_peer *p = &self->peers[0];
	gwake_t hs[2];
	pthread_t t;
	void *res;

	START_PEERS(1);
	ASSERT_EQ(0, gwake_self(&hs[1]));
	hs[0] = p->handle;
	ASSERT_TRUE(gwake_peer_post_asleep(p, GWAKE_PEER_BLOCK, 0, GWAKE_TEST_LONG_NS));
	ASSERT_EQ(0, pthread_create(&t, NULL, wake_twice, hs));
	ASSERT_EQ(0, pthread_join(t, &res));
	/* 1 for the sleeper, 0 for me (a permit). */
	EXPECT_EQ(10, (intptr_t)res);
	EXPECT_EQ(0, gwake_peer_result(p));
	EXPECT_EQ(0, gwake_block(0));
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/*
 * A block that timed out leaves nothing behind: a later wake finds the
 * thread not blocked (0, not 1 for a "sleeper" that is gone) and its
 * permit is there for the next block.
 */
TEST_F(wake, wake_after_timeout_is_kept)
{
	struct gwake_peer *p = &self->peers[0];

	START_PEERS(1);
	EXPECT_EQ(-ETIMEDOUT, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, NSEC_PER_MSEC));
	EXPECT_EQ(0, gwake_wake(p->handle)) TH_LOG("the timed-out block still looks asleep");
	EXPECT_EQ(0, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0)) TH_LOG("the wake was lost");
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/* --- Behaviour: signals ------------------------------------------------- */

static atomic_int sigusr1_count;

static void sigusr1_handler(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigusr1_count, 1);
}

/*
 * A signal handler (without SA_RESTART) ends a block with -EINTR; a wake
 * that arrives afterwards is kept as a permit (not lost with the
 * interrupted wait), and the interruption consumed nothing.
 */
TEST_F(wake, eintr)
{
	struct sigaction sa = { .sa_handler = sigusr1_handler, .sa_flags = 0 };
	struct gwake_peer *p = &self->peers[0];
	static const int64_t timeouts[] = { -1, GWAKE_TEST_LONG_NS };
	unsigned int i;
	gwake_t me;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	START_PEERS(1);
	for (i = 0; i < ARRAY_SIZE(timeouts); i++) {
		atomic_store(&sigusr1_count, 0);
		ASSERT_TRUE(gwake_peer_post_asleep(p, GWAKE_PEER_BLOCK, 0, timeouts[i]));
		ASSERT_EQ(0, pthread_kill(p->thread, SIGUSR1));
		EXPECT_EQ(-EINTR, gwake_peer_result(p))
			TH_LOG("gwake_block(%lld) and a handler", (long long)timeouts[i]);
		EXPECT_EQ(1, atomic_load(&sigusr1_count));
		EXPECT_EQ(0, gwake_wake(p->handle));
		EXPECT_EQ(0, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0))
			TH_LOG("a wake after -EINTR was lost");
		EXPECT_EQ(-ETIMEDOUT, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0));
	}

	/* In a swap too: the target (me) was woken, the caller interrupted. */
	ASSERT_EQ(0, gwake_self(&me));
	ASSERT_TRUE(gwake_peer_post_asleep(p, GWAKE_PEER_SWAP, me, -1));
	EXPECT_EQ(0, gwake_block(0)) TH_LOG("the swap did not wake its target");
	ASSERT_EQ(0, pthread_kill(p->thread, SIGUSR1));
	EXPECT_EQ(-EINTR, gwake_peer_result(p));
	EXPECT_EQ(0, gwake_wake(p->handle));
	EXPECT_EQ(0, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0));
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/* --- Behaviour: swap ---------------------------------------------------- */

/* To myself: the wake leaves a permit, the block takes it; one permit in all. */
TEST_F(wake, swap_self)
{
	gwake_t h;

	ASSERT_EQ(0, gwake_self(&h));
	EXPECT_EQ(0, gwake_swap(h, -1));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
	EXPECT_EQ(0, gwake_wake(h));
	EXPECT_EQ(0, gwake_swap(h, GWAKE_TEST_LONG_NS));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("swap to self left a permit");
}

/*
 * To a thread that is not blocked: it gets a permit and the caller blocks
 * as gwake_block() would (times out here: nobody wakes it).
 */
TEST_F(wake, swap_to_running)
{
	struct gwake_peer *p = &self->peers[0];
	int64_t t0;

	START_PEERS(1);
	t0 = gwake_test_now_ns();
	EXPECT_EQ(-ETIMEDOUT, gwake_swap(p->handle, 2 * NSEC_PER_MSEC));
	EXPECT_LE(t0 + 2 * NSEC_PER_MSEC, gwake_test_now_ns());
	EXPECT_EQ(0, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0)) TH_LOG("swap left no permit");
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/*
 * Swap ping-pong: each side wakes the other and sleeps in one call. A swap
 * that blocks before its wake is visible, or that loses the wake racing its
 * own block, deadlocks here; the long timeout turns that into a failure.
 */
struct pingpong {
	gwake_t other;		/* the other side's handle */
	struct pingpong *partner; /* if set: give it my handle before my first wake */
	atomic_llong *turn;
	long long me;		/* my parity: I move when turn % 2 == me */
	int rounds;
	int err;		/* first unexpected result, or a turn out of order */
	atomic_int ready;
	gwake_t handle;
};

#define PINGPONG_ROUNDS	2000

static void *pingpong_main(void *arg)
{
	struct pingpong *pp = arg;
	long long t;
	int i, r;

	if (gwake_self(&pp->handle))
		return NULL;
	/* Ordered before the partner reads it by my first wake (release/acquire). */
	if (pp->partner)
		pp->partner->other = pp->handle;
	atomic_store(&pp->ready, 1);
	/* The side with parity 1 starts by waiting for the first wake. */
	if (pp->me == 1) {
		r = gwake_block(GWAKE_TEST_LONG_NS);
		if (r) {
			pp->err = r;
			return NULL;
		}
	}
	for (i = 0; i < pp->rounds; i++) {
		t = atomic_load_explicit(pp->turn, memory_order_relaxed);
		if (t % 2 != pp->me) {
			pp->err = 1000 + i;
			return NULL;
		}
		atomic_store_explicit(pp->turn, t + 1, memory_order_relaxed);
		if (pp->me == 1 && i == pp->rounds - 1)
			r = gwake_wake(pp->other) < 0 ? -1 : 0;
		else
			r = gwake_swap(pp->other, GWAKE_TEST_LONG_NS);
		if (r) {
			pp->err = r;
			return NULL;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(wake, swap_pingpong, 120)
{
	atomic_llong turn = 0;
	struct pingpong a = { .turn = &turn, .me = 0, .rounds = PINGPONG_ROUNDS };
	struct pingpong b = { .turn = &turn, .me = 1, .rounds = PINGPONG_ROUNDS };
	int64_t t0 = gwake_test_now_ns();
	pthread_t ta, tb;

	ASSERT_EQ(0, pthread_create(&tb, NULL, pingpong_main, &b));
	ASSERT_TRUE(gwake_test_wait_flag(&b.ready));
	/* a learns b's handle now, b learns a's from a before a's first wake. */
	a.other = b.handle;
	a.partner = &b;
	ASSERT_EQ(0, pthread_create(&ta, NULL, pingpong_main, &a));
	ASSERT_EQ(0, pthread_join(ta, NULL));
	ASSERT_EQ(0, pthread_join(tb, NULL));
	/* err > 1000: the turn was out of order at round err - 1000. */
	EXPECT_EQ(0, a.err) TH_LOG("side a: %d", a.err);
	EXPECT_EQ(0, b.err) TH_LOG("side b: %d", b.err);
	EXPECT_EQ(2 * PINGPONG_ROUNDS, atomic_load(&turn));
	TH_LOG("%d rounds in %.2f s", PINGPONG_ROUNDS, (gwake_test_now_ns() - t0) / 1e9);
}

/* --- Behaviour: wake_many ----------------------------------------------- */

/*
 * Returns the number of sleepers woken; threads that are not blocked get a
 * permit and are not counted; stale handles are skipped, not an error.
 */
TEST_F(wake, wake_many)
{
	gwake_t hs[8], me, stale;
	unsigned int i;

	START_PEERS(4);
	stale = self->peers[3].handle;
	ASSERT_EQ(0, gwake_peer_stop(&self->peers[3]));
	ASSERT_EQ(0, gwake_self(&me));
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(gwake_peer_post_asleep(&self->peers[i], GWAKE_PEER_BLOCK, 0,
						   GWAKE_TEST_LONG_NS));
	}
	hs[0] = stale;
	hs[1] = self->peers[0].handle;
	hs[2] = me;
	hs[3] = 0;
	hs[4] = self->peers[2].handle;	/* waiting on its semaphore */
	hs[5] = self->peers[1].handle;
	EXPECT_EQ(2, gwake_wake_many(hs, 6));
	EXPECT_EQ(0, gwake_peer_result(&self->peers[0]));
	EXPECT_EQ(0, gwake_peer_result(&self->peers[1]));
	EXPECT_EQ(0, gwake_block(0)) TH_LOG("no permit for me");
	EXPECT_EQ(0, gwake_peer_run(&self->peers[2], GWAKE_PEER_BLOCK, 0, 0))
		TH_LOG("no permit for the thread that was not blocked");
	/* The woken ones consumed their wake; no permit is left for them. */
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(-ETIMEDOUT, gwake_peer_run(&self->peers[i], GWAKE_PEER_BLOCK, 0, 0));
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, gwake_peer_stop(&self->peers[i]));
	}
}

/* Exactly GWAKE_WAKE_MANY_MAX is allowed; duplicates leave one permit. */
TEST_F(wake, wake_many_max)
{
	static gwake_t hs[GWAKE_WAKE_MANY_MAX];
	gwake_t h;
	unsigned int i;

	ASSERT_EQ(0, gwake_self(&h));
	for (i = 0; i < ARRAY_SIZE(hs); i++)
		hs[i] = h;
	EXPECT_EQ(0, gwake_wake_many(hs, GWAKE_WAKE_MANY_MAX));
	EXPECT_EQ(0, gwake_block(0));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
}

/*
 * More sleepers than one batch of the module's WAKE_MANY (32), each named
 * once among stale and zero handles that straddle the batch boundaries:
 * every sleeper is woken exactly once, whatever order the call wakes them
 * in, and the count says so.
 */
#define MANY_SLEEPERS	40

TEST_F(wake, wake_many_batches)
{
	static struct gwake_peer p[MANY_SLEEPERS];
	static gwake_t hs[3 * MANY_SLEEPERS];
	gwake_t stale;
	unsigned int i, n = 0;

	ASSERT_EQ(0, gwake_peer_start(&p[0]));
	stale = p[0].handle;
	ASSERT_EQ(0, gwake_peer_stop(&p[0]));
	memset(p, 0, sizeof(p));
	for (i = 0; i < MANY_SLEEPERS; i++)
		ASSERT_EQ(0, gwake_peer_start(&p[i]));
	for (i = 0; i < MANY_SLEEPERS; i++)
		ASSERT_TRUE(gwake_peer_post_asleep(&p[i], GWAKE_PEER_BLOCK, 0,
						   GWAKE_TEST_LONG_NS));
	/* Reverse order, a stale or zero handle after every sleeper. */
	for (i = MANY_SLEEPERS; i-- > 0;) {
		hs[n++] = p[i].handle;
		hs[n++] = i % 2 ? stale : 0;
	}
	EXPECT_EQ(MANY_SLEEPERS, gwake_wake_many(hs, n));
	for (i = 0; i < MANY_SLEEPERS; i++)
		EXPECT_EQ(0, gwake_peer_result(&p[i])) TH_LOG("sleeper %u", i);
	/* Woken once each: no permit is left behind. */
	for (i = 0; i < MANY_SLEEPERS; i++) {
		EXPECT_EQ(-ETIMEDOUT, gwake_peer_run(&p[i], GWAKE_PEER_BLOCK, 0, 0));
		ASSERT_EQ(0, gwake_peer_stop(&p[i]));
	}
}

/* --- Behaviour: memory ordering ----------------------------------------- */

/*
 * What the waker wrote before gwake_wake() is visible after gwake_block()
 * returns 0. The payload is plain memory, handed over only through the wake
 * word. Each round, the consumer also checks that its block returned because
 * of this round's wake: a spurious return from gwake_block() (a wakeup that
 * reaches the caller) shows as an old sequence number.
 */
#define ORDERING_ROUNDS	5000
#define PAYLOAD_WORDS	64

struct ordering {
	gwake_t producer, consumer;
	atomic_int consumer_ready;
	long payload[PAYLOAD_WORDS];	/* written by the producer only before its wake */
	long acked;			/* written by the consumer only before its wake */
	int err;
};

static void *ordering_consumer(void *arg)
{
	struct ordering *o = arg;
	long round, i;
	int r;

	if (gwake_self(&o->consumer))
		return NULL;
	atomic_store(&o->consumer_ready, 1);
	for (round = 1; round <= ORDERING_ROUNDS; round++) {
		r = gwake_block(GWAKE_TEST_LONG_NS);
		if (r) {
			o->err = r;
			return NULL;
		}
		for (i = 0; i < PAYLOAD_WORDS; i++) {
			if (o->payload[i] != round * PAYLOAD_WORDS + i) {
				o->err = 1;
				return NULL;
			}
		}
		o->acked = round;
		if (gwake_wake(o->producer) < 0) {
			o->err = 2;
			return NULL;
		}
	}
	return NULL;
}

/* Each round is two real sleeps and wakes: ~1 ms under TCG. */
TEST_F_TIMEOUT(wake, memory_ordering, 120)
{
	struct ordering *o = calloc(1, sizeof(*o));
	int64_t t0 = gwake_test_now_ns();
	pthread_t t;
	long round, i;
	int r = 0;

	ASSERT_NE(NULL, o);
	ASSERT_EQ(0, gwake_self(&o->producer));
	ASSERT_EQ(0, pthread_create(&t, NULL, ordering_consumer, o));
	ASSERT_TRUE(gwake_test_wait_flag(&o->consumer_ready));
	for (round = 1; round <= ORDERING_ROUNDS; round++) {
		for (i = 0; i < PAYLOAD_WORDS; i++)
			o->payload[i] = round * PAYLOAD_WORDS + i;
		r = gwake_wake(o->consumer);
		if (r < 0)
			break;
		r = gwake_block(GWAKE_TEST_LONG_NS);
		if (r)
			break;
		if (o->acked != round) {
			r = 3;
			break;
		}
	}
	/* On an error the consumer ends too, at the latest when its block times out. */
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, r) TH_LOG("producer, round %ld: %d (3: a block returned before the ack)",
			       round, r);
	EXPECT_EQ(0, o->err) TH_LOG("consumer: %d (1: payload not visible after the block)",
				    o->err);
	TH_LOG("%d rounds in %.2f s", ORDERING_ROUNDS, (gwake_test_now_ns() - t0) / 1e9);
	free(o);
}

TEST_HARNESS_MAIN
