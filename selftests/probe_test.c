// SPDX-License-Identifier: GPL-2.0
/*
 * Backend selection and the module's version probe.
 *
 * libgwake picks its backend once per process, on the first call of any of
 * its functions: the module if /dev/gwake opens and GWAKE_IOC_API answers
 * with our version, else the userspace wake word; GWAKE_BACKEND=kmod|user
 * forces one. Every test here is a fresh process (the harness forks one per
 * test), and the tests that need several processes fork their own.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "gwake_test.h"

#define ALL_COMMANDS	((1ULL << _GWAKE_API) | (1ULL << _GWAKE_REGISTER) |	\
			 (1ULL << _GWAKE_UNREGISTER) | (1ULL << _GWAKE_BLOCK) |	\
			 (1ULL << _GWAKE_WAKE) | (1ULL << _GWAKE_SWAP) |	\
			 (1ULL << _GWAKE_WAKE_MANY) | (1ULL << _GWAKE_NOTIFY))

/* What the library should choose by itself: the module only if it answers. */
static const char *expected_default_backend(void)
{
	struct gwake_api api = { .flags = 0 };
	int fd, ret;

	fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return "user";
	ret = ioctl(fd, GWAKE_IOC_API, &api);
	close(fd);
	return !ret && api.version == GWAKE_API_VERSION ? "kmod" : "user";
}

static bool have_device(void)
{
	return access(GWAKE_TEST_DEV, F_OK) == 0;
}

/*
 * Every call but gwake_backend() must fail with @err (no usable backend).
 * Returns 0, or the number of the first call that did not.
 */
static int all_calls_fail(int err)
{
	gwake_t h = 1, out = 0;

	if (gwake_self(&out) != -err)
		return 1;
	if (gwake_block(0) != -err)
		return 2;
	/* A backend that wrongly works would time out here, not hang. */
	if (gwake_block(GWAKE_TEST_LONG_NS) != -err)
		return 3;
	if (gwake_wake(h) != -err)
		return 4;
	if (gwake_swap(h, 0) != -err)
		return 5;
	if (gwake_wake_many(&h, 1) != -err)
		return 6;
	if (gwake_unregister() != -err)
		return 7;
	if (strcmp(gwake_backend(), "none"))
		return 8;
	return 0;
}

static void *all_calls_fail_thread(void *arg)
{
	return (void *)(intptr_t)all_calls_fail((int)(intptr_t)arg);
}

/*
 * In a new process, set GWAKE_BACKEND=@value and check that the backend is
 * "none" and every call fails with -@err, in this thread and in another.
 * Returns the child's exit code: 0, or which check failed.
 */
