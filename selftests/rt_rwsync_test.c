// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's read-write mutex, once and condition variable
 * (include/gwake/rt.h, lib/rt/rwmutex.c, once.c, cond.c): bad use (aborts
 * with a message where the API cannot report), the try operations, writer
 * preference, readers inside together, Once under a race, signal against
 * broadcast, the lost wakeup between a waiter's unlock and its park, the
 * deadlock report and grt_dump()'s wait reasons, and stress with exact
 * results on 2 to 4 Ps.
 *
 * Orderings are checked, never times: where a test waits for a G to
 * reach a blocking call it looks at state (a try operation refused, a
 * count under the mutex, the number of parked Gs), or yields on one P,
 * where a G that checked in runs until it parks. A check that a G was
 * not woken can only pass wrongly (the G was slow), never fail wrongly.
 * Waits are bounded (GWAKE_TEST_LONG_NS), so a lost wakeup fails a test
 * rather than hanging it. Shared data is plain (non-atomic) wherever the
 * primitive under test is what orders it.
 */
#include <sys/mman.h>

#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_rwsync);

/* Yield until cond() holds, at most about GWAKE_TEST_LONG_NS. */
static bool yield_until_true(bool (*cond)(void *), void *arg)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	while (!cond(arg)) {
		if (gwake_test_now_ns() > end)
			return false;
		grt_yield();
	}
	return true;
}

/*
 * A writer waits for rw (holds it or waits for it): a read lock is then
 * refused. The probe takes and drops a read lock while none is pending,
 * which changes nothing for the test.
 */
static bool writer_pending(void *arg)
{
	struct grt_rwmutex *rw = arg;

	if (!grt_rwmutex_tryrlock(rw))
		return true;
	grt_rwmutex_runlock(rw);
	return false;
}

/* At least n Gs are parked (a snapshot of grt_stats()). */
static bool parked_at_least(void *arg)
{
	struct grt_stats st = { .size = sizeof(st) };

	return grt_stats(&st) == 0 && st.gs_waiting >= (uintptr_t)arg;
}

/* --- RWMutex: try operations ---------------------------------------------- */

struct tryw {
	struct grt_rwmutex rw;
	atomic_int locked, unlocked;
};

static void try_writer(void *arg)
{
	struct tryw *t = arg;

	grt_rwmutex_lock(&t->rw);
	atomic_store(&t->locked, 1);
	grt_rwmutex_unlock(&t->rw);
	atomic_store(&t->unlocked, 1);
}

static void trylock_body(void *arg)
{
	struct tryw *t = arg;
	struct grt_rwmutex *rw = &t->rw;

	memset(t, 0, sizeof(*t));
	/* Readers share, a writer excludes everybody. */
	RT_CHECK(grt_rwmutex_tryrlock(rw));
	RT_CHECK(grt_rwmutex_tryrlock(rw));
	RT_CHECK(!grt_rwmutex_trylock(rw));
	grt_rwmutex_runlock(rw);
	RT_CHECK(!grt_rwmutex_trylock(rw));
	grt_rwmutex_runlock(rw);
	RT_CHECK(grt_rwmutex_trylock(rw));
	RT_CHECK(!grt_rwmutex_tryrlock(rw));
	RT_CHECK(!grt_rwmutex_trylock(rw));
	grt_rwmutex_unlock(rw);
	grt_rwmutex_lock(rw);
	RT_CHECK(!grt_rwmutex_tryrlock(rw));
	grt_rwmutex_unlock(rw);
	grt_rwmutex_rlock(rw);
	RT_CHECK(grt_rwmutex_tryrlock(rw));
	RT_CHECK(!grt_rwmutex_trylock(rw));
	grt_rwmutex_runlock(rw);

	/*
	 * A writer waiting for our read lock: new readers are refused, and
	 * so is a second writer, although only a reader holds the lock.
	 */
	RT_GO(try_writer, t);
	RT_CHECK(yield_until_true(writer_pending, rw));
	RT_CHECK(!grt_rwmutex_tryrlock(rw));
	RT_CHECK(!grt_rwmutex_trylock(rw));
	RT_CHECK_EQ(0, atomic_load(&t->locked));
	grt_rwmutex_runlock(rw);
	RT_CHECK(rt_yield_until(&t->unlocked, 1));
	RT_CHECK_EQ(1, atomic_load(&t->locked));
	RT_CHECK(grt_rwmutex_trylock(rw));
	grt_rwmutex_unlock(rw);
}

TEST_F(rt_rwsync, rwmutex_trylock)
{
	static struct tryw t;
	struct grt_rwmutex rw;

	RT_RUN(1, trylock_body, &t);
	/* Uncontended, the try operations work from any thread. */
	grt_rwmutex_init(&rw);
	ASSERT_TRUE(grt_rwmutex_tryrlock(&rw));
	ASSERT_FALSE(grt_rwmutex_trylock(&rw));
	grt_rwmutex_runlock(&rw);
	ASSERT_TRUE(grt_rwmutex_trylock(&rw));
	ASSERT_FALSE(grt_rwmutex_tryrlock(&rw));
	grt_rwmutex_unlock(&rw);
}

/* --- RWMutex: bad use ----------------------------------------------------- */

static void runlock_unlocked(void *arg)
{
	struct grt_rwmutex rw = GRT_RWMUTEX_INIT;

	(void)arg;
	grt_rwmutex_runlock(&rw);
}

