// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgwake: the "kmod" backend, over /dev/gwake (gwake.ko).
 *
 * The module keeps every wake word, and, where it offers them
 * (GWAKE_FEATURE_SHARED), maps the words and the scheduling state of this
 * process's threads into it (the uapi header, "The shared area"). Then
 * this backend does what needs no kernel in userspace:
 *
 *  - a wake of a thread that does not sleep is one compare-and-exchange of
 *    its word (IDLE or PERMIT to PERMIT, naming the generation), as in the
 *    userspace backend: no system call. Only a sleeper costs one: WAKE with
 *    GWAKE_WAKE_SLEEPER, after the exchange found SLEEPING. A word whose
 *    generation is not the handle's (a stale or foreign handle, or a word
 *    scribbled on) is the module's to judge: a plain WAKE;
 *  - a block that finds a permit consumes it with an exchange, and returns;
 *  - before blocking, a thread spins for a while, and the scheduling state
 *    decides how long: while the thread that will wake it (its partner,
 *    gwake_block_for()) runs on another CPU, and while the spinner itself
 *    has not been preempted (its own switch count did not move: its CPU
 *    is wanted). A partner that is preempted, woken but not yet running,
 *    blocked, or on our own CPU ends the spin at once, and the module,
 *    told who the partner is, yields to one queued on our CPU or
 *    sleeps. Without a partner the spin is the userspace backend's
 *    adaptive one (spin.h), cut short by a preemption too.
 *
 * Sleeping is the module's: BLOCK moves the word IDLE -> SLEEPING only
 * inside the kernel, after the thread is on its wait queue, so a wake
 * that finds SLEEPING and makes its system call always finds the sleeper.
 *
 * The rest is translation:
 *
 *  - one open file per process, opened by the probe and never closed
 *    (O_CLOEXEC, so exec() drops it and the module ends its
 *    registrations). A fork child shares it, and the module keys
 *    registrations, handles and areas by mm: the parent's handles are
 *    -ESRCH in the child, whose threads register anew, and whose area
 *    (the parent's mapping is not inherited) is mapped anew;
 *  - the calling thread's handle, word and scheduling slot cached in TLS,
 *    so gwake_self() is a load and block/swap know whether to register
 *    first. It is cleared in a fork child and by gwake_unregister(); a
 *    thread that exits unregisters (a pthread key destructor: see
 *    kmod_thread_exit()), and the module ends the registration of one
 *    that dies without running it;
 *  - relative timeouts to absolute CLOCK_MONOTONIC deadlines
 *    (GWAKE_BLOCK_TIMEOUT), computed once per call, on entry;
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
 * Memory ordering: in the shared word, a wake is a release RMW producing
 * PERMIT and the consume an acquire exchange reading it, as in the user
 * backend; in the module, atomic RMWs and the scheduler's wakeup barriers.
 * Everything a waker wrote before gwake_wake() is visible after
 * gwake_block() returns 0 either way. The mapping pointers are published
 * with release once the mappings exist, and loaded with acquire.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/gwake.h>

#include "backend.h"
#include "deadline.h"
#include "spin.h"

/* Written once by kmod_init(), before the backend is published. */
static int kmod_fd = -1;
static uint32_t kmod_max_many;
static uint64_t kmod_features;

/*
 * This process's mapping of its area, or NULL while it has none (the
 * module has no GWAKE_FEATURE_SHARED, the mapping failed, or this is a fork
 * child that has not mapped its own yet). Set under map_lock, read without.
 */
static struct gwake_word *_Atomic kmod_words;
static const struct gwake_sched *_Atomic kmod_sched;
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;

/* The calling thread's registration; handle 0 while it has none. */
struct kmod_self {
	gwake_t handle;
	uint64_t gen;
	_Atomic uint64_t *word;			/* NULL without a mapping */
	const struct gwake_sched *sched;	/* likewise */
	struct gwi_spin spin;
};

static GWI_TLS struct kmod_self kself;

static inline int kmod_ioctl(unsigned long cmd, void *arg)
{
	int r = ioctl(kmod_fd, cmd, arg);

	return r < 0 ? -errno : r;
}

/*
 * Its destructor ends the registration of an exiting thread. The module
 * ends it anyway, at the thread's exit (sched_process_exit), but that comes
 * after pthread_join() may have returned; until then the thread's shared
 * word looks live, and a wake through it would leave a permit, 0, where a
 * stale handle must say -ESRCH. Unregistering before the thread exits
 * closes that window (the module's own lookup refuses an exiting thread
 * already: PF_EXITING).
 */
static pthread_key_t exit_key;

static void kmod_thread_exit(void *unused)
{
	struct gwake_unregister unreg = { .flags = 0 };

	(void)unused;
	if (kself.handle) {
		kself = (struct kmod_self){ 0 };
		kmod_ioctl(GWAKE_IOC_UNREGISTER, &unreg);
	}
}

/*
 * Map both regions of this process's area, once: the words read-write,
 * the scheduling state read-only. Without the feature, or if mmap()
 * fails, everything goes through the ioctls (always correct, only slower).
 */
static struct gwake_word *kmod_map(void)
{
	struct gwake_word *w;
	void *words, *sched;

	if (!(kmod_features & GWAKE_FEATURE_SHARED))
		return NULL;
	w = atomic_load_explicit(&kmod_words, memory_order_acquire);
	if (w)
		return w;
	pthread_mutex_lock(&map_lock);
	w = atomic_load_explicit(&kmod_words, memory_order_relaxed);
	if (!w) {
		words = mmap(NULL, GWAKE_AREA_SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED, kmod_fd, GWAKE_MMAP_WORDS);
		sched = mmap(NULL, GWAKE_AREA_SIZE, PROT_READ, MAP_SHARED,
			     kmod_fd, GWAKE_MMAP_SCHED);
		if (words != MAP_FAILED && sched != MAP_FAILED) {
			atomic_store_explicit(&kmod_sched, sched, memory_order_release);
			atomic_store_explicit(&kmod_words, words, memory_order_release);
			w = words;
		} else {
			if (words != MAP_FAILED)
				munmap(words, GWAKE_AREA_SIZE);
			if (sched != MAP_FAILED)
				munmap(sched, GWAKE_AREA_SIZE);
		}
	}
	pthread_mutex_unlock(&map_lock);
	return w;
}

static int kmod_register(void)
{
	struct gwake_register reg = { .flags = 0 };
	struct gwake_word *words;
	int r;

	r = kmod_ioctl(GWAKE_IOC_REGISTER, &reg);
	if (r < 0)
		return r;
	/*
	 * Any non-NULL value arms the destructor; set on each registration
	 * (pthread clears it before calling the destructor).
	 */
	if (pthread_setspecific(exit_key, &kself)) {
		struct gwake_unregister unreg = { .flags = 0 };

		kmod_ioctl(GWAKE_IOC_UNREGISTER, &unreg);
		return -ENOMEM;
	}
	kself.handle = reg.handle;
	kself.gen = GWAKE_HANDLE_GEN(reg.handle);
	words = kmod_map();
	if (words) {
		uint32_t slot = GWAKE_HANDLE_SLOT(reg.handle);

		kself.word = (_Atomic uint64_t *)&words[slot].word;
		kself.sched = &atomic_load_explicit(&kmod_sched,
						    memory_order_acquire)[slot];
	} else {
		kself.word = NULL;
		kself.sched = NULL;
	}
	gwi_spin_init(&kself.spin);
	return 0;
}

static int kmod_self(gwake_t *out)
{
	if (gwi_unlikely(!kself.handle)) {
		int r = kmod_register();

		if (r)
			return r;
	}
	*out = kself.handle;
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
		if (!kself.handle) {
			r = kmod_register();
			if (r)
				return r;
		}
		r = kmod_ioctl(cmd, arg);
		if (r != -ENOENT)
			return r;
		kself.handle = 0;
	}
	return r;
}

