// SPDX-License-Identifier: GPL-2.0
/*
 * The raw /dev/gwake ioctl ABI, without libgwake: every errno that
 * include/uapi/linux/gwake.h promises, and that a rejected call changes
 * nothing (no lost permit, no lost or leaked registration, no wake).
 *
 * Skipped where /dev/gwake does not exist. Registrations are per thread and
 * per open file; each test is a fresh process with a fresh file.
 *
 * A call that the module wrongly accepted must not hang the test: every
 * BLOCK or SWAP that should fail is made either with a past deadline or
 * with a permit armed first (then a wrong acceptance consumes it and
 * returns 0, which the test reports).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "gwake_raw.h"
#include "gwake_test.h"

/* Takes a pending permit without sleeping: 0, or -ETIMEDOUT if none. */
static long gw_poll(int fd)
{
	return gw_block_until(fd, gwake_test_now_ns());
}

static const struct {
	const char *name;
	unsigned long cmd;
} commands[] = {
	{ "API", GWAKE_IOC_API },
	{ "REGISTER", GWAKE_IOC_REGISTER },
	{ "UNREGISTER", GWAKE_IOC_UNREGISTER },
	{ "BLOCK", GWAKE_IOC_BLOCK },
	{ "WAKE", GWAKE_IOC_WAKE },
	{ "SWAP", GWAKE_IOC_SWAP },
	{ "WAKE_MANY", GWAKE_IOC_WAKE_MANY },
	{ "NOTIFY", GWAKE_IOC_NOTIFY },
};

/*
 * A thread registered on the same file that waits for one order, so a
 * test can check whether a call woke it or left it a permit, or wake it
 * while it sleeps.
 */
enum peer_order { PEER_POLL = 1, PEER_BLOCK, PEER_BLOCK_U64_MAX };

struct peer {
	int fd;
	pthread_t thread;
	pid_t tid;
	__u64 handle;
	atomic_int ready;	/* registered; handle and tid are set */
	atomic_int order;	/* enum peer_order, 0 until given */
	atomic_int entering;	/* its next step is the ioctl */
	__u64 wake_back;	/* if set before the order: woken after it */
	long result;		/* of the order, read after pthread_join() */
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	int order;

	p->tid = gwake_test_gettid();
	if (gw_register(p->fd, &p->handle))
		p->handle = 0;
	atomic_store_explicit(&p->ready, 1, memory_order_release);
	while (!(order = atomic_load_explicit(&p->order, memory_order_acquire)))
		usleep(50);
	atomic_store_explicit(&p->entering, 1, memory_order_release);
	switch (order) {
	case PEER_POLL:
		p->result = gw_poll(p->fd);
		break;
	case PEER_BLOCK:
		p->result = gw_block(p->fd);
		break;
	default:
		p->result = gw_block_until(p->fd, ~0ULL);
		break;
	}
	if (p->wake_back)
		gw_wake(p->fd, p->wake_back);
	return NULL;
}

static int peer_start(struct peer *p, int fd)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	if (pthread_create(&p->thread, NULL, peer_main, p))
		return -1;
	return gwake_test_wait_flag(&p->ready) && p->handle ? 0 : -1;
}

static void peer_order(struct peer *p, enum peer_order order)
{
	atomic_store_explicit(&p->order, order, memory_order_release);
}

/* Gives the order and waits until the peer sleeps in it. */
static bool peer_sleep(struct peer *p, enum peer_order order)
{
	peer_order(p, order);
	return gwake_test_wait_flag(&p->entering) && gwake_test_wait_asleep(p->tid);
}

/* Gives the order (unless given) and returns what the peer got. */
static long peer_finish(struct peer *p, enum peer_order order)
{
	if (!atomic_load(&p->order))
		peer_order(p, order);
	pthread_join(p->thread, NULL);
	return p->result;
}

FIXTURE(ioctl) {
	int fd;
	char *pages;	/* page 0 read-write, page 1 unmapped-like, page 2 read-only */
	char *rw_end;	/* the end of page 0: a struct there straddles into page 1 */
	void *noaccess;	/* page 1 */
	void *readonly;	/* page 2, zero-filled */
	size_t page;
};

