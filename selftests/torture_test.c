// SPDX-License-Identifier: GPL-2.0
/*
 * A torture test of the wake word that checks invariants, not survival,
 * while registrations come and go. Both backends; with the module, the
 * netlink counters must agree with what the test did.
 *
 * Slots: TORTURE_SLOTS slots, each owned by one thread at a time. A slot's
 * claim word says who may wake its owner:
 *
 *   FREE --waker CAS--> CLAIMED --owner's block returns 0--> FREE
 *   FREE --owner CAS--> RETIRING (no new claim) --> the owner unregisters
 *                       and registers again, or exits and a new thread
 *                       takes the slot --> FREE with the new handle
 *
 * A waker that wins the claim wakes the handle it read with the claim
 * (published before the slot went FREE), so every wake here names a live
 * registration and must return 0 or 1. The owner blocks with random
 * timeouts (none, 0, short, a few ms) and signals arriving; each block
 * that returns 0 must find the slot CLAIMED (else a wake was delivered
 * twice, or a wakeup was spurious) and frees it. So each claim is seen by
 * exactly one block: at the end, after the wakers stopped, every owner
 * blocks until its slot is FREE, bounded by GWAKE_TEST_LONG_NS (a longer
 * wait is a lost wakeup), and deliveries must equal claims.
 *
 * Beside them a forker runs child processes (this program again) that
 * register threads, wake each other and the parent's handles (foreign to
 * them), and exit or exec; they report their calls through shared memory.
 *
 * With the module, the counters (gwake_genl.h) at the end must agree with
 * the calls: registrations exactly, wakes of sleepers and stale wakes
 * together exactly, and no registration left; blocks, other wakes and
 * wake-manys at most as many as made (the shared words spare some their
 * system call). The run lasts GWAKE_TORTURE_SECONDS (default
 * 5) per backend; the seed is printed and GWAKE_TORTURE_SEED replays each
 * thread's choices (not the interleaving).
 */
#include <dirent.h>
#include <semaphore.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "gwake_genl.h"
#include "gwake_test.h"

#define TORTURE_SLOTS		6
#define TORTURE_WAKERS		2
#define TORTURE_CHILD_THREADS	3
#define TORTURE_EXEC_ENV	"GWAKE_SELFTEST_TORTURE_EXEC"
/*
 * From the start of the drain to the last join: every bounded wait in the
 * drain (a child's, an owner's) ends well within it, even under KASAN.
 */
#define TORTURE_WATCHDOG_S	120

enum { SLOT_FREE, SLOT_CLAIMED, SLOT_RETIRING };

/*
 * The calls made, by the parent's threads and the children: what the
 * module's counters must show at the end. In shared memory (children add
 * to it); only atomics.
 */
struct tally {
	atomic_llong registers;		/* handles obtained (first gwake_self()) */
	atomic_llong blocks;		/* gwake_block() calls */
	atomic_llong wakes_woken, wakes_permit, wakes_stale;	/* by result */
	atomic_llong wake_manys;	/* gwake_wake_many() calls, n > 0 */
	atomic_llong errors;		/* a result outside the contract */
	char err[256];			/* the first of those */
	/* The parent's handles when the child started: foreign to it. */
	atomic_ullong parent[TORTURE_SLOTS];
};

struct slot {
	_Alignas(64) atomic_int claim;
	atomic_ullong handle;		/* the owner's, published before FREE */
	atomic_llong claims, deliveries;
	/* The owner thread, and the one it replaced (under join_lock). */
	pthread_t thread, prev;
	gwake_t prev_handle;
	pid_t tid;
	unsigned int generation;	/* threads that owned it before */
	uint64_t rng;			/* owner only */
};

struct torture {
	struct slot slot[TORTURE_SLOTS];
	struct tally *tally;		/* MAP_SHARED, of tally_fd */
	int tally_fd;			/* a memfd: children map it too */
	atomic_int draining;
	atomic_ullong stale;		/* the handle of an exited owner */
	atomic_int child;		/* the forker's child, while it runs */
	uint64_t seed;
	sem_t finished;			/* posted when every thread was joined */
	/*
	 * Orders the hand-over of a slot's thread (slot.thread, .prev) and
	 * the end (stop): once stop is set, no owner starts a successor, so
	 * slot.thread is the last thread of its slot.
	 */
	pthread_mutex_t join_lock;
	atomic_int stop;
};

