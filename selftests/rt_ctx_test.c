// SPDX-License-Identifier: GPL-2.0
/*
 * Contexts (include/gwake/rt.h, lib/rt/context.c): bad input, cancel,
 * propagation down a tree and not up, deadlines and timeouts (own, and
 * the parent's when earlier), every order of freeing parents and children
 * (run under ASan: a use after free or a leak fails the test), a G
 * blocked in select on done woken by a cancel from another G, and stress:
 * trees cancelled, timed out and freed concurrently from many Gs.
 *
 * Nothing is timed: "not done yet" uses deadlines an hour away; "done"
 * is observed on the done channel.
 */
#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_ctx);

#define RECV(ch, p)	{ .chan = (ch), .elem = (p), .dir = GRT_SELECT_RECV }

#define MS		1000000LL
#define HOUR		(3600 * 1000 * MS)

/* Done: err set and done closed (a receive returns 0 at once). */
static bool is_done(struct grt_ctx *c, int err)
{
	return grt_ctx_err(c) == err &&
	       grt_chan_try_recv(grt_ctx_done(c), NULL) == 0;
}

static bool is_live(struct grt_ctx *c)
{
	return grt_ctx_err(c) == 0 &&
	       grt_chan_try_recv(grt_ctx_done(c), NULL) == -EAGAIN;
}

/* --- Bad input, background ---------------------------------------------- */

static void bad_args_body(void *arg)
{
	struct grt_ctx *c = NULL;
	int64_t d = 5;

	(void)arg;
	RT_CHECK_EQ(-EINVAL, grt_ctx_with_cancel(NULL, NULL));
	RT_CHECK_EQ(-EINVAL, grt_ctx_with_deadline(NULL, NULL, grt_now()));
	RT_CHECK_EQ(-EINVAL, grt_ctx_with_deadline(&c, NULL, 0));
	RT_CHECK_EQ(-EINVAL, grt_ctx_with_deadline(&c, NULL, -1));
	RT_CHECK_EQ(-EINVAL, grt_ctx_with_timeout(&c, NULL, -1));
	RT_CHECK_EQ(-EINVAL, grt_ctx_with_timeout(NULL, NULL, MS));
	RT_CHECK(c == NULL);

	/* NULL is the background: never done, no deadline. */
	RT_CHECK(grt_ctx_done(NULL) == NULL);
	RT_CHECK_EQ(0, grt_ctx_err(NULL));
	RT_CHECK(!grt_ctx_deadline(NULL, &d));
	RT_CHECK_EQ(5, d);
	grt_ctx_cancel(NULL);
	grt_ctx_free(NULL);
}

TEST_F(rt_ctx, bad_args)
{
	struct grt_ctx *c = NULL;

	/* A deadline needs a P's timer heap: from a G only. */
	EXPECT_EQ(-EPERM, grt_ctx_with_deadline(&c, NULL, grt_now() + HOUR));
	EXPECT_EQ(-EPERM, grt_ctx_with_timeout(&c, NULL, HOUR));
	EXPECT_EQ(NULL, c);
	RT_RUN(1, bad_args_body, NULL);
}

/* with_cancel, cancel and free need no runtime (nobody waits). */
TEST_F(rt_ctx, cancel_outside_runtime)
{
	struct grt_ctx *p, *c;

	ASSERT_EQ(0, grt_ctx_with_cancel(&p, NULL));
	ASSERT_EQ(0, grt_ctx_with_cancel(&c, p));
	EXPECT_EQ(0, grt_ctx_err(c));
	grt_ctx_cancel(p);
	EXPECT_EQ(-ECANCELED, grt_ctx_err(p));
	EXPECT_EQ(-ECANCELED, grt_ctx_err(c));
	EXPECT_EQ(0, grt_chan_try_recv(grt_ctx_done(c), NULL));
	grt_ctx_free(p);
	grt_ctx_free(c);
	rt_check_leaks(_metadata);
}

/* --- Cancel ------------------------------------------------------------- */

