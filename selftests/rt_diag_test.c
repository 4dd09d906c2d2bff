// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's diagnostics (lib/rt/diag.c, dump.c, stats.c, overflow.c,
 * symtab.c, lib/backend.c's messages): a misconfigured GWAKE_BACKEND is
 * said once and makes grt_run() -ENODEV; a G that overflows its stack is
 * reported and aborts, other faults reach the handler installed before;
 * grt_dump() and the SIGQUIT dump show every G with its state; the
 * GRT_DEBUG=schedtrace lines; grt_stats() against a known state. The
 * fatal cases run in a child with stderr captured (rt_run_child()).
 * Nothing here asserts a time. Both backends where a backend matters.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "rt_test.h"

GWAKE_BACKEND_FIXTURE(rt_diag);

static void nop_body(void *arg)
{
	(void)arg;
}

/* How many times needle occurs in hay. */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * The block of lines of the G whose header starts with head ("G2 ["):
 * the header and its backtrace, up to the next line that does not start
 * with a tab. Copied to out; false if there is no such G.
 */
static bool g_block(const char *dump, const char *head, char *out, size_t len)
{
	const char *s = dump, *e;
	size_t n;

	for (;;) {
		s = strstr(s, head);
		if (!s)
			return false;
		if (s == dump || s[-1] == '\n')
			break;
		s++;
	}
	for (e = strchr(s, '\n'); e && e[1] == '\t'; e = strchr(e + 1, '\n'))
		;
	n = e ? (size_t)(e - s) : strlen(s);
	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* Everything written to fd so far (a memfd), NUL-terminated. */
static size_t read_all(int fd, char *out, size_t len)
{
	ssize_t n = pread(fd, out, len - 1, 0);

	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

/* --- A misconfigured backend ------------------------------------------------ */

/*
 * In the child: force a backend ("name" or "name,debug" for GWAKE_DEBUG=1),
 * run twice, say what grt_run() returned.
 */
static void misconfig_child(void *arg)
{
	char backend[32];
	int r1, r2;
	gwake_t h;

	snprintf(backend, sizeof(backend), "%s", (const char *)arg);
	if (strchr(backend, ',')) {
		*strchr(backend, ',') = '\0';
		setenv("GWAKE_DEBUG", "1", 1);
	} else {
		unsetenv("GWAKE_DEBUG");
	}
	setenv("GWAKE_BACKEND", backend, 1);
	r1 = grt_run(NULL, nop_body, NULL);
	r2 = grt_run(NULL, nop_body, NULL);
	(void)gwake_self(&h);
	fprintf(stderr, "grt_run: %d %d backend %s\n", r1, r2, gwake_backend());
}

/*
 * Run misconfig_child(backend); expect grt_run() to return ret twice, and
 * stderr to hold lines "libgwake:" lines, what among them (if not NULL).
 */
static void check_backend(struct __test_metadata *_metadata,
			  const char *backend, int ret, const char *name,
			  int lines, const char *what)
{
	char out[4096], want[64];
	int st;

	st = rt_run_child(misconfig_child, (void *)backend, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("wait status %#x, stderr: %s", st, out);
	snprintf(want, sizeof(want), "grt_run: %d %d backend %s\n", ret, ret,
		 name);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("stderr: %s", out);
	/* Said once, on one line, whatever was called after. */
	EXPECT_EQ(lines, count_of(out, "libgwake:")) TH_LOG("stderr: %s", out);
	if (what)
		EXPECT_NE(NULL, strstr(out, what)) TH_LOG("stderr: %s", out);
}

TEST(backend_that_does_not_exist_is_said_once)
{
	check_backend(_metadata, "bogus", -ENODEV, "none", 1,
		      "libgwake: GWAKE_BACKEND=\"bogus\" names no backend");
	check_backend(_metadata, "bogus,debug", -ENODEV, "none", 1,
		      "libgwake: GWAKE_BACKEND=\"bogus\" names no backend");
	/* A backend that works: nothing to say, unless asked. */
	check_backend(_metadata, "user", 0, "user", 0, NULL);
	check_backend(_metadata, "user,debug", 0, "user", 1,
		      "libgwake: GWAKE_DEBUG: backend user (GWAKE_BACKEND=user)");
}

/* Where the module is loaded (the VM), it must work and say nothing. */
TEST(kmod_backend_without_the_module_is_said_once)
{
	if (!access(GWAKE_TEST_DEV, F_OK)) {
		check_backend(_metadata, "kmod", 0, "kmod", 0, NULL);
		return;
	}
	check_backend(_metadata, "kmod", -ENODEV, "none", 1,
		      "libgwake: GWAKE_BACKEND=kmod, but the kmod backend "
		      "cannot be used (no /dev/gwake: is gwake.ko loaded?)");
	check_backend(_metadata, "kmod,debug", -ENODEV, "none", 2,
		      "libgwake: GWAKE_DEBUG: kmod init returned -2");
}

/* --- Stack overflow ----------------------------------------------------------- */

#define OVF_STACK	(64u << 10)

static volatile unsigned long depth_limit = ~0UL;

static __attribute__((noinline)) unsigned long deep(unsigned long n)
{
	volatile char pad[256];

	pad[0] = (char)n;
	if (n >= depth_limit)
		return n;
	return deep(n + 1) + (unsigned long)pad[0];
}

static void overflow_g(void *arg)
{
	(void)arg;
	fprintf(stderr, "overflowing G%" PRIu64 "\n", grt_id());
	deep(0);
}

static void overflow_main(void *arg)
{
	struct grt_chan *c;

	(void)arg;
	grt_chan_make(&c, 0, 0);
	grt_go(overflow_g, NULL);
	grt_sleep(NSEC_PER_SEC);	/* timer pending: no deadlock report */
	grt_chan_recv(c, NULL);
}

static void overflow_child(void *arg)
{
	struct grt_config cfg = { .nprocs = 2, .stack_size = OVF_STACK };

	(void)arg;
	grt_run(&cfg, overflow_main, NULL);
	fprintf(stderr, "grt_run returned\n");
}

TEST_F(rt_diag, stack_overflow_is_reported_and_aborts)
{
	char out[8192], want[128], *p;
	unsigned long long id;
	int st;

	st = rt_run_child(overflow_child, NULL, out, sizeof(out));
	ASSERT_NE(-1, st);
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT)
		TH_LOG("wait status %#x, stderr: %s", st, out);
	p = strstr(out, "overflowing G");
	ASSERT_NE(NULL, p) TH_LOG("stderr: %s", out);
	ASSERT_EQ(1, sscanf(p, "overflowing G%llu", &id));
	snprintf(want, sizeof(want),
		 "grt: G%llu overflowed its stack (%u bytes, guard page at 0x",
		 id, OVF_STACK);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("no \"%s\" in: %s", want, out);
	EXPECT_NE(NULL, strstr(out, ", entry overflow_g)"))
		TH_LOG("stderr: %s", out);
	EXPECT_EQ(1, count_of(out, "overflowed its stack"));
	EXPECT_EQ(NULL, strstr(out, "grt_run returned"));
}

/* A fault that is not an overflow reaches the program's own handler. */
static void own_segv(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] = "own SIGSEGV handler\n";

	(void)sig;
	(void)si;
	(void)uc;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(42);
}

static void wild_write_g(void *arg)
{
	volatile char *p = mmap(NULL, 4096, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	if (p != MAP_FAILED)
		p[0] = 1;
	fprintf(stderr, "no fault\n");
}

static void wild_main(void *arg)
{
	struct grt_chan *c;

	(void)arg;
	grt_chan_make(&c, 0, 0);
	grt_go(wild_write_g, NULL);
	grt_sleep(NSEC_PER_SEC);
	grt_chan_recv(c, NULL);
}

static void wild_child(void *arg)
{
	struct grt_config cfg = { .nprocs = 2 };

	if (arg) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = own_segv;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSEGV, &sa, NULL);
	}
	grt_run(&cfg, wild_main, NULL);
}