FIXTURE_SETUP(ioctl)
{
	if (access(GWAKE_TEST_DEV, F_OK))
		GWAKE_SETUP_SKIP("%s: %s absent (gwake.ko not loaded)",
				 _metadata->name, GWAKE_TEST_DEV);
	self->fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GWAKE_TEST_DEV, strerror(errno));
	self->page = (size_t)sysconf(_SC_PAGESIZE);
	self->pages = mmap(NULL, 3 * self->page, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->pages);
	self->rw_end = self->pages + self->page;
	self->noaccess = self->pages + self->page;
	self->readonly = self->pages + 2 * self->page;
	ASSERT_EQ(0, mprotect(self->noaccess, self->page, PROT_NONE));
	ASSERT_EQ(0, mprotect(self->readonly, self->page, PROT_READ));
}

FIXTURE_TEARDOWN(ioctl)
{
	if (self->pages)
		munmap(self->pages, 3 * self->page);
	if (self->fd > 0)
		close(self->fd);
}

/* --- Probe -------------------------------------------------------------- */

TEST_F(ioctl, api)
{
	struct gwake_api api = { .flags = 0 };

	ASSERT_EQ(0, gw_ioctl(self->fd, GWAKE_IOC_API, &api));
	ASSERT_EQ(GWAKE_API_VERSION, api.version);
	ASSERT_EQ(GWAKE_WAKE_MANY_MAX, api.max_wake_many);
	/* One definition, in the uapi header, for the module and its users. */
	EXPECT_EQ(GWAKE_API_COMMANDS, api.commands);
	/* All of them, but placement on PREEMPT_RT (kmod/place.c). */
	EXPECT_EQ(GWAKE_API_FEATURES &
		  ~(gwake_test_kernel_rt() ? GWAKE_FEATURE_PLACE : 0), api.features);
}

/* --- Bad input ---------------------------------------------------------- */

/*
 * Commands the module does not know: ENOTTY. Our magic with an unknown
 * number, our numbers under a neighbouring magic (a switch on _IOC_NR()
 * alone accepts those), a bare number that the VFS passes through.
 */
TEST_F(ioctl, unknown_command_enotty)
{
	const unsigned long bad[] = {
		_IO(GWAKE_IOC_MAGIC, 0x07),
		_IOWR(GWAKE_IOC_MAGIC, 0x07, struct gwake_api),
		_IOW(GWAKE_IOC_MAGIC, 0x7f, struct gwake_wake),
		_IOWR(GWAKE_IOC_MAGIC, 0xff, struct gwake_swap),
		_IOW(GWAKE_IOC_MAGIC + 1, _GWAKE_WAKE, struct gwake_wake),
		_IOWR(GWAKE_IOC_MAGIC - 1, _GWAKE_API, struct gwake_api),
		_GWAKE_WAKE,
	};
	/* Invalid flags everywhere: if a command is wrongly run, it fails with EINVAL. */
	__u64 arg[8] = { ~0ULL };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-ENOTTY, gw_ioctl(self->fd, bad[i], arg))
			TH_LOG("cmd %#lx", bad[i]);
	}
}

/*
 * Our command numbers with a wrong size or direction are other commands:
 * ENOTTY. The argument is built so that a wrongly accepted command cannot
 * block: flags = GWAKE_BLOCK_TIMEOUT (invalid for all but BLOCK and SWAP),
 * a deadline of 0 (already past), and the thread is not registered.
 */
TEST_F(ioctl, wrong_size_or_direction_enotty)
{
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE,
	};
	__u64 arg[8] = { GWAKE_BLOCK_TIMEOUT };
	unsigned int i, d;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		unsigned long cmd = commands[i].cmd;
		unsigned int nr = _IOC_NR(cmd), size = _IOC_SIZE(cmd);
		unsigned long alt;

		for (d = 0; d < ARRAY_SIZE(dirs); d++) {
			if (dirs[d] == _IOC_DIR(cmd))
				continue;
			alt = _IOC(dirs[d], GWAKE_IOC_MAGIC, nr, size);
			EXPECT_EQ(-ENOTTY, gw_ioctl(self->fd, alt, arg))
				TH_LOG("%s with direction %u (cmd %#lx)",
				       commands[i].name, dirs[d], alt);
		}
		alt = _IOC(_IOC_DIR(cmd), GWAKE_IOC_MAGIC, nr, size + 8);
		EXPECT_EQ(-ENOTTY, gw_ioctl(self->fd, alt, arg))
			TH_LOG("%s with size %u (cmd %#lx)", commands[i].name, size + 8, alt);
		alt = _IOC(_IOC_DIR(cmd), GWAKE_IOC_MAGIC, nr, size - 8);
		EXPECT_EQ(-ENOTTY, gw_ioctl(self->fd, alt, arg))
			TH_LOG("%s with size %u (cmd %#lx)", commands[i].name, size - 8, alt);
	}
}