static void cancel_body(void *arg)
{
	struct grt_ctx *c, *p;
	int64_t d;

	(void)arg;
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&c, NULL));
	RT_CHECK(is_live(c));
	RT_CHECK(!grt_ctx_deadline(c, &d));
	RT_CHECK_EQ(0, grt_chan_cap(grt_ctx_done(c)));
	grt_ctx_cancel(c);
	RT_CHECK(is_done(c, -ECANCELED));
	/* For ever, and a second cancel changes nothing. */
	grt_ctx_cancel(c);
	RT_CHECK(is_done(c, -ECANCELED));
	RT_CHECK_EQ(0, grt_chan_recv(grt_ctx_done(c), NULL));
	grt_ctx_free(c);

	/* Free cancels (Go's cancel function): the child of a freed
	 * parent is done. */
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&p, NULL));
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&c, p));
	grt_ctx_free(p);
	RT_CHECK(is_done(c, -ECANCELED));
	grt_ctx_free(c);
}

TEST_F(rt_ctx, cancel)
{
	RT_RUN(1, cancel_body, NULL);
	rt_check_leaks(_metadata);
}

/* --- Trees -------------------------------------------------------------- */

#define FAN	3
#define DEPTH	3

struct tree {
	struct grt_ctx *c;
	struct tree *kids[FAN];
};

static struct tree *tree_make(struct grt_ctx *parent, int depth)
{
	struct tree *t = calloc(1, sizeof(*t));
	int i;

	RT_CHECK(t != NULL);
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&t->c, parent));
	for (i = 0; depth && i < FAN; i++)
		t->kids[i] = tree_make(t->c, depth - 1);
	return t;
}

/* Every context of t is done with err (0: every one is live). */
static int tree_count(struct tree *t, int err)
{
	int i, n = err ? is_done(t->c, err) : is_live(t->c);

	for (i = 0; i < FAN; i++)
		if (t->kids[i])
			n += tree_count(t->kids[i], err);
	return n;
}

/* Free parents before children (pre-order) or after (post-order). */
static void tree_free(struct tree *t, bool parent_first)
{
	int i;

	if (parent_first)
		grt_ctx_free(t->c);
	for (i = 0; i < FAN; i++)
		if (t->kids[i])
			tree_free(t->kids[i], parent_first);
	if (!parent_first)
		grt_ctx_free(t->c);
	free(t);
}

#define TREE_SIZE	(1 + FAN + FAN * FAN + FAN * FAN * FAN)

static void tree_body(void *arg)
{
	struct tree *t = tree_make(NULL, DEPTH);
	struct tree *mid = t->kids[1];

	(void)arg;
	RT_CHECK_EQ(TREE_SIZE, tree_count(t, 0));
	/* A child's cancel reaches its subtree, not its parent or
	 * siblings. */
	grt_ctx_cancel(mid->c);
	RT_CHECK_EQ(1 + FAN + FAN * FAN, tree_count(mid, -ECANCELED));
	RT_CHECK(is_live(t->c));
	RT_CHECK_EQ(1 + FAN + FAN * FAN, tree_count(t->kids[0], 0));
	RT_CHECK_EQ(1 + FAN + FAN * FAN, tree_count(t->kids[2], 0));
	/* The root's reaches everything. */
	grt_ctx_cancel(t->c);
	RT_CHECK_EQ(TREE_SIZE, tree_count(t, -ECANCELED));
	/* A child of a done parent is born done, with its error. */
	{
		struct grt_ctx *late;

		RT_CHECK_EQ(0, grt_ctx_with_cancel(&late, t->kids[0]->c));
		RT_CHECK(is_done(late, -ECANCELED));
		grt_ctx_free(late);
	}
	tree_free(t, *(bool *)arg);
}

TEST_F(rt_ctx, tree_parent_freed_first)
{
	bool parent_first = true;

	RT_RUN(2, tree_body, &parent_first);
	rt_check_leaks(_metadata);
}

TEST_F(rt_ctx, tree_children_freed_first)
{
	bool parent_first = false;

	RT_RUN(2, tree_body, &parent_first);
	rt_check_leaks(_metadata);
}

