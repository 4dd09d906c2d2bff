/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The channel object and the element moves that lib/rt/chan.c and
 * lib/rt/select.c share (and lib/rt/timerchan.c, whose fires send into a
 * channel under their own lock). Everything here is called with c->lock
 * held, except grt__chan_busy().
 */
#ifndef GWAKE_RT_CHAN_H
#define GWAKE_RT_CHAN_H

#include <string.h>

#include "sync.h"

struct grt_chan {
	/* The internal lock (lib/rt/sync.h): protects everything below
	 * except the immutable elem_size, cap and buf. */
	uint32_t lock;
	/* Set once by grt_chan_close(); never cleared. */
	uint32_t closed;
	/* Elements in the ring; written under the lock with relaxed
	 * atomics so that grt_chan_len() may read it without it. */
	size_t count;
	/* Ring positions: next slot to fill, next slot to empty. */
	size_t sendx, recvx;
	/* Gs blocked in a receive, in a send. */
	struct grt__waitq recvq, sendq;
	/*
	 * Selects that queued waiters here and have not yet finished
	 * unlinking them (lib/rt/select.c, steps 2 and 3): each will lock the
	 * channel once more, even after a peer completed it. One per select,
	 * however many of its cases name this channel.
	 */
	uint32_t selrefs;
	/*
	 * grt_chan_free() was called while selrefs > 0: the last select to
	 * let go frees the channel.
	 */
	bool free_pending;
	size_t elem_size;
	size_t cap;
	/* cap * elem_size bytes, allocated with the channel. */
	unsigned char *buf;
};

/*
 * grt__chan_busy() - is a G blocked on c (grt_chan_free() would say
 * -EBUSY)? Takes c->lock; for objects that own a channel (timer channels,
 * contexts) and must refuse to be freed before they free anything.
 */
GWI_HIDDEN_BEGIN
bool grt__chan_busy(struct grt_chan *c);

/*
 * grt_chan_close() in two halves, for a caller that must close c under a
 * lock of its own (a context's done channel: once its cancel returns, done
 * is closed, whoever cancelled first) but may not ready Gs under it
 * (sync.h). begin closes c and completes every waiter (-EPIPE in *err and
 * NULL if c was closed already, else 0); end readies the waiters it
 * returned, once every lock is released. Between the two, from the same
 * G or M, nothing may park: the waiters' Gs are parked and wait for end.
 */
struct grt__waiter *grt__chan_close_begin(struct grt_chan *c, int *err);
void grt__chan_close_end(struct grt__waiter *ready);
GWI_HIDDEN_END

/* Copy one element; both ends may be NULL for empty elements, dst may be
 * NULL to discard. memcpy() of 0 bytes from NULL is still undefined. */
/* Give back the memory of a channel nobody holds any more (chan.c). */
void grt__chan_release(struct grt_chan *c);

static inline void grt__chan_copy(const struct grt_chan *c, void *dst,
				  const void *src)
{
	if (dst && c->elem_size)
		memcpy(dst, src, c->elem_size);
}

static inline void grt__chan_zero(const struct grt_chan *c, void *dst)
{
	if (dst && c->elem_size)
		memset(dst, 0, c->elem_size);
}

static inline unsigned char *grt__chan_slot(const struct grt_chan *c,
					    size_t i)
{
	return c->buf + i * c->elem_size;
}

/* Append src to the ring; the caller checked count < cap. */
static inline void grt__chan_buf_put(struct grt_chan *c, const void *src)
{
	grt__chan_copy(c, grt__chan_slot(c, c->sendx), src);
	if (++c->sendx == c->cap)
		c->sendx = 0;
	__atomic_store_n(&c->count, c->count + 1, __ATOMIC_RELAXED);
}

/* Take the oldest element into dst; the caller checked count > 0. */
static inline void grt__chan_buf_take(struct grt_chan *c, void *dst)
{
	grt__chan_copy(c, dst, grt__chan_slot(c, c->recvx));
	if (++c->recvx == c->cap)
		c->recvx = 0;
	__atomic_store_n(&c->count, c->count - 1, __ATOMIC_RELAXED);
}

/*
 * grt__chan_recv_waiter() - receive into dst from w, a sender just
 * dequeued from c->sendq. Unbuffered: straight from the sender's element.
 * Buffered (a sender waits, so the ring is full): the oldest element goes
 * to dst and the sender's element takes its slot, which is also the tail;
 * FIFO order is kept and the sender's element never waits in line twice.
 * The caller unlocks c, then readies w->g.
 */
static inline void grt__chan_recv_waiter(struct grt_chan *c,
					 struct grt__waiter *w, void *dst)
{
	if (c->cap == 0) {
		grt__chan_copy(c, dst, w->elem);
	} else {
		unsigned char *slot = grt__chan_slot(c, c->recvx);

		grt__chan_copy(c, dst, slot);
		grt__chan_copy(c, slot, w->elem);
		if (++c->recvx == c->cap)
			c->recvx = 0;
		c->sendx = c->recvx;
	}
	w->success = true;
}

/*
 * grt__chan_send_waiter() - send src to w, a receiver just dequeued from
 * c->recvq: straight into its element (a receiver waits only when the
 * ring is empty, so there is nothing older to overtake). The caller
 * unlocks c, then readies w->g.
 */
static inline void grt__chan_send_waiter(struct grt_chan *c,
					 struct grt__waiter *w,
					 const void *src)
{
	grt__chan_copy(c, w->elem, src);
	w->success = true;
}

#endif /* GWAKE_RT_CHAN_H */
