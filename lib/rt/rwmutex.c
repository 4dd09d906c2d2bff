// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A reader/writer mutex that parks Gs (API in include/gwake/rt.h). The
 * algorithm is Go's sync.RWMutex: two counters, an internal mutex that
 * serialises the writers, and two semaphores (sema.c) on which readers
 * and the writer park.
 *
 *   readers    the number of readers that hold the lock or wait for it;
 *              minus GRT_RWMUTEX_MAX_READERS while a writer holds it or
 *              waits for it. Negative therefore means "a writer is in":
 *              a new reader counts itself and parks on rsema.
 *   departing  the number of readers the pending writer still waits for:
 *              those that held the lock when the writer turned readers
 *              negative. Each of them, on runlock, decrements it; the one
 *              that brings it to zero releases the writer (wsema).
 *
 * rlock:   readers += 1; if the result is negative, park on rsema.
 * runlock: readers -= 1; if the result is negative, a writer is pending:
 *          departing -= 1, and on zero release wsema.
 * lock:    take w (so at most one writer below); readers -= MAX, which
 *          returns r, the readers inside; departing += r; if the result
 *          is not zero, park on wsema. (Readers that leave before the
 *          writer adds r drive departing below zero first; the sum comes
 *          out right whichever comes first.)
 * unlock:  readers += MAX, which returns r, the readers that arrived
 *          while the writer was in and parked (or are about to); release
 *          r tokens on rsema; unlock w.
 *
 * A reader that counted itself while readers was negative always gets a
 * token: the unlock that makes readers non-negative again counts it in r,
 * and a token released before the reader reached the semaphore waits
 * there for it. Writer preference follows from the order of lock: the
 * readers counter turns negative before the writer waits, so readers
 * arriving afterwards queue behind it.
 *
 * Memory ordering: every operation on readers and departing is a
 * read-modify-write, so each counter's modification order is one release
 * sequence. rlock's addition is acquire: it reads the writer's unlock
 * addition (release) or a later RMW, so the writer's critical section
 * happens before the reader's; a reader parked on rsema is ordered after
 * the unlock by the semaphore's lock. runlock's subtractions are release
 * and lock's additions acquire (acq-rel where both sides meet), so the
 * readers that left before the writer's subtraction on readers, or before
 * its addition on departing, happen before the writer's section; the
 * reader that releases wsema does so after its own decrement, which
 * follows every earlier decrement in departing's release sequence.
 * Writers are ordered among themselves by w.
 *
 * Every field is atomic or owned by its own lock: readers and departing
 * only with atomic RMWs (relaxed loads in the try paths, checked by a
 * CAS); the semaphores under their own internal locks; w is a grt_mutex.
 */
#include "sync.h"

#define MAX_READERS	GRT_RWMUTEX_MAX_READERS

/*
 * After a call that may park, so that it is not a tail call: the
 * backtrace of a parked G (grt_dump(), the deadlock report) then names
 * grt_rwmutex_rlock or grt_rwmutex_lock, as it names grt_mutex_lock.
 */
#define KEEP_FRAME()	__asm__ __volatile__("")

void grt_rwmutex_init(struct grt_rwmutex *rw)
{
	*rw = (struct grt_rwmutex)GRT_RWMUTEX_INIT;
}

void grt_rwmutex_rlock(struct grt_rwmutex *rw)
{
	int32_t r = __atomic_add_fetch(&rw->grt__readers, 1, __ATOMIC_ACQUIRE);

	if (gwi_likely(r > 0 && r < MAX_READERS))
		return;
	/*
	 * r == 0 with a writer in, or r >= MAX without one: the counter has
	 * run into the writer's bias. Nothing sensible is left.
	 */
	if (r >= 0)
		grt__fatal("grt_rwmutex: too many readers");
	/* A writer holds the lock or waits for it: wait for its unlock. */
	grt__sema_acquire(&rw->grt__rsema, false, "rwmutex rlock");
	KEEP_FRAME();
}

bool grt_rwmutex_tryrlock(struct grt_rwmutex *rw)
{
	int32_t r = __atomic_load_n(&rw->grt__readers, __ATOMIC_RELAXED);

	do {
		/* A writer is in, or waits: do not overtake it. */
		if (r < 0)
			return false;
		if (r + 1 >= MAX_READERS)
			grt__fatal("grt_rwmutex: too many readers");
	} while (!__atomic_compare_exchange_n(&rw->grt__readers, &r, r + 1,
					      false, __ATOMIC_ACQUIRE,
					      __ATOMIC_RELAXED));
	return true;
}

static void runlock_slow(struct grt_rwmutex *rw, int32_t r)
{
	/*
	 * Before our subtraction the counter was r + 1: 0 means nobody held
	 * it, -MAX that only a writer did (no reader to release).
	 */
	if (r + 1 == 0 || r + 1 == -MAX_READERS)
		grt__fatal("grt_rwmutex_runlock of an rwmutex not read-locked");
	/* A writer waits: the last reader it waits for lets it in. */
	if (__atomic_sub_fetch(&rw->grt__departing, 1, __ATOMIC_ACQ_REL) == 0)
		grt__sema_release(&rw->grt__wsema, 1);
}

void grt_rwmutex_runlock(struct grt_rwmutex *rw)
{
	int32_t r = __atomic_sub_fetch(&rw->grt__readers, 1, __ATOMIC_RELEASE);

	if (gwi_unlikely(r < 0))
		runlock_slow(rw, r);
}

void grt_rwmutex_lock(struct grt_rwmutex *rw)
{
	int32_t r;

	/* First among the writers. */
	grt__mutex_lock(&rw->grt__w, "rwmutex lock");
	/* Keep new readers out; r is how many are inside. */
	r = __atomic_fetch_sub(&rw->grt__readers, MAX_READERS,
			       __ATOMIC_ACQ_REL);
	if (r < 0)
		grt__fatal("grt_rwmutex: inconsistent state (%d readers with "
			   "the writers' mutex free)", (int)r);
	if (r != 0 && __atomic_add_fetch(&rw->grt__departing, r,
					 __ATOMIC_ACQ_REL) != 0)
		grt__sema_acquire(&rw->grt__wsema, false, "rwmutex lock");
	KEEP_FRAME();
}

bool grt_rwmutex_trylock(struct grt_rwmutex *rw)
{
	int32_t zero = 0;

	if (!grt_mutex_trylock(&rw->grt__w))
		return false;
	if (!__atomic_compare_exchange_n(&rw->grt__readers, &zero,
					 -MAX_READERS, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED)) {
		/* Readers are inside: give the writers' mutex back. */
		grt_mutex_unlock(&rw->grt__w);
		return false;
	}
	return true;
}

void grt_rwmutex_unlock(struct grt_rwmutex *rw)
{
	int32_t r = __atomic_add_fetch(&rw->grt__readers, MAX_READERS,
				       __ATOMIC_RELEASE);

	/* Without a writer the counter was already >= 0. */
	if (gwi_unlikely(r >= MAX_READERS))
		grt__fatal("grt_rwmutex_unlock of an rwmutex not write-locked");
	/* Let in the readers that queued behind us, before the next writer. */
	if (r > 0)
		grt__sema_release(&rw->grt__rsema, (uint32_t)r);
	grt_mutex_unlock(&rw->grt__w);
}
