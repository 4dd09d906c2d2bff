// SPDX-License-Identifier: GPL-2.0
/*
 * Every way a registration with the module ends, other than UNREGISTER:
 * the exit of one thread, the exit of a whole process, an exec from the
 * leader and from another thread, an exec that fails after its point of
 * no return (from either), and the release of a file while a thread is
 * still blocked on it. The module learns of exits and execs from the
 * sched_process_exit and sched_process_exec tracepoints (kmod/reg.c,
 * docs/design.md); these tests show that no path misses.
 *
 * kmod only; the native run (no module) skips them with the reason.
 *
 * Each scenario runs in a child process forked after the library opened
 * /dev/gwake, so the child registers on the test's own open file, which
 * outlives it: a registration the module failed to end would linger until
 * that file is released, invisible to the child. The netlink counters
 * (gwake_genl.h) tell: once the child is reaped, every registration it
 * made has ended, each counted as an exit, and none is live. Nothing else
 * uses the module while a test runs in the VM; elsewhere another user
 * would make the counters disagree, and the test says so.
 */
#include <elf.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "gwake_genl.h"
#include "gwake_raw.h"
#include "gwake_test.h"

#define EXIT_TEST_EXEC_ENV	"GWAKE_SELFTEST_EXIT_EXEC"

/* The new image of a successful exec: nothing to do but end at once. */
static void __attribute__((constructor)) exit_test_exec_child(void)
{
	if (getenv(EXIT_TEST_EXEC_ENV))
		_exit(0);
}

FIXTURE(exit) {
	struct gnl nl;
	struct gstats before;
	char bad_elf[64];
};

FIXTURE_SETUP(exit)
{
	int ret;

	self->bad_elf[0] = '\0';
	GWAKE_SETUP_BACKEND("kmod");
	ASSERT_EQ(0, gnl_open(&self->nl));
	ret = gnl_resolve(&self->nl);
	ASSERT_EQ(0, ret) TH_LOG("the gwake family: %s", strerror(-ret));
	ASSERT_EQ(0, gnl_get_stats(&self->nl, &self->before));
}

FIXTURE_TEARDOWN(exit)
{
	if (self->bad_elf[0])
		unlink(self->bad_elf);
	gnl_close(&self->nl);
}

/*
 * Forks, runs @fn in the child with its exit status as the child's, and
 * returns the child's wait status. The child has a copy of the test's
 * libgwake, with the same open file of /dev/gwake.
 */
static int run_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/*
 * Asserts that since the fixture's setup @registers registrations were
 * made, all of them ended by thread exit or exec (@exits), and none is
 * left.
 */
#define EXPECT_ENDED(registers, exits) do {					\
	struct gstats __now;							\
	__u64 *__b = self->before.v, *__n = __now.v;				\
	ASSERT_EQ(0, gnl_get_stats(&self->nl, &__now));				\
	EXPECT_EQ((__u64)(registers),						\
		  __n[GWAKE_STATS_A_REGISTERS] - __b[GWAKE_STATS_A_REGISTERS]);	\
	EXPECT_EQ((__u64)(exits), __n[GWAKE_STATS_A_EXITS] - __b[GWAKE_STATS_A_EXITS]) \
		TH_LOG("registrations ended by exit or exec");			\
	EXPECT_EQ(gstats_live(&self->before), gstats_live(&__now))		\
		TH_LOG("registrations left behind");				\
} while (0)

/* --- A thread exits ----------------------------------------------------- */

struct raw_exiter {
	int fd;
	__u64 handle;
};

static void *raw_exiter_main(void *arg)
{
	struct raw_exiter *e = arg;

	if (gw_register(e->fd, &e->handle))
		e->handle = 0;
	return NULL;
}

/*
 * Raw registrations, not the library's: libgwake unregisters a thread
 * that returns (a key destructor), and this is about the module's own
 * exit path.
 */
static int thread_exit_child(void *arg)
{
	struct raw_exiter e = { 0 };
	pthread_t t;
	__u64 me;

	(void)arg;
	e.fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	if (e.fd < 0 || gw_register(e.fd, &me))
		return 1;
	if (pthread_create(&t, NULL, raw_exiter_main, &e) || pthread_join(t, NULL) ||
	    !e.handle)
		return 2;
	/* Gone with its thread, at once. */
	if (gw_wake(e.fd, e.handle) != -ESRCH)
		return 3;
	return 0;
}

