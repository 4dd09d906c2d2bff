// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's core (lib/rt/proc.c, timer.c, stack.c, ctx_x86_64.S):
 * grt_run() arguments and restart, spawn/yield/exit, the G context switch
 * (callee-saved registers, MXCSR, x87 control word), sleep, the deadlock
 * report, and a stress of 10^6 Gs spawned in total across every P with an
 * exact count. Both wake-word backends: idle Ms park on them.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <xmmintrin.h>

#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_sched);

static void nop_body(void *arg)
{
	(void)arg;
}

/* --- Bad input ---------------------------------------------------------- */

TEST_F(rt_sched, run_bad_args)
{
	struct grt_config cfg = { 0 };

	EXPECT_EQ(-EINVAL, grt_run(NULL, NULL, NULL));
	cfg.flags = 0x80;
	EXPECT_EQ(-EINVAL, grt_run(&cfg, nop_body, NULL));
	cfg.flags = 0;
	cfg.nprocs = GRT_NPROCS_MAX + 1;
	EXPECT_EQ(-EINVAL, grt_run(&cfg, nop_body, NULL));
	cfg.nprocs = 1;
	cfg.stack_size = GRT_STACK_MIN - 1;
	EXPECT_EQ(-EINVAL, grt_run(&cfg, nop_body, NULL));
	cfg.stack_size = 0;
	/* Still usable after every refusal. */
	EXPECT_EQ(0, grt_run(&cfg, nop_body, NULL));
	EXPECT_EQ(0, grt_run(NULL, nop_body, NULL));
}

TEST_F(rt_sched, calls_outside_a_g)
{
	EXPECT_EQ(-EPERM, grt_go(nop_body, NULL));
	EXPECT_EQ(-EINVAL, grt_go(NULL, NULL));
	EXPECT_EQ(-EPERM, grt_sleep(1));
	EXPECT_EQ(0u, grt_id());
	EXPECT_EQ(0u, grt_nprocs());
	grt_yield();		/* no-ops */
	grt_preempt_check();
	grt_syscall_enter();
	grt_syscall_exit();
}

static void nested_run_body(void *arg)
{
	(void)arg;
	/* One runtime per process, not reentrant. */
	RT_CHECK_EQ(-EBUSY, grt_run(NULL, nop_body, NULL));
	RT_CHECK(grt_nprocs() == 3);
	RT_CHECK(grt_id() != 0);
}

TEST_F(rt_sched, nested_run_is_busy)
{
	RT_RUN(3, nested_run_body, NULL);
}

/* --- Spawn, yield, exit ----------------------------------------------------- */

struct order {
	atomic_int seq;
	int log[16];
};

static void order_g(void *arg)
{
	struct order *o = arg;
	int i;

	for (i = 0; i < 3; i++) {
		o->log[atomic_fetch_add(&o->seq, 1)] = (int)grt_id();
		grt_yield();
	}
}

static void yield_body(void *arg)
{
	struct order *o = arg;
	uint64_t a, b;
	int i;

	(void)arg;
	RT_GO(order_g, o);
	RT_GO(order_g, o);
	/* On one P with nothing else runnable, the two alternate. */
	while (atomic_load(&o->seq) < 6)
		grt_yield();
	a = (uint64_t)o->log[0];
	b = (uint64_t)o->log[1];
	RT_CHECK(a != b);
	for (i = 2; i < 6; i++)
		RT_CHECK_EQ(i % 2 ? b : a, o->log[i]);
}

TEST_F(rt_sched, yield_alternates_on_one_p)
{
	struct order o = { 0 };

	RT_RUN(1, yield_body, &o);
}

static atomic_int exit_reached;

static void (*volatile exit_fn)(void) = grt_exit;

static void deep_exit(int depth)
{
	if (!depth)
		exit_fn();
	else
		deep_exit(depth - 1);
	atomic_store(&exit_reached, -100);	/* never */
}

static void exit_g(void *arg)
{
	(void)arg;
	atomic_fetch_add(&exit_reached, 1);
	deep_exit(20);
}

static void blocked_forever(void *arg)
{
	struct grt_chan *c = arg;

	grt_chan_recv(c, NULL);
}

