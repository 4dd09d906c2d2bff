// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzzers for the module's two interfaces, seeded and bounded in time. The
 * verdict on the kernel side is the VM's: any WARN, BUG, KASAN, lockdep or
 * other report on the console fails the run (selftests/vm/kernel-problems).
 * Here every result must also be one the ABI documents for that command.
 *
 * ioctl: FUZZ_THREADS threads call /dev/gwake with a mix of
 *  - random commands (our magic with any number, size and direction, and
 *    numbers of other drivers, minus the ones the VFS itself acts on);
 *  - valid commands with random flags and reserved fields, handles (live,
 *    stale, another process's, forged, 0), deadlines (0, past, near, far,
 *    beyond KTIME_MAX), wake-many counts at and beyond the limit, and
 *    pointers to unmapped, read-only, kernel and page-straddling memory;
 * while a chaos thread starts short-lived threads that register and exit,
 * forks children that register on the same open files and wake the
 * parent's handles, lets them exit, exec or be killed, replaces the open
 * files under the fuzzers (dup2()), maps the shared area every which way
 * and scribbles random values on the wake words, and sends signals.
 *
 * genl: random and malformed requests to the "gwake" family and to the
 * controller: any command, flags, version and reserved field, attributes
 * of any type and length (nested and byte-order bits too), truncated and
 * oversized messages, several in one datagram, dumps abandoned half way on
 * sockets that are then closed, and a dump requested while one runs; with
 * hundreds of threads registered so that dumps span several messages.
 *
 * GWAKE_FUZZ_SECONDS (default 8) bounds each test, GWAKE_FUZZ_SEED (default:
 * the clock) seeds it; the seed is printed, and each thread's sequence of
 * calls replays from it (the interleaving of threads does not). At the end
 * each test prints its calls and the distinct (command, result) shapes it
 * saw. kmod only: the native run skips with the reason.
 */
#include <limits.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "gwake_genl.h"
#include "gwake_raw.h"
#include "gwake_test.h"

#define FUZZ_THREADS		4
#define FUZZ_FDS		3
#define FUZZ_POOL		64
#define FUZZ_EXEC_ENV		"GWAKE_SELFTEST_FUZZ_EXEC"
#define FUZZ_KERNEL_PTR		((void *)0xffff888000000000UL)
#define KTIME_MAX_NS		((__u64)LLONG_MAX)

/* A new image of a fuzzed child ends at once. */
static void __attribute__((constructor)) fuzz_exec_child(void)
{
	if (getenv(FUZZ_EXEC_ENV))
		_exit(0);
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static void on_signal(int sig)
{
	(void)sig;
}

/*
 * Shapes: a command class and a result (an errno, or 0, or "positive", or
 * for netlink "no reply"). Counted per thread, summed at the end.
 */
#define SHAPE_RESULTS	160	/* -errno up to 157, then 0 and positive */
#define SHAPE_NONE	0
#define SHAPE_ZERO	158
#define SHAPE_POSITIVE	159

static int shape_result(long r)
{
	if (r > 0)
		return SHAPE_POSITIVE;
	if (r == 0)
		return SHAPE_ZERO;
	return -r < SHAPE_ZERO ? (int)-r : SHAPE_ZERO - 1;
}

static const char *shape_errno(int i)
{
	static char buf[32];

	if (i == SHAPE_NONE)
		return "no reply";
	if (i == SHAPE_ZERO)
		return "0";
	if (i == SHAPE_POSITIVE)
		return ">0";
	snprintf(buf, sizeof(buf), "-%s", strerrorname_np(i) ? strerrorname_np(i) : "?");
	return buf;
}

/* --- ioctl -------------------------------------------------------------- */

enum fuzz_cmd {
	FC_API, FC_REGISTER, FC_UNREGISTER, FC_BLOCK, FC_WAKE, FC_SWAP,
	FC_WAKE_MANY, FC_NOTIFY, FC_OUR_RANDOM, FC_FOREIGN, FC_NR,
};

static const char *const fuzz_cmd_name[FC_NR] = {
	"API", "REGISTER", "UNREGISTER", "BLOCK", "WAKE", "SWAP", "WAKE_MANY",
	"NOTIFY", "random 0xB8 command", "other driver's command",
};

struct fuzz {
	atomic_int fds[FUZZ_FDS];	/* replaced with dup2() by chaos */
	atomic_ullong *pool;		/* MAP_SHARED: children add theirs */
	char *pages;			/* rw, PROT_NONE, read-only */
	size_t page;
	uint64_t seed;
	int64_t end;
	atomic_int stop;
	atomic_llong calls, children, short_threads, reopens;
	atomic_int bad;			/* a result outside the ABI */
	char bad_msg[256];
	pthread_mutex_t shapes_lock;
	long long shapes[FC_NR][SHAPE_RESULTS];
};

static struct fuzz *F;

static void __attribute__((format(printf, 1, 2))) fuzz_bad(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&F->bad, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(F->bad_msg, sizeof(F->bad_msg), fmt, ap);
	va_end(ap);
}

static int fuzz_fd(uint64_t x)
{
	return atomic_load(&F->fds[x % FUZZ_FDS]);
}

static void pool_put(uint64_t x, __u64 h)
{
	atomic_store(&F->pool[x % FUZZ_POOL], h);
}

/* A handle: from the pool (live, stale, other processes'), 0, or forged. */
static __u64 fuzz_handle(uint64_t *rng)
{
	uint64_t x = splitmix(rng);

	switch (x % 8) {
	case 0:
		return 0;
	case 1:
		return splitmix(rng);
	case 2:
		/* A plausible forgery: a real handle's id, another generation. */
		return atomic_load(&F->pool[(x >> 8) % FUZZ_POOL]) ^ (1ULL << (22 + (x >> 40) % 42));
	default:
		return atomic_load(&F->pool[(x >> 8) % FUZZ_POOL]);
	}
}

static __u64 fuzz_flags(uint64_t *rng, __u64 valid)
{
	uint64_t x = splitmix(rng);

	switch (x % 10) {
	case 0:
		return 1ULL << ((x >> 8) % 64);
	case 1:
		return splitmix(rng);
	case 2 ... 5:
		return valid;
	default:
		return 0;
	}
}

/* A deadline for BLOCK and SWAP: mostly short, sometimes absurd. */
static __u64 fuzz_deadline(uint64_t *rng, __u64 *flags)
{
	uint64_t x = splitmix(rng);
	__u64 now = (__u64)gwake_test_now_ns();

	switch (x % 12) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return now - NSEC_PER_SEC;
	case 3:
		return KTIME_MAX_NS;
	case 4:
		return KTIME_MAX_NS + 1 + (x >> 8);
	case 5:
		return ~0ULL;
	case 6:
		/* No deadline at all: a wake, a signal or the end ends it. */
		*flags &= ~GWAKE_BLOCK_TIMEOUT;
		return 0;
	default:
		return now + (x >> 8) % (2 * NSEC_PER_MSEC);
	}
}

