// SPDX-License-Identifier: GPL-2.0
/*
 * grt_select() (include/gwake/rt.h, lib/rt/select.c): bad input, each kind
 * of ready case, fairness, a blocked select woken by a send, a receive or a
 * close -- and leaving no waiter behind on the channels that did not win --
 * then stress with many Gs selecting over many channels, exact sums.
 */
#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_select);

#define RECV(ch, p)	{ .chan = (ch), .elem = (p), .dir = GRT_SELECT_RECV }
#define SEND(ch, p)	{ .chan = (ch), .elem = (p), .dir = GRT_SELECT_SEND }

/* --- Bad input ---------------------------------------------------------- */

static void bad_args_body(void *arg)
{
	struct grt_chan *c = arg;
	struct grt_select_case k[2] = { RECV(c, NULL), RECV(c, NULL) };
	bool ok = true;

	RT_CHECK_EQ(-EINVAL, grt_select(NULL, 1, 0, &ok));
	RT_CHECK_EQ(-EINVAL, grt_select(k, 1, 0x2, &ok));
	RT_CHECK_EQ(-EINVAL, grt_select(k, GRT_SELECT_MAX + 1, 0, &ok));
	k[1].dir = 0;
	RT_CHECK_EQ(-EINVAL, grt_select(k, 2, GRT_SELECT_NONBLOCK, &ok));
	/* A bad direction is refused even on a disabled case. */
	k[1].chan = NULL;
	RT_CHECK_EQ(-EINVAL, grt_select(k, 2, GRT_SELECT_NONBLOCK, &ok));
	/* A send needs its element. */
	k[1] = (struct grt_select_case)SEND(c, NULL);
	RT_CHECK_EQ(-EINVAL, grt_select(k, 2, GRT_SELECT_NONBLOCK, &ok));
	/* Nothing was sent or received by any of these. */
	RT_CHECK_EQ(0, grt_chan_len(c));
	RT_CHECK(ok);
}

TEST_F(rt_select, bad_args)
{
	struct grt_chan *c;

	ASSERT_EQ(0, grt_chan_make(&c, sizeof(int), 1));
	RT_RUN(1, bad_args_body, c);
	EXPECT_EQ(0, grt_chan_free(c));
}

static void nothing_ready_body(void *arg)
{
	struct grt_chan **c = arg;
	int v = 1;
	struct grt_select_case k[3] = {
		RECV(c[0], &v), SEND(c[1], &v), RECV(NULL, &v),
	};
	struct grt_select_case none[2] = { RECV(NULL, &v), SEND(NULL, &v) };

	/* c[0] empty, c[1] unbuffered with no receiver: Go's default. */
	RT_CHECK_EQ(-EAGAIN, grt_select(k, 3, GRT_SELECT_NONBLOCK, NULL));
	RT_CHECK_EQ(-EAGAIN, grt_select(none, 2, GRT_SELECT_NONBLOCK, NULL));
	RT_CHECK_EQ(-EAGAIN, grt_select(NULL, 0, GRT_SELECT_NONBLOCK, NULL));
	RT_CHECK_EQ(0, grt_chan_len(c[0]));
}

TEST_F(rt_select, nonblock_nothing_ready)
{
	struct grt_chan *c[2];

	ASSERT_EQ(0, grt_chan_make(&c[0], sizeof(int), 2));
	ASSERT_EQ(0, grt_chan_make(&c[1], sizeof(int), 0));
	RT_RUN(1, nothing_ready_body, c);
	EXPECT_EQ(0, grt_chan_free(c[0]));
	EXPECT_EQ(0, grt_chan_free(c[1]));
}