static void exit_body(void *arg)
{
	struct grt_chan *c;
	int i;

	(void)arg;
	RT_CHECK_EQ(0, grt_chan_make(&c, 0, 0));
	for (i = 0; i < 10; i++)
		RT_GO(exit_g, NULL);
	/* Gs still blocked when main returns are discarded, as in Go. */
	for (i = 0; i < 10; i++)
		RT_GO(blocked_forever, c);
	while (atomic_load(&exit_reached) < 10)
		grt_yield();
	grt_exit();		/* main may end with grt_exit() too */
}

TEST_F(rt_sched, exit_from_deep_frames_and_main)
{
	RT_RUN(2, exit_body, NULL);
	EXPECT_EQ(10, atomic_load(&exit_reached));
}

/* --- The context switch keeps the floating-point control state ------------ */

static atomic_int fp_bad;

static void fp_g(void *arg)
{
	unsigned int mode = (unsigned int)(uintptr_t)arg;

	uint16_t rc = mode == _MM_ROUND_UP ? 2 : 3;
	int i;

	_MM_SET_ROUNDING_MODE(mode);
	x87_set_rc(rc);
	for (i = 0; i < 1000; i++) {
		grt_yield();
		if (_MM_GET_ROUNDING_MODE() != mode)
			atomic_fetch_add(&fp_bad, 1);
		if (((x87_cw() >> 10) & 3) != rc)
			atomic_fetch_add(&fp_bad, 1);
	}
}

static void fp_body(void *arg)
{
	unsigned int before = _mm_getcsr();
	uint16_t cw = x87_cw();

	(void)arg;
	RT_GO(fp_g, (void *)(uintptr_t)_MM_ROUND_UP);
	RT_GO(fp_g, (void *)(uintptr_t)_MM_ROUND_TOWARD_ZERO);
	for (int i = 0; i < 1500; i++)
		grt_yield();
	/* Main's own control state was never touched by the others. */
	RT_CHECK_EQ(before, _mm_getcsr());
	RT_CHECK_EQ(cw, x87_cw());
}

TEST_F(rt_sched, switch_keeps_mxcsr_and_x87_cw)
{
	atomic_store(&fp_bad, 0);
	RT_RUN(2, fp_body, NULL);
	EXPECT_EQ(0, atomic_load(&fp_bad));
}

/*
 * The same through g0: Gs that park and are readied (a channel ring) leave
 * their M for g0 and come back from it, and g0 stores the modes it knows
 * instead of reading them (grt__ctx_swap_g0). grt_run() is called with
 * modes that are not the defaults, so M0's g0 (the caller's stack) runs
 * with them, and so do the Ms main starts before it changes its own (a
 * new thread inherits its creator's modes); then each G of the ring takes
 * modes of its own, main the defaults: a g0 that took its modes for the
 * defaults resumes main on M0 without loading them, at every round. One G
 * changes its modes again halfway and starts an OS thread from there.
 * Afterwards the thread that called grt_run() has its own modes back.
 */
#define FP_RING		3
#define FP_ROUNDS	500

struct fp_ring {
	struct grt_chan *ch[FP_RING];
	struct grt_waitgroup wg;
};

static long fp_noop(void *arg)
{
	return (long)(uintptr_t)arg;
}

static void fp_check(unsigned int mode, uint16_t rc)
{
	if (_MM_GET_ROUNDING_MODE() != mode)
		atomic_fetch_add(&fp_bad, 1);
	if (((x87_cw() >> 10) & 3) != rc)
		atomic_fetch_add(&fp_bad, 1);
}