TEST_F(rt_diag, other_faults_go_to_the_previous_handler)
{
	char out[8192];
	int st;

	st = rt_run_child(wild_child, (void *)1, out, sizeof(out));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 42)
		TH_LOG("wait status %#x, stderr: %s", st, out);
	EXPECT_NE(NULL, strstr(out, "own SIGSEGV handler"));
	EXPECT_EQ(NULL, strstr(out, "overflowed"));

	/*
	 * No handler of its own: the default action (SIGSEGV), or under
	 * ASan its report (ASan's handler was there first).
	 */
	st = rt_run_child(wild_child, NULL, out, sizeof(out));
	EXPECT_TRUE((WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) ||
		    (WIFEXITED(st) && WEXITSTATUS(st) != 0 &&
		     strstr(out, "AddressSanitizer")))
		TH_LOG("wait status %#x, stderr: %s", st, out);
	EXPECT_EQ(NULL, strstr(out, "overflowed"));
	EXPECT_EQ(NULL, strstr(out, "no fault"));
}

/* What grt_run() installed, it removes. */
TEST_F(rt_diag, signal_state_is_restored)
{
	struct sigaction segv0, quit0, segv1, quit1;
	stack_t ss0, ss1;

	ASSERT_EQ(0, sigaction(SIGSEGV, NULL, &segv0));
	ASSERT_EQ(0, sigaction(SIGQUIT, NULL, &quit0));
	ASSERT_EQ(0, sigaltstack(NULL, &ss0));
	RT_RUN(2, nop_body, NULL);
	ASSERT_EQ(0, sigaction(SIGSEGV, NULL, &segv1));
	ASSERT_EQ(0, sigaction(SIGQUIT, NULL, &quit1));
	ASSERT_EQ(0, sigaltstack(NULL, &ss1));
	EXPECT_EQ((void *)segv0.sa_sigaction, (void *)segv1.sa_sigaction);
	/* Less the kernel's SA_RESTORER, which libc adds when it sets an
	 * action (also SIG_DFL) and the kernel then reports. */
	EXPECT_EQ(segv0.sa_flags & ~0x04000000, segv1.sa_flags & ~0x04000000);
	EXPECT_EQ((void *)quit0.sa_handler, (void *)quit1.sa_handler);
	EXPECT_EQ(ss0.ss_flags, ss1.ss_flags);
	EXPECT_EQ(ss0.ss_sp, ss1.ss_sp);
}

