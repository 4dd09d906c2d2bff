// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading gwake.ko:
 *
 *  - a failed init unwinds completely, at every step that can fail
 *    (gwake.fail_init=N, a parameter for this test only, kmod/main.c): no
 *    device, no netlink family, no module left, and a normal load after it
 *    works;
 *  - the module cannot be unloaded while a file of /dev/gwake is open,
 *    whatever its threads are doing (registered, asleep in BLOCK), while
 *    the shared area is mapped, while a netlink dump is half way, or while
 *    a thread still carries the notifier of a registration another thread
 *    ended: the unload is refused, never waits for ever, never crashes;
 *  - load/unload cycles with a process of registered, sleeping and waking
 *    threads in between; each load starts with zeroed counters, which must
 *    come out exactly as the process's calls made them.
 *
 * Needs the module file (GWAKE_MODULE, default /lib/modules/gwake/gwake.ko,
 * where the VM's initramfs puts it), the module loaded when it starts, and
 * CAP_SYS_MODULE; the native run has none and skips. Every test leaves the
 * module loaded, as it found it.
 */
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "gwake_genl.h"
#include "gwake_raw.h"
#include "gwake_test.h"

#define MODULE_NAME		"gwake"
#define MODULE_DEFAULT_PATH	"/lib/modules/gwake/gwake.ko"
#define MODULE_CYCLES		10
#define MODULE_SLEEPERS		4

static const char *module_path(void)
{
	const char *p = getenv("GWAKE_MODULE");

	return p && *p ? p : MODULE_DEFAULT_PATH;
}

/* Is gwake in /proc/modules? */
static bool module_loaded(void)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/modules", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, MODULE_NAME " ", strlen(MODULE_NAME) + 1);
	fclose(f);
	return found;
}

/* finit_module() of the module file with @params: 0 or -errno. */
static int module_load(const char *params)
{
	int fd = open(module_path(), O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params, 0))
		ret = -errno;
	close(fd);
	return ret;
}

/* delete_module(), never waiting: 0 or -errno (-EWOULDBLOCK while in use). */
static int module_unload(void)
{
	return syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) ? -errno : 0;
}

/* The family's counters, from a socket of its own: 0 or -errno. */
static int module_stats(struct gstats *s)
{
	struct gnl nl;
	int ret;

	ret = gnl_open(&nl);
	if (!ret)
		ret = gnl_resolve(&nl);
	if (!ret)
		ret = gnl_get_stats(&nl, s);
	gnl_close(&nl);
	return ret;
}

FIXTURE(module) {
};

FIXTURE_SETUP(module)
{
	if (access(module_path(), R_OK))
		GWAKE_SETUP_SKIP("%s: no module file (set GWAKE_MODULE)", module_path());
	if (!module_loaded())
		GWAKE_SETUP_SKIP("gwake.ko is not loaded (and this machine may not load modules)");
}

FIXTURE_TEARDOWN(module)
{
	/* Leave it loaded, as every other test expects. */
	if (!module_loaded())
		module_load("");
}

TEST_F(module, fail_init_unwinds)
{
	static const char *const steps[] = { "fail_init=1", "fail_init=2", "fail_init=3" };
	unsigned int i;

	ASSERT_EQ(0, module_unload()) TH_LOG("the module is in use before the test");
	ASSERT_FALSE(module_loaded());
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		struct gstats s;

		EXPECT_EQ(-ENOMEM, module_load(steps[i])) TH_LOG("%s", steps[i]);
		EXPECT_FALSE(module_loaded()) TH_LOG("%s: module left loaded", steps[i]);
		EXPECT_NE(0, access(GWAKE_TEST_DEV, F_OK)) TH_LOG("%s: device left", steps[i]);
		EXPECT_EQ(-ENOENT, module_stats(&s)) TH_LOG("%s: netlink family left", steps[i]);
	}
	ASSERT_EQ(0, module_load(""));
	EXPECT_EQ(0, access(GWAKE_TEST_DEV, F_OK));
	/* An unknown value fails nothing. */
	ASSERT_EQ(0, module_unload());
	ASSERT_EQ(0, module_load("fail_init=4"));
	EXPECT_EQ(0, access(GWAKE_TEST_DEV, F_OK));
}

