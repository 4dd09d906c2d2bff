// SPDX-License-Identifier: GPL-2.0
/*
 * gwake_swap_here(), the module's placement (GWAKE_SWAP_PLACE, kmod/place.c):
 * a target asleep in the module is woken
 * on the caller's CPU, its allowed CPUs narrowed for the wakeup only.
 *
 * What must hold on both backends, whatever the module does: no thread is
 * ever left with a mask it did not set, after any kind of return of a
 * swap (woken, timed out, interrupted), and a thread that sets its own
 * mask keeps it. Each thread checks its own mask after every return, and
 * the swapper checks its target's mask after each of its swaps (the only
 * thread that places the target is the swapper itself, so no placement can
 * be in flight then). The kills check that a process dying in the middle
 * of swaps leaves no kernel warning (the VM's console is checked).
 *
 * On the module (two CPUs or more; not PREEMPT_RT, where the module does
 * not place and the count is only logged), a thread that sleeps and is
 * swapped to runs on the swapper's CPU. That is counted, not timed: the
 * swapper records its CPU just before the swap, the wakee compares its own
 * just after. (A pair swapping back and forth on two idle CPUs mostly
 * does not sleep at all: each side's partner wait spins while the other
 * runs, and the permit arrives in the shared word; pingpong_keeps_masks
 * logs how often those wakes landed on the waker's CPU.)
 */
#include <sched.h>
#include <sys/wait.h>

#include "gwake_test.h"

#define ROUNDS		400
#define SWAP_TIMEOUT_NS	(200 * NSEC_PER_MSEC)

GWAKE_BACKEND_FIXTURE(place);

struct pair;

struct side {
	struct pair *pp;
	int id;
	pid_t tid;
	gwake_t handle;
	cpu_set_t own;		/* the mask this side set for itself */
	int placed, wakes, bad_own, bad_other, errors;
};

struct pair {
	struct side s[2];
	gwake_t h[2];
	pid_t tid[2];
	atomic_int ready;
	atomic_int round;		/* whose turn: round % 2 swaps */
	atomic_int waker_cpu;		/* sched_getcpu() of the last swapper */
	atomic_int expect_mask[2];	/* index into masks[] each side set */
	cpu_set_t masks[3];		/* all CPUs, the first, the second */
	int nmasks;
	bool vary_b;			/* side 1 sets its own mask each round */
};

static bool same_mask(pid_t tid, const cpu_set_t *want)
{
	cpu_set_t got;

	CPU_ZERO(&got);
	if (sched_getaffinity(tid, sizeof(got), &got))
		return false;
	return CPU_EQUAL(&got, want);
}

/*
 * Side 0 starts; each side, woken, checks its own mask and where it runs,
 * then (side 1 with vary_b) sets a new mask of its own, then swaps to the
 * other and, once that returns, checks the other's mask.
 */
static void *side_main(void *arg)
{
	struct side *me = arg;
	struct pair *pp = me->pp;
	int other = !me->id, r, i;

	me->tid = gwake_test_gettid();
	if (gwake_self(&me->handle))
		return NULL;
	pp->h[me->id] = me->handle;
	pp->tid[me->id] = me->tid;
	atomic_fetch_add(&pp->ready, 1);
	while (atomic_load(&pp->ready) < 2)
		sched_yield();

	if (me->id == 1) {
		/* Wait for the first swap. */
		r = gwake_block(SWAP_TIMEOUT_NS * 10);
		if (r)
			me->errors++;
	}
	for (i = 0; i < ROUNDS; i++) {
		int m = atomic_load(&pp->expect_mask[me->id]);

		if (i || me->id == 1) {
			me->wakes++;
			if (sched_getcpu() == atomic_load(&pp->waker_cpu))
				me->placed++;
			if (!same_mask(0, &pp->masks[m]))
				me->bad_own++;
		}
		if (me->id == 1 && pp->vary_b) {
			m = (i + 1) % pp->nmasks;
			if (sched_setaffinity(0, sizeof(cpu_set_t), &pp->masks[m]))
				me->errors++;
			atomic_store(&pp->expect_mask[1], m);
		}
		if (i == ROUNDS - 1 && me->id == 1)
			break;	/* the last swap of side 0 needs no answer */
		atomic_store(&pp->waker_cpu, sched_getcpu());
		r = gwake_swap_here(pp->h[other], SWAP_TIMEOUT_NS * 10);
		if (r && !(i == ROUNDS - 1 && r == -ETIMEDOUT))
			me->errors++;
		/* After the last swap the other side may have exited. */
		if (i < ROUNDS - 1 &&
		    !same_mask(pp->tid[other],
			       &pp->masks[atomic_load(&pp->expect_mask[other])]))
			me->bad_other++;
	}
	if (me->id == 1)
		gwake_wake(pp->h[0]);
	return NULL;
}

