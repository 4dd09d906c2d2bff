// SPDX-License-Identifier: GPL-2.0
/*
 * Runtime channels (include/gwake/rt.h, lib/rt/chan.c): every operation and
 * error, close with blocked receivers and senders, then stress across Ps
 * with exact expected results. Both wake-word backends: Ms park on them.
 *
 * Where a test needs Gs to be blocked before it acts, it runs on one P:
 * a G announces the blocking call it is about to make, and the main G
 * yields until every G announced (rt_yield_until()), which on one P means
 * they made the call. Nothing is timed.
 */
#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_chan);

/* --- Bad input ---------------------------------------------------------- */

TEST_F(rt_chan, make_bad_args)
{
	struct grt_chan *c = NULL;

	EXPECT_EQ(-EINVAL, grt_chan_make(NULL, 4, 1));
	EXPECT_EQ(-EINVAL, grt_chan_make(&c, GRT_CHAN_ELEM_MAX + 1, 0));
	/* cap * elem_size overflows: refused, never a short buffer. */
	EXPECT_EQ(-EINVAL, grt_chan_make(&c, 16, SIZE_MAX / 8));
	EXPECT_EQ(NULL, c);
	/* Empty elements with a huge capacity need no buffer: fine. */
	ASSERT_EQ(0, grt_chan_make(&c, 0, SIZE_MAX / 8));
	EXPECT_EQ(SIZE_MAX / 8, grt_chan_cap(c));
	EXPECT_EQ(0, grt_chan_free(c));
	ASSERT_EQ(0, grt_chan_make(&c, GRT_CHAN_ELEM_MAX, 2));
	EXPECT_EQ(2, grt_chan_cap(c));
	EXPECT_EQ(0, grt_chan_len(c));
	EXPECT_EQ(0, grt_chan_free(c));
	EXPECT_EQ(0, grt_chan_free(NULL));
	EXPECT_EQ(0, grt_chan_len(NULL));
	EXPECT_EQ(0, grt_chan_cap(NULL));
}

static void null_channel_body(void *arg)
{
	int v = 1;

	(void)arg;
	RT_CHECK_EQ(-EINVAL, grt_chan_send(NULL, &v));
	RT_CHECK_EQ(-EINVAL, grt_chan_recv(NULL, &v));
	RT_CHECK_EQ(-EINVAL, grt_chan_try_send(NULL, &v));
	RT_CHECK_EQ(-EINVAL, grt_chan_try_recv(NULL, &v));
	RT_CHECK_EQ(-EINVAL, grt_chan_close(NULL));
}

/* A NULL channel is a caller's bug outside select: -EINVAL, never a hang. */
TEST_F(rt_chan, null_channel)
{
	RT_RUN(1, null_channel_body, NULL);
}

static void null_elem_body(void *arg)
{
	struct grt_chan *c = arg;

	RT_CHECK_EQ(-EINVAL, grt_chan_send(c, NULL));
	RT_CHECK_EQ(-EINVAL, grt_chan_try_send(c, NULL));
	RT_CHECK_EQ(0, grt_chan_len(c));
}

/* A send needs its element; nothing is queued on the error. */
TEST_F(rt_chan, send_null_elem)
{
	struct grt_chan *c;

	ASSERT_EQ(0, grt_chan_make(&c, sizeof(int), 1));
	RT_RUN(1, null_elem_body, c);
	EXPECT_EQ(0, grt_chan_free(c));
}

/*
 * Blocking operations outside a G: -EPERM, not a hang of the thread (a
 * thread cannot park). Non-blocking ones work from any thread.
 */
TEST_F(rt_chan, blocking_outside_g)
{
	struct grt_chan *c;
	int v = 7;

	ASSERT_EQ(0, grt_chan_make(&c, sizeof(int), 1));
	EXPECT_EQ(-EPERM, grt_chan_send(c, &v));
	EXPECT_EQ(-EPERM, grt_chan_recv(c, &v));
	EXPECT_EQ(-EAGAIN, grt_chan_try_recv(c, &v));
	EXPECT_EQ(0, grt_chan_try_send(c, &v));
	EXPECT_EQ(-EAGAIN, grt_chan_try_send(c, &v));
	v = 0;
	EXPECT_EQ(1, grt_chan_try_recv(c, &v));
	EXPECT_EQ(7, v);
	EXPECT_EQ(0, grt_chan_close(c));
	EXPECT_EQ(0, grt_chan_try_recv(c, &v));
	EXPECT_EQ(0, grt_chan_free(c));
}

