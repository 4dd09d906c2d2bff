// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Run queues: where runnable Gs wait for an M with a P, in the order
 * an M looks (runqget(), and every 61st round the global queue first):
 *
 *  - p->runnext: the G to run next on that P. A readied G goes there (it
 *    inherits the rest of the time slice of the G that readied it: a
 *    producer/consumer pair ping-pongs without touching the queue).
 *  - p->lifo: spawned-but-never-started Gs displaced from runnext by a
 *    newer spawn, newest first. This is the one departure from Go: with
 *    Go's FIFO order a spawn tree (skynet) runs breadth first and starts
 *    about 10^5 Gs that each hold a stack -- two VMAs each, far past the
 *    default vm.max_map_count. Newest-first runs it depth first (Cilk's
 *    work-first order); thieves take the oldest (largest subtrees).
 *    Started Gs never go there, so waiting and yielding Gs keep FIFO.
 *  - p->runq: Go's bounded lock-free ring (owner enqueues at the tail,
 *    owner and thieves take from the head with a CAS). Overflow moves half
 *    of it to the global queue.
 *  - the global queue: liburcu's wfcqueue (wait-free enqueue from any
 *    thread, dequeue under gqlock). Fed by overflow, preemption, Gs coming
 *    back from a system call with no P, and Gs readied by threads without
 *    a P. Checked every 61st scheduling round so it cannot starve.
 *
 * Ownership: a P's ring tail, and the slots past it, are written by the
 * P's owner only (the M holding it: "owner only" below); the ring head
 * and runnext are taken with a CAS by the owner and by thieves; the LIFO
 * is under its own spinlock. The global queue is wait-free to enqueue
 * from any thread and dequeued under S.gqlock. Nothing here parks or
 * wakes an M: the callers do (wakep(), proc.c).
 *
 * The fast paths (get, put at the tail, the LIFO pop, emptiness) are inline
 * in runq.h: the scheduler runs them on every G switch.
 *
 * White-box tests: selftests/rt_runq_test.c drives these on Ps and Gs of
 * its own, as Go's export_test.go exports runqput/runqget/runqsteal.
 */
#include <sched.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "runq.h"

#define S grt__sched

/*
 * The global queue, empty. Called by grt_run() with S zeroed, before any
 * M exists (and by the white-box tests).
 */
void grt__runq_init(void)
{
	pthread_mutex_init(&S.gqlock, NULL);
	__cds_wfcq_init(&S.gqhead, &S.gqtail);
}

/* ---- The global run queue ---------------------------------------------- */


/*
 * Any thread, no lock. The enqueue is an xchg: a full barrier, which the
 * callers' following wakep() relies on (see the essay above).
 */
void grt__globrunqput(struct grt_g *gp)
{
	cds_wfcq_node_init(&gp->gqnode);
	cds_wfcq_enqueue(&S.gqhead, &S.gqtail, &gp->gqnode);
	atomic_fetch_add_explicit(&S.gqsize, 1, memory_order_relaxed);
}

/*
 * Take a batch from the global queue: one G to return, up to max-1 more
 * (0: a fair share) onto p's local queue. p is owned by the caller.
 */
struct grt_g *grt__globrunqget(struct grt_p *p, uint32_t max)
{
	struct cds_wfcq_node *node;
	struct grt_g *first = NULL;
	uint32_t n, size, i;

	if (grt__gq_empty())
		return NULL;
	size = atomic_load_explicit(&S.gqsize, memory_order_relaxed);
	n = size / S.nprocs + 1;
	if (n > size)
		n = size;
	if (max && n > max)
		n = max;
	if (n > GRT_RUNQ_SIZE / 2)
		n = GRT_RUNQ_SIZE / 2;
	if (!n)
		n = 1;
	pthread_mutex_lock(&S.gqlock);
	for (i = 0; i < n; i++) {
		node = __cds_wfcq_dequeue_blocking(&S.gqhead, &S.gqtail);
		if (!node)
			break;
		atomic_fetch_sub_explicit(&S.gqsize, 1, memory_order_relaxed);
		struct grt_g *gp = caa_container_of(node, struct grt_g,
						    gqnode);
		if (!first)
			first = gp;
		else
			grt__runqput_tail(p, gp);
	}
	pthread_mutex_unlock(&S.gqlock);
	return first;
}

