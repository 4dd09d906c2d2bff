// SPDX-License-Identifier: GPL-2.0
/*
 * LockOSThread (grt_lock_thread/grt_unlock_thread, lib/rt/lockos.c and the
 * locked paths of lib/rt/proc.c): bad use, a locked G keeps its thread
 * across waits, its thread runs nothing else, it is woken directly,
 * nesting, GRT_LOCK_MAIN, a locked G that exits takes its thread along,
 * more locked Gs than Ps, and the deadlock report. Both backends.
 */
#include <dirent.h>
#include <stdio.h>

#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_lock);

/* --- Bad use ----------------------------------------------------------------- */

static void unbalanced_body(void *arg)
{
	int i;

	(void)arg;
	/* Unlocking a thread that is not locked: an error, never ignored. */
	RT_CHECK_EQ(-EPERM, grt_unlock_thread());
	for (i = 0; i < 3; i++)
		RT_CHECK_EQ(0, grt_lock_thread());
	for (i = 0; i < 3; i++)
		RT_CHECK_EQ(0, grt_unlock_thread());
	RT_CHECK_EQ(-EPERM, grt_unlock_thread());
}

TEST_F(rt_lock, unlock_not_locked_is_eperm)
{
	EXPECT_EQ(-EPERM, grt_lock_thread());
	EXPECT_EQ(-EPERM, grt_unlock_thread());
	RT_RUN(2, unbalanced_body, NULL);
}

/* --- A locked G keeps its thread, which runs nothing else ------------------- */

struct pin {
	struct grt_chan *to, *from;
	atomic_int locked_tid;
	atomic_int intruders;
	atomic_int others;
	long sum;
};

#define PIN_ROUNDS	2000

static void pinned_g(void *arg)
{
	struct pin *p = arg;
	pid_t tid;
	long v;
	int i;

	RT_CHECK_EQ(0, grt_lock_thread());
	tid = gwake_test_gettid();
	atomic_store(&p->locked_tid, tid);
	for (i = 0; i < PIN_ROUNDS; i++) {
		RT_CHECK_EQ(1, grt_chan_recv(p->to, &v));
		RT_CHECK_EQ(tid, gwake_test_gettid());
		v++;
		RT_CHECK_EQ(0, grt_chan_send(p->from, &v));
		if (i % 100 == 0) {
			grt_sleep(10000);	/* a timer wait, too */
			RT_CHECK_EQ(tid, gwake_test_gettid());
		}
	}
	/*
	 * Once unlocked, this thread may run any G: an other_g still
	 * yielding (a slow VM) would count a legitimate run as an intrusion.
	 * Withdraw the tid first; only runs while we held the lock count.
	 */
	atomic_store(&p->locked_tid, 0);
	RT_CHECK_EQ(0, grt_unlock_thread());
}

static void other_g(void *arg)
{
	struct pin *p = arg;
	int i;

	for (i = 0; i < 50; i++) {
		if (gwake_test_gettid() == atomic_load(&p->locked_tid))
			atomic_fetch_add(&p->intruders, 1);
		grt_yield();
	}
	atomic_fetch_add(&p->others, 1);
}

static void pin_body(void *arg)
{
	struct pin *p = arg;
	long v = 0;
	int i;

	RT_CHECK_EQ(0, grt_chan_make(&p->to, sizeof(long), 0));
	RT_CHECK_EQ(0, grt_chan_make(&p->from, sizeof(long), 0));
	RT_GO(pinned_g, p);
	for (i = 0; i < 20; i++)
		RT_GO(other_g, p);
	for (i = 0; i < PIN_ROUNDS; i++) {
		RT_CHECK_EQ(0, grt_chan_send(p->to, &v));
		RT_CHECK_EQ(1, grt_chan_recv(p->from, &v));
	}
	p->sum = v;
	while (atomic_load(&p->others) < 20)
		grt_yield();
	grt_chan_free(p->to);
	grt_chan_free(p->from);
}

TEST_F(rt_lock, locked_g_keeps_its_thread_exclusively)
{
	struct pin p = { 0 };

	RT_RUN(2, pin_body, &p);
	EXPECT_EQ(PIN_ROUNDS, p.sum);
	EXPECT_EQ(0, atomic_load(&p.intruders));
	memset(&p, 0, sizeof(p));
	/* One P: the locked M and the others take turns with it. */
	RT_RUN(1, pin_body, &p);
	EXPECT_EQ(PIN_ROUNDS, p.sum);
	EXPECT_EQ(0, atomic_load(&p.intruders));
}

/* --- GRT_LOCK_MAIN ------------------------------------------------------------- */

static void lock_main_body(void *arg)
{
	pid_t caller = *(pid_t *)arg;

	RT_CHECK_EQ(caller, gwake_test_gettid());
	RT_CHECK_EQ(0, grt_sleep(1000000));
	RT_CHECK_EQ(caller, gwake_test_gettid());
	/* GRT_LOCK_MAIN is one lock main may drop. */
	RT_CHECK_EQ(0, grt_unlock_thread());
	RT_CHECK_EQ(-EPERM, grt_unlock_thread());
}

TEST_F(rt_lock, lock_main_runs_on_the_calling_thread)
{
	struct grt_config cfg = { .nprocs = 2, .flags = GRT_LOCK_MAIN };
	pid_t me = gwake_test_gettid();

	atomic_store(&rt_check_state.failures, 0);
	ASSERT_EQ(0, grt_run(&cfg, lock_main_body, &me));
	EXPECT_EQ(0, atomic_load(&rt_check_state.failures))
		TH_LOG("%s", rt_check_state.first);
}

/* --- A G that ends locked takes its thread ---------------------------------- */

static atomic_int dying_tid;