/*
 * Freeing a parent cancels its children, which stay usable until freed;
 * freeing children first leaves the parent live.
 */
static void free_order_body(void *arg)
{
	struct grt_ctx *p, *c, *g;

	(void)arg;
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&p, NULL));
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&c, p));
	RT_CHECK_EQ(0, grt_ctx_with_timeout(&g, c, HOUR));
	grt_ctx_free(p);
	RT_CHECK(is_done(c, -ECANCELED));
	RT_CHECK(is_done(g, -ECANCELED));
	grt_ctx_free(g);
	RT_CHECK(is_done(c, -ECANCELED));
	grt_ctx_free(c);

	RT_CHECK_EQ(0, grt_ctx_with_timeout(&p, NULL, HOUR));
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&c, p));
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&g, c));
	grt_ctx_free(g);
	grt_ctx_free(c);
	RT_CHECK(is_live(p));
	grt_ctx_free(p);

	/* Middle first: its child is cancelled, its parent is not. */
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&p, NULL));
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&c, p));
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&g, c));
	grt_ctx_free(c);
	RT_CHECK(is_done(g, -ECANCELED));
	RT_CHECK(is_live(p));
	grt_ctx_free(p);
	grt_ctx_free(g);
}

TEST_F(rt_ctx, free_orders)
{
	RT_RUN(2, free_order_body, NULL);
	rt_check_leaks(_metadata);
}

/* A chain too deep to cancel or release by recursion on a G's stack. */
#define CHAIN	100000

static void chain_body(void *arg)
{
	struct grt_ctx **c = calloc(CHAIN, sizeof(*c));
	int i;

	(void)arg;
	RT_CHECK(c != NULL);
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&c[0], NULL));
	for (i = 1; i < CHAIN; i++)
		RT_CHECK_EQ(0, grt_ctx_with_cancel(&c[i], c[i - 1]));
	/* Free every context but the last: each cancels what is below it
	 * (the first one all of them); the last keeps the whole chain's
	 * memory, released in one go at its free. */
	for (i = 0; i < CHAIN - 1; i++)
		grt_ctx_free(c[i]);
	RT_CHECK(is_done(c[CHAIN - 1], -ECANCELED));
	grt_ctx_free(c[CHAIN - 1]);
	free(c);
}

TEST_F(rt_ctx, deep_chain)
{
	RT_RUN(1, chain_body, NULL);
	rt_check_leaks(_metadata);
}

/* --- Deadlines ---------------------------------------------------------- */