static void runlock_write_locked(void *arg)
{
	struct grt_rwmutex rw = GRT_RWMUTEX_INIT;

	(void)arg;
	grt_rwmutex_lock(&rw);
	grt_rwmutex_runlock(&rw);
}

static void unlock_unlocked(void *arg)
{
	struct grt_rwmutex rw = GRT_RWMUTEX_INIT;

	(void)arg;
	grt_rwmutex_unlock(&rw);
}

static void unlock_read_locked(void *arg)
{
	struct grt_rwmutex rw = GRT_RWMUTEX_INIT;

	(void)arg;
	grt_rwmutex_rlock(&rw);
	grt_rwmutex_unlock(&rw);
}

static void rlock_outside_g(void *arg)
{
	struct grt_rwmutex rw = GRT_RWMUTEX_INIT;

	(void)arg;
	grt_rwmutex_lock(&rw);
	grt_rwmutex_rlock(&rw);
}

/* Unlocks of what the caller does not hold are bugs the API cannot return. */
TEST_F(rt_rwsync, rwmutex_bad_unlock_aborts)
{
	RT_EXPECT_ABORT(runlock_unlocked, NULL,
			"grt_rwmutex_runlock of an rwmutex not read-locked");
	RT_EXPECT_ABORT(runlock_write_locked, NULL,
			"grt_rwmutex_runlock of an rwmutex not read-locked");
	RT_EXPECT_ABORT(unlock_unlocked, NULL,
			"grt_rwmutex_unlock of an rwmutex not write-locked");
	RT_EXPECT_ABORT(unlock_read_locked, NULL,
			"grt_rwmutex_unlock of an rwmutex not write-locked");
	/* A thread outside the runtime that would have to wait cannot park. */
	RT_EXPECT_ABORT(rlock_outside_g, NULL,
			"a thread outside the runtime would have to wait "
			"(rwmutex rlock)");
}

/* --- RWMutex: writer preference ------------------------------------------- */

struct pref {
	struct grt_rwmutex rw;
	atomic_int seq;
	/* The order in which each got the lock (seq, from 1). */
	atomic_int w1_at, r2_at, w2_at;
	struct grt_waitgroup wg;
};

static void pref_w1(void *arg)
{
	struct pref *p = arg;

	grt_rwmutex_lock(&p->rw);
	atomic_store(&p->w1_at, atomic_fetch_add(&p->seq, 1) + 1);
	grt_yield();	/* let R2 and W2 run if they could */
	grt_rwmutex_unlock(&p->rw);
	grt_waitgroup_done(&p->wg);
}

static void pref_r2(void *arg)
{
	struct pref *p = arg;

	grt_rwmutex_rlock(&p->rw);
	atomic_store(&p->r2_at, atomic_fetch_add(&p->seq, 1) + 1);
	grt_yield();	/* let W2 try while we read */
	grt_rwmutex_runlock(&p->rw);
	grt_waitgroup_done(&p->wg);
}

static void pref_w2(void *arg)
{
	struct pref *p = arg;

	grt_rwmutex_lock(&p->rw);
	atomic_store(&p->w2_at, atomic_fetch_add(&p->seq, 1) + 1);
	grt_rwmutex_unlock(&p->rw);
	grt_waitgroup_done(&p->wg);
}

static void pref_body(void *arg)
{
	struct pref *p = arg;

	memset(p, 0, sizeof(*p));
	RT_CHECK_EQ(0, grt_waitgroup_add(&p->wg, 3));
	grt_rwmutex_rlock(&p->rw);
	/* W1 waits for our read lock. */
	RT_GO(pref_w1, p);
	RT_CHECK(yield_until_true(writer_pending, &p->rw));
	/*
	 * R2 arrives while only readers hold the lock: without writer
	 * preference it would get in now, before W1. W2 queues behind W1.
	 * Both wait (parked) before we let go.
	 */
	RT_GO(pref_r2, p);
	RT_GO(pref_w2, p);
	RT_CHECK(yield_until_true(parked_at_least, (void *)3));
	RT_CHECK_EQ(0, atomic_load(&p->seq));
	grt_rwmutex_runlock(&p->rw);
	grt_waitgroup_wait(&p->wg);
	/*
	 * W1 first (it waited before R2 came); R2 next (the readers that
	 * queued behind a writer go before the next writer); W2 last.
	 */
	RT_CHECK_EQ(1, atomic_load(&p->w1_at));
	RT_CHECK_EQ(2, atomic_load(&p->r2_at));
	RT_CHECK_EQ(3, atomic_load(&p->w2_at));
}

TEST_F(rt_rwsync, rwmutex_writer_preference)
{
	static struct pref p;

	RT_RUN(1, pref_body, &p);
	RT_RUN(2, pref_body, &p);
}

/* --- RWMutex: readers inside together ------------------------------------- */

#define READERS		8

struct together {
	struct grt_rwmutex rw;
	struct grt_waitgroup inside, release, done;
	atomic_int now_inside, max_inside;
	atomic_int writer_done;
	long data;		/* written by the writer under rw */
	long seen[READERS];	/* one reader each, read after done */
	atomic_int next;
};