/* A pointer for the argument: mostly @buf, sometimes not memory of ours. */
static void *fuzz_ptr(uint64_t *rng, void *buf, size_t size)
{
	uint64_t x = splitmix(rng);
	char *rw_end = F->pages + F->page;

	switch (x % 16) {
	case 0:
		return NULL;
	case 1:
		return F->pages + F->page;		/* PROT_NONE */
	case 2:
		return F->pages + 2 * F->page;		/* read-only zeros */
	case 3:
		return FUZZ_KERNEL_PTR;
	case 4:
		/* Straddles into the PROT_NONE page. */
		return rw_end - 1 - (x >> 8) % (size ? size - 1 : 1);
	case 5:
		return (char *)buf + 1;			/* misaligned */
	default:
		return buf;
	}
}

/* Fills an argument struct; returns the ioctl command. */
static unsigned long fuzz_build(enum fuzz_cmd c, uint64_t *rng, __u64 *a, __u64 *many,
				size_t many_cap, void **ptr)
{
	uint64_t x = splitmix(rng);
	unsigned long cmd = 0;
	size_t size = 0, i;

	memset(a, 0, 64);
	switch (c) {
	case FC_API:
		a[0] = fuzz_flags(rng, 0);
		cmd = GWAKE_IOC_API;
		size = sizeof(struct gwake_api);
		break;
	case FC_REGISTER:
		a[0] = fuzz_flags(rng, 0);
		cmd = GWAKE_IOC_REGISTER;
		size = sizeof(struct gwake_register);
		break;
	case FC_UNREGISTER:
		a[0] = fuzz_flags(rng, 0);
		cmd = GWAKE_IOC_UNREGISTER;
		size = sizeof(struct gwake_unregister);
		break;
	case FC_BLOCK:
		a[0] = fuzz_flags(rng, GWAKE_BLOCK_TIMEOUT);
		a[1] = fuzz_deadline(rng, &a[0]);
		/* Sometimes a partner: any handle, any spin. */
		if (x % 4 == 0) {
			static const __u64 spins[] = { 0, 1, 5000, GWAKE_SPIN_MAX_NS + 1, ~0ULL };

			a[0] |= GWAKE_BLOCK_PARTNER;
			a[2] = fuzz_handle(rng);
			a[3] = spins[(x >> 40) % ARRAY_SIZE(spins)];
		}
		cmd = GWAKE_IOC_BLOCK;
		size = sizeof(struct gwake_block);
		break;
	case FC_WAKE:
		a[0] = fuzz_flags(rng, x % 3 ? 0 : GWAKE_WAKE_SLEEPER);
		a[1] = fuzz_handle(rng);
		cmd = GWAKE_IOC_WAKE;
		size = sizeof(struct gwake_wake);
		break;
	case FC_SWAP:
		a[0] = fuzz_flags(rng, GWAKE_BLOCK_TIMEOUT) |
		       (x % 3 ? 0 : GWAKE_BLOCK_PARTNER) |
		       (x % 2 ? 0 : GWAKE_SWAP_PLACE);
		a[1] = fuzz_handle(rng);
		a[2] = fuzz_deadline(rng, &a[0]);
		cmd = GWAKE_IOC_SWAP;
		size = sizeof(struct gwake_swap);
		break;
	case FC_WAKE_MANY: {
		static const __u32 counts[] = {
			0, 1, 2, 16, 17, 1023, GWAKE_WAKE_MANY_MAX, GWAKE_WAKE_MANY_MAX + 1,
			UINT32_MAX,
		};
		struct gwake_wake_many *wm = (struct gwake_wake_many *)a;
		__u32 count = x % 3 ? counts[(x >> 8) % ARRAY_SIZE(counts)] :
			      (__u32)(splitmix(rng) % 40);

		for (i = 0; i < many_cap && i < count; i++)
			many[i] = fuzz_handle(rng);
		wm->flags = fuzz_flags(rng, 0);
		wm->count = count;
		wm->reserved = x % 17 == 0 ? (__u32)splitmix(rng) : 0;
		wm->handles = (__u64)(uintptr_t)fuzz_ptr(rng, many, count * sizeof(*many));
		cmd = GWAKE_IOC_WAKE_MANY;
		size = sizeof(*wm);
		break;
	}
	case FC_NOTIFY: {
		static const __u64 thresholds[] = {
			0, 1, 5000, 20000, GWAKE_NOTIFY_MAX_NS, GWAKE_NOTIFY_MAX_NS + 1,
			~0ULL,
		};

		a[0] = fuzz_flags(rng, 0);
		/* Sometimes off (0), mostly any handle. */
		a[1] = x % 5 ? fuzz_handle(rng) : 0;
		a[2] = thresholds[(x >> 8) % ARRAY_SIZE(thresholds)];
		a[3] = x % 17 == 0 ? splitmix(rng) : 0;
		cmd = GWAKE_IOC_NOTIFY;
		size = sizeof(struct gwake_notify);
		break;
	}
	case FC_OUR_RANDOM:
		for (i = 0; i < 8; i++)
			a[i] = x % 4 ? 0 : splitmix(rng);
		cmd = _IOC((x >> 8) % 4, GWAKE_IOC_MAGIC, (x >> 16) % 32, (x >> 24) % 64);
		size = 64;
		break;
	case FC_FOREIGN:
		for (;;) {
			unsigned int type;

			cmd = (unsigned long)(splitmix(rng) & 0xffffffff);
			type = _IOC_TYPE(cmd);
			/*
			 * Not the commands the VFS handles itself for any file
			 * (do_vfs_ioctl(): FIBMAP, FIGETBSZ and friends are type
			 * 0, FIO* 'T', FIFREEZE/FITHAW and the FS_IOC_* 'X' and
			 * 'f', FICLONE* 0x94, FS_IOC_FIEMAP 'f'): freezing the
			 * devtmpfs the device lives on would stop the VM, and
			 * is not ours to test.
			 */
			if (type && type != 'T' && type != 'X' && type != 'f' &&
			    type != 0x94 && type != 0x12 && type != GWAKE_IOC_MAGIC)
				break;
		}
		size = 64;
		break;
	default:
		break;
	}
	*ptr = fuzz_ptr(rng, a, size);
	return cmd;
}

