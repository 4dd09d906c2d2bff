// SPDX-License-Identifier: GPL-2.0
/*
 * handoff: the wake word itself. Pairs of threads ping-pong: the pinger
 * wakes the ponger and waits to be woken back; one round trip is two
 * hand-offs. Reported in ns per round trip per pair.
 *
 * Mechanisms, each as a plain C programmer would write it:
 *   gwake wake+block  wake(peer) then block(), of the user backend and of
 *                     the module's (kmod), both in the same run: the
 *                     backends' ops tables are driven directly
 *                     (gwi_backend_init(), lib/backend.h), since the
 *                     public API serves one backend per process
 *   gwake swap        swap(peer): one call (one ioctl with the module)
 *   gwake swap here   swap_here(peer): the same, and a sleeping peer is run
 *                     on the caller's CPU (the module's GWAKE_SWAP_PLACE; the
 *                     user backend has no such thing: its plain swap)
 *   futex             a 0 idle / 1 permit / 2 asleep word: the waker
 *                     calls FUTEX_WAKE only if the peer sleeps, the
 *                     waiter FUTEX_WAITs at once
 *   spinning futex    the same word, but the waiter first spins 2000
 *                     pauses for the permit (what urcu-wait and many
 *                     runtimes do)
 *   futex, registered the futex variant between two threads registered
 *                     with the module (pinned groups only): each context
 *                     switch runs their preempt notifiers, so the ratio
 *                     to plain futex is what a registered thread pays
 *                     per switch for its published scheduling state
 *   pipe, eventfd     one byte / one 8-byte count each way
 *   condvar           pthread mutex + condition variable + flag
 *
 * Configurations: 1 pair and 3 pairs (6 threads: oversubscribed on 2
 * CPUs), unpinned (the kernel places threads) and pinned (both threads of
 * pair i on CPU i mod ncpus: every hand-off is a context switch on that
 * CPU, no cross-CPU wakeup). The baseline is futex.
 *
 * Every hand-off also records whether the woken thread runs on the CPU
 * its waker ran on when it woke it (sched_getcpu() on both sides, a few ns
 * of vDSO each, the same for every mechanism): 100% pinned by
 * construction; unpinned it tells a mechanism that moves the wakee to the
 * waker (a sync wake) from one that finds it spinning elsewhere.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend.h"
#include "bench.h"

#define SPIN_PAUSES	2000
#define MAX_PAIRS	3

enum mech {
	M_GWAKE,
	M_GWAKE_SWAP,
	M_GWAKE_SWAP_HERE,
	M_FUTEX,
	M_FUTEX_SPIN,
	M_FUTEX_REG,
	M_PIPE,
	M_EVENTFD,
	M_CONDVAR,
};

/* Which gwake backend a gwake variant drives (iarg bits 24..). */
enum gwb {
	B_USER,
	B_KMOD,
};

struct pair {
	enum mech mech;
	/* M_GWAKE*: the backend's ops, already initialised. */
	const struct gwi_backend *b;
	int cpu;		/* -1: unpinned */
	/*
	 * The CPU each side's waker ran on when it last woke that side:
	 * written before the wake, read after the wait returns, ordered by
	 * each mechanism's own release/acquire (relaxed is enough).
	 */
	_Alignas(64) atomic_int waker_cpu[2];
	atomic_int stop;
	/* M_FUTEX*: one word per side; 0 idle, 1 permit, 2 asleep. */
	_Alignas(64) atomic_uint word[2];
	_Alignas(64) gwake_t h[2];
	int fd[2][2];		/* M_PIPE: [side][read, write]; M_EVENTFD: [side][0] */
	pthread_mutex_t mu;
	pthread_cond_t cond[2];
	int flag[2];
	pthread_barrier_t *start;
	int64_t slice_ns;
	double ns_per_rt;
	const char *err;
};

static void check_io(ssize_t n, size_t want, const char *what)
{
	if (n != (ssize_t)want)
		bench_die("handoff: %s: %s", what,
			  n < 0 ? strerror(errno) : "short transfer");
}

static void signal_peer(struct pair *p, int to)
{
	uint64_t one = 1;
	char c = 0;
	int ret;

	atomic_store_explicit(&p->waker_cpu[to], sched_getcpu(),
			      memory_order_relaxed);
	switch (p->mech) {
	case M_GWAKE:
	case M_GWAKE_SWAP:
	case M_GWAKE_SWAP_HERE:
		ret = p->b->wake(p->h[to]);
		if (ret < 0)
			bench_die("gwake_wake: %s", strerror(-ret));
		break;
	case M_FUTEX:
	case M_FUTEX_SPIN:
	case M_FUTEX_REG:
		bench_word_signal(&p->word[to]);
		break;
	case M_PIPE:
		check_io(write(p->fd[to][1], &c, 1), 1, "pipe write");
		break;
	case M_EVENTFD:
		check_io(write(p->fd[to][0], &one, 8), 8, "eventfd write");
		break;
	case M_CONDVAR:
		pthread_mutex_lock(&p->mu);
		p->flag[to] = 1;
		pthread_cond_signal(&p->cond[to]);
		pthread_mutex_unlock(&p->mu);
		break;
	}
}