/* Would block outside a G: -EPERM; non-blocking is fine anywhere. */
TEST_F(rt_select, blocking_outside_g)
{
	struct grt_chan *c;
	int v = 3, w = 0;
	struct grt_select_case k[1] = { RECV(NULL, &w) };
	bool ok = false;

	ASSERT_EQ(0, grt_chan_make(&c, sizeof(int), 1));
	k[0].chan = c;
	EXPECT_EQ(-EPERM, grt_select(k, 1, 0, &ok));
	EXPECT_EQ(-EAGAIN, grt_select(k, 1, GRT_SELECT_NONBLOCK, &ok));
	ASSERT_EQ(0, grt_chan_try_send(c, &v));
	EXPECT_EQ(0, grt_select(k, 1, GRT_SELECT_NONBLOCK, &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(3, w);
	EXPECT_EQ(0, grt_chan_free(c));
}

/* --- Ready cases -------------------------------------------------------- */

static void ready_body(void *arg)
{
	struct grt_chan **c = arg;
	int in = 0, out = 42, v = 5;
	struct grt_select_case k[3] = {
		RECV(c[0], &in), RECV(c[1], &in), SEND(c[2], &out),
	};
	bool ok = false;

	/* Only c[1] has an element: its case is chosen. */
	RT_CHECK_EQ(0, grt_chan_send(c[1], &v));
	k[2].chan = NULL;
	RT_CHECK_EQ(1, grt_select(k, 3, 0, &ok));
	RT_CHECK(ok);
	RT_CHECK_EQ(5, in);
	/* Only the send case can proceed (room in c[2]). */
	k[2].chan = c[2];
	ok = false;
	RT_CHECK_EQ(2, grt_select(k, 3, 0, &ok));
	RT_CHECK(ok);
	RT_CHECK_EQ(1, grt_chan_try_recv(c[2], &v));
	RT_CHECK_EQ(42, v);
}

TEST_F(rt_select, ready_cases)
{
	struct grt_chan *c[3];
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, grt_chan_make(&c[i], sizeof(int), 1));
	RT_RUN(1, ready_body, c);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, grt_chan_free(c[i]));
}

static void closed_body(void *arg)
{
	struct grt_chan **c = arg;
	int in = -1, out = 9, v;
	struct grt_select_case r[2] = { RECV(c[0], &in), RECV(NULL, &in) };
	struct grt_select_case s[2] = { SEND(NULL, &out), SEND(c[1], &out) };
	bool ok = true;

	RT_CHECK_EQ(0, grt_chan_close(c[0]));
	RT_CHECK_EQ(0, grt_chan_close(c[1]));
	/* A closed channel is ready for receiving: ok false, zeroed. */
	RT_CHECK_EQ(0, grt_select(r, 2, 0, &ok));
	RT_CHECK(!ok);
	RT_CHECK_EQ(0, in);
	/* And "ready" for sending: chosen, ok false, nothing delivered. */
	ok = true;
	RT_CHECK_EQ(1, grt_select(s, 2, GRT_SELECT_NONBLOCK, &ok));
	RT_CHECK(!ok);
	RT_CHECK_EQ(0, grt_chan_len(c[1]));
	RT_CHECK_EQ(0, grt_chan_recv(c[1], &v));
}

TEST_F(rt_select, closed_cases)
{
	struct grt_chan *c[2];

	ASSERT_EQ(0, grt_chan_make(&c[0], sizeof(int), 0));
	ASSERT_EQ(0, grt_chan_make(&c[1], sizeof(int), 4));
	RT_RUN(1, closed_body, c);
	EXPECT_EQ(0, grt_chan_free(c[0]));
	EXPECT_EQ(0, grt_chan_free(c[1]));
}

#define FAIR_ROUNDS	6000
#define FAIR_CASES	3

static void fair_body(void *arg)
{
	struct grt_chan **c = arg;
	int hits[FAIR_CASES] = { 0 }, v = 0, i, r;
	struct grt_select_case k[FAIR_CASES];

	for (i = 0; i < FAIR_CASES; i++) {
		k[i] = (struct grt_select_case)RECV(c[i], &v);
		RT_CHECK_EQ(0, grt_chan_send(c[i], &i));
	}
	for (r = 0; r < FAIR_ROUNDS; r++) {
		i = grt_select(k, FAIR_CASES, 0, NULL);
		if (i < 0 || i >= FAIR_CASES) {
			RT_CHECK_EQ(0, i);
			return;
		}
		hits[i]++;
		RT_CHECK_EQ(i, v);
		/* Refill: every case stays ready. */
		RT_CHECK_EQ(0, grt_chan_send(c[i], &i));
	}
	/*
	 * Uniform choice gives 2000 each, standard deviation 37: a window of
	 * +-500 fails only for a biased choice (always the first ready case,
	 * or a fixed order), never by chance.
	 */
	for (i = 0; i < FAIR_CASES; i++)
		if (hits[i] < FAIR_ROUNDS / FAIR_CASES - 500 ||
		    hits[i] > FAIR_ROUNDS / FAIR_CASES + 500)
			rt_check_fail(__FILE__, __LINE__,
				      "case %d chosen %d times of %d", i,
				      hits[i], FAIR_ROUNDS);
}

