// SPDX-License-Identifier: GPL-2.0
/*
 * Coroutines (grt_coro_*, lib/rt/coro.c): a pull iterator built on them
 * (Go's iter.Pull: next() and stop()), switch/exit/free semantics and
 * errors, a coroutine that blocks on the runtime while switched in, and
 * the thread-lock rules (Go #65889): a locked pair stays on its thread
 * with the lock moving along, a switch in another lock state is refused,
 * and a coroutine that ends in a different lock state aborts with a
 * message. The switch keeps each side's MXCSR and x87 control word, and
 * leaves the G it resumes preemptible. Both backends.
 */
#include <signal.h>
#include <sys/wait.h>
#include <xmmintrin.h>

#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_coro);

/*
 * A pull iterator (Go's iter.Pull) over a push-style generator
 * gen(yield, ctx): next() runs the generator until it yields a value or
 * returns; stop() makes the pending yield return false so the generator
 * unwinds normally.
 */
struct pull {
	struct grt_coro *c;
	long (*gen)(bool (*yield)(struct pull *p, long v), void *ctx);
	void *ctx;
	long v;
	bool have;		/* the generator yielded v */
	bool done;		/* it returned */
	bool stopping;		/* stop() was called */
	long ret;
};

static bool pull_yield(struct pull *p, long v)
{
	if (p->stopping)
		return false;
	p->v = v;
	p->have = true;
	grt_coro_switch(p->c);	/* back to next() */
	return !p->stopping;
}

static void pull_start(struct grt_coro *c, void *arg)
{
	struct pull *p = arg;

	(void)c;
	p->ret = p->gen(pull_yield, p->ctx);
	p->done = true;
	/* Returning ends the coroutine: next()/stop() see 1. */
}

static int pull_new(struct pull *p,
		    long (*gen)(bool (*)(struct pull *, long), void *),
		    void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->gen = gen;
	p->ctx = ctx;
	return grt_coro_new(&p->c, pull_start, p);
}

/* Returns true with *v, or false when the generator is exhausted. */
static bool pull_next(struct pull *p, long *v)
{
	if (p->done)
		return false;
	p->have = false;
	grt_coro_switch(p->c);
	if (!p->have)
		return false;
	*v = p->v;
	return true;
}

static void pull_stop(struct pull *p)
{
	if (!p->done) {
		p->stopping = true;
		grt_coro_switch(p->c);	/* the generator unwinds and ends */
	}
	grt_coro_free(p->c);
}

/* The generator needs its pull: pass it through a small trampoline. */
static struct pull *cur_pull;

static long count_gen(bool (*yield)(struct pull *, long), void *ctx)
{
	struct pull *p = cur_pull;
	long n = (long)ctx, i;

	for (i = 1; i <= n; i++)
		if (!yield(p, i))
			return -i;	/* stopped early: report where */
	return n;
}

static void pull_body(void *arg)
{
	struct pull p;
	long v = 0, sum = 0, expect = 1;

	(void)arg;
	/* Exhaust it. */
	RT_CHECK_EQ(0, pull_new(&p, count_gen, (void *)100));
	cur_pull = &p;
	while (pull_next(&p, &v)) {
		RT_CHECK_EQ(expect, v);
		expect++;
		sum += v;
	}
	RT_CHECK_EQ(5050, sum);
	RT_CHECK(p.done);
	RT_CHECK_EQ(100, p.ret);
	RT_CHECK(!pull_next(&p, &v));
	pull_stop(&p);

	/* Stop early: the generator's yield returns false and it unwinds. */
	RT_CHECK_EQ(0, pull_new(&p, count_gen, (void *)100));
	cur_pull = &p;
	RT_CHECK(pull_next(&p, &v));
	RT_CHECK(pull_next(&p, &v));
	RT_CHECK_EQ(2, v);
	pull_stop(&p);
	RT_CHECK(p.done);
	RT_CHECK_EQ(-2, p.ret);	/* stopped inside yield(2) */
}

TEST_F(rt_coro, pull_iterator)
{
	RT_RUN(1, pull_body, NULL);
	RT_RUN(2, pull_body, NULL);
}

/* --- Switch, exit, free ---------------------------------------------------------- */

static void exits_g(struct grt_coro *c, void *arg)
{
	int *step = arg;

	*step = 1;
	RT_CHECK_EQ(0, grt_coro_switch(c));
	*step = 2;
	grt_coro_exit(c);
	*step = -1;		/* never */
}