/* Per thread: hand-offs seen, and on the waker's CPU; flushed at exit. */
static __thread uint64_t t_wakes, t_same;

static void woken(struct pair *p, int me)
{
	t_wakes++;
	t_same += sched_getcpu() == atomic_load_explicit(&p->waker_cpu[me],
							  memory_order_relaxed);
}

static void flush_wakes(void)
{
	atomic_fetch_add_explicit(&bench_tally.wakes, t_wakes,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&bench_tally.wakes_same_cpu, t_same,
				  memory_order_relaxed);
	t_wakes = t_same = 0;
}

static void wait_self(struct pair *p, int me)
{
	uint64_t cnt;
	char c;
	int ret;

	switch (p->mech) {
	case M_GWAKE:
	case M_GWAKE_SWAP:
	case M_GWAKE_SWAP_HERE:
		ret = p->b->block(-1);
		if (ret < 0)
			bench_die("gwake_block: %s", strerror(-ret));
		break;
	case M_FUTEX:
	case M_FUTEX_REG:
		bench_word_wait(&p->word[me], 0);
		break;
	case M_FUTEX_SPIN:
		bench_word_wait(&p->word[me], SPIN_PAUSES);
		break;
	case M_PIPE:
		check_io(read(p->fd[me][0], &c, 1), 1, "pipe read");
		break;
	case M_EVENTFD:
		check_io(read(p->fd[me][0], &cnt, 8), 8, "eventfd read");
		break;
	case M_CONDVAR:
		pthread_mutex_lock(&p->mu);
		while (!p->flag[me])
			pthread_cond_wait(&p->cond[me], &p->mu);
		p->flag[me] = 0;
		pthread_mutex_unlock(&p->mu);
		break;
	}
	woken(p, me);
}

/* Wake the peer, then wait for our own wake. */
static void handoff(struct pair *p, int to, int me)
{
	int ret;

	if (p->mech == M_GWAKE_SWAP || p->mech == M_GWAKE_SWAP_HERE) {
		atomic_store_explicit(&p->waker_cpu[to], sched_getcpu(),
				      memory_order_relaxed);
		ret = p->b->swap(p->h[to], -1, p->mech == M_GWAKE_SWAP_HERE);
		if (ret < 0)
			bench_die("gwake_swap: %s", strerror(-ret));
		woken(p, me);
		return;
	}
	signal_peer(p, to);
	wait_self(p, me);
}

static void thread_start(struct pair *p, int side)
{
	int ret;

	if (p->cpu >= 0 && bench_pin(p->cpu))
		bench_die("handoff: cannot pin to CPU %d", p->cpu);
	/* M_FUTEX_REG: registered, so that the notifiers run; unused. */
	if (p->b) {
		ret = p->b->self(&p->h[side]);
		if (ret < 0)
			bench_die("gwake_self: %s", strerror(-ret));
	}
	/* Both handles are published before anyone uses them. */
	pthread_barrier_wait(p->start);
}

/* Registrations end with the variant, not with the process. */
static void thread_end(struct pair *p)
{
	if (p->b)
		p->b->unregister();
}

static void ping_op(void *ctx, uint64_t n)
{
	struct pair *p = ctx;

	while (n--)
		handoff(p, 1, 0);
}

static void *pinger(void *arg)
{
	struct pair *p = arg;

	thread_start(p, 0);
	p->ns_per_rt = bench_timed(ping_op, p, p->slice_ns);
	atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
	signal_peer(p, 1);
	flush_wakes();
	thread_end(p);
	return NULL;
}

static void *ponger(void *arg)
{
	struct pair *p = arg;

	thread_start(p, 1);
	wait_self(p, 1);
	/* stop is written before the last wake, which orders it. */
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed))
		handoff(p, 0, 1);
	flush_wakes();
	thread_end(p);
	return NULL;
}

static void pair_init(struct pair *p, enum mech m,
		      const struct gwi_backend *b, int cpu,
		      pthread_barrier_t *start)
{
	int s;

	memset(p, 0, sizeof(*p));
	p->mech = m;
	p->b = b;
	p->cpu = cpu;
	p->start = start;
	p->slice_ns = bench_opts.slice_ns;
	for (s = 0; s < 2; s++) {
		if (m == M_PIPE && pipe(p->fd[s]))
			bench_die("pipe: %s", strerror(errno));
		if (m == M_EVENTFD && (p->fd[s][0] = eventfd(0, 0)) < 0)
			bench_die("eventfd: %s", strerror(errno));
		pthread_cond_init(&p->cond[s], NULL);
	}
	pthread_mutex_init(&p->mu, NULL);
}