static void together_reader(void *arg)
{
	struct together *t = arg;
	int me = atomic_fetch_add(&t->next, 1), n, max;

	grt_rwmutex_rlock(&t->rw);
	n = atomic_fetch_add(&t->now_inside, 1) + 1;
	max = atomic_load(&t->max_inside);
	while (n > max &&
	       !atomic_compare_exchange_weak(&t->max_inside, &max, n))
		;
	t->seen[me] = t->data;
	/* Stay inside until every reader is inside. */
	grt_waitgroup_done(&t->inside);
	grt_waitgroup_wait(&t->release);
	atomic_fetch_sub(&t->now_inside, 1);
	grt_rwmutex_runlock(&t->rw);
	grt_waitgroup_done(&t->done);
}

static void together_writer(void *arg)
{
	struct together *t = arg;

	grt_rwmutex_lock(&t->rw);
	/* Every reader has left: none may be inside with a writer. */
	RT_CHECK_EQ(0, atomic_load(&t->now_inside));
	t->data = 2;
	grt_rwmutex_unlock(&t->rw);
	atomic_store(&t->writer_done, 1);
	grt_waitgroup_done(&t->done);
}

static void together_body(void *arg)
{
	struct together *t = arg;
	int i;

	memset(t, 0, sizeof(*t));
	t->data = 1;
	RT_CHECK_EQ(0, grt_waitgroup_add(&t->inside, READERS));
	RT_CHECK_EQ(0, grt_waitgroup_add(&t->release, 1));
	RT_CHECK_EQ(0, grt_waitgroup_add(&t->done, READERS + 1));
	for (i = 0; i < READERS; i++)
		RT_GO(together_reader, t);
	/*
	 * Returns only once all READERS hold the read lock at the same time
	 * (none can leave before release): if readers excluded each other,
	 * this would be a deadlock, reported as such.
	 */
	grt_waitgroup_wait(&t->inside);
	RT_CHECK_EQ(READERS, atomic_load(&t->max_inside));
	/* With readers inside: a writer waits, and holds off new readers. */
	RT_CHECK(!grt_rwmutex_trylock(&t->rw));
	RT_GO(together_writer, t);
	RT_CHECK(yield_until_true(writer_pending, &t->rw));
	RT_CHECK_EQ(0, atomic_load(&t->writer_done));
	RT_CHECK_EQ(0, grt_waitgroup_done(&t->release));
	grt_waitgroup_wait(&t->done);
	RT_CHECK_EQ(1, atomic_load(&t->writer_done));
	for (i = 0; i < READERS; i++)
		RT_CHECK_EQ(1, t->seen[i]);
	grt_rwmutex_rlock(&t->rw);
	RT_CHECK_EQ(2, t->data);
	grt_rwmutex_runlock(&t->rw);
}

TEST_F(rt_rwsync, rwmutex_readers_share)
{
	static struct together t;

	RT_RUN(1, together_body, &t);
	RT_RUN(4, together_body, &t);
}

/* --- RWMutex: stress with plain data -------------------------------------- */

#define RW_GS		16
#define RW_OPS		3000
#define RW_SLOTS	16

struct rwstress {
	struct grt_rwmutex rw;
	struct grt_waitgroup wg;
	/* Under rw: plain on purpose. Every writer adds 1 to every slot. */
	long slot[RW_SLOTS];
	long writes;
	atomic_long torn, readers_with_writer, reads;
	atomic_int writer_in;
};

static void rw_worker(void *arg)
{
	struct rwstress *s = arg;
	long v;
	int i, j;

	for (i = 0; i < RW_OPS; i++) {
		bool write = i % 8 == 0, tried = i % 5 == 0;

		if (write) {
			if (!tried || !grt_rwmutex_trylock(&s->rw))
				grt_rwmutex_lock(&s->rw);
			if (atomic_fetch_add(&s->writer_in, 1))
				atomic_fetch_add(&s->torn, 1);
			for (j = 0; j < RW_SLOTS; j++) {
				s->slot[j]++;
				/* Hold it across a reschedule now and then. */
				if (j == RW_SLOTS / 2 && i % 64 == 0)
					grt_yield();
			}
			s->writes++;
			atomic_fetch_sub(&s->writer_in, 1);
			grt_rwmutex_unlock(&s->rw);
			continue;
		}
		if (!tried || !grt_rwmutex_tryrlock(&s->rw))
			grt_rwmutex_rlock(&s->rw);
		if (atomic_load(&s->writer_in))
			atomic_fetch_add(&s->readers_with_writer, 1);
		v = s->slot[0];
		for (j = 1; j < RW_SLOTS; j++) {
			if (s->slot[j] != v)
				atomic_fetch_add(&s->torn, 1);
			if (j == RW_SLOTS / 2 && i % 97 == 0)
				grt_yield();
		}
		if (v != s->writes)
			atomic_fetch_add(&s->torn, 1);
		atomic_fetch_add_explicit(&s->reads, 1, memory_order_relaxed);
		grt_rwmutex_runlock(&s->rw);
	}
	grt_waitgroup_done(&s->wg);
}

static void rwstress_body(void *arg)
{
	struct rwstress *s = arg;
	long want = (long)RW_GS * ((RW_OPS + 7) / 8);
	int i;

	memset(s, 0, sizeof(*s));
	RT_CHECK_EQ(0, grt_waitgroup_add(&s->wg, RW_GS));
	for (i = 0; i < RW_GS; i++)
		RT_GO(rw_worker, s);
	grt_waitgroup_wait(&s->wg);
	grt_rwmutex_lock(&s->rw);
	RT_CHECK_EQ(want, s->writes);
	for (i = 0; i < RW_SLOTS; i++)
		RT_CHECK_EQ(want, s->slot[i]);
	RT_CHECK_EQ(0, atomic_load(&s->torn));
	RT_CHECK_EQ(0, atomic_load(&s->readers_with_writer));
	RT_CHECK_EQ((long)RW_GS * RW_OPS - want, atomic_load(&s->reads));
	grt_rwmutex_unlock(&s->rw);
}