/* When several cases are ready, each is chosen about equally often. */
TEST_F(rt_select, fair_choice)
{
	struct grt_chan *c[FAIR_CASES];
	int i;

	for (i = 0; i < FAIR_CASES; i++)
		ASSERT_EQ(0, grt_chan_make(&c[i], sizeof(int), 1));
	RT_RUN(1, fair_body, c);
	for (i = 0; i < FAIR_CASES; i++)
		EXPECT_EQ(0, grt_chan_free(c[i]));
}

/* --- Blocking ----------------------------------------------------------- */

#define NCH	3

struct sel {
	struct grt_chan *c[64];
	int n;
	atomic_int arrived, done;
	int ret, val;
	bool ok;
	int dir;
};

static void selector(void *arg)
{
	struct sel *s = arg;
	struct grt_select_case k[64];
	int i;

	s->val = -1;
	for (i = 0; i < s->n; i++)
		k[i] = (struct grt_select_case){
			.chan = s->c[i], .elem = &s->val, .dir = s->dir };
	if (s->dir == GRT_SELECT_SEND)
		s->val = 77;
	atomic_fetch_add(&s->arrived, 1);
	s->ret = grt_select(k, s->n, 0, &s->ok);
	atomic_fetch_add(&s->done, 1);
}

/*
 * No waiter of a finished select may be left on the channels it did not
 * choose: it would point into a stack frame that is gone. Such a channel
 * cannot be freed (-EBUSY); a clean one can, and is NULL afterwards.
 */
static void free_losers(struct sel *s, int winner)
{
	int i;

	for (i = 0; i < s->n; i++) {
		if (i == winner)
			continue;
		RT_CHECK_EQ(0, grt_chan_free(s->c[i]));
		s->c[i] = NULL;
	}
}

static void woken_by_send_body(void *arg)
{
	struct sel *s = arg;
	int v = 123, i;

	RT_GO(selector, s);
	RT_CHECK(rt_yield_until(&s->arrived, 1));
	/* Blocked, with a waiter on every channel. */
	for (i = 0; i < s->n; i++)
		RT_CHECK_EQ(-EBUSY, grt_chan_free(s->c[i]));
	RT_CHECK_EQ(0, grt_chan_send(s->c[1], &v));
	RT_CHECK(rt_yield_until(&s->done, 1));
	RT_CHECK_EQ(1, s->ret);
	RT_CHECK(s->ok);
	RT_CHECK_EQ(123, s->val);
	RT_CHECK_EQ(-EAGAIN, grt_chan_try_send(s->c[1], &v));
	free_losers(s, 1);
}

/*
 * A select blocked on unbuffered channels is completed by a sender on one
 * of them, which copies straight into the select's element; the waiters
 * on the other channels are gone afterwards.
 */
TEST_F(rt_select, blocked_woken_by_send)
{
	static struct sel s = { .n = NCH, .dir = GRT_SELECT_RECV };
	int i;

	for (i = 0; i < s.n; i++)
		ASSERT_EQ(0, grt_chan_make(&s.c[i], sizeof(int), 0));
	RT_RUN(1, woken_by_send_body, &s);
	for (i = 0; i < s.n; i++)
		EXPECT_EQ(0, grt_chan_free(s.c[i]));
}

static void woken_by_recv_body(void *arg)
{
	struct sel *s = arg;
	int v = 0;

	RT_GO(selector, s);
	RT_CHECK(rt_yield_until(&s->arrived, 1));
	RT_CHECK_EQ(1, grt_chan_recv(s->c[2], &v));
	RT_CHECK_EQ(77, v);
	RT_CHECK(rt_yield_until(&s->done, 1));
	RT_CHECK_EQ(2, s->ret);
	RT_CHECK(s->ok);
	RT_CHECK_EQ(-EAGAIN, grt_chan_try_recv(s->c[2], &v));
	free_losers(s, 2);
}