static void die_locked(void *arg)
{
	(void)arg;
	RT_CHECK_EQ(0, grt_lock_thread());
	atomic_store(&dying_tid, gwake_test_gettid());
}

static bool task_exists(pid_t tid)
{
	char path[64];
	DIR *d;

	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	d = opendir(path);
	if (d)
		closedir(d);
	return d != NULL;
}

static void die_locked_body(void *arg)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	(void)arg;
	atomic_store(&dying_tid, 0);
	/* Hold our own thread, so the dying G must run on another. */
	RT_CHECK_EQ(0, grt_lock_thread());
	RT_GO(die_locked, NULL);
	while (!atomic_load(&dying_tid))
		grt_yield();
	RT_CHECK(atomic_load(&dying_tid) != gwake_test_gettid());
	while (task_exists(atomic_load(&dying_tid)) &&
	       gwake_test_now_ns() < end)
		grt_sleep(1000000);
	RT_CHECK(!task_exists(atomic_load(&dying_tid)));
}

TEST_F(rt_lock, locked_g_exit_ends_its_thread)
{
	RT_RUN(2, die_locked_body, NULL);
}

/* --- More locked Gs than Ps ----------------------------------------------------- */

#define NLOCKED		8

struct lw {
	struct grt_chan *done, *release;
};

static void locked_worker(void *arg)
{
	struct lw *lw = arg;
	pid_t tid;
	int i;

	RT_CHECK_EQ(0, grt_lock_thread());
	tid = gwake_test_gettid();
	for (i = 0; i < 200; i++) {
		if (i % 2)
			grt_yield();
		else
			grt_sleep(1000);
		RT_CHECK_EQ(tid, gwake_test_gettid());
	}
	RT_CHECK_EQ(0, grt_chan_send(lw->done, &tid));
	/* Stay locked until every worker reported: only Gs locked at the
	 * same time must have threads of their own (a thread is reused
	 * once its G unlocked). */
	RT_CHECK_EQ(0, grt_chan_recv(lw->release, NULL));
	RT_CHECK_EQ(0, grt_unlock_thread());
	RT_CHECK_EQ(0, grt_chan_send(lw->done, &tid));
}

static void many_locked_body(void *arg)
{
	struct lw lw;
	pid_t tids[NLOCKED];
	int i, j;

	(void)arg;
	RT_CHECK_EQ(0, grt_chan_make(&lw.done, sizeof(pid_t), 0));
	RT_CHECK_EQ(0, grt_chan_make(&lw.release, 0, 0));
	for (i = 0; i < NLOCKED; i++)
		RT_GO(locked_worker, &lw);
	for (i = 0; i < NLOCKED; i++)
		RT_CHECK_EQ(1, grt_chan_recv(lw.done, &tids[i]));
	/* Each on a thread of its own. */
	for (i = 0; i < NLOCKED; i++)
		for (j = i + 1; j < NLOCKED; j++)
			RT_CHECK(tids[i] != tids[j]);
	grt_chan_close(lw.release);
	for (i = 0; i < NLOCKED; i++)
		RT_CHECK_EQ(1, grt_chan_recv(lw.done, &tids[i]));
	RT_CHECK_EQ(0, grt_chan_free(lw.release));
	RT_CHECK_EQ(0, grt_chan_free(lw.done));
}

TEST_F(rt_lock, more_locked_gs_than_ps)
{
	RT_RUN(1, many_locked_body, NULL);
	RT_RUN(2, many_locked_body, NULL);
}

/* --- Deadlock with a locked G ----------------------------------------------------- */

static void locked_deadlock_body(void *arg)
{
	struct grt_chan *c;

	(void)arg;
	grt_chan_make(&c, 0, 0);
	grt_lock_thread();
	grt_chan_recv(c, NULL);
}

TEST_F(rt_lock, deadlock_of_a_locked_main_is_reported)
{
	char path[] = "/tmp/rt_lock_XXXXXX", out[2048];
	struct grt_config cfg = { .nprocs = 2 };
	int fd = mkstemp(path), saved, ret;
	ssize_t n;

	ASSERT_LE(0, fd);
	unlink(path);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	ret = grt_run(&cfg, locked_deadlock_body, NULL);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	EXPECT_EQ(-EDEADLK, ret);
	EXPECT_NE(NULL, strstr(out, "G1 [chan receive, locked to thread, main]"))
		TH_LOG("report: %s", out);
}

/* --- A locked G that only yields does not starve the sleepers of its P --- */

static atomic_int slept;

static void sleeper(void *arg)
{
	(void)arg;
	grt_sleep(1000000);
	atomic_store(&slept, 1);
}

static void locked_yielder_body(void *arg)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	(void)arg;
	atomic_store(&slept, 0);
	RT_CHECK_EQ(0, grt_lock_thread());
	RT_GO(sleeper, NULL);
	grt_yield();		/* the sleeper parks on its timer */
	/* One P, held by this locked G: only its yields run the timer. */
	while (!atomic_load(&slept) && gwake_test_now_ns() < end)
		grt_yield();
	RT_CHECK(atomic_load(&slept));
	RT_CHECK_EQ(0, grt_unlock_thread());
}

TEST_F(rt_lock, locked_yielder_runs_timers)
{
	/* No preemption signal: it would hand the P on after 10 ms and
	 * hide the bug this looks for. */
	struct grt_config cfg = { .nprocs = 1, .preempt_signal = -1 };

	atomic_store(&rt_check_state.failures, 0);
	ASSERT_EQ(0, grt_run(&cfg, locked_yielder_body, NULL));
	EXPECT_EQ(0, atomic_load(&rt_check_state.failures))
		TH_LOG("%s", rt_check_state.first);
}

TEST_HARNESS_MAIN