/*
 * An argument that cannot be read (or, for API and REGISTER, written):
 * EFAULT for every command, registered so that ENOENT is not an answer,
 * and the registration survives: same handle, no permit appeared.
 */
TEST_F(ioctl, bad_pointer_efault)
{
	__u64 h, h2;
	unsigned int i;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		unsigned long cmd = commands[i].cmd;
		/* The struct's last 8 bytes fall into the inaccessible page. */
		char *straddle = self->rw_end - _IOC_SIZE(cmd) + 8;

		memset(straddle, 0, _IOC_SIZE(cmd) - 8);
		EXPECT_EQ(-EFAULT, gw_ioctl(self->fd, cmd, NULL))
			TH_LOG("%s(NULL)", commands[i].name);
		EXPECT_EQ(-EFAULT, gw_ioctl(self->fd, cmd, self->noaccess))
			TH_LOG("%s(PROT_NONE page)", commands[i].name);
		EXPECT_EQ(-EFAULT, gw_ioctl(self->fd, cmd, straddle))
			TH_LOG("%s(struct straddling a PROT_NONE page)", commands[i].name);
	}
	/* Readable input (flags 0) but the output cannot be written. */
	EXPECT_EQ(-EFAULT, gw_ioctl(self->fd, GWAKE_IOC_API, self->readonly));
	EXPECT_EQ(-EFAULT, gw_ioctl(self->fd, GWAKE_IOC_REGISTER, self->readonly));

	ASSERT_EQ(0, gw_register(self->fd, &h2));
	EXPECT_EQ(h, h2) TH_LOG("a faulting call dropped the registration");
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd)) TH_LOG("a faulting call left a permit");
}

/*
 * WAKE_MANY's array: unreadable -> EFAULT, and then no handle is woken,
 * not even those before the bad part. A read-only array is fine.
 */
TEST_F(ioctl, wake_many_array_efault)
{
	__u64 *last = (__u64 *)self->rw_end - 1;
	__u64 h;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	EXPECT_EQ(-EFAULT, gw_wake_many(self->fd, NULL, 1));
	EXPECT_EQ(-EFAULT, gw_wake_many(self->fd, self->noaccess, 1));
	/* My handle first, the second element unreadable. */
	*last = h;
	EXPECT_EQ(-EFAULT, gw_wake_many(self->fd, last, 2));
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd))
		TH_LOG("WAKE_MANY failed with EFAULT but woke the handles it had read");
	EXPECT_EQ(-EFAULT, gw_wake_many(self->fd, last, GWAKE_WAKE_MANY_MAX));
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));

	/* A zero-length array is never read; a read-only one only read. */
	EXPECT_EQ(0, gw_wake_many(self->fd, NULL, 0));
	EXPECT_EQ(0, gw_wake_many(self->fd, self->readonly, 4));
	EXPECT_EQ(0, gw_wake_many(self->fd, last, 1));
	EXPECT_EQ(0, gw_poll(self->fd)) TH_LOG("WAKE_MANY([me]) left no permit");
}

/*
 * Unknown flags: EINVAL from every command, with no effect. Each call that
 * could wake targets my own handle (a permit would show), and a permit is
 * armed before the calls that could block (a wrongly accepted BLOCK or SWAP
 * would consume it instead of hanging). Every bad value has a bit no
 * command knows, besides the ones some command does know (bits 0 and 1:
 * TIMEOUT and PARTNER for BLOCK and SWAP, SLEEPER for WAKE and WAKE_MANY).
 */