static void fp_ring_g(struct fp_ring *r, int me)
{
	static const unsigned int modes[FP_RING] = {
		_MM_ROUND_NEAREST, _MM_ROUND_UP, _MM_ROUND_TOWARD_ZERO,
	};
	unsigned int mode = modes[me];
	uint16_t rc = (uint16_t)(me ? me + 1 : 0);
	struct grt_thread *t = NULL;
	int i, tok = 0;

	_MM_SET_ROUNDING_MODE(mode);
	x87_set_rc(rc);
	for (i = 0; i < FP_ROUNDS; i++) {
		if (me || i)
			RT_CHECK_EQ(1, grt_chan_recv(r->ch[me], &tok));
		fp_check(mode, rc);
		if (me == 1 && i == FP_ROUNDS / 2) {
			mode = _MM_ROUND_DOWN;
			rc = 1;
			_MM_SET_ROUNDING_MODE(mode);
			x87_set_rc(rc);
			RT_CHECK_EQ(0, grt_thread_start(&t));
			RT_CHECK_EQ(0, grt_thread_call(t, fp_noop, NULL, NULL));
			fp_check(mode, rc);
		}
		if (me < FP_RING - 1 || i < FP_ROUNDS - 1)
			RT_CHECK_EQ(0, grt_chan_send(r->ch[(me + 1) % FP_RING],
						     &tok));
		fp_check(mode, rc);
	}
	if (t)
		grt_thread_free(t);
	grt_waitgroup_done(&r->wg);
}

static void fp_ring_g1(void *arg)
{
	fp_ring_g(arg, 1);
}

static void fp_ring_g2(void *arg)
{
	fp_ring_g(arg, 2);
}

static void fp_ring_body(void *arg)
{
	struct fp_ring *r = arg;
	int i;

	for (i = 0; i < FP_RING; i++)
		RT_CHECK_EQ(0, grt_chan_make(&r->ch[i], sizeof(int), 0));
	grt_waitgroup_add(&r->wg, 2);
	RT_GO(fp_ring_g1, r);
	RT_GO(fp_ring_g2, r);
	grt_waitgroup_add(&r->wg, 1);
	fp_ring_g(r, 0);
	grt_waitgroup_wait(&r->wg);
	for (i = 0; i < FP_RING; i++)
		grt_chan_free(r->ch[i]);
}

TEST_F(rt_sched, parked_gs_keep_their_modes_through_g0)
{
	unsigned int csr = _mm_getcsr();
	uint16_t cw = x87_cw();
	struct fp_ring r;
	unsigned int down;

	memset(&r, 0, sizeof(r));
	atomic_store(&fp_bad, 0);
	_MM_SET_ROUNDING_MODE(_MM_ROUND_DOWN);
	x87_set_rc(1);
	down = _mm_getcsr();
	RT_RUN(2, fp_ring_body, &r);
	EXPECT_EQ(0, atomic_load(&fp_bad));
	/* The caller's own modes are back (only its flags may differ). */
	EXPECT_EQ(down & ~0x3fu, _mm_getcsr() & ~0x3fu);
	EXPECT_EQ(1, (x87_cw() >> 10) & 3);
	_mm_setcsr(csr);
	x87_set_cw(cw);
	EXPECT_EQ(csr, _mm_getcsr());
	EXPECT_EQ(cw, x87_cw());
}

/* --- Sleep ------------------------------------------------------------------- */

struct sleeper {
	int64_t ns;
	int *log;
	atomic_int *n, *arrived;
	struct grt_chan *gate, *done;
};

static void sleeper_g(void *arg)
{
	struct sleeper *s = arg;
	int64_t t0;

	/* All sleepers start their sleep together, when the gate closes. */
	atomic_fetch_add(s->arrived, 1);
	RT_CHECK_EQ(0, grt_chan_recv(s->gate, NULL));
	t0 = gwake_test_now_ns();
	RT_CHECK_EQ(0, grt_sleep(s->ns));
	RT_CHECK(gwake_test_now_ns() - t0 >= s->ns);
	s->log[atomic_fetch_add(s->n, 1)] = (int)(s->ns / NSEC_PER_MSEC);
	grt_chan_send(s->done, NULL);
}