TEST_F(exit, thread_exit)
{
	int status = run_child(thread_exit_child, NULL);

	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("child check %d failed", WEXITSTATUS(status));
	/* The thread, then the main thread when the child exited. */
	EXPECT_ENDED(2, 2);
}

/* --- A process exits with threads asleep in the wake word --------------- */

#define GROUP_PEERS	4

static int exit_group_child(void *arg)
{
	struct gwake_peer p[GROUP_PEERS];
	gwake_t me;
	int i;

	(void)arg;
	if (gwake_self(&me))
		return 1;
	for (i = 0; i < GROUP_PEERS; i++) {
		if (gwake_peer_start(&p[i]) ||
		    !gwake_peer_post_asleep(&p[i], GWAKE_PEER_BLOCK, 0, -1))
			return 2;
	}
	/* exit_group(): every thread dies inside or outside the module. */
	return 0;
}

TEST_F(exit, exit_group_with_sleepers)
{
	int status = run_child(exit_group_child, NULL);

	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("child check %d failed", WEXITSTATUS(status));
	EXPECT_ENDED(GROUP_PEERS + 1, GROUP_PEERS + 1);
}

/* --- Exec --------------------------------------------------------------- */

/*
 * What execs: the leader or a peer thread; and what it execs: this program
 * again (which ends at once, exit_test_exec_child()), or @path, an ELF the
 * kernel accepts until after the point of no return and then cannot start.
 */
struct exec_job {
	bool from_peer;
	const char *path;	/* NULL: /proc/self/exe */
};

static void *exec_thread(void *arg)
{
	const struct exec_job *job = arg;
	char *const argv[] = { "exit_test", NULL };
	gwake_t me;

	if (gwake_self(&me))
		_exit(20);
	setenv(EXIT_TEST_EXEC_ENV, "1", 1);
	execv(job->path ? job->path : "/proc/self/exe", argv);
	/* Only a failure before the point of no return returns here. */
	_exit(21);
}

static int exec_child(void *arg)
{
	struct exec_job *job = arg;
	struct rlimit no_core = { 0, 0 };
	struct gwake_peer p;
	pthread_t t;
	gwake_t me;

	/* A failed exec dies of SIGSEGV: no core file for it. */
	setrlimit(RLIMIT_CORE, &no_core);
	if (gwake_self(&me))
		return 10;
	/* A sibling asleep in the module while the exec kills it. */
	if (gwake_peer_start(&p) || !gwake_peer_post_asleep(&p, GWAKE_PEER_BLOCK, 0, -1))
		return 11;
	if (!job->from_peer)
		exec_thread(job);
	if (pthread_create(&t, NULL, exec_thread, job))
		return 12;
	/* The exec kills this thread; a failure returns from it. */
	pthread_join(t, NULL);
	return 13;
}

/*
 * An x86-64 executable the kernel takes up to its point of no return
 * (begin_new_exec(): the old image is gone from then on) and then refuses:
 * one loadable page, and an entry point in the kernel's half of the
 * address space (load_elf_binary() checks it with BAD_ADDR() only after
 * mapping the segments). The exec then ends in SIGSEGV.
 */
static int write_bad_elf(char *path, size_t size)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
	} img = {
		.eh = {
			.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
				     ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV },
			.e_type = ET_EXEC,
			.e_machine = EM_X86_64,
			.e_version = EV_CURRENT,
			.e_entry = 0xffff800000001000ULL,
			.e_phoff = offsetof(typeof(img), ph),
			.e_ehsize = sizeof(Elf64_Ehdr),
			.e_phentsize = sizeof(Elf64_Phdr),
			.e_phnum = 1,
		},
		.ph = {
			.p_type = PT_LOAD,
			.p_flags = PF_R | PF_X,
			.p_offset = 0,
			.p_vaddr = 0x400000,
			.p_paddr = 0x400000,
			.p_filesz = sizeof(img),
			.p_memsz = sizeof(img),
			.p_align = 0x1000,
		},
	};
	int fd;

	snprintf(path, size, "/tmp/gwake-exit-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	if (write(fd, &img, sizeof(img)) != (ssize_t)sizeof(img) || fchmod(fd, 0700)) {
		close(fd);
		return -EIO;
	}
	/* Closed before the exec: a file open for writing is ETXTBSY. */
	return close(fd) ? -errno : 0;
}

/* The leader execs: its sibling dies in exit, the leader ends at exec. */
TEST_F(exit, exec_from_leader)
{
	struct exec_job job = { .from_peer = false };
	int status = run_child(exec_child, &job);

	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("child check %d failed", WEXITSTATUS(status));
	EXPECT_ENDED(2, 2);
}

