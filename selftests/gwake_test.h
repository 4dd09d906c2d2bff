/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every gwake selftest shares: forcing a backend in a test's process,
 * a monotonic clock, and waiting until a thread sleeps in the wake word.
 *
 * Each test runs in a child the harness forks for it, and libgwake picks
 * its backend on the first gwake_*() call of a process; the harness parent
 * never calls gwake_*(), so a FIXTURE_SETUP that sets GWAKE_BACKEND before
 * its first call decides the backend of that one test.
 *
 * ASSERT_*() longjmp()s to the test's main thread: never use it in a
 * thread the test started. Threads record what they saw; the test's main
 * thread asserts on it after pthread_join().
 *
 * EXPECT_*() and ASSERT_*() end in a for statement that runs an optional
 * handler (EXPECT_EQ(a, b) TH_LOG(...);): as the single statement of a loop
 * body, the handler falls outside the loop. Loop bodies holding them are
 * braced, even when checkpatch finds the braces unnecessary.
 */
#ifndef GWAKE_SELFTESTS_GWAKE_TEST_H
#define GWAKE_SELFTESTS_GWAKE_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <gwake/gwake.h>
#include <linux/gwake.h>

#include "kselftest_harness.h"

#define GWAKE_TEST_DEV		"/dev/" GWAKE_DEVICE_NAME

#define NSEC_PER_USEC		1000LL
#define NSEC_PER_MSEC		1000000LL
#define NSEC_PER_SEC		1000000000LL

/*
 * The timeout of a block that a correct implementation ends at once (a
 * permit is pending, or a wake is on its way). Reaching it means a lost
 * wakeup, never a slow machine; it is shorter than the harness' 30 s per
 * test so that the test fails with a message instead of being killed.
 */
#define GWAKE_TEST_LONG_NS	(10 * NSEC_PER_SEC)

/*
 * SKIP() from FIXTURE_SETUP. The 6.1 harness goes on to run the test body
 * after a SKIP() in FIXTURE_SETUP (later kernels stop there), so leave the
 * setup the way a failed ASSERT_*() does; the test is reported as skipped.
 */
#define GWAKE_SETUP_SKIP(fmt, ...) \
	SKIP(longjmp(_metadata->env, 1), fmt, ##__VA_ARGS__)

/*
 * GWAKE_SETUP_BACKEND() - force @backend ("user" or "kmod") for this
 * test. The kmod variant is skipped, with the reason, where /dev/gwake does
 * not exist; where it exists the module must be usable, else the test fails
 * (a broken module never passes as a skip). Use in FIXTURE_SETUP only.
 */
#define GWAKE_SETUP_BACKEND(backend) do {				\
	const char *__gw_name = (backend);				\
	if (!strcmp(__gw_name, "kmod") && access(GWAKE_TEST_DEV, F_OK))	\
		GWAKE_SETUP_SKIP("%s: %s absent (gwake.ko not loaded)",	\
				 _metadata->name, GWAKE_TEST_DEV);	\
	ASSERT_EQ(0, setenv("GWAKE_BACKEND", __gw_name, 1));		\
	ASSERT_STREQ(__gw_name, gwake_backend())			\
		TH_LOG("GWAKE_BACKEND=%s was not honoured", __gw_name);	\
} while (0)

/*
 * GWAKE_BACKEND_VARIANTS() - the two variants of fixture @name, one per
 * wake-word backend, each naming its backend in variant->backend.
 * (These two macros expand to declarations at file scope, so checkpatch's
 * "enclose in do - while" does not apply.)
 */
#define GWAKE_BACKEND_VARIANTS(name)					\
	FIXTURE_VARIANT(name) {						\
		const char *backend;					\
	};								\
	FIXTURE_VARIANT_ADD(name, user) {				\
		.backend = "user",					\
	};								\
	FIXTURE_VARIANT_ADD(name, kmod) {				\
		.backend = "kmod",					\
	}

/*
 * GWAKE_BACKEND_FIXTURE() - a fixture @name without state whose every
 * TEST_F() runs once per backend (GWAKE_SETUP_BACKEND() in its setup).
 */
#define GWAKE_BACKEND_FIXTURE(name)					\
	FIXTURE(name) {							\
	};								\
	GWAKE_BACKEND_VARIANTS(name);					\
	FIXTURE_SETUP(name)						\
	{								\
		GWAKE_SETUP_BACKEND(variant->backend);			\
	}								\
	FIXTURE_TEARDOWN(name)						\
	{								\
	}