/*
 * The published state of the thread behind @h, or GWAKE_SCHED_NONE; with
 * @cpu, also the CPU it last ran on.
 */
static uint32_t kmod_state_of(gwake_t h, uint32_t *cpu)
{
	const struct gwake_sched *sched =
		atomic_load_explicit(&kmod_sched, memory_order_acquire);
	const struct gwake_sched *s;
	uint64_t gen = GWAKE_HANDLE_GEN(h);
	uint32_t st, c;

	if (!sched)
		return GWAKE_SCHED_NONE;
	s = &sched[GWAKE_HANDLE_SLOT(h)];
	/* The slot is the handle's before and after the reads. */
	if (__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) != gen)
		return GWAKE_SCHED_NONE;
	st = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
	c = __atomic_load_n(&s->cpu, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->gen, __ATOMIC_RELAXED) != gen)
		return GWAKE_SCHED_NONE;
	if (cpu)
		*cpu = c;
	return st;
}

/*
 * Is spinning in userspace for @partner worth it? Only while it runs on
 * another CPU than ours: then it can wake us while we spin. Preempted,
 * woken but not yet running (WAKING: queued where, only the kernel knows),
 * or last seen on our own CPU (then our spin is what keeps it off): the
 * module decides, told who the partner is (it yields to one queued on our
 * CPU, and sleeps otherwise).
 */
