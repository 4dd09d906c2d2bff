// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Contexts: Go's context.Context without values (API and contract in
 * include/gwake/rt.h). A context is a done channel that is closed once,
 * with the reason in err, by a cancel, by its deadline's timer, or by its
 * parent's cancellation; children inherit their parent's deadline when
 * it is earlier than their own.
 *
 * The tree
 * --------
 * A child registers on its parent's list of children (under the
 * parent's lock) unless the parent is done already, in which case it is
 * born cancelled with the parent's err. A context cancelled on its own
 * (grt_ctx_cancel(), grt_ctx_free(), its deadline) also leaves its
 * parent's list, as in Go; one cancelled by its parent was taken off it.
 *
 * Cancelling c walks c's subtree depth first, holding the lock of every
 * context on the path from c down to the one it is at: lock c, mark it
 * done (err, deadline timer off the heap, done closed: its waiters are
 * readied once the walk has released every lock), then repeatedly take
 * the first child off the current context's list, lock it, mark it and
 * go down into it, or, when the list is empty, unlock the current
 * context and go back up to its parent. The walk is a loop: the path is
 * the chain of parent pointers, so a chain of a million nested contexts
 * costs no stack. Because a context's lock is held until its whole
 * subtree is done, a cancel that finds a context done already (it waited
 * for its lock) knows that everything below it is done too: once any
 * grt_ctx_cancel(c) returns, c and all its descendants are, as in Go,
 * whoever else was cancelling them at the same time.
 *
 * Locks: context locks are only ever held together in that order,
 * ancestors before descendants, so there is no cycle; every other path
 * holds one context lock at a time (creation and unlinking take only the
 * parent's). Inside a context lock, only a P's timerlock (the deadline
 * timer) and the done channel's lock are taken. A context whose err is
 * set has done closed: both happen under its lock. A long walk blocks the
 * Ms of those who wait for a lock on its path (the locks are the short
 * internal kind, lib/rt/sync.h): cancelling a tree of n contexts holds
 * them for O(n).
 *
 * Lifetime without a garbage collector
 * ------------------------------------
 * refs counts: the user's reference (dropped by grt_ctx_free()), one per
 * child that exists (a child can outlive the user's reference to its
 * parent, and unlinks itself from the parent's list, so the parent's
 * memory stays until every child is released), and one per deadline fire
 * in flight (t.ref, lib/rt/timer.c rule 2). Release frees the done
 * channel and the memory, then drops the reference on the parent, in a
 * loop up the chain. So any order of grt_ctx_free() calls is safe:
 *
 *  - parent first: freeing cancels it, which cancels every child; the
 *    children stay valid (done closed, err set) until freed, and the
 *    parent's memory until the last of them is;
 *  - child first: it leaves its parent's list and drops its reference.
 *
 * What a reference does not give is the right to call the API on a
 * context after grt_ctx_free() of it: that is the caller's bug.
 *
 * The walk needs no reference on the contexts it visits: a context on
 * its parent's list still has its user reference (grt_ctx_free() cancels
 * it, which takes its lock, and unlinks it, which takes its parent's,
 * before it drops the reference), and the walk holds the parent's lock
 * when it finds it and its own lock until it leaves it for good.
 *
 * Memory ordering: err is stored with release under the lock and read
 * with acquire without it (grt_ctx_err()); done is closed after err is
 * stored, so a G that sees done closed (the close happens before the
 * receive that observes it) sees err. A parent is marked done before its
 * children, each under the child's lock.
 *
 * The deadline timer is stopped, never reset: a fire that lost the race
 * with a cancel finds err set and does nothing, so it needs no sequence
 * number (t.seq stays 0), only its reference.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "chan.h"

