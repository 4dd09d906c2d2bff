/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the runtime selftests share: running a test body as the main G of
 * a fresh runtime, and checks that work inside Gs.
 *
 * The harness' ASSERT_*() longjmp()s to the test's main thread, which is
 * wrong from a G (another stack, maybe another thread). Gs use RT_CHECK*()
 * instead: the first failure is recorded with its location and the values,
 * later ones are counted; RT_RUN() runs the body in grt_run() and then
 * fails the test with the recorded message. A check that fails inside a
 * helper G does not stop the others, so a body must still terminate (no
 * G may wait for something a failed G skipped): bodies are written so.
 */
#ifndef GWAKE_SELFTESTS_RT_TEST_H
#define GWAKE_SELFTESTS_RT_TEST_H

#include <inttypes.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <gwake/rt.h>

#include "gwake_test.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN	1
#endif

struct rt_check_state {
	atomic_int failures;
	char first[512];
};

static struct rt_check_state rt_check_state;

static inline void __attribute__((format(printf, 3, 4)))
rt_check_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (atomic_fetch_add(&rt_check_state.failures, 1))
		return;
	n = snprintf(rt_check_state.first, sizeof(rt_check_state.first),
		     "%s:%d (G %" PRIu64 "): ", file, line, grt_id());
	if (n < 0 || n >= (int)sizeof(rt_check_state.first))
		return;
	va_start(ap, fmt);
	vsnprintf(rt_check_state.first + n,
		  sizeof(rt_check_state.first) - n, fmt, ap);
	va_end(ap);
}

#define RT_CHECK(cond) do {						\
	if (!(cond))							\
		rt_check_fail(__FILE__, __LINE__, "%s", #cond);		\
} while (0)

/* Compare as long long: every value the tests check fits. */
#define RT_CHECK_EQ(expected, seen) do {				\
	long long __e = (long long)(expected), __s = (long long)(seen);	\
	if (__e != __s)							\
		rt_check_fail(__FILE__, __LINE__,			\
			      "%s == %s: expected %lld, got %lld",	\
			      #expected, #seen, __e, __s);		\
} while (0)

/* Spawn a G or record why not (the test then fails). */
#define RT_GO(fn, arg) do {						\
	int __r = grt_go((fn), (arg));					\
	if (__r)							\
		rt_check_fail(__FILE__, __LINE__, "grt_go: %d", __r);	\
} while (0)

/*
 * RT_RUN() - run body(arg) as the main G of a runtime with nprocs Ps (0:
 * one per CPU), then fail the test if grt_run() did not return 0 or a
 * check failed. For TEST_F() bodies.
 */
#define RT_RUN(np, body, arg) do {					\
	struct grt_config __cfg = { .nprocs = (np) };			\
	RT_RUN_CFG(&__cfg, (body), (arg));				\
} while (0)

/* RT_RUN() with a whole struct grt_config. */
#define RT_RUN_CFG(cfg, body, arg) do {					\
	int __ret;							\
	atomic_store(&rt_check_state.failures, 0);			\
	rt_check_state.first[0] = '\0';					\
	__ret = grt_run((cfg), (body), (arg));				\
	ASSERT_EQ(0, __ret) TH_LOG("grt_run: %d", __ret);		\
	ASSERT_EQ(0, atomic_load(&rt_check_state.failures))		\
		TH_LOG("%d check(s) failed, the first: %s",		\
		       atomic_load(&rt_check_state.failures),		\
		       rt_check_state.first);				\
} while (0)

/*
 * rt_yield_until() - yield until *flag >= want, at most about
 * GWAKE_TEST_LONG_NS; false if it never happened. With one P, a G that
 * set the flag right before a blocking call has made that call (or been
 * preempted just before it) when this returns.
 */
static inline bool rt_yield_until(atomic_int *flag, int want)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	while (atomic_load_explicit(flag, memory_order_acquire) < want) {
		if (gwake_test_now_ns() > end)
			return false;
		grt_yield();
	}
	/* Let the last G that checked in reach its blocking call. */
	grt_yield();
	return true;
}

/*
 * rt_check_leaks() - under ASan, fail the test if anything allocated since
 * the process started is unreachable (a timer, a context, a channel never
 * freed): the harness' children _exit(), so LeakSanitizer's own check at
 * exit never runs. Nothing without ASan.
 */
static inline void rt_check_leaks(struct __test_metadata *_metadata)
{
#ifdef HAVE_LSAN
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
#else
	(void)_metadata;
#endif
}

/*
 * rt_run_capture() - grt_run() of body(arg) on np Ps with stderr captured
 * in out (NUL-terminated, truncated to len) and logged; returns what
 * grt_run() returned, or -1000 if stderr could not be redirected. For
 * what the runtime reports and survives (the deadlock report).
 */
static inline int rt_run_capture(struct __test_metadata *_metadata,
				 unsigned int np, void (*body)(void *),
				 void *arg, char *out, size_t len)
{
	struct grt_config cfg = { .nprocs = np };
	int fd = memfd_create("rt_run_capture", MFD_CLOEXEC), saved, ret;
	ssize_t n;

	if (fd < 0)
		return -1000;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	ret = grt_run(&cfg, body, arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	TH_LOG("captured: %s", out);
	return ret;
}

/*
 * rt_run_child() - run fn(arg) in a child process with its stderr captured
 * in out (NUL-terminated, truncated to len). Returns the child's wait
 * status, or -1 if it could not be started. For misuse that the runtime
 * reports by aborting with a message: the 6.1 harness counts any SIGABRT
 * as a failed assertion, so TEST_SIGNAL() cannot expect one.
 */
static inline int rt_run_child(void (*fn)(void *), void *arg, char *out,
			       size_t len)
{
	struct rlimit no_core = { 0, 0 };
	int fds[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		setrlimit(RLIMIT_CORE, &no_core);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	while (got + 1 < len && (n = read(fds[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* Assert that fn(arg) aborts (SIGABRT) after printing msg on stderr. */
#define RT_EXPECT_ABORT(fn, arg, msg) do {				\
	char __out[2048];						\
	int __st = rt_run_child((fn), (arg), __out, sizeof(__out));	\
	ASSERT_NE(-1, __st);						\
	EXPECT_TRUE(WIFSIGNALED(__st) && WTERMSIG(__st) == SIGABRT)	\
		TH_LOG("wait status %#x, stderr: %s", __st, __out);	\
	EXPECT_NE(NULL, strstr(__out, (msg)))				\
		TH_LOG("no \"%s\" in stderr: %s", (msg), __out);	\
} while (0)

/*
 * The x87 control word, setting it, and setting its rounding control (bits
 * 10-11), for the tests that check each G keeps its own floating-point
 * modes (no libm).
 */
static inline uint16_t x87_cw(void)
{
	uint16_t cw;

	__asm__ __volatile__("fnstcw %0" : "=m"(cw));
	return cw;
}

static inline void x87_set_cw(uint16_t cw)
{
	__asm__ __volatile__("fldcw %0" : : "m"(cw));
}

static inline void x87_set_rc(uint16_t rc)
{
	x87_set_cw((uint16_t)((x87_cw() & ~0x0c00) | (rc << 10)));
}

#endif /* GWAKE_SELFTESTS_RT_TEST_H */