/* Readers and writers on 2, 3 and 4 Ps: exact counts, nothing torn. */
TEST_F(rt_rwsync, rwmutex_stress)
{
	static struct rwstress s;
	unsigned int np;

	for (np = 2; np <= 4; np++)
		RT_RUN(np, rwstress_body, &s);
}

/* --- Once ----------------------------------------------------------------- */

#define ONCE_GS		64
#define ONCE_DATA	1024

struct oncerace {
	struct grt_once once;
	struct grt_waitgroup start, wg;
	/* Written by fn only, read by every caller after grt_once_do(). */
	long calls;
	long data[ONCE_DATA];
	atomic_int in_fn, ran_other;
};

static void once_fn(void *arg)
{
	struct oncerace *o = arg;
	int i;

	atomic_store(&o->in_fn, 1);
	o->calls++;
	/* Give the others time to arrive and wait for us. */
	for (i = 0; i < 8; i++)
		grt_yield();
	for (i = 0; i < ONCE_DATA; i++)
		o->data[i] = i + 1;
	atomic_store(&o->in_fn, 0);
}

static void other_fn(void *arg)
{
	struct oncerace *o = arg;

	atomic_store(&o->ran_other, 1);
}

static void once_caller(void *arg)
{
	struct oncerace *o = arg;
	long sum = 0;
	int i;

	grt_waitgroup_wait(&o->start);
	grt_once_do(&o->once, once_fn, o);
	/* fn has returned, and its writes are visible. */
	RT_CHECK_EQ(0, atomic_load(&o->in_fn));
	RT_CHECK_EQ(1, o->calls);
	for (i = 0; i < ONCE_DATA; i++)
		sum += o->data[i];
	RT_CHECK_EQ((long)ONCE_DATA * (ONCE_DATA + 1) / 2, sum);
	grt_waitgroup_done(&o->wg);
}

static void oncerace_body(void *arg)
{
	struct oncerace *o = arg;
	int i;

	memset(o, 0, sizeof(*o));
	RT_CHECK_EQ(0, grt_waitgroup_add(&o->start, 1));
	RT_CHECK_EQ(0, grt_waitgroup_add(&o->wg, ONCE_GS));
	for (i = 0; i < ONCE_GS; i++)
		RT_GO(once_caller, o);
	RT_CHECK_EQ(0, grt_waitgroup_done(&o->start));
	grt_waitgroup_wait(&o->wg);
	RT_CHECK_EQ(1, o->calls);
	/* Done: a later call, with another fn, runs nothing. */
	grt_once_do(&o->once, other_fn, o);
	RT_CHECK_EQ(0, atomic_load(&o->ran_other));
	RT_CHECK_EQ(1, o->calls);
}

/* Many Gs race on one once: fn runs once, and every caller sees it done. */
TEST_F(rt_rwsync, once_race)
{
	static struct oncerace o;
	unsigned int np;

	for (np = 1; np <= 4; np++)
		RT_RUN(np, oncerace_body, &o);
	/* Outside the runtime, uncontended, it works as well. */
	memset(&o, 0, sizeof(o));
	grt_once_do(&o.once, once_fn, &o);
	grt_once_do(&o.once, once_fn, &o);
	grt_once_do(&o.once, other_fn, &o);
	EXPECT_EQ(1, o.calls);
	EXPECT_EQ(ONCE_DATA, o.data[ONCE_DATA - 1]);
	EXPECT_EQ(0, atomic_load(&o.ran_other));
}

static struct grt_once rec_a, rec_b;

static void rec_direct_fn(void *arg)
{
	(void)arg;
	grt_once_do(&rec_a, rec_direct_fn, NULL);
}

static void rec_direct_body(void *arg)
{
	(void)arg;
	grt_once_do(&rec_a, rec_direct_fn, NULL);
}

static void rec_b_fn(void *arg);

static void rec_a_fn(void *arg)
{
	(void)arg;
	grt_once_do(&rec_b, rec_b_fn, NULL);
}

static void rec_b_fn(void *arg)
{
	(void)arg;
	grt_once_do(&rec_a, rec_a_fn, NULL);
}

static void rec_indirect_body(void *arg)
{
	(void)arg;
	grt_once_do(&rec_a, rec_a_fn, NULL);
}

/* In the child: run the body named by arg in a runtime. */
static void run_in_child(void *arg)
{
	struct grt_config cfg = { .nprocs = 2 };

	grt_run(&cfg, strcmp(arg, "direct") ? rec_indirect_body :
		rec_direct_body, NULL);
}

static void once_null_fn(void *arg)
{
	struct grt_once o = GRT_ONCE_INIT;

	(void)arg;
	grt_once_do(&o, NULL, NULL);
}

/*
 * fn calling grt_once_do() on its own once (directly, or through another
 * once) would wait for itself: abort with a message instead of hanging.
 */
TEST_F(rt_rwsync, once_bad_use_aborts)
{
	RT_EXPECT_ABORT(run_in_child, "direct",
			"called it again from its own fn");
	RT_EXPECT_ABORT(run_in_child, "indirect",
			"called it again from its own fn");
	RT_EXPECT_ABORT(once_null_fn, NULL, "grt_once_do: fn is NULL");
}

