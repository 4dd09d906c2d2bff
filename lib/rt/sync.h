/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What channels, select, the mutex, the wait group, the read-write mutex,
 * the once and the condition variable share: a short internal lock, the
 * waiter record of a parked G, queues of waiters and a semaphore that
 * parks Gs.
 *
 * Locking rules
 * -------------
 * - An object's internal lock (struct grt_chan.lock, struct grt__sema.lock,
 *   struct grt_cond.grt__lock) protects every non-atomic field of the
 *   object and of the waiters queued on it (next, prev, q, and the fields
 *   a waker fills in: success, the element behind elem).
 * - It is held for a few dozen instructions, never across a call into the
 *   scheduler that could run another G, and never while calling
 *   grt__ready(): wakers collect the Gs to ready, unlock, then ready them.
 * - It is taken only between grt__sync_enter() and grt__sync_exit() (no
 *   preemption of a G that holds one; see below).
 * - A G that parks holds the lock across grt__park() and the park commit
 *   (running on its M's scheduler stack once the G is switched out)
 *   releases it. A waker can therefore see a queued waiter only after its
 *   G is off its stack, and never readies a G that is still running.
 * - Several channel locks are taken only by select, in increasing address
 *   order (lib/rt/select.c), so there is no lock-order cycle.
 *
 * Waiters live on the stack of the parked G (Go's sudog). A waker may use
 * one from the moment it finds it on a queue (under the lock) until it
 * calls grt__ready() on its G; after that the memory may be gone.
 */
#ifndef GWAKE_RT_SYNC_H
#define GWAKE_RT_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gwake/rt.h>

#include "sched.h"

GWI_HIDDEN_BEGIN

/*
 * Every operation that takes an internal lock runs between
 * grt__sync_enter() and grt__sync_exit() (Go's acquirem/releasem around
 * lock()): the calling G's nopreempt is raised, so the preemption signal
 * never detaches it from its P while it holds a lock, and a G that was
 * detached before (preempted, or between grt_syscall_enter/exit) gets a
 * P back first. Without this, a detached G that takes a lock finds no P
 * at its next scheduling point -- grt__park(), with the lock still held
 * -- and waits on the global run queue while the Ms that do have Ps sleep
 * on that lock: a hang without the preemption signal (selftest
 * rt_chan/detached_lock_holder), a stall until the monitor detaches one
 * of the sleepers with it.
 *
 * Returns whether the caller is a G (and nopreempt was raised); pass it to
 * grt__sync_exit(). A G may come back from a park on another M: exit
 * looks the M up again.
 */
static inline bool grt__sync_enter(void)
{
	struct grt_m *m = grt__acquirem();

	return m && m->curg;
}

static inline void grt__sync_exit(bool in_g)
{
	if (in_g)
		grt__releasem(grt__curm());
}

/*
 * The internal lock: a futex word, 0 free, 1 locked, 2 locked with
 * sleepers (Drepper, "Futexes are tricky", mutex 3). It blocks the M, not
 * the G, like Go's runtime lock(): critical sections are short, so the
 * slow path spins briefly before sleeping, and sleeping only happens when
 * the holder's thread was preempted by the kernel.
 */
void grt__sync_lock_slow(uint32_t *l);
void grt__sync_unlock_wake(uint32_t *l);

static inline void grt__sync_lock(uint32_t *l)
{
	uint32_t free_ = 0;

	/* Acquire: the critical section sees the previous holder's writes. */
	if (gwi_likely(__atomic_compare_exchange_n(l, &free_, 1, false,
					       __ATOMIC_ACQUIRE,
					       __ATOMIC_RELAXED)))
		return;
	grt__sync_lock_slow(l);
}

static inline void grt__sync_unlock(uint32_t *l)
{
	/* Release: publishes the critical section to the next holder. */
	if (gwi_unlikely(__atomic_exchange_n(l, 0, __ATOMIC_RELEASE) == 2))
		grt__sync_unlock_wake(l);
}

/*
 * grt__sync_unlock_commit() - a grt__park() commit that releases the
 * internal lock at arg. Returns true: the G stays parked until readied.
 */
bool grt__sync_unlock_commit(struct grt_g *gp, void *arg);

/* What a select shares between its waiters (one per case). */
struct grt__select {
	/*
	 * 0 while the select waits; the first waker to change it to 1 (CAS,
	 * under the lock of its own channel only) owns the select and is the
	 * only one to touch winner and the case's element.
	 */
	uint32_t done;
	struct grt__waiter *winner;
};

/* The record of a parked G on one queue. On the G's stack. */
struct grt__waiter {
	struct grt__waiter *next, *prev;
	/* The queue it is on; NULL once dequeued. */
	struct grt__waitq *q;
	struct grt_g *g;
	/*
	 * Channels: the parked operation's element (the value to send, or
	 * where to receive; NULL discards), read or written by the waker.
	 */
	void *elem;
	/* Non-NULL if this is one case of a select. */
	struct grt__select *sel;
	/* Select: the index of the case. Condition variable: the ticket. */
	uint32_t index;
	/*
	 * Set by the waker before grt__ready(): true if the operation took
	 * place, false if the channel was closed.
	 */
	bool success;
};

static inline void grt__waitq_push_tail(struct grt__waitq *q,
					struct grt__waiter *w)
{
	w->next = NULL;
	w->prev = q->tail;
	w->q = q;
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
}

static inline void grt__waitq_push_head(struct grt__waitq *q,
					struct grt__waiter *w)
{
	w->prev = NULL;
	w->next = q->head;
	w->q = q;
	if (q->head)
		q->head->prev = w;
	else
		q->tail = w;
	q->head = w;
}

/* Unlink w if it is still on q (a waker may have dequeued it already). */
static inline void grt__waitq_remove(struct grt__waitq *q,
				     struct grt__waiter *w)
{
	if (w->q != q)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->next = w->prev = NULL;
	w->q = NULL;
}

/*
 * grt__waitq_dequeue() - take the first waiter the caller may complete.
 *
 * A select case is taken only if its select is still undecided: the CAS on
 * sel->done decides, among the wakers on the select's several channels,
 * which one completes it. Cases of a decided select are dropped from the
 * queue on the way (their G removes what is left after it wakes up).
 * Returns NULL if no waiter is eligible.
 */
static inline struct grt__waiter *grt__waitq_dequeue(struct grt__waitq *q)
{
	struct grt__waiter *w;

	while ((w = q->head)) {
		grt__waitq_remove(q, w);
		if (w->sel) {
			uint32_t zero = 0;

			if (!__atomic_compare_exchange_n(&w->sel->done, &zero,
							 1, false,
							 __ATOMIC_ACQ_REL,
							 __ATOMIC_RELAXED))
				continue;
			w->sel->winner = w;
		}
		return w;
	}
	return NULL;
}

static inline bool grt__waitq_empty(const struct grt__waitq *q)
{
	return !q->head;
}

/*
 * A counting semaphore of Gs (Go's runtime sema): the slow path under the
 * mutex and the wait group.
 *
 * grt__sema_acquire() takes a token, parking the G until one is released.
 * lifo queues the G at the head instead of the tail (a waiter that was
 * woken and lost a race goes back to the front). Tokens released while
 * Gs wait go straight to the oldest waiters, in queue order, so a token
 * is never stolen by a newcomer. Release and acquire of a token are
 * ordered by the semaphore's lock: everything before grt__sema_release()
 * happens before the grt__sema_acquire() that gets its token returns.
 * Aborts with a message if the caller is not a G and would have to wait.
 */
void grt__sema_acquire(struct grt__sema *s, bool lifo, const char *reason);
void grt__sema_release(struct grt__sema *s, uint32_t n);

/*
 * grt__mutex_lock() - grt_mutex_lock() with the wait reason a parked G
 * shows in grt_dump() and the deadlock report: the read-write mutex and
 * the once lock an internal mutex, and a G waiting there should say what
 * it waits for ("rwmutex lock", "once"), not "mutex lock".
 */
void grt__mutex_lock(struct grt_mutex *m, const char *reason);

GWI_HIDDEN_END

#endif /* GWAKE_RT_SYNC_H */