static void deadline_body(void *arg)
{
	struct grt_ctx *c, *k, *p;
	int64_t t0 = grt_now(), d = 0, pd;

	(void)arg;
	/* A timeout: done closes by itself, with -ETIMEDOUT. */
	RT_CHECK_EQ(0, grt_ctx_with_timeout(&c, NULL, MS));
	RT_CHECK(grt_ctx_deadline(c, &d));
	RT_CHECK(d >= t0 + MS && d <= grt_now() + MS);
	RT_CHECK(grt_ctx_deadline(c, NULL));
	RT_CHECK_EQ(0, grt_chan_recv(grt_ctx_done(c), NULL));
	RT_CHECK(grt_now() >= d);
	RT_CHECK(is_done(c, -ETIMEDOUT));
	/* A cancel after the deadline changes nothing. */
	grt_ctx_cancel(c);
	RT_CHECK_EQ(-ETIMEDOUT, grt_ctx_err(c));
	grt_ctx_free(c);

	/* A deadline already past: done at once. */
	RT_CHECK_EQ(0, grt_ctx_with_deadline(&c, NULL, grt_now() - 1));
	RT_CHECK(is_done(c, -ETIMEDOUT));
	grt_ctx_free(c);
	RT_CHECK_EQ(0, grt_ctx_with_timeout(&c, NULL, 0));
	RT_CHECK(is_done(c, -ETIMEDOUT));
	grt_ctx_free(c);

	/* Cancelled before its deadline: -ECANCELED, and the deadline
	 * stays what it was. */
	RT_CHECK_EQ(0, grt_ctx_with_timeout(&c, NULL, HOUR));
	grt_ctx_cancel(c);
	RT_CHECK(is_done(c, -ECANCELED));
	RT_CHECK(grt_ctx_deadline(c, &d));
	grt_ctx_free(c);

	/* A child's deadline is the earlier of its own and its parent's. */
	RT_CHECK_EQ(0, grt_ctx_with_timeout(&p, NULL, HOUR));
	RT_CHECK(grt_ctx_deadline(p, &pd));
	RT_CHECK_EQ(0, grt_ctx_with_deadline(&k, p, pd + HOUR));
	RT_CHECK(grt_ctx_deadline(k, &d));
	RT_CHECK_EQ(pd, d);
	grt_ctx_free(k);
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&k, p));
	RT_CHECK(grt_ctx_deadline(k, &d));
	RT_CHECK_EQ(pd, d);
	grt_ctx_free(k);
	RT_CHECK_EQ(0, grt_ctx_with_deadline(&k, p, pd - 1));
	RT_CHECK(grt_ctx_deadline(k, &d));
	RT_CHECK_EQ(pd - 1, d);
	grt_ctx_free(k);

	/* The child's own, earlier deadline: it times out, the parent
	 * does not. */
	RT_CHECK_EQ(0, grt_ctx_with_timeout(&k, p, MS));
	RT_CHECK_EQ(0, grt_chan_recv(grt_ctx_done(k), NULL));
	RT_CHECK(is_done(k, -ETIMEDOUT));
	RT_CHECK(is_live(p));
	grt_ctx_free(k);
	grt_ctx_free(p);

	/* The parent's deadline, earlier: the child times out with it
	 * (it has no timer of its own), and so does a grandchild. */
	RT_CHECK_EQ(0, grt_ctx_with_timeout(&p, NULL, MS));
	RT_CHECK_EQ(0, grt_ctx_with_timeout(&k, p, HOUR));
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&c, k));
	RT_CHECK_EQ(0, grt_chan_recv(grt_ctx_done(c), NULL));
	RT_CHECK(is_done(c, -ETIMEDOUT));
	RT_CHECK(is_done(k, -ETIMEDOUT));
	RT_CHECK(is_done(p, -ETIMEDOUT));
	grt_ctx_free(p);
	grt_ctx_free(c);
	grt_ctx_free(k);
}

TEST_F(rt_ctx, deadline_and_timeout)
{
	RT_RUN(2, deadline_body, NULL);
	rt_check_leaks(_metadata);
}

/* A context freed with its deadline pending: nothing fires into freed
 * memory (ASan), and the runtime does not wait for it. */
static void free_pending_deadline_body(void *arg)
{
	struct grt_ctx *c;
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++) {
		RT_CHECK_EQ(0, grt_ctx_with_timeout(&c, NULL, i % 50 * 1000));
		if (i % 3 == 0)
			grt_yield();
		grt_ctx_free(c);
	}
	grt_sleep(MS);
}

TEST_F(rt_ctx, free_with_deadline_pending)
{
	RT_RUN(2, free_pending_deadline_body, NULL);
	rt_check_leaks(_metadata);
}

/* --- Waiting on done ---------------------------------------------------- */

static atomic_int waiting;

struct waiter_arg {
	struct grt_ctx *c;
	struct grt_chan *never, *result;
};

static void select_waiter_g(void *arg)
{
	struct waiter_arg *w = arg;
	int x, err;
	struct grt_select_case k[2] = {
		RECV(w->never, &x), RECV(grt_ctx_done(w->c), NULL),
	};
	bool ok = true;

	atomic_fetch_add(&waiting, 1);
	RT_CHECK_EQ(1, grt_select(k, 2, 0, &ok));
	RT_CHECK(!ok);		/* closed */
	/* The cancel happened before: its error is visible. */
	err = grt_ctx_err(w->c);
	RT_CHECK_EQ(0, grt_chan_send(w->result, &err));
}