/* Is @r a result the ABI allows for command class @c? */
static bool fuzz_allowed(enum fuzz_cmd c, long r)
{
	switch (c) {
	case FC_API:
		return r == 0 || r == -EINVAL || r == -EFAULT;
	case FC_REGISTER:
		return r == 0 || r == -EINVAL || r == -EFAULT || r == -EBUSY ||
		       r == -ENOMEM || r == -ENOSPC;
	case FC_UNREGISTER:
		return r == 0 || r == -EINVAL || r == -EFAULT || r == -ENOENT;
	case FC_BLOCK:
		return r == 0 || r == -EINVAL || r == -EFAULT || r == -ENOENT ||
		       r == -ETIMEDOUT || r == -EINTR;
	case FC_WAKE:
		return r == 0 || r == 1 || r == -EINVAL || r == -EFAULT || r == -ESRCH;
	case FC_SWAP:
		return r == 0 || r == -EINVAL || r == -EFAULT || r == -ENOENT ||
		       r == -ESRCH || r == -ETIMEDOUT || r == -EINTR;
	case FC_WAKE_MANY:
		return (r >= 0 && r <= GWAKE_WAKE_MANY_MAX) || r == -EINVAL ||
		       r == -EFAULT || r == -ENOMEM;
	case FC_NOTIFY:
		return r == 0 || r == -EINVAL || r == -EFAULT || r == -ENOENT || r == -ESRCH;
	case FC_OUR_RANDOM:
		/* Checked by the caller against the exact commands. */
		return r == -ENOTTY;
	default:
		return true;	/* other drivers' numbers: anything but a report */
	}
}