/* --- Single operations -------------------------------------------------- */

static void buffered_body(void *arg)
{
	struct grt_chan *c = arg;
	int i, v;

	for (i = 0; i < 4; i++)
		RT_CHECK_EQ(0, grt_chan_try_send(c, &i));
	RT_CHECK_EQ(-EAGAIN, grt_chan_try_send(c, &i));
	RT_CHECK_EQ(4, grt_chan_len(c));
	/* Wrap the ring: take two, put two. */
	for (i = 0; i < 2; i++) {
		RT_CHECK_EQ(1, grt_chan_recv(c, &v));
		RT_CHECK_EQ(i, v);
	}
	for (i = 4; i < 6; i++)
		RT_CHECK_EQ(0, grt_chan_send(c, &i));
	for (i = 2; i < 6; i++) {
		RT_CHECK_EQ(1, grt_chan_try_recv(c, &v));
		RT_CHECK_EQ(i, v);
	}
	RT_CHECK_EQ(-EAGAIN, grt_chan_try_recv(c, &v));
	RT_CHECK_EQ(0, grt_chan_len(c));
}

/* A buffered channel is a FIFO ring of cap elements. */
TEST_F(rt_chan, buffered_fifo)
{
	struct grt_chan *c;

	ASSERT_EQ(0, grt_chan_make(&c, sizeof(int), 4));
	RT_RUN(1, buffered_body, c);
	EXPECT_EQ(0, grt_chan_free(c));
}

static void unbuffered_try_body(void *arg)
{
	struct grt_chan *c = arg;
	int v = 1;

	/* Nobody waits on the other side: both would block. */
	RT_CHECK_EQ(-EAGAIN, grt_chan_try_send(c, &v));
	RT_CHECK_EQ(-EAGAIN, grt_chan_try_recv(c, &v));
	RT_CHECK_EQ(0, grt_chan_len(c));
}

TEST_F(rt_chan, unbuffered_try_would_block)
{
	struct grt_chan *c;

	ASSERT_EQ(0, grt_chan_make(&c, sizeof(int), 0));
	RT_RUN(1, unbuffered_try_body, c);
	EXPECT_EQ(0, grt_chan_free(c));
}

static void close_body(void *arg)
{
	struct grt_chan *c = arg;
	int i, v;

	for (i = 1; i <= 2; i++)
		RT_CHECK_EQ(0, grt_chan_send(c, &i));
	RT_CHECK_EQ(0, grt_chan_close(c));
	RT_CHECK_EQ(-EPIPE, grt_chan_close(c));
	RT_CHECK_EQ(-EPIPE, grt_chan_send(c, &i));
	RT_CHECK_EQ(-EPIPE, grt_chan_try_send(c, &i));
	RT_CHECK_EQ(2, grt_chan_len(c));
	/* What was buffered before the close is still delivered... */
	for (i = 1; i <= 2; i++) {
		v = 0;
		RT_CHECK_EQ(1, grt_chan_recv(c, &v));
		RT_CHECK_EQ(i, v);
	}
	/* ...then "closed", with a zeroed element, every time. */
	v = -1;
	RT_CHECK_EQ(0, grt_chan_recv(c, &v));
	RT_CHECK_EQ(0, v);
	v = -1;
	RT_CHECK_EQ(0, grt_chan_try_recv(c, &v));
	RT_CHECK_EQ(0, v);
	RT_CHECK_EQ(0, grt_chan_recv(c, NULL));
}

TEST_F(rt_chan, close_semantics)
{
	struct grt_chan *c;

	ASSERT_EQ(0, grt_chan_make(&c, sizeof(int), 4));
	RT_RUN(1, close_body, c);
	EXPECT_EQ(0, grt_chan_free(c));
}