static void pair_init(struct pair *pp, bool vary_b)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	memset(pp, 0, sizeof(*pp));
	CPU_ZERO(&pp->masks[0]);
	sched_getaffinity(0, sizeof(cpu_set_t), &pp->masks[0]);
	pp->nmasks = 1;
	if (n >= 2 && CPU_COUNT(&pp->masks[0]) >= 2) {
		/* The first two CPUs we may use, one each. */
		for (i = 0; i < CPU_SETSIZE && pp->nmasks < 3; i++) {
			if (!CPU_ISSET(i, &pp->masks[0]))
				continue;
			CPU_ZERO(&pp->masks[pp->nmasks]);
			CPU_SET(i, &pp->masks[pp->nmasks]);
			pp->nmasks++;
		}
	}
	pp->vary_b = vary_b;
	for (i = 0; i < 2; i++) {
		pp->s[i].pp = pp;
		pp->s[i].id = i;
	}
}

static void pair_run(struct __test_metadata *_metadata, struct pair *pp)
{
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, side_main, &pp->s[i]));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, pp->s[i].errors) TH_LOG("side %d: swaps failed", i);
		EXPECT_EQ(0, pp->s[i].bad_own)
			TH_LOG("side %d found its own mask changed", i);
		EXPECT_EQ(0, pp->s[i].bad_other)
			TH_LOG("side %d found its partner's mask changed", i);
	}
}

/* An unpinned pair: masks stay as they were. */
TEST_F_TIMEOUT(place, pingpong_keeps_masks, 120)
{
	struct pair pp;

	pair_init(&pp, false);
	pair_run(_metadata, &pp);
	TH_LOG("%s: woken on the waker's CPU %d of %d and %d of %d",
	       gwake_backend(), pp.s[0].placed, pp.s[0].wakes,
	       pp.s[1].placed, pp.s[1].wakes);
}

/*
 * One side sets its own mask every round (all CPUs, the first alone, the
 * second alone), between the swaps that wake and place it: it always
 * finds the one it set, and its partner always sees it.
 */
TEST_F_TIMEOUT(place, own_mask_is_kept, 120)
{
	struct pair pp;

	pair_init(&pp, true);
	if (pp.nmasks < 3)
		SKIP(return, "needs two CPUs this thread may use");
	pair_run(_metadata, &pp);
}

struct sleeper {
	gwake_t handle;
	pid_t tid;
	atomic_int ready, stop;
	int bad_own, n;
	cpu_set_t own;
};

/* Blocks with a short timeout until told to stop: woken or timed out. */
static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;

	s->tid = gwake_test_gettid();
	CPU_ZERO(&s->own);
	sched_getaffinity(0, sizeof(s->own), &s->own);
	if (gwake_self(&s->handle))
		return NULL;
	atomic_store(&s->ready, 1);
	while (!atomic_load(&s->stop)) {
		(void)gwake_block(NSEC_PER_MSEC);
		s->n++;
		if (!same_mask(0, &s->own))
			s->bad_own++;
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
}

struct kicker {
	pthread_t target;
	atomic_int stop;
};

static void *kicker_main(void *arg)
{
	struct kicker *k = arg;
	struct timespec ts = { .tv_nsec = 300 * 1000 };

	while (!atomic_load(&k->stop)) {
		pthread_kill(k->target, SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/*
 * Swaps that time out (the target never answers) and swaps interrupted by
 * signals: the caller's mask and the target's are what they were after
 * every return.
 */
TEST_F_TIMEOUT(place, timeouts_and_signals_keep_masks, 120)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sleeper s = { 0 };
	struct kicker k = { 0 };
	cpu_set_t mine;
	pthread_t st, kt;
	int i, r, intr = 0, timedout = 0, other = 0;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));	/* no SA_RESTART */
	CPU_ZERO(&mine);
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(mine), &mine));
	ASSERT_EQ(0, pthread_create(&st, NULL, sleeper_main, &s));
	ASSERT_TRUE(gwake_test_wait_flag(&s.ready));

	for (i = 0; i < 200; i++) {
		r = gwake_swap_here(s.handle, 2 * NSEC_PER_MSEC);
		if (r == -ETIMEDOUT)
			timedout++;
		else
			other++;
		EXPECT_TRUE(same_mask(0, &mine)) TH_LOG("my mask changed");
		EXPECT_TRUE(same_mask(s.tid, &s.own)) TH_LOG("the target's mask changed");
	}
	k.target = pthread_self();
	ASSERT_EQ(0, pthread_create(&kt, NULL, kicker_main, &k));
	for (i = 0; i < 200; i++) {
		r = gwake_swap_here(s.handle, 50 * NSEC_PER_MSEC);
		if (r == -EINTR)
			intr++;
		EXPECT_TRUE(r == -EINTR || r == -ETIMEDOUT || r == 0)
			TH_LOG("swap: %s", strerror(-r));
		EXPECT_TRUE(same_mask(0, &mine)) TH_LOG("my mask changed");
		EXPECT_TRUE(same_mask(s.tid, &s.own)) TH_LOG("the target's mask changed");
	}
	atomic_store(&k.stop, 1);
	ASSERT_EQ(0, pthread_join(kt, NULL));
	atomic_store(&s.stop, 1);
	gwake_wake(s.handle);
	ASSERT_EQ(0, pthread_join(st, NULL));
	signal(SIGUSR1, SIG_DFL);
	EXPECT_EQ(0, s.bad_own) TH_LOG("the target found its own mask changed");
	EXPECT_LT(0, timedout);
	EXPECT_LT(0, intr);
	TH_LOG("%d timed out, %d other; %d interrupted; target returned %d times",
	       timedout, other, intr, s.n);
}

