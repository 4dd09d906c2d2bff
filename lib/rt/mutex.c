// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A mutex that parks Gs (API in include/gwake/rt.h). The algorithm is Go's
 * sync.Mutex; the waiters sit on a semaphore inside the mutex (sema.c).
 *
 * The state word:
 *
 *   bit 0  LOCKED    somebody holds the mutex
 *   bit 1  WOKEN     a waiter was woken (or a spinner is about to take the
 *                    mutex): unlock need not wake another one
 *   bit 2  STARVING  hand-off mode, see below
 *   bits 3..  the number of Gs waiting on the semaphore (or about to)
 *
 * Lock is one CAS from 0 to LOCKED; unlock one atomic subtraction of
 * LOCKED that finds nothing else set. Everything else is the slow path.
 *
 * Normal mode. Waiters queue FIFO, but a woken waiter does not own the
 * mutex: it competes with Gs that are arriving, which are already on a CPU
 * and usually win. The loser goes back to the head of the queue. Before
 * queueing, a G spins a few times if the mutex is held and not starving,
 * hoping the holder (running on another M) is about to release it; a
 * spinner sets WOKEN so that an unlock meanwhile does not wake a waiter.
 *
 * Starvation mode. A waiter that fails to get the mutex for more than
 * 1 ms switches it to starvation mode. Unlock then hands the mutex to the
 * waiter at the head of the queue without ever clearing ownership in a way
 * a newcomer could use: LOCKED is dropped but STARVING keeps newcomers
 * off (they neither take it nor spin; they queue at the tail), and the
 * woken waiter takes ownership by adding LOCKED itself. The mode ends when
 * the waiter that got the mutex is the last one, or waited less than 1 ms.
 *
 * Memory ordering: the fast paths are an acquire CAS and a release
 * subtraction; the slow-path CASes are acquire-release. On a hand-off, the
 * unlocker's release subtraction is followed by the semaphore release, and
 * the new owner acquires through the semaphore lock, so the previous
 * critical section happens before the next either way.
 */
#include <time.h>

#include "runq.h"
#include "sync.h"

#define M_LOCKED	1u
#define M_WOKEN		2u
#define M_STARVING	4u
#define M_WAITER_SHIFT	3
#define M_WAITER	(1u << M_WAITER_SHIFT)

/* Waiting longer than this switches the mutex to starvation mode. */
#define STARVATION_NS	1000000

/*
 * Spin at most this many rounds of SPIN_PAUSES pauses before parking (Go:
 * 4 x 30). Spinning only pays off if the holder is running on another P.
 */
#define SPIN_ROUNDS	4
#define SPIN_PAUSES	30

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Go's canSpin: only a few rounds, and only if the holder can be running
 * right now -- on another P, which exists and is not idle -- and if no G
 * waits for our own P (spinning would delay it). Never outside a G: such a
 * caller aborts if it must wait, and should do so every time, not only
 * when a spin happens to lose.
 */
static bool can_spin(int iter)
{
	struct grt_m *m;
	struct grt_p *p;

	if (iter >= SPIN_ROUNDS)
		return false;
	m = grt__curm();
	if (!m || !m->curg)
		return false;
	/* Once: the preemption signal may detach the P under us. */
	p = __atomic_load_n(&m->p, __ATOMIC_RELAXED);
	if (!p || !grt__runqempty(p))
		return false;
	return atomic_load_explicit(&grt__sched.npidle, memory_order_relaxed) +
	       atomic_load_explicit(&grt__sched.nmspinning,
				    memory_order_relaxed) + 1 <
	       grt__sched.nprocs;
}

static void spin(void)
{
	int i;

	for (i = 0; i < SPIN_PAUSES; i++)
		gwi_cpu_relax();
}

void grt_mutex_init(struct grt_mutex *m)
{
	*m = (struct grt_mutex)GRT_MUTEX_INIT;
}