static struct torture *T;

static void __attribute__((format(printf, 2, 3)))
tally_error(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&t->errors, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
}

/* Counts a wake's result; anything but 0 or 1 for a live handle is an error. */
static void tally_wake(struct tally *t, int r, bool live, const char *what)
{
	if (r == 1)
		atomic_fetch_add(&t->wakes_woken, 1);
	else if (r == 0)
		atomic_fetch_add(&t->wakes_permit, 1);
	else if (r == -ESRCH && !live)
		atomic_fetch_add(&t->wakes_stale, 1);
	else
		tally_error(t, "%s: %d (%s handle)", what, r, live ? "live" : "stale");
}

static void on_signal(int sig)
{
	(void)sig;
}

static void *owner_main(void *arg);

/* Registers the calling thread as @s's owner and opens the slot. */
static int slot_open(struct slot *s)
{
	gwake_t h;
	int r = gwake_self(&h);

	if (r) {
		tally_error(T->tally, "gwake_self: %d", r);
		return r;
	}
	atomic_fetch_add(&T->tally->registers, 1);
	s->tid = gwake_test_gettid();
	atomic_store(&s->handle, h);
	atomic_store_explicit(&s->claim, SLOT_FREE, memory_order_release);
	return 0;
}

/*
 * One block with a random timeout; 0 when it consumed a claim's wake.
 * Counted before the call, as the module counts a block that was entered
 * even if its thread dies in it.
 */
static int owner_block(struct slot *s, int64_t timeout)
{
	int r;

	atomic_fetch_add(&T->tally->blocks, 1);
	r = gwake_block(timeout);
	if (r == 0) {
		int c = atomic_load(&s->claim);

		if (c != SLOT_CLAIMED)
			tally_error(T->tally, "a block returned 0 on a slot in state %d: "
				    "spurious wakeup or a wake delivered twice", c);
		atomic_fetch_add(&s->deliveries, 1);
		atomic_store_explicit(&s->claim, SLOT_FREE, memory_order_release);
	} else if (r != -ETIMEDOUT && r != -EINTR) {
		tally_error(T->tally, "gwake_block(%lld): %d", (long long)timeout, r);
	}
	return r;
}

/*
 * Blocks until the slot is FREE again (its claim delivered), at most
 * GWAKE_TEST_LONG_NS: longer means the claim's wake was lost. False then.
 */
static bool owner_drain(struct slot *s)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	while (atomic_load(&s->claim) == SLOT_CLAIMED) {
		if (gwake_test_now_ns() > end) {
			tally_error(T->tally, "lost wakeup: slot %td claimed, never delivered",
				    s - T->slot);
			return false;
		}
		owner_block(s, 10 * NSEC_PER_MSEC);
	}
	return true;
}

/*
 * Closes the slot for good (no claim can start), after delivering what is
 * claimed: the owner is about to leave, and nobody may wake its handle as
 * a live one after that.
 */
static void owner_close(struct slot *s)
{
	int free_ = SLOT_FREE;

	while (owner_drain(s) &&
	       !atomic_compare_exchange_strong(&s->claim, &free_, SLOT_RETIRING))
		free_ = SLOT_FREE;
}

/*
 * Hands the slot on, now and then: either a new registration of this
 * thread (0: keep running), or a new thread (1: this one must return, its
 * registration ends with it). The new thread joins this one before it
 * publishes this handle as stale, so a wake of T->stale never finds it
 * live.
 */