static void forever_g(struct grt_coro *c, void *arg)
{
	(void)arg;
	for (;;)
		grt_coro_switch(c);
}

static void semantics_body(void *arg)
{
	struct grt_coro *c;
	int step = 0;

	(void)arg;
	RT_CHECK_EQ(-EINVAL, grt_coro_new(NULL, exits_g, NULL));
	RT_CHECK_EQ(-EINVAL, grt_coro_new(&c, NULL, NULL));
	RT_CHECK_EQ(-EINVAL, grt_coro_switch(NULL));
	RT_CHECK_EQ(-EINVAL, grt_coro_exit(NULL));
	RT_CHECK_EQ(-EINVAL, grt_coro_free(NULL));

	RT_CHECK_EQ(0, grt_coro_new(&c, exits_g, &step));
	RT_CHECK_EQ(0, step);		/* nothing runs before a switch */
	RT_CHECK_EQ(0, grt_coro_switch(c));
	RT_CHECK_EQ(1, step);
	/* The other side ended: the switch returns 1. */
	RT_CHECK_EQ(1, grt_coro_switch(c));
	RT_CHECK_EQ(2, step);
	RT_CHECK_EQ(-ESRCH, grt_coro_switch(c));
	RT_CHECK_EQ(-ESRCH, grt_coro_exit(c));
	RT_CHECK_EQ(0, grt_coro_free(c));

	/* main cannot end itself through a coroutine. */
	RT_CHECK_EQ(0, grt_coro_new(&c, forever_g, NULL));
	RT_CHECK_EQ(-EPERM, grt_coro_exit(c));
	/* Freeing a coroutine whose G is still blocked discards it. */
	RT_CHECK_EQ(0, grt_coro_switch(c));
	RT_CHECK_EQ(0, grt_coro_free(c));
}

TEST_F(rt_coro, switch_exit_free_semantics)
{
	EXPECT_EQ(-EPERM, grt_coro_new(&(struct grt_coro *){ NULL },
				       forever_g, NULL));
	RT_RUN(1, semantics_body, NULL);
}

/* --- A coroutine that blocks on the runtime while switched in --------------- */

struct blocky {
	struct grt_chan *c;
	long got;
};

static void blocky_g(struct grt_coro *c, void *arg)
{
	struct blocky *b = arg;
	long v;

	while (grt_chan_recv(b->c, &v) == 1) {
		b->got += v;
		grt_coro_switch(c);
	}
}

static void sender_g(void *arg)
{
	struct blocky *b = arg;
	long v;

	for (v = 1; v <= 100; v++)
		grt_chan_send(b->c, &v);
	grt_chan_close(b->c);
}

static void blocky_body(void *arg)
{
	struct blocky b = { 0 };
	struct grt_coro *c;
	int r;

	(void)arg;
	RT_CHECK_EQ(0, grt_chan_make(&b.c, sizeof(long), 0));
	RT_CHECK_EQ(0, grt_coro_new(&c, blocky_g, &b));
	RT_GO(sender_g, &b);
	do
		r = grt_coro_switch(c);
	while (r == 0);
	RT_CHECK_EQ(1, r);
	RT_CHECK_EQ(5050, b.got);
	grt_coro_free(c);
	grt_chan_free(b.c);
}

TEST_F(rt_coro, coroutine_blocks_on_a_channel)
{
	RT_RUN(1, blocky_body, NULL);
	RT_RUN(2, blocky_body, NULL);
}

/* --- Thread locks (Go #65889) ------------------------------------------------------ */

struct lk {
	struct grt_coro *c;
	long tid;
	atomic_int moved;
	atomic_int steps;
	int other_ret;
	atomic_int other_done;
};

static void locked_gen(struct grt_coro *c, void *arg)
{
	struct lk *l = arg;
	int i;

	for (i = 0; i < 100; i++) {
		/* Runs locked, on the creator's thread, every time. */
		if (gwake_test_gettid() != l->tid)
			atomic_fetch_add(&l->moved, 1);
		atomic_fetch_add(&l->steps, 1);
		RT_CHECK_EQ(0, grt_coro_switch(c));
	}
	/* The lock moved here: unlocking it from the coroutine is the
	 * pair's business; the counts must match again at the switch. */
	RT_CHECK_EQ(0, grt_unlock_thread());
	RT_CHECK_EQ(-EPERM, grt_coro_switch(c));
	RT_CHECK_EQ(0, grt_lock_thread());
}