static void sleep_body(void *arg)
{
	static const int ms[] = { 30, 10, 20, 0 };
	struct sleeper s[4];
	struct grt_chan *done, *gate;
	atomic_int n = 0, arrived = 0;
	int log[4] = { 0 }, i;

	(void)arg;
	RT_CHECK_EQ(0, grt_chan_make(&done, 0, 4));
	RT_CHECK_EQ(0, grt_chan_make(&gate, 0, 0));
	for (i = 0; i < 4; i++) {
		s[i] = (struct sleeper){ ms[i] * NSEC_PER_MSEC, log, &n, &arrived, gate, done };
		RT_GO(sleeper_g, &s[i]);
	}
	/*
	 * Started in one go, rather than as each G first runs: on a slow
	 * kernel (the debug VM) the Gs' first runs can lie more than 10 ms
	 * apart, and their deadlines would then not be in the order of ms[].
	 */
	RT_CHECK(rt_yield_until(&arrived, 4));
	RT_CHECK_EQ(0, grt_chan_close(gate));
	for (i = 0; i < 4; i++)
		grt_chan_recv(done, NULL);
	/* Deadlines 10 ms apart expire in order (no time is asserted). */
	RT_CHECK_EQ(0, log[0]);
	RT_CHECK_EQ(10, log[1]);
	RT_CHECK_EQ(20, log[2]);
	RT_CHECK_EQ(30, log[3]);
	grt_chan_free(done);
	grt_chan_free(gate);
}

TEST_F(rt_sched, sleep_wakes_in_deadline_order)
{
	RT_RUN(1, sleep_body, NULL);
	RT_RUN(2, sleep_body, NULL);
}

/*
 * An idle runtime's timer wakes an M that runs its P without waking the
 * monitor (lib/rt/proc.c, "An idle runtime's timers"). The monitor must
 * be back as soon as the P does more than run the G the timer woke: a hog
 * on one P while another timer is due, or a blocking system call while a
 * G readied from outside waits for the P. Without the monitor, each
 * would wait for ever: the hog is never preempted, the P in the system
 * call never handed off. Each wait here is bounded (GWAKE_TEST_LONG_NS).
 */
struct unwatched {
	atomic_int flag;
	int pipe[2];
	struct grt_chan *c;
	atomic_int reading;
};

static void late_setter(void *arg)
{
	struct unwatched *u = arg;

	grt_sleep(20 * NSEC_PER_MSEC);
	atomic_store(&u->flag, 1);
}

static void hog_after_timer_body(void *arg)
{
	struct unwatched *u = arg;
	int64_t end;

	RT_GO(late_setter, u);
	grt_sleep(5 * NSEC_PER_MSEC);	/* everything idle: an M sleeps */
	/* A hog: no runtime call until the other timer's G has run. */
	end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	while (!atomic_load(&u->flag) && gwake_test_now_ns() < end)
		;
	RT_CHECK(atomic_load(&u->flag));
}

TEST_F(rt_sched, timer_woken_hog_is_preempted)
{
	static struct unwatched u;

	atomic_store(&u.flag, 0);
	RT_RUN(1, hog_after_timer_body, &u);
}

static void pipe_writer(void *arg)
{
	struct unwatched *u = arg;

	RT_CHECK(grt_chan_recv(u->c, NULL) == 1);
	RT_CHECK(grt_write(u->pipe[1], "x", 1) == 1);
}

/* Outside the runtime: ready pipe_writer while main blocks in read(). */
static void *outside_sender(void *arg)
{
	struct unwatched *u = arg;
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	struct timespec ms = { 0, 1000000 };

	while (!atomic_load(&u->reading) && gwake_test_now_ns() < end)
		nanosleep(&ms, NULL);
	nanosleep(&ms, NULL);		/* let main get into read() */
	while (grt_chan_try_send(u->c, NULL) == -EAGAIN &&
	       gwake_test_now_ns() < end)
		nanosleep(&ms, NULL);
	/* Nobody took the P over: end main's read ourselves, and fail. */
	while (!atomic_load(&u->flag) && gwake_test_now_ns() < end)
		nanosleep(&ms, NULL);
	if (!atomic_load(&u->flag))
		(void)!write(u->pipe[1], "y", 1);
	return NULL;
}

static void syscall_after_timer_body(void *arg)
{
	struct unwatched *u = arg;
	char b = 0;

	RT_GO(pipe_writer, u);
	grt_sleep(5 * NSEC_PER_MSEC);	/* everything idle: an M sleeps */
	atomic_store(&u->reading, 1);
	RT_CHECK(grt_read(u->pipe[0], &b, 1) == 1);
	atomic_store(&u->flag, 1);
	RT_CHECK(b == 'x');
}