/* --- Cond: producers and consumers ---------------------------------------- */

#define PC_CAP		4
#define PC_PRODUCERS	4
#define PC_CONSUMERS	3
#define PC_ITEMS	3000

struct pc {
	struct grt_mutex m;
	struct grt_cond notempty, notfull;
	struct grt_waitgroup wg;
	/* Under m. */
	long buf[PC_CAP];
	int head, count, producers_left;
	long sum, n;
};

static void producer(void *arg)
{
	struct pc *p = arg;
	int k;

	for (k = 0; k < PC_ITEMS; k++) {
		grt_mutex_lock(&p->m);
		while (p->count == PC_CAP)
			grt_cond_wait(&p->notfull, &p->m);
		p->buf[(p->head + p->count++) % PC_CAP] = k + 1;
		/* Signal with the mutex held, or right after unlocking it. */
		if (k & 1) {
			grt_cond_signal(&p->notempty);
			grt_mutex_unlock(&p->m);
		} else {
			grt_mutex_unlock(&p->m);
			grt_cond_signal(&p->notempty);
		}
	}
	grt_mutex_lock(&p->m);
	if (--p->producers_left == 0)
		grt_cond_broadcast(&p->notempty);
	grt_mutex_unlock(&p->m);
	grt_waitgroup_done(&p->wg);
}

static void consumer(void *arg)
{
	struct pc *p = arg;
	long v;

	grt_mutex_lock(&p->m);
	for (;;) {
		while (p->count == 0 && p->producers_left)
			grt_cond_wait(&p->notempty, &p->m);
		if (p->count == 0)
			break;
		v = p->buf[p->head];
		p->head = (p->head + 1) % PC_CAP;
		p->count--;
		p->sum += v;
		p->n++;
		grt_cond_signal(&p->notfull);
		/* Let others at the mutex between items now and then. */
		if (v % 16 == 0) {
			grt_mutex_unlock(&p->m);
			grt_yield();
			grt_mutex_lock(&p->m);
		}
	}
	grt_mutex_unlock(&p->m);
	grt_waitgroup_done(&p->wg);
}

static void pc_body(void *arg)
{
	struct pc *p = arg;
	int i;

	memset(p, 0, sizeof(*p));
	p->producers_left = PC_PRODUCERS;
	RT_CHECK_EQ(0, grt_waitgroup_add(&p->wg, PC_PRODUCERS + PC_CONSUMERS));
	for (i = 0; i < PC_CONSUMERS; i++)
		RT_GO(consumer, p);
	for (i = 0; i < PC_PRODUCERS; i++)
		RT_GO(producer, p);
	grt_waitgroup_wait(&p->wg);
	grt_mutex_lock(&p->m);
	RT_CHECK_EQ((long)PC_PRODUCERS * PC_ITEMS, p->n);
	RT_CHECK_EQ((long)PC_PRODUCERS * PC_ITEMS * (PC_ITEMS + 1) / 2, p->sum);
	RT_CHECK_EQ(0, p->count);
	grt_mutex_unlock(&p->m);
}

/* A bounded buffer on two conds, 1 to 4 Ps: every item exactly once. */
TEST_F(rt_rwsync, cond_producer_consumer)
{
	static struct pc p;
	unsigned int np;

	for (np = 1; np <= 4; np++)
		RT_RUN(np, pc_body, &p);
}

/* --- Cond: signal against broadcast --------------------------------------- */

#define SB_WAITERS	6

struct sb {
	struct grt_mutex m;
	struct grt_cond c;
	struct grt_waitgroup woke;
	/* Under m. */
	int arrived, woken;
	int order[SB_WAITERS + 1];	/* arrival index of the k-th woken */
};

static void sb_waiter(void *arg)
{
	struct sb *s = arg;
	int me;

	grt_mutex_lock(&s->m);
	me = s->arrived++;
	/*
	 * One wait, no predicate loop: a wakeup here is a wakeup of this
	 * waiter, and there are no spurious ones to allow for.
	 */
	grt_cond_wait(&s->c, &s->m);
	s->order[s->woken++] = me;
	grt_mutex_unlock(&s->m);
	grt_waitgroup_done(&s->woke);
}

struct sb_count {
	struct sb *s;
	int want;
};

static bool arrived_at_least(void *arg)
{
	struct sb_count *w = arg;
	bool ok;

	grt_mutex_lock(&w->s->m);
	ok = w->s->arrived >= w->want;
	grt_mutex_unlock(&w->s->m);
	return ok;
}

static int woken_now(struct sb *s)
{
	int n;

	/* With one P, let any G that was wrongly woken run first. */
	grt_yield();
	grt_yield();
	grt_mutex_lock(&s->m);
	n = s->woken;
	grt_mutex_unlock(&s->m);
	return n;
}