static void other_thread_g(void *arg)
{
	struct lk *l = arg;

	/* Another G, unlocked, on another M: refused, nothing happens. */
	l->other_ret = grt_coro_switch(l->c);
	atomic_store(&l->other_done, 1);
}

static void locked_body(void *arg)
{
	struct lk *l = arg;
	int i, r;

	RT_CHECK_EQ(0, grt_lock_thread());
	l->tid = gwake_test_gettid();
	RT_CHECK_EQ(0, grt_coro_new(&l->c, locked_gen, l));
	for (i = 0; i < 100; i++) {
		RT_CHECK_EQ(0, grt_coro_switch(l->c));
		RT_CHECK_EQ(l->tid, gwake_test_gettid());
		if (i == 50) {
			/* Blocking in between keeps the pair on the thread. */
			grt_sleep(100000);
			RT_CHECK_EQ(l->tid, gwake_test_gettid());
		}
	}
	RT_GO(other_thread_g, l);
	while (!atomic_load(&l->other_done))
		grt_sleep(100000);
	RT_CHECK_EQ(-EPERM, l->other_ret);
	/* Nested lock: a different count is a different lock state. */
	RT_CHECK_EQ(0, grt_lock_thread());
	RT_CHECK_EQ(-EPERM, grt_coro_switch(l->c));
	RT_CHECK_EQ(0, grt_unlock_thread());
	r = grt_coro_switch(l->c);
	RT_CHECK_EQ(1, r);		/* the generator finished */
	RT_CHECK_EQ(l->tid, gwake_test_gettid());
	RT_CHECK_EQ(0, grt_unlock_thread());
	RT_CHECK_EQ(-EPERM, grt_unlock_thread());
	grt_coro_free(l->c);
}

TEST_F(rt_coro, locked_pair_stays_on_its_thread)
{
	struct lk l = { 0 };

	RT_RUN(2, locked_body, &l);
	EXPECT_EQ(0, atomic_load(&l.moved));
	EXPECT_EQ(100, atomic_load(&l.steps));
}

static void locks_itself(struct grt_coro *c, void *arg)
{
	int *ret = arg;

	/* Unlocked creator; locking inside the pair changes its state. */
	RT_CHECK_EQ(0, grt_lock_thread());
	*ret = grt_coro_switch(c);
	RT_CHECK_EQ(0, grt_unlock_thread());
	RT_CHECK_EQ(0, grt_coro_switch(c));
}

static void self_lock_body(void *arg)
{
	struct grt_coro *c;
	int ret = 1;

	(void)arg;
	RT_CHECK_EQ(0, grt_coro_new(&c, locks_itself, &ret));
	RT_CHECK_EQ(0, grt_coro_switch(c));
	RT_CHECK_EQ(-EPERM, ret);
	RT_CHECK_EQ(1, grt_coro_switch(c));
	grt_coro_free(c);
}

TEST_F(rt_coro, switch_after_locking_inside_is_refused)
{
	RT_RUN(2, self_lock_body, NULL);
}

static void ends_locked(struct grt_coro *c, void *arg)
{
	(void)c;
	(void)arg;
	grt_lock_thread();	/* and returns: cannot end in this state */
}

static void ends_locked_body(void *arg)
{
	struct grt_coro *c;

	(void)arg;
	grt_coro_new(&c, ends_locked, NULL);
	grt_coro_switch(c);
}

/* Ending in another lock state has nobody to return an error to. */
TEST_F(rt_coro, ending_in_another_lock_state_aborts)
{
	struct grt_config cfg = { .nprocs = 1 };
	int status, fd;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, STDERR_FILENO);
		grt_run(&cfg, ends_locked_body, NULL);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGABRT, WTERMSIG(status));
}

/* --- Floating-point control state --------------------------------------------- */

struct fpm {
	int bad;
	int steps;
};

/* Started with the creator's modes; then runs with its own. */
static void fp_coro(struct grt_coro *c, void *arg)
{
	struct fpm *f = arg;
	int i;

	RT_CHECK_EQ(_MM_ROUND_DOWN, _MM_GET_ROUNDING_MODE());
	RT_CHECK_EQ(1, (x87_cw() >> 10) & 3);
	_MM_SET_ROUNDING_MODE(_MM_ROUND_UP);
	x87_set_rc(2);
	for (i = 0; i < 1000; i++) {
		RT_CHECK_EQ(0, grt_coro_switch(c));
		if (_MM_GET_ROUNDING_MODE() != _MM_ROUND_UP ||
		    ((x87_cw() >> 10) & 3) != 2)
			f->bad++;
		f->steps++;
	}
}