/* --- grt_dump() and grt_stats() ---------------------------------------------- */

struct dumpstate {
	struct grt_chan *c;
	struct grt_mutex mu;
	atomic_int parked;
	int fd;
	char out[65536];
};

/* The checks after the blocking calls keep them from being tail calls,
 * which would take the caller's frame off the backtrace. */
static void recv_g(void *arg)
{
	struct dumpstate *d = arg;

	atomic_fetch_add(&d->parked, 1);
	RT_CHECK(grt_chan_recv(d->c, NULL) >= 0);
}

static void sleep_g(void *arg)
{
	struct dumpstate *d = arg;

	atomic_fetch_add(&d->parked, 1);
	/* Discarded when main returns. */
	RT_CHECK_EQ(0, grt_sleep(60 * NSEC_PER_SEC));
}

static void mutex_g(void *arg)
{
	struct dumpstate *d = arg;

	atomic_fetch_add(&d->parked, 1);
	grt_mutex_lock(&d->mu);
	grt_mutex_unlock(&d->mu);
}

static void never_run_g(void *arg)
{
	(void)arg;
}

/*
 * One P: main runs; a G waits in a channel receive, one sleeps, one waits
 * for a mutex main holds, one was spawned and never ran.
 */
static void dump_main(void *arg)
{
	struct dumpstate *d = arg;
	struct grt_stats st = { .size = sizeof(st) };
	char blk[4096];

	RT_CHECK_EQ(0, grt_chan_make(&d->c, sizeof(int), 0));
	grt_mutex_lock(&d->mu);
	RT_GO(recv_g, d);
	RT_GO(sleep_g, d);
	RT_GO(mutex_g, d);
	RT_CHECK(rt_yield_until(&d->parked, 3));
	RT_GO(never_run_g, d);

	RT_CHECK_EQ(0, grt_dump(d->fd));
	RT_CHECK_EQ(0, grt_stats(&st));
	read_all(d->fd, d->out, sizeof(d->out));

	RT_CHECK(strstr(d->out, "grt: dump of every G (grt_dump, pid ") != NULL);
	RT_CHECK(strstr(d->out, "SCHED ") != NULL);
	RT_CHECK(strstr(d->out, "gomaxprocs=1 ") != NULL);
	RT_CHECK(strstr(d->out, "\nM0 [") != NULL);
	RT_CHECK(strstr(d->out, "grt: end of dump\n") != NULL);

	/* The running G: its M and P, and its own backtrace. */
	RT_CHECK(g_block(d->out, "G1 [running, main] M", blk, sizeof(blk)));
	RT_CHECK(strstr(blk, " P0: entry dump_main\n") != NULL);
	RT_CHECK(strstr(blk, " dump_main+") != NULL);

	/* Parked Gs: reason, entry, and a backtrace through the runtime
	 * into the function that blocked (the runtime keeps frame
	 * pointers, lib/rt/rt.mk). */
	RT_CHECK(g_block(d->out, "G2 [chan receive]: entry recv_g\n", blk,
			 sizeof(blk)));
	RT_CHECK(strstr(blk, " grt_chan_recv+") != NULL);
	RT_CHECK(strstr(blk, " recv_g+") != NULL);
	RT_CHECK(g_block(d->out, "G3 [sleep]: entry sleep_g\n", blk,
			 sizeof(blk)));
	RT_CHECK(strstr(blk, " grt_sleep+") != NULL);
	RT_CHECK(strstr(blk, " sleep_g+") != NULL);
	RT_CHECK(g_block(d->out, "G4 [mutex lock]: entry mutex_g\n", blk,
			 sizeof(blk)));
	RT_CHECK(strstr(blk, " grt_mutex_lock+") != NULL);
	RT_CHECK(g_block(d->out, "G5 [runnable]: entry never_run_g\n", blk,
			 sizeof(blk)));
	RT_CHECK(strstr(blk, "(not started)") != NULL);
	RT_CHECK_EQ(5, count_of(d->out, "\nG"));

	/* The same state in numbers (one P: nothing moves meanwhile). */
	RT_CHECK_EQ(sizeof(st), st.size);
	RT_CHECK_EQ(1, st.procs);
	RT_CHECK_EQ(0, st.procs_idle);
	RT_CHECK(st.ms >= 1);
	RT_CHECK_EQ(1, st.gs_running);
	RT_CHECK_EQ(3, st.gs_waiting);
	RT_CHECK_EQ(1, st.gs_runnable);
	RT_CHECK_EQ(0, st.gs_syscall);
	RT_CHECK_EQ(1, st.runq_local);
	RT_CHECK_EQ(0, st.runq_global);
	RT_CHECK_EQ(5, st.spawned);
	/* main, then the three Gs at least once each. */
	RT_CHECK(st.switches >= 4);
	RT_CHECK_EQ(0, st.thread_calls);
	RT_CHECK(st.stacks >= 4);
	grt_mutex_unlock(&d->mu);
}