/* The same with send cases, completed by a receiver. */
TEST_F(rt_select, blocked_woken_by_recv)
{
	static struct sel s = { .n = NCH, .dir = GRT_SELECT_SEND };
	int i;

	for (i = 0; i < s.n; i++)
		ASSERT_EQ(0, grt_chan_make(&s.c[i], sizeof(int), 0));
	RT_RUN(1, woken_by_recv_body, &s);
	for (i = 0; i < s.n; i++)
		EXPECT_EQ(0, grt_chan_free(s.c[i]));
}

static void woken_by_close_body(void *arg)
{
	struct sel *s = arg;

	RT_GO(selector, s);
	RT_CHECK(rt_yield_until(&s->arrived, 1));
	RT_CHECK_EQ(0, grt_chan_close(s->c[0]));
	RT_CHECK(rt_yield_until(&s->done, 1));
	RT_CHECK_EQ(0, s->ret);
	RT_CHECK(!s->ok);
	RT_CHECK_EQ(0, s->val);
	free_losers(s, 0);
}

/* A close completes a blocked select with ok == false, zeroed element. */
TEST_F(rt_select, blocked_woken_by_close)
{
	static struct sel s = { .n = NCH, .dir = GRT_SELECT_RECV };
	int i;

	for (i = 0; i < s.n; i++)
		ASSERT_EQ(0, grt_chan_make(&s.c[i], sizeof(int), 0));
	RT_RUN(1, woken_by_close_body, &s);
	for (i = 0; i < s.n; i++)
		EXPECT_EQ(0, grt_chan_free(s.c[i]));
}

static void many_body(void *arg)
{
	struct sel *s = arg;
	int v = 4242;

	RT_GO(selector, s);
	RT_CHECK(rt_yield_until(&s->arrived, 1));
	RT_CHECK_EQ(0, grt_chan_send(s->c[37], &v));
	RT_CHECK(rt_yield_until(&s->done, 1));
	RT_CHECK_EQ(37, s->ret);
	RT_CHECK_EQ(4242, s->val);
	free_losers(s, 37);
}

/* More cases than fit on the stack (the select's state goes to the heap). */
TEST_F(rt_select, many_cases)
{
	static struct sel s = { .n = 64, .dir = GRT_SELECT_RECV };
	int i;

	for (i = 0; i < s.n; i++)
		ASSERT_EQ(0, grt_chan_make(&s.c[i], sizeof(int), 0));
	RT_RUN(1, many_body, &s);
	for (i = 0; i < s.n; i++)
		EXPECT_EQ(0, grt_chan_free(s.c[i]));
}

static void same_chan_body(void *arg)
{
	struct sel *s = arg;
	int in = 0, out = 5, v = 6, i;
	struct grt_chan *other;
	/* The same channel three times: locked once, never deadlocks. */
	struct grt_select_case k[3] = {
		RECV(s->c[0], &in), SEND(s->c[0], &out), RECV(s->c[0], &in),
	};

	/* Empty ring with room: only the send case can proceed. */
	RT_CHECK_EQ(1, grt_select(k, 3, 0, NULL));
	/* Full ring: only the receive cases. */
	i = grt_select(k, 3, 0, NULL);
	RT_CHECK(i == 0 || i == 2);
	RT_CHECK_EQ(5, in);
	/* Not next to each other in the cases: still locked once. */
	RT_CHECK_EQ(0, grt_chan_make(&other, sizeof(int), 0));
	k[1] = (struct grt_select_case)RECV(other, &in);
	RT_CHECK_EQ(-EAGAIN, grt_select(k, 3, GRT_SELECT_NONBLOCK, NULL));
	k[1] = (struct grt_select_case)SEND(s->c[0], &out);
	RT_CHECK_EQ(0, grt_chan_free(other));
	/* Blocked on two receive cases of one channel: one send wakes it. */
	s->c[1] = s->c[2] = s->c[0];
	s->n = 3;
	RT_GO(selector, s);
	RT_CHECK(rt_yield_until(&s->arrived, 1));
	RT_CHECK_EQ(0, grt_chan_send(s->c[0], &v));
	RT_CHECK(rt_yield_until(&s->done, 1));
	RT_CHECK(s->ret >= 0 && s->ret < 3);
	RT_CHECK_EQ(6, s->val);
	RT_CHECK_EQ(0, grt_chan_len(s->c[0]));
}