static inline bool kmod_partner_runs_elsewhere(gwake_t partner, uint32_t mycpu)
{
	uint32_t cpu = 0;

	return kmod_state_of(partner, &cpu) == GWAKE_SCHED_RUNNING &&
	       cpu != mycpu;
}

/*
 * The spin before a block, in userspace: returns true with the permit
 * consumed, false if the caller should ask the module. See the top of the
 * file for what ends it.
 */
static bool kmod_spin(gwake_t partner, int64_t timeout_ns)
{
	_Atomic uint64_t *word = kself.word;
	uint64_t permit = GWAKE_WORD(kself.gen, GWAKE_WORD_PERMIT);
	uint64_t idle = GWAKE_WORD(kself.gen, GWAKE_WORD_IDLE);
	uint64_t sw0 = __atomic_load_n(&kself.sched->switches, __ATOMIC_RELAXED);
	uint32_t n, i, mycpu = 0;
	bool with_partner = false;

	if (partner) {
		/* Published by the module: the CPU this thread runs on. */
		mycpu = __atomic_load_n(&kself.sched->cpu, __ATOMIC_RELAXED);
		if (kmod_state_of(partner, NULL) != GWAKE_SCHED_NONE) {
			if (!kmod_partner_runs_elsewhere(partner, mycpu))
				return false;
			with_partner = true;
		}
	}
	/* A running partner earns the longest spin; else the budget decides. */
	n = with_partner ? gwi_spin_max() : gwi_spin_begin(&kself.spin);
	if (timeout_ns > 0)
		n = gwi_spin_clamp(n, (uint64_t)timeout_ns);
	for (i = 1; i <= n; i++) {
		gwi_cpu_relax();
		if (atomic_load_explicit(word, memory_order_relaxed) == permit) {
			gwi_spin_won(&kself.spin, i);
			atomic_exchange_explicit(word, idle, memory_order_acquire);
			return true;
		}
		if (i & 15)
			continue;
		/* Preempted while spinning: someone else wants this CPU. */
		if (__atomic_load_n(&kself.sched->switches, __ATOMIC_RELAXED) != sw0)
			break;
		if (with_partner && !kmod_partner_runs_elsewhere(partner, mycpu))
			break;
	}
	if (n)
		gwi_spin_lost(&kself.spin);
	return false;
}

/* partner: as gwake_block_for(), 0 for none; spin: false never spins. */
static int kmod_wait(gwake_t partner, int64_t timeout_ns, bool spin)
{
	struct gwake_block blk = { 0 };
	int r;

	if (gwi_unlikely(!kself.handle)) {
		r = kmod_register();
		if (r)
			return r;
	}
	/* The deadline counts from entry, spin included. */
	kmod_deadline(timeout_ns, &blk.flags, &blk.timeout_ns);
	if (kself.word) {
		uint64_t permit = GWAKE_WORD(kself.gen, GWAKE_WORD_PERMIT);

		/* A pending permit: taken here, no system call. */
		if (atomic_load_explicit(kself.word, memory_order_relaxed) == permit) {
			atomic_exchange_explicit(kself.word,
						 GWAKE_WORD(kself.gen, GWAKE_WORD_IDLE),
						 memory_order_acquire);
			return 0;
		}
		if (!timeout_ns)
			return -ETIMEDOUT;
		if (spin && kmod_spin(partner, timeout_ns))
			return 0;
	}
	if (partner && (kmod_features & GWAKE_FEATURE_PARTNER)) {
		blk.flags |= GWAKE_BLOCK_PARTNER;
		blk.partner = partner;
	}
	return kmod_call_registered(GWAKE_IOC_BLOCK, &blk);
}

static int kmod_block_for(gwake_t partner, int64_t timeout_ns)
{
	return kmod_wait(partner, timeout_ns, true);
}

static int kmod_block(int64_t timeout_ns)
{
	return kmod_wait(0, timeout_ns, true);
}