static void *fuzz_thread(void *arg)
{
	uint64_t rng = F->seed + (uintptr_t)arg * 0x1000193;
	long long shapes[FC_NR][SHAPE_RESULTS] = { { 0 } };
	__u64 a[8] __attribute__((aligned(16))), *many;
	long long calls = 0;
	__u64 me = 0;
	int i, j;

	many = calloc(GWAKE_WAKE_MANY_MAX + 1, sizeof(*many));
	if (!many) {
		fuzz_bad("out of memory");
		return NULL;
	}
	while (!atomic_load(&F->stop)) {
		uint64_t x = splitmix(&rng);
		enum fuzz_cmd c = (enum fuzz_cmd)(x % FC_NR);
		int fd = fuzz_fd(x >> 8);
		void *ptr;
		unsigned long cmd;
		long r;

		/* Now and then a permit first, so that blocks also return 0. */
		if (me && x % 5 == 0)
			gw_wake(fd, me);
		cmd = fuzz_build(c, &rng, a, many, GWAKE_WAKE_MANY_MAX + 1, &ptr);
		r = gw_ioctl(fd, cmd, ptr);
		calls++;
		shapes[c][shape_result(r)]++;
		/* A random number that hit one of ours exactly is that command. */
		if (c == FC_OUR_RANDOM) {
			static const unsigned long ours[] = {
				GWAKE_IOC_API, GWAKE_IOC_REGISTER, GWAKE_IOC_UNREGISTER,
				GWAKE_IOC_BLOCK, GWAKE_IOC_WAKE, GWAKE_IOC_SWAP,
				GWAKE_IOC_WAKE_MANY, GWAKE_IOC_NOTIFY,
			};

			for (i = 0; i < (int)ARRAY_SIZE(ours); i++)
				if (cmd == ours[i])
					c = (enum fuzz_cmd)i;
			if (cmd == GWAKE_IOC_BLOCK_VER0)
				c = FC_BLOCK;
			if (c != FC_OUR_RANDOM) {
				if (c == FC_REGISTER || c == FC_UNREGISTER)
					me = 0;	/* unknown now; found again later */
				if (!fuzz_allowed(c, r))
					fuzz_bad("%s by a random number (cmd %#lx): %ld",
						 fuzz_cmd_name[c], cmd, r);
				continue;
			}
		}
		if (!fuzz_allowed(c, r))
			fuzz_bad("%s (cmd %#lx, arg %p): %ld", fuzz_cmd_name[c], cmd, ptr, r);
		/* A handle REGISTER returned: ours, and live for the pool. */
		if (c == FC_REGISTER && r == 0 && ptr == a) {
			me = a[1];
			pool_put(x >> 16, me);
		} else if (c == FC_UNREGISTER && r == 0) {
			me = 0;
		}
	}
	pthread_mutex_lock(&F->shapes_lock);
	for (i = 0; i < FC_NR; i++)
		for (j = 0; j < SHAPE_RESULTS; j++)
			F->shapes[i][j] += shapes[i][j];
	pthread_mutex_unlock(&F->shapes_lock);
	atomic_fetch_add(&F->calls, calls);
	free(many);
	return NULL;
}

/* A thread that registers, publishes its handle, blocks briefly and exits. */
static void *short_thread(void *arg)
{
	uint64_t x = (uintptr_t)arg;
	int fd = fuzz_fd(x);
	__u64 h;

	if (gw_register(fd, &h) == 0) {
		pool_put(x >> 8, h);
		gw_block_until(fd, gwake_test_now_ns() + (x >> 16) % NSEC_PER_MSEC);
		gw_wake(fd, atomic_load(&F->pool[(x >> 24) % FUZZ_POOL]));
	}
	return NULL;
}

/*
 * A child of the chaos thread: registers on the open files it inherited
 * (another mm, the same files), publishes its handles (foreign to the
 * parent), wakes the parent's (foreign to it), then ends as @how says.
 */
static void fuzz_child(uint64_t x)
{
	char *const argv[] = { "fuzz_test", NULL };
	pthread_t t;
	__u64 h;
	int i;

	if (gw_register(fuzz_fd(x), &h) == 0)
		pool_put(x >> 8, h);
	for (i = 0; i < 2; i++)
		pthread_create(&t, NULL, short_thread, (void *)(uintptr_t)(x >> (i + 3)));
	for (i = 0; i < 16; i++)
		gw_wake(fuzz_fd(x >> i), atomic_load(&F->pool[(x >> i) % FUZZ_POOL]));
	switch ((x >> 40) % 3) {
	case 0:
		_exit(0);
	case 1:
		setenv(FUZZ_EXEC_ENV, "1", 1);
		execv("/proc/self/exe", argv);
		_exit(0);
	default:
		/* Killed by the parent, asleep or not. */
		gw_block_until(fuzz_fd(x), gwake_test_now_ns() + 100 * NSEC_PER_MSEC);
		for (;;)
			pause();
	}
}

/*
 * mmap() of the shared area with random offsets, lengths, protections and
 * flags; where it works, words scribbled with random values (the module
 * must take any value there: at worst a spurious wakeup of the thread
 * that owns the slot), the read-only region read, and an attempt to make
 * it writable, which must fail.
 */