static int owner_retire(struct slot *s)
{
	int free_ = SLOT_FREE;
	pthread_t t;

	if (!atomic_compare_exchange_strong(&s->claim, &free_, SLOT_RETIRING))
		return 0;	/* claimed meanwhile: deliver it first */
	if (gwake_test_rand(&s->rng) & 1) {
		/* The permit, if any, goes with the registration. */
		if (gwake_unregister())
			tally_error(T->tally, "gwake_unregister failed");
		atomic_store(&T->stale, atomic_load(&s->handle));
		slot_open(s);
		return 0;
	}
	/* Under the lock: the new owner replaces s->thread only after us. */
	pthread_mutex_lock(&T->join_lock);
	if (atomic_load(&T->stop)) {
		/* The main thread joins s->thread now: it must stay us. */
		pthread_mutex_unlock(&T->join_lock);
		atomic_store(&s->claim, SLOT_FREE);
		return 0;
	}
	s->prev = s->thread;
	s->prev_handle = atomic_load(&s->handle);
	s->generation++;
	if (pthread_create(&t, NULL, owner_main, s)) {
		pthread_mutex_unlock(&T->join_lock);
		tally_error(T->tally, "pthread_create failed");
		atomic_store(&s->claim, SLOT_FREE);
		return 0;
	}
	s->thread = t;
	pthread_mutex_unlock(&T->join_lock);
	return 1;
}

static void *owner_main(void *arg)
{
	struct slot *s = arg;
	pthread_t prev;
	bool joined;

	pthread_mutex_lock(&T->join_lock);
	s->rng = T->seed * 7919 + (uint64_t)(s - T->slot) * 104729 + s->generation + 1;
	prev = s->prev;
	joined = s->generation == 0;
	pthread_mutex_unlock(&T->join_lock);
	if (!joined) {
		pthread_join(prev, NULL);
		atomic_store(&T->stale, s->prev_handle);
	}
	if (slot_open(s))
		return NULL;
	while (!atomic_load(&T->stop)) {
		uint64_t x = gwake_test_rand(&s->rng);
		static const int64_t timeouts[] = {
			-1, 0, 100 * NSEC_PER_USEC, 2 * NSEC_PER_MSEC,
		};

		if (x % 64 == 0 && owner_retire(s))
			return NULL;
		/*
		 * Unbounded blocks too: a waker, or the final pass of the
		 * main thread once stop is set, ends them.
		 */
		owner_block(s, atomic_load(&T->draining) ? NSEC_PER_MSEC :
			       timeouts[(x >> 8) % 4]);
	}
	owner_close(s);
	return NULL;
}

/*
 * Claims @s if it is FREE and wakes its owner, with gwake_wake_many() if
 * @many. Returns whether it claimed.
 */
static bool slot_claim_wake(struct slot *s, bool many)
{
	int free_ = SLOT_FREE;
	gwake_t h;

	if (!atomic_compare_exchange_strong(&s->claim, &free_, SLOT_CLAIMED))
		return false;
	h = atomic_load(&s->handle);
	atomic_fetch_add(&s->claims, 1);
	if (many) {
		int r = gwake_wake_many(&h, 1);

		atomic_fetch_add(&T->tally->wake_manys, 1);
		if (r == 1)
			atomic_fetch_add(&T->tally->wakes_woken, 1);
		else if (r == 0)
			atomic_fetch_add(&T->tally->wakes_permit, 1);
		else
			tally_error(T->tally, "gwake_wake_many(live): %d", r);
	} else {
		tally_wake(T->tally, gwake_wake(h), true, "gwake_wake(live)");
	}
	return true;
}

static void *waker_main(void *arg)
{
	uint64_t rng = T->seed * 31 + (uintptr_t)arg + 1;

	while (!atomic_load(&T->draining)) {
		uint64_t x = gwake_test_rand(&rng);
		struct slot *s = &T->slot[x % TORTURE_SLOTS];
		gwake_t h, many[2];

		switch ((x >> 16) % 8) {
		case 0:
			/* A stale handle: -ESRCH, never a thread that took its place. */
			h = atomic_load(&T->stale);
			if (h)
				tally_wake(T->tally, gwake_wake(h), false, "gwake_wake(stale)");
			continue;
		case 1:
			h = atomic_load(&T->stale);
			if (!h)
				continue;
			many[0] = h;
			many[1] = h;
			if (gwake_wake_many(many, 2) != 0)
				tally_error(T->tally, "gwake_wake_many(stale, stale) != 0");
			atomic_fetch_add(&T->tally->wake_manys, 1);
			atomic_fetch_add(&T->tally->wakes_stale, 2);
			continue;
		default:
			slot_claim_wake(s, (x >> 20) % 4 == 0);
			break;
		}
	}
	return NULL;
}