TEST_F(rt_diag, dump_and_stats_show_every_g)
{
	struct grt_config cfg = { .nprocs = 1, .preempt_signal = -1 };
	struct dumpstate *d = calloc(1, sizeof(*d));

	ASSERT_NE(NULL, d);
	d->fd = memfd_create("rt_diag", MFD_CLOEXEC);
	ASSERT_LE(0, d->fd);
	/*
	 * No preemption signal: on a slow kernel main may run past the
	 * monitor's 10 ms, and a preemption between the dump and the
	 * statistics would let the never-run G run (the dump and the counts
	 * would then describe two states).
	 */
	RT_RUN_CFG(&cfg, dump_main, d);
	TH_LOG("dump:\n%s", d->out);
	close(d->fd);
	free(d);
}

static long add_one(void *arg)
{
	return (long)(intptr_t)arg + 1;
}

static void tcall_stats_body(void *arg)
{
	struct grt_stats st = { .size = sizeof(st) }, small;
	struct {
		struct grt_stats st;
		uint64_t future[4];
	} big;
	struct grt_thread *t;
	long ret;
	int i;

	(void)arg;
	RT_CHECK_EQ(0, grt_thread_start(&t));
	for (i = 0; i < 5; i++) {
		RT_CHECK_EQ(0, grt_thread_call(t, add_one, (void *)(intptr_t)i,
					       &ret));
		RT_CHECK_EQ(i + 1, ret);
	}
	RT_CHECK_EQ(0, grt_stats(&st));
	RT_CHECK_EQ(5, st.thread_calls);
	RT_CHECK_EQ(2, st.procs);
	/* main and the server's G */
	RT_CHECK_EQ(2, st.spawned);
	RT_CHECK(st.ms >= 2);
	RT_CHECK(st.ms_locked >= 1);	/* the server */
	RT_CHECK_EQ(0, grt_thread_free(t));

	/* An older caller: only what it knows is written. */
	memset(&small, 0xa5, sizeof(small));
	small.size = 8;
	RT_CHECK_EQ(0, grt_stats(&small));
	RT_CHECK_EQ(8, small.size);
	RT_CHECK_EQ(2, small.procs);
	RT_CHECK_EQ(0xa5a5a5a5u, small.procs_idle);
	/* A newer caller: what the library does not know is zero. */
	memset(&big, 0xa5, sizeof(big));
	big.st.size = sizeof(big);
	RT_CHECK_EQ(0, grt_stats(&big.st));
	RT_CHECK_EQ(sizeof(struct grt_stats), big.st.size);
	RT_CHECK_EQ(0, big.future[3]);
	RT_CHECK_EQ(-EINVAL, grt_stats(NULL));
	RT_CHECK_EQ(-EBADF, grt_dump(-1));
}