TEST_F(rt_sched, timer_woken_syscall_hands_off_its_p)
{
	static struct unwatched u;
	pthread_t t;

	memset(&u, 0, sizeof(u));
	ASSERT_EQ(0, pipe(u.pipe));
	ASSERT_EQ(0, grt_chan_make(&u.c, 0, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, outside_sender, &u));
	RT_RUN(1, syscall_after_timer_body, &u);
	pthread_join(t, NULL);
	grt_chan_free(u.c);
	close(u.pipe[0]);
	close(u.pipe[1]);
}

/*
 * Two more who need the P of a hog woken by a timer, with one P: a G back
 * from a system call whose P was handed off (it queues globally and finds
 * no idle P), and a locked G readied by the hog (its M finds no P and
 * waits for one). Both need the monitor to preempt the hog.
 */
static void syscall_reader(void *arg)
{
	struct unwatched *u = arg;
	char b;

	RT_CHECK(grt_read(u->pipe[0], &b, 1) == 1);
	atomic_store(&u->flag, 1);
}

static void *write_when_hogging(void *arg)
{
	struct unwatched *u = arg;
	struct timespec ms = { 0, 1000000 };
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	while (!atomic_load(&u->reading) && gwake_test_now_ns() < end)
		nanosleep(&ms, NULL);
	nanosleep(&ms, NULL);
	(void)!write(u->pipe[1], "x", 1);
	return NULL;
}

static void hog_vs_syscall_body(void *arg)
{
	struct unwatched *u = arg;
	int64_t end;

	RT_GO(syscall_reader, u);
	grt_sleep(20 * NSEC_PER_MSEC);	/* reader in read(), P handed off */
	atomic_store(&u->reading, 1);	/* now hog; the write comes */
	end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	while (!atomic_load(&u->flag) && gwake_test_now_ns() < end)
		;
	RT_CHECK(atomic_load(&u->flag));
}

TEST_F(rt_sched, timer_woken_hog_yields_to_g_back_from_syscall)
{
	static struct unwatched u;
	pthread_t t;

	memset(&u, 0, sizeof(u));
	ASSERT_EQ(0, pipe(u.pipe));
	ASSERT_EQ(0, pthread_create(&t, NULL, write_when_hogging, &u));
	RT_RUN(1, hog_vs_syscall_body, &u);
	pthread_join(t, NULL);
	close(u.pipe[0]);
	close(u.pipe[1]);
}

static void hog_after_ready_locked(void *arg)
{
	struct unwatched *u = arg;
	int64_t end;

	grt_sleep(20 * NSEC_PER_MSEC);	/* everything idle: an M sleeps */
	RT_CHECK_EQ(0, grt_chan_send(u->c, NULL));	/* readies main */
	end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	while (!atomic_load(&u->flag) && gwake_test_now_ns() < end)
		;
	RT_CHECK(atomic_load(&u->flag));
}

static void locked_main_body(void *arg)
{
	struct unwatched *u = arg;

	RT_GO(hog_after_ready_locked, u);
	RT_CHECK(grt_chan_recv(u->c, NULL) == 1);
	atomic_store(&u->flag, 1);
}

TEST_F(rt_sched, timer_woken_hog_yields_to_locked_g)
{
	struct grt_config cfg = { .nprocs = 1, .flags = GRT_LOCK_MAIN };
	static struct unwatched u;

	memset(&u, 0, sizeof(u));
	ASSERT_EQ(0, grt_chan_make(&u.c, 0, 0));
	RT_RUN_CFG(&cfg, locked_main_body, &u);
	grt_chan_free(u.c);
}

/*
 * A G woken by a timer (T) spawns a G that another P steals (waking one
 * more M that finds nothing: each M that takes a P while T's runs
 * unwatched may switch one G in unwatched), readies a G (H) into its own
 * runnext and sleeps: T's P then runs H, a hog, while T's timer sits on
 * that P. H must not keep T's sleep from ending: H's switch-in is the
 * second on T's M and must wake the monitor, which preempts H. (With one
 * count of unwatched switch-ins shared by every M, the spinner's unused
 * one let H in unwatched and T's 1 ms sleep ended when H gave up.)
 */
