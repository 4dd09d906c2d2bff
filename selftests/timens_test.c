// SPDX-License-Identifier: GPL-2.0
/*
 * Timeouts in a time namespace (time_namespaces(7)): a process whose
 * CLOCK_MONOTONIC is shifted (a container restored on another machine)
 * computes its deadlines on its own clock. Both backends must honour them:
 * futex converts them itself, and the module must convert them to the
 * host's clock as futex does (kmod/dev.c). Unconverted, a 20 ms block in a
 * namespace a day ahead sleeps a day, and one behind times out at once.
 *
 * The test process writes the offsets and unshares (CLONE_NEWTIME applies
 * to children), then a child in the new namespace blocks with a timeout
 * and checks, on its own clock, that it neither returned early nor slept
 * for the shift. A second check stops and continues the child while it
 * sleeps: the module restarts the call (no handler ran) and must keep the
 * same deadline.
 *
 * Needs CAP_SYS_ADMIN and CONFIG_TIME_NS; skipped with the reason without.
 */
#include <sched.h>
#include <sys/wait.h>

#include "gwake_test.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME	0x00000080
#endif

#define TIMENS_DAY_S	86400LL
#define TIMENS_WAIT_NS	(20 * NSEC_PER_MSEC)
#define TIMENS_STOP_NS	(300 * NSEC_PER_MSEC)

GWAKE_BACKEND_FIXTURE(timens);

/*
 * In the child, in the shifted namespace: a timed block with nothing to
 * wake it. 0 if it timed out no earlier than @timeout_ns and well before
 * the test's own bound; else the check that failed. With @stop, the parent
 * stops and continues it on the way.
 */
static int timens_block(int64_t timeout_ns, int sync_fd)
{
	int64_t start, elapsed;
	gwake_t me;
	int r;

	if (gwake_self(&me))
		return 10;
	start = gwake_test_now_ns();
	if (sync_fd >= 0 && write(sync_fd, "x", 1) != 1)
		return 11;
	r = gwake_block(timeout_ns);
	elapsed = gwake_test_now_ns() - start;
	if (r != -ETIMEDOUT)
		return 12;
	if (elapsed < timeout_ns)
		return 13;	/* early: the deadline was taken as in the past */
	if (elapsed > GWAKE_TEST_LONG_NS)
		return 14;	/* the deadline was taken as far away */
	return 0;
}

static const char *timens_why(int code)
{
	switch (code) {
	case 10: return "gwake_self() failed";
	case 11: return "could not tell the parent";
	case 12: return "gwake_block() did not time out";
	case 13: return "the block returned before its timeout";
	case 14: return "the block slept far beyond its timeout";
	default: return "?";
	}
}

/*
 * Runs timens_block() in a child in a time namespace whose monotonic
 * clock is @shift_s seconds off the host's; with @stop, stops and
 * continues the child while it sleeps. Returns the child's check, or -1
 * with *skip set if namespaces are not available here.
 */
static int timens_run(struct __test_metadata *_metadata, long long shift_s, bool stop,
		      const char **skip)
{
	int pipefd[2] = { -1, -1 }, status, fd;
	char line[64], c;
	pid_t pid;
	int len;

	*skip = NULL;
	if (unshare(CLONE_NEWTIME)) {
		*skip = errno == EPERM ? "unshare(CLONE_NEWTIME): no CAP_SYS_ADMIN" :
			"unshare(CLONE_NEWTIME): no time namespaces (CONFIG_TIME_NS)";
		return -1;
	}
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		*skip = "no /proc/self/timens_offsets";
		return -1;
	}
	len = snprintf(line, sizeof(line), "monotonic %lld 0", shift_s);
	if (write(fd, line, len) != len) {
		TH_LOG("writing \"%s\": %s", line, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (stop && pipe(pipefd))
		return -1;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		_exit(timens_block(stop ? TIMENS_STOP_NS : TIMENS_WAIT_NS, pipefd[1]));
	}
	if (stop) {
		close(pipefd[1]);
		/* The child is about to block: stop it while it sleeps. */
		if (read(pipefd[0], &c, 1) == 1) {
			usleep(TIMENS_STOP_NS / NSEC_PER_USEC / 3);
			kill(pid, SIGSTOP);
			usleep(10000);
			kill(pid, SIGCONT);
		}
		close(pipefd[0]);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* How far back the monotonic clock may be shifted: not before its zero. */
static long long timens_max_back_s(void)
{
	return gwake_test_now_ns() / NSEC_PER_SEC - 1;
}

#define TIMENS_CHECK(shift, stop) do {						\
	const char *__skip;							\
	int __r = timens_run(_metadata, (shift), (stop), &__skip);		\
	if (__skip)								\
		SKIP(return, "%s", __skip);					\
	ASSERT_EQ(0, __r) TH_LOG("shift %llds: %s", (long long)(shift),	\
				 __r < 0 ? "the child did not run" : timens_why(__r)); \
} while (0)

/* A day ahead: unconverted, the deadline is a day away on the host. */
TEST_F(timens, ahead)
{
	TIMENS_CHECK(TIMENS_DAY_S, false);
}

/*
 * Behind, as far as the clock allows (the uptime, at most a day):
 * unconverted, the deadline is long past on the host.
 */
TEST_F(timens, behind)
{
	long long back = timens_max_back_s();

	if (back < 1)
		SKIP(return, "the monotonic clock is too young to be shifted back");
	TIMENS_CHECK(-(back < TIMENS_DAY_S ? back : TIMENS_DAY_S), false);
}

/* Stopped and continued in its sleep: the restarted block keeps its deadline. */
TEST_F(timens, ahead_restarted)
{
	TIMENS_CHECK(TIMENS_DAY_S, true);
}

TEST_F(timens, behind_restarted)
{
	long long back = timens_max_back_s();

	if (back < 1)
		SKIP(return, "the monotonic clock is too young to be shifted back");
	TIMENS_CHECK(-(back < TIMENS_DAY_S ? back : TIMENS_DAY_S), true);
}

TEST_HARNESS_MAIN