static void sb_body(void *arg)
{
	struct sb *s = arg;
	struct sb_count cnt = { s, SB_WAITERS };
	int i;

	memset(s, 0, sizeof(*s));
	/* Signals with nobody waiting are not kept for later waiters. */
	grt_cond_signal(&s->c);
	grt_cond_broadcast(&s->c);
	grt_cond_signal(&s->c);

	/*
	 * Spawned one at a time, so that arrival order is spawn order. A
	 * waiter counts itself under m and releases m only inside
	 * grt_cond_wait(), after taking its ticket: once m shows it
	 * arrived, it is a waiter.
	 */
	for (i = 0; i < SB_WAITERS; i++) {
		struct sb_count one = { s, i + 1 };

		RT_GO(sb_waiter, s);
		RT_CHECK(yield_until_true(arrived_at_least, &one));
	}
	RT_CHECK(yield_until_true(arrived_at_least, &cnt));
	RT_CHECK_EQ(0, woken_now(s));

	/* Signal wakes one, the oldest. */
	RT_CHECK_EQ(0, grt_waitgroup_add(&s->woke, 1));
	grt_cond_signal(&s->c);
	grt_waitgroup_wait(&s->woke);
	RT_CHECK_EQ(1, woken_now(s));
	RT_CHECK_EQ(0, s->order[0]);
	/* Again: the next oldest. */
	RT_CHECK_EQ(0, grt_waitgroup_add(&s->woke, 1));
	grt_mutex_lock(&s->m);
	grt_cond_signal(&s->c);
	grt_mutex_unlock(&s->m);
	grt_waitgroup_wait(&s->woke);
	RT_CHECK_EQ(2, woken_now(s));
	RT_CHECK_EQ(1, s->order[1]);

	/* Broadcast wakes all the others. */
	RT_CHECK_EQ(0, grt_waitgroup_add(&s->woke, SB_WAITERS - 2));
	grt_cond_broadcast(&s->c);
	grt_waitgroup_wait(&s->woke);
	RT_CHECK_EQ(SB_WAITERS, woken_now(s));

	/* But not a waiter that came after it. */
	cnt.want = SB_WAITERS + 1;
	RT_GO(sb_waiter, s);
	RT_CHECK(yield_until_true(arrived_at_least, &cnt));
	RT_CHECK_EQ(SB_WAITERS, woken_now(s));
	RT_CHECK_EQ(0, grt_waitgroup_add(&s->woke, 1));
	grt_cond_broadcast(&s->c);
	grt_waitgroup_wait(&s->woke);
	RT_CHECK_EQ(SB_WAITERS + 1, woken_now(s));
	RT_CHECK_EQ(SB_WAITERS, s->order[SB_WAITERS]);
}

TEST_F(rt_rwsync, cond_signal_and_broadcast)
{
	static struct sb s;
	struct grt_cond c = GRT_COND_INIT;

	RT_RUN(1, sb_body, &s);
	RT_RUN(2, sb_body, &s);
	/* Nobody waiting: two loads, from any thread. */
	grt_cond_init(&c);
	grt_cond_signal(&c);
	grt_cond_broadcast(&c);
}

/* --- Cond: the lost wakeup ------------------------------------------------ */

/*
 * Two ways into the window between a waiter's unlock of m (inside
 * grt_cond_wait()) and its park: two Ps racing (lw_*: a signaller that
 * spins on m, a waiter locked to its own thread), which hits it now and
 * then, and one P with the waiter in a system call (lww_*), which hits it
 * in every round.
 */
#define LW_ROUNDS	10000

struct lost {
	struct grt_mutex m;
	struct grt_cond c;
	/* Under m. */
	int waiting, go;
	struct grt_waitgroup wg;
};

static void lw_waiter(void *arg)
{
	struct lost *l = arg;
	int i;

	/*
	 * On a thread of our own: the signaller's ready wakes this M
	 * directly, and it runs on the other P while the signaller spins.
	 */
	RT_CHECK_EQ(0, grt_lock_thread());
	for (i = 1; i <= LW_ROUNDS; i++) {
		grt_mutex_lock(&l->m);
		l->waiting = i;
		while (l->go != i)
			grt_cond_wait(&l->c, &l->m);
		grt_mutex_unlock(&l->m);
	}
	RT_CHECK_EQ(0, grt_unlock_thread());
	grt_waitgroup_done(&l->wg);
}

static void lw_signaller(void *arg)
{
	struct lost *l = arg;
	int i;

	for (i = 1; i <= LW_ROUNDS; i++) {
		int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

		/*
		 * Take m as soon as the waiter's grt_cond_wait() releases it
		 * (spinning, not yielding: the waiter runs on the other P).
		 * The waiter is then between its unlock and its park, or
		 * parked, and the signal below, right after our unlock,
		 * often lands in that window.
		 */
		for (;;) {
			if (grt_mutex_trylock(&l->m)) {
				if (l->waiting == i)
					break;
				grt_mutex_unlock(&l->m);
			}
			if (gwake_test_now_ns() > end) {
				/* The waiter is stuck: a lost wakeup. */
				RT_CHECK_EQ(i, l->waiting);
				grt_waitgroup_done(&l->wg);
				return;
			}
			__builtin_ia32_pause();
		}
		l->go = i;
		grt_mutex_unlock(&l->m);
		grt_cond_signal(&l->c);
	}
	grt_waitgroup_done(&l->wg);
}

static void lw_body(void *arg)
{
	struct lost *l = arg;

	memset(l, 0, sizeof(*l));
	RT_CHECK_EQ(0, grt_waitgroup_add(&l->wg, 2));
	RT_GO(lw_waiter, l);
	RT_GO(lw_signaller, l);
	grt_waitgroup_wait(&l->wg);
	RT_CHECK_EQ(LW_ROUNDS, l->go);
}

