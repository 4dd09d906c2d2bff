// SPDX-License-Identifier: GPL-2.0
/*
 * Stale handles: of threads that exited, of registrations dropped with
 * gwake_unregister(), and every handle in a fork() child. A stale handle is
 * -ESRCH for ever and never reaches the thread that reuses its slot, its
 * TID or its registration. Both backends.
 */
#include <sys/wait.h>

#include "gwake_test.h"

FIXTURE(stale) {
	struct gwake_peer peers[2];
};

GWAKE_BACKEND_VARIANTS(stale);

FIXTURE_SETUP(stale)
{
	GWAKE_SETUP_BACKEND(variant->backend);
}

FIXTURE_TEARDOWN(stale)
{
}

/* --- Bad input ---------------------------------------------------------- */

static void *unregister_fresh(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)gwake_unregister();
}

/* Unregistering what is not registered: -ENOENT, and nothing registered. */
TEST_F(stale, unregister_enoent)
{
	pthread_t t;
	void *res;
	gwake_t h1, h2;

	/* A thread that never called gwake_*(). */
	ASSERT_EQ(0, pthread_create(&t, NULL, unregister_fresh, NULL));
	ASSERT_EQ(0, pthread_join(t, &res));
	EXPECT_EQ(-ENOENT, (intptr_t)res);

	ASSERT_EQ(0, gwake_self(&h1));
	EXPECT_EQ(0, gwake_unregister());
	EXPECT_EQ(-ENOENT, gwake_unregister()) TH_LOG("unregistered twice");
	/* The failed call did not register me: the next handle is new, once. */
	ASSERT_EQ(0, gwake_self(&h2));
	EXPECT_NE(h1, h2);
	EXPECT_EQ(0, gwake_unregister());
	EXPECT_EQ(-ENOENT, gwake_unregister());
}

/* --- Behaviour ---------------------------------------------------------- */

/*
 * A thread that exited: its handle is -ESRCH for wake and swap (which then
 * does not block: my permit stays), and wake_many skips it.
 */
TEST_F(stale, exited_thread)
{
	struct gwake_peer *p = &self->peers[0];
	gwake_t h, me;

	ASSERT_EQ(0, gwake_peer_start(p));
	h = p->handle;
	ASSERT_EQ(0, gwake_peer_stop(p));

	ASSERT_EQ(0, gwake_self(&me));
	EXPECT_EQ(-ESRCH, gwake_wake(h));
	EXPECT_EQ(0, gwake_wake(me));
	EXPECT_EQ(-ESRCH, gwake_swap(h, GWAKE_TEST_LONG_NS));
	EXPECT_EQ(0, gwake_block(0)) TH_LOG("a swap to a stale handle blocked");
	EXPECT_EQ(0, gwake_wake_many(&h, 1));
	/* Still stale from another thread. */
	ASSERT_EQ(0, gwake_peer_start(p));
	EXPECT_EQ(-ESRCH, gwake_peer_run(p, GWAKE_PEER_WAKE, h, 0));
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/*
 * Many threads created and exited one after another, so that slots (and,
 * when pid_max wraps, TIDs) are reused. Each new thread gets a handle
 * never seen before, and wakes sent to all the old handles, just before
 * and while it runs, never reach it: its first block(0) finds no permit.
 */
#define REUSE_CYCLES	1000

TEST_F_TIMEOUT(stale, exited_handle_never_reaches_successor, 300)
{
	struct gwake_peer *p = &self->peers[0];
	gwake_t *old = calloc(REUSE_CYCLES, sizeof(*old));
	unsigned int i, j, first, bad_wake = 0, bad_handle = 0, bad_permit = 0;
	int r;

	ASSERT_NE(NULL, old);
	for (i = 0; i < REUSE_CYCLES; i++) {
		ASSERT_EQ(0, gwake_peer_start(p)) TH_LOG("cycle %u", i);
		for (j = 0; j < i; j++) {
			if (old[j] == p->handle) {
				bad_handle++;
				TH_LOG("cycle %u: handle %#llx reissued (cycle %u)", i,
				       (unsigned long long)p->handle, j);
			}
		}
		if (i > 0) {
			r = gwake_wake(old[i - 1]);
			if (r != -ESRCH) {
				bad_wake++;
				TH_LOG("cycle %u: wake of the previous thread's handle: %d", i, r);
			}
			first = i > GWAKE_WAKE_MANY_MAX ? i - GWAKE_WAKE_MANY_MAX : 0;
			r = gwake_wake_many(old + first, i - first);
			if (r != 0) {
				bad_wake++;
				TH_LOG("cycle %u: wake_many of old handles: %d", i, r);
			}
		}
		r = gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0);
		if (r != -ETIMEDOUT) {
			bad_permit++;
			TH_LOG("cycle %u: the new thread had a permit (%d): a stale wake reached it",
			       i, r);
		}
		old[i] = p->handle;
		ASSERT_EQ(0, gwake_peer_stop(p));
		if (bad_wake + bad_handle + bad_permit > 10)
			break;
	}
	EXPECT_EQ(0, bad_handle);
	EXPECT_EQ(0, bad_wake);
	EXPECT_EQ(0, bad_permit);
	free(old);
}