static void fuzz_mmap(uint64_t x, uint64_t *rng)
{
	static const uint64_t offs[] = {
		GWAKE_MMAP_WORDS, GWAKE_MMAP_SCHED, 4096, GWAKE_AREA_SIZE - 4096,
		2ULL * GWAKE_AREA_SIZE, GWAKE_MMAP_SCHED + GWAKE_AREA_SIZE - 4096,
	};
	static const size_t lens[] = {
		4096, 8192, GWAKE_AREA_SIZE, GWAKE_AREA_SIZE + 4096, 65536,
	};
	static const int prots[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE, PROT_READ | PROT_EXEC, PROT_NONE,
	};
	uint64_t off = offs[x % ARRAY_SIZE(offs)];
	size_t len = lens[(x >> 8) % ARRAY_SIZE(lens)];
	int prot = prots[(x >> 16) % ARRAY_SIZE(prots)];
	int flags = (x >> 24) % 4 ? MAP_SHARED : MAP_PRIVATE;
	uint64_t *p = mmap(NULL, len, prot, flags, fuzz_fd(x >> 32), (off_t)off);
	size_t i, n = len / sizeof(*p);

	if (p == MAP_FAILED)
		return;
	if (off >= GWAKE_MMAP_SCHED && !mprotect(p, len, PROT_READ | PROT_WRITE))
		fuzz_bad("the sched region could be made writable");
	if (prot & PROT_WRITE) {
		/* A few slots near the start, where the fuzzers' slots are. */
		for (i = 0; i < 32; i++)
			p[(splitmix(rng) % 256 * 8) % n] = splitmix(rng);
	} else if (prot & PROT_READ) {
		volatile uint64_t sum = 0;

		for (i = 0; i < n; i += 512)
			sum += p[i];
	}
	munmap(p, len);
}

static void *chaos_thread(void *arg)
{
	pthread_t *fuzzers = arg;
	uint64_t rng = F->seed ^ 0xc4a05;

	while (!atomic_load(&F->stop)) {
		uint64_t x = splitmix(&rng);
		pthread_t t;

		switch (x % 9) {
		case 0:
		case 1:
			if (!pthread_create(&t, NULL, short_thread, (void *)(uintptr_t)(x >> 3))) {
				pthread_join(t, NULL);
				atomic_fetch_add(&F->short_threads, 1);
			}
			break;
		case 2: {
			/*
			 * Plain fork(): this test runs only with the module,
			 * in the VM, where nothing is built with ASan.
			 */
			pid_t pid = fork();

			if (pid == 0)
				fuzz_child(x >> 3);
			if (pid > 0) {
				usleep((x >> 8) % 5000);
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				atomic_fetch_add(&F->children, 1);
			}
			break;
		}
		case 3: {
			/* The old file goes when its last user lets go. */
			int i = (x >> 3) % FUZZ_FDS;
			int nfd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);

			if (nfd >= 0) {
				dup3(nfd, atomic_load(&F->fds[i]), O_CLOEXEC);
				close(nfd);
				atomic_fetch_add(&F->reopens, 1);
			}
			break;
		}
		case 4:
			fuzz_mmap(x >> 3, &rng);
			break;
		default:
			pthread_kill(fuzzers[(x >> 3) % FUZZ_THREADS], SIGUSR1);
			usleep(200);
			break;
		}
	}
	return NULL;
}

FIXTURE(fuzz) {
	uint64_t seed;
	uint64_t seconds;
};

FIXTURE_SETUP(fuzz)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (access(GWAKE_TEST_DEV, F_OK))
		GWAKE_SETUP_SKIP("%s: %s absent (gwake.ko not loaded)", _metadata->name,
				 GWAKE_TEST_DEV);
	self->seconds = env_u64("GWAKE_FUZZ_SECONDS", 8);
	self->seed = env_u64("GWAKE_FUZZ_SEED", (uint64_t)gwake_test_now_ns());
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	/* Children killed mid-way: no core files. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	ksft_print_msg("%s: seed %#llx (GWAKE_FUZZ_SEED), %llu s (GWAKE_FUZZ_SECONDS)\n",
		       _metadata->name, (unsigned long long)self->seed,
		       (unsigned long long)self->seconds);
	fflush(stdout);
}

FIXTURE_TEARDOWN(fuzz)
{
}

/* Prints the calls and the shapes seen; returns the number of shapes. */
static int print_shapes(const char *what, long long calls, long long shapes[][SHAPE_RESULTS],
			const char *const *names, int nr)
{
	int i, j, n = 0;

	for (i = 0; i < nr; i++) {
		char line[512];
		int len = 0;

		for (j = 0; j < SHAPE_RESULTS; j++) {
			if (!shapes[i][j])
				continue;
			n++;
			len += snprintf(line + len, sizeof(line) > (size_t)len ? sizeof(line) - len : 0,
					" %s:%lld", shape_errno(j), shapes[i][j]);
		}
		if (len)
			ksft_print_msg("  %s:%s\n", names[i], line);
	}
	ksft_print_msg("%s: %lld calls, %d distinct (command, result) shapes\n", what, calls, n);
	fflush(stdout);
	return n;
}

