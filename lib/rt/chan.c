// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Channels (API and memory-ordering contract in include/gwake/rt.h).
 *
 * The design is Go's (runtime/chan.go), in C:
 *
 *  - One lock per channel guards the ring and two queues of parked Gs,
 *    receivers and senders. At most one of the queues is non-empty, and a
 *    receiver waits only on an empty ring, a sender only on a full one.
 *
 *  - A G that must wait puts a waiter record (struct grt__waiter, Go's
 *    sudog) on its own stack, queues it, and parks. The park commit
 *    releases the channel lock once the G is off its stack (sync.h), so
 *    the peer that finds the waiter can never ready a G that has not
 *    finished switching out; there is no window in which a wake is lost
 *    or doubled, and no state beyond "queued" or "dequeued" is needed.
 *
 *  - The peer completes the waiter's operation itself, then readies it:
 *    a sender copies its element straight into a parked receiver's
 *    buffer, a receiver copies straight out of a parked sender's. The
 *    woken G finds its operation done and only reads w.success. One copy,
 *    no second lock round trip for the woken G.
 *
 *  - Close marks the channel and empties both queues under the lock:
 *    receivers get a zeroed element and success == false (Go's ok ==
 *    false), senders success == false (-EPIPE here, a panic in Go).
 *
 *  - Select (lib/rt/select.c) queues one waiter per case, all pointing at
 *    one struct grt__select; a peer may complete a select waiter only if
 *    it wins the CAS on its done word (grt__waitq_dequeue()). A select
 *    holds each of its channels (selrefs) from queueing its waiters until
 *    it has unlinked them, after its G woke up: grt_chan_free() in that
 *    window leaves the free to the select.
 *
 * Memory ordering: every transfer happens under the channel lock, which
 * orders the sender's writes before the receiver's reads (acquire/release
 * on the lock word); a woken G reads what its peer wrote into its waiter
 * after grt__ready(), which the scheduler orders (release on the run queue,
 * acquire when the G is picked up). Ready never happens under the lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "chan.h"

/*
 * A channel's memory: cache-line aligned, from malloc() with the alignment
 * done here and the pointer malloc() gave stored just below the channel.
 * posix_memalign() would do it, but glibc's (2.36) never serves it from
 * the per-thread cache, so every channel made and freed went through the
 * arena's slow paths and its consolidation: a twentieth of skynet, which
 * makes and frees one channel per interior G.
 */
static struct grt_chan *chan_alloc(size_t size)
{
	uintptr_t a;
	void *raw;

	raw = malloc(size + 63 + sizeof(void *));
	if (!raw)
		return NULL;
	a = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
	((void **)a)[-1] = raw;
	return (struct grt_chan *)a;
}

void grt__chan_release(struct grt_chan *c)
{
	free(((void **)c)[-1]);
}

int grt_chan_make(struct grt_chan **out, size_t elem_size, size_t cap)
{
	struct grt_chan *c;
	size_t bytes, head;

	if (!out || elem_size > GRT_CHAN_ELEM_MAX)
		return -EINVAL;
	if (elem_size && cap > (PTRDIFF_MAX / 2) / elem_size)
		return -EINVAL;
	bytes = elem_size * cap;
	/* One allocation: the ring follows the header, on its own lines. */
	head = (sizeof(*c) + 63) & ~(size_t)63;
	c = chan_alloc(head + bytes);
	if (!c)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	c->elem_size = elem_size;
	c->cap = cap;
	c->buf = (unsigned char *)c + head;
	*out = c;
	return 0;
}

/*
 * Is a G blocked on q? A waiter of a select that a peer already decided
 * does not count: its G is awake, and the select holds the channel through
 * selrefs until it has unlinked it. Caller holds c->lock.
 */
static bool chan_waitq_blocked(const struct grt__waitq *q)
{
	const struct grt__waiter *w;

	for (w = q->head; w; w = w->next) {
		if (!w->sel || !__atomic_load_n(&w->sel->done, __ATOMIC_ACQUIRE))
			return true;
	}
	return false;
}

bool grt__chan_busy(struct grt_chan *c)
{
	bool busy, in_g = grt__sync_enter();

	grt__sync_lock(&c->lock);
	busy = chan_waitq_blocked(&c->recvq) || chan_waitq_blocked(&c->sendq);
	grt__sync_unlock(&c->lock);
	grt__sync_exit(in_g);
	return busy;
}

int grt_chan_free(struct grt_chan *c)
{
	bool busy, now = false, in_g;

	if (!c)
		return 0;
	/*
	 * A select that a peer completed on this channel (or on another of
	 * its channels) still locks this one again to unlink its waiters
	 * (lib/rt/select.c, step 3): if one still holds it, it frees the
	 * channel when it lets go, and the caller may forget it now.
	 */
	in_g = grt__sync_enter();
	grt__sync_lock(&c->lock);
	busy = chan_waitq_blocked(&c->recvq) || chan_waitq_blocked(&c->sendq);
	if (!busy) {
		c->free_pending = true;
		now = c->selrefs == 0;
	}
	grt__sync_unlock(&c->lock);
	grt__sync_exit(in_g);
	if (busy)
		return -EBUSY;
	if (now)
		grt__chan_release(c);
	return 0;
}

/*
 * Ready the peer of a completed operation. A non-blocking one (try_send,
 * try_recv) says its caller goes on running: a thief need not give the
 * caller's P time to run the peer itself (runq.c, runnext_backoff()).
 */
static inline void chan_ready(struct grt_g *peer, bool block)
{
	if (!block)
		__atomic_store_n(&peer->ready_busy, true, __ATOMIC_RELAXED);
	grt__ready(peer);
}