/*
 * Another thread execs: the leader and the sleeping peer are killed, and
 * the exec'ing thread continues under the leader's TID.
 */
TEST_F(exit, exec_from_non_leader)
{
	struct exec_job job = { .from_peer = true };
	int status = run_child(exec_child, &job);

	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status %#x", status);
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("child check %d failed", WEXITSTATUS(status));
	EXPECT_ENDED(3, 3);
}

TEST_F(exit, exec_fails_late_from_leader)
{
	struct exec_job job = { .from_peer = false, .path = self->bad_elf };
	int status;

	ASSERT_EQ(0, write_bad_elf(self->bad_elf, sizeof(self->bad_elf)));
	status = run_child(exec_child, &job);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		TH_LOG("child status %#x: the exec did not fail after its point of no return",
		       status);
	EXPECT_ENDED(2, 2);
}

/*
 * The case a TID-keyed table missed: by the time the exec fails, the
 * thread has taken its leader's TID (de_thread()), and it dies under it.
 */
TEST_F(exit, exec_fails_late_from_non_leader)
{
	struct exec_job job = { .from_peer = true, .path = self->bad_elf };
	int status;

	ASSERT_EQ(0, write_bad_elf(self->bad_elf, sizeof(self->bad_elf)));
	status = run_child(exec_child, &job);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		TH_LOG("child status %#x: the exec did not fail after its point of no return",
		       status);
	EXPECT_ENDED(3, 3);
}

/* An exec that fails early leaves the caller registered, permit and all. */
TEST_F(exit, exec_fails_early_keeps_registration)
{
	char *const argv[] = { "exit_test", NULL };
	gwake_t me, again;

	ASSERT_EQ(0, gwake_self(&me));
	ASSERT_EQ(0, gwake_wake(me));
	EXPECT_EQ(-1, execv("/nonexistent/gwake-exit-test", argv));
	ASSERT_EQ(0, gwake_self(&again));
	EXPECT_EQ(me, again);
	EXPECT_EQ(0, gwake_block(0)) TH_LOG("the permit was lost");
	ASSERT_EQ(0, gwake_unregister());
}

/* --- A file released while a thread sleeps on it ------------------------ */

struct raw_sleeper {
	int fd;
	__u64 handle;
	atomic_int registered;
	pid_t tid;
	long result, after;
};

static void *raw_sleeper_main(void *arg)
{
	struct raw_sleeper *s = arg;

	s->tid = gwake_test_gettid();
	if (gw_register(s->fd, &s->handle))
		s->handle = 0;
	atomic_store_explicit(&s->registered, 1, memory_order_release);
	s->result = gw_block(s->fd);
	/* The ioctl held the file; the descriptor is gone now. */
	s->after = gw_block(s->fd);
	return NULL;
}

/*
 * The last descriptor of a file is closed while a thread sleeps in BLOCK
 * on it: the sleeping ioctl keeps the file alive, a wake through another
 * file of the process still reaches the thread, and the registration
 * ends when the ioctl lets go of the file, counted as a release.
 */
TEST_F(exit, close_while_sibling_blocked)
{
	struct raw_sleeper s = { .result = 1, .after = 1 };
	struct gstats now;
	pthread_t t;
	int fd2;

	s.fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, s.fd);
	fd2 = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, pthread_create(&t, NULL, raw_sleeper_main, &s));
	ASSERT_TRUE(gwake_test_wait_flag(&s.registered));
	ASSERT_NE(0, s.handle);
	ASSERT_TRUE(gwake_test_wait_asleep(s.tid));

	ASSERT_EQ(0, close(s.fd));
	EXPECT_EQ(1, gw_wake(fd2, s.handle)) TH_LOG("the sleeper was not asleep any more");
	pthread_join(t, NULL);
	EXPECT_EQ(0, s.result);
	EXPECT_EQ(-EBADF, s.after);
	/* Released with the file: stale for ever. */
	EXPECT_EQ(-ESRCH, gw_wake(fd2, s.handle));
	close(fd2);

	ASSERT_EQ(0, gnl_get_stats(&self->nl, &now));
	EXPECT_EQ(1, now.v[GWAKE_STATS_A_REGISTERS] - self->before.v[GWAKE_STATS_A_REGISTERS]);
	EXPECT_EQ(1, now.v[GWAKE_STATS_A_RELEASES] - self->before.v[GWAKE_STATS_A_RELEASES]);
	EXPECT_EQ(gstats_live(&self->before), gstats_live(&now));
}

TEST_HARNESS_MAIN