struct grt_ctx {
	/* Internal lock (sync.h): err's store, children, and each
	 * child's next, prev and linked. */
	uint32_t lock;
	_Atomic int err;		/* 0 until done; set once */
	struct grt_chan *done;		/* empty elements, cap 0; set once */
	/* Counted (a reference of ours on it); set once; NULL: background. */
	struct grt_ctx *parent;
	struct grt_ctx *children;	/* under lock */
	/* On parent->children; under parent->lock. */
	struct grt_ctx *next, *prev;
	bool linked;
	/* Effective deadline (own or inherited), 0: none; set once. */
	int64_t deadline;
	/* Our own deadline's timer, if it is earlier than the parent's. */
	struct grt__timer timer;
	_Atomic uint32_t refs;
};

static void ctx_put(struct grt_ctx *c)
{
	while (c && atomic_fetch_sub_explicit(&c->refs, 1,
					      memory_order_acq_rel) == 1) {
		struct grt_ctx *parent = c->parent;

		/* done is closed (released contexts were cancelled): no G
		 * can be blocked on it. */
		if (grt_chan_free(c->done))
			grt__fatal("grt_ctx_free: a G is blocked on done");
		free(c);
		c = parent;
	}
}

/*
 * Mark c done with err: c->lock held, c not done. Its waiters are
 * appended to the list whose last link *tail points to, to be readied
 * once no lock is held.
 */
static void mark_done(struct grt_ctx *c, int err, struct grt__waiter ***tail)
{
	struct grt__waiter *w;
	int cerr;

	atomic_store_explicit(&c->err, err, memory_order_release);
	/* No fire from now on; one already popped finds err set. */
	grt__timer_del(&c->timer);
	w = grt__chan_close_begin(c->done, &cerr);
	**tail = w;
	while (w) {
		*tail = &w->next;
		w = w->next;
	}
}

/* Take c off its parent's list, if it is still there. */
static void ctx_unlink(struct grt_ctx *c)
{
	struct grt_ctx *p = c->parent;

	if (!p)
		return;
	grt__sync_lock(&p->lock);
	if (c->linked) {
		if (c->prev)
			c->prev->next = c->next;
		else
			p->children = c->next;
		if (c->next)
			c->next->prev = c->prev;
		c->next = c->prev = NULL;
		c->linked = false;
	}
	grt__sync_unlock(&p->lock);
}

/*
 * Cancel c and everything below it with err (the walk at the top of the
 * file); unlink: c leaves its parent's list.
 */
static void ctx_cancel(struct grt_ctx *c, int err, bool unlink)
{
	struct grt__waiter *ready = NULL, **tail = &ready;
	struct grt_ctx *cur, *k;

	grt__sync_lock(&c->lock);
	if (atomic_load_explicit(&c->err, memory_order_relaxed)) {
		/* Done, and so is its subtree: we waited for its lock. */
		grt__sync_unlock(&c->lock);
		goto out;
	}
	mark_done(c, err, &tail);
	cur = c;
	for (;;) {
		k = cur->children;
		if (k) {
			cur->children = k->next;
			if (k->next)
				k->next->prev = NULL;
			k->next = k->prev = NULL;
			k->linked = false;
			grt__sync_lock(&k->lock);
			if (atomic_load_explicit(&k->err,
						 memory_order_relaxed)) {
				grt__sync_unlock(&k->lock);
				continue;
			}
			mark_done(k, err, &tail);
			cur = k;
			continue;
		}
		/* Everything below cur is done: back up. */
		if (cur == c)
			break;
		k = cur->parent;
		grt__sync_unlock(&cur->lock);
		cur = k;
	}
	grt__sync_unlock(&c->lock);
	grt__chan_close_end(ready);
out:
	if (unlink)
		ctx_unlink(c);
}

/* The deadline timer's fn (g0 of an M, no lock held, a reference ours). */
static void ctx_fire(struct grt__timer *t, uint64_t seq)
{
	struct grt_ctx *c = (struct grt_ctx *)((char *)t -
					       offsetof(struct grt_ctx, timer));

	(void)seq;
	ctx_cancel(c, -ETIMEDOUT, true);
	ctx_put(c);
}