/*
 * A process that holds /dev/gwake open: MODULE_SLEEPERS threads
 * registered and asleep in BLOCK, woken and re-blocked by the main thread
 * in a loop until it is killed. Reports on @ready once every sleeper slept
 * at least once. Its calls: 1 + MODULE_SLEEPERS registrations, then wakes
 * and blocks the counters can only bound.
 */
struct holder {
	int fd;
	__u64 handle[MODULE_SLEEPERS];
	atomic_int registered;
};

static void *holder_sleeper(void *arg)
{
	struct holder *h = arg;
	int i = atomic_fetch_add(&h->registered, 1);
	__u64 me;

	if (gw_register(h->fd, &me))
		_exit(30);
	__atomic_store_n(&h->handle[i], me, __ATOMIC_RELEASE);
	for (;;)
		gw_block(h->fd);
	return NULL;
}

static void holder_main(int ready)
{
	struct holder h = { 0 };
	__u64 me;
	pthread_t t;
	int i;

	h.fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	if (h.fd < 0 || gw_register(h.fd, &me))
		_exit(31);
	for (i = 0; i < MODULE_SLEEPERS; i++)
		if (pthread_create(&t, NULL, holder_sleeper, &h))
			_exit(32);
	while (atomic_load(&h.registered) < MODULE_SLEEPERS)
		usleep(100);
	/* Wait for every handle to be published. */
	for (i = 0; i < MODULE_SLEEPERS; i++)
		while (!__atomic_load_n(&h.handle[i], __ATOMIC_ACQUIRE))
			usleep(100);
	if (write(ready, "x", 1) != 1)
		_exit(33);
	for (i = 0;; i++) {
		gw_wake(h.fd, __atomic_load_n(&h.handle[i % MODULE_SLEEPERS], __ATOMIC_RELAXED));
		if (i % 64 == 0)
			usleep(1000);
	}
}

static pid_t holder_start(void)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		holder_main(p[1]);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

static bool holder_kill(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGKILL;
}

TEST_F(module, unload_refused_while_open)
{
	pid_t holder;
	int fd;

	/* An open file, nothing registered. */
	fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EWOULDBLOCK, module_unload());
	close(fd);

	/* Registered threads, asleep and being woken. */
	holder = holder_start();
	ASSERT_LT(0, holder);
	EXPECT_EQ(-EWOULDBLOCK, module_unload());
	EXPECT_TRUE(module_loaded());
	ASSERT_TRUE(holder_kill(holder));

	/* Gone with the process: the module can go, and come back. */
	ASSERT_EQ(0, module_unload());
	ASSERT_EQ(0, module_load(""));
}

/*
 * A mapping of the shared area holds its file, and so the module: the
 * unload is refused while it exists, and the mapped pages stay readable
 * and writable (never freed under it); after munmap() the module goes.
 */
TEST_F(module, unload_refused_while_mapped)
{
	_Atomic uint64_t *words;
	__u64 h;
	int fd;

	fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	words = mmap(NULL, GWAKE_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     GWAKE_MMAP_WORDS);
	ASSERT_NE(MAP_FAILED, words);
	ASSERT_EQ(0, gw_register(fd, &h));
	ASSERT_EQ(0, gw_unregister(fd));
	close(fd);
	EXPECT_EQ(-EWOULDBLOCK, module_unload());
	/* The page of a slot that was used, and one never touched. */
	words[GWAKE_HANDLE_SLOT(h) * 8] = 1;
	words[(GWAKE_AREA_SIZE - 64) / 8] = 2;
	EXPECT_EQ(1, words[GWAKE_HANDLE_SLOT(h) * 8]);
	ASSERT_EQ(0, munmap((void *)words, GWAKE_AREA_SIZE));
	ASSERT_EQ(0, module_unload());
	ASSERT_EQ(0, module_load(""));
}

struct reregister {
	int fd;
	__u64 handle;
	atomic_int step;
};