static void woken_body(void *arg)
{
	struct waiter_arg w;
	int err = 0;

	atomic_store(&waiting, 0);
	RT_CHECK_EQ(0, grt_chan_make(&w.never, sizeof(int), 0));
	RT_CHECK_EQ(0, grt_chan_make(&w.result, sizeof(int), 1));
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&w.c, NULL));
	RT_GO(select_waiter_g, &w);
	/* On one P: the waiter is blocked in its select when this returns. */
	if (*(bool *)arg)
		RT_CHECK(rt_yield_until(&waiting, 1));
	grt_ctx_cancel(w.c);
	RT_CHECK_EQ(1, grt_chan_recv(w.result, &err));
	RT_CHECK_EQ(-ECANCELED, err);
	grt_ctx_free(w.c);

	/* And by a deadline, with a child's done. */
	{
		struct grt_ctx *p;

		RT_CHECK_EQ(0, grt_ctx_with_timeout(&p, NULL, MS));
		RT_CHECK_EQ(0, grt_ctx_with_cancel(&w.c, p));
		RT_GO(select_waiter_g, &w);
		RT_CHECK_EQ(1, grt_chan_recv(w.result, &err));
		RT_CHECK_EQ(-ETIMEDOUT, err);
		grt_ctx_free(w.c);
		grt_ctx_free(p);
	}
	RT_CHECK_EQ(0, grt_chan_free(w.never));
	RT_CHECK_EQ(0, grt_chan_free(w.result));
}

TEST_F(rt_ctx, select_woken_by_cancel)
{
	bool one_p = true;

	RT_RUN(1, woken_body, &one_p);
	one_p = false;
	RT_RUN(2, woken_body, &one_p);
	rt_check_leaks(_metadata);
}

/* A G waiting on done with no deadline anywhere: a deadlock; with one
 * pending: not. */
static void wait_timeout_body(void *arg)
{
	struct grt_ctx *c;

	(void)arg;
	RT_CHECK_EQ(0, grt_ctx_with_timeout(&c, NULL, 2 * MS));
	RT_CHECK_EQ(0, grt_chan_recv(grt_ctx_done(c), NULL));
	grt_ctx_free(c);
}

static void wait_forever_body(void *arg)
{
	struct grt_ctx *c, *t;

	(void)arg;
	grt_ctx_with_cancel(&c, NULL);
	/* A deadline that was cancelled leaves no timer behind. */
	grt_ctx_with_timeout(&t, c, HOUR);
	grt_ctx_free(t);
	grt_chan_recv(grt_ctx_done(c), NULL);
}

TEST_F(rt_ctx, deadlock_check)
{
	int fd = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);

	RT_RUN(1, wait_timeout_body, NULL);
	/* The report goes to stderr: not into the test's output. */
	ASSERT_LE(0, fd);
	ASSERT_LE(0, null);
	fflush(stderr);
	dup2(null, STDERR_FILENO);
	EXPECT_EQ(-EDEADLK, grt_run(NULL, wait_forever_body, NULL));
	dup2(fd, STDERR_FILENO);
	close(fd);
	close(null);
}

/* --- Stress ------------------------------------------------------------- */

/*
 * Many Gs build small trees under one shared root, with deadlines of a
 * few microseconds to an hour, and cancel or free random nodes while
 * other Gs' deadlines fire and the main G cancels the root. Exact checks:
 * errors are -ECANCELED or -ETIMEDOUT only and never change; once a
 * cancel of a done context returns (it waits for any cancel running below
 * it), its whole subtree is done; a tree built after the root's cancel
 * returned is born done with the root's error; and (ASan) every context
 * is freed exactly once, whatever the order.
 */
#define STRESS_GS	32
#define STRESS_ROUNDS	200
#define STRESS_NODES	15

struct stress {
	struct grt_ctx *root;
	struct grt_waitgroup wg;
	atomic_int started;
	atomic_int root_done;
};