TEST_F(ioctl, unknown_flags_einval)
{
	static const __u64 bad_flags[] = { 1ULL << 3, 1ULL << 31, 1ULL << 32, 1ULL << 63, ~0ULL };
	__u64 h, h2, handles[1];
	unsigned int i;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	handles[0] = h;
	for (i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		__u64 f = bad_flags[i];
		__u64 f0 = f | 3;
		struct gwake_api api = { .flags = f0 };
		struct gwake_register reg = { .flags = f0 };
		struct gwake_unregister unreg = { .flags = f0 };
		struct gwake_wake wake = { .flags = f0, .handle = h };
		struct gwake_wake_many wm = {
			.flags = f0, .handles = (__u64)(uintptr_t)handles, .count = 1,
		};
		struct gwake_block blk = { .flags = f | GWAKE_BLOCK_PARTNER, .partner = h };
		struct gwake_swap swp = { .flags = f, .handle = h, .timeout_ns = 0 };
		struct gwake_notify nt = { .flags = f0, .handle = h };

		TH_LOG("flags %#llx", (unsigned long long)f);
		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_API, &api));
		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_REGISTER, &reg));
		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_UNREGISTER, &unreg));
		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_WAKE, &wake));
		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_WAKE_MANY, &wm));
		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt));
		EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd))
			TH_LOG("a rejected WAKE, SWAP or WAKE_MANY left a permit");

		ASSERT_EQ(0, gw_wake(self->fd, h));
		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, &blk));
		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
		EXPECT_EQ(0, gw_poll(self->fd)) TH_LOG("a rejected BLOCK or SWAP took the permit");
	}
	/* UNREGISTER with bad flags did not unregister. */
	ASSERT_EQ(0, gw_register(self->fd, &h2));
	EXPECT_EQ(h, h2);
}

/*
 * GWAKE_SWAP_PLACE is SWAP's only: BLOCK refuses it, and so does SWAP
 * where placement is not offered (PREEMPT_RT), without waking or taking a
 * permit. Where it is offered, a swap to oneself with it still takes the
 * permit it leaves (placement needs a sleeping target other than the
 * caller, so nothing is narrowed).
 */
TEST_F(ioctl, place_flag)
{
	struct gwake_block blk = { .flags = GWAKE_SWAP_PLACE };
	struct gwake_swap swp = { .flags = GWAKE_SWAP_PLACE };
	__u64 h;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	swp.handle = h;
	ASSERT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, &blk));
	if (gwake_test_kernel_rt()) {
		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
		EXPECT_EQ(0, gw_poll(self->fd)) TH_LOG("a rejected BLOCK or SWAP took the permit");
	} else {
		EXPECT_EQ(0, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
		EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd)) TH_LOG("a swap to self left a permit");
	}
}

/* WAKE_MANY's reserved field must be 0; nothing is woken otherwise. */
TEST_F(ioctl, reserved_field_einval)
{
	static const __u32 bad[] = { 1, 1U << 31, ~0U };
	__u64 h;
	unsigned int i;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct gwake_wake_many wm = {
			.flags = 0, .handles = (__u64)(uintptr_t)&h, .count = 1,
			.reserved = bad[i],
		};

		EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_WAKE_MANY, &wm))
			TH_LOG("reserved %#x", bad[i]);
	}
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));
}

/*
 * NOTIFY: reserved must be 0 and the threshold at most GWAKE_NOTIFY_MAX_NS
 * (EINVAL); the caller must be registered (ENOENT) and the handle live
 * (ESRCH). No failure turns anything on: a block of ours afterwards leaves
 * us no permit.
 */
TEST_F(ioctl, notify_bad_input)
{
	struct gwake_notify nt = { .flags = 0 };
	__u64 h, old;

	nt.handle = 1;
	EXPECT_EQ(-ENOENT, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt));
	ASSERT_EQ(0, gw_register(self->fd, &old));
	ASSERT_EQ(0, gw_unregister(self->fd));
	ASSERT_EQ(0, gw_register(self->fd, &h));

	nt.handle = h;
	nt.reserved = 1;
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt));
	nt.reserved = 1ULL << 63;
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt));
	nt.reserved = 0;
	nt.threshold_ns = GWAKE_NOTIFY_MAX_NS + 1;
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt));
	nt.threshold_ns = ~0ULL;
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt));
	nt.threshold_ns = 0;
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt)) TH_LOG("my own handle");
	nt.handle = 0;
	nt.threshold_ns = 1;
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt)) TH_LOG("off with a threshold");
	nt.threshold_ns = 0;
	nt.handle = old;
	EXPECT_EQ(-ESRCH, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt));
	nt.handle = ~0ULL;
	EXPECT_EQ(-ESRCH, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt));
	/* Were any of them taken, this sleep would leave me a permit. */
	usleep(2000);
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd)) TH_LOG("a rejected NOTIFY reported a block");

	/* Off is fine. */
	nt.handle = 0;
	nt.threshold_ns = 0;
	EXPECT_EQ(0, gw_ioctl(self->fd, GWAKE_IOC_NOTIFY, &nt));
}