/*
 * The same window, entered every round, on one P. The waiter holds m and
 * enters a system call: its P goes to the signaller. Once the signaller
 * runs (so the waiter is off the P), the waiter calls grt_cond_wait(),
 * which takes its ticket and unlocks m, and then needs a P back for the
 * internal lock: the signaller has it, and spins on m without yielding,
 * so it takes m, unlocks it and signals before the waiter can go on. The
 * waiter then finds its ticket signalled and must not park.
 */
#define LW_WINDOW_ROUNDS	200

struct window {
	struct grt_mutex m;
	struct grt_cond c;
	/* Under m. */
	int waiting, go;
	/* The round the waiter is in, the one the signaller runs. */
	atomic_int w_round, s_round;
	struct grt_waitgroup wg;
};

static void lww_waiter(void *arg)
{
	struct window *w = arg;
	int i;

	for (i = 1; i <= LW_WINDOW_ROUNDS; i++) {
		int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

		grt_mutex_lock(&w->m);
		w->waiting = i;
		atomic_store(&w->w_round, i);
		grt_syscall_enter();
		/* The signaller runs: our P is gone. */
		while (atomic_load(&w->s_round) != i &&
		       gwake_test_now_ns() < end)
			__builtin_ia32_pause();
		RT_CHECK_EQ(i, atomic_load(&w->s_round));
		while (w->go != i)
			grt_cond_wait(&w->c, &w->m);
		grt_mutex_unlock(&w->m);
		grt_syscall_exit();
	}
	grt_waitgroup_done(&w->wg);
}

static bool waiter_in_round(void *arg)
{
	struct window *w = arg;

	return atomic_load(&w->w_round) == atomic_load(&w->s_round) + 1;
}

static void lww_signaller(void *arg)
{
	struct window *w = arg;
	int i;

	for (i = 1; i <= LW_WINDOW_ROUNDS; i++) {
		/* Let the waiter finish the last round and start this one. */
		if (!yield_until_true(waiter_in_round, w)) {
			RT_CHECK(!"the waiter is stuck: a lost wakeup");
			break;
		}
		atomic_store(&w->s_round, i);
		/* No yield from here to the signal: the waiter has no P. */
		for (;;) {
			if (grt_mutex_trylock(&w->m)) {
				if (w->waiting == i)
					break;
				grt_mutex_unlock(&w->m);
			}
			__builtin_ia32_pause();
		}
		w->go = i;
		grt_mutex_unlock(&w->m);
		grt_cond_signal(&w->c);
	}
	grt_waitgroup_done(&w->wg);
}

static void lww_body(void *arg)
{
	struct window *w = arg;

	memset(w, 0, sizeof(*w));
	RT_CHECK_EQ(0, grt_waitgroup_add(&w->wg, 2));
	RT_GO(lww_waiter, w);
	RT_GO(lww_signaller, w);
	grt_waitgroup_wait(&w->wg);
	RT_CHECK_EQ(LW_WINDOW_ROUNDS, w->go);
}

/*
 * A signal right after the signaller's unlock, between the waiter's
 * unlock and its park: a lost wakeup leaves the waiter parked for ever,
 * which the signaller notices (it waits for the next round in vain) and
 * grt_run() reports as a deadlock; either fails RT_RUN().
 */
TEST_F(rt_rwsync, cond_no_lost_wakeup)
{
	static struct lost l;
	static struct window w;

	RT_RUN(2, lw_body, &l);
	RT_RUN(1, lww_body, &w);
}

static void cond_outside_g(void *arg)
{
	struct grt_mutex m = GRT_MUTEX_INIT;
	struct grt_cond c = GRT_COND_INIT;

	(void)arg;
	grt_mutex_lock(&m);
	grt_cond_wait(&c, &m);
}

TEST_F(rt_rwsync, cond_wait_outside_g_aborts)
{
	RT_EXPECT_ABORT(cond_outside_g, NULL,
			"grt_cond_wait called outside a G");
}

/* --- Deadlock reports and grt_dump() -------------------------------------- */

static struct grt_rwmutex dl_rw;
static struct grt_mutex dl_m;
static struct grt_cond dl_c;
static struct grt_once dl_once;
static atomic_int dl_in_fn;

static void dl_reader(void *arg)
{
	(void)arg;
	grt_rwmutex_rlock(&dl_rw);
	grt_rwmutex_runlock(&dl_rw);
}

static void dl_rwmutex_body(void *arg)
{
	(void)arg;
	grt_rwmutex_init(&dl_rw);
	grt_rwmutex_lock(&dl_rw);
	RT_GO(dl_reader, NULL);
	grt_yield();
	/* Our own write lock keeps us out, and the reader too. */
	grt_rwmutex_rlock(&dl_rw);
}

static void dl_cond_body(void *arg)
{
	(void)arg;
	grt_mutex_init(&dl_m);
	grt_cond_init(&dl_c);
	grt_mutex_lock(&dl_m);
	grt_cond_wait(&dl_c, &dl_m);	/* nobody will signal */
}

static void dl_once_fn(void *arg)
{
	(void)arg;
	atomic_store(&dl_in_fn, 1);
	grt_mutex_lock(&dl_m);		/* main holds it */
}

static void dl_once_g(void *arg)
{
	(void)arg;
	grt_once_do(&dl_once, dl_once_fn, NULL);
}

