// SPDX-License-Identifier: GPL-2.0
/*
 * White-box tests of the run queues (lib/rt/runq.c), in the manner of Go's
 * export_test.go: the test owns Ps and Gs of its own (no runtime runs, no
 * M exists) and drives put, get, run-next, the LIFO of unstarted Gs, the
 * overflow into the global queue and stealing, one call at a time, then
 * an owner and a thief at once on two threads. The order each structure
 * promises is checked exactly; under contention, that every G comes out
 * exactly once.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "rt_test.h"
#include "rt/runq.h"

#define NG	((int)(2 * GRT_RUNQ_SIZE + 2 * GRT_LIFO_SIZE))

FIXTURE(runq) {
	struct grt_p *p, *p2;
	struct grt_p *allp[2];	/* sched.allp: thieves look at every P */
	struct grt_g *g;	/* NG of them */
};

static struct grt_p *p_new(int id)
{
	struct grt_p *p = aligned_alloc(GRT_CACHELINE, sizeof(*p));

	if (p) {
		memset(p, 0, sizeof(*p));
		p->id = id;
	}
	return p;
}

FIXTURE_SETUP(runq)
{
	/* The global queue the overflow feeds; its batch size needs nprocs,
	 * and a thief's wait for a run-next G looks at every P. */
	memset(&grt__sched, 0, sizeof(grt__sched));
	grt__runq_init();
	grt__sched.nprocs = 2;
	self->p = p_new(0);
	self->p2 = p_new(1);
	self->g = calloc(NG, sizeof(*self->g));
	ASSERT_NE(NULL, self->p);
	ASSERT_NE(NULL, self->p2);
	ASSERT_NE(NULL, self->g);
	self->allp[0] = self->p;
	self->allp[1] = self->p2;
	grt__sched.allp = self->allp;
	for (int i = 0; i < NG; i++) {
		self->g[i].id = (uint64_t)i;
		self->g[i].started = true;
	}
}

FIXTURE_TEARDOWN(runq)
{
	free(self->p);
	free(self->p2);
	free(self->g);
}

/* The next G p's owner runs from its own queues, or -1. */
static int get(struct grt_p *p, bool *inherit)
{
	bool dummy;
	struct grt_g *gp = grt__runqget(p, inherit ? inherit : &dummy);

	return gp ? (int)gp->id : -1;
}

static int globget(struct grt_p *p)
{
	struct grt_g *gp = grt__globrunqget(p, 1);

	return gp ? (int)gp->id : -1;
}

TEST_F(runq, empty)
{
	EXPECT_TRUE(grt__runqempty(self->p));
	EXPECT_TRUE(grt__gq_empty());
	EXPECT_EQ(-1, get(self->p, NULL));
	EXPECT_EQ(NULL, grt__runqsteal(self->p2, self->p, true));
	EXPECT_EQ(-1, globget(self->p));
}

/* The ring is FIFO, and what comes from it does not inherit a slice. */
TEST_F(runq, ring_is_fifo)
{
	bool inherit = true;

	for (int i = 0; i < 100; i++)
		grt__runqput(self->p, &self->g[i], false);
	EXPECT_FALSE(grt__runqempty(self->p));
	for (int i = 0; i < 100; i++) {
		ASSERT_EQ(i, get(self->p, &inherit));
		ASSERT_FALSE(inherit);
	}
	EXPECT_EQ(-1, get(self->p, NULL));
	EXPECT_TRUE(grt__runqempty(self->p));
}

/*
 * run-next is taken first and inherits the time slice; a started G it
 * displaces goes to the ring's tail, behind what was queued already.
 */
TEST_F(runq, runnext_first_displaced_started_to_tail)
{
	bool inherit = false;

	grt__runqput(self->p, &self->g[0], false);
	grt__runqput(self->p, &self->g[1], true);
	grt__runqput(self->p, &self->g[2], true);
	EXPECT_EQ(2, get(self->p, &inherit));
	EXPECT_TRUE(inherit);
	EXPECT_EQ(0, get(self->p, &inherit));
	EXPECT_FALSE(inherit);
	EXPECT_EQ(1, get(self->p, NULL));
	EXPECT_EQ(-1, get(self->p, NULL));
}

/*
 * Unstarted Gs displaced from run-next go to the LIFO and come back
 * newest first, before the ring (a spawn tree runs depth first).
 */