/*
 * GWAKE_BLOCK_PARTNER needs a partner, and partner and spin_ns need the
 * flag: EINVAL, the permit untouched.
 */
TEST_F(ioctl, partner_fields_einval)
{
	struct gwake_block no_partner = { .flags = GWAKE_BLOCK_PARTNER };
	struct gwake_block stray_partner = { .partner = 1 };
	struct gwake_block stray_spin = { .spin_ns = 1000 };
	__u64 h;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	ASSERT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, &no_partner));
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, &stray_partner));
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, &stray_spin));
	EXPECT_EQ(0, gw_poll(self->fd)) TH_LOG("a rejected BLOCK took the permit");
}

/*
 * The first version's BLOCK (16 bytes, GWAKE_IOC_BLOCK_VER0) still works,
 * as the new one with partner and spin_ns 0.
 */
TEST_F(ioctl, block_ver0)
{
	__u64 arg[2] = { GWAKE_BLOCK_TIMEOUT, 1 };	/* a past deadline */
	__u64 h;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	EXPECT_EQ(-ETIMEDOUT, gw_ioctl(self->fd, GWAKE_IOC_BLOCK_VER0, arg));
	ASSERT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(0, gw_ioctl(self->fd, GWAKE_IOC_BLOCK_VER0, arg));
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));
}

/* A timeout without GWAKE_BLOCK_TIMEOUT is a mistake, not "no timeout". */
TEST_F(ioctl, timeout_without_flag_einval)
{
	struct gwake_block blk = { .flags = 0, .timeout_ns = 1 };
	struct gwake_swap swp = { .flags = 0, .timeout_ns = 1 };
	__u64 h;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	swp.handle = h;
	ASSERT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, &blk));
	blk.timeout_ns = ~0ULL;
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, &blk));
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
	EXPECT_EQ(0, gw_poll(self->fd)) TH_LOG("a rejected BLOCK or SWAP took the permit");
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd)) TH_LOG("a rejected SWAP woke its target");
}

/* More than GWAKE_WAKE_MANY_MAX handles: EINVAL before anything is woken. */
TEST_F(ioctl, wake_many_count_einval)
{
	static __u64 handles[GWAKE_WAKE_MANY_MAX + 1];
	__u64 h;
	unsigned int i;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	for (i = 0; i < ARRAY_SIZE(handles); i++)
		handles[i] = h;
	EXPECT_EQ(-EINVAL, gw_wake_many(self->fd, handles, GWAKE_WAKE_MANY_MAX + 1));
	/* Not EFAULT: the count is checked before the array is read. */
	EXPECT_EQ(-EINVAL, gw_wake_many(self->fd, handles, ~0U));
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));
	/* The limit itself is allowed. */
	EXPECT_EQ(0, gw_wake_many(self->fd, handles, GWAKE_WAKE_MANY_MAX));
	EXPECT_EQ(0, gw_poll(self->fd));
}

/*
 * Without a registration on this file: BLOCK, SWAP and UNREGISTER fail
 * with ENOENT (SWAP without waking its target); WAKE, WAKE_MANY and API
 * need none.
 */