struct late_sleep {
	struct grt_chan *hch, *done;
	atomic_int a_ran, t_woke, h_saw_t;
};

static void late_a(void *arg)
{
	struct late_sleep *ls = arg;

	atomic_store(&ls->a_ran, 1);
}

static void late_hog(void *arg)
{
	struct late_sleep *ls = arg;
	int64_t end;

	RT_CHECK(grt_chan_recv(ls->hch, NULL) == 1);
	end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	while (!atomic_load(&ls->t_woke) && gwake_test_now_ns() < end)
		;
	atomic_store(&ls->h_saw_t, atomic_load(&ls->t_woke));
	RT_CHECK_EQ(0, grt_chan_send(ls->done, NULL));
}

static void late_sleeper(void *arg)
{
	struct late_sleep *ls = arg;
	int64_t end;

	grt_sleep(30 * NSEC_PER_MSEC);	/* everything idle: an M sleeps */
	RT_GO(late_a, ls);
	end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	while (!atomic_load(&ls->a_ran) && gwake_test_now_ns() < end)
		;
	end = gwake_test_now_ns() + 2 * NSEC_PER_MSEC;
	while (gwake_test_now_ns() < end)
		;
	RT_CHECK_EQ(0, grt_chan_send(ls->hch, NULL));	/* H: our runnext */
	grt_sleep(NSEC_PER_MSEC);			/* our P runs H */
	atomic_store(&ls->t_woke, 1);
	RT_CHECK_EQ(0, grt_chan_send(ls->done, NULL));
}

static void late_sleep_body(void *arg)
{
	struct late_sleep *ls = arg;

	RT_CHECK_EQ(0, grt_chan_make(&ls->hch, 0, 0));
	RT_CHECK_EQ(0, grt_chan_make(&ls->done, 0, 0));
	RT_GO(late_hog, ls);
	RT_GO(late_sleeper, ls);
	RT_CHECK(grt_chan_recv(ls->done, NULL) == 1);
	RT_CHECK(grt_chan_recv(ls->done, NULL) == 1);
	RT_CHECK(atomic_load(&ls->h_saw_t));
	grt_chan_free(ls->hch);
	grt_chan_free(ls->done);
}

TEST_F(rt_sched, timer_woken_sleep_is_not_stuck_behind_hog)
{
	static struct late_sleep ls;

	memset(&ls, 0, sizeof(ls));
	RT_RUN(3, late_sleep_body, &ls);
}

/* --- Deadlock --------------------------------------------------------------------- */

static void deadlock_body(void *arg)
{
	struct grt_chan *c;

	(void)arg;
	grt_chan_make(&c, sizeof(int), 0);
	grt_go(blocked_forever, c);
	grt_sleep(NSEC_PER_MSEC);	/* a pending timer is not a deadlock */
	grt_chan_recv(c, NULL);		/* nobody will ever send */
}

TEST_F(rt_sched, deadlock_is_reported_with_blocked_gs)
{
	char out[4096];

	EXPECT_EQ(-EDEADLK, rt_run_capture(_metadata, 2, deadlock_body, NULL,
					   out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "all goroutines are asleep - deadlock!"));
	/* Both Gs, main first-class, with what they wait for. */
	EXPECT_NE(NULL, strstr(out, "G1 [chan receive, main]"));
	EXPECT_NE(NULL, strstr(out, "G2 [chan receive]"));
	/* And the runtime is usable again afterwards. */
	EXPECT_EQ(0, grt_run(NULL, nop_body, NULL));
}

/* --- Stress: 10^6 Gs spawned in total ---------------------------------------- */

#define SPAWN_TOTAL	1000000
#define SPAWN_WAVE	1000

struct spawn_state {
	atomic_long sum;
	atomic_int done;
	struct grt_chan *wave;
};

static void spawned_g(void *arg)
{
	struct spawn_state *s = arg;

	atomic_fetch_add_explicit(&s->sum, (long)grt_id() & 0xff,
				  memory_order_relaxed);
	if (atomic_fetch_add(&s->done, 1) % SPAWN_WAVE == SPAWN_WAVE - 1)
		grt_chan_send(s->wave, NULL);
}

