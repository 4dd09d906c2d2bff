// SPDX-License-Identifier: GPL-2.0
/*
 * The shared area (uapi header, "The shared area"; kmod/area.c, sched.c):
 * the module maps each process's wake words and scheduling state into it.
 *
 *  - bad mmap() requests, each with its errno; the state region can never
 *    become writable;
 *  - the mapped word is the module's word: a wake or a consume in userspace
 *    is seen by the ioctls and the other way round, and WAKE with
 *    GWAKE_WAKE_SLEEPER wakes a sleeper whose permit userspace set;
 *  - the scheduling state: a thread blocked in read() reads BLOCKED, a busy
 *    one RUNNING, one of two busy threads pinned to one CPU PREEMPTED at
 *    some point, and the switch count moves;
 *  - scribbles: random values written into the words by their owner and by
 *    a sibling cost those threads at most a spurious wakeup, and the
 *    protocol still works for everyone else;
 *  - lifetime: a slot whose thread exited reads FREE and generation 0; a
 *    fork child does not inherit the mapping and maps its own area.
 *
 * kmod only (raw ioctls and mmap); the native run skips with the reason.
 * Nothing here is timed: states are polled for, bounded by
 * GWAKE_TEST_LONG_NS.
 */
#include <sched.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "gwake_raw.h"
#include "gwake_test.h"

FIXTURE(shared) {
	int fd;
	struct gwake_word *words;
	const struct gwake_sched *sched;
};

FIXTURE_SETUP(shared)
{
	struct gwake_api api = { .flags = 0 };

	if (access(GWAKE_TEST_DEV, F_OK))
		GWAKE_SETUP_SKIP("%s: %s absent (gwake.ko not loaded)", _metadata->name,
				 GWAKE_TEST_DEV);
	self->fd = open(GWAKE_TEST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, gw_ioctl(self->fd, GWAKE_IOC_API, &api));
	ASSERT_TRUE(api.features & GWAKE_FEATURE_SHARED);
	self->words = mmap(NULL, GWAKE_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   self->fd, GWAKE_MMAP_WORDS);
	ASSERT_NE(MAP_FAILED, self->words);
	self->sched = mmap(NULL, GWAKE_AREA_SIZE, PROT_READ, MAP_SHARED, self->fd,
			   GWAKE_MMAP_SCHED);
	ASSERT_NE(MAP_FAILED, self->sched);
}

FIXTURE_TEARDOWN(shared)
{
	if (self->words && self->words != MAP_FAILED)
		munmap(self->words, GWAKE_AREA_SIZE);
	if (self->sched && self->sched != MAP_FAILED)
		munmap((void *)self->sched, GWAKE_AREA_SIZE);
	if (self->fd > 0)
		close(self->fd);
}

static _Atomic uint64_t *word_of(struct gwake_word *words, __u64 h)
{
	return (_Atomic uint64_t *)&words[GWAKE_HANDLE_SLOT(h)].word;
}

static const struct gwake_sched *sched_of(const struct gwake_sched *sched, __u64 h)
{
	return &sched[GWAKE_HANDLE_SLOT(h)];
}

static uint32_t state_of(const struct gwake_sched *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_RELAXED);
}

/* Polls until @s reads @state; false after GWAKE_TEST_LONG_NS. */
static bool wait_state(const struct gwake_sched *s, uint32_t state)
{
	int64_t end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;

	while (state_of(s) != state) {
		if (gwake_test_now_ns() > end)
			return false;
		usleep(100);
	}
	return true;
}

/* --- Bad input ---------------------------------------------------------- */

TEST_F(shared, mmap_bad_input)
{
	void *p;

	/* Private: a copy would not be the module's words. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
	/* Past the regions, and straddling their end. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd,
				   2 * (off_t)GWAKE_AREA_SIZE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 8192, PROT_READ, MAP_SHARED, self->fd,
				   GWAKE_AREA_SIZE - 4096));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, GWAKE_AREA_SIZE + 4096, PROT_READ, MAP_SHARED,
				   self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
	/* The state is the module's to write; nothing is executable. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
				   GWAKE_MMAP_SCHED));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EPERM, errno);
	/* Nor can it become writable later. */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, GWAKE_MMAP_SCHED);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, 4096, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, 4096);
}

/* --- The word ----------------------------------------------------------- */

