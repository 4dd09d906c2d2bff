// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A wait group that parks Gs (API in include/gwake/rt.h), after Go's
 * sync.WaitGroup.
 *
 * One 64-bit state word holds the counter (high half, signed) and the
 * number of waiting Gs (low half), so that "the counter is not zero, count
 * me as a waiter" is one CAS, and so is "the counter drops to zero, take
 * every registered waiter": the add that reaches zero also resets the
 * waiter count, atomically, and then releases exactly that many tokens
 * on the semaphore (sema.c). A waiter registered in the word always gets
 * a token, whether it reached the semaphore before the release or after.
 *
 * Unlike Go, add() is a CAS loop rather than one atomic add, so that a
 * counter that would go negative is refused with -EINVAL and left intact
 * (Go panics after the fact). A wait() with the counter at zero is one
 * acquire load.
 *
 * Memory ordering: each add() is an acquire-release CAS, so the add that
 * reaches zero has every earlier add() and done() before it (release
 * sequence); a wait() returning on the fast path reads zero with an
 * acquire load, one returning from the semaphore is ordered after the
 * release by the semaphore's lock.
 */
#include <errno.h>

#include "sync.h"

#define WG_COUNTER(s)	((int32_t)((s) >> 32))
#define WG_WAITERS(s)	((uint32_t)(s))

void grt_waitgroup_init(struct grt_waitgroup *wg)
{
	*wg = (struct grt_waitgroup)GRT_WAITGROUP_INIT;
}

int grt_waitgroup_add(struct grt_waitgroup *wg, int delta)
{
	uint64_t old = __atomic_load_n(&wg->grt__state, __ATOMIC_RELAXED);
	uint64_t new;
	int64_t count;
	uint32_t waiters;

	do {
		count = (int64_t)WG_COUNTER(old) + delta;
		waiters = WG_WAITERS(old);
		if (count < 0)
			return -EINVAL;
		if (count > INT32_MAX)
			return -EOVERFLOW;
		/* Reaching zero takes the waiters along: reset both. */
		new = count ? (uint64_t)count << 32 | waiters : 0;
	} while (!__atomic_compare_exchange_n(&wg->grt__state, &old, new,
					      false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	if (count == 0 && waiters)
		grt__sema_release(&wg->grt__sema, waiters);
	return 0;
}

int grt_waitgroup_done(struct grt_waitgroup *wg)
{
	return grt_waitgroup_add(wg, -1);
}

void grt_waitgroup_wait(struct grt_waitgroup *wg)
{
	uint64_t old = __atomic_load_n(&wg->grt__state, __ATOMIC_ACQUIRE);

	for (;;) {
		if (WG_COUNTER(old) == 0)
			return;
		if (WG_WAITERS(old) == UINT32_MAX)
			grt__fatal("grt_waitgroup: too many waiters");
		if (__atomic_compare_exchange_n(&wg->grt__state, &old, old + 1,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
	}
	grt__sema_acquire(&wg->grt__sema, false, "waitgroup wait");
	/*
	 * The state was reset to zero before our token was released. If it
	 * is not zero now, a new round started (add() from zero) before
	 * this wait returned: our token may have gone to a waiter of the new
	 * round, or theirs to us, which is the misuse Go also rejects.
	 */
	if (__atomic_load_n(&wg->grt__state, __ATOMIC_ACQUIRE) != 0)
		grt__fatal("grt_waitgroup reused before a previous "
				"grt_waitgroup_wait() returned");
}