/* --- Blocked Gs and close ----------------------------------------------- */

#define NBLOCKED	8

struct blocked {
	struct grt_chan *c;
	atomic_int arrived, done;
	int ret[NBLOCKED];
	long long elem[NBLOCKED];
	atomic_int next;
};

static void blocked_receiver(void *arg)
{
	struct blocked *b = arg;
	int i = atomic_fetch_add(&b->next, 1);

	b->elem[i] = 0x5a5a5a5a5a5a5a5all;
	atomic_fetch_add(&b->arrived, 1);
	b->ret[i] = grt_chan_recv(b->c, &b->elem[i]);
	atomic_fetch_add(&b->done, 1);
}

static void blocked_sender(void *arg)
{
	struct blocked *b = arg;
	int i = atomic_fetch_add(&b->next, 1);

	b->elem[i] = 1000 + i;
	atomic_fetch_add(&b->arrived, 1);
	b->ret[i] = grt_chan_send(b->c, &b->elem[i]);
	atomic_fetch_add(&b->done, 1);
}

static void close_receivers_body(void *arg)
{
	struct blocked *b = arg;
	int i;

	for (i = 0; i < NBLOCKED; i++)
		RT_GO(blocked_receiver, b);
	RT_CHECK(rt_yield_until(&b->arrived, NBLOCKED));
	/* They are queued on the channel: it cannot be freed now. */
	RT_CHECK_EQ(-EBUSY, grt_chan_free(b->c));
	RT_CHECK_EQ(0, atomic_load(&b->done));
	RT_CHECK_EQ(0, grt_chan_close(b->c));
	RT_CHECK(rt_yield_until(&b->done, NBLOCKED));
	for (i = 0; i < NBLOCKED; i++) {
		RT_CHECK_EQ(0, b->ret[i]);
		RT_CHECK_EQ(0, b->elem[i]);
	}
}

/* Close wakes every blocked receiver with "closed" and a zeroed element. */
TEST_F(rt_chan, close_releases_receivers)
{
	static struct blocked b;

	ASSERT_EQ(0, grt_chan_make(&b.c, sizeof(long long), 0));
	RT_RUN(1, close_receivers_body, &b);
	EXPECT_EQ(0, grt_chan_free(b.c));
}

static void close_senders_body(void *arg)
{
	struct blocked *b = arg;
	long long v = -1;
	int i;

	/* Fill the one slot, so that every sender blocks. */
	RT_CHECK_EQ(0, grt_chan_send(b->c, &v));
	for (i = 0; i < NBLOCKED; i++)
		RT_GO(blocked_sender, b);
	RT_CHECK(rt_yield_until(&b->arrived, NBLOCKED));
	RT_CHECK_EQ(-EBUSY, grt_chan_free(b->c));
	RT_CHECK_EQ(0, atomic_load(&b->done));
	RT_CHECK_EQ(0, grt_chan_close(b->c));
	RT_CHECK(rt_yield_until(&b->done, NBLOCKED));
	for (i = 0; i < NBLOCKED; i++)
		RT_CHECK_EQ(-EPIPE, b->ret[i]);
	/* Only what was buffered before the close comes out. */
	RT_CHECK_EQ(1, grt_chan_recv(b->c, &v));
	RT_CHECK_EQ(-1, v);
	RT_CHECK_EQ(0, grt_chan_recv(b->c, &v));
}

/* Close fails every blocked sender with -EPIPE; their elements are lost
 * to nobody: none was delivered. */
TEST_F(rt_chan, close_releases_senders)
{
	static struct blocked b;

	ASSERT_EQ(0, grt_chan_make(&b.c, sizeof(long long), 1));
	RT_RUN(1, close_senders_body, &b);
	EXPECT_EQ(0, grt_chan_free(b.c));
}

/* --- Direct hand-off ---------------------------------------------------- */

#define BIG	4096

struct big_elem {
	uint32_t seq;
	unsigned char bytes[BIG - 4];
};