TEST_F(runq, runnext_displaced_unstarted_to_lifo)
{
	grt__runqput(self->p, &self->g[10], false);
	for (int i = 1; i <= 4; i++) {
		self->g[i].started = false;
		grt__runqput(self->p, &self->g[i], true);
	}
	EXPECT_EQ(3, (int)atomic_load(&self->p->nlifo));
	EXPECT_EQ(4, get(self->p, NULL));
	EXPECT_EQ(3, get(self->p, NULL));
	EXPECT_EQ(2, get(self->p, NULL));
	EXPECT_EQ(1, get(self->p, NULL));
	EXPECT_EQ(10, get(self->p, NULL));
	EXPECT_TRUE(grt__runqempty(self->p));
}

/* A full LIFO spills into the ring: nothing is lost or repeated. */
TEST_F(runq, lifo_full_spills_to_ring)
{
	int n = GRT_LIFO_SIZE + 3, seen[GRT_LIFO_SIZE + 3] = { 0 }, id;

	for (int i = 0; i < n; i++) {
		self->g[i].started = false;
		grt__runqput(self->p, &self->g[i], true);
	}
	EXPECT_EQ(GRT_LIFO_SIZE, atomic_load(&self->p->nlifo));
	while ((id = get(self->p, NULL)) >= 0) {
		ASSERT_LT(id, n);
		seen[id]++;
	}
	for (int i = 0; i < n; i++)
		EXPECT_EQ(1, seen[i]);
}

/*
 * A full ring moves its older half and the new G to the global queue, in
 * order; the owner keeps the newer half.
 */
TEST_F(runq, overflow_moves_older_half_to_global)
{
	int n = GRT_RUNQ_SIZE + 1, half = GRT_RUNQ_SIZE / 2;

	for (int i = 0; i < n; i++)
		grt__runqput(self->p, &self->g[i], false);
	EXPECT_FALSE(grt__gq_empty());
	EXPECT_EQ(half + 1, (int)atomic_load(&grt__sched.gqsize));
	for (int i = half; i < (int)GRT_RUNQ_SIZE; i++)
		ASSERT_EQ(i, get(self->p, NULL));
	EXPECT_EQ(-1, get(self->p, NULL));
	for (int i = 0; i < half; i++)
		ASSERT_EQ(i, globget(self->p));
	EXPECT_EQ(GRT_RUNQ_SIZE, globget(self->p));
	EXPECT_TRUE(grt__gq_empty());
	EXPECT_EQ(0, (int)atomic_load(&grt__sched.gqsize));
}

/*
 * A batch from the global queue: one G to run, a fair share more into
 * the ring (size / nprocs + 1 in all), in queue order.
 */
TEST_F(runq, global_batch_fills_ring)
{
	struct grt_g *gp;

	for (int i = 0; i < 10; i++)
		grt__globrunqput(&self->g[i]);
	gp = grt__globrunqget(self->p, 0);
	ASSERT_NE(NULL, gp);
	EXPECT_EQ(0, (int)gp->id);
	for (int i = 1; i < 10 / 2 + 1; i++)
		ASSERT_EQ(i, get(self->p, NULL));
	EXPECT_EQ(-1, get(self->p, NULL));
	EXPECT_EQ(10 - (10 / 2 + 1), (int)atomic_load(&grt__sched.gqsize));
}

/*
 * A thief takes the older half of the ring (rounded up), runs the newest
 * of its haul and queues the rest in order; the victim keeps the rest.
 */
TEST_F(runq, steal_takes_older_half)
{
	struct grt_g *gp;

	for (int i = 0; i < 9; i++)
		grt__runqput(self->p2, &self->g[i], false);
	gp = grt__runqsteal(self->p, self->p2, false);
	ASSERT_NE(NULL, gp);
	EXPECT_EQ(4, (int)gp->id);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(i, get(self->p, NULL));
	EXPECT_EQ(-1, get(self->p, NULL));
	for (int i = 5; i < 9; i++)
		ASSERT_EQ(i, get(self->p2, NULL));
	EXPECT_EQ(-1, get(self->p2, NULL));
}

/* With the ring empty, the thief takes the oldest half of the LIFO. */
TEST_F(runq, steal_lifo_oldest_half)
{
	struct grt_g *gp;

	for (int i = 0; i < 7; i++) {
		self->g[i].started = false;
		grt__runqput(self->p2, &self->g[i], true);
	}
	/* run-next 6, LIFO 0..5 (5 on top). */
	gp = grt__runqsteal(self->p, self->p2, false);
	ASSERT_NE(NULL, gp);
	EXPECT_EQ(0, (int)gp->id);
	EXPECT_EQ(1, get(self->p, NULL));
	EXPECT_EQ(2, get(self->p, NULL));
	EXPECT_EQ(-1, get(self->p, NULL));
	EXPECT_EQ(6, get(self->p2, NULL));
	EXPECT_EQ(5, get(self->p2, NULL));
	EXPECT_EQ(4, get(self->p2, NULL));
	EXPECT_EQ(3, get(self->p2, NULL));
	EXPECT_EQ(-1, get(self->p2, NULL));
}