/* ---- Local run queues --------------------------------------------------- */



static bool lifo_push(struct grt_p *p, struct grt_g *gp)
{
	bool ok = false;
	uint32_t n;

	grt__lifo_lock(p);
	n = atomic_load_explicit(&p->nlifo, memory_order_relaxed);
	if (n < GRT_LIFO_SIZE) {
		p->lifo[n] = gp;
		atomic_store_explicit(&p->nlifo, n + 1, memory_order_relaxed);
		ok = true;
	}
	grt__lifo_unlock(p);
	return ok;
}


/* Steal the older half of p2's LIFO into out[]. Returns the count. */
static uint32_t lifo_steal(struct grt_p *p2, struct grt_g **out, uint32_t max)
{
	uint32_t n, k, i;

	if (!atomic_load_explicit(&p2->nlifo, memory_order_relaxed))
		return 0;
	grt__lifo_lock(p2);
	n = atomic_load_explicit(&p2->nlifo, memory_order_relaxed);
	k = n - n / 2;
	if (k > max)
		k = max;
	for (i = 0; i < k; i++)
		out[i] = p2->lifo[i];
	memmove(p2->lifo, p2->lifo + k, (n - k) * sizeof(p2->lifo[0]));
	atomic_store_explicit(&p2->nlifo, n - k, memory_order_relaxed);
	grt__lifo_unlock(p2);
	return k;
}

/*
 * Overflow: move half of the ring plus gp to the global queue. Owner only.
 * Returns false if a thief raced us (the ring has room again).
 */
bool grt__runqputslow(struct grt_p *p, struct grt_g *gp, uint32_t h,
		       uint32_t t)
{
	struct grt_g *batch[GRT_RUNQ_SIZE / 2 + 1];
	uint32_t n = (t - h) / 2, i;

	for (i = 0; i < n; i++)
		batch[i] = atomic_load_explicit(&p->runq[(h + i) % GRT_RUNQ_SIZE],
						memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(&p->runqhead, &h, h + n,
						     memory_order_acq_rel,
						     memory_order_relaxed))
		return false;
	batch[n++] = gp;
	for (i = 0; i < n; i++)
		grt__globrunqput(batch[i]);
	return true;
}


/*
 * Owner only. next: gp goes to runnext; the G it displaces goes to the
 * LIFO if it never ran, else to the tail of the ring.
 */
void grt__runqput(struct grt_p *p, struct grt_g *gp, bool next)
{
	if (next) {
		/*
		 * With one P there is no thief: the owner is the only one
		 * that touches runnext, and plain accesses do what the
		 * locked exchange does, without its cost. With more, the
		 * exchange also is the full barrier between this put and
		 * the callers' wakep() (a spinner going idle re-checks
		 * runnext after its own barrier; see the essay in proc.c).
		 */
		if (S.nprocs == 1) {
			struct grt_g *old = atomic_load_explicit(
				&p->runnext, memory_order_relaxed);

			atomic_store_explicit(&p->runnext, gp,
					      memory_order_relaxed);
			gp = old;
		} else {
			gp = atomic_exchange_explicit(&p->runnext, gp,
						      memory_order_acq_rel);
		}
		if (!gp)
			return;
		if (!gp->started && lifo_push(p, gp))
			return;
	}
	grt__runqput_tail(p, gp);
}