/* --- Children: registrations in other processes --------------------------- */

/*
 * A child is this program again, started by fork() and an immediate
 * execve() (never a bare fork(): a fork of a threaded process under ASan
 * can inherit the sanitizer's allocator lock held, and the child's first
 * allocation would wait for ever). It finds its instructions in the
 * environment: the tally's memfd, a seed, and the backend. Its
 * constructor runs the child before main().
 */
#define TORTURE_CHILD_ENV	"GWAKE_SELFTEST_TORTURE_CHILD"

struct child_peer {
	gwake_t handle;
	pid_t tid;
	atomic_int ready;
	atomic_int *done;
	struct tally *tally;
};

/*
 * Registers, then blocks briefly until the child's main thread is done
 * with the wakes: then it returns (done 1), or sleeps in an unbounded
 * block (done 2) for the process to end around it. Blocks are counted
 * before the call (owner_block()).
 */
static void *child_thread(void *arg)
{
	struct child_peer *p = arg;
	int r;

	p->tid = gwake_test_gettid();
	if (gwake_self(&p->handle)) {
		tally_error(p->tally, "child gwake_self failed");
		return NULL;
	}
	atomic_fetch_add(&p->tally->registers, 1);
	atomic_store(&p->ready, 1);
	while (!atomic_load(p->done)) {
		atomic_fetch_add(&p->tally->blocks, 1);
		r = gwake_block(NSEC_PER_MSEC);
		if (r && r != -ETIMEDOUT)
			tally_error(p->tally, "child gwake_block: %d", r);
	}
	/* The first may take a permit the wakes left; then it sleeps. */
	while (atomic_load(p->done) == 2) {
		atomic_fetch_add(&p->tally->blocks, 1);
		gwake_block(-1);
	}
	return NULL;
}

/*
 * The child's threads leave their short blocks for an unbounded one, and
 * are asleep in it when this returns: the process can end around them
 * with every block it entered counted.
 */
static void child_sleep_all(struct child_peer *p, atomic_int *done)
{
	int i;

	atomic_store(done, 2);
	for (i = 0; i < TORTURE_CHILD_THREADS; i++)
		if (!gwake_test_wait_asleep(p[i].tid))
			tally_error(p[i].tally, "a child thread never fell asleep");
}

/*
 * Threads that register and block briefly, wakes of them and of the
 * parent's handles (foreign here), then the end: exit with the threads
 * alive, exit after joining them, or an exec.
 */
static void child_main(struct tally *tally, uint64_t rng)
{
	struct child_peer p[TORTURE_CHILD_THREADS] = { 0 };
	pthread_t t[TORTURE_CHILD_THREADS];
	char *const argv[] = { "torture_test", NULL };
	char *const envp[] = { TORTURE_EXEC_ENV "=1", NULL };
	atomic_int done = 0;
	int i, j;

	for (i = 0; i < TORTURE_CHILD_THREADS; i++) {
		p[i].tally = tally;
		p[i].done = &done;
		if (pthread_create(&t[i], NULL, child_thread, &p[i]))
			_exit(1);
	}
	for (i = 0; i < TORTURE_CHILD_THREADS; i++)
		while (!atomic_load(&p[i].ready) && !atomic_load(&tally->errors))
			usleep(100);
	for (j = 0; j < 20; j++) {
		for (i = 0; i < TORTURE_CHILD_THREADS; i++)
			tally_wake(tally, gwake_wake(p[i].handle), true, "child wake");
		for (i = 0; i < TORTURE_SLOTS; i++)
			tally_wake(tally, gwake_wake(atomic_load(&tally->parent[i])), false,
				   "child wake of a parent handle");
	}
	switch (gwake_test_rand(&rng) % 3) {
	case 0:
		child_sleep_all(p, &done);
		_exit(0);
	case 1:
		atomic_store(&done, 1);
		for (i = 0; i < TORTURE_CHILD_THREADS; i++)
			pthread_join(t[i], NULL);
		_exit(0);
	default:
		child_sleep_all(p, &done);
		execve("/proc/self/exe", argv, envp);
		_exit(2);
	}
}