/*
 * A process killed (SIGKILL) in the middle of its swaps, twenty times at
 * different points: it dies of the signal, and nothing is left behind
 * (the VM's console shows no warning; the next test starts clean).
 */
TEST_F_TIMEOUT(place, killed_mid_swap, 120)
{
	int i, status;

	for (i = 0; i < 20; i++) {
		struct timespec ts = { .tv_nsec = (i + 1) * 250 * 1000 };
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			static struct pair pp;

			pair_init(&pp, true);
			/* Rounds enough to outlast the kill. */
			for (;;) {
				pthread_t t[2];
				int j;

				for (j = 0; j < 2; j++)
					pthread_create(&t[j], NULL, side_main, &pp.s[j]);
				for (j = 0; j < 2; j++)
					pthread_join(t[j], NULL);
				pair_init(&pp, true);
			}
		}
		nanosleep(&ts, NULL);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
}

/* Placement itself: the module only. */
FIXTURE(place_kmod) {
};

FIXTURE_SETUP(place_kmod)
{
	GWAKE_SETUP_BACKEND("kmod");
}

FIXTURE_TEARDOWN(place_kmod)
{
}

struct napper {
	gwake_t handle, caller;
	pid_t tid;
	atomic_int ready, stop;
	atomic_int waker_cpu;
	int placed, wakes;
};

/* Blocks, notes where it was woken, wakes the caller back; again. */
static void *napper_main(void *arg)
{
	struct napper *n = arg;

	n->tid = gwake_test_gettid();
	if (gwake_self(&n->handle))
		return NULL;
	atomic_store(&n->ready, 1);
	for (;;) {
		(void)gwake_block(-1);
		if (atomic_load(&n->stop))
			break;
		n->wakes++;
		if (sched_getcpu() == atomic_load(&n->waker_cpu))
			n->placed++;
		gwake_wake(n->caller);
	}
	return NULL;
}

/*
 * A swap to a thread that sleeps (the caller waits until it does, so the
 * partner spin of a pair on two CPUs, which would keep both running where
 * they are, does not come into it): without placement the wakee goes back
 * to its own CPU, idle, or to any idle one; with it, to the caller's. Most
 * must be placed, not all: the caller may move between noting its CPU and
 * its swap.
 */
TEST_F_TIMEOUT(place_kmod, sleeper_runs_on_swappers_cpu, 120)
{
	struct napper n = { 0 };
	pthread_t t;
	int i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, gwake_self(&n.caller));
	ASSERT_EQ(0, pthread_create(&t, NULL, napper_main, &n));
	ASSERT_TRUE(gwake_test_wait_flag(&n.ready));
	for (i = 0; i < 200; i++) {
		ASSERT_TRUE(gwake_test_wait_asleep(n.tid));
		atomic_store(&n.waker_cpu, sched_getcpu());
		ASSERT_EQ(0, gwake_swap_here(n.handle, -1));
	}
	atomic_store(&n.stop, 1);
	gwake_wake(n.handle);
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("woken on the swapper's CPU: %d of %d", n.placed, n.wakes);
	/* PREEMPT_RT: no placement (the probe checks it is not offered). */
	if (!gwake_test_kernel_rt())
		EXPECT_LE(n.wakes * 9, n.placed * 10) TH_LOG("fewer than 9 in 10 placed");
}

TEST_HARNESS_MAIN
