// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgwake: the "user" backend, a wake word per thread in userspace.
 *
 * Each registered thread owns one slot (slots.h) whose 32-bit word is
 * generation:30 | state:2 and doubles as its futex word. The states and
 * who moves between them:
 *
 *	            wake (CAS, release)
 *	   IDLE  --------------------------->  PERMIT
 *	    |  ^ <---------------------------   ^
 *	    |  |  block consumes (XCHG, acquire)|
 *	    |  |                                | wake (CAS, release)
 *	    |  +-- signal/timeout (CAS) --+     |    + FUTEX_WAKE
 *	    v                             |     |
 *	   SLEEPING ----------------------+-----+
 *	   (owner's CAS after its spin)
 *
 * Only the owner moves the word out of PERMIT (to IDLE, by consuming) and
 * out of SLEEPING other than to PERMIT; wakers only ever produce PERMIT.
 *
 * gwake_wake (any thread): one compare-and-exchange from IDLE, PERMIT or
 * SLEEPING of the handle's generation to PERMIT of that generation. From
 * SLEEPING it then calls FUTEX_WAKE and returns 1; otherwise it makes no
 * system call and returns 0, also for a target still spinning in
 * gwake_block() (it takes the permit without ever having been asleep).
 * A PERMIT is rewritten as PERMIT rather than left alone so that every
 * wake, not only the first, is a release the consumer synchronises with.
 * Lock-free and async-signal-safe: it may be called from a signal handler
 * once the backend is chosen.
 *
 * gwake_block (the owner):
 *  1. A PERMIT is consumed at once (PERMIT -> IDLE) and 0 returned.
 *  2. Otherwise it spins for an adaptive number of pause iterations
 *     (spin.h) watching for PERMIT, with plain loads: no cache-line
 *     ping-pong with the waker. The spin never outlasts the timeout, and
 *     a deadline that passed during it returns -ETIMEDOUT from IDLE (or
 *     consumes a PERMIT that just arrived) without a system call.
 *  3. Then IDLE -> SLEEPING by CAS. If that fails a wake arrived: consume.
 *  4. FUTEX_WAIT on the SLEEPING word with the absolute deadline, in a
 *     loop. After every return: PERMIT means woken (consume, return 0).
 *     A word still SLEEPING after a return of 0 is a spurious wakeup
 *     (including a late FUTEX_WAKE meant for a previous owner of the slot):
 *     wait again. After EINTR (a signal handler ran) or ETIMEDOUT the
 *     owner moves SLEEPING -> IDLE by CAS and returns the error; if that
 *     CAS fails, a wake got in first, and the owner consumes it and
 *     returns 0 instead, so the wake is delivered rather than lost.
 *
 * Why no wakeup is lost: all updates of a word are atomic RMWs (or the
 * owner's stores while the slot is FREE), so they are totally ordered, and
 * a wake's CAS sees exactly one of three states. IDLE: it leaves PERMIT,
 * which the owner's next step 1, spin, step-3 CAS (which then fails) or
 * step-4 check finds. PERMIT: a permit is already pending and will be
 * consumed; permits do not accumulate. SLEEPING: the owner is in, or about
 * to enter, FUTEX_WAIT on the SLEEPING value; the kernel guarantees that a
 * FUTEX_WAIT either sees the word changed by a write made before the
 * FUTEX_WAKE call (and returns EAGAIN) or is woken by it. Either way the
 * owner reads PERMIT next. The owner never sleeps on any value but
 * SLEEPING, and nothing but its own CAS (step 4 exit) leaves SLEEPING
 * without producing PERMIT.
 *
 * Memory ordering: a wake is a release RMW producing PERMIT; the consume
 * is an acquire RMW reading PERMIT. An RMW reads the latest value in the
 * word's modification order, and the wakes between the consume and the
 * previous one are RMWs too, so they all belong to one release sequence:
 * the consume synchronises with every wake that preceded it, and anything
 * a waker wrote before gwake_wake() is visible after gwake_block() returns
 * 0. The other transitions (IDLE <-> SLEEPING) carry no data and are
 * relaxed; the futex calls order themselves (kernel barriers).
 *
 * Stale handles: the CAS names the handle's generation, so it cannot
 * succeed on a slot that was freed (FREE) or reused (newer generation);
 * such a wake returns -ESRCH and leaves nothing behind. Slots are never
 * unmapped, so the lookup and the CAS are always safe. The only trace a
 * late waker can leave on a reused slot is a FUTEX_WAKE issued after its
 * CAS succeeded on the old generation; the new owner treats it as the
 * spurious wakeup it is (step 4).
 *
 * Thread exit and fork: a pthread key destructor frees the slot of an
 * exiting thread; a fork child frees every slot (slots.c) and forgets the
 * forking thread's registration, so the child starts with none.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "deadline.h"
#include "futex.h"
#include "slots.h"
#include "spin.h"

/* The calling thread's registration; only the thread itself uses it. */
struct user_self {
	struct gwi_slot *slot;	/* NULL while unregistered */
	gwake_t handle;
	uint32_t gen;
	struct gwi_spin spin;
};

static GWI_TLS struct user_self uself;

/* Its destructor frees the slot of an exiting thread. */
static pthread_key_t exit_key;

static void user_thread_exit(void *unused)
{
	(void)unused;
	if (uself.slot) {
		gwi_slot_free(uself.handle);
		uself.slot = NULL;
		uself.handle = 0;
	}
}

static int user_register(void)
{
	struct gwi_slot *slot;
	gwake_t h;
	int r;

	r = gwi_slot_alloc(&slot, &h);
	if (r)
		return r;
	/*
	 * Any non-NULL value arms the destructor. Set on each registration:
	 * pthread clears it before calling the destructor, and a thread that
	 * registers again during its exit (another key's destructor calling
	 * us) must be freed again.
	 */
	if (pthread_setspecific(exit_key, &uself)) {
		gwi_slot_free(h);
		return -ENOMEM;
	}
	uself.slot = slot;
	uself.handle = h;
	uself.gen = (uint32_t)(h >> 32);
	gwi_spin_init(&uself.spin);
	return 0;
}

static int user_self(gwake_t *out)
{
	if (gwi_unlikely(!uself.slot)) {
		int r = user_register();

		if (r)
			return r;
	}
	*out = uself.handle;
	return 0;
}

/*
 * PERMIT -> IDLE, the acquire that pairs with the wakers' release. An
 * exchange rather than a store because wakers may rewrite PERMIT
 * concurrently (their CAS then fails and retries on IDLE, leaving a fresh
 * permit: that wake came after this block), and an RMW reads the latest
 * of their writes.
 */
static inline int consume(_Atomic uint32_t *word, uint32_t idle)
{
	atomic_exchange_explicit(word, idle, memory_order_acquire);
	return 0;
}

/*
 * After a FUTEX_WAIT that ended with our permit: how long since the waker
 * decided to wake us (spin.h). The stamp was stored before the waker's
 * CAS, which our consume synchronised with; if several wakers raced, any
 * of their stamps is a fair sample.
 */
static void wakeup_sample(struct gwi_slot *slot)
{
	uint32_t t = atomic_load_explicit(&slot->wake_ns, memory_order_relaxed);

	gwi_spin_sample_wakeup((uint32_t)gwi_now_ns() - t);
}

/*
 * Can the thread behind @partner wake us while we spin? Not if it is
 * asleep in its wake word (somebody must wake it first), and not if it
 * was last seen on our own CPU: then our spin is what keeps it from
 * running. That is what this backend can know; whether it runs or waits
 * for a CPU elsewhere, only the kernel does (the kmod backend asks it).
 * Two threads that hand work back and forth through futexes tend to end
 * up on one CPU (the scheduler places a wakee near its waker), and
 * spinning there would only delay the partner.
 */
static bool partner_can_run(gwake_t partner, uint32_t mycpu)
{
	struct gwi_slot *slot;
	uint32_t gen;

	slot = gwi_slot_lookup(partner, &gen);
	if (!slot)
		return false;
	if (atomic_load_explicit(&slot->word, memory_order_relaxed) ==
	    gwi_word(gen, GWI_SLEEPING))
		return false;
	return atomic_load_explicit(&slot->cpu, memory_order_relaxed) != mycpu;
}

static uint32_t cur_cpu(void)
{
	int c = sched_getcpu();

	return c < 0 ? 0 : (uint32_t)c + 1;
}

/*
 * Pauses between looks at the clock while spinning: a look that finds far
 * more time gone than the pauses take means this thread was preempted
 * meanwhile (something else wants the CPU), and the spin stops. Rare
 * enough that the clock (a system call in some VMs) costs little.
 */
#define SPIN_CLOCK_EVERY	256u

/* partner: as gwake_block_for(), 0 for none; spin: false never spins. */
static int user_wait(gwake_t partner, int64_t timeout_ns, bool spin)
{
	uint32_t idle, permit, sleeping, w, n, i, mycpu;
	struct timespec ts, *deadline = NULL;
	_Atomic uint32_t *word;
	uint64_t abs_ns = 0, t, t0;
	int r;

	if (gwi_unlikely(!uself.slot)) {
		r = user_register();
		if (r)
			return r;
	}
	word = &uself.slot->word;
	idle = gwi_word(uself.gen, GWI_IDLE);
	permit = gwi_word(uself.gen, GWI_PERMIT);
	sleeping = gwi_word(uself.gen, GWI_SLEEPING);

	/* 1. A pending permit. The word is IDLE or PERMIT here. */
	if (atomic_load_explicit(word, memory_order_relaxed) == permit)
		return consume(word, idle);
	if (!timeout_ns)
		return -ETIMEDOUT;
	/* The deadline counts from entry, spin included. */
	if (gwi_deadline_ns(timeout_ns, &abs_ns)) {
		ts = gwi_ns_to_timespec(abs_ns);
		deadline = &ts;
	}

	/*
	 * 2. Spin, adaptively, but never past the timeout. A spin the
	 * timeout cut short that failed still counts as a failure: a thread
	 * that polls with timeouts shorter than its budget (a ticking
	 * thread; the runtime's monitor no longer spins at all,
	 * gwi_block_idle()) must learn to sleep, not spin every tick. A
	 * block without the spin (spin false) leaves the budget as it is.
	 * With a partner: for the whole limit while it can run and wake us
	 * (partner_can_run(): awake, on another CPU; the budget, learnt from
	 * waits on anyone, is not the question then), not at all otherwise,
	 * and no longer once it cannot. Either way, no longer once the clock
	 * says we were preempted.
	 */
	mycpu = cur_cpu();
	atomic_store_explicit(&uself.slot->cpu, mycpu, memory_order_relaxed);
	if (!spin)
		n = 0;
	else if (!partner)
		n = gwi_spin_begin(&uself.spin);
	else
		n = partner_can_run(partner, mycpu) ? gwi_spin_max() : 0;
	if (deadline)
		n = gwi_spin_clamp(n, (uint64_t)timeout_ns);
	t = n ? gwi_now_ns() : 0;
	for (i = 1; i <= n; i++) {
		gwi_cpu_relax();
		if (atomic_load_explicit(word, memory_order_relaxed) == permit) {
			gwi_spin_won(&uself.spin, i);
			return consume(word, idle);
		}
		if (i % SPIN_CLOCK_EVERY)
			continue;
		if (partner && !partner_can_run(partner, mycpu))
			break;
		t0 = t;
		t = gwi_now_ns();
		/* Ten times what the pauses take, and 20 us: a preemption. */
		if (t - t0 > 10 * (uint64_t)SPIN_CLOCK_EVERY * gwi_pause_ps / 1000 + 20000)
			break;
	}
	if (n)
		gwi_spin_lost(&uself.spin);

	/*
	 * A deadline that passed while we spun: FUTEX_WAIT would add the
	 * timer slack (50 us by default) before reporting it.
	 */
	if (deadline && gwi_now_ns() >= abs_ns) {
		if (atomic_load_explicit(word, memory_order_relaxed) == permit)
			return consume(word, idle);
		return -ETIMEDOUT;
	}

	/* 3. Announce the sleep; a failed CAS means a wake got in. */
	w = idle;
	if (!atomic_compare_exchange_strong_explicit(word, &w, sleeping,
						     memory_order_relaxed,
						     memory_order_relaxed))
		return consume(word, idle);

	/* 4. Sleep until the word leaves SLEEPING. */
	for (;;) {
		r = gwi_futex_wait(word, sleeping, deadline);
		if (atomic_load_explicit(word, memory_order_relaxed) == permit) {
			consume(word, idle);
			if (!r)		/* slept and was woken: sample L */
				wakeup_sample(uself.slot);
			return 0;
		}
		if (r == 0 || r == -EAGAIN)
			continue;	/* spurious: still SLEEPING */
		/*
		 * -EINTR, -ETIMEDOUT, or anything unexpected (say -ENOSYS
		 * under a seccomp filter): never loop on it, report it.
		 */
		w = sleeping;
		if (atomic_compare_exchange_strong_explicit(word, &w, idle,
							    memory_order_relaxed,
							    memory_order_relaxed))
			return r;
		return consume(word, idle);
	}
}

static int user_block_for(gwake_t partner, int64_t timeout_ns)
{
	return user_wait(partner, timeout_ns, true);
}

static int user_block(int64_t timeout_ns)
{
	return user_wait(0, timeout_ns, true);
}

static int user_block_idle(int64_t timeout_ns)
{
	return user_wait(0, timeout_ns, false);
}

static int user_wake(gwake_t h)
{
	struct gwi_slot *slot;
	uint32_t gen, w, stamp = 0;

	slot = gwi_slot_lookup(h, &gen);
	if (!slot)
		return -ESRCH;
	w = atomic_load_explicit(&slot->word, memory_order_relaxed);
	do {
		if (gwi_word_gen(w) != gen || gwi_word_state(w) == GWI_FREE)
			return -ESRCH;
		/*
		 * About to wake a sleeper: stamp the slot for the owner's
		 * latency sample. If the CAS fails, or the slot is no longer
		 * the handle's, the stamp is only a stale hint.
		 */
		if (gwi_word_state(w) == GWI_SLEEPING) {
			stamp = (uint32_t)gwi_now_ns();
			atomic_store_explicit(&slot->wake_ns, stamp,
					      memory_order_relaxed);
		}
	} while (!atomic_compare_exchange_weak_explicit(&slot->word, &w,
							gwi_word(gen, GWI_PERMIT),
							memory_order_release,
							memory_order_relaxed));
	if (gwi_word_state(w) != GWI_SLEEPING)
		return 0;
	/*
	 * The owner may already be awake (spuriously, or timing out and
	 * about to find our PERMIT): then this wakes nobody, or at worst the
	 * next owner of the slot, who sleeps again. Either is harmless.
	 */
	gwi_futex_wake(&slot->word);
	gwi_spin_sample_futex_wake((uint32_t)gwi_now_ns() - stamp);
	return 1;
}

/* @here: nothing to do without the module (gwake_swap_here()). */
static int user_swap(gwake_t h, int64_t timeout_ns, bool here)
{
	(void)here;
	int r;

	/* Register first: a failure must not have woken anybody. */
	if (gwi_unlikely(!uself.slot)) {
		r = user_register();
		if (r)
			return r;
	}
	r = user_wake(h);
	if (r < 0)
		return r;
	return user_block_for(h, timeout_ns);
}

/*
 * There is no system call that wakes several futex words, so each sleeper
 * costs its own FUTEX_WAKE; targets that are awake cost none.
 */
static int user_wake_many(const gwake_t *hs, size_t n)
{
	int woken = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (user_wake(hs[i]) == 1)
			woken++;
	return woken;
}

static int user_unregister(void)
{
	if (!uself.slot)
		return -ENOENT;
	gwi_slot_free(uself.handle);
	uself.slot = NULL;
	uself.handle = 0;
	return 0;
}

/* Asleep in the wake word, or we cannot tell. */
static int user_sched_state(gwake_t h)
{
	struct gwi_slot *slot;
	uint32_t gen, w;

	slot = gwi_slot_lookup(h, &gen);
	if (!slot)
		return -ESRCH;
	w = atomic_load_explicit(&slot->word, memory_order_relaxed);
	if (gwi_word_gen(w) != gen || gwi_word_state(w) == GWI_FREE)
		return -ESRCH;
	return gwi_word_state(w) == GWI_SLEEPING ? GWAKE_STATE_BLOCKED :
						   GWAKE_STATE_UNKNOWN;
}

/*
 * Nothing in userspace sees a thread block in the kernel: the monitor of a
 * runtime polls instead (lib/rt/sysmon.c).
 */
static int user_notify(gwake_t h, int64_t threshold_ns)
{
	(void)h;
	(void)threshold_ns;
	return -EOPNOTSUPP;
}

static void user_fork_prepare(void)
{
	gwi_slots_fork_prepare();
}

static void user_fork_parent(void)
{
	gwi_slots_fork_parent();
}

static void user_fork_child(void)
{
	gwi_slots_fork_child();
	uself.slot = NULL;
	uself.handle = 0;
}

static int user_init(void)
{
	if (pthread_key_create(&exit_key, user_thread_exit))
		return -EAGAIN;
	if (pthread_atfork(user_fork_prepare, user_fork_parent,
			   user_fork_child)) {
		pthread_key_delete(exit_key);
		return -ENOMEM;
	}
	gwi_slots_init();
	gwi_spin_calibrate();
	return 0;
}

const struct gwi_backend gwi_user_backend = {
	.name		= "user",
	.init		= user_init,
	.self		= user_self,
	.block		= user_block,
	.block_for	= user_block_for,
	.block_idle	= user_block_idle,
	.wake		= user_wake,
	.swap		= user_swap,
	.wake_many	= user_wake_many,
	.unregister	= user_unregister,
	.sched_state	= user_sched_state,
	.notify		= user_notify,
};