TEST_F(rt_select, same_channel_twice)
{
	static struct sel s = { .dir = GRT_SELECT_RECV };

	ASSERT_EQ(0, grt_chan_make(&s.c[0], sizeof(int), 1));
	RT_RUN(1, same_chan_body, &s);
	EXPECT_EQ(0, grt_chan_free(s.c[0]));
}

/*
 * Go's TestPseudoRandomSend: a blocking select with two send cases on one
 * channel must deliver both values, pseudo-randomly. Unbuffered, the
 * select has to wait for the receiver every time, so both waiters sit on
 * the one send queue and the order they were queued in decides: a fixed
 * order starves one case (100 zeros out of 100). Buffered, a case is ready
 * at once and pollorder decides.
 */
#define PRS_N	100

struct prs {
	struct grt_chan *c;
	struct grt_waitgroup wg;
	int got[PRS_N];
};

static void prs_receiver(void *arg)
{
	struct prs *p = arg;
	int i;

	for (i = 0; i < PRS_N; i++) {
		grt_yield();
		RT_CHECK_EQ(1, grt_chan_recv(p->c, &p->got[i]));
	}
	grt_waitgroup_done(&p->wg);
}

static void prs_body(void *arg)
{
	struct prs *p = arg;
	int one = 1, zero = 0, i, n0 = 0, n1 = 0;
	struct grt_select_case k[2] = { SEND(p->c, &one), SEND(p->c, &zero) };

	RT_CHECK_EQ(0, grt_waitgroup_add(&p->wg, 1));
	RT_GO(prs_receiver, p);
	for (i = 0; i < PRS_N; i++) {
		int r = grt_select(k, 2, 0, NULL);

		RT_CHECK(r == 0 || r == 1);
	}
	grt_waitgroup_wait(&p->wg);
	for (i = 0; i < PRS_N; i++) {
		n0 += p->got[i] == 0;
		n1 += p->got[i] == 1;
	}
	RT_CHECK_EQ(PRS_N, n0 + n1);
	if (n0 <= PRS_N / 10 || n1 <= PRS_N / 10)
		rt_check_fail(__FILE__, __LINE__,
			      "want pseudo-random, got %d zeros and %d ones (cap %zu)",
			      n0, n1, grt_chan_cap(p->c));
}

TEST_F(rt_select, pseudo_random_send)
{
	static const size_t caps[] = { 0, PRS_N };
	static struct prs p;
	int np;
	size_t i;

	for (np = 1; np <= 2; np++) {
		for (i = 0; i < ARRAY_SIZE(caps); i++) {
			memset(&p, 0, sizeof(p));
			ASSERT_EQ(0, grt_chan_make(&p.c, sizeof(int), caps[i]));
			RT_RUN(np, prs_body, &p);
			EXPECT_EQ(0, grt_chan_free(p.c));
		}
	}
}

/*
 * A send completes a blocked select's receive case, and the sender frees
 * both channels at once: nobody is blocked on either any more, so rt.h
 * allows it, although the select's G, readied but not yet running (one
 * P), will still lock both again to unlink its other waiter. The
 * channels must stay valid until it has (ASan reports the use after free
 * otherwise), and the select must still return what it received.
 */
#define FREE_ROUNDS	200