/*
 * gwake_test_rand() - Marsaglia's xorshift64: a fast, reproducible stream
 * of pseudo-random numbers from a seed that must not be 0.
 */
static inline uint64_t gwake_test_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline int64_t gwake_test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/*
 * Is the running kernel PREEMPT_RT? Its version string says so (uname -v),
 * as the kernel itself prints it in its banner.
 */
static inline bool gwake_test_kernel_rt(void)
{
	struct utsname u;

	return uname(&u) == 0 && strstr(u.version, "PREEMPT_RT") != NULL;
}

static inline pid_t gwake_test_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * The scheduler state of thread @tid of this process, as /proc shows it
 * ('R' running, 'S' interruptible sleep, ...), or 0 if it cannot be read.
 */
static inline char gwake_test_task_state(pid_t tid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "tid (comm) S ...": comm may hold spaces and ')', the state follows the last ')'. */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * gwake_test_task_asleep() - is thread @tid of this process off the CPU in
 * an interruptible sleep?
 *
 * The state alone is not enough: a sleeper sets TASK_INTERRUPTIBLE before
 * it re-checks its condition (prepare_to_wait(), then the module moves the
 * word IDLE -> SLEEPING), so 'S' can show while the wake word still says
 * "not asleep". /proc's wchan is non-zero only for a task that schedule()
 * took off its run queue, which is after that re-check.
 */
static inline bool gwake_test_task_asleep(pid_t tid)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	if (gwake_test_task_state(tid) != 'S')
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && !(n == 1 && buf[0] == '0');
}

/*
 * gwake_test_wait_asleep() - wait until thread @tid sleeps.
 *
 * Call it after the thread registered (gwake_self()) and then announced
 * that its next step is gwake_block() or gwake_swap(): from then on the
 * only place it can go to sleep is the wake word, so asleep means
 * "blocked" for both backends (the userspace one sleeps in FUTEX_WAIT
 * after its spin, the module in an interruptible wait). Polls instead of
 * sleeping for a fixed time, so no test depends on timing; gives up after
 * GWAKE_TEST_LONG_NS and returns false so the caller fails with a message.
 */
static inline bool gwake_test_wait_asleep(pid_t tid)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	while (!gwake_test_task_asleep(tid)) {
		if (gwake_test_now_ns() > end)
			return false;
		usleep(100);
	}
	return true;
}

/*
 * gwake_test_wait_flag() - wait until *@flag becomes non-zero.
 *
 * For a thread's "I got here" flags; bounded like gwake_test_wait_asleep().
 * Acquire pairs with the release store that set the flag.
 */
static inline bool gwake_test_wait_flag(atomic_int *flag)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	while (!atomic_load_explicit(flag, memory_order_acquire)) {
		if (gwake_test_now_ns() > end)
			return false;
		usleep(50);
	}
	return true;
}

/*
 * A peer: a thread that registers with libgwake, then runs one command at
 * a time for the test's main thread. Between commands it waits on a
 * semaphore, which is not the wake word: a wake then finds it "not
 * blocked" (returns 0 and leaves a permit).
 */
enum gwake_peer_cmd {
	GWAKE_PEER_BLOCK = 1,	/* gwake_block(timeout) */
	GWAKE_PEER_SWAP,	/* gwake_swap(target, timeout) */
	GWAKE_PEER_WAKE,	/* gwake_wake(target) */
	GWAKE_PEER_SELF,	/* gwake_self(), the handle in ->handle */
	GWAKE_PEER_UNREGISTER,	/* gwake_unregister() */
	GWAKE_PEER_EXIT,	/* return from the thread */
};

struct gwake_peer {
	pthread_t thread;
	pid_t tid;
	gwake_t handle;		/* its handle, from its first gwake_self() */
	int start_err;		/* what that gwake_self() returned */
	sem_t go, done;
	/* The command; written before go is posted, read after done. */
	enum gwake_peer_cmd cmd;
	int64_t timeout;
	gwake_t target;
	int result;
	/* Counts of gwake_block() and gwake_swap() calls entered and left. */
	atomic_int blocks_entered, blocks_left;
};