static void pair_fini(struct pair *p)
{
	int s;

	for (s = 0; s < 2; s++) {
		if (p->mech == M_PIPE) {
			close(p->fd[s][0]);
			close(p->fd[s][1]);
		}
		if (p->mech == M_EVENTFD)
			close(p->fd[s][0]);
		pthread_cond_destroy(&p->cond[s]);
	}
	pthread_mutex_destroy(&p->mu);
}

/* iarg: mechanism | pairs << 8 | pinned << 16 | backend << 24 */
static double run_handoff(const struct bench_variant *v, const char **why)
{
	enum mech m = (enum mech)(v->iarg & 0xff);
	enum gwb bk = (enum gwb)((v->iarg >> 24) & 0xff);
	const struct gwi_backend *b = NULL;
	int npairs = (int)((v->iarg >> 8) & 0xff);
	bool pinned = (v->iarg >> 16) & 1;
	static struct pair pairs[MAX_PAIRS];
	pthread_t t[2 * MAX_PAIRS];
	pthread_barrier_t start;
	int i, ncpu = bench_ncpus();
	double sum = 0;

	if (m == M_GWAKE || m == M_GWAKE_SWAP || m == M_GWAKE_SWAP_HERE ||
	    m == M_FUTEX_REG) {
		b = bk == B_KMOD ? &gwi_kmod_backend : &gwi_user_backend;
		if (gwi_backend_init(b)) {
			*why = bk == B_KMOD ?
			       "no usable /dev/gwake (gwake.ko not loaded)" :
			       "the user backend failed to initialise";
			return -1;
		}
	}
	pthread_barrier_init(&start, NULL, 2 * npairs);
	for (i = 0; i < npairs; i++) {
		pair_init(&pairs[i], m, b, pinned ? i % ncpu : -1, &start);
		bench_thread(&t[2 * i], pinger, &pairs[i]);
		bench_thread(&t[2 * i + 1], ponger, &pairs[i]);
	}
	for (i = 0; i < 2 * npairs; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < npairs; i++) {
		sum += pairs[i].ns_per_rt;
		pair_fini(&pairs[i]);
	}
	pthread_barrier_destroy(&start);
	return sum / npairs;
}

static const struct {
	enum mech m;
	enum gwb b;
	const char *name;
} mechs[] = {
	{ M_FUTEX, 0, "futex wake+wait" },
	{ M_FUTEX_SPIN, 0, "spinning futex" },
	{ M_PIPE, 0, "pipe" },
	{ M_EVENTFD, 0, "eventfd" },
	{ M_CONDVAR, 0, "pthread condvar" },
	{ M_GWAKE, B_USER, "gwake wake+block, user" },
	{ M_GWAKE_SWAP, B_USER, "gwake swap, user" },
	{ M_GWAKE, B_KMOD, "gwake wake+block, kmod" },
	{ M_GWAKE_SWAP, B_KMOD, "gwake swap, kmod" },
	{ M_GWAKE_SWAP_HERE, B_KMOD, "gwake swap here, kmod" },
	{ M_FUTEX_REG, B_KMOD, "futex, registered (kmod)" },
};

void bench_register_handoff(void)
{
	static const struct {
		const char *id, *title;
		int pairs;
		bool pinned;
	} cfg[] = {
		{ "handoff/1pair/unpinned",
		  "ping-pong between 2 threads, unpinned", 1, false },
		{ "handoff/1pair/pinned",
		  "ping-pong between 2 threads, both pinned to one CPU", 1, true },
		{ "handoff/3pairs/unpinned",
		  "3 pairs ping-pong at once (6 threads), unpinned", 3, false },
		{ "handoff/3pairs/pinned",
		  "3 pairs at once, pair i pinned to CPU i mod ncpus", 3, true },
	};
	size_t c, k;

	for (c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		struct bench_group g = {
			.id = cfg[c].id,
			.title = cfg[c].title,
			.unit = "ns per round trip per pair",
			.baseline = 0,
			.unit_ns = 1,
			.waker_cpu = true,
		};

		for (k = 0; k < sizeof(mechs) / sizeof(mechs[0]); k++) {
			/* The notifiers' cost: where every hand-off switches. */
			if (mechs[k].m == M_FUTEX_REG && !cfg[c].pinned)
				continue;
			g.v[g.nv++] = (struct bench_variant){
				.name = mechs[k].name,
				.run = run_handoff,
				.iarg = mechs[k].m | cfg[c].pairs << 8 |
					cfg[c].pinned << 16 |
					(long)mechs[k].b << 24,
			};
		}
		bench_add_group(&g);
	}
}