static void __attribute__((constructor)) torture_child(void)
{
	const char *env = getenv(TORTURE_CHILD_ENV);
	unsigned long long seed;
	struct tally *tally;
	int fd;

	if (getenv(TORTURE_EXEC_ENV))
		_exit(0);
	if (!env)
		return;
	if (sscanf(env, "%d:%llx", &fd, &seed) != 2)
		_exit(3);
	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (tally == MAP_FAILED)
		_exit(4);
	child_main(tally, seed);
}

static void *forker_main(void *arg)
{
	uint64_t rng = T->seed * 131 + 7;
	long *children = arg;
	char *const argv[] = { "torture_test", NULL };
	char child_env[64], backend_env[64];
	char *const envp[] = { child_env, backend_env, NULL };
	int i;

	snprintf(backend_env, sizeof(backend_env), "GWAKE_BACKEND=%s", gwake_backend());
	while (!atomic_load(&T->draining)) {
		int status;
		pid_t pid;

		for (i = 0; i < TORTURE_SLOTS; i++)
			atomic_store(&T->tally->parent[i], atomic_load(&T->slot[i].handle));
		snprintf(child_env, sizeof(child_env), TORTURE_CHILD_ENV "=%d:%llx",
			 T->tally_fd, (unsigned long long)gwake_test_rand(&rng));
		pid = fork();
		if (pid > 0)
			atomic_store(&T->child, pid);
		if (pid < 0) {
			tally_error(T->tally, "fork failed");
			break;
		}
		if (pid == 0) {
			execve("/proc/self/exe", argv, envp);
			_exit(5);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			tally_error(T->tally, "a child ended with status %#x", status);
		atomic_store(&T->child, 0);
		++*children;
	}
	return NULL;
}

/* --- The watchdog -------------------------------------------------------- */

/* The first line of @dir/@name, or "?"; "stat" up to the task's state. */
static const char *read_line(const char *dir, const char *name, char *buf, size_t size)
{
	char path[320], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "?";
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return "?";
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	p = strrchr(buf, ')');
	if (!strcmp(name, "stat") && p && p[1] && p[2])
		p[3] = '\0';
	return buf;
}

/* What each thread of @pid is doing: its state, where it sleeps, its system call. */
static void dump_tasks(pid_t pid)
{
	char dir[64], task[320], stat[512], wchan[128], sys[256];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(task, sizeof(task), "%s/%s", dir, e->d_name);
		ksft_print_msg("  %s, wchan %s, syscall %s\n",
			       read_line(task, "stat", stat, sizeof(stat)),
			       read_line(task, "wchan", wchan, sizeof(wchan)),
			       read_line(task, "syscall", sys, sizeof(sys)));
	}
	closedir(d);
}

/*
 * The drain is bounded (TORTURE_WATCHDOG_S). A thread that is still not
 * done after it is a lost wakeup or a hang: rather than be killed by the
 * harness's timeout with nothing to show, print every slot and what each
 * thread (and the child being waited for) is doing, then abort.
 */
static void *watchdog_main(void *arg)
{
	struct timespec ts;
	int i, r, child;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TORTURE_WATCHDOG_S;
	do
		r = sem_timedwait(&T->finished, &ts);
	while (r && errno == EINTR);
	if (!r)
		return NULL;
	ksft_print_msg("torture: the drain did not end within %d s\n", TORTURE_WATCHDOG_S);
	/* tid and generation are read racily: a diagnostic, the test is over. */
	for (i = 0; i < TORTURE_SLOTS; i++) {
		struct slot *s = &T->slot[i];

		ksft_print_msg("  slot %d: claim %d, owner tid %d, handle %#llx, generation %u, "
			       "claims %lld, deliveries %lld\n", i, atomic_load(&s->claim),
			       (int)s->tid, (unsigned long long)atomic_load(&s->handle),
			       s->generation, (long long)atomic_load(&s->claims),
			       (long long)atomic_load(&s->deliveries));
	}
	dump_tasks(getpid());
	child = atomic_load(&T->child);
	if (child)
		dump_tasks(child);
	fflush(stdout);
	abort();
}