static void free_after_body(void *arg)
{
	struct sel *s = arg;
	int round, v;

	for (round = 0; round < FREE_ROUNDS; round++) {
		RT_CHECK_EQ(0, grt_chan_make(&s->c[0], sizeof(int), 0));
		RT_CHECK_EQ(0, grt_chan_make(&s->c[1], sizeof(int), 0));
		atomic_store(&s->arrived, 0);
		atomic_store(&s->done, 0);
		RT_GO(selector, s);
		RT_CHECK(rt_yield_until(&s->arrived, 1));
		/*
		 * An unbuffered try-send succeeds only into a blocked
		 * receiver: once it does, the select was blocked (with two
		 * Ps it may still have been on its way) and is completed.
		 */
		v = round;
		while (grt_chan_try_send(s->c[round & 1], &v) == -EAGAIN)
			grt_yield();
		RT_CHECK_EQ(0, grt_chan_free(s->c[0]));
		RT_CHECK_EQ(0, grt_chan_free(s->c[1]));
		RT_CHECK(rt_yield_until(&s->done, 1));
		RT_CHECK_EQ(round & 1, s->ret);
		RT_CHECK(s->ok);
		RT_CHECK_EQ(round, s->val);
	}
}

TEST_F(rt_select, free_right_after_completion)
{
	static struct sel s = { .n = 2, .dir = GRT_SELECT_RECV };

	RT_RUN(1, free_after_body, &s);
	RT_RUN(2, free_after_body, &s);
}

#define ORDER_ROUNDS	100000

struct order {
	struct grt_chan *a, *b;
	struct grt_waitgroup wg;
	atomic_int next;
	long sent[2], got[2];
};

/*
 * Two Gs select over the same two channels, named in opposite orders;
 * each sends on whichever has room and takes from whichever has data.
 * Taking the locks in case order instead of address order deadlocks
 * (one holds a and wants b, the other the reverse) within a few rounds.
 */
static void opposite(void *arg)
{
	struct order *o = arg;
	int me = atomic_fetch_add(&o->next, 1), r, i;
	struct grt_chan *x = me ? o->b : o->a, *y = me ? o->a : o->b;
	int out = 1, in;
	struct grt_select_case k[4] = {
		SEND(x, &out), RECV(y, &in), SEND(y, &out), RECV(x, &in),
	};

	for (i = 0; i < ORDER_ROUNDS; i++) {
		r = grt_select(k, 4, GRT_SELECT_NONBLOCK, NULL);
		if (r == 0 || r == 2)
			o->sent[me]++;
		else if (r == 1 || r == 3)
			o->got[me]++;
	}
	grt_waitgroup_done(&o->wg);
}

static void order_body(void *arg)
{
	struct order *o = arg;
	long left = 0;
	int v;

	RT_CHECK_EQ(0, grt_waitgroup_add(&o->wg, 2));
	RT_GO(opposite, o);
	RT_GO(opposite, o);
	grt_waitgroup_wait(&o->wg);
	while (grt_chan_try_recv(o->a, &v) == 1 ||
	       grt_chan_try_recv(o->b, &v) == 1)
		left++;
	/* Nothing created or lost on the way. */
	RT_CHECK_EQ(o->sent[0] + o->sent[1], o->got[0] + o->got[1] + left);
}

TEST_F(rt_select, lock_order)
{
	static struct order o;

	ASSERT_EQ(0, grt_chan_make(&o.a, sizeof(int), 2));
	ASSERT_EQ(0, grt_chan_make(&o.b, sizeof(int), 2));
	RT_RUN(2, order_body, &o);
	EXPECT_EQ(0, grt_chan_free(o.a));
	EXPECT_EQ(0, grt_chan_free(o.b));
}

/* --- Stress, exact results ---------------------------------------------- */

#define SCHANS		6
#define SPRODUCERS	6
#define SCONSUMERS	6
#define SPER		6000

struct storm {
	struct grt_chan *c[SCHANS];
	struct grt_chan *quit;
	struct grt_waitgroup consumers;
	atomic_int pnext, cnext;
	/* Elements consumed so far: the last one closes quit. */
	atomic_long consumed;
	long long sum[SCONSUMERS];
	long count[SCONSUMERS];
};

#define STOTAL		((long)SPRODUCERS * SPER)

/* Producers select over a send case on every channel. */
static void storm_producer(void *arg)
{
	struct storm *st = arg;
	long long id = atomic_fetch_add(&st->pnext, 1), v;
	struct grt_select_case k[SCHANS];
	bool ok;
	int i, r;

	for (i = 0; i < SCHANS; i++)
		k[i] = (struct grt_select_case)SEND(st->c[i], &v);
	for (i = 1; i <= SPER; i++) {
		v = id * 1000000 + i;
		r = grt_select(k, SCHANS, 0, &ok);
		RT_CHECK(r >= 0 && r < SCHANS && ok);
	}
}