/* run-next is stolen only when the thief asks for it (its last try). */
TEST_F(runq, steal_runnext_only_when_asked)
{
	struct grt_g *gp;

	grt__runqput(self->p2, &self->g[7], true);
	EXPECT_EQ(NULL, grt__runqsteal(self->p, self->p2, false));
	EXPECT_FALSE(grt__runqempty(self->p2));
	gp = grt__runqsteal(self->p, self->p2, true);
	ASSERT_NE(NULL, gp);
	EXPECT_EQ(7, (int)gp->id);
	EXPECT_TRUE(grt__runqempty(self->p2));
	EXPECT_TRUE(grt__runqempty(self->p));
}

/*
 * A thief that found only run-next backs off and lets the owner run it
 * (runq.c, runnext_wait()): while the owner keeps scheduling, the G in
 * run-next is not taken, however often the thief looks, even though it is
 * the same G (a pair handing off through run-next puts it back on every
 * round trip). Once the owner stops scheduling (stuck in one G), it is.
 * The owner is simulated during the thief's sleeps, so that what the
 * thief sees does not depend on how threads are scheduled (a VM under
 * TCG may not run a second thread within a 3 us sleep).
 */
static struct grt_m sim_owner;
static int sim_sleeps;
static bool sim_scheduling;

static int sim_policy;		/* the thief's, during its last sleep */

static bool sim_stop;		/* the runtime stops during the sleep */

static void sim_sleep(void)
{
	sim_sleeps++;
	sim_policy = sched_getscheduler(0);
	if (sim_stop)
		atomic_store(&grt__sched.stopping, 1);
	if (sim_scheduling)
		atomic_fetch_add_explicit(&sim_owner.nsched, 1, memory_order_relaxed);
}

typedef void (*sleep_fn)(void);

/*
 * p2 runs, its owner simulated and scheduling, with G 7 in its run-next
 * slot; the thief's sleeps are @fn. Returns the sleep to restore.
 */
static sleep_fn sim_begin(FIXTURE_DATA(runq) *self, sleep_fn fn)
{
	sleep_fn saved = grt__steal_sleep;

	atomic_store(&self->p2->status, GRT_PRUNNING);
	self->p2->m = &sim_owner;
	grt__runqput(self->p2, &self->g[7], true);
	grt__steal_sleep = fn;
	sim_scheduling = true;
	sim_sleeps = 0;
	return saved;
}

TEST_F(runq, runnext_not_stolen_from_a_scheduling_owner)
{
	sleep_fn saved = sim_begin(self, sim_sleep);
	struct grt_g *gp;
	int i;

	for (i = 0; i < 3; i++)
		EXPECT_EQ(NULL, grt__runqsteal(self->p, self->p2, true));
	/* Each look waited its whole bound of sleeps, then gave up. */
	EXPECT_LT(3, sim_sleeps);
	EXPECT_FALSE(grt__runqempty(self->p2));
	/* The owner is stuck now: the next look takes it, after one sleep. */
	sim_scheduling = false;
	sim_sleeps = 0;
	gp = grt__runqsteal(self->p, self->p2, true);
	grt__steal_sleep = saved;
	EXPECT_EQ(1, sim_sleeps);
	ASSERT_NE(NULL, gp);
	EXPECT_EQ(7, (int)gp->id);
	EXPECT_TRUE(grt__runqempty(self->p2));
}

/*
 * The back-off sleeps as SCHED_BATCH, so that its wake-ups do not
 * preempt the owner it waits for (runq.c, backoff_batch()), and the
 * thief is back to its own policy however the back-off ended: it stole,
 * it gave up, or something else came first. A thread that runs with
 * another policy keeps it throughout, and one with another nice value
 * keeps that. GRT_DEBUG=batch=0 (S.nobatch) turns the switch off.
 */