/* Is node j below node i? parent[] points to a lower index. */
static bool below(const int *parent, int j, int i)
{
	while (j > i)
		j = parent[j];
	return j == i;
}

static void stress_g(void *arg)
{
	struct stress *s = arg;
	uint32_t seed = (uint32_t)grt_id() * 2654435761u | 1;
	struct grt_ctx *n[STRESS_NODES];
	int parent[STRESS_NODES];
	int r, i, j;

	atomic_fetch_add(&s->started, 1);
	for (r = 0; r < STRESS_ROUNDS; r++) {
		bool after_root = atomic_load(&s->root_done);

		for (i = 0; i < STRESS_NODES; i++) {
			struct grt_ctx *p;
			uint32_t x;

			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			x = seed;
			parent[i] = i ? (int)(x % (uint32_t)i) : -1;
			p = i ? n[parent[i]] : s->root;
			switch (x >> 28) {
			case 0: case 1: case 2:
				RT_CHECK_EQ(0, grt_ctx_with_timeout(&n[i], p,
						(int64_t)(x >> 8 & 0xffff)));
				break;
			case 3:
				RT_CHECK_EQ(0, grt_ctx_with_timeout(&n[i], p,
								    HOUR));
				break;
			default:
				RT_CHECK_EQ(0, grt_ctx_with_cancel(&n[i], p));
				break;
			}
			if (after_root)
				RT_CHECK(is_done(n[i], -ECANCELED));
		}
		if (seed & 1) {
			int k = (int)(seed % STRESS_NODES);

			grt_ctx_cancel(n[k]);
			RT_CHECK(grt_ctx_err(n[k]) != 0);
			for (j = k + 1; j < STRESS_NODES; j++)
				if (below(parent, j, k))
					RT_CHECK(grt_ctx_err(n[j]) != 0);
		}
		if (seed & 2)
			grt_yield();
		for (i = 0; i < STRESS_NODES; i++) {
			int e = grt_ctx_err(n[i]);

			RT_CHECK(e == 0 || e == -ECANCELED || e == -ETIMEDOUT);
			if (!e)
				continue;
			/* A no-op on a done context, but it waits for a
			 * cancel still running below it. */
			grt_ctx_cancel(n[i]);
			RT_CHECK_EQ(e, grt_ctx_err(n[i]));
			for (j = i + 1; j < STRESS_NODES; j++)
				if (below(parent, j, i))
					RT_CHECK(is_done(n[j], grt_ctx_err(n[j])) &&
						 grt_ctx_err(n[j]) != 0);
		}
		/* Free in a random order: parents before or after. */
		if (seed & 4) {
			for (i = 0; i < STRESS_NODES; i++)
				grt_ctx_free(n[i]);
		} else {
			for (i = STRESS_NODES; i-- > 0;)
				grt_ctx_free(n[i]);
		}
	}
	grt_waitgroup_done(&s->wg);
}

static void stress_body(void *arg)
{
	struct stress s;
	int i;

	(void)arg;
	memset(&s, 0, sizeof(s));
	RT_CHECK_EQ(0, grt_ctx_with_cancel(&s.root, NULL));
	grt_waitgroup_init(&s.wg);
	RT_CHECK_EQ(0, grt_waitgroup_add(&s.wg, STRESS_GS));
	for (i = 0; i < STRESS_GS; i++)
		RT_GO(stress_g, &s);
	/* Cancel the root while the Gs are at work. */
	while (atomic_load(&s.started) < STRESS_GS)
		grt_sleep(100000);
	grt_sleep(MS);
	grt_ctx_cancel(s.root);
	atomic_store(&s.root_done, 1);
	grt_waitgroup_wait(&s.wg);
	RT_CHECK(is_done(s.root, -ECANCELED));
	grt_ctx_free(s.root);
}

TEST_F(rt_ctx, stress)
{
	unsigned int np;

	for (np = 2; np <= 4; np++)
		RT_RUN(np, stress_body, NULL);
	rt_check_leaks(_metadata);
}

TEST_HARNESS_MAIN