static void storm_consumed(struct storm *st, int id, long long v)
{
	st->sum[id] += v;
	st->count[id]++;
	/*
	 * Once every element is consumed, none is left in a ring, a waiter
	 * or a consumer's hands: no consumer can be blocked forwarding one,
	 * so they all see quit closed.
	 */
	if (atomic_fetch_add(&st->consumed, 1) + 1 == STOTAL)
		RT_CHECK_EQ(0, grt_chan_close(st->quit));
}

/*
 * Consumers select over a receive case on every channel and the quit
 * channel. Every tenth element they receive, they try to pass on (once)
 * through a select that mixes a send case with a receive case (if the
 * receive wins, they keep both): selects complete selects in both
 * directions.
 */
static void storm_consumer(void *arg)
{
	struct storm *st = arg;
	int id = atomic_fetch_add(&st->cnext, 1), i, r;
	struct grt_select_case k[SCHANS + 1], mix[2];
	long long v, carry;
	bool ok;

	for (i = 0; i < SCHANS; i++)
		k[i] = (struct grt_select_case)RECV(st->c[i], &v);
	k[SCHANS] = (struct grt_select_case)RECV(st->quit, NULL);
	mix[0] = (struct grt_select_case)SEND(st->c[id % SCHANS], &carry);
	mix[1] = (struct grt_select_case)RECV(st->c[(id + 1) % SCHANS], &v);
	for (;;) {
		r = grt_select(k, SCHANS + 1, 0, &ok);
		if (r == SCHANS) {
			RT_CHECK(!ok);
			break;
		}
		RT_CHECK(r >= 0 && r < SCHANS && ok);
		/* A passed-on element travels negated, and only once. */
		if (v < 0) {
			storm_consumed(st, id, -v);
			continue;
		}
		if (v % 10 == 0) {
			carry = -v;
			r = grt_select(mix, 2, 0, &ok);
			RT_CHECK(ok);
			if (r == 0)
				continue;	/* passed on */
			storm_consumed(st, id, -carry);
			if (v < 0) {
				storm_consumed(st, id, -v);
				continue;
			}
		}
		storm_consumed(st, id, v);
	}
	grt_waitgroup_done(&st->consumers);
}

static void storm_body(void *arg)
{
	struct storm *st = arg;
	long long sum = 0, want = 0;
	long count = 0;
	int i;

	grt_waitgroup_add(&st->consumers, SCONSUMERS);
	for (i = 0; i < SCONSUMERS; i++)
		RT_GO(storm_consumer, st);
	for (i = 0; i < SPRODUCERS; i++)
		RT_GO(storm_producer, st);
	grt_waitgroup_wait(&st->consumers);
	for (i = 0; i < SCONSUMERS; i++) {
		sum += st->sum[i];
		count += st->count[i];
	}
	for (i = 0; i < SPRODUCERS; i++)
		want += (long long)i * 1000000 * SPER +
			(long long)SPER * (SPER + 1) / 2;
	RT_CHECK_EQ(STOTAL, count);
	RT_CHECK_EQ(want, sum);
	for (i = 0; i < SCHANS; i++)
		RT_CHECK_EQ(0, grt_chan_len(st->c[i]));
}

/*
 * Many Gs, many channels (buffered and unbuffered), selects on both sides:
 * every element is received exactly once.
 */
TEST_F(rt_select, storm)
{
	static struct storm st;
	int i;

	for (i = 0; i < SCHANS; i++)
		ASSERT_EQ(0, grt_chan_make(&st.c[i], sizeof(long long),
					   i % 2 ? 0 : 4));
	ASSERT_EQ(0, grt_chan_make(&st.quit, 0, 0));
	RT_RUN(2, storm_body, &st);
	for (i = 0; i < SCHANS; i++)
		EXPECT_EQ(0, grt_chan_free(st.c[i]));
	EXPECT_EQ(0, grt_chan_free(st.quit));
}

TEST_HARNESS_MAIN