struct handoff {
	struct grt_chan *c;
	struct grt_waitgroup wg;
	int n;
};

static void fill(struct big_elem *e, uint32_t seq)
{
	e->seq = seq;
	memset(e->bytes, (int)(seq * 7 + 1) & 0xff, sizeof(e->bytes));
}

static void big_sender(void *arg)
{
	struct handoff *h = arg;
	struct big_elem e;
	int i;

	for (i = 0; i < h->n; i++) {
		fill(&e, (uint32_t)i);
		RT_CHECK_EQ(0, grt_chan_send(h->c, &e));
		/* The receiver has its own copy: scribbling is harmless. */
		memset(&e, 0xee, sizeof(e));
	}
	grt_waitgroup_done(&h->wg);
}

static void big_body(void *arg)
{
	struct handoff *h = arg;
	struct big_elem e, want;
	int i;

	grt_waitgroup_add(&h->wg, 1);
	RT_GO(big_sender, h);
	for (i = 0; i < h->n; i++) {
		RT_CHECK_EQ(1, grt_chan_recv(h->c, &e));
		fill(&want, (uint32_t)i);
		RT_CHECK(!memcmp(&e, &want, sizeof(e)));
	}
	grt_waitgroup_wait(&h->wg);
}

/*
 * 4 KiB elements through an unbuffered channel between two Ps: every one
 * is copied straight between the two Gs' stacks, intact and in order.
 */
TEST_F(rt_chan, big_elements_across_ps)
{
	static struct handoff h = { .n = 5000 };

	ASSERT_EQ(0, grt_chan_make(&h.c, sizeof(struct big_elem), 0));
	RT_RUN(2, big_body, &h);
	EXPECT_EQ(0, grt_chan_free(h.c));
}

struct order {
	struct grt_chan *c;
	atomic_int sent;
};

static void order_sender(void *arg)
{
	struct order *o = arg;
	int i;

	for (i = 0; i < 20; i++) {
		RT_CHECK_EQ(0, grt_chan_send(o->c, &i));
		atomic_store(&o->sent, i + 1);
	}
}

static void order_body(void *arg)
{
	struct order *o = arg;
	int i, v;

	RT_GO(order_sender, o);
	for (i = 0; i < 20; i++) {
		/* Let the sender fill the ring and block on it. */
		grt_yield();
		grt_yield();
		RT_CHECK_EQ(1, grt_chan_recv(o->c, &v));
		RT_CHECK_EQ(i, v);
	}
}

/*
 * A receive from a full ring with a sender blocked takes the oldest
 * element and moves the sender's into the freed slot: FIFO holds.
 */
TEST_F(rt_chan, full_ring_with_blocked_sender_keeps_order)
{
	static struct order o;

	ASSERT_EQ(0, grt_chan_make(&o.c, sizeof(int), 3));
	RT_RUN(1, order_body, &o);
	EXPECT_EQ(20, o.sent);
	EXPECT_EQ(0, grt_chan_free(o.c));
}

struct events {
	struct grt_chan *c;
	int n;
};

static void event_sender(void *arg)
{
	struct events *e = arg;
	int i;

	for (i = 0; i < e->n; i++)
		RT_CHECK_EQ(0, grt_chan_send(e->c, NULL));
	RT_CHECK_EQ(0, grt_chan_close(e->c));
}

static void events_body(void *arg)
{
	struct events *e = arg;
	int got = 0, r;

	RT_GO(event_sender, e);
	while ((r = grt_chan_recv(e->c, NULL)) == 1)
		got++;
	RT_CHECK_EQ(0, r);
	RT_CHECK_EQ(e->n, got);
}

/* Empty elements (Go's chan struct{}) and receives that discard. */
TEST_F(rt_chan, empty_elements)
{
	static struct events e = { .n = 1000 };

	ASSERT_EQ(0, grt_chan_make(&e.c, 0, 0));
	RT_RUN(2, events_body, &e);
	EXPECT_EQ(0, grt_chan_free(e.c));
}

/* --- A G without a P ---------------------------------------------------- */

#define DETACH_ROUNDS	10