TEST_F(ioctl, unregistered_enoent)
{
	struct gwake_swap swp = { .flags = GWAKE_BLOCK_TIMEOUT };
	struct peer p;

	EXPECT_EQ(-ENOENT, gw_unregister(self->fd));
	EXPECT_EQ(-ENOENT, gw_poll(self->fd));
	/* Wrongly registering and sleeping would end in ETIMEDOUT, not hang. */
	EXPECT_EQ(-ENOENT, gw_block_until(self->fd, gwake_test_now_ns() + GWAKE_TEST_LONG_NS));

	ASSERT_EQ(0, peer_start(&p, self->fd));
	swp.handle = p.handle;
	swp.timeout_ns = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	EXPECT_EQ(-ENOENT, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
	EXPECT_EQ(-ETIMEDOUT, peer_finish(&p, PEER_POLL))
		TH_LOG("SWAP from an unregistered thread woke its target");

	ASSERT_EQ(0, peer_start(&p, self->fd));
	EXPECT_EQ(0, gw_wake(self->fd, p.handle));
	EXPECT_EQ(0, peer_finish(&p, PEER_POLL))
		TH_LOG("WAKE from an unregistered thread left no permit");

	/* The failures registered nothing. */
	EXPECT_EQ(-ENOENT, gw_unregister(self->fd));
}

/* Handles that were never issued, or are stale: ESRCH, nothing woken. */
TEST_F(ioctl, bad_handle_esrch)
{
	struct gwake_swap swp = { .flags = 0 };
	__u64 h, old, handles[2] = { 0, ~0ULL };
	unsigned int b;

	ASSERT_EQ(0, gw_register(self->fd, &old));
	ASSERT_EQ(0, gw_unregister(self->fd));
	ASSERT_EQ(0, gw_register(self->fd, &h));
	EXPECT_NE(old, h);

	EXPECT_EQ(-ESRCH, gw_wake(self->fd, 0));
	EXPECT_EQ(-ESRCH, gw_wake(self->fd, ~0ULL));
	EXPECT_EQ(-ESRCH, gw_wake(self->fd, old));
	/* My handle with one bit flipped is no handle: the whole value is checked. */
	for (b = 0; b < 64; b++) {
		EXPECT_EQ(-ESRCH, gw_wake(self->fd, h ^ (1ULL << b)))
			TH_LOG("handle %#llx ^ bit %u", (unsigned long long)h, b);
	}
	EXPECT_EQ(0, gw_wake_many(self->fd, handles, 2));
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd)) TH_LOG("a bad handle reached me");

	/* SWAP to a stale handle returns ESRCH without blocking: the permit stays. */
	ASSERT_EQ(0, gw_wake(self->fd, h));
	swp.handle = old;
	EXPECT_EQ(-ESRCH, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
	swp.handle = 0;
	EXPECT_EQ(-ESRCH, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
	EXPECT_EQ(0, gw_poll(self->fd));
}

/* REGISTER is idempotent; after UNREGISTER a new handle, the old one stale. */
TEST_F(ioctl, register_idempotent)
{
	struct gwake_register reg = { .flags = 0, .handle = ~0ULL };
	__u64 h1, h2;

	ASSERT_EQ(0, gw_register(self->fd, &h1));
	EXPECT_NE(0, h1);
	/* Whatever the caller left in the output field. */
	ASSERT_EQ(0, gw_ioctl(self->fd, GWAKE_IOC_REGISTER, &reg));
	EXPECT_EQ(h1, reg.handle);
	ASSERT_EQ(0, gw_register(self->fd, &h2));
	EXPECT_EQ(h1, h2);

	ASSERT_EQ(0, gw_unregister(self->fd));
	EXPECT_EQ(-ENOENT, gw_unregister(self->fd));
	ASSERT_EQ(0, gw_register(self->fd, &h2));
	EXPECT_NE(0, h2);
	EXPECT_NE(h1, h2);
	EXPECT_EQ(-ESRCH, gw_wake(self->fd, h1));
	EXPECT_EQ(0, gw_wake(self->fd, h2));
	EXPECT_EQ(0, gw_poll(self->fd));
}

/* A thread is registered through one open file at a time: EBUSY. */
TEST_F(ioctl, register_second_file_ebusy)
{
	struct gwake_swap swp = { .flags = GWAKE_BLOCK_TIMEOUT };
	int fd2;
	__u64 h, h2;

	fd2 = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, gw_register(self->fd, &h));
	EXPECT_EQ(-EBUSY, gw_register(fd2, &h2));
	/* fd2 knows no registration of mine. */
	EXPECT_EQ(-ENOENT, gw_unregister(fd2));
	EXPECT_EQ(-ENOENT, gw_poll(fd2));
	swp.handle = h;
	swp.timeout_ns = gwake_test_now_ns();
	EXPECT_EQ(-ENOENT, gw_ioctl(fd2, GWAKE_IOC_SWAP, &swp));
	/* The first registration is intact. */
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));
	EXPECT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(0, gw_poll(self->fd));

	/* Moving the registration to the other file works, and is exclusive again. */
	ASSERT_EQ(0, gw_unregister(self->fd));
	ASSERT_EQ(0, gw_register(fd2, &h2));
	EXPECT_NE(h, h2);
	EXPECT_EQ(-EBUSY, gw_register(self->fd, &h));
	EXPECT_EQ(0, gw_unregister(fd2));
	close(fd2);
}