static int kmod_block_idle(int64_t timeout_ns)
{
	return kmod_wait(0, timeout_ns, false);
}

/* The ioctl wake, for handles the shared word cannot judge. */
static int kmod_wake_ioctl(gwake_t h, __u64 flags)
{
	struct gwake_wake wk = { .flags = flags, .handle = h };

	return kmod_ioctl(GWAKE_IOC_WAKE, &wk);
}

/*
 * The system call that wakes a sleeper whose permit we set. The wake is
 * delivered already: the permit is in the word, and the owner takes it
 * however it wakes up. So it counts as a wake of a sleeper (1) even if the
 * module no longer knows the handle (-ESRCH): the owner may have woken by
 * itself meanwhile (its timeout, a signal), found our permit, taken it and
 * ended its registration before this call arrived.
 */
static int kmod_wake_sleeper(gwake_t h)
{
	int r = kmod_wake_ioctl(h, GWAKE_WAKE_SLEEPER);

	return r == -ESRCH ? 1 : r;
}

/*
 * The wake in the shared word: IDLE or PERMIT -> PERMIT, naming the
 * handle's generation; the previous state, or GWAKE_WORD_FREE when the
 * word is not the handle's (the module must judge). Release: what the
 * caller wrote before is visible to the owner once it consumes.
 * @stop_at_sleeping: leave a SLEEPING word alone and report it (swap).
 */
static uint32_t kmod_word_wake(struct gwake_word *words, gwake_t h, bool stop_at_sleeping)
{
	_Atomic uint64_t *w = (_Atomic uint64_t *)&words[GWAKE_HANDLE_SLOT(h)].word;
	uint64_t gen = GWAKE_HANDLE_GEN(h), old;
	uint64_t permit = GWAKE_WORD(gen, GWAKE_WORD_PERMIT);

	old = atomic_load_explicit(w, memory_order_relaxed);
	do {
		if (GWAKE_WORD_GEN(old) != gen ||
		    GWAKE_WORD_STATE(old) == GWAKE_WORD_FREE)
			return GWAKE_WORD_FREE;
		if (stop_at_sleeping && GWAKE_WORD_STATE(old) == GWAKE_WORD_SLEEPING)
			return GWAKE_WORD_SLEEPING;
	} while (!atomic_compare_exchange_weak_explicit(w, &old, permit,
							memory_order_release,
							memory_order_relaxed));
	return GWAKE_WORD_STATE(old);
}

static int kmod_wake(gwake_t h)
{
	struct gwake_word *words = kmod_map();

	if (!words)
		return kmod_wake_ioctl(h, 0);
	switch (kmod_word_wake(words, h, false)) {
	case GWAKE_WORD_FREE:
		return kmod_wake_ioctl(h, 0);
	case GWAKE_WORD_SLEEPING:
		return kmod_wake_sleeper(h);
	default:
		return 0;
	}
}

static int kmod_swap(gwake_t h, int64_t timeout_ns, bool here)
{
	struct gwake_swap swp = { .handle = h };
	struct gwake_word *words = kmod_map();
	int r;

	/* Register first: a failure must not have woken anybody. */
	if (gwi_unlikely(!kself.handle)) {
		r = kmod_register();
		if (r)
			return r;
	}
	/*
	 * An awake target gets its permit in the word, and we block for it
	 * as a partner; a sleeping one (or one the word cannot judge) is
	 * woken by SWAP, one system call for both halves.
	 */
	if (words) {
		uint32_t st = kmod_word_wake(words, h, true);

		if (st == GWAKE_WORD_IDLE || st == GWAKE_WORD_PERMIT)
			return kmod_block_for(h, timeout_ns);
	}
	kmod_deadline(timeout_ns, &swp.flags, &swp.timeout_ns);
	if (kmod_features & GWAKE_FEATURE_PARTNER)
		swp.flags |= GWAKE_BLOCK_PARTNER;
	/* The target on this CPU, which we are about to leave. */
	if (here && (kmod_features & GWAKE_FEATURE_PLACE))
		swp.flags |= GWAKE_SWAP_PLACE;
	return kmod_call_registered(GWAKE_IOC_SWAP, &swp);
}