struct preempted {
	struct grt_chan *c;
	struct grt_waitgroup wg;
	atomic_int received;
};

/*
 * Leaves its P in a blocking system call (the monitor hands the P to the
 * waiting hammers), then, still between grt_syscall_enter() and
 * grt_syscall_exit(), blocks in a receive: grt_* calls are allowed there
 * and must take a P back first. A preempted G (the monitor's signal
 * detaches a G that runs too long) is in the same state.
 */
static void detached_recv(void *arg)
{
	struct preempted *pr = arg;
	int i, v;

	for (i = 0; i < DETACH_ROUNDS; i++) {
		v = 0;
		grt_syscall_enter();
		usleep(2000);
		RT_CHECK_EQ(1, grt_chan_recv(pr->c, &v));
		grt_syscall_exit();
		RT_CHECK_EQ(7, v);
		atomic_fetch_add(&pr->received, 1);
	}
	grt_waitgroup_done(&pr->wg);
}

/* Keep every P busy taking the channel's lock until the receives are done. */
static void hammer(void *arg)
{
	struct preempted *pr = arg;
	int v = 7;

	while (atomic_load(&pr->received) < DETACH_ROUNDS) {
		grt_chan_try_send(pr->c, &v);
		grt_yield();
	}
	grt_waitgroup_done(&pr->wg);
}

#define HAMMERS		3

static void preempted_body(void *arg)
{
	struct preempted *pr = arg;
	int i;

	RT_CHECK_EQ(0, grt_waitgroup_add(&pr->wg, 1 + HAMMERS));
	RT_GO(detached_recv, pr);
	for (i = 0; i < HAMMERS; i++)
		RT_GO(hammer, pr);
	grt_waitgroup_wait(&pr->wg);
	RT_CHECK_EQ(DETACH_ROUNDS, atomic_load(&pr->received));
}

/*
 * A G detached from its P blocks on a channel while every P is busy with
 * Gs taking that channel's lock: it must get a P back before it takes the
 * lock. Had it taken the lock detached, it would queue for a P at its park
 * with the lock still held, and the Ms with Ps would sleep on the lock for
 * ever.
 */
TEST_F(rt_chan, detached_lock_holder)
{
	/*
	 * Without the preemption signal: it would detach a hammer spinning
	 * on the lock after 10 ms and so rescue such a holder, hiding the
	 * bug as a stall.
	 */
	struct grt_config cfg = { .nprocs = 2, .preempt_signal = -1 };
	static struct preempted pr;

	ASSERT_EQ(0, grt_chan_make(&pr.c, sizeof(int), 0));
	RT_RUN_CFG(&cfg, preempted_body, &pr);
	EXPECT_EQ(0, grt_chan_free(pr.c));
}

/* --- Stress, exact results ---------------------------------------------- */

#define PAIRS		4
#define ROUNDS		20000

struct pingpong {
	struct grt_chan *ping[PAIRS], *pong[PAIRS];
	struct grt_waitgroup wg;
	atomic_int pings, pongs;
};

static void ponger(void *arg)
{
	struct pingpong *pp = arg;
	int i = atomic_fetch_add(&pp->pongs, 1);
	long v;

	while (grt_chan_recv(pp->ping[i], &v) == 1) {
		v = v * 2 + 1;
		if (grt_chan_send(pp->pong[i], &v))
			break;
	}
	grt_waitgroup_done(&pp->wg);
}

static void pinger(void *arg)
{
	struct pingpong *pp = arg;
	int i = atomic_fetch_add(&pp->pings, 1), r;
	long v, w;

	for (r = 0; r < ROUNDS; r++) {
		v = r + i;
		RT_CHECK_EQ(0, grt_chan_send(pp->ping[i], &v));
		RT_CHECK_EQ(1, grt_chan_recv(pp->pong[i], &w));
		RT_CHECK_EQ(2 * v + 1, w);
	}
	RT_CHECK_EQ(0, grt_chan_close(pp->ping[i]));
	grt_waitgroup_done(&pp->wg);
}

