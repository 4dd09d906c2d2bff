// SPDX-License-Identifier: GPL-2.0
/*
 * The block notification (gwake_block_notify(), GWAKE_IOC_NOTIFY): a
 * thread that asked for it has each block in the kernel that lasts its
 * threshold reported to a handle, woken as by gwake_wake().
 *
 * In every test the main thread is the one reported to, and a helper
 * thread the one that blocks. A report shows as a permit of the main
 * thread: gwake_block(0) returns 0 if one came, -ETIMEDOUT if none. A
 * test that expects none waits for the helper to finish everything it
 * does first, so a report it made cannot arrive after the check. Nothing
 * is timed: the blocks expected to be reported never end by themselves
 * (a read of an empty pipe), and those expected not to be are three orders
 * of magnitude shorter than their threshold.
 *
 * The userspace backend cannot see a thread block: its calls return
 * -EOPNOTSUPP (the probe, both backends); the rest runs on the module.
 */
#include <time.h>

#include "gwake_test.h"

FIXTURE(notify) {
	gwake_t me;
	bool kmod;
};

GWAKE_BACKEND_VARIANTS(notify);

FIXTURE_SETUP(notify)
{
	GWAKE_SETUP_BACKEND(variant->backend);
	self->kmod = !strcmp(variant->backend, "kmod");
	ASSERT_EQ(0, gwake_self(&self->me));
}

FIXTURE_TEARDOWN(notify)
{
}

/* The behaviour: the module only. */
FIXTURE(notify_kmod) {
	gwake_t me;
};

FIXTURE_SETUP(notify_kmod)
{
	GWAKE_SETUP_BACKEND("kmod");
	ASSERT_EQ(0, gwake_self(&self->me));
}

FIXTURE_TEARDOWN(notify_kmod)
{
}

enum helper_step {
	STEP_NONE,
	STEP_READ,		/* block in read() on an empty pipe */
	STEP_SHORT_SLEEPS,	/* three 1 ms nanosleeps */
	STEP_OWN_WAIT,		/* gwake_block() of 20 ms */
};

struct helper {
	gwake_t target;		/* whom to report to */
	int64_t threshold_ns;
	bool unregister;	/* unregister after asking: nothing reported */
	enum helper_step step;
	int fds[2];
	pid_t tid;
	gwake_t handle;		/* its own */
	int notify_result;
	atomic_int started;	/* about to take its step */
};

static void *helper_main(void *arg)
{
	struct helper *h = arg;
	struct timespec ms = { .tv_nsec = 1000000 };
	char c;
	int i;

	h->tid = gwake_test_gettid();
	if (gwake_self(&h->handle))
		h->handle = 0;
	h->notify_result = gwake_block_notify(h->target, h->threshold_ns);
	if (h->unregister)
		gwake_unregister();
	atomic_store_explicit(&h->started, 1, memory_order_release);
	switch (h->step) {
	case STEP_READ:
		if (read(h->fds[0], &c, 1) != 1)
			h->notify_result = -EIO;
		break;
	case STEP_SHORT_SLEEPS:
		for (i = 0; i < 3; i++)
			nanosleep(&ms, NULL);
		break;
	case STEP_OWN_WAIT:
		gwake_block(20 * NSEC_PER_MSEC);
		break;
	case STEP_NONE:
		break;
	}
	/* Off before the thread's exit, whose own sleeps are not the test's. */
	if (!h->unregister)
		gwake_block_notify(0, 0);
	return NULL;
}

/* Runs a helper to its end; returns what its gwake_block_notify() said. */
static int run_helper(struct helper *h)
{
	pthread_t t;

	if (pthread_create(&t, NULL, helper_main, h))
		return -EAGAIN;
	pthread_join(t, NULL);
	return h->notify_result;
}

/* --- Probe and bad input -------------------------------------------------- */

TEST_F(notify, probe)
{
	struct helper h = { .target = self->me, .step = STEP_NONE };

	if (!self->kmod) {
		EXPECT_EQ(-EOPNOTSUPP, gwake_block_notify(self->me, 0));
		EXPECT_EQ(-EOPNOTSUPP, run_helper(&h));
		return;
	}
	EXPECT_EQ(0, run_helper(&h));
	/* Off, twice, with any threshold (the library passes 0), is fine. */
	EXPECT_EQ(0, gwake_block_notify(0, -1));
	EXPECT_EQ(0, gwake_block_notify(0, 0));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("nothing blocked, something reported");
}