static int forced_backend_child(const char *value, int err)
{
	pthread_t t;
	void *res;
	int status, step;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return 100;
	if (pid == 0) {
		if (setenv("GWAKE_BACKEND", value, 1))
			_exit(101);
		/* gwake_backend() first: it chooses, and must say "none". */
		if (strcmp(gwake_backend(), "none"))
			_exit(102);
		step = all_calls_fail(err);
		if (step)
			_exit(step);
		if (pthread_create(&t, NULL, all_calls_fail_thread, (void *)(intptr_t)err))
			_exit(103);
		if (pthread_join(t, &res))
			_exit(104);
		_exit(res ? 10 + (int)(intptr_t)res : 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 105;
	if (!WIFEXITED(status))
		return 106;
	return WEXITSTATUS(status);
}

/*
 * No variants here: these tests are about the choice itself. A fixture
 * rather than TEST() for the names ("probe.x") and because the 6.1
 * harness' TEST() wrapper has an unused parameter clang warns about.
 */
FIXTURE(probe) {
	int unused;
};

FIXTURE_SETUP(probe)
{
}

FIXTURE_TEARDOWN(probe)
{
}

/* --- Probe: what is chosen without GWAKE_BACKEND ----------------------- */

TEST_F(probe, default_backend)
{
	const char *want = expected_default_backend();
	gwake_t h1 = 0, h2 = 0;

	ASSERT_EQ(0, unsetenv("GWAKE_BACKEND"));
	ASSERT_STREQ(want, gwake_backend());
	ASSERT_EQ(0, gwake_self(&h1));
	EXPECT_NE(0, h1);
	ASSERT_EQ(0, gwake_self(&h2));
	EXPECT_EQ(h1, h2);
	EXPECT_STREQ(want, gwake_backend());
}

/* The module answers the probe with this build's ABI. */
TEST_F(probe, kmod_api)
{
	struct gwake_unregister unreg = { .flags = 0 };
	struct gwake_api api;
	struct stat st;
	int fd, fd2;

	if (!have_device())
		SKIP(return, "kmod_api: %s absent (gwake.ko not loaded)", GWAKE_TEST_DEV);
	ASSERT_EQ(0, stat(GWAKE_TEST_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	/*
	 * Without udev (as in the VM) the device has the module's own mode,
	 * 0666, the documented default (README, "Using the module on a real
	 * host"; udev/60-gwake.rules restates it).
	 */
	EXPECT_EQ(0666, st.st_mode & 07777);
	fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", GWAKE_TEST_DEV, strerror(errno));

	/* Every output field must be written, whatever the caller left there. */
	memset(&api, 0xff, sizeof(api));
	api.flags = 0;
	ASSERT_EQ(0, ioctl(fd, GWAKE_IOC_API, &api)) TH_LOG("GWAKE_IOC_API: %s", strerror(errno));
	EXPECT_EQ(GWAKE_API_VERSION, api.version);
	EXPECT_EQ(GWAKE_WAKE_MANY_MAX, api.max_wake_many);
	EXPECT_EQ(ALL_COMMANDS, api.commands);
	/* The header's one definition agrees with the list spelt out here. */
	EXPECT_EQ(ALL_COMMANDS, GWAKE_API_COMMANDS);
	/* Placement is not offered on PREEMPT_RT (kmod/place.c). */
	EXPECT_EQ(GWAKE_FEATURE_SHARED | GWAKE_FEATURE_PARTNER |
		  (gwake_test_kernel_rt() ? 0 : GWAKE_FEATURE_PLACE), api.features);
	EXPECT_EQ(0, api.flags);

	/* The probe needs no registration and makes none. */
	EXPECT_EQ(-1, ioctl(fd, GWAKE_IOC_UNREGISTER, &unreg));
	EXPECT_EQ(ENOENT, errno);

	/* Any open file answers the same. */
	fd2 = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	memset(&api, 0, sizeof(api));
	ASSERT_EQ(0, ioctl(fd2, GWAKE_IOC_API, &api));
	EXPECT_EQ(GWAKE_API_VERSION, api.version);
	EXPECT_EQ(ALL_COMMANDS, api.commands);
	close(fd2);
	close(fd);
}

/* --- Bad input: unusable or unknown GWAKE_BACKEND ----------------------- */

TEST_F(probe, unknown_backend_einval)
{
	/* Prefixes and extensions of the real names catch strncmp() matching. */
	static const char *const bad[] = { "bogus", "kmodx", "userx", "use", "km" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(0, forced_backend_child(bad[i], EINVAL))
			TH_LOG("GWAKE_BACKEND=%s: not \"none\" and -EINVAL", bad[i]);
	}
}

/*
 * Forcing kmod without the module: "none" and -ENODEV, never a silent
 * fallback to the userspace backend. Where the module is loaded, forcing
 * it must give it.
 */
TEST_F(probe, forced_kmod)
{
	gwake_t h = 0;

	if (!have_device()) {
		EXPECT_EQ(0, forced_backend_child("kmod", ENODEV))
			TH_LOG("GWAKE_BACKEND=kmod without %s: expected \"none\" and -ENODEV",
			       GWAKE_TEST_DEV);
		return;
	}
	ASSERT_EQ(0, setenv("GWAKE_BACKEND", "kmod", 1));
	ASSERT_STREQ("kmod", gwake_backend());
	ASSERT_EQ(0, gwake_self(&h));
	EXPECT_NE(0, h);
	EXPECT_EQ(0, gwake_wake(h));
	EXPECT_EQ(0, gwake_block(0));
}

/* --- Behaviour ---------------------------------------------------------- */

TEST_F(probe, forced_user)
{
	gwake_t h = 0;

	ASSERT_EQ(0, setenv("GWAKE_BACKEND", "user", 1));
	ASSERT_STREQ("user", gwake_backend());
	ASSERT_EQ(0, gwake_self(&h));
	EXPECT_NE(0, h);
	EXPECT_EQ(0, gwake_wake(h));
	EXPECT_EQ(0, gwake_block(0));
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
}

/*
 * The first call of any function chooses, and the choice holds for the
 * life of the process: a library that reads GWAKE_BACKEND in
 * gwake_backend() only, or on every call, fails here.
 */
TEST_F(probe, chosen_once_by_any_call)
{
	ASSERT_EQ(0, setenv("GWAKE_BACKEND", "user", 1));
	/* Handle 0 is never valid: this only makes the choice. */
	ASSERT_EQ(-ESRCH, gwake_wake(0));
	ASSERT_EQ(0, setenv("GWAKE_BACKEND", "bogus", 1));
	EXPECT_STREQ("user", gwake_backend());
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
	ASSERT_EQ(0, unsetenv("GWAKE_BACKEND"));
	EXPECT_STREQ("user", gwake_backend());
}

static void *backend_thread(void *arg)
{
	(void)arg;
	return (void *)gwake_backend();
}

/* The choice is per process: a thread started later sees the same one. */
TEST_F(probe, choice_is_per_process)
{
	const char *seen = NULL;
	pthread_t t;

	ASSERT_EQ(0, setenv("GWAKE_BACKEND", "user", 1));
	ASSERT_STREQ("user", gwake_backend());
	ASSERT_EQ(0, setenv("GWAKE_BACKEND", "bogus", 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, backend_thread, NULL));
	ASSERT_EQ(0, pthread_join(t, (void **)&seen));
	ASSERT_NE(NULL, seen);
	EXPECT_STREQ("user", seen);
}

TEST_HARNESS_MAIN