/* Userspace and the ioctls see and change the same word. */
TEST_F(shared, word_is_the_module_s)
{
	__u64 h, gen;
	_Atomic uint64_t *w;
	uint64_t v;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	gen = GWAKE_HANDLE_GEN(h);
	w = word_of(self->words, h);
	EXPECT_EQ(GWAKE_WORD(gen, GWAKE_WORD_IDLE), atomic_load(w));
	EXPECT_EQ(gen, sched_of(self->sched, h)->gen);

	/* A wake by ioctl shows as PERMIT; a consume here empties it. */
	ASSERT_EQ(0, gw_wake(self->fd, h));
	EXPECT_EQ(GWAKE_WORD(gen, GWAKE_WORD_PERMIT), atomic_load(w));
	v = GWAKE_WORD(gen, GWAKE_WORD_PERMIT);
	EXPECT_TRUE(atomic_compare_exchange_strong(w, &v, GWAKE_WORD(gen, GWAKE_WORD_IDLE)));
	EXPECT_EQ(-ETIMEDOUT, gw_block_until(self->fd, 1));

	/* A wake here is a permit for BLOCK. */
	v = GWAKE_WORD(gen, GWAKE_WORD_IDLE);
	EXPECT_TRUE(atomic_compare_exchange_strong(w, &v, GWAKE_WORD(gen, GWAKE_WORD_PERMIT)));
	EXPECT_EQ(0, gw_block_until(self->fd, 1));
	EXPECT_EQ(-ETIMEDOUT, gw_block_until(self->fd, 1));

	/* Unregistered: FREE, and generation 0 in the state. */
	ASSERT_EQ(0, gw_unregister(self->fd));
	EXPECT_EQ(GWAKE_WORD(0, GWAKE_WORD_FREE), atomic_load(w));
	EXPECT_EQ(0, sched_of(self->sched, h)->gen);
	EXPECT_EQ(-ESRCH, gw_wake(self->fd, h));
}

struct sleeper {
	int fd;
	__u64 handle;
	pid_t tid;
	atomic_int ready;
	long result;
	int pipe_rd;		/* read() on it instead of BLOCK, if >= 0 */
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	char c;

	s->tid = gwake_test_gettid();
	if (gw_register(s->fd, &s->handle))
		s->handle = 0;
	atomic_store(&s->ready, 1);
	if (s->pipe_rd >= 0)
		s->result = read(s->pipe_rd, &c, 1);
	else
		s->result = gw_block(s->fd);
	return NULL;
}

static void sleeper_start(struct __test_metadata *_metadata, struct sleeper *s,
			  pthread_t *t, int fd, int pipe_rd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->pipe_rd = pipe_rd;
	s->result = 1;
	ASSERT_EQ(0, pthread_create(t, NULL, sleeper_main, s));
	ASSERT_TRUE(gwake_test_wait_flag(&s->ready));
	ASSERT_NE(0, s->handle);
	ASSERT_TRUE(gwake_test_wait_asleep(s->tid));
}

/*
 * A wake in userspace that finds SLEEPING sets PERMIT and asks the module
 * to wake the sleeper (GWAKE_WAKE_SLEEPER): 1, and the sleeper returns 0.
 */
TEST_F(shared, wake_sleeper_flag)
{
	struct gwake_wake wk = { .flags = GWAKE_WAKE_SLEEPER };
	struct sleeper s;
	pthread_t t;
	uint64_t v, gen;
	_Atomic uint64_t *w;

	sleeper_start(_metadata, &s, &t, self->fd, -1);
	gen = GWAKE_HANDLE_GEN(s.handle);
	w = word_of(self->words, s.handle);
	v = GWAKE_WORD(gen, GWAKE_WORD_SLEEPING);
	ASSERT_TRUE(atomic_compare_exchange_strong(w, &v, GWAKE_WORD(gen, GWAKE_WORD_PERMIT)))
		TH_LOG("the sleeper's word is %#llx", (unsigned long long)v);
	wk.handle = s.handle;
	EXPECT_EQ(1, gw_ioctl(self->fd, GWAKE_IOC_WAKE, &wk));
	pthread_join(t, NULL);
	EXPECT_EQ(0, s.result);
}

/* --- The scheduling state ----------------------------------------------- */

/* Asleep in read(), not in the module: BLOCKED all the same. */
TEST_F(shared, blocked_in_read)
{
	struct sleeper s;
	pthread_t t;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	sleeper_start(_metadata, &s, &t, self->fd, p[0]);
	EXPECT_TRUE(wait_state(sched_of(self->sched, s.handle), GWAKE_SCHED_BLOCKED))
		TH_LOG("state %u", state_of(sched_of(self->sched, s.handle)));
	EXPECT_LT(0, sched_of(self->sched, s.handle)->switches);
	ASSERT_EQ(1, write(p[1], "x", 1));
	pthread_join(t, NULL);
	EXPECT_EQ(1, s.result);
	close(p[0]);
	close(p[1]);
}