struct spawner {
	struct spawn_state *s;
	int count;
	atomic_long ids;
};

static void spawner_g(void *arg)
{
	struct spawner *sp = arg;
	int i;

	for (i = 0; i < sp->count; i++) {
		int r;

		while ((r = grt_go(spawned_g, sp->s)) == -EAGAIN)
			grt_yield();
		RT_CHECK_EQ(0, r);
	}
}

static void spawn_body(void *arg)
{
	struct spawn_state *s = arg;
	struct spawner sp[4];
	int i;

	RT_CHECK_EQ(0, grt_chan_make(&s->wave, 0, SPAWN_TOTAL / SPAWN_WAVE));
	/* Spawners on every P at once. */
	for (i = 0; i < 4; i++) {
		sp[i] = (struct spawner){ .s = s, .count = SPAWN_TOTAL / 4 };
		RT_GO(spawner_g, &sp[i]);
	}
	for (i = 0; i < SPAWN_TOTAL / SPAWN_WAVE; i++)
		grt_chan_recv(s->wave, NULL);
	RT_CHECK_EQ(SPAWN_TOTAL, atomic_load(&s->done));
}

TEST_F_TIMEOUT(rt_sched, stress_million_spawns, 600)
{
	struct spawn_state s = { 0 };

	RT_RUN(0, spawn_body, &s);
	EXPECT_EQ(SPAWN_TOTAL, atomic_load(&s.done));
	EXPECT_LT(0, atomic_load(&s.sum));
}

/* A spawn tree (skynet's shape, smaller): 10^5 leaves, exact sum. */
struct tree {
	long num;
	int size;
	long *out;
	struct grt_chan *up;
};

static void tree_g(void *arg)
{
	struct tree *t = arg, kids[10];
	struct grt_chan *c;
	long sum = 0, v;
	int i;

	if (t->size == 1) {
		grt_chan_send(t->up, &t->num);
		return;
	}
	grt_chan_make(&c, sizeof(long), 0);
	for (i = 0; i < 10; i++) {
		kids[i] = (struct tree){ t->num + i * (t->size / 10),
					 t->size / 10, NULL, c };
		RT_GO(tree_g, &kids[i]);
	}
	for (i = 0; i < 10; i++) {
		grt_chan_recv(c, &v);
		sum += v;
	}
	grt_chan_free(c);
	grt_chan_send(t->up, &sum);
}

static void tree_body(void *arg)
{
	struct tree root = { 0, 100000, NULL, NULL };
	long *out = arg;

	grt_chan_make(&root.up, sizeof(long), 1);
	RT_GO(tree_g, &root);
	grt_chan_recv(root.up, out);
	grt_chan_free(root.up);
}

TEST_F_TIMEOUT(rt_sched, spawn_tree_sum, 300)
{
	long sum = 0;

	RT_RUN(0, tree_body, &sum);
	EXPECT_EQ(99999L * 100000L / 2, sum);
}

/*
 * A burst of Gs that all hold a stack at once, then all exit: the stacks
 * they leave go back to the free lists and the caches (stack.c), which
 * keep at most GRT_STACKCACHE_MAX (1024) in the global cache and 64 per P
 * beside the 64 dead Gs a P keeps with their stacks; the rest must be
 * unmapped, or a program's mappings stay at its high-water mark. Twice,
 * so that the second burst runs on recycled Gs and stacks.
 */
#define BURST_GS	2000
#define BURST_KEPT_MAX	(1024 + 2 * (64 + 64) + 16)

struct burst {
	struct grt_chan *release;
	struct grt_waitgroup started, done;
};

static void burst_g(void *arg)
{
	struct burst *b = arg;

	grt_waitgroup_done(&b->started);
	grt_chan_recv(b->release, NULL);
	grt_waitgroup_done(&b->done);
}