/*
 * A battery of rejected calls with a permit pending: none may consume it
 * (a module that clears the permit before validating loses a wake here).
 */
TEST_F(ioctl, no_lost_permit_after_bad_input)
{
	struct gwake_block blk_bad = { .flags = 2, .timeout_ns = 0 };
	struct gwake_block blk_to = { .flags = 0, .timeout_ns = 5 };
	struct gwake_swap swp = { .flags = 1ULL << 3 };
	struct gwake_wake_many wm = { .flags = 0, .count = 1, .reserved = 1 };
	__u64 h, arg[8] = { GWAKE_BLOCK_TIMEOUT };

	ASSERT_EQ(0, gw_register(self->fd, &h));
	ASSERT_EQ(0, gw_wake(self->fd, h));
	wm.handles = (__u64)(uintptr_t)&h;
	swp.handle = h;

	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, &blk_bad));
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, &blk_to));
	EXPECT_EQ(-EFAULT, gw_ioctl(self->fd, GWAKE_IOC_BLOCK, NULL));
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
	EXPECT_EQ(-EFAULT, gw_ioctl(self->fd, GWAKE_IOC_SWAP, self->noaccess));
	EXPECT_EQ(-EINVAL, gw_ioctl(self->fd, GWAKE_IOC_WAKE_MANY, &wm));
	EXPECT_EQ(-ESRCH, gw_wake(self->fd, 0));
	EXPECT_EQ(-ENOTTY, gw_ioctl(self->fd, _IOC(_IOC_READ, GWAKE_IOC_MAGIC, _GWAKE_BLOCK,
						   sizeof(struct gwake_block)), arg));
	EXPECT_EQ(-EFAULT, gw_ioctl(self->fd, GWAKE_IOC_REGISTER, self->readonly));

	EXPECT_EQ(0, gw_poll(self->fd)) TH_LOG("the permit was lost");
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd)) TH_LOG("the permit was doubled");
}

/* --- Behaviour ---------------------------------------------------------- */

/* The permit, through the raw calls: kept, not accumulated. */
TEST_F(ioctl, permit)
{
	__u64 h;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));
	EXPECT_EQ(0, gw_wake(self->fd, h));
	/* Without a deadline: the permit is pending, so it returns at once. */
	EXPECT_EQ(0, gw_block(self->fd));
	EXPECT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(0, gw_poll(self->fd));
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));
	/* UNREGISTER discards a pending permit. */
	EXPECT_EQ(0, gw_wake(self->fd, h));
	ASSERT_EQ(0, gw_unregister(self->fd));
	ASSERT_EQ(0, gw_register(self->fd, &h));
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));
}

/*
 * Deadlines are absolute CLOCK_MONOTONIC: ETIMEDOUT never before the
 * deadline (a correctness bound, not a speed one), and the largest
 * deadline means "for ever" (a module converting it to a signed ktime
 * without care times out at once).
 */
TEST_F(ioctl, deadline)
{
	struct peer p;
	__u64 h, deadline;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	deadline = gwake_test_now_ns() + 2 * NSEC_PER_MSEC;
	EXPECT_EQ(-ETIMEDOUT, gw_block_until(self->fd, deadline));
	EXPECT_LE(deadline, (__u64)gwake_test_now_ns()) TH_LOG("ETIMEDOUT before the deadline");
	EXPECT_EQ(-ETIMEDOUT, gw_block_until(self->fd, 0));
	EXPECT_EQ(-ETIMEDOUT, gw_block_until(self->fd, 1));
	/* A past deadline still takes a pending permit. */
	EXPECT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(0, gw_block_until(self->fd, 1));

	ASSERT_EQ(0, peer_start(&p, self->fd));
	ASSERT_TRUE(peer_sleep(&p, PEER_BLOCK_U64_MAX))
		TH_LOG("BLOCK until U64_MAX did not sleep");
	EXPECT_EQ(1, gw_wake(self->fd, p.handle));
	EXPECT_EQ(0, peer_finish(&p, 0));
}

/*
 * WAKE says 1 for a sleeper and 0 for a thread that is not blocked; the
 * sleeper's BLOCK returns 0; WAKE_MANY counts sleepers only.
 */