struct busy {
	int fd;
	int cpu;		/* pin here, or -1 */
	__u64 handle;
	atomic_int ready, *stop;
};

static void *busy_main(void *arg)
{
	struct busy *b = arg;

	if (b->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(b->cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	if (gw_register(b->fd, &b->handle))
		b->handle = 0;
	atomic_store(&b->ready, 1);
	while (!atomic_load_explicit(b->stop, memory_order_relaxed))
		;
	return NULL;
}

static int ncpus(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) ? 1 : CPU_COUNT(&set);
}

/* A thread that spins on a CPU of its own reads RUNNING. */
TEST_F(shared, busy_is_running)
{
	atomic_int stop = 0;
	struct busy b = { .fd = self->fd, .cpu = -1, .stop = &stop };
	pthread_t t;

	if (ncpus() < 2)
		SKIP(return, "one CPU: the busy thread and this one share it");
	ASSERT_EQ(0, pthread_create(&t, NULL, busy_main, &b));
	ASSERT_TRUE(gwake_test_wait_flag(&b.ready));
	ASSERT_NE(0, b.handle);
	EXPECT_TRUE(wait_state(sched_of(self->sched, b.handle), GWAKE_SCHED_RUNNING));
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
}

/* Two busy threads on one CPU: each is PREEMPTED at times. */
TEST_F(shared, two_on_one_cpu_preempted)
{
	atomic_int stop = 0;
	struct busy b[2] = {
		{ .fd = self->fd, .cpu = 0, .stop = &stop },
		{ .fd = self->fd, .cpu = 0, .stop = &stop },
	};
	const struct gwake_sched *s0, *s1;
	pthread_t t[2];
	int64_t end;
	bool seen = false;
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_create(&t[i], NULL, busy_main, &b[i]));
		ASSERT_TRUE(gwake_test_wait_flag(&b[i].ready));
		ASSERT_NE(0, b[i].handle);
	}
	s0 = sched_of(self->sched, b[0].handle);
	s1 = sched_of(self->sched, b[1].handle);
	end = gwake_test_now_ns() + GWAKE_TEST_LONG_NS;
	while (!seen && gwake_test_now_ns() < end) {
		seen = state_of(s0) == GWAKE_SCHED_PREEMPTED ||
		       state_of(s1) == GWAKE_SCHED_PREEMPTED;
		usleep(50);
	}
	EXPECT_TRUE(seen) TH_LOG("states %u %u", state_of(s0), state_of(s1));
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

/* --- Scribbles ---------------------------------------------------------- */

struct scribbler {
	int fd;
	struct gwake_word *words;
	__u64 handle;
	pid_t tid;
	atomic_int ready, go, done, clean;
	long results[64], final;
};

/* Registers, then scribbles on its own word between blocks. */
static void *owner_scribbler(void *arg)
{
	struct scribbler *s = arg;
	uint64_t rng = 0x1234567;
	int i;

	s->tid = gwake_test_gettid();
	if (gw_register(s->fd, &s->handle))
		s->handle = 0;
	atomic_store(&s->ready, 1);
	while (!atomic_load(&s->go))
		usleep(100);
	for (i = 0; i < 64; i++) {
		atomic_store(word_of(s->words, s->handle), gwake_test_rand(&rng));
		/* Any word at all: a block that ends, one way or another. */
		s->results[i] = gw_block_until(s->fd, gwake_test_now_ns() + NSEC_PER_MSEC);
	}
	atomic_store(&s->done, 1);
	/* The sibling stopped too: a block repairs what is left ... */
	while (!atomic_load(&s->clean))
		usleep(100);
	gw_block_until(s->fd, 1);
	/* ... and then the word works as before: a wake ends this one. */
	atomic_store(&s->clean, 2);
	s->final = gw_block(s->fd);
	return NULL;
}

/*
 * One thread scribbles on its own word between its blocks, and this one
 * on it as well; two other threads ping-pong through the module the
 * while. Their hand-offs all arrive; the scribbler's blocks all end (0 or
 * -ETIMEDOUT: a scribble is at worst a spurious wakeup); and once the
 * scribbling stops, the scribbler's word works normally again.
 */