/*
 * TID reuse: threads register and exit; thread IDs are then allocated
 * until they wrap around pid_max and new threads get the same TIDs. A new
 * registration must not answer to the old handle of its TID (the module
 * keys its table by TID: a generation check that is missing or compares
 * too little shows here): the thread wakes the old handle itself (the
 * module's lookup does not depend on who asks) and must find no permit.
 * Only threads whose TID was recorded register, so the wrap costs plain
 * thread creations, made from two threads at once.
 */
#define TID_RECORDED	256
#define TID_REUSES	32
#define TID_BURNERS	2

struct tid_reuse {
	gwake_t *old;		/* by TID: the handle an exited thread had */
	int pid_max;
	atomic_uint created, reuses;
	atomic_uint bad_wake, bad_wake_many, bad_permit, same_handle, errors;
};

static void *tid_reuse_thread(void *arg)
{
	struct tid_reuse *tr = arg;
	pid_t tid = gwake_test_gettid();
	gwake_t old = tid > 0 && tid <= tr->pid_max ? tr->old[tid] : 0, h;

	if (!old)
		return NULL;
	/* Checked once per TID: only this thread has this TID now. */
	tr->old[tid] = 0;
	atomic_fetch_add(&tr->reuses, 1);
	if (gwake_self(&h)) {
		atomic_fetch_add(&tr->errors, 1);
		return NULL;
	}
	if (h == old)
		atomic_fetch_add(&tr->same_handle, 1);
	if (gwake_wake(old) != -ESRCH)
		atomic_fetch_add(&tr->bad_wake, 1);
	if (gwake_wake_many(&old, 1) != 0)
		atomic_fetch_add(&tr->bad_wake_many, 1);
	if (gwake_block(0) != -ETIMEDOUT)
		atomic_fetch_add(&tr->bad_permit, 1);
	return NULL;
}

static void *tid_burner(void *arg)
{
	struct tid_reuse *tr = arg;
	pthread_t t;

	/* Other processes take TIDs too: allow two full wraps. */
	while (atomic_load(&tr->reuses) < TID_REUSES &&
	       atomic_fetch_add(&tr->created, 1) < 2U * tr->pid_max) {
		if (pthread_create(&t, NULL, tid_reuse_thread, tr) || pthread_join(t, NULL)) {
			atomic_fetch_add(&tr->errors, 1);
			break;
		}
	}
	return NULL;
}

static void *record_tid(void *arg)
{
	gwake_t *h = arg;

	if (gwake_self(h))
		*h = 0;
	return (void *)(intptr_t)gwake_test_gettid();
}