bool grt_mutex_trylock(struct grt_mutex *m)
{
	uint32_t old = __atomic_load_n(&m->grt__state, __ATOMIC_RELAXED);

	/* Never jump the queue of a starving mutex. */
	if (old & (M_LOCKED | M_STARVING))
		return false;
	return __atomic_compare_exchange_n(&m->grt__state, &old,
					   old | M_LOCKED, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/*
 * Inlined into both lock entry points, as it was into grt_mutex_lock()
 * alone: out of line it would be their tail call, and the backtrace of a
 * G parked in it (grt_dump(), the deadlock report) would lose the API
 * function's frame.
 */
static inline __attribute__((always_inline)) void
mutex_lock_slow(struct grt_mutex *m, const char *reason)
{
	uint32_t old = __atomic_load_n(&m->grt__state, __ATOMIC_RELAXED);
	bool starving = false, awoke = false, lifo;
	int64_t wait_start = 0;
	int iter = 0;

	for (;;) {
		uint32_t new;

		/* Spin while held in normal mode: the holder may be close. */
		if ((old & (M_LOCKED | M_STARVING)) == M_LOCKED &&
		    can_spin(iter)) {
			/* Claim WOKEN so unlock does not wake a waiter. */
			if (!awoke && !(old & M_WOKEN) &&
			    (old >> M_WAITER_SHIFT) &&
			    __atomic_compare_exchange_n(&m->grt__state, &old,
							old | M_WOKEN, false,
							__ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
				awoke = true;
			spin();
			iter++;
			old = __atomic_load_n(&m->grt__state, __ATOMIC_RELAXED);
			continue;
		}

		new = old;
		/* Take it, unless it is being handed to the oldest waiter. */
		if (!(old & M_STARVING))
			new |= M_LOCKED;
		/* Otherwise wait for it. */
		if (old & (M_LOCKED | M_STARVING))
			new += M_WAITER;
		/* Waited too long: switch to hand-off (if still held: an
		 * unlocked mutex in starvation mode would never be handed). */
		if (starving && (old & M_LOCKED))
			new |= M_STARVING;
		if (awoke) {
			if (!(new & M_WOKEN))
				grt__fatal("grt_mutex: inconsistent state");
			new &= ~M_WOKEN;
		}
		if (!__atomic_compare_exchange_n(&m->grt__state, &old, new,
						 false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue; /* old was reloaded */

		if (!(old & (M_LOCKED | M_STARVING)))
			return; /* took it with the CAS */

		/*
		 * A waiter that was woken and lost the race goes back to the
		 * head of the line, keeping its original start time.
		 */
		lifo = wait_start != 0;
		if (!lifo)
			wait_start = now_ns();
		grt__sema_acquire(&m->grt__sema, lifo, reason);
		starving = starving || now_ns() - wait_start > STARVATION_NS;
		old = __atomic_load_n(&m->grt__state, __ATOMIC_ACQUIRE);
		if (old & M_STARVING) {
			/*
			 * Handed to us: nobody else may have set LOCKED or
			 * WOKEN, and we are still counted as a waiter.
			 */
			uint32_t delta = M_LOCKED - M_WAITER;

			if ((old & (M_LOCKED | M_WOKEN)) ||
			    !(old >> M_WAITER_SHIFT))
				grt__fatal("grt_mutex: inconsistent state");
			/* Leave starvation mode if it is no longer needed. */
			if (!starving || (old >> M_WAITER_SHIFT) == 1)
				delta -= M_STARVING;
			__atomic_add_fetch(&m->grt__state, delta,
					   __ATOMIC_ACQ_REL);
			return;
		}
		awoke = true;
		iter = 0;
	}
}

/* Both entry points are this, whole: grt_mutex_lock() stays one CAS. */
static inline __attribute__((always_inline)) void
mutex_lock(struct grt_mutex *m, const char *reason)
{
	uint32_t unlocked = 0;

	if (gwi_likely(__atomic_compare_exchange_n(&m->grt__state, &unlocked,
					       M_LOCKED, false,
					       __ATOMIC_ACQUIRE,
					       __ATOMIC_RELAXED)))
		return;
	mutex_lock_slow(m, reason);
}

void grt_mutex_lock(struct grt_mutex *m)
{
	mutex_lock(m, "mutex lock");
}

void grt__mutex_lock(struct grt_mutex *m, const char *reason)
{
	mutex_lock(m, reason);
}

static void mutex_unlock_slow(struct grt_mutex *m, uint32_t new)
{
	uint32_t old;

	if (!((new + M_LOCKED) & M_LOCKED))
		grt__fatal("grt_mutex_unlock of an unlocked mutex");

	if (new & M_STARVING) {
		/* Hand off to the head waiter, which sets LOCKED itself. */
		grt__sema_release(&m->grt__sema, 1);
		return;
	}
	for (old = new;;) {
		/*
		 * Nobody to wake, or somebody already took it, or a woken
		 * waiter or a spinner will take it, or it went into
		 * starvation mode (whoever set that hands it off).
		 */
		if (!(old >> M_WAITER_SHIFT) ||
		    (old & (M_LOCKED | M_WOKEN | M_STARVING)))
			return;
		/* Wake one waiter and let it compete. */
		new = (old - M_WAITER) | M_WOKEN;
		if (__atomic_compare_exchange_n(&m->grt__state, &old, new,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			grt__sema_release(&m->grt__sema, 1);
			return;
		}
	}
}

void grt_mutex_unlock(struct grt_mutex *m)
{
	uint32_t new = __atomic_sub_fetch(&m->grt__state, M_LOCKED,
					  __ATOMIC_RELEASE);

	if (gwi_unlikely(new))
		mutex_unlock_slow(m, new);
}