static inline void *gwake_peer_main(void *arg)
{
	struct gwake_peer *p = arg;
	enum gwake_peer_cmd cmd;
	int r;

	p->tid = gwake_test_gettid();
	p->start_err = gwake_self(&p->handle);
	sem_post(&p->done);
	do {
		while (sem_wait(&p->go))
			;
		cmd = p->cmd;
		switch (cmd) {
		case GWAKE_PEER_BLOCK:
			atomic_fetch_add_explicit(&p->blocks_entered, 1, memory_order_release);
			r = gwake_block(p->timeout);
			atomic_fetch_add_explicit(&p->blocks_left, 1, memory_order_release);
			break;
		case GWAKE_PEER_SWAP:
			atomic_fetch_add_explicit(&p->blocks_entered, 1, memory_order_release);
			r = gwake_swap(p->target, p->timeout);
			atomic_fetch_add_explicit(&p->blocks_left, 1, memory_order_release);
			break;
		case GWAKE_PEER_WAKE:
			r = gwake_wake(p->target);
			break;
		case GWAKE_PEER_SELF:
			r = gwake_self(&p->handle);
			break;
		case GWAKE_PEER_UNREGISTER:
			r = gwake_unregister();
			break;
		default:
			r = 0;
			break;
		}
		p->result = r;
		sem_post(&p->done);
	} while (cmd != GWAKE_PEER_EXIT);
	return NULL;
}

/* Waits at most GWAKE_TEST_LONG_NS for sem; false if it was not posted. */
static inline bool gwake_test_sem_wait(sem_t *sem)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += GWAKE_TEST_LONG_NS / NSEC_PER_SEC;
	while (sem_clockwait(sem, CLOCK_MONOTONIC, &ts))
		if (errno != EINTR)
			return false;
	return true;
}

/* Waits for the current command's end; false if it did not end in time. */
static inline bool gwake_peer_wait(struct gwake_peer *p)
{
	return gwake_test_sem_wait(&p->done);
}

/* Starts the peer and waits until it is registered: 0, or -1. */
static inline int gwake_peer_start(struct gwake_peer *p)
{
	memset(p, 0, sizeof(*p));
	if (sem_init(&p->go, 0, 0) || sem_init(&p->done, 0, 0))
		return -1;
	if (pthread_create(&p->thread, NULL, gwake_peer_main, p))
		return -1;
	if (!gwake_peer_wait(p) || p->start_err || !p->handle)
		return -1;
	return 0;
}

/* Gives a command without waiting for its end. */
static inline void gwake_peer_post(struct gwake_peer *p, enum gwake_peer_cmd cmd,
				   gwake_t target, int64_t timeout)
{
	p->cmd = cmd;
	p->target = target;
	p->timeout = timeout;
	sem_post(&p->go);
}

/*
 * Runs a command and returns its result, or INT32_MIN if it did not end
 * within GWAKE_TEST_LONG_NS (then the peer is stuck: fail the test).
 */
static inline int gwake_peer_run(struct gwake_peer *p, enum gwake_peer_cmd cmd,
				 gwake_t target, int64_t timeout)
{
	gwake_peer_post(p, cmd, target, timeout);
	return gwake_peer_wait(p) ? p->result : INT32_MIN;
}

/* The result of a command given with gwake_peer_post(), as gwake_peer_run(). */
static inline int gwake_peer_result(struct gwake_peer *p)
{
	return gwake_peer_wait(p) ? p->result : INT32_MIN;
}

/*
 * Gives a blocking command (GWAKE_PEER_BLOCK or _SWAP) and waits until the
 * peer sleeps in it: the peer entered the call before /proc said it sleeps
 * (gwake_test_task_asleep()) and had not left it after, and the wake word
 * is the only place it can sleep in between. False if it never slept: the
 * call returned, or it spins.
 */
static inline bool gwake_peer_post_asleep(struct gwake_peer *p, enum gwake_peer_cmd cmd,
					  gwake_t target, int64_t timeout)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	int n = atomic_load(&p->blocks_left) + 1;

	gwake_peer_post(p, cmd, target, timeout);
	while (gwake_test_now_ns() < end) {
		if (atomic_load(&p->blocks_entered) >= n &&
		    gwake_test_task_asleep(p->tid) &&
		    atomic_load(&p->blocks_left) < n)
			return true;
		usleep(100);
	}
	return false;
}

/* Ends the peer's thread (its registration goes with it) and joins it. */
static inline int gwake_peer_stop(struct gwake_peer *p)
{
	gwake_peer_post(p, GWAKE_PEER_EXIT, 0, 0);
	if (pthread_join(p->thread, NULL))
		return -1;
	sem_destroy(&p->go);
	sem_destroy(&p->done);
	return 0;
}

#endif /* GWAKE_SELFTESTS_GWAKE_TEST_H */
