// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Timer channels: Go's time.Timer, time.Ticker and time.After (API and
 * contract in include/gwake/rt.h), with Go 1.23's semantics.
 *
 * A struct grt_timer is a timer on a P's heap (lib/rt/timer.c) and a
 * channel of capacity 1 carrying int64_t fire times. Each fire delivers
 * its value with the channel's own machinery -- straight into a receiver
 * or select that waits on the channel, else into the one buffer slot --
 * so grt_select() with a timer case needs nothing of its own. A ticker
 * whose receiver is slow finds the slot full and drops the tick: at most
 * one value ever waits.
 *
 * Stop, reset and fire (the rules at the top of lib/rt/timer.c)
 * -----------------------------------------------------------
 * tm->lock serialises stop, reset and the part of a fire that decides
 * and delivers. A stop or reset, under the lock, takes the timer off its
 * heap, changes t.seq, clears armed and drains the slot. A fire, under the
 * lock, does nothing unless its popped seq is still t.seq; otherwise it
 * re-arms a ticker (or clears armed) and delivers. Since delivery happens
 * under the lock, after the check, a stop or reset comes wholly before a
 * fire's decision (which is then stale) or wholly after its delivery
 * (whose value is then drained, or was taken by a receiver before the
 * stop): once stop or reset returns, no value of the old arming is ever
 * received. Their return value, "it was pending", is armed, or a drained
 * value: as in Go 1.23, a value nobody received yet has not fired as far
 * as the program can tell (the channel acts as if unbuffered).
 *
 * A fire readies the receiver it delivered to only after releasing both
 * locks (lib/rt/sync.h: never ready under a lock).
 *
 * Lifetime: refs counts the user's reference and one per popped fire on
 * its way (t.ref, rule 2 of timer.c); grt_timer_free() stops the timer,
 * drops the user's reference, and the last one frees the channel and the
 * timer.
 *
 * Lock order: tm->lock, then the channel's lock or a P's timerlock; never
 * the other way (nobody holding a channel lock takes a timer's lock).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "chan.h"

struct grt_timer {
	/*
	 * The heap entry. t.when and t.seq: under lock, with the heap's
	 * rules (timer.c) while on a heap. t.fn and t.ref: set once.
	 */
	struct grt__timer t;
	/* Internal lock (sync.h): t.when, t.seq, armed, period. */
	uint32_t lock;
	/* From an arming until its fire took effect, or a stop or reset. */
	bool armed;
	int64_t period;			/* ns; 0: one-shot */
	/* The user's reference and one per fire in flight. */
	_Atomic uint32_t refs;
	/* Capacity 1, int64_t elements; set once. */
	struct grt_chan *c;
};

static inline struct grt_timer *tm_of(struct grt__timer *t)
{
	return (struct grt_timer *)((char *)t - offsetof(struct grt_timer, t));
}

/*
 * The last reference frees. No G can still wait on the channel: the free
 * refused while one did, and the caller promised nobody would start.
 */
static void tm_put(struct grt_timer *tm)
{
	if (atomic_fetch_sub_explicit(&tm->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (grt_chan_free(tm->c))
		grt__fatal("grt_timer_free: a G blocked on the timer's channel "
			   "after it was freed");
	free(tm);
}

/*
 * Deliver v on c: to a waiting receiver (returned, to be readied after
 * every lock is released) or into the free slot; a full slot drops it (a
 * ticker's slow receiver). A closed timer channel (a caller's bug) takes
 * nothing. tm->lock held.
 */
static struct grt_g *tm_deliver(struct grt_chan *c, int64_t v)
{
	struct grt__waiter *w;
	struct grt_g *peer = NULL;

	grt__sync_lock(&c->lock);
	if (!c->closed) {
		w = grt__waitq_dequeue(&c->recvq);
		if (w) {
			peer = w->g;
			grt__chan_send_waiter(c, w, &v);
		} else if (c->count < c->cap) {
			grt__chan_buf_put(c, &v);
		}
	}
	grt__sync_unlock(&c->lock);
	return peer;
}

/* Throw away an undelivered value; true if there was one. tm->lock held. */
static bool tm_drain(struct grt_chan *c)
{
	bool got = false;

	grt__sync_lock(&c->lock);
	if (c->count) {
		grt__chan_buf_take(c, NULL);
		got = true;
	}
	grt__sync_unlock(&c->lock);
	return got;
}

/*
 * A ticker's next time after a fire of the tick due at when, at now: the
 * first when + k * period later than now. Ticks that a late fire (a busy
 * P, a stopped process) already missed are skipped, not fired in a burst.
 */
static int64_t tm_next_tick(int64_t when, int64_t period, int64_t now)
{
	int64_t behind = now > when ? (now - when) % period : 0;

	return grt__time_after(now - behind, period);
}

/* Arm on p's heap; tm->lock held (or tm not yet published), t on no heap. */
static void tm_arm(struct grt_timer *tm, struct grt_p *p, int64_t ns,
		   int64_t period)
{
	tm->t.when = grt__time_after(grt__nanotime(), ns);
	tm->period = period;
	tm->armed = true;
	grt__timer_add(p, &tm->t);
	/* A P that runs unwatched must not hold a timer (proc.c). */
	grt__mon_lazy_check();
}

/* Stop; tm->lock held. Returns whether the timer was pending (above). */
static bool tm_stop_locked(struct grt_timer *tm)
{
	bool pending = tm->armed;

	/* Off the heap first: t.seq may only change while on none. */
	grt__timer_del(&tm->t);
	tm->t.seq++;
	tm->armed = false;
	if (tm_drain(tm->c))
		pending = true;
	return pending;
}

/*
 * The heap's fn: on an M's scheduler stack (it holds a P), no lock held,
 * with a reference taken for us by grt__timers_run().
 */
static void tm_fire(struct grt__timer *t, uint64_t seq)
{
	struct grt_timer *tm = tm_of(t);
	struct grt_g *peer = NULL;

	grt__sync_lock(&tm->lock);
	if (seq == t->seq && tm->armed) {
		int64_t now = grt__nanotime();

		if (tm->period) {
			struct grt_m *m = grt__curm();

			if (!m || !m->p)
				grt__fatal("timer fired on an M without a P");
			t->when = tm_next_tick(t->when, tm->period, now);
			grt__timer_add(m->p, t);
			grt__mon_lazy_check();
		} else {
			tm->armed = false;
		}
		peer = tm_deliver(tm->c, now);
	}
	grt__sync_unlock(&tm->lock);
	/* As a sleeper's: a batch of expired timers keeps deadline order. */
	if (peer)
		grt__ready_fifo(peer);
	tm_put(tm);
}

int grt_timer_new(struct grt_timer **out, int64_t ns, int64_t period_ns)
{
	struct grt_timer *tm;
	bool in_g;
	int err;

	if (!out || ns < 0 || period_ns < 0)
		return -EINVAL;
	if (!grt__curg())
		return -EPERM;
	tm = calloc(1, sizeof(*tm));
	if (!tm)
		return -ENOMEM;
	err = grt_chan_make(&tm->c, sizeof(int64_t), 1);
	if (err) {
		free(tm);
		return err;
	}
	tm->t.fn = tm_fire;
	tm->t.ref = &tm->refs;
	atomic_init(&tm->refs, 1);
	/* No preemption from here: the P must stay ours until added. */
	in_g = grt__sync_enter();
	tm_arm(tm, grt__curm()->p, ns, period_ns);
	grt__sync_exit(in_g);
	*out = tm;
	return 0;
}

struct grt_chan *grt_timer_chan(struct grt_timer *tm)
{
	return tm ? tm->c : NULL;
}

int grt_timer_stop(struct grt_timer *tm)
{
	bool pending, in_g;

	if (!tm)
		return -EINVAL;
	in_g = grt__sync_enter();
	grt__sync_lock(&tm->lock);
	pending = tm_stop_locked(tm);
	grt__sync_unlock(&tm->lock);
	grt__sync_exit(in_g);
	return pending;
}

int grt_timer_reset(struct grt_timer *tm, int64_t ns, int64_t period_ns)
{
	bool pending, in_g;

	if (!tm || ns < 0 || period_ns < 0)
		return -EINVAL;
	in_g = grt__sync_enter();
	if (!in_g)
		return -EPERM;
	grt__sync_lock(&tm->lock);
	pending = tm_stop_locked(tm);
	tm_arm(tm, grt__curm()->p, ns, period_ns);
	grt__sync_unlock(&tm->lock);
	grt__sync_exit(in_g);
	return pending;
}

int grt_timer_free(struct grt_timer *tm)
{
	bool in_g;

	if (!tm)
		return 0;
	if (grt__chan_busy(tm->c))
		return -EBUSY;
	in_g = grt__sync_enter();
	grt__sync_lock(&tm->lock);
	tm_stop_locked(tm);
	grt__sync_unlock(&tm->lock);
	grt__sync_exit(in_g);
	tm_put(tm);
	return 0;
}
