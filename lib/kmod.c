// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgwake: the "kmod" backend, a thin client of /dev/gwake (gwake.ko).
 *
 * The module does the real work (docs/uapi.md); this file translates:
 *
 *  - one open file per process, opened by the probe and never closed
 *    (O_CLOEXEC, so exec() drops it and the module ends its
 *    registrations). A fork child shares it: the module keys registrations
 *    and handles by mm, so the parent's handles are -ESRCH in the child,
 *    and child threads register anew on the same file (docs/uapi.md,
 *    "Lifetime");
 *  - the calling thread's handle cached in TLS, so gwake_self() is a load
 *    and block/swap know whether to register first. REGISTER is idempotent
 *    in the module anyway; the cache saves the system call. It is cleared
 *    in a fork child (whose thread is a new, unregistered task) and by
 *    gwake_unregister(). The module ends a registration when its thread
 *    exits, and the TLS dies with the thread, so no destructor is needed;
 *  - relative timeouts to absolute CLOCK_MONOTONIC deadlines
 *    (GWAKE_BLOCK_TIMEOUT), computed once per call;
 *  - the module's -ENOENT (not registered) never reaches callers: block and
 *    swap register first, and should the module have ended the
 *    registration behind the cache's back, they register again and retry
 *    once.
 *
 * Two things the library cannot hide: a thread the program registered
 * itself on its own open file of /dev/gwake gets the module's -EBUSY from
 * gwake_self() (one wake word per thread), and a program that closes every
 * descriptor it does not know about (daemonising) after the first call
 * closes the library's too, after which calls fail with -EBADF.
 *
 * Memory ordering is the module's: a wake's update of the wake word and
 * the sleeper's consumption are ordered in the kernel (atomic RMWs and the
 * scheduler's wakeup barriers), and a system call on each side orders the
 * caller's plain memory accesses around them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/gwake.h>

#include "backend.h"
#include "deadline.h"

#define GWI_KMOD_COMMANDS						\
	(1ULL << _GWAKE_API | 1ULL << _GWAKE_REGISTER |			\
	 1ULL << _GWAKE_UNREGISTER | 1ULL << _GWAKE_BLOCK |		\
	 1ULL << _GWAKE_WAKE | 1ULL << _GWAKE_SWAP |			\
	 1ULL << _GWAKE_WAKE_MANY)

/* Written once by kmod_init(), before the backend is published. */
static int kmod_fd = -1;
static uint32_t kmod_max_many;

/* The calling thread's handle, 0 while it is not registered. */
static GWI_TLS gwake_t kself;

static inline int kmod_ioctl(unsigned long cmd, void *arg)
{
	int r = ioctl(kmod_fd, cmd, arg);

	return r < 0 ? -errno : r;
}

static int kmod_register(void)
{
	struct gwake_register reg = { .flags = 0 };
	int r;

	r = kmod_ioctl(GWAKE_IOC_REGISTER, &reg);
	if (r < 0)
		return r;
	kself = reg.handle;
	return 0;
}

static int kmod_self(gwake_t *out)
{
	if (gwi_unlikely(!kself)) {
		int r = kmod_register();

		if (r)
			return r;
	}
	*out = kself;
	return 0;
}

/*
 * The flags and timeout_ns fields of BLOCK and SWAP for a relative timeout:
 * < 0 no deadline; 0 a deadline in the past (only a pending permit);
 * > 0 now + timeout, or no deadline if that is beyond the kernel's range.
 */
static void kmod_deadline(int64_t timeout_ns, __u64 *flags, __u64 *deadline)
{
	uint64_t abs_ns;

	if (gwi_deadline_ns(timeout_ns, &abs_ns)) {
		*flags = GWAKE_BLOCK_TIMEOUT;
		*deadline = abs_ns;
	} else {
		*flags = 0;
		*deadline = 0;
	}
}

/*
 * Runs a BLOCK or SWAP argument, registering the caller first if needed,
 * and once more if the module says the cached registration is gone.
 */
static int kmod_call_registered(unsigned long cmd, void *arg)
{
	int r, tries;

	for (tries = 0; tries < 2; tries++) {
		if (!kself) {
			r = kmod_register();
			if (r)
				return r;
		}
		r = kmod_ioctl(cmd, arg);
		if (r != -ENOENT)
			return r;
		kself = 0;
	}
	return r;
}

static int kmod_block(int64_t timeout_ns)
{
	struct gwake_block blk;

	kmod_deadline(timeout_ns, &blk.flags, &blk.timeout_ns);
	return kmod_call_registered(GWAKE_IOC_BLOCK, &blk);
}

static int kmod_swap(gwake_t h, int64_t timeout_ns)
{
	struct gwake_swap swp = { .handle = h };

	kmod_deadline(timeout_ns, &swp.flags, &swp.timeout_ns);
	return kmod_call_registered(GWAKE_IOC_SWAP, &swp);
}

static int kmod_wake(gwake_t h)
{
	struct gwake_wake wk = { .flags = 0, .handle = h };

	return kmod_ioctl(GWAKE_IOC_WAKE, &wk);
}

/*
 * One ioctl for up to the module's max_wake_many handles; a module with a
 * smaller limit than the API's gets several, and an error in a later one
 * is returned although earlier ones woke their targets.
 */
static int kmod_wake_many(const gwake_t *hs, size_t n)
{
	int woken = 0;

	while (n) {
		uint32_t count = n < kmod_max_many ? (uint32_t)n : kmod_max_many;
		struct gwake_wake_many wm = {
			.flags = 0,
			.handles = (uintptr_t)hs,
			.count = count,
			.reserved = 0,
		};
		int r = kmod_ioctl(GWAKE_IOC_WAKE_MANY, &wm);

		if (r < 0)
			return r;
		woken += r;
		hs += count;
		n -= count;
	}
	return woken;
}

static int kmod_unregister(void)
{
	struct gwake_unregister unreg = { .flags = 0 };

	if (!kself)
		return -ENOENT;
	kself = 0;
	return kmod_ioctl(GWAKE_IOC_UNREGISTER, &unreg);
}

/*
 * The child's only thread is a new task the module has never seen: forget
 * the parent thread's handle so the next call registers it. Nothing else
 * to do: the shared file serves the child's registrations too.
 */
static void kmod_fork_child(void)
{
	kself = 0;
}

/* Opens /dev/gwake and checks that the module speaks our ABI. */
static int kmod_init(void)
{
	struct gwake_api api = { .flags = 0 };
	int fd, r;

	fd = open("/dev/" GWAKE_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	kmod_fd = fd;
	r = kmod_ioctl(GWAKE_IOC_API, &api);
	if (r >= 0 && (api.version != GWAKE_API_VERSION ||
		       (api.commands & GWI_KMOD_COMMANDS) != GWI_KMOD_COMMANDS ||
		       !api.max_wake_many))
		r = -ENODEV;
	if (r >= 0 && pthread_atfork(NULL, NULL, kmod_fork_child))
		r = -ENOMEM;
	if (r < 0) {
		close(fd);
		kmod_fd = -1;
		return r;
	}
	kmod_max_many = api.max_wake_many < GWAKE_WAKE_MANY_MAX ?
			api.max_wake_many : GWAKE_WAKE_MANY_MAX;
	return 0;
}

const struct gwi_backend gwi_kmod_backend = {
	.name		= "kmod",
	.init		= kmod_init,
	.self		= kmod_self,
	.block		= kmod_block,
	.wake		= kmod_wake,
	.swap		= kmod_swap,
	.wake_many	= kmod_wake_many,
	.unregister	= kmod_unregister,
};