TEST_F_TIMEOUT(fuzz, ioctl, 900)
{
	pthread_t fuzzers[FUZZ_THREADS], chaos;
	int i, n;

	F = calloc(1, sizeof(*F));
	ASSERT_NE(NULL, F);
	F->seed = self->seed;
	F->page = (size_t)sysconf(_SC_PAGESIZE);
	pthread_mutex_init(&F->shapes_lock, NULL);
	F->pool = mmap(NULL, FUZZ_POOL * sizeof(*F->pool), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, F->pool);
	F->pages = mmap(NULL, 3 * F->page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, F->pages);
	ASSERT_EQ(0, mprotect(F->pages + F->page, F->page, PROT_NONE));
	ASSERT_EQ(0, mprotect(F->pages + 2 * F->page, F->page, PROT_READ));
	for (i = 0; i < FUZZ_FDS; i++) {
		int fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);

		ASSERT_LE(0, fd);
		atomic_store(&F->fds[i], fd);
	}
	for (i = 0; i < FUZZ_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&fuzzers[i], NULL, fuzz_thread, (void *)(uintptr_t)i));
	ASSERT_EQ(0, pthread_create(&chaos, NULL, chaos_thread, fuzzers));

	F->end = gwake_test_now_ns() + (int64_t)self->seconds * NSEC_PER_SEC;
	while (gwake_test_now_ns() < F->end)
		usleep(10000);
	atomic_store(&F->stop, 1);
	pthread_join(chaos, NULL);
	/* Signals end unbounded blocks; a few rounds until every fuzzer left. */
	for (i = 0; i < FUZZ_THREADS; i++) {
		while (pthread_tryjoin_np(fuzzers[i], NULL) == EBUSY) {
			pthread_kill(fuzzers[i], SIGUSR1);
			usleep(1000);
		}
	}

	n = print_shapes("fuzz ioctl", atomic_load(&F->calls), F->shapes, fuzz_cmd_name, FC_NR);
	ksft_print_msg("fuzz ioctl: %lld short-lived threads, %lld child processes, "
		       "%lld files replaced\n", (long long)atomic_load(&F->short_threads),
		       (long long)atomic_load(&F->children), (long long)atomic_load(&F->reopens));
	fflush(stdout);
	EXPECT_EQ(0, atomic_load(&F->bad)) TH_LOG("a result outside the ABI: %s", F->bad_msg);
	EXPECT_LT(20, n) TH_LOG("the fuzzer reached too few shapes: a broken generator?");
	for (i = 0; i < FUZZ_FDS; i++)
		close(atomic_load(&F->fds[i]));
	munmap(F->pages, 3 * F->page);
	munmap(F->pool, FUZZ_POOL * sizeof(*F->pool));
	free(F);
}

/* --- generic netlink ---------------------------------------------------- */

#define GENL_SLEEPERS	256
#define GENL_KINDS	8

static const char *const genl_kind_name[GENL_KINDS] = {
	"gwake request", "gwake request, malformed attrs", "controller request",
	"truncated", "oversized", "batched", "dump abandoned", "dump twice",
};

struct genl_sleepers {
	int fd;
	__u64 handle[GENL_SLEEPERS];
	pthread_t thread[GENL_SLEEPERS];
	atomic_int registered;
};

static void *genl_sleeper(void *arg)
{
	struct genl_sleepers *s = arg;
	int i = atomic_fetch_add(&s->registered, 1);
	__u64 h;

	if (gw_register(s->fd, &h))
		return NULL;
	__atomic_store_n(&s->handle[i], h, __ATOMIC_RELEASE);
	gw_block(s->fd);
	return NULL;
}

/* Builds a random message of the gwake family (or @type) in @buf. */
static size_t genl_random_msg(uint64_t *rng, char *buf, size_t cap, __u16 type, __u32 seq,
			      bool malformed_attrs)
{
	uint64_t x = splitmix(rng);
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct genlmsghdr *g = NLMSG_DATA(nlh);
	static const __u16 flag_bits[] = {
		NLM_F_ACK, NLM_F_ECHO, NLM_F_DUMP, NLM_F_ROOT, NLM_F_MATCH, NLM_F_ATOMIC,
		NLM_F_MULTI, NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND,
	};
	size_t len = NLMSG_LENGTH(GENL_HDRLEN);
	int nattrs = x % 5, i;

	memset(buf, 0, len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	for (i = 0; i < 3; i++)
		if (splitmix(rng) % 3 == 0)
			nlh->nlmsg_flags |= flag_bits[splitmix(rng) % ARRAY_SIZE(flag_bits)];
	if (x % 31 == 0)
		nlh->nlmsg_flags = (__u16)splitmix(rng);
	nlh->nlmsg_seq = seq;
	g->cmd = x % 7 ? (__u8)((x >> 8) % (__GWAKE_CMD_MAX + 2)) : (__u8)(x >> 8);
	g->version = x % 11 ? GWAKE_GENL_VERSION : (__u8)(x >> 16);
	g->reserved = x % 13 ? 0 : (__u16)(x >> 24);
	for (i = 0; i < nattrs && len + 64 < cap; i++) {
		uint64_t y = splitmix(rng);
		struct nlattr *a = (struct nlattr *)(buf + len);
		static const __u16 lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 16 };
		__u16 dlen = lens[y % ARRAY_SIZE(lens)];

		a->nla_type = (__u16)((y >> 8) % (GWAKE_THREAD_A_MAX + 4));
		if (y % 9 == 0)
			a->nla_type |= NLA_F_NESTED;
		if (y % 10 == 0)
			a->nla_type |= NLA_F_NET_BYTEORDER;
		a->nla_len = NLA_HDRLEN + dlen;
		if (malformed_attrs && y % 4 == 0)
			a->nla_len = (__u16)(y >> 32) % 64;	/* may lie */
		for (int k = 0; k < dlen; k++)
			((char *)a)[NLA_HDRLEN + k] = (char)splitmix(rng);
		/* Sometimes a real process: ours, or init. */
		if (dlen == 4 && y % 3 == 0) {
			__u32 pid = y % 2 ? (__u32)getpid() : 1;

			memcpy((char *)a + NLA_HDRLEN, &pid, 4);
		}
		len += NLA_ALIGN(NLA_HDRLEN + dlen);
	}
	nlh->nlmsg_len = (__u32)len;
	return len;
}