static void burst_body(void *arg)
{
	struct grt_stats st = { .size = sizeof(st) };
	struct burst b = { 0 };
	int round, i;

	(void)arg;
	for (round = 0; round < 2; round++) {
		RT_CHECK_EQ(0, grt_chan_make(&b.release, 0, 0));
		grt_waitgroup_add(&b.started, BURST_GS);
		grt_waitgroup_add(&b.done, BURST_GS);
		for (i = 0; i < BURST_GS; i++)
			RT_GO(burst_g, &b);
		grt_waitgroup_wait(&b.started);
		RT_CHECK_EQ(0, grt_stats(&st));
		RT_CHECK(st.stacks >= BURST_GS);
		grt_chan_close(b.release);
		grt_waitgroup_wait(&b.done);
		RT_CHECK_EQ(0, grt_stats(&st));
		RT_CHECK(st.stacks <= BURST_KEPT_MAX);
		grt_chan_free(b.release);
	}
}

/* Mapping 2,000 stacks twice takes minutes in the debug kernel's VM. */
TEST_F_TIMEOUT(rt_sched, stacks_are_given_back_after_a_burst, 300)
{
	RT_RUN(2, burst_body, NULL);
}

/* --- Idle Ps get work: wakep and stealing ------------------------------------ */

static atomic_int spread_tid[2];
static atomic_int spread_seen;

static void spread_g(void *arg)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	int tid = gwake_test_gettid(), zero = 0;

	(void)arg;
	/* Record up to two distinct threads, then spin without a single
	 * runtime call until both were seen: only an M woken by wakep()
	 * that steals from this P's queue can run the second G. */
	if (!atomic_compare_exchange_strong(&spread_tid[0], &zero, tid) &&
	    atomic_load(&spread_tid[0]) != tid) {
		zero = 0;
		atomic_compare_exchange_strong(&spread_tid[1], &zero, tid);
	}
	while (!atomic_load(&spread_tid[1]) && gwake_test_now_ns() < end)
		__builtin_ia32_pause();
	atomic_fetch_add(&spread_seen, 1);
}

static void spread_body(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 4; i++)
		RT_GO(spread_g, NULL);
	while (atomic_load(&spread_seen) < 4)
		grt_sleep(1000000);
	RT_CHECK(atomic_load(&spread_tid[1]) != 0);
	RT_CHECK(atomic_load(&spread_tid[0]) != atomic_load(&spread_tid[1]));
}

TEST_F(rt_sched, idle_p_steals_spawned_work)
{
	/* No preemption: its P hand-off would spread the Gs by itself. */
	struct grt_config cfg = { .nprocs = 2, .preempt_signal = -1 };

	atomic_store(&spread_tid[0], 0);
	atomic_store(&spread_tid[1], 0);
	atomic_store(&spread_seen, 0);
	atomic_store(&rt_check_state.failures, 0);
	ASSERT_EQ(0, grt_run(&cfg, spread_body, NULL));
	EXPECT_EQ(0, atomic_load(&rt_check_state.failures))
		TH_LOG("%s", rt_check_state.first);
}

/* --- Stack guard ------------------------------------------------------------------ */

static int recurse(volatile char *p, int n)
{
	volatile char buf[1024];

	buf[0] = (char)n;
	if (p)
		buf[1] = p[0];
	return n ? recurse(buf, n - 1) + buf[0] : 0;
}

static void overflow_body(void *arg)
{
	(void)arg;
	recurse(NULL, 1 << 20);
}

/*
 * An overflow faults on the guard page: the runtime reports it and aborts
 * (SIGABRT; rt_diag_test checks the report). Under ASan, which may catch
 * the fault first to report it, it dies of a signal or exits non-zero.
 */
TEST_F(rt_sched, stack_overflow_hits_guard_page)
{
	struct grt_config cfg = { .nprocs = 1, .stack_size = GRT_STACK_MIN };
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, STDERR_FILENO);	/* ASan's report */
		grt_run(&cfg, overflow_body, NULL);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
#ifdef __SANITIZE_ADDRESS__
	EXPECT_TRUE(WIFSIGNALED(status) ||
		    (WIFEXITED(status) && WEXITSTATUS(status)));
#else
	EXPECT_TRUE(WIFSIGNALED(status));
	if (WIFSIGNALED(status))
		EXPECT_EQ(SIGABRT, WTERMSIG(status));
#endif
}

TEST_HARNESS_MAIN