/* --- The test ----------------------------------------------------------- */

FIXTURE(torture) {
	struct gnl nl;
	bool kmod;
};

GWAKE_BACKEND_VARIANTS(torture);

FIXTURE_SETUP(torture)
{
	GWAKE_SETUP_BACKEND(variant->backend);
	self->kmod = !strcmp(variant->backend, "kmod");
	if (self->kmod) {
		ASSERT_EQ(0, gnl_open(&self->nl));
		ASSERT_EQ(0, gnl_resolve(&self->nl));
	}
}

FIXTURE_TEARDOWN(torture)
{
	if (self->kmod)
		gnl_close(&self->nl);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

#define STATS_DELTA(a) ((long long)(after.v[a] - before.v[a]))

TEST_F_TIMEOUT(torture, invariants, 600)
{
	uint64_t seconds = env_u64("GWAKE_TORTURE_SECONDS", 5);
	pthread_t wakers[TORTURE_WAKERS], forker, watchdog;
	struct sigaction sa = { .sa_handler = on_signal };
	struct gstats before, after;
	long long claims = 0, deliveries = 0;
	long children = 0;
	int64_t end;
	int i;

	T = calloc(1, sizeof(*T));
	ASSERT_NE(NULL, T);
	/* Not close-on-exec: the children map it. */
	T->tally_fd = memfd_create("gwake-torture", 0);
	ASSERT_LE(0, T->tally_fd);
	ASSERT_EQ(0, ftruncate(T->tally_fd, sizeof(*T->tally)));
	T->tally = mmap(NULL, sizeof(*T->tally), PROT_READ | PROT_WRITE, MAP_SHARED,
			T->tally_fd, 0);
	ASSERT_NE(MAP_FAILED, T->tally);
	T->seed = env_u64("GWAKE_TORTURE_SEED", (uint64_t)gwake_test_now_ns() | 1);
	pthread_mutex_init(&T->join_lock, NULL);
	ASSERT_EQ(0, sem_init(&T->finished, 0, 0));
	ksft_print_msg("torture: %s backend, seed %#llx (GWAKE_TORTURE_SEED), %llu s\n",
		       variant->backend, (unsigned long long)T->seed,
		       (unsigned long long)seconds);
	/* The harness ends the test with _exit(): nothing may stay buffered. */
	fflush(stdout);
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	if (self->kmod)
		ASSERT_EQ(0, gnl_get_stats(&self->nl, &before));

	for (i = 0; i < TORTURE_SLOTS; i++) {
		atomic_store(&T->slot[i].claim, SLOT_RETIRING);
		ASSERT_EQ(0, pthread_create(&T->slot[i].thread, NULL, owner_main, &T->slot[i]));
	}
	for (i = 0; i < TORTURE_SLOTS; i++)
		while (atomic_load(&T->slot[i].claim) == SLOT_RETIRING)
			usleep(100);
	for (i = 0; i < TORTURE_WAKERS; i++)
		ASSERT_EQ(0, pthread_create(&wakers[i], NULL, waker_main, (void *)(uintptr_t)i));
	ASSERT_EQ(0, pthread_create(&forker, NULL, forker_main, &children));

	/* Signals now and then, to interrupt blocks. */
	end = gwake_test_now_ns() + (int64_t)seconds * NSEC_PER_SEC;
	while (gwake_test_now_ns() < end && !atomic_load(&T->tally->errors)) {
		struct slot *s = &T->slot[(gwake_test_now_ns() / 1000) % TORTURE_SLOTS];

		pthread_mutex_lock(&T->join_lock);
		pthread_kill(s->thread, SIGUSR1);
		pthread_mutex_unlock(&T->join_lock);
		usleep(2000);
	}

	/* Wakers and the forker end; then every owner delivers what is due. */
	atomic_store(&T->draining, 1);
	ASSERT_EQ(0, pthread_create(&watchdog, NULL, watchdog_main, NULL));
	for (i = 0; i < TORTURE_WAKERS; i++)
		pthread_join(wakers[i], NULL);
	pthread_join(forker, NULL);
	/* Under the lock: no owner hands its slot to a new thread after this. */
	pthread_mutex_lock(&T->join_lock);
	atomic_store(&T->stop, 1);
	pthread_mutex_unlock(&T->join_lock);
	/* An owner in an unbounded block with its slot FREE needs a wake. */
	for (i = 0; i < TORTURE_SLOTS; i++)
		slot_claim_wake(&T->slot[i], false);
	/* Each owner joined the one before it; the last are these. */
	for (i = 0; i < TORTURE_SLOTS; i++)
		pthread_join(T->slot[i].thread, NULL);
	sem_post(&T->finished);
	pthread_join(watchdog, NULL);

	for (i = 0; i < TORTURE_SLOTS; i++) {
		claims += atomic_load(&T->slot[i].claims);
		deliveries += atomic_load(&T->slot[i].deliveries);
	}
	ksft_print_msg("torture: %lld claims delivered, %lld blocks, %lld registrations, "
		       "%ld child processes\n", deliveries, (long long)atomic_load(&T->tally->blocks),
		       (long long)atomic_load(&T->tally->registers), children);
	fflush(stdout);
	ASSERT_EQ(0, atomic_load(&T->tally->errors)) TH_LOG("%s", T->tally->err);
	EXPECT_EQ(claims, deliveries) TH_LOG("every wake is seen by exactly one block");
	EXPECT_LT(0, deliveries);
	EXPECT_LT(0, children);

	if (self->kmod) {
		struct tally *t = T->tally;

		ASSERT_EQ(0, gnl_get_stats_settled(&self->nl, &before, &after));
		EXPECT_EQ(atomic_load(&t->registers), STATS_DELTA(GWAKE_STATS_A_REGISTERS));
		EXPECT_EQ(gstats_live(&before), gstats_live(&after))
			TH_LOG("registrations left behind");
		/*
		 * Through the shared words (GWAKE_FEATURE_SHARED) a wake of
		 * a thread that is awake, and a block that finds its permit,
		 * make no system call: the module sees at most the calls.
		 * Every wake of a sleeper, and every stale one, still reaches
		 * it, exactly once.
		 */
		EXPECT_GE(atomic_load(&t->blocks), STATS_DELTA(GWAKE_STATS_A_BLOCKS));
		/*
		 * A sleeper's wake is two steps, the permit in the word and
		 * the system call: if the owner woke by itself in between,
		 * took the permit and ended, the library reports a wake of a
		 * sleeper where the module saw a stale handle. The sum is
		 * exact.
		 */
		EXPECT_EQ(atomic_load(&t->wakes_woken) + atomic_load(&t->wakes_stale),
			  STATS_DELTA(GWAKE_STATS_A_WAKES_WOKEN) +
			  STATS_DELTA(GWAKE_STATS_A_WAKES_STALE));
		EXPECT_GE(atomic_load(&t->wakes_woken), STATS_DELTA(GWAKE_STATS_A_WAKES_WOKEN));
		EXPECT_GE(atomic_load(&t->wakes_permit), STATS_DELTA(GWAKE_STATS_A_WAKES_PERMIT));
		EXPECT_GE(atomic_load(&t->wake_manys), STATS_DELTA(GWAKE_STATS_A_WAKE_MANY));
		EXPECT_EQ(0, STATS_DELTA(GWAKE_STATS_A_SWAPS));
	}
	munmap(T->tally, sizeof(*T->tally));
	close(T->tally_fd);
	sem_destroy(&T->finished);
	free(T);
}

TEST_HARNESS_MAIN