/*
 * Should a thief that found only p2's runnext give p2's owner a moment to
 * run it first? Go sleeps 3 us there, and so do we, which the default
 * timer slack of 50 us makes 50-60 us. A sleep, not a spin: the thief
 * gets off its CPU and stops reading p2's lines, which the owner writes
 * on every hand-off. The case is a
 * G that readies its peer and blocks at once, a channel ping-pong: the
 * owner runs the peer a few hundred nanoseconds later with warm caches,
 * and a steal moves the pair onto two CPUs, where every hand-off is a
 * cross-CPU wake (2 Ps: 1.5x the round trip of 1 P; with the sleep, 1.0x).
 * Only for a G that ran before: a spawned one (started false) is new work
 * that another P should take now (skynet was 10% slower otherwise). Not
 * for one readied by a non-blocking operation either (ready_busy): its
 * readier said it goes on running, and the G would wait out the whole
 * back-off (idle-wake/ready: 50 -> 95 us). A thief that checked on the
 * owner during a back-off (a pause or a short sleep, then a look at its
 * switches) cost the ping-pong a quarter of its speed: any activity of
 * the thief's CPU beside it did, only whole sleeps did not (the looks
 * between sleeps, runnext_wait(), are one per sleep).
 * started is read as the diagnostics read it (relaxed; stale at worst).
 */
#define GRT_STEAL_NEXT_NS	3000

static bool runnext_backoff(struct grt_p *p2, struct grt_g *next)
{
	return atomic_load_explicit(&p2->status, memory_order_relaxed) ==
		       GRT_PRUNNING &&
	       __atomic_load_n(&next->started, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&next->ready_busy, __ATOMIC_RELAXED);
}

#define GRT_STEAL_NEXT_ROUNDS	16
#define GRT_STEAL_NEXT_MAX_NS	(1000 * 1000)