/* A new context under parent, linked (or cancelled if parent is done). */
static int ctx_new(struct grt_ctx **out, struct grt_ctx *parent)
{
	struct grt_ctx *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = grt_chan_make(&c->done, 0, 0);
	if (err) {
		free(c);
		return err;
	}
	atomic_init(&c->refs, 1);
	c->timer.fn = ctx_fire;
	c->timer.ref = &c->refs;
	if (parent) {
		/* The caller's reference keeps parent alive meanwhile. */
		atomic_fetch_add_explicit(&parent->refs, 1,
					  memory_order_relaxed);
		c->parent = parent;
		c->deadline = parent->deadline;
		grt__sync_lock(&parent->lock);
		err = atomic_load_explicit(&parent->err, memory_order_relaxed);
		if (!err) {
			c->next = parent->children;
			if (c->next)
				c->next->prev = c;
			parent->children = c;
			c->linked = true;
		}
		grt__sync_unlock(&parent->lock);
		if (err)
			ctx_cancel(c, err, false);
	}
	*out = c;
	return 0;
}

int grt_ctx_with_cancel(struct grt_ctx **out, struct grt_ctx *parent)
{
	bool in_g;
	int err;

	if (!out)
		return -EINVAL;
	in_g = grt__sync_enter();
	err = ctx_new(out, parent);
	grt__sync_exit(in_g);
	return err;
}

int grt_ctx_with_deadline(struct grt_ctx **out, struct grt_ctx *parent,
			  int64_t deadline_ns)
{
	struct grt_ctx *c;
	bool in_g;
	int err;

	if (!out || deadline_ns <= 0)
		return -EINVAL;
	in_g = grt__sync_enter();
	if (!in_g)
		return -EPERM;
	err = ctx_new(&c, parent);
	if (err)
		goto out;
	/* The parent's deadline comes first: it is ours (Go's WithCancel). */
	if (c->deadline && c->deadline <= deadline_ns)
		goto done;
	c->deadline = deadline_ns;
	if (deadline_ns <= grt__nanotime()) {
		ctx_cancel(c, -ETIMEDOUT, true);
		goto done;
	}
	/* Under the lock: a cancel (by the parent, already) either came
	 * first, and there is nothing to time, or comes after and stops it. */
	grt__sync_lock(&c->lock);
	if (!atomic_load_explicit(&c->err, memory_order_relaxed)) {
		c->timer.when = deadline_ns;
		grt__timer_add(grt__curm()->p, &c->timer);
		/* A P that runs unwatched must not hold a timer (proc.c). */
		grt__mon_lazy_check();
	}
	grt__sync_unlock(&c->lock);
done:
	*out = c;
out:
	grt__sync_exit(in_g);
	return err;
}

int grt_ctx_with_timeout(struct grt_ctx **out, struct grt_ctx *parent,
			 int64_t ns)
{
	if (ns < 0)
		return -EINVAL;
	return grt_ctx_with_deadline(out, parent,
				     grt__time_after(grt__nanotime(), ns));
}

void grt_ctx_cancel(struct grt_ctx *c)
{
	bool in_g;

	if (!c)
		return;
	in_g = grt__sync_enter();
	ctx_cancel(c, -ECANCELED, true);
	grt__sync_exit(in_g);
}

struct grt_chan *grt_ctx_done(struct grt_ctx *c)
{
	return c ? c->done : NULL;
}

int grt_ctx_err(struct grt_ctx *c)
{
	return c ? atomic_load_explicit(&c->err, memory_order_acquire) : 0;
}

bool grt_ctx_deadline(struct grt_ctx *c, int64_t *deadline_ns)
{
	if (!c || !c->deadline)
		return false;
	if (deadline_ns)
		*deadline_ns = c->deadline;
	return true;
}

void grt_ctx_free(struct grt_ctx *c)
{
	bool in_g;

	if (!c)
		return;
	in_g = grt__sync_enter();
	ctx_cancel(c, -ECANCELED, true);
	ctx_put(c);
	grt__sync_exit(in_g);
}