static void back_off_once(struct __test_metadata *_metadata,
			  FIXTURE_DATA(runq) *self, int during, int after)
{
	sleep_fn saved = sim_begin(self, sim_sleep);
	struct grt_g *gp;

	/* Given up after the whole bound. */
	sim_policy = -1;
	EXPECT_EQ(NULL, grt__runqsteal(self->p, self->p2, true));
	EXPECT_EQ(during, sim_policy);
	EXPECT_EQ(after, sched_getscheduler(0));
	/* Left for something else, after one sleep. */
	sim_stop = true;
	sim_sleeps = 0;
	sim_policy = -1;
	EXPECT_EQ(NULL, grt__runqsteal(self->p, self->p2, true));
	sim_stop = false;
	atomic_store(&grt__sched.stopping, 0);
	EXPECT_EQ(1, sim_sleeps);
	EXPECT_EQ(during, sim_policy);
	EXPECT_EQ(after, sched_getscheduler(0));
	/* Stolen. */
	sim_scheduling = false;
	sim_policy = -1;
	gp = grt__runqsteal(self->p, self->p2, true);
	grt__steal_sleep = saved;
	ASSERT_NE(NULL, gp);
	EXPECT_EQ(7, (int)gp->id);
	EXPECT_EQ(during, sim_policy);
	EXPECT_EQ(after, sched_getscheduler(0));
}

/* Whether this thread can make the switch the back-off makes. */
static bool batch_possible(void)
{
	struct sched_param sp = { 0 };

	return sched_getscheduler(0) == SCHED_OTHER &&
	       !sched_setscheduler(0, SCHED_BATCH, &sp) &&
	       !sched_setscheduler(0, SCHED_OTHER, &sp);
}

TEST_F(runq, back_off_sleeps_as_batch)
{
	if (!batch_possible())
		SKIP(return, "not SCHED_OTHER, or the switch is refused here");
	back_off_once(_metadata, self, SCHED_BATCH, SCHED_OTHER);
	EXPECT_FALSE(atomic_load(&grt__sched.nobatch));
}

TEST_F(runq, back_off_keeps_the_thread_s_own_policy)
{
	struct sched_param sp = { 0 };

	if (!batch_possible())
		SKIP(return, "not SCHED_OTHER, or the switch is refused here");
	/* Each TEST_F runs in a child of its own: none of this leaks. */
	ASSERT_EQ(0, setpriority(PRIO_PROCESS, 0, 5));
	back_off_once(_metadata, self, SCHED_BATCH, SCHED_OTHER);
	EXPECT_EQ(5, getpriority(PRIO_PROCESS, 0));
	ASSERT_EQ(0, sched_setscheduler(0, SCHED_BATCH, &sp));
	back_off_once(_metadata, self, SCHED_BATCH, SCHED_BATCH);
	EXPECT_EQ(5, getpriority(PRIO_PROCESS, 0));
	/* Unprivileged, nothing takes the flag off: the test ends there. */
	ASSERT_EQ(0, sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK,
					&sp));
	back_off_once(_metadata, self, SCHED_OTHER | SCHED_RESET_ON_FORK,
		      SCHED_OTHER | SCHED_RESET_ON_FORK);
	EXPECT_FALSE(atomic_load(&grt__sched.nobatch));
}

TEST_F(runq, back_off_keeps_sched_idle)
{
	struct sched_param sp = { 0 };

	if (!batch_possible())
		SKIP(return, "not SCHED_OTHER, or the switch is refused here");
	/* Unprivileged, nothing leaves SCHED_IDLE: a test of its own. */
	ASSERT_EQ(0, sched_setscheduler(0, SCHED_IDLE, &sp));
	back_off_once(_metadata, self, SCHED_IDLE, SCHED_IDLE);
	EXPECT_FALSE(atomic_load(&grt__sched.nobatch));
}

/*
 * A back-off whose sleeps last (a thief on a busy CPU waits for a time
 * slice after each) ends after 1 ms of them, not after its count: the
 * thief is a spinning M all along, and nobody else is woken for work.
 */
static void sim_sleep_long(void)
{
	struct timespec ts = { 0, 1100 * 1000 };

	sim_sleep();
	nanosleep(&ts, NULL);
}

TEST_F(runq, back_off_bounded_in_time)
{
	sleep_fn saved = sim_begin(self, sim_sleep_long);

	EXPECT_EQ(NULL, grt__runqsteal(self->p, self->p2, true));
	grt__steal_sleep = saved;
	EXPECT_EQ(1, sim_sleeps);
	EXPECT_FALSE(grt__runqempty(self->p2));
}

TEST_F(runq, back_off_without_batch_when_told)
{
	atomic_store(&grt__sched.nobatch, true);
	back_off_once(_metadata, self, sched_getscheduler(0),
		      sched_getscheduler(0));
}

