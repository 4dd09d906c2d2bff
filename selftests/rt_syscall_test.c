// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking system calls and preemption (lib/rt/syscall.c, sysmon.c):
 * a G blocked in a read() on the only P does not stop the others (the
 * monitor takes the P and hands it on), wrapper errors, a blocking
 * sleep of the M, and preemption of a G that never yields: by the
 * signal (the hog keeps its thread and loses its P), and cooperatively
 * at grt_preempt_check() with the signal off. A hog that calls malloc()
 * in a loop is preempted without deadlocking libc. The ration of the
 * monitor's kicks (white-box: the policy alone, and its wiring into
 * grt_syscall_enter()/exit()), and a long call after short ones that
 * used it up. Both backends.
 *
 * Each scenario has one P and would hang without the mechanism under
 * test: the hog (or the blocked reader) holds the P and the G that ends
 * it waits in the run queue. Nothing is timed.
 */
#include <stdlib.h>
#include <sys/syscall.h>

#include "rt_test.h"
#include "rt/sched.h"

GWAKE_BACKEND_FIXTURE(rt_syscall);

/* --- A G blocked in the kernel does not hold the P ------------------------- */

struct pipe_state {
	int fds[2];
	char got[8];
	ssize_t n;
	atomic_int reading;
	atomic_int done;
};

static void reader_g(void *arg)
{
	struct pipe_state *s = arg;

	atomic_store(&s->reading, 1);
	s->n = grt_read(s->fds[0], s->got, sizeof(s->got));
	atomic_store(&s->done, 1);
}

static void pipe_body(void *arg)
{
	struct pipe_state *s = arg;
	int i;

	RT_CHECK_EQ(0, pipe(s->fds));
	RT_GO(reader_g, s);
	/* Let the reader block (it has the only P) ... */
	while (!atomic_load(&s->reading))
		grt_yield();
	/* ... and still run here: the monitor handed the P on. */
	for (i = 0; i < 10; i++)
		grt_yield();
	RT_CHECK_EQ(5, grt_write(s->fds[1], "hello", 5));
	while (!atomic_load(&s->done))
		grt_sleep(100000);
	RT_CHECK_EQ(5, s->n);
	RT_CHECK(!memcmp(s->got, "hello", 5));
	/* Errors come back as -errno, errno untouched. */
	errno = 0;
	RT_CHECK_EQ(-EBADF, grt_read(-1, s->got, 1));
	RT_CHECK_EQ(-EBADF, grt_write(-1, s->got, 1));
	RT_CHECK_EQ(0, errno);
	RT_CHECK_EQ(-EINVAL, grt_nanosleep(-1));
	close(s->fds[0]);
	close(s->fds[1]);
}

TEST_F(rt_syscall, blocked_read_hands_the_p_on)
{
	struct pipe_state s = { 0 };

	RT_RUN(1, pipe_body, &s);
}

static atomic_int ticks;

static void ticker(void *arg)
{
	atomic_int *stop = arg;

	while (!atomic_load(stop)) {
		atomic_fetch_add(&ticks, 1);
		grt_yield();
	}
}

/*
 * arg: short calls to make first, with the ticker waiting: their kicks of
 * the monitor are wasted, and the M runs out of them (see below). Then a
 * long call must still get its P handed on, by a kick or by a tick.
 */
static void nanosleep_body(void *arg)
{
	int i, shorts = (int)(intptr_t)arg;
	atomic_int stop = 0;

	RT_GO(ticker, &stop);
	grt_yield();
	for (i = 0; i < shorts; i++) {
		grt_syscall_enter();
		(void)syscall(SYS_getppid);
		grt_syscall_exit();
	}
	atomic_store(&ticks, 0);
	/* Blocks this M for 50 ms; the ticker runs meanwhile. */
	RT_CHECK_EQ(0, grt_nanosleep(50000000));
	RT_CHECK(atomic_load(&ticks) > 0);
	atomic_store(&stop, 1);
	grt_sleep(1000000);
}

TEST_F(rt_syscall, blocking_sleep_of_the_m)
{
	RT_RUN(1, nanosleep_body, NULL);
}

/* --- Kicks of the monitor are rationed ---------------------------------------- */

/*
 * A call entered with Gs waiting kicks the monitor; a kick that did not
 * get the P taken makes the M skip the next 1, 3, 7, ... 63 calls' kicks,
 * and a call whose P was taken, kicked or not, resets that (sched.h). The
 * policy alone, white-box.
 */
