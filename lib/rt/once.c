// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A once that parks Gs (API in include/gwake/rt.h), after Go's sync.Once.
 *
 * done is 0 until fn has returned, then 1 for ever. A call that finds it
 * 1 returns after that one acquire load. Otherwise it takes the internal
 * mutex m: the first to get it runs fn with m held and then sets done;
 * the others park on m meanwhile (as the mutex's waiters: their M runs
 * other Gs) and find done set when they get m in turn. done is not set
 * before fn returns, as it would be with a bare CAS on done: a caller
 * that returned while fn was still running could see its effects half
 * done.
 *
 * owner is the id of the G running fn (0 when none, or when fn runs on a
 * thread outside the runtime). A G that finds its own id there is inside
 * fn -- directly, or through the fn of other onces -- and would wait on m
 * for itself for ever; it aborts instead. Only the G that holds m writes
 * owner, so a G can only read its own id there if it wrote it itself
 * (ids are never reused) and has not returned from fn yet: a relaxed load
 * suffices, the check needs no ordering with other Gs.
 *
 * Memory ordering: done is stored with release after fn returns, so a
 * caller that loads 1 with acquire sees fn's writes. A caller that takes
 * m after the first caller released it is ordered by m (fn's effects,
 * then the store of done, happen before that unlock), and so sees done
 * set; done is read there with a relaxed load, m does the ordering.
 *
 * done and owner are atomic (each read outside m: done by the fast path,
 * owner by the self-call check) and written only by the holder of m.
 */
#include "sync.h"

void grt_once_do(struct grt_once *o, void (*fn)(void *), void *arg)
{
	struct grt_g *gp;
	uint64_t self;

	if (gwi_likely(__atomic_load_n(&o->grt__done, __ATOMIC_ACQUIRE)))
		return;

	gp = grt__curg();
	self = gp ? gp->id : 0;
	if (self && __atomic_load_n(&o->grt__owner, __ATOMIC_RELAXED) == self)
		grt__fatal("grt_once_do: G%llu called it again from its own fn "
			   "(it would wait for itself for ever)",
			   (unsigned long long)self);

	grt__mutex_lock(&o->grt__m, "once");
	if (!__atomic_load_n(&o->grt__done, __ATOMIC_RELAXED)) {
		if (!fn) {
			grt_mutex_unlock(&o->grt__m);
			grt__fatal("grt_once_do: fn is NULL");
		}
		__atomic_store_n(&o->grt__owner, self, __ATOMIC_RELAXED);
		fn(arg);
		/*
		 * The G may run on another M now, but it is the same G, and
		 * it alone may clear its own mark.
		 */
		__atomic_store_n(&o->grt__owner, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&o->grt__done, 1, __ATOMIC_RELEASE);
	}
	grt_mutex_unlock(&o->grt__m);
}