TEST_F(rt_diag, stats_count_thread_calls_exactly)
{
	struct grt_stats st = { .size = sizeof(st) };

	RT_RUN(2, tcall_stats_body, NULL);
	/* No runtime: nothing to report. */
	EXPECT_EQ(-ESRCH, grt_stats(&st));
	EXPECT_EQ(-ESRCH, grt_dump(STDERR_FILENO));
}

/* --- SIGQUIT ------------------------------------------------------------------- */

static void quit_main(void *arg)
{
	static struct dumpstate d;

	(void)arg;
	grt_chan_make(&d.c, sizeof(int), 0);
	RT_GO(recv_g, &d);
	rt_yield_until(&d.parked, 1);
	/* To this thread: the handler runs before pthread_kill() returns. */
	pthread_kill(pthread_self(), SIGQUIT);
	fprintf(stderr, "after SIGQUIT\n");
}

static void quit_child(void *arg)
{
	struct grt_config cfg = { .nprocs = 2 };

	/* A background shell may have left SIGQUIT ignored: the runtime
	 * installs its handler only over the default action. */
	signal(SIGQUIT, SIG_DFL);
	if (arg)
		setenv("GRT_DEBUG", (const char *)arg, 1);
	else
		unsetenv("GRT_DEBUG");
	grt_run(&cfg, quit_main, NULL);
}