/* chan_send() with the caller's G (NULL outside a G), no preemption. */
static int chan_send_g(struct grt_chan *c, const void *elem, bool block,
		       struct grt_g *gp)
{
	struct grt__waiter *w, me;

	if (block && !gp)
		return -EPERM;

	grt__sync_lock(&c->lock);
	if (c->closed) {
		grt__sync_unlock(&c->lock);
		return -EPIPE;
	}
	w = grt__waitq_dequeue(&c->recvq);
	if (w) {
		struct grt_g *peer = w->g;

		grt__chan_send_waiter(c, w, elem);
		grt__sync_unlock(&c->lock);
		chan_ready(peer, block);
		return 0;
	}
	if (c->count < c->cap) {
		grt__chan_buf_put(c, elem);
		grt__sync_unlock(&c->lock);
		return 0;
	}
	if (!block) {
		grt__sync_unlock(&c->lock);
		return -EAGAIN;
	}

	me = (struct grt__waiter){ .g = gp, .elem = (void *)elem };
	grt__waitq_push_tail(&c->sendq, &me);
	grt__park(grt__sync_unlock_commit, &c->lock, "chan send");
	/* A receiver took the element (true) or the channel closed. */
	return me.success ? 0 : -EPIPE;
}

static int chan_recv_g(struct grt_chan *c, void *elem, bool block,
		       struct grt_g *gp)
{
	struct grt__waiter *w, me;

	if (block && !gp)
		return -EPERM;

	grt__sync_lock(&c->lock);
	/*
	 * A closed channel still delivers what it buffered. No sender can
	 * be queued on it: close released them all and no send may queue
	 * after it.
	 */
	if (c->closed && c->count == 0) {
		grt__sync_unlock(&c->lock);
		grt__chan_zero(c, elem);
		return 0;
	}
	w = grt__waitq_dequeue(&c->sendq);
	if (w) {
		struct grt_g *peer = w->g;

		grt__chan_recv_waiter(c, w, elem);
		grt__sync_unlock(&c->lock);
		chan_ready(peer, block);
		return 1;
	}
	if (c->count > 0) {
		grt__chan_buf_take(c, elem);
		grt__sync_unlock(&c->lock);
		return 1;
	}
	if (!block) {
		grt__sync_unlock(&c->lock);
		return -EAGAIN;
	}

	me = (struct grt__waiter){ .g = gp, .elem = elem };
	grt__waitq_push_tail(&c->recvq, &me);
	grt__park(grt__sync_unlock_commit, &c->lock, "chan receive");
	/* A sender filled *elem (true), or close zeroed it. */
	return me.success ? 1 : 0;
}

static int chan_send(struct grt_chan *c, const void *elem, bool block)
{
	bool in_g;
	int ret;

	if (!c || (!elem && c->elem_size))
		return -EINVAL;
	in_g = grt__sync_enter();
	ret = chan_send_g(c, elem, block, in_g ? grt__curg() : NULL);
	grt__sync_exit(in_g);
	return ret;
}

static int chan_recv(struct grt_chan *c, void *elem, bool block)
{
	bool in_g;
	int ret;

	if (!c)
		return -EINVAL;
	in_g = grt__sync_enter();
	ret = chan_recv_g(c, elem, block, in_g ? grt__curg() : NULL);
	grt__sync_exit(in_g);
	return ret;
}

int grt_chan_send(struct grt_chan *c, const void *elem)
{
	return chan_send(c, elem, true);
}

int grt_chan_try_send(struct grt_chan *c, const void *elem)
{
	return chan_send(c, elem, false);
}

int grt_chan_recv(struct grt_chan *c, void *elem)
{
	return chan_recv(c, elem, true);
}

int grt_chan_try_recv(struct grt_chan *c, void *elem)
{
	return chan_recv(c, elem, false);
}

struct grt__waiter *grt__chan_close_begin(struct grt_chan *c, int *err)
{
	struct grt__waiter *w, *ready = NULL, **tail = &ready;

	grt__sync_lock(&c->lock);
	if (c->closed) {
		grt__sync_unlock(&c->lock);
		*err = -EPIPE;
		return NULL;
	}
	c->closed = 1;
	/*
	 * Complete every waiter as "closed" under the lock, chaining the
	 * dequeued records through their now unused next links, and ready
	 * their Gs only after unlocking.
	 */
	while ((w = grt__waitq_dequeue(&c->recvq))) {
		grt__chan_zero(c, w->elem);
		w->success = false;
		*tail = w;
		tail = &w->next;
	}
	while ((w = grt__waitq_dequeue(&c->sendq))) {
		w->success = false;
		*tail = w;
		tail = &w->next;
	}
	*tail = NULL;
	grt__sync_unlock(&c->lock);
	*err = 0;
	return ready;
}

void grt__chan_close_end(struct grt__waiter *ready)
{
	struct grt__waiter *w;

	while ((w = ready)) {
		struct grt_g *gp = w->g;

		/* w lives on gp's stack: done with it before gp may run. */
		ready = w->next;
		grt__ready(gp);
	}
}

int grt_chan_close(struct grt_chan *c)
{
	struct grt__waiter *ready;
	bool in_g;
	int err;

	if (!c)
		return -EINVAL;
	in_g = grt__sync_enter();
	ready = grt__chan_close_begin(c, &err);
	grt__chan_close_end(ready);
	grt__sync_exit(in_g);
	return err;
}

size_t grt_chan_len(const struct grt_chan *c)
{
	return c ? __atomic_load_n(&c->count, __ATOMIC_RELAXED) : 0;
}

size_t grt_chan_cap(const struct grt_chan *c)
{
	return c ? c->cap : 0;
}