#define GENL_NO_REPLY	(-1)
#define GENL_OVERRUN	(-2)

/*
 * Reads whatever came back, without waiting long; checks every message's
 * framing and the errno of every error. Returns the first error's errno
 * (positive), 0 for an ack or data only, GENL_NO_REPLY if nothing came,
 * GENL_OVERRUN if the socket dropped replies (ENOBUFS).
 */
static int genl_drain(int fd, char *buf, size_t cap, bool *bad)
{
	int first = GENL_NO_REPLY, polls = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Replies come from the sending context; give a late one a moment. */
			if (polls++ >= 2)
				return first;
			usleep(200);
			continue;
		}
		if (n < 0 && errno == ENOBUFS)
			return GENL_OVERRUN;
		if (n < 0) {
			*bad = true;
			return first;
		}
		for (; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);
				int err = nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) ? e->error : 1;

				switch (-err) {
				case 0: case EINVAL: case EOPNOTSUPP: case ERANGE: case ESRCH:
				case EPERM: case EMSGSIZE: case EBUSY: case ENOENT: case EAGAIN:
				case ENOMEM:
					break;
				default:
					*bad = true;
				}
				if (first == GENL_NO_REPLY)
					first = -err;
			} else if (first == GENL_NO_REPLY) {
				first = 0;
			}
		}
		if (len)
			*bad = true;	/* a torn message */
	}
}

static int genl_socket(bool ext_ack)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	int on = 1;

	if (fd >= 0 && ext_ack)
		setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
	return fd;
}