static int kmod_wake_many_ioctl(const gwake_t *hs, size_t n, __u64 flags)
{
	int woken = 0;

	while (n) {
		uint32_t count = n < kmod_max_many ? (uint32_t)n : kmod_max_many;
		struct gwake_wake_many wm = {
			.flags = flags,
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

/*
 * Every target gets its permit in its word; the sleepers are then woken
 * with one WAKE_MANY (GWAKE_WAKE_SLEEPER), and the handles the words cannot
 * judge go to the module with another. Each sleeper whose permit we set
 * counts as woken, whether or not the module still knew it (as in
 * kmod_wake_sleeper()).
 */
static int kmod_wake_many(const gwake_t *hs, size_t n)
{
	struct gwake_word *words = kmod_map();
	gwake_t sleepers[64], odd[64];
	size_t i, ns = 0, no = 0;
	int woken = 0, r;

	if (!words)
		return kmod_wake_many_ioctl(hs, n, 0);
	for (i = 0; i < n; i++) {
		switch (kmod_word_wake(words, hs[i], false)) {
		case GWAKE_WORD_SLEEPING:
			sleepers[ns++] = hs[i];
			break;
		case GWAKE_WORD_FREE:
			odd[no++] = hs[i];
			break;
		default:
			break;
		}
		if (ns == 64 || no == 64 || i + 1 == n) {
			r = ns ? kmod_wake_many_ioctl(sleepers, ns, GWAKE_WAKE_SLEEPER) : 0;
			if (r < 0)
				return r;
			woken += (int)ns;
			r = no ? kmod_wake_many_ioctl(odd, no, 0) : 0;
			if (r < 0)
				return r;
			woken += r;
			ns = no = 0;
		}
	}
	return woken;
}

static int kmod_unregister(void)
{
	struct gwake_unregister unreg = { .flags = 0 };

	if (!kself.handle)
		return -ENOENT;
	kself.handle = 0;
	kself.word = NULL;
	kself.sched = NULL;
	return kmod_ioctl(GWAKE_IOC_UNREGISTER, &unreg);
}

static int kmod_notify(gwake_t h, int64_t threshold_ns)
{
	struct gwake_notify n = {
		.handle = h,
		.threshold_ns = (__u64)threshold_ns,
	};

	if (gwi_unlikely(!kself.handle)) {
		int r;

		if (!h)		/* off, and nothing to turn off */
			return 0;
		r = kmod_register();
		if (r)
			return r;
	}
	return kmod_ioctl(GWAKE_IOC_NOTIFY, &n);
}

static int kmod_sched_state(gwake_t h)
{
	uint32_t st;

	if (!kmod_map())
		return -EOPNOTSUPP;
	/* GWAKE_STATE_* are the uapi's GWAKE_SCHED_* (gwake.h). */
	st = kmod_state_of(h, NULL);
	return st == GWAKE_SCHED_NONE ? -ESRCH : (int)st;
}

/*
 * The child's only thread is a new task the module has never seen, and
 * the parent's mapping was not inherited (VM_DONTCOPY): forget both, so
 * that the next call registers, and maps the child's own area.
 */
static void kmod_fork_child(void)
{
	kself = (struct kmod_self){ 0 };
	atomic_store_explicit(&kmod_words, NULL, memory_order_relaxed);
	atomic_store_explicit(&kmod_sched, NULL, memory_order_relaxed);
	pthread_mutex_init(&map_lock, NULL);
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
		       (api.commands & GWAKE_API_COMMANDS) != GWAKE_API_COMMANDS ||
		       !api.max_wake_many))
		r = -ENODEV;
	if (r >= 0 && pthread_key_create(&exit_key, kmod_thread_exit))
		r = -EAGAIN;
	if (r >= 0 && pthread_atfork(NULL, NULL, kmod_fork_child)) {
		pthread_key_delete(exit_key);
		r = -ENOMEM;
	}
	if (r < 0) {
		close(fd);
		kmod_fd = -1;
		return r;
	}
	kmod_max_many = api.max_wake_many < GWAKE_WAKE_MANY_MAX ?
			api.max_wake_many : GWAKE_WAKE_MANY_MAX;
	kmod_features = api.features;
	gwi_spin_calibrate();
	return 0;
}

const struct gwi_backend gwi_kmod_backend = {
	.name		= "kmod",
	.init		= kmod_init,
	.self		= kmod_self,
	.block		= kmod_block,
	.block_for	= kmod_block_for,
	.block_idle	= kmod_block_idle,
	.wake		= kmod_wake,
	.swap		= kmod_swap,
	.wake_many	= kmod_wake_many,
	.unregister	= kmod_unregister,
	.sched_state	= kmod_sched_state,
	.notify		= kmod_notify,
};