TEST_F(ioctl, wake_sleeper)
{
	struct peer p, q;
	__u64 h, handles[4];

	ASSERT_EQ(0, gw_register(self->fd, &h));
	ASSERT_EQ(0, peer_start(&p, self->fd));
	EXPECT_EQ(0, gw_wake(self->fd, p.handle));
	ASSERT_EQ(0, peer_finish(&p, PEER_POLL));

	ASSERT_EQ(0, peer_start(&p, self->fd));
	ASSERT_TRUE(peer_sleep(&p, PEER_BLOCK));
	EXPECT_EQ(1, gw_wake(self->fd, p.handle));
	EXPECT_EQ(0, peer_finish(&p, 0));

	/* Two sleepers, me (not blocked), a stale handle. */
	ASSERT_EQ(0, peer_start(&p, self->fd));
	ASSERT_EQ(0, peer_start(&q, self->fd));
	ASSERT_TRUE(peer_sleep(&p, PEER_BLOCK));
	ASSERT_TRUE(peer_sleep(&q, PEER_BLOCK));
	handles[0] = p.handle;
	handles[1] = h;
	handles[2] = 0;
	handles[3] = q.handle;
	EXPECT_EQ(2, gw_wake_many(self->fd, handles, 4));
	EXPECT_EQ(0, peer_finish(&p, 0));
	EXPECT_EQ(0, peer_finish(&q, 0));
	EXPECT_EQ(0, gw_poll(self->fd));
}

/* SWAP wakes its target, then blocks the caller until woken back. */
TEST_F(ioctl, swap)
{
	struct gwake_swap swp = { .flags = GWAKE_BLOCK_TIMEOUT };
	struct peer p;
	__u64 h;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	/* To myself: wake (a permit), then block (takes it). */
	swp.handle = h;
	swp.timeout_ns = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	EXPECT_EQ(0, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));

	/* To a thread that is not blocked: it gets a permit, I time out. */
	ASSERT_EQ(0, peer_start(&p, self->fd));
	swp.handle = p.handle;
	swp.timeout_ns = gwake_test_now_ns() + NSEC_PER_MSEC;
	EXPECT_EQ(-ETIMEDOUT, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
	EXPECT_EQ(0, peer_finish(&p, PEER_POLL));

	/* To a sleeper that wakes me back once it runs. */
	ASSERT_EQ(0, peer_start(&p, self->fd));
	p.wake_back = h;
	ASSERT_TRUE(peer_sleep(&p, PEER_BLOCK));
	swp.handle = p.handle;
	swp.timeout_ns = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	EXPECT_EQ(0, gw_ioctl(self->fd, GWAKE_IOC_SWAP, &swp));
	EXPECT_EQ(0, peer_finish(&p, 0)) TH_LOG("SWAP did not wake its target");
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd));
}

/*
 * A forked child inherits the file but not the registrations: the
 * parent's handle is ESRCH there, and nothing reaches the parent.
 */
TEST_F(ioctl, fork_inherited_file)
{
	__u64 h;
	pid_t pid;
	int status;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (gw_wake(self->fd, h) != -ESRCH)
			_exit(1);
		if (gw_wake_many(self->fd, &h, 1) != 0)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: %s", WEXITSTATUS(status) == 1 ?
		       "WAKE of the parent's handle did not fail with ESRCH" :
		       "WAKE_MANY of the parent's handle did not return 0");
	EXPECT_EQ(-ETIMEDOUT, gw_poll(self->fd)) TH_LOG("the child's wake reached the parent");
	EXPECT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(0, gw_poll(self->fd));
}

/*
 * What is isolated is the address space, not the process: a vfork()
 * child shares its parent's mm until it execs or exits, and may wake the
 * parent's threads by handle (docs/uapi.md). The child only makes the
 * ioctl and _exit()s, which is all vfork() allows.
 */
TEST_F(ioctl, vfork_child_shares_handles)
{
	struct gwake_wake wk = { .flags = 0 };
	__u64 h;
	pid_t pid;
	int status;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	wk.handle = h;
	pid = vfork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(ioctl(self->fd, GWAKE_IOC_WAKE, &wk) == 0 ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the vfork child's WAKE failed");
	EXPECT_EQ(0, gw_poll(self->fd)) TH_LOG("the vfork child's wake did not arrive");
}

TEST_HARNESS_MAIN