TEST(kicks_are_rationed_after_short_calls)
{
	struct grt_m m = { 0 };
	int i, shift, kicks;

	ASSERT_TRUE(grt__kick_wanted(&m));
	grt__kick_done(&m, false);
	for (shift = 1; shift <= GRT_KICK_SHIFT_MAX + 2; shift++) {
		int cap = shift < GRT_KICK_SHIFT_MAX ? shift : GRT_KICK_SHIFT_MAX;

		/* 2^cap - 1 calls without a kick, then one with. */
		for (i = 0; i < (1 << cap) - 1; i++) {
			ASSERT_FALSE(grt__kick_wanted(&m));
			grt__kick_done(&m, false);
		}
		ASSERT_TRUE(grt__kick_wanted(&m));
		grt__kick_done(&m, false);
	}
	/* A call without a kick that was not taken only uses one up ... */
	ASSERT_FALSE(grt__kick_wanted(&m));
	grt__kick_done(&m, false);
	ASSERT_EQ((1 << GRT_KICK_SHIFT_MAX) - 2, m.kick_skip);
	/* ... one that was taken (by a tick) resets the ration ... */
	ASSERT_FALSE(grt__kick_wanted(&m));
	grt__kick_done(&m, true);
	ASSERT_EQ(0, m.kick_skip);
	ASSERT_EQ(0, m.kick_shift);
	/* ... and so does one with a kick that got taken. */
	ASSERT_TRUE(grt__kick_wanted(&m));
	grt__kick_done(&m, false);
	ASSERT_EQ(1, m.kick_skip);
	ASSERT_FALSE(grt__kick_wanted(&m));
	grt__kick_done(&m, false);
	ASSERT_TRUE(grt__kick_wanted(&m));
	grt__kick_done(&m, true);
	for (kicks = 0, i = 0; i < 4; i++) {
		kicks += grt__kick_wanted(&m);
		grt__kick_done(&m, true);
	}
	ASSERT_EQ(4, kicks);
}

/*
 * The ration is wired into grt_syscall_enter()/exit(): a call entered
 * with a G queued takes a kick, or one from the count left; exit settles
 * it one way or the other (whether the P was taken is up to the monitor
 * and the machine, so both outcomes are accepted, each with its state).
 */
static void ration_body(void *arg)
{
	atomic_int stop = 0;
	struct grt_m *m;

	(void)arg;
	RT_GO(ticker, &stop);
	grt_yield();
	/* The ticker is queued behind us: a kick is due. */
	m = grt__curm();
	m->kick_skip = 0;
	m->kick_shift = 0;
	grt_syscall_enter();
	RT_CHECK(m->kicked);
	grt_syscall_exit();
	RT_CHECK(!m->kicked);
	RT_CHECK((m->kick_shift == 1 && m->kick_skip == 1) ||
		 (m->kick_shift == 0 && m->kick_skip == 0));
	/* With kicks left to skip, the call takes none and uses one up. */
	grt_yield();
	m = grt__curm();
	m->kick_skip = 3;
	m->kick_shift = 2;
	grt_syscall_enter();
	RT_CHECK(!m->kicked);
	RT_CHECK_EQ(2, m->kick_skip);
	grt_syscall_exit();
	atomic_store(&stop, 1);
	grt_sleep(1000000);
}

TEST_F(rt_syscall, kick_ration_is_taken_and_settled)
{
	RT_RUN(1, ration_body, NULL);
}

TEST_F(rt_syscall, long_call_after_short_ones_hands_the_p_on)
{
	RT_RUN(1, nanosleep_body, (void *)(intptr_t)200);
}

/* --- Preemption ----------------------------------------------------------------- */

static atomic_int hog_stop, hog_running;

static void hog_spin(void *arg)
{
	(void)arg;
	atomic_store(&hog_running, 1);
	/* Never calls the runtime. */
	while (!atomic_load_explicit(&hog_stop, memory_order_relaxed))
		__builtin_ia32_pause();
}

static void hog_check(void *arg)
{
	(void)arg;
	atomic_store(&hog_running, 1);
	while (!atomic_load_explicit(&hog_stop, memory_order_relaxed))
		grt_preempt_check();
}

static void hog_malloc(void *arg)
{
	(void)arg;
	atomic_store(&hog_running, 1);
	while (!atomic_load_explicit(&hog_stop, memory_order_relaxed)) {
		void *p = malloc(64 + (rand() & 1023));

		free(p);
	}
}

static void other_malloc(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++)
		free(malloc(100));
}

static void preempt_body(void *arg)
{
	void (*hog)(void *) = arg;
	int i;

	atomic_store(&hog_stop, 0);
	atomic_store(&hog_running, 0);
	RT_GO(hog, NULL);
	/* The hog takes the only P ... */
	while (!atomic_load(&hog_running))
		grt_yield();
	/* ... yet main runs again (it waited in the run queue). */
	for (i = 0; i < 4; i++)
		RT_GO(other_malloc, NULL);
	for (i = 0; i < 20; i++)
		grt_yield();
	atomic_store(&hog_stop, 1);
}

TEST_F(rt_syscall, signal_preempts_a_spinning_g)
{
	RT_RUN(1, preempt_body, hog_spin);
}

TEST_F(rt_syscall, signal_preempts_a_g_inside_malloc)
{
	RT_RUN(1, preempt_body, hog_malloc);
}

TEST_F(rt_syscall, safe_point_preempts_without_signal)
{
	struct grt_config cfg = { .nprocs = 1, .preempt_signal = -1 };

	atomic_store(&rt_check_state.failures, 0);
	ASSERT_EQ(0, grt_run(&cfg, preempt_body, hog_check));
	EXPECT_EQ(0, atomic_load(&rt_check_state.failures))
		TH_LOG("%s", rt_check_state.first);
}

TEST_HARNESS_MAIN