/*
 * The real sleep of an M whose blocks wake the monitor (m->watched) is a
 * timed wait on its own wake word (runq.c, steal_sleep()). A permit
 * pending when the back-off begins (a wake left for the M while it ran)
 * is not the back-off's to take: the next park of the M must find it,
 * exactly one. The owner here is stuck (it never schedules), so the thief
 * steals after one sleep.
 */
TEST_F(runq, back_off_on_the_wake_word_keeps_a_permit)
{
	sleep_fn real = grt__steal_sleep;
	struct grt_m m = { .watched = true };
	struct grt_g *gp;

	ASSERT_EQ(0, gwake_self(&m.handle));
	grt__tls_m = &m;
	sim_begin(self, real);
	sim_scheduling = false;
	ASSERT_EQ(0, gwake_wake(m.handle));
	gp = grt__runqsteal(self->p, self->p2, true);
	grt__tls_m = NULL;
	ASSERT_NE(NULL, gp);
	EXPECT_EQ(7, (int)gp->id);
	EXPECT_EQ(0, gwake_block(0));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
	/* Without a permit, the sleep ends by its timeout, and none is made. */
	grt__tls_m = &m;
	sim_begin(self, real);
	sim_scheduling = false;
	gp = grt__runqsteal(self->p, self->p2, true);
	grt__tls_m = NULL;
	ASSERT_NE(NULL, gp);
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
}

/* --- Owner and thief at once --------------------------------------------- */

#define STRESS_G	200000

struct stress {
	struct grt_p *victim, *thief;
	struct grt_g *g;
	_Atomic uint8_t *seen;
	atomic_int stop;
	_Atomic uint64_t stolen;
};

static void take(struct stress *st, struct grt_g *gp)
{
	atomic_fetch_add_explicit(&st->seen[gp->id], 1, memory_order_relaxed);
}

/* The thief: owns st->thief, steals from the victim, runs what it took. */
static void *thief_body(void *arg)
{
	struct stress *st = arg;
	struct grt_g *gp;
	bool inherit;

	while (!atomic_load_explicit(&st->stop, memory_order_acquire)) {
		gp = grt__runqsteal(st->thief, st->victim, true);
		if (!gp)
			continue;
		take(st, gp);
		atomic_fetch_add_explicit(&st->stolen, 1, memory_order_relaxed);
		while ((gp = grt__runqget(st->thief, &inherit)))
			take(st, gp);
	}
	return NULL;
}

/*
 * The victim's owner puts batches (run-next and tail, started and not,
 * enough to overflow into the global queue at times) and runs some of
 * them while a thief steals: every G must come out exactly once.
 */
TEST_F(runq, stress_owner_and_thief)
{
	struct stress st = { .victim = self->p, .thief = self->p2 };
	struct grt_g *gp;
	pthread_t t;
	bool inherit;
	int i = 0;

	st.g = calloc(STRESS_G, sizeof(*st.g));
	st.seen = calloc(STRESS_G, sizeof(*st.seen));
	ASSERT_NE(NULL, st.g);
	ASSERT_NE(NULL, st.seen);
	ASSERT_EQ(0, pthread_create(&t, NULL, thief_body, &st));
	while (i < STRESS_G) {
		int batch = 1 + i % 300;

		for (int k = 0; k < batch && i < STRESS_G; k++, i++) {
			st.g[i].id = (uint64_t)i;
			st.g[i].started = i % 3 != 0;
			grt__runqput(st.victim, &st.g[i], i % 5 == 0);
		}
		for (int k = 0; k < batch / 2; k++) {
			gp = grt__runqget(st.victim, &inherit);
			if (!gp)
				break;
			take(&st, gp);
		}
	}
	while ((gp = grt__runqget(st.victim, &inherit)))
		take(&st, gp);
	atomic_store_explicit(&st.stop, 1, memory_order_release);
	pthread_join(t, NULL);
	while ((gp = grt__runqget(st.thief, &inherit)))
		take(&st, gp);
	while ((gp = grt__globrunqget(st.victim, 1)))
		take(&st, gp);
	for (i = 0; i < STRESS_G; i++)
		if (st.seen[i] != 1)
			break;
	EXPECT_EQ(STRESS_G, i) {
		TH_LOG("G %d came out %d times", i, i < STRESS_G ? st.seen[i] : 0);
	}
	TH_LOG("%llu steals succeeded",
	       (unsigned long long)atomic_load(&st.stolen));
	free(st.g);
	free(st.seen);
}

TEST_HARNESS_MAIN