TEST_F(shared, scribbled_words)
{
	struct scribbler s = { .fd = self->fd, .words = self->words };
	struct sleeper p;
	uint64_t rng = 42;
	pthread_t t, pt;
	int i, rounds;

	ASSERT_EQ(0, pthread_create(&t, NULL, owner_scribbler, &s));
	ASSERT_TRUE(gwake_test_wait_flag(&s.ready));
	ASSERT_NE(0, s.handle);
	atomic_store(&s.go, 1);
	for (rounds = 0; !atomic_load(&s.done); rounds++) {
		/* A sibling's scribble too. */
		atomic_store(word_of(self->words, s.handle), gwake_test_rand(&rng));
		/* The others' protocol works: a sleeper woken by a wake. */
		sleeper_start(_metadata, &p, &pt, self->fd, -1);
		EXPECT_EQ(1, gw_wake(self->fd, p.handle));
		pthread_join(pt, NULL);
		EXPECT_EQ(0, p.result) TH_LOG("round %d", rounds);
	}
	atomic_store(&s.clean, 1);
	while (atomic_load(&s.clean) != 2)
		usleep(100);
	ASSERT_TRUE(gwake_test_wait_asleep(s.tid));
	EXPECT_EQ(1, gw_wake(self->fd, s.handle));
	pthread_join(t, NULL);
	EXPECT_EQ(0, s.final);
	for (i = 0; i < 64; i++) {
		EXPECT_TRUE(s.results[i] == 0 || s.results[i] == -ETIMEDOUT)
			TH_LOG("block %d: %ld", i, s.results[i]);
	}
}

/* --- Lifetime ----------------------------------------------------------- */

/* A thread that exits leaves a FREE word and generation 0 behind. */
TEST_F(shared, exited_slot_is_free)
{
	struct sleeper s;
	pthread_t t;

	sleeper_start(_metadata, &s, &t, self->fd, -1);
	EXPECT_EQ(1, gw_wake(self->fd, s.handle));
	pthread_join(t, NULL);
	ASSERT_EQ(0, s.result);
	/*
	 * Stale for WAKE from the moment it began to exit. Its registration
	 * ends, and its word becomes FREE, at sched_process_exit, which
	 * comes after the exit woke pthread_join() (exit_mm() clears the
	 * TID first): a moment later, not never.
	 */
	EXPECT_EQ(-ESRCH, gw_wake(self->fd, s.handle));
	for (int i = 0; i < 10000; i++) {
		if (atomic_load(word_of(self->words, s.handle)) ==
		    GWAKE_WORD(0, GWAKE_WORD_FREE))
			break;
		usleep(1000);
	}
	EXPECT_EQ(GWAKE_WORD(0, GWAKE_WORD_FREE), atomic_load(word_of(self->words, s.handle)));
	EXPECT_EQ(0, sched_of(self->sched, s.handle)->gen);
	EXPECT_EQ(-ESRCH, gw_wake(self->fd, s.handle));
}

static sigjmp_buf segv_env;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(segv_env, 1);
}

/*
 * A fork child does not inherit the mapping (its address faults), maps an
 * area of its own, registers into it, and finds the parent's handle FREE
 * there.
 */
TEST_F(shared, fork_child_maps_its_own)
{
	__u64 h;
	pid_t pid;
	int status;

	ASSERT_EQ(0, gw_register(self->fd, &h));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_segv };
		volatile uint64_t v;
		struct gwake_word *mine;
		__u64 ch;

		sigaction(SIGSEGV, &sa, NULL);
		if (!sigsetjmp(segv_env, 1)) {
			v = self->words[0].word;
			(void)v;
			_exit(1);	/* the parent's mapping came along */
		}
		mine = mmap(NULL, GWAKE_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			    self->fd, GWAKE_MMAP_WORDS);
		if (mine == MAP_FAILED)
			_exit(2);
		if (gw_register(self->fd, &ch))
			_exit(3);
		if (atomic_load(word_of(mine, ch)) !=
		    GWAKE_WORD(GWAKE_HANDLE_GEN(ch), GWAKE_WORD_IDLE))
			_exit(4);
		if (GWAKE_HANDLE_SLOT(ch) != GWAKE_HANDLE_SLOT(h) &&
		    atomic_load(word_of(mine, h)) != 0)
			_exit(5);
		if (gw_wake(self->fd, h) != -ESRCH)
			_exit(6);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("child check %d failed", WEXITSTATUS(status));
	EXPECT_EQ(GWAKE_WORD(GWAKE_HANDLE_GEN(h), GWAKE_WORD_IDLE),
		  atomic_load(word_of(self->words, h)));
}

TEST_HARNESS_MAIN