static void dl_once_body(void *arg)
{
	(void)arg;
	memset(&dl_once, 0, sizeof(dl_once));
	atomic_store(&dl_in_fn, 0);
	grt_mutex_init(&dl_m);
	grt_mutex_lock(&dl_m);
	RT_GO(dl_once_g, NULL);
	RT_CHECK(rt_yield_until(&dl_in_fn, 1));
	/* fn waits for our mutex, we wait for fn. */
	grt_once_do(&dl_once, dl_once_fn, NULL);
}

/* Gs blocked only on an rwmutex, a cond or a once: reported, -EDEADLK. */
TEST_F(rt_rwsync, deadlock_is_reported)
{
	char out[8192];

	EXPECT_EQ(-EDEADLK, rt_run_capture(_metadata, 2, dl_rwmutex_body, NULL,
					   out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "all goroutines are asleep - deadlock!"));
	EXPECT_NE(NULL, strstr(out, "G1 [rwmutex rlock, main]"));
	EXPECT_NE(NULL, strstr(out, "G2 [rwmutex rlock]"));

	EXPECT_EQ(-EDEADLK, rt_run_capture(_metadata, 2, dl_cond_body, NULL,
					   out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "G1 [cond wait, main]"));

	EXPECT_EQ(-EDEADLK, rt_run_capture(_metadata, 2, dl_once_body, NULL,
					   out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "G1 [once, main]"));
	EXPECT_NE(NULL, strstr(out, "G2 [mutex lock]"));
}

struct dumpst {
	struct grt_rwmutex rw;
	struct grt_mutex m;
	struct grt_cond c;
	struct grt_once once;
	struct grt_waitgroup wg;
	bool go;		/* under m */
	atomic_int parked;
	int fd;
	char out[65536];
};

static void wait_go(struct dumpst *d)
{
	grt_mutex_lock(&d->m);
	while (!d->go)
		grt_cond_wait(&d->c, &d->m);
	grt_mutex_unlock(&d->m);
}

static void dump_reader_g(void *arg)
{
	struct dumpst *d = arg;

	atomic_fetch_add(&d->parked, 1);
	grt_rwmutex_rlock(&d->rw);
	grt_rwmutex_runlock(&d->rw);
	grt_waitgroup_done(&d->wg);
}

static void dump_writer_g(void *arg)
{
	struct dumpst *d = arg;

	atomic_fetch_add(&d->parked, 1);
	grt_rwmutex_lock(&d->rw);
	grt_rwmutex_unlock(&d->rw);
	grt_waitgroup_done(&d->wg);
}

static void dump_cond_g(void *arg)
{
	struct dumpst *d = arg;

	atomic_fetch_add(&d->parked, 1);
	wait_go(d);
	grt_waitgroup_done(&d->wg);
}

static void dump_once_fn(void *arg)
{
	wait_go(arg);
}

static void dump_once_g(void *arg)
{
	struct dumpst *d = arg;

	atomic_fetch_add(&d->parked, 1);
	grt_once_do(&d->once, dump_once_fn, d);
	grt_waitgroup_done(&d->wg);
}

/*
 * One P, no preemption: main holds the write lock; a reader and a writer
 * wait for it, a G waits on the cond, one runs the once's fn (waiting on
 * the cond too) and one waits for that fn.
 */
static void dump_body(void *arg)
{
	struct dumpst *d = arg;
	void (*gs[])(void *) = { dump_reader_g, dump_writer_g, dump_cond_g,
				 dump_once_g, dump_once_g };
	int i;

	RT_CHECK_EQ(0, grt_waitgroup_add(&d->wg, 5));
	grt_rwmutex_lock(&d->rw);
	for (i = 0; i < 5; i++) {
		RT_GO(gs[i], d);
		RT_CHECK(rt_yield_until(&d->parked, i + 1));
	}
	RT_CHECK_EQ(0, grt_dump(d->fd));
	RT_CHECK(pread(d->fd, d->out, sizeof(d->out) - 1, 0) > 0);
	RT_CHECK(strstr(d->out, " [rwmutex rlock]: entry dump_reader_g\n"));
	RT_CHECK(strstr(d->out, " [rwmutex lock]: entry dump_writer_g\n"));
	RT_CHECK(strstr(d->out, " [cond wait]: entry dump_cond_g\n"));
	RT_CHECK(strstr(d->out, " [cond wait]: entry dump_once_g\n"));
	RT_CHECK(strstr(d->out, " [once]: entry dump_once_g\n"));
	RT_CHECK(strstr(d->out, " grt_cond_wait+"));
	RT_CHECK(strstr(d->out, " grt_rwmutex_rlock+"));
	RT_CHECK(strstr(d->out, " grt_rwmutex_lock+"));
	RT_CHECK(strstr(d->out, " grt_once_do+"));

	grt_rwmutex_unlock(&d->rw);
	grt_mutex_lock(&d->m);
	d->go = true;
	grt_cond_broadcast(&d->c);
	grt_mutex_unlock(&d->m);
	grt_waitgroup_wait(&d->wg);
}

TEST_F(rt_rwsync, dump_shows_wait_reasons)
{
	struct grt_config cfg = { .nprocs = 1, .preempt_signal = -1 };
	struct dumpst *d = calloc(1, sizeof(*d));

	ASSERT_NE(NULL, d);
	d->fd = memfd_create("rt_rwsync_dump", MFD_CLOEXEC);
	ASSERT_LE(0, d->fd);
	RT_RUN_CFG(&cfg, dump_body, d);
	TH_LOG("dump:\n%s", d->out);
	close(d->fd);
	free(d);
}

TEST_HARNESS_MAIN