TEST_F(notify_kmod, bad_input)
{
	struct helper dead = { .target = self->me, .step = STEP_NONE };
	gwake_t stale;

	ASSERT_EQ(0, run_helper(&dead));
	/* The helper exited: its handle is stale. */
	stale = dead.handle;
	ASSERT_NE(0, stale);
	EXPECT_EQ(-ESRCH, gwake_block_notify(stale, 0));
	EXPECT_EQ(-ESRCH, gwake_block_notify(self->me + (1 << GWAKE_HANDLE_SLOT_BITS), 0))
		TH_LOG("a forged handle (the next generation of my slot)");
	/* Reports to oneself: permits nobody could tell from a wake. */
	EXPECT_EQ(-EINVAL, gwake_block_notify(self->me, 0));
	EXPECT_EQ(-EINVAL, gwake_block_notify(stale, 1000000001));
	EXPECT_EQ(-EINVAL, gwake_block_notify(self->me, INT64_MAX));
	/* Failures changed nothing: still off. */
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
}

/* --- Behaviour ---------------------------------------------------------- */

/*
 * A block that lasts is reported: the helper sleeps in read() until we
 * write, so only the report can end our wait.
 */
TEST_F(notify_kmod, long_block_reported)
{
	struct helper h = { .step = STEP_READ, .threshold_ns = 1000000 };
	pthread_t t;

	h.target = self->me;
	ASSERT_EQ(0, pipe(h.fds));
	ASSERT_EQ(0, pthread_create(&t, NULL, helper_main, &h));
	EXPECT_EQ(0, gwake_block(GWAKE_TEST_LONG_NS)) TH_LOG("no report of a block in read()");
	ASSERT_TRUE(gwake_test_wait_flag(&h.started));
	EXPECT_EQ('S', gwake_test_task_state(h.tid)) TH_LOG("the helper is not blocked");
	EXPECT_EQ(1, write(h.fds[1], "x", 1));
	pthread_join(t, NULL);
	EXPECT_EQ(0, h.notify_result);
	close(h.fds[0]);
	close(h.fds[1]);
}

/* Blocks shorter than the threshold are not reported. */
TEST_F(notify_kmod, short_blocks_not_reported)
{
	struct helper h = { .step = STEP_SHORT_SLEEPS,
			    .threshold_ns = 1000000000 };

	h.target = self->me;
	EXPECT_EQ(0, run_helper(&h));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("a 1 ms sleep reported at 1 s");
}

/* The thread's own gwake_block() is never reported, even at threshold 0. */
TEST_F(notify_kmod, own_wait_not_reported)
{
	struct helper h = { .step = STEP_OWN_WAIT, .threshold_ns = 0 };

	h.target = self->me;
	EXPECT_EQ(0, run_helper(&h));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("gwake_block() reported");
}

/* After the registration ended, nothing is reported. */
TEST_F(notify_kmod, nothing_after_unregister)
{
	struct helper h = { .step = STEP_SHORT_SLEEPS, .threshold_ns = 0,
			    .unregister = true };

	h.target = self->me;
	EXPECT_EQ(0, run_helper(&h));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("reported after unregister");
}

/*
 * A thread that exits while a report is armed (it is blocked in read()
 * with a long threshold when its process exits): the report never comes
 * and the timer is gone with the registration (the VM unloads the module
 * after the tests and checks the kernel log).
 */
TEST_F(notify_kmod, exit_with_report_armed)
{
	struct helper h = { .step = STEP_READ, .threshold_ns = 500000000 };
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pthread_t t;
		gwake_t me;

		if (gwake_self(&me) || pipe(h.fds))
			_exit(1);
		h.target = me;
		if (pthread_create(&t, NULL, helper_main, &h))
			_exit(2);
		if (!gwake_test_wait_flag(&h.started))
			_exit(3);
		while (!gwake_test_task_asleep(h.tid))
			usleep(100);
		/* Exit with the helper asleep and its report armed. */
		_exit(h.notify_result ? 4 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) TH_LOG("child status %#x", status);
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
}

TEST_HARNESS_MAIN