static void *reregister_main(void *arg)
{
	struct reregister *r = arg;
	int fd2;

	if (gw_register(r->fd, &r->handle))
		r->handle = 0;
	atomic_store(&r->step, 1);
	while (atomic_load(&r->step) != 2)
		usleep(100);
	/* Our registration was ended by another thread's close: re-enter. */
	fd2 = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	if (fd2 < 0 || gw_register(fd2, &r->handle))
		r->handle = 0;
	close(fd2);
	atomic_store(&r->step, 3);
	while (atomic_load(&r->step) != 4)
		usleep(100);
	return NULL;
}

/*
 * A registration ended by the release of its file on another thread
 * stays attached to its own thread (only that thread may detach its
 * preempt notifier), and so holds the module, until the thread enters the
 * module again (or exits): the unload is refused until then.
 */
TEST_F(module, ended_registration_holds_module_until_its_thread_returns)
{
	struct reregister r = { 0 };
	pthread_t t;

	r.fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, reregister_main, &r));
	while (atomic_load(&r.step) != 1)
		usleep(100);
	ASSERT_NE(0, r.handle);
	close(r.fd);
	EXPECT_EQ(-EWOULDBLOCK, module_unload())
		TH_LOG("the module went while a notifier was attached");
	atomic_store(&r.step, 2);
	while (atomic_load(&r.step) != 3)
		usleep(100);
	EXPECT_NE(0, r.handle);
	/* Its new registration ended with the close, by the thread itself. */
	EXPECT_EQ(0, module_unload());
	if (!module_loaded())
		ASSERT_EQ(0, module_load(""));
	atomic_store(&r.step, 4);
	pthread_join(t, NULL);
}

/*
 * A netlink dump of the threads that was started and never read holds
 * the module: the unload is refused until its socket is closed, and the
 * module goes cleanly then.
 */
TEST_F(module, unload_refused_while_dump_half_way)
{
	struct gnl nl;
	pid_t holder;

	holder = holder_start();
	ASSERT_LT(0, holder);
	ASSERT_EQ(0, gnl_open(&nl));
	ASSERT_EQ(0, gnl_resolve(&nl));
	ASSERT_EQ(0, gnl_send(&nl, NLM_F_DUMP, GWAKE_CMD_GET_THREADS, NULL, 0));
	ASSERT_TRUE(holder_kill(holder));
	/* Nothing read: the dump's first batch waits in the socket. */
	EXPECT_EQ(-EWOULDBLOCK, module_unload());
	gnl_close(&nl);
	ASSERT_EQ(0, module_unload());
	ASSERT_EQ(0, module_load(""));
}

/*
 * Each cycle: load, run a holder, refuse the unload, kill the holder,
 * check that the fresh counters saw exactly its registrations and all of
 * them ended (by exit, or by the release of its file), unload.
 */
TEST_F(module, load_unload_cycles)
{
	int cycle;

	for (cycle = 0; cycle < MODULE_CYCLES; cycle++) {
		struct gstats s;
		pid_t holder;

		if (!module_loaded())
			ASSERT_EQ(0, module_load(""));
		ASSERT_EQ(0, module_stats(&s));
		ASSERT_EQ(0, s.v[GWAKE_STATS_A_REGISTERS]) TH_LOG("cycle %d: counters not fresh", cycle);
		holder = holder_start();
		ASSERT_LT(0, holder) TH_LOG("cycle %d", cycle);
		EXPECT_EQ(-EWOULDBLOCK, module_unload());
		ASSERT_TRUE(holder_kill(holder));
		ASSERT_EQ(0, module_stats(&s));
		EXPECT_EQ(1 + MODULE_SLEEPERS, s.v[GWAKE_STATS_A_REGISTERS]) TH_LOG("cycle %d", cycle);
		EXPECT_EQ(0, gstats_live(&s)) TH_LOG("cycle %d: registrations left", cycle);
		EXPECT_LT(0, s.v[GWAKE_STATS_A_SLEEPS]) TH_LOG("cycle %d: nobody slept", cycle);
		ASSERT_EQ(0, module_unload()) TH_LOG("cycle %d", cycle);
		EXPECT_NE(0, access(GWAKE_TEST_DEV, F_OK));
	}
	ASSERT_EQ(0, module_load(""));
}

TEST_HARNESS_MAIN
