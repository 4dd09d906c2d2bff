// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A condition variable that parks Gs (API in include/gwake/rt.h), with the
 * ticket scheme of Go's notifyList (runtime/sema.go).
 *
 * A waiter must unlock the caller's mutex before it parks, and a signal
 * may come in between: waking "whoever is queued now" would miss that
 * waiter, which then parks for a wakeup that already happened. So the
 * order of waiters is fixed before the unlock, by tickets:
 *
 *   wait    the next ticket, from an atomic counter (wait++), taken with
 *           the caller's mutex held; then unlock the mutex; then, under
 *           the cond's internal lock, park unless the ticket has been
 *           notified already; then lock the mutex again.
 *   signal  under the internal lock, if some ticket is not notified yet
 *           (notify != wait), notify the oldest (notify++) and ready its
 *           G if it is queued. If it is not queued yet, it is between its
 *           unlock and its park: it will find its ticket below notify and
 *           not park at all.
 *   broadcast  notify = wait, and ready every queued G.
 *
 * Tickets are 32 bits and compared modulo 2^32 (a - b as signed): more
 * than 2^31 Gs waiting at once on one cond cannot exist.
 *
 * The fast path of signal and broadcast, with nobody waiting, is two
 * loads and no lock: wait == notify means every ticket ever taken is
 * notified. A waiter whose ticket must be seen took it before unlocking
 * the mutex that the signaller locked afterwards (or otherwise happens
 * before the signal), so the load of wait sees it; a stale notify can
 * only be smaller than the truth, which sends us to the slow path. A
 * ticket taken concurrently with the signal, with no ordering between
 * them, may or may not be woken by it, which is what concurrency means.
 *
 * Memory ordering: the signaller's writes before the signal are visible
 * to the waiter it wakes through the internal lock and grt__ready()
 * (both release/acquire), and in the usual pattern through the mutex the
 * waiter locks again anyway. A waiter that does not park (its ticket was
 * notified before it got to the lock) takes the internal lock after the
 * signaller released it, which orders it the same way.
 *
 * Fields: wait is atomic (RMW by waiters, loads by wakers). notify is
 * written only under lock (atomic stores, because the fast path loads it
 * without the lock). q and the waiters on it are under lock; a waiter's
 * ticket is kept in its index field. The lock is held with preemption
 * off (grt__sync_enter) and a parking G holds it across grt__park(),
 * whose commit releases it (lib/rt/sync.h).
 */
#include "sync.h"

/* a is before b, modulo 2^32. */
static inline bool ticket_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

void grt_cond_init(struct grt_cond *c)
{
	*c = (struct grt_cond)GRT_COND_INIT;
}

void grt_cond_wait(struct grt_cond *c, struct grt_mutex *m)
{
	struct grt__waiter w = { 0 };
	uint32_t t;
	bool in_g;

	if (!grt__curg())
		grt__fatal("grt_cond_wait called outside a G");
	/*
	 * Relaxed: the caller's unlock below (release) publishes the ticket
	 * to whoever locks m next, which is how a signaller must see it.
	 */
	t = __atomic_fetch_add(&c->grt__wait, 1, __ATOMIC_RELAXED);
	grt_mutex_unlock(m);

	in_g = grt__sync_enter();
	grt__sync_lock(&c->grt__lock);
	if (ticket_before(t, __atomic_load_n(&c->grt__notify,
					     __ATOMIC_RELAXED))) {
		/* Signalled between the unlock and here: do not park. */
		grt__sync_unlock(&c->grt__lock);
	} else {
		w.g = grt__curg();
		w.index = t;
		grt__waitq_push_tail(&c->grt__q, &w);
		/* The commit releases the lock once we are off the CPU. */
		grt__park(grt__sync_unlock_commit, &c->grt__lock, "cond wait");
		/* A waker dequeued us; w is ours again. */
	}
	grt__sync_exit(in_g);

	grt_mutex_lock(m);
}

/* Nobody waits, or everybody who waits is notified: nothing to do. */
static inline bool all_notified(struct grt_cond *c)
{
	return __atomic_load_n(&c->grt__wait, __ATOMIC_RELAXED) ==
	       __atomic_load_n(&c->grt__notify, __ATOMIC_RELAXED);
}

void grt_cond_signal(struct grt_cond *c)
{
	struct grt__waiter *w;
	struct grt_g *gp = NULL;
	uint32_t t;
	bool in_g;

	if (all_notified(c))
		return;
	in_g = grt__sync_enter();
	grt__sync_lock(&c->grt__lock);
	t = c->grt__notify;
	if (t == __atomic_load_n(&c->grt__wait, __ATOMIC_RELAXED)) {
		grt__sync_unlock(&c->grt__lock);
		grt__sync_exit(in_g);
		return;
	}
	__atomic_store_n(&c->grt__notify, t + 1, __ATOMIC_RELAXED);
	/*
	 * Queued waiters are in ticket order, mostly: two waiters may take
	 * tickets in one order and reach the lock in the other. Look the
	 * ticket up; usually it is at the head.
	 */
	for (w = c->grt__q.head; w; w = w->next) {
		if (w->index == t) {
			grt__waitq_remove(&c->grt__q, w);
			gp = w->g;
			break;
		}
	}
	grt__sync_unlock(&c->grt__lock);
	if (gp)
		grt__ready(gp);
	grt__sync_exit(in_g);
}

void grt_cond_broadcast(struct grt_cond *c)
{
	struct grt__waiter *w, *next;
	bool in_g;

	if (all_notified(c))
		return;
	in_g = grt__sync_enter();
	grt__sync_lock(&c->grt__lock);
	__atomic_store_n(&c->grt__notify,
			 __atomic_load_n(&c->grt__wait, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	/* Every queued waiter holds a ticket below the new notify. */
	w = c->grt__q.head;
	c->grt__q.head = c->grt__q.tail = NULL;
	grt__sync_unlock(&c->grt__lock);

	while (w) {
		/* Read the link before the G may run and leave w's frame. */
		next = w->next;
		grt__ready(w->g);
		w = next;
	}
	grt__sync_exit(in_g);
}