static void fp_coro_body(void *arg)
{
	unsigned int csr = _mm_getcsr();
	uint16_t cw = x87_cw();
	struct fpm *f = arg;
	struct grt_coro *c;
	int i, r;

	/* The coroutine's G inherits these, as a G its spawner's. */
	_MM_SET_ROUNDING_MODE(_MM_ROUND_DOWN);
	x87_set_rc(1);
	RT_CHECK_EQ(0, grt_coro_new(&c, fp_coro, f));
	_MM_SET_ROUNDING_MODE(_MM_ROUND_TOWARD_ZERO);
	x87_set_rc(3);
	for (i = 0; (r = grt_coro_switch(c)) == 0; i++)
		if (_MM_GET_ROUNDING_MODE() != _MM_ROUND_TOWARD_ZERO ||
		    ((x87_cw() >> 10) & 3) != 3)
			f->bad++;
	RT_CHECK_EQ(1, r);
	RT_CHECK_EQ(1000, i);
	RT_CHECK_EQ(0, grt_coro_free(c));
	/* Also once the other side ended: the exit switch loads them. */
	RT_CHECK_EQ(_MM_ROUND_TOWARD_ZERO, _MM_GET_ROUNDING_MODE());
	RT_CHECK_EQ(3, (x87_cw() >> 10) & 3);
	_mm_setcsr(csr);
	x87_set_cw(cw);
}

TEST_F(rt_coro, switch_keeps_mxcsr_and_x87_cw)
{
	struct fpm f = { 0 };

	RT_RUN(1, fp_coro_body, &f);
	EXPECT_EQ(0, f.bad);
	EXPECT_EQ(1000, f.steps);
}

/* --- Preemption of a switched-in G ------------------------------------------- */

static atomic_int cspin_stop, cspin_timeout;

/*
 * Switched into once fresh and once resumed, then spins without calling
 * the runtime: only the preemption signal, which needs our nopreempt to
 * be 0 again, lets the one P run the G that stops us.
 */
static void spinning_coro(struct grt_coro *c, void *arg)
{
	int64_t deadline = gwake_test_now_ns() + 10 * NSEC_PER_SEC;

	(void)arg;
	RT_CHECK_EQ(0, grt_coro_switch(c));
	while (!atomic_load_explicit(&cspin_stop, memory_order_relaxed)) {
		if (gwake_test_now_ns() > deadline) {
			atomic_store(&cspin_timeout, 1);
			break;
		}
		__builtin_ia32_pause();
	}
}

static void cspin_stopper(void *arg)
{
	(void)arg;
	atomic_store(&cspin_stop, 1);
}

static void cspin_body(void *arg)
{
	struct grt_coro *c;

	(void)arg;
	atomic_store(&cspin_stop, 0);
	atomic_store(&cspin_timeout, 0);
	RT_CHECK_EQ(0, grt_coro_new(&c, spinning_coro, NULL));
	RT_CHECK_EQ(0, grt_coro_switch(c));
	RT_GO(cspin_stopper, NULL);
	/* Returns once the coroutine ended, on the M it ended on. */
	RT_CHECK_EQ(1, grt_coro_switch(c));
	RT_CHECK_EQ(0, atomic_load(&cspin_timeout));
	RT_CHECK_EQ(0, grt_coro_free(c));
}

TEST_F(rt_coro, switched_in_g_is_preemptible)
{
	RT_RUN(1, cspin_body, NULL);
}

/* --- Stress ------------------------------------------------------------------------- */

static void adder(struct grt_coro *c, void *arg)
{
	long *acc = arg;

	for (;;) {
		*acc += 1;
		grt_coro_switch(c);
	}
}

static void stress_body(void *arg)
{
	struct grt_coro *c[4];
	long acc[4] = { 0 }, i;
	int k;

	(void)arg;
	for (k = 0; k < 4; k++)
		RT_CHECK_EQ(0, grt_coro_new(&c[k], adder, &acc[k]));
	for (i = 0; i < 250000; i++)
		for (k = 0; k < 4; k++)
			RT_CHECK_EQ(0, grt_coro_switch(c[k]));
	for (k = 0; k < 4; k++) {
		RT_CHECK_EQ(250000, acc[k]);
		RT_CHECK_EQ(0, grt_coro_free(c[k]));
	}
}

TEST_F_TIMEOUT(rt_coro, stress_million_switches, 300)
{
	RT_RUN(2, stress_body, NULL);
}

TEST_HARNESS_MAIN