/* Does some P's ring or LIFO hold Gs a thief takes without waiting? */
static bool stealable_now(void)
{
	uint32_t i;

	for (i = 0; i < S.nprocs; i++) {
		struct grt_p *q = S.allp[i];

		if (atomic_load_explicit(&q->runqtail, memory_order_relaxed) !=
			    atomic_load_explicit(&q->runqhead, memory_order_relaxed) ||
		    atomic_load_explicit(&q->nlifo, memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * The back-off's sleep; white-box tests replace it (runq.h). An M whose
 * blocks wake the monitor (m->watched: with the module, grt__monitor_watch())
 * sleeps on its own wake word with a timeout, which the notification
 * ignores: this sleep is no news for the monitor (the thief holds its P,
 * and is in no system call). A nanosleep() woke the monitor on every
 * back-off: in the VM, the locked channel server made 0.8 module BLOCKs a
 * call where the userspace backend made 0.4 FUTEX_WAITs, and took 1.3-1.9x
 * its time (0.25-0.3 BLOCKs with this wait). Other Ms keep
 * nanosleep(), a little cheaper than a timed FUTEX_WAIT (the unlocked
 * channel server, host: 1-3%).
 * A permit found or delivered meanwhile (a wake left for this M while it
 * ran, or one meant for a later park of it) must neither cut the sleep
 * short (the thief would judge the owner stuck after no sleep at all,
 * and steal) nor be lost: the sleep goes on until its end, and the
 * permit is put back when the back-off ends (steal_woken, this thread's
 * own).
 */
static GWI_TLS bool steal_woken;

static void steal_sleep(void)
{
	struct timespec ts = { 0, GRT_STEAL_NEXT_NS };
	int64_t end = 0, left = GRT_STEAL_NEXT_NS, now;

	if (!grt__curm()->watched) {
		nanosleep(&ts, NULL);
		return;
	}
	/* The clock only once a permit cut a wait short: one read each. */
	while (gwi_block_idle(left) == 0) {
		steal_woken = true;
		now = grt__nanotime();
		if (!end)
			end = now + GRT_STEAL_NEXT_NS;
		left = end - now;
		if (left <= 0)
			break;
	}
}

void (*grt__steal_sleep)(void) = steal_sleep;

/*
 * The back-off runs as SCHED_BATCH. A thread of that policy that wakes
 * does not preempt a thread of the default policy running on its CPU:
 * it runs when that one blocks or has used its slice. One of the default
 * policy, just back from a sleep, usually preempts. On a machine with a
 * CPU to spare the thief wakes on an idle CPU and nothing changes. With
 * one CPU-bound process beside the runtime (server/1client/corun1) every
 * sleep of the thief's, 12,000 a second, preempted the owner it waits
 * for on the same CPU: the unlocked channel server took 1,650-2,800 ns
 * per call instead of 1,250-1,400. (Not so under a sched_ext scheduler,
 * which decides for itself; nothing is lost there either.)
 *
 * Only a thread whose policy is plain SCHED_OTHER switches (not one with
 * SCHED_RESET_ON_FORK, nor one a locked G gave another policy), and it
 * switches back only if it is still SCHED_BATCH then: a change someone
 * else made meanwhile stands (one made between that look and the switch
 * back is lost; the window is a system call wide). Switching between the
 * two at the same nice value keeps the nice value, utilisation clamps
 * and slice, and needs neither CAP_SYS_NICE nor RLIMIT_NICE; a security
 * module, a seccomp filter or a sandbox may still refuse it, and then
 * no M tries again in this grt_run() (S.nobatch; GRT_DEBUG=batch=0 asks
 * for that from the start: a seccomp filter that kills on
 * sched_setscheduler, systemd's SystemCallFilter=~@resources, needs it).
 * Four system calls per back-off of up to GRT_STEAL_NEXT_ROUNDS sleeps.
 */
static bool backoff_batch(void)
{
	struct sched_param sp = { 0 };
	int policy;

	if (atomic_load_explicit(&S.nobatch, memory_order_relaxed))
		return false;
	policy = sched_getscheduler(0);
	if (policy == SCHED_OTHER && !sched_setscheduler(0, SCHED_BATCH, &sp))
		return true;
	if (policy < 0 || policy == SCHED_OTHER)
		atomic_store_explicit(&S.nobatch, true, memory_order_relaxed);
	return false;
}

static void backoff_unbatch(bool batch)
{
	struct sched_param sp = { 0 };

	if (batch && sched_getscheduler(0) == SCHED_BATCH &&
	    sched_setscheduler(0, SCHED_OTHER, &sp))
		atomic_store_explicit(&S.nobatch, true, memory_order_relaxed);
}

/*
 * The back-off, and how the thief knows it is over. It is over when p2's
 * owner did not schedule during a sleep: it is stuck in one G, and the G
 * in runnext (whichever it is now) has waited that long. While the owner
 * does schedule, it runs its own Gs, and a G in runnext now was readied
 * since we looked: a request/reply pair puts the same G there on every
 * round trip, so the steal's CAS, which compares pointers, cannot tell;
 * stealing it split the pair across the CPUs (an unlocked channel server
 * on 2 Ps: 2,500-3,300 steals per 600,000 calls). So the thief sleeps
 * again, and gives up after GRT_STEAL_NEXT_ROUNDS sleeps or 1 ms,
 * whichever comes first (on a busy CPU one sleep of the thief's may last
 * a time slice: backoff_batch()). Meanwhile it stays a spinning M, so
 * the pair's readies wake nobody; returning at once made the thief park,
 * and every ready woke it again (3 to 8 times the futex wake-ups in a
 * 2-P ping-pong, 1-15% slower).
 * Anything else comes first: a timer due on p, Gs on the global queue, a
 * locked G's M waiting for a P, the runtime stopping, and Gs on any P's
 * ring or LIFO, which it can take without waiting (a spawn tree left a
 * thief asleep here while the owner spawned what it could have stolen).
 * @p: the thief's P (owner only). Returns whether to steal.
 * p2->m and the owner's nsched are hints (relaxed; a changed M counts as
 * progress made).
 */
static bool runnext_wait(struct grt_p *p2, struct grt_p *p)
{
	struct grt_m *om = __atomic_load_n(&p2->m, __ATOMIC_RELAXED);
	bool batch, steal = false;
	uint64_t sched;
	int64_t timer, start, now;
	int k;

	if (!om)
		return true;
	batch = backoff_batch();
	start = grt__nanotime();
	for (k = 0; k < GRT_STEAL_NEXT_ROUNDS; k++) {
		sched = atomic_load_explicit(&om->nsched, memory_order_relaxed);
		grt__steal_sleep();
		if (__atomic_load_n(&p2->m, __ATOMIC_RELAXED) == om &&
		    atomic_load_explicit(&om->nsched, memory_order_relaxed) == sched) {
			steal = true;
			break;
		}
		now = grt__nanotime();
		timer = atomic_load_explicit(&p->timer0, memory_order_relaxed);
		if (now - start >= GRT_STEAL_NEXT_MAX_NS ||
		    (timer && timer <= now) || !grt__gq_empty() ||
		    atomic_load_explicit(&S.stopping, memory_order_relaxed) ||
		    atomic_load_explicit(&S.nlockedwait, memory_order_relaxed) ||
		    stealable_now())
			break;
	}
	backoff_unbatch(batch);
	if (steal_woken) {
		steal_woken = false;
		(void)gwake_wake(grt__curm()->handle);
	}
	return steal;
}

/*
 * Grab half of p2's ring into p's ring starting at slot t (free slots:
 * only p's owner -- the caller -- writes them). Returns the count.
 */
static uint32_t runqgrab(struct grt_p *p2, struct grt_p *p, uint32_t t,
			 bool steal_next)
{
	uint32_t h2, t2, n, i;

	for (;;) {
		h2 = atomic_load_explicit(&p2->runqhead, memory_order_acquire);
		t2 = atomic_load_explicit(&p2->runqtail, memory_order_acquire);
		n = t2 - h2;
		n = n - n / 2;
		if (n == 0) {
			struct grt_g *next;

			if (!steal_next)
				return 0;
			next = atomic_load_explicit(&p2->runnext,
						    memory_order_relaxed);
			if (next && runnext_backoff(p2, next)) {
				if (!runnext_wait(p2, p))
					return 0;
				next = atomic_load_explicit(&p2->runnext,
							    memory_order_relaxed);
			}
			if (!next || !atomic_compare_exchange_strong_explicit(
					&p2->runnext, &next, NULL,
					memory_order_acquire,
					memory_order_relaxed))
				return 0;
			atomic_store_explicit(&p->runq[t % GRT_RUNQ_SIZE], next,
					      memory_order_relaxed);
			return 1;
		}
		if (n > GRT_RUNQ_SIZE / 2)
			continue;	/* inconsistent h2/t2 */
		for (i = 0; i < n; i++) {
			struct grt_g *g = atomic_load_explicit(
				&p2->runq[(h2 + i) % GRT_RUNQ_SIZE],
				memory_order_relaxed);
			atomic_store_explicit(&p->runq[(t + i) % GRT_RUNQ_SIZE],
					      g, memory_order_relaxed);
		}
		if (atomic_compare_exchange_strong_explicit(
				&p2->runqhead, &h2, h2 + n,
				memory_order_acq_rel, memory_order_relaxed))
			return n;
	}
}

/* Steal from p2 into p (owned by the caller); returns one G to run. */
struct grt_g *grt__runqsteal(struct grt_p *p, struct grt_p *p2,
			       bool steal_next)
{
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
	uint32_t h, n;
	struct grt_g *gp;

	n = runqgrab(p2, p, t, false);
	if (!n) {
		struct grt_g *batch[GRT_LIFO_SIZE];
		uint32_t i;

		n = lifo_steal(p2, batch, GRT_LIFO_SIZE);
		if (n) {
			for (i = 1; i < n; i++)
				grt__runqput_tail(p, batch[i]);
			return batch[0];
		}
		n = runqgrab(p2, p, t, steal_next);
		if (!n)
			return NULL;
	}
	n--;
	gp = atomic_load_explicit(&p->runq[(t + n) % GRT_RUNQ_SIZE],
				  memory_order_relaxed);
	if (!n)
		return gp;
	h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
	if (t - h + n >= GRT_RUNQ_SIZE)
		grt__fatal("runqsteal: run queue overflow");
	atomic_store_explicit(&p->runqtail, t + n, memory_order_release);
	return gp;
}