static void pingpong_body(void *arg)
{
	struct pingpong *pp = arg;
	int i;

	grt_waitgroup_add(&pp->wg, 2 * PAIRS);
	for (i = 0; i < PAIRS; i++)
		RT_GO(pinger, pp);
	for (i = 0; i < PAIRS; i++)
		RT_GO(ponger, pp);
	grt_waitgroup_wait(&pp->wg);
}

/* Pairs of Gs ping-pong over unbuffered channels on two Ps. */
TEST_F(rt_chan, pingpong_across_ps)
{
	static struct pingpong pp;
	int i;

	for (i = 0; i < PAIRS; i++) {
		ASSERT_EQ(0, grt_chan_make(&pp.ping[i], sizeof(long), 0));
		ASSERT_EQ(0, grt_chan_make(&pp.pong[i], sizeof(long), 0));
	}
	RT_RUN(2, pingpong_body, &pp);
	for (i = 0; i < PAIRS; i++) {
		EXPECT_EQ(0, grt_chan_free(pp.ping[i]));
		EXPECT_EQ(0, grt_chan_free(pp.pong[i]));
	}
}

#define PRODUCERS	6
#define CONSUMERS	5
#define PER_PRODUCER	10000

struct mpmc {
	struct grt_chan *c;
	struct grt_waitgroup producers, consumers;
	atomic_int pnext, cnext;
	long long sum[CONSUMERS];
	long count[CONSUMERS];
};

static void producer(void *arg)
{
	struct mpmc *m = arg;
	long long id = atomic_fetch_add(&m->pnext, 1), v;
	int i;

	for (i = 1; i <= PER_PRODUCER; i++) {
		v = id * 1000000 + i;
		RT_CHECK_EQ(0, grt_chan_send(m->c, &v));
	}
	grt_waitgroup_done(&m->producers);
}

static void consumer(void *arg)
{
	struct mpmc *m = arg;
	int id = atomic_fetch_add(&m->cnext, 1);
	long long v;

	/* Plain writes: published to the main G by the wait group. */
	while (grt_chan_recv(m->c, &v) == 1) {
		m->sum[id] += v;
		m->count[id]++;
	}
	grt_waitgroup_done(&m->consumers);
}

static void mpmc_run(void *arg)
{
	struct mpmc *m = arg;
	long long sum = 0, want = 0;
	long count = 0;
	int i;

	grt_waitgroup_add(&m->producers, PRODUCERS);
	grt_waitgroup_add(&m->consumers, CONSUMERS);
	for (i = 0; i < PRODUCERS; i++)
		RT_GO(producer, m);
	for (i = 0; i < CONSUMERS; i++)
		RT_GO(consumer, m);
	grt_waitgroup_wait(&m->producers);
	RT_CHECK_EQ(0, grt_chan_close(m->c));
	grt_waitgroup_wait(&m->consumers);
	for (i = 0; i < CONSUMERS; i++) {
		sum += m->sum[i];
		count += m->count[i];
	}
	for (i = 0; i < PRODUCERS; i++)
		want += (long long)i * 1000000 * PER_PRODUCER +
			(long long)PER_PRODUCER * (PER_PRODUCER + 1) / 2;
	RT_CHECK_EQ(PRODUCERS * PER_PRODUCER, count);
	RT_CHECK_EQ(want, sum);
}

/*
 * Many producers and consumers on one channel, buffered and not: every
 * element arrives exactly once (count and sum), close ends the consumers.
 */
TEST_F(rt_chan, mpmc_buffered)
{
	static struct mpmc m;

	ASSERT_EQ(0, grt_chan_make(&m.c, sizeof(long long), 16));
	RT_RUN(2, mpmc_run, &m);
	EXPECT_EQ(0, grt_chan_free(m.c));
}

TEST_F(rt_chan, mpmc_unbuffered)
{
	static struct mpmc m;

	ASSERT_EQ(0, grt_chan_make(&m.c, sizeof(long long), 0));
	RT_RUN(2, mpmc_run, &m);
	EXPECT_EQ(0, grt_chan_free(m.c));
}

TEST_HARNESS_MAIN