TEST_F_TIMEOUT(fuzz, genl, 900)
{
	static long long shapes[GENL_KINDS][SHAPE_RESULTS];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct genl_sleepers *sl;
	uint64_t rng = self->seed;
	struct gnl nl;
	char *buf, *rbuf;
	long long calls = 0;
	bool bad = false;
	int64_t end;
	int fd, i, n, ret;
	__u32 seq = 1;

	memset(shapes, 0, sizeof(shapes));

	ASSERT_EQ(0, gnl_open(&nl));
	ret = gnl_resolve(&nl);
	ASSERT_EQ(0, ret) TH_LOG("the gwake family: %s", strerror(-ret));
	buf = malloc(GNL_BUF_SIZE);
	rbuf = malloc(GNL_BUF_SIZE);
	ASSERT_TRUE(buf && rbuf);

	/* Threads registered and asleep: dumps of several messages. */
	sl = calloc(1, sizeof(*sl));
	ASSERT_NE(NULL, sl);
	sl->fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, sl->fd);
	for (i = 0; i < GENL_SLEEPERS; i++)
		ASSERT_EQ(0, pthread_create(&sl->thread[i], NULL, genl_sleeper, sl));
	for (i = 0; i < GENL_SLEEPERS; i++)
		while (!__atomic_load_n(&sl->handle[i], __ATOMIC_ACQUIRE))
			usleep(100);

	fd = genl_socket(true);
	ASSERT_LE(0, fd);
	end = gwake_test_now_ns() + (int64_t)self->seconds * NSEC_PER_SEC;
	while (gwake_test_now_ns() < end) {
		uint64_t x = splitmix(&rng);
		int kind = x % GENL_KINDS;
		size_t len = 0, k;
		ssize_t sent;
		int r;

		switch (kind) {
		case 0:
		case 1:
			len = genl_random_msg(&rng, buf, GNL_BUF_SIZE, nl.family, seq++, kind == 1);
			break;
		case 2:
			/* The controller, about any name. */
			len = genl_random_msg(&rng, buf, GNL_BUF_SIZE, GENL_ID_CTRL, seq++, false);
			((struct genlmsghdr *)NLMSG_DATA((struct nlmsghdr *)buf))->cmd =
				CTRL_CMD_GETFAMILY;
			break;
		case 3:
			/* The header says more, or less, than was sent. */
			len = genl_random_msg(&rng, buf, GNL_BUF_SIZE, nl.family, seq++, false);
			((struct nlmsghdr *)buf)->nlmsg_len = (__u32)(splitmix(&rng) % (len + 32));
			len = splitmix(&rng) % (len + 1);
			break;
		case 4:
			/* Near the socket's limit: one request of many attributes. */
			len = genl_random_msg(&rng, buf, GNL_BUF_SIZE, nl.family, seq++, false);
			while (len + 8 <= GNL_BUF_SIZE - 4096) {
				struct nlattr *a = (struct nlattr *)(buf + len);

				a->nla_type = GWAKE_THREAD_A_TGID;
				a->nla_len = 8;
				memset(a + 1, 0xff, 4);
				len += 8;
			}
			((struct nlmsghdr *)buf)->nlmsg_len = (__u32)len;
			break;
		case 5:
			/* Several requests in one datagram. */
			for (k = 0; k < 4; k++)
				len += genl_random_msg(&rng, buf + len, GNL_BUF_SIZE - len,
						       nl.family, seq++, x % 2);
			break;
		case 6: {
			/*
			 * A dump of every thread on a socket with a small
			 * receive buffer, read once, then closed with the
			 * dump still in progress.
			 */
			int d = genl_socket(x % 2), small = 2048;
			char attrs[16];
			size_t alen = 0;

			if (d < 0)
				break;
			setsockopt(d, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
			if (x % 3 == 0) {
				__u32 pid = getpid();

				alen = gnl_attr(attrs, 0, GWAKE_THREAD_A_TGID, &pid, sizeof(pid));
			}
			len = NLMSG_LENGTH(GENL_HDRLEN + alen);
			memset(buf, 0, len);
			((struct nlmsghdr *)buf)->nlmsg_len = (__u32)len;
			((struct nlmsghdr *)buf)->nlmsg_type = nl.family;
			((struct nlmsghdr *)buf)->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
			((struct genlmsghdr *)NLMSG_DATA((struct nlmsghdr *)buf))->cmd =
				GWAKE_CMD_GET_THREADS;
			((struct genlmsghdr *)NLMSG_DATA((struct nlmsghdr *)buf))->version = 1;
			memcpy(buf + NLMSG_LENGTH(GENL_HDRLEN), attrs, alen);
			sent = sendto(d, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
			r = sent < 0 ? -errno : 0;
			if (x % 4)
				recv(d, rbuf, 512, 0);	/* a part of the first batch */
			close(d);
			calls++;
			shapes[kind][shape_result(r)]++;
			continue;
		}
		case 7: {
			/* A second dump requested before the first was read. */
			struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

			len = NLMSG_LENGTH(GENL_HDRLEN);
			memset(buf, 0, 2 * len);
			for (k = 0; k < 2; k++) {
				nlh = (struct nlmsghdr *)(buf + k * len);
				nlh->nlmsg_len = (__u32)len;
				nlh->nlmsg_type = nl.family;
				nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
				nlh->nlmsg_seq = seq++;
				((struct genlmsghdr *)NLMSG_DATA(nlh))->cmd = GWAKE_CMD_GET_THREADS;
				((struct genlmsghdr *)NLMSG_DATA(nlh))->version = 1;
				sendto(fd, nlh, len, 0, (struct sockaddr *)&sa, sizeof(sa));
			}
			len = 0;
			break;
		}
		}
		if (len) {
			sent = sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
			if (sent < 0 && errno != EINVAL && errno != EMSGSIZE && errno != ENOBUFS &&
			    errno != ECONNREFUSED)
				bad = true;
		}
		r = genl_drain(fd, rbuf, GNL_BUF_SIZE, &bad);
		calls++;
		if (r == GENL_NO_REPLY)
			shapes[kind][SHAPE_NONE]++;
		else if (r == GENL_OVERRUN)
			shapes[kind][ENOBUFS]++;
		else
			shapes[kind][shape_result(-(long)r)]++;
		if (bad) {
			TH_LOG("a malformed reply or an unexpected error, %s request", genl_kind_name[kind]);
			break;
		}
		/* Replies overrun the socket now and then: start afresh. */
		if (r == GENL_OVERRUN) {
			close(fd);
			fd = genl_socket(x % 2);
			ASSERT_LE(0, fd);
		}
	}
	close(fd);
	n = print_shapes("fuzz genl", calls, shapes, genl_kind_name, GENL_KINDS);
	EXPECT_FALSE(bad);
	EXPECT_LT(8, n) TH_LOG("the fuzzer reached too few shapes: a broken generator?");

	/* Still sane afterwards: the stats and a complete dump work. */
	{
		struct gthreads ts = { 0 };
		struct gstats st;

		EXPECT_EQ(0, gnl_get_stats(&nl, &st));
		EXPECT_EQ(0, gnl_get_threads(&nl, getpid(), &ts));
		EXPECT_EQ(GENL_SLEEPERS, (int)gthreads_count(&ts, getpid()));
		free(ts.v);
	}
	for (i = 0; i < GENL_SLEEPERS; i++)
		gw_wake(sl->fd, sl->handle[i]);
	for (i = 0; i < GENL_SLEEPERS; i++)
		pthread_join(sl->thread[i], NULL);
	close(sl->fd);
	free(sl);
	free(buf);
	free(rbuf);
	gnl_close(&nl);
}

TEST_HARNESS_MAIN
