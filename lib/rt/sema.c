// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A counting semaphore of Gs: the slow path of the mutex, the wait group
 * and the read-write mutex (contract in lib/rt/sync.h). Unlike Go's,
 * which hashes addresses into a global table of waiter trees, the queue
 * lives in the object: the mutex, wait group or read-write mutex carries
 * its own, so there is no shared table to contend on and no lookup, at
 * the price of a few words per object.
 */
#include "sync.h"

void grt__sema_acquire(struct grt__sema *s, bool lifo, const char *reason)
{
	struct grt__waiter w = { 0 };
	bool in_g = grt__sync_enter();

	grt__sync_lock(&s->lock);
	if (s->count > 0) {
		s->count--;
		grt__sync_unlock(&s->lock);
		grt__sync_exit(in_g);
		return;
	}
	w.g = in_g ? grt__curg() : NULL;
	if (!w.g) {
		grt__sync_unlock(&s->lock);
		grt__fatal("a thread outside the runtime would have to wait "
				"(%s)", reason);
	}
	if (lifo)
		grt__waitq_push_head(&s->q, &w);
	else
		grt__waitq_push_tail(&s->q, &w);
	/* The commit releases s->lock once we are off the CPU. */
	grt__park(grt__sync_unlock_commit, &s->lock, reason);
	/* The releaser dequeued us and handed us its token. */
	grt__sync_exit(in_g);
}

void grt__sema_release(struct grt__sema *s, uint32_t n)
{
	struct grt__waiter *w, *ready = NULL, **tail = &ready;
	bool in_g = grt__sync_enter();

	grt__sync_lock(&s->lock);
	for (; n > 0 && (w = grt__waitq_dequeue(&s->q)); n--) {
		/* Dequeued: its links are ours until grt__ready(). */
		*tail = w;
		tail = &w->next;
	}
	*tail = NULL;
	s->count += n;
	grt__sync_unlock(&s->lock);

	while ((w = ready)) {
		struct grt_g *gp = w->g;

		/* Read everything we need before the G may run and return. */
		ready = w->next;
		grt__ready(gp);
	}
	grt__sync_exit(in_g);
}