TEST_F_TIMEOUT(stale, tid_reuse, 180)
{
	struct tid_reuse *tr = calloc(1, sizeof(*tr));
	pthread_t t, burners[TID_BURNERS];
	unsigned int i;
	int64_t t0;
	void *res;
	gwake_t h;
	FILE *f;

	ASSERT_NE(NULL, tr);
	f = fopen("/proc/sys/kernel/pid_max", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%d", &tr->pid_max));
	fclose(f);
	if (tr->pid_max > 131072)
		SKIP(return, "tid_reuse: pid_max is %d: wrapping TIDs would take too long",
		     tr->pid_max);
	tr->old = calloc(tr->pid_max + 1, sizeof(*tr->old));
	ASSERT_NE(NULL, tr->old);

	for (i = 0; i < TID_RECORDED; i++) {
		ASSERT_EQ(0, pthread_create(&t, NULL, record_tid, &h));
		ASSERT_EQ(0, pthread_join(t, &res));
		ASSERT_NE(0, h);
		tr->old[(intptr_t)res] = h;
	}
	t0 = gwake_test_now_ns();
	for (i = 0; i < TID_BURNERS; i++) {
		ASSERT_EQ(0, pthread_create(&burners[i], NULL, tid_burner, tr));
	}
	for (i = 0; i < TID_BURNERS; i++) {
		ASSERT_EQ(0, pthread_join(burners[i], NULL));
	}
	TH_LOG("%u threads created after %u recorded (pid_max %d), %u TIDs reused, in %.1f s",
	       atomic_load(&tr->created), TID_RECORDED, tr->pid_max,
	       atomic_load(&tr->reuses), (gwake_test_now_ns() - t0) / 1e9);
	if (!atomic_load(&tr->reuses))
		SKIP(return, "tid_reuse: no TID came back in %u thread creations",
		     atomic_load(&tr->created));
	EXPECT_EQ(0, atomic_load(&tr->same_handle)) TH_LOG("a new thread got the old handle");
	EXPECT_EQ(0, atomic_load(&tr->bad_wake))
		TH_LOG("the old handle of a reused TID was not -ESRCH");
	EXPECT_EQ(0, atomic_load(&tr->bad_wake_many))
		TH_LOG("wake_many of the old handle of a reused TID woke somebody");
	EXPECT_EQ(0, atomic_load(&tr->bad_permit)) TH_LOG("a wake of the old handle left a permit");
	EXPECT_EQ(0, atomic_load(&tr->errors));
	free(tr->old);
	free(tr);
}

/*
 * gwake_unregister(): the handle is stale at once, a pending permit is
 * discarded, and the next call registers anew with a different handle.
 */
TEST_F(stale, unregister)
{
	gwake_t h1, h2;

	ASSERT_EQ(0, gwake_self(&h1));
	ASSERT_EQ(0, gwake_wake(h1));
	ASSERT_EQ(0, gwake_unregister());
	EXPECT_EQ(-ESRCH, gwake_wake(h1));
	EXPECT_EQ(-ESRCH, gwake_swap(h1, 0));
	ASSERT_EQ(0, gwake_self(&h2));
	EXPECT_NE(0, h2);
	EXPECT_NE(h1, h2);
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0)) TH_LOG("the permit survived gwake_unregister()");
	EXPECT_EQ(-ESRCH, gwake_wake(h1));
	EXPECT_EQ(0, gwake_wake(h2));
	EXPECT_EQ(0, gwake_block(0));
}

/*
 * After gwake_unregister(), gwake_block() (and gwake_swap()) register the
 * thread again; the old handle does not come back.
 */