TEST_F(rt_diag, sigquit_dumps_and_goes_on)
{
	char out[65536];
	int st;

	st = rt_run_child(quit_child, NULL, out, sizeof(out));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("wait status %#x, stderr: %s", st, out);
	EXPECT_NE(NULL, strstr(out, "grt: dump of every G (SIGQUIT, pid "))
		TH_LOG("stderr: %s", out);
	/*
	 * The handler runs on G1's thread, so G1 runs; "syscall" if the
	 * monitor's preemption signal detached it from its P first (it
	 * held the P 10 ms without a runtime call: a slow debug kernel).
	 */
	EXPECT_TRUE(strstr(out, "\nG1 [running, main] M") ||
		    strstr(out, "\nG1 [syscall, main] M"))
		TH_LOG("stderr: %s", out);
	EXPECT_NE(NULL, strstr(out, "\nG2 [chan receive]: entry recv_g\n"))
		TH_LOG("stderr: %s", out);
	EXPECT_NE(NULL, strstr(out, "grt: end of dump\nafter SIGQUIT\n"))
		TH_LOG("stderr: %s", out);
}

TEST_F(rt_diag, sigquit_exit_dumps_and_exits_2)
{
	char out[65536];
	int st;

	st = rt_run_child(quit_child, "sigquit=exit", out, sizeof(out));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2)
		TH_LOG("wait status %#x, stderr: %s", st, out);
	EXPECT_NE(NULL, strstr(out, "\nG2 [chan receive]: entry recv_g\n"))
		TH_LOG("stderr: %s", out);
	EXPECT_EQ(NULL, strstr(out, "after SIGQUIT"));
}

TEST_F(rt_diag, sigquit_off_leaves_it_alone)
{
	char out[65536];
	int st;

	st = rt_run_child(quit_child, "sigquit=off", out, sizeof(out));
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGQUIT)
		TH_LOG("wait status %#x, stderr: %s", st, out);
	EXPECT_EQ(NULL, strstr(out, "grt: dump"));
}

/* --- GRT_DEBUG=schedtrace ---------------------------------------------------- */

static int trace_fd;

/* Sleep until two SCHED lines are out (or give up: the test fails). */
static void trace_main(void *arg)
{
	char buf[8192];
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	(void)arg;
	while (gwake_test_now_ns() < end) {
		read_all(trace_fd, buf, sizeof(buf));
		if (count_of(buf, "SCHED ") >= 2)
			return;
		grt_sleep(5 * NSEC_PER_MSEC);
	}
}

static void trace_child(void *arg)
{
	struct grt_config cfg = { .nprocs = 2 };
	int out = dup(STDERR_FILENO);
	char buf[8192];
	size_t n;

	(void)arg;
	trace_fd = memfd_create("rt_diag_trace", MFD_CLOEXEC);
	dup2(trace_fd, STDERR_FILENO);
	setenv("GRT_DEBUG", "schedtrace=10,batch=0,nonsense", 1);
	grt_run(&cfg, trace_main, NULL);
	n = read_all(trace_fd, buf, sizeof(buf));
	(void)!write(out, buf, n);
}

TEST_F(rt_diag, schedtrace_prints_sched_lines)
{
	char out[8192], *line;
	unsigned int procs, idle, threads, spin, idlem, rq, q0, q1;
	long long ms;
	int st, n = 0, used;

	st = rt_run_child(trace_child, NULL, out, sizeof(out));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("wait status %#x, stderr: %s", st, out);
	EXPECT_EQ(1, count_of(out, "grt: GRT_DEBUG: ignoring \"nonsense\""))
		TH_LOG("stderr: %s", out);
	for (line = strstr(out, "SCHED "); line; line = strstr(line + 1, "SCHED ")) {
		used = 0;
		ASSERT_EQ(9, sscanf(line, "SCHED %lldms: gomaxprocs=%u "
				    "idleprocs=%u threads=%u spinningthreads=%u "
				    "idlethreads=%u runqueue=%u [%u %u]%n", &ms,
				    &procs, &idle, &threads, &spin, &idlem, &rq,
				    &q0, &q1, &used)) TH_LOG("line: %.200s", line);
		EXPECT_EQ('\n', line[used]);
		EXPECT_EQ(2u, procs);
		EXPECT_LE(idle, 2u);
		EXPECT_LE(1u, threads);
		n++;
	}
	EXPECT_LE(2, n) TH_LOG("stderr: %s", out);
}

TEST_HARNESS_MAIN