TEST_F(stale, block_after_unregister_registers)
{
	struct gwake_peer *p = &self->peers[0];
	gwake_t h1, h2, h3;

	ASSERT_EQ(0, gwake_self(&h1));
	ASSERT_EQ(0, gwake_unregister());
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
	ASSERT_EQ(0, gwake_self(&h2));
	EXPECT_NE(h1, h2);
	EXPECT_EQ(-ESRCH, gwake_wake(h1));
	EXPECT_EQ(0, gwake_unregister()) TH_LOG("gwake_block() did not register me");

	ASSERT_EQ(0, gwake_peer_start(p));
	EXPECT_EQ(-ETIMEDOUT, gwake_swap(p->handle, NSEC_PER_MSEC));
	ASSERT_EQ(0, gwake_self(&h3));
	EXPECT_NE(h2, h3);
	EXPECT_NE(h1, h3);
	/* The peer wakes my new handle. */
	EXPECT_EQ(0, gwake_peer_run(p, GWAKE_PEER_WAKE, h3, 0));
	EXPECT_EQ(0, gwake_block(0));
	EXPECT_EQ(-ESRCH, gwake_peer_run(p, GWAKE_PEER_WAKE, h2, 0));
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/* Another thread's unregistration makes its handle stale for me too. */
TEST_F(stale, peer_unregister)
{
	struct gwake_peer *p = &self->peers[0];
	gwake_t old;

	ASSERT_EQ(0, gwake_peer_start(p));
	old = p->handle;
	EXPECT_EQ(0, gwake_wake(old));
	ASSERT_EQ(0, gwake_peer_run(p, GWAKE_PEER_UNREGISTER, 0, 0));
	EXPECT_EQ(-ESRCH, gwake_wake(old));
	ASSERT_EQ(0, gwake_peer_run(p, GWAKE_PEER_SELF, 0, 0));
	EXPECT_NE(old, p->handle);
	EXPECT_EQ(-ETIMEDOUT, gwake_peer_run(p, GWAKE_PEER_BLOCK, 0, 0))
		TH_LOG("the old registration's permit reached the new one");
	EXPECT_EQ(-ESRCH, gwake_wake(old));
	ASSERT_TRUE(gwake_peer_post_asleep(p, GWAKE_PEER_BLOCK, 0, GWAKE_TEST_LONG_NS));
	EXPECT_EQ(-ESRCH, gwake_wake(old));
	EXPECT_EQ(1, gwake_wake(p->handle));
	EXPECT_EQ(0, gwake_peer_result(p));
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/*
 * The child of fork(): every handle it inherited is stale, including the
 * handle its own thread had in the parent, so nothing it does reaches the
 * parent; gwake_self() gives it a new handle that works, in any thread.
 * A handle the parent issues after the fork (read from @pipe_rd) is not a
 * handle of the child either, even where the child's own table issued the
 * same slot and generation. Returns 0 or the number of the failed check.
 */
static int fork_child(gwake_t parent_main, gwake_t parent_peer, int pipe_rd)
{
	struct gwake_peer p;
	gwake_t hs[2] = { parent_main, parent_peer }, h, later;

	if (gwake_wake(parent_main) != -ESRCH)
		return 1;
	if (gwake_wake(parent_peer) != -ESRCH)
		return 2;
	if (gwake_wake_many(hs, 2) != 0)
		return 3;
	/* Would time out (not hang) if it blocked. */
	if (gwake_swap(parent_peer, GWAKE_TEST_LONG_NS) != -ESRCH)
		return 4;
	if (gwake_self(&h) || !h)
		return 5;
	if (h == parent_main || h == parent_peer)
		return 6;
	if (gwake_block(0) != -ETIMEDOUT)
		return 7;
	if (gwake_wake(h) != 0 || gwake_block(0) != 0)
		return 8;
	if (read(pipe_rd, &later, sizeof(later)) != sizeof(later))
		return 9;
	if (gwake_wake(later) != -ESRCH)
		return 10;
	if (gwake_block(0) != -ETIMEDOUT)
		return 11;
	if (gwake_peer_start(&p))
		return 12;
	if (p.handle == parent_main || p.handle == parent_peer || p.handle == h)
		return 13;
	if (!gwake_peer_post_asleep(&p, GWAKE_PEER_BLOCK, 0, GWAKE_TEST_LONG_NS))
		return 14;
	if (gwake_wake(later) != -ESRCH)
		return 15;
	if (gwake_wake(p.handle) != 1 || gwake_peer_result(&p) != 0)
		return 16;
	if (gwake_peer_stop(&p))
		return 17;
	return 0;
}

TEST_F(stale, fork_child)
{
	struct gwake_peer *p = &self->peers[0];
	gwake_t me, later;
	int status, i, fds[2];
	pid_t pid;

	ASSERT_EQ(0, gwake_self(&me));
	ASSERT_EQ(0, gwake_peer_start(p));
	ASSERT_TRUE(gwake_peer_post_asleep(p, GWAKE_PEER_BLOCK, 0, -1));

	/* Twice: a second fork must not find the first child's state. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pipe(fds));
		fflush(NULL);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(fds[1]);
			_exit(fork_child(me, p->handle, fds[0]));
		}
		close(fds[0]);
		/* A new registration of mine, made after the fork. */
		ASSERT_EQ(0, gwake_unregister());
		ASSERT_EQ(0, gwake_self(&later));
		ASSERT_EQ(sizeof(later), write(fds[1], &later, sizeof(later)));
		close(fds[1]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child died with status %#x", status);
		EXPECT_EQ(0, WEXITSTATUS(status))
			TH_LOG("child failed check %d", WEXITSTATUS(status));
		me = later;
	}

	/* Nothing reached the parent: my permit is empty, the peer still asleep. */
	EXPECT_EQ(-ETIMEDOUT, gwake_block(0));
	EXPECT_EQ(0, atomic_load(&p->blocks_left)) TH_LOG("the child woke the parent's thread");
	EXPECT_EQ(1, gwake_wake(p->handle));
	EXPECT_EQ(0, gwake_peer_result(p));
	ASSERT_EQ(0, gwake_peer_stop(p));
}

/*
 * execve() ends every registration of the process: the new image starts
 * with none and registers as a fresh process would, not with -EBUSY from
 * a registration (or an open /dev/gwake) that survived, even when another
 * thread was asleep in the wake word when the exec killed it. The new
 * image is this program again; a constructor runs its part before main().
 */
#define EXEC_CHILD_ENV	"GWAKE_SELFTEST_EXEC_CHILD"

static int exec_child(void)
{
	gwake_t h;

	if (gwake_self(&h) || !h)
		return 1;
	if (gwake_block(0) != -ETIMEDOUT)
		return 2;
	if (gwake_wake(h) != 0 || gwake_block(0) != 0)
		return 3;
	if (gwake_unregister() || gwake_unregister() != -ENOENT)
		return 4;
	return 0;
}

static void __attribute__((constructor)) exec_child_main(void)
{
	if (getenv(EXEC_CHILD_ENV))
		_exit(exec_child());
}

TEST_F(stale, exec_registers_anew)
{
	struct gwake_peer *p = &self->peers[0];
	char *const argv[] = { "stale_test", NULL };
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		gwake_t me;

		if (gwake_self(&me) || gwake_wake(me))
			_exit(10);
		if (gwake_peer_start(p) ||
		    !gwake_peer_post_asleep(p, GWAKE_PEER_BLOCK, 0, -1))
			_exit(11);
		setenv(EXEC_CHILD_ENV, "1", 1);
		execv("/proc/self/exe", argv);
		_exit(12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child died with status %#x", status);
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("check %d failed (1: gwake_self() after exec, 12: execv)",
		       WEXITSTATUS(status));
}

/*
 * Registration churn against concurrent wakers. Churners unregister and
 * register again in a loop; wakers wake whatever handle a churner last
 * published. Each new registration is checked before its handle is
 * published: nobody can have woken it yet, so a permit there came from a
 * wake of an older handle, racing with the unregistration. Wakes must
 * return 0, 1 or -ESRCH; handles must never repeat.
 */
#define CHURNERS	2
#define WAKERS		2
#define CHURN_CYCLES	4000

struct churn {
	atomic_ullong published[CHURNERS];
	atomic_int stop;
	atomic_uint leaked_permits, bad_wakes, repeated_handles, errors;
	unsigned int seed[WAKERS];
};

struct churn_arg {
	struct churn *c;
	unsigned int idx;
};

static void *churner_main(void *arg)
{
	struct churn_arg *a = arg;
	struct churn *c = a->c;
	gwake_t *mine = calloc(CHURN_CYCLES, sizeof(*mine)), h;
	unsigned int i, j;
	int r;

	if (!mine) {
		atomic_fetch_add(&c->errors, 1);
		return NULL;
	}
	for (i = 0; i < CHURN_CYCLES; i++) {
		if (gwake_self(&h)) {
			atomic_fetch_add(&c->errors, 1);
			break;
		}
		/* Only the last few: an O(n^2) scan of all would dominate. */
		for (j = i > 64 ? i - 64 : 0; j < i; j++)
			if (mine[j] == h)
				atomic_fetch_add(&c->repeated_handles, 1);
		mine[i] = h;
		r = gwake_block(0);
		if (r != -ETIMEDOUT)
			atomic_fetch_add(&c->leaked_permits, 1);
		atomic_store_explicit(&c->published[a->idx], h, memory_order_release);
		/* Be a target for a moment: take a wake if one comes. */
		r = gwake_block(i % 4 ? 0 : 20 * NSEC_PER_USEC);
		if (r && r != -ETIMEDOUT)
			atomic_fetch_add(&c->errors, 1);
		if (gwake_unregister()) {
			atomic_fetch_add(&c->errors, 1);
			break;
		}
	}
	free(mine);
	return NULL;
}

static void *waker_main(void *arg)
{
	struct churn_arg *a = arg;
	struct churn *c = a->c;
	unsigned int *seed = &c->seed[a->idx];
	gwake_t h;
	int r;

	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		h = atomic_load_explicit(&c->published[rand_r(seed) % CHURNERS],
					 memory_order_acquire);
		if (!h)
			continue;
		r = gwake_wake(h);
		if (r != 0 && r != 1 && r != -ESRCH)
			atomic_fetch_add(&c->bad_wakes, 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(stale, churn, 120)
{
	struct churn *c = calloc(1, sizeof(*c));
	struct churn_arg ca[CHURNERS], wa[WAKERS];
	pthread_t ct[CHURNERS], wt[WAKERS];
	unsigned int i;

	ASSERT_NE(NULL, c);
	for (i = 0; i < WAKERS; i++) {
		c->seed[i] = i + 1;
		wa[i] = (struct churn_arg){ .c = c, .idx = i };
		ASSERT_EQ(0, pthread_create(&wt[i], NULL, waker_main, &wa[i]));
	}
	for (i = 0; i < CHURNERS; i++) {
		ca[i] = (struct churn_arg){ .c = c, .idx = i };
		ASSERT_EQ(0, pthread_create(&ct[i], NULL, churner_main, &ca[i]));
	}
	for (i = 0; i < CHURNERS; i++) {
		ASSERT_EQ(0, pthread_join(ct[i], NULL));
	}
	atomic_store(&c->stop, 1);
	for (i = 0; i < WAKERS; i++) {
		ASSERT_EQ(0, pthread_join(wt[i], NULL));
	}
	EXPECT_EQ(0, atomic_load(&c->leaked_permits))
		TH_LOG("a new registration had a permit: a wake of an old handle reached it");
	EXPECT_EQ(0, atomic_load(&c->bad_wakes));
	EXPECT_EQ(0, atomic_load(&c->repeated_handles));
	EXPECT_EQ(0, atomic_load(&c->errors));
	free(c);
}

TEST_HARNESS_MAIN
