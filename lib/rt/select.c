// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * select over channels (API in include/gwake/rt.h; the channel protocol
 * at the top of lib/rt/chan.c). Go's selectgo, in four steps:
 *
 *  0. Orders. pollorder is a random permutation of the enabled cases: the
 *     order in which readiness is checked, so that when several cases are
 *     ready each is equally likely to win and none starves. lockorder is
 *     the cases sorted by channel address: every select takes its locks in
 *     that one global order, so two selects over the same channels cannot
 *     deadlock, and a channel named twice is locked once. It is sorted from
 *     pollorder, not from case order, by a sort that is not stable, so that
 *     cases on one channel end up in random order among themselves: step 2
 *     queues waiters in lockorder, and a peer takes the first waiter of a
 *     queue, so a fixed order would let one case of a channel named twice
 *     win every time (Go's TestPseudoRandomSend).
 *
 *  1. With every channel locked, look for a case that can proceed now, in
 *     pollorder, and perform it exactly as the single operation would.
 *     If none can: with GRT_SELECT_NONBLOCK, unlock and return -EAGAIN.
 *
 *  2. Queue one waiter per case (Go's sudogs), all pointing at one struct
 *     grt__select, take a reference on each channel (selrefs), and park.
 *     The park commit unlocks the channels (in lock order) once the G is
 *     off its stack. A peer on any of the channels may now complete the
 *     select: the first one to CAS done from 0 to 1 performs its case and
 *     readies the G; every other peer skips (and drops) the waiters of a
 *     decided select.
 *
 *  3. Awake, lock every channel again and unlink the waiters that did not
 *     win from their queues (a waiter is unlinked once: by a peer that
 *     dropped it, or here), so nothing is left on a quiet channel, and drop
 *     the references. The peer that completed the select may have freed
 *     its channel meanwhile, reading (rightly) that nobody waits on it: the
 *     reference kept the memory, and the last select to drop it frees it
 *     (grt_chan_free()).
 *
 * The commit and a peer that readies the G early. The peer may win on
 * the first channel the commit unlocked and ready the G while the commit
 * is still unlocking the others, from the G's stack. That is safe: the G
 * cannot leave step 3 before it has taken the last lock again, and the
 * commit touches the G's stack only before it releases that last lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h"

/* Up to this many enabled cases, the select's state lives on the stack. */
#define SELECT_STACK_CASES	8

/* A per-thread xorshift64* generator: only fairness depends on it. */
static __thread uint64_t select_rng;

static uint32_t select_rand(uint32_t n)
{
	uint64_t x = select_rng;

	if (!x) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = ((uint64_t)ts.tv_nsec << 20) ^ (uintptr_t)&select_rng ^
		    (uint64_t)ts.tv_sec;
		x |= 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	select_rng = x;
	/* Lemire's multiply-shift: uniform enough for n <= 2^16. */
	return (uint32_t)(((x * 0x2545F4914F6CDD1Dull) >> 32) * n >> 32);
}

static inline uintptr_t case_key(const struct grt_select_case *cases,
				 uint32_t i)
{
	return (uintptr_t)cases[i].chan;
}

/* Heap sort of lo[0..n) by channel address: no allocation, O(n log n). */
static void sort_lockorder(const struct grt_select_case *cases, uint32_t *lo,
			   size_t n)
{
	size_t i, j, k, end;
	uint32_t t;

	for (i = n / 2; i-- > 0;) {
		/* sift down from i within [0, n) */
		for (j = i; (k = 2 * j + 1) < n; j = k) {
			if (k + 1 < n &&
			    case_key(cases, lo[k]) < case_key(cases, lo[k + 1]))
				k++;
			if (case_key(cases, lo[j]) >= case_key(cases, lo[k]))
				break;
			t = lo[j], lo[j] = lo[k], lo[k] = t;
		}
	}
	for (end = n; end-- > 1;) {
		t = lo[0], lo[0] = lo[end], lo[end] = t;
		for (j = 0; (k = 2 * j + 1) < end; j = k) {
			if (k + 1 < end &&
			    case_key(cases, lo[k]) < case_key(cases, lo[k + 1]))
				k++;
			if (case_key(cases, lo[j]) >= case_key(cases, lo[k]))
				break;
			t = lo[j], lo[j] = lo[k], lo[k] = t;
		}
	}
}

static void sel_lock(const struct grt_select_case *cases, const uint32_t *lo,
		     size_t n)
{
	struct grt_chan *last = NULL;
	size_t j;

	for (j = 0; j < n; j++) {
		struct grt_chan *c = cases[lo[j]].chan;

		if (c != last)
			grt__sync_lock(&c->lock);
		last = c;
	}
}

static void sel_unlock(const struct grt_select_case *cases,
		       const uint32_t *lo, size_t n)
{
	struct grt_chan *last = NULL;
	size_t j;

	for (j = 0; j < n; j++) {
		struct grt_chan *c = cases[lo[j]].chan;

		if (c != last)
			grt__sync_unlock(&c->lock);
		last = c;
	}
}

struct sel_park {
	const struct grt_select_case *cases;
	const uint32_t *lockorder;
	size_t n;
};

/*
 * The park commit of step 2: unlock every channel, in lock order. See the
 * top of the file for why reading the G's stack until the last unlock is
 * safe, and why nothing may be read after it.
 */
static bool sel_park_commit(struct grt_g *gp, void *arg)
{
	const struct sel_park *p = arg;
	const struct grt_select_case *cases = p->cases;
	const uint32_t *lo = p->lockorder;
	size_t n = p->n, j;
	struct grt_chan *c = cases[lo[0]].chan;

	(void)gp;
	for (j = 1; j < n; j++) {
		struct grt_chan *next = cases[lo[j]].chan;

		if (next != c) {
			grt__sync_unlock(&c->lock);
			c = next;
		}
	}
	grt__sync_unlock(&c->lock);
	return true;
}

static bool park_forever_commit(struct grt_g *gp, void *arg)
{
	(void)gp;
	(void)arg;
	return true;
}

/*
 * Step 1 for case i: perform it if it can proceed now. Returns true if it
 * did, with *okp and *peer (a G to ready after unlocking, or NULL).
 */
static bool sel_try_case(const struct grt_select_case *k, bool *okp,
			 struct grt_g **peer)
{
	struct grt_chan *c = k->chan;
	struct grt__waiter *w;

	if (k->dir == GRT_SELECT_RECV) {
		w = grt__waitq_dequeue(&c->sendq);
		if (w) {
			grt__chan_recv_waiter(c, w, k->elem);
			*peer = w->g;
			*okp = true;
			return true;
		}
		if (c->count > 0) {
			grt__chan_buf_take(c, k->elem);
			*okp = true;
			return true;
		}
		if (c->closed) {
			grt__chan_zero(c, k->elem);
			*okp = false;
			return true;
		}
		return false;
	}

	if (c->closed) {
		*okp = false;
		return true;
	}
	w = grt__waitq_dequeue(&c->recvq);
	if (w) {
		grt__chan_send_waiter(c, w, k->elem);
		*peer = w->g;
		*okp = true;
		return true;
	}
	if (c->count < c->cap) {
		grt__chan_buf_put(c, k->elem);
		*okp = true;
		return true;
	}
	return false;
}

/* grt_select() once the arguments are checked, without preemption. */
static int select_g(const struct grt_select_case *cases, size_t n,
		    size_t nact, bool block, bool *ok, struct grt_g *gp)
{
	uint32_t stack_order[2 * SELECT_STACK_CASES];
	struct grt__waiter stack_waiters[SELECT_STACK_CASES];
	struct grt__waiter *ws = stack_waiters, *winner;
	uint32_t *po = stack_order, *lo;
	bool case_ok = false;
	struct grt__select sel = { 0 };
	struct grt_g *peer = NULL;
	void *heap = NULL;
	struct sel_park park;
	size_t i, j, nfree;
	int ret;

	if (block && !gp)
		return -EPERM;

	if (nact == 0) {
		if (!block)
			return -EAGAIN;
		/* Go's select {}: nobody holds a reference to wake us. */
		for (;;)
			grt__park(park_forever_commit, NULL,
				  "select (no cases)");
	}

	if (nact > SELECT_STACK_CASES) {
		heap = malloc(nact * (2 * sizeof(uint32_t) +
				      sizeof(struct grt__waiter)));
		if (!heap)
			return -ENOMEM;
		ws = heap;
		po = (uint32_t *)(ws + nact);
	}
	lo = po + nact;

	/* Step 0: pollorder (Fisher-Yates, inside out) and lockorder. */
	for (i = 0, j = 0; i < n; i++) {
		uint32_t r;

		if (!cases[i].chan)
			continue;
		r = select_rand((uint32_t)j + 1);
		if (r != j)
			po[j] = po[r];
		po[r] = (uint32_t)i;
		j++;
	}
	memcpy(lo, po, nact * sizeof(*lo));
	sort_lockorder(cases, lo, nact);

	/* Step 1: something ready now? */
	sel_lock(cases, lo, nact);
	for (j = 0; j < nact; j++) {
		if (sel_try_case(&cases[po[j]], &case_ok, &peer)) {
			sel_unlock(cases, lo, nact);
			if (peer)
				grt__ready(peer);
			ret = (int)po[j];
			goto out;
		}
	}
	if (!block) {
		sel_unlock(cases, lo, nact);
		ret = -EAGAIN;
		goto out;
	}

	/* Step 2: a waiter on every channel, queued in lock order. */
	for (j = 0; j < nact; j++) {
		const struct grt_select_case *k = &cases[lo[j]];
		struct grt__waiter *w = &ws[j];

		*w = (struct grt__waiter){
			.g = gp, .elem = k->elem, .sel = &sel,
			.index = lo[j],
		};
		grt__waitq_push_tail(k->dir == GRT_SELECT_RECV ?
				     &k->chan->recvq : &k->chan->sendq, w);
		if (!j || k->chan != cases[lo[j - 1]].chan)
			k->chan->selrefs++;
	}
	park = (struct sel_park){ .cases = cases, .lockorder = lo, .n = nact };
	grt__park(sel_park_commit, &park, "select");

	/*
	 * Step 3: the winner was dequeued by its peer; unlink the rest, and
	 * let go of each channel. Those that grt_chan_free() left to us are
	 * freed after every unlock, each once (a channel named by several
	 * cases is one run of lockorder); pollorder, unused since step 1,
	 * lists them.
	 */
	sel_lock(cases, lo, nact);
	winner = sel.winner;
	if (!winner)
		grt__fatal("select woken without a winning case");
	for (j = 0, nfree = 0; j < nact; j++) {
		struct grt_chan *c = cases[lo[j]].chan;

		if (&ws[j] != winner)
			grt__waitq_remove(cases[lo[j]].dir == GRT_SELECT_RECV ?
					  &c->recvq : &c->sendq, &ws[j]);
		if ((!j || c != cases[lo[j - 1]].chan) &&
		    !--c->selrefs && c->free_pending)
			po[nfree++] = lo[j];
	}
	sel_unlock(cases, lo, nact);
	for (j = 0; j < nfree; j++)
		grt__chan_release(cases[po[j]].chan);
	case_ok = winner->success;
	ret = (int)winner->index;
out:
	if (ret >= 0 && ok)
		*ok = case_ok;
	free(heap);
	return ret;
}

int grt_select(const struct grt_select_case *cases, size_t n,
	       unsigned int flags, bool *ok)
{
	bool block = !(flags & GRT_SELECT_NONBLOCK), in_g;
	size_t i, nact = 0;
	int ret;

	if ((flags & ~GRT_SELECT_NONBLOCK) || n > GRT_SELECT_MAX ||
	    (n && !cases))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const struct grt_select_case *k = &cases[i];

		if (k->dir != GRT_SELECT_SEND && k->dir != GRT_SELECT_RECV)
			return -EINVAL;
		if (!k->chan)
			continue;
		if (k->dir == GRT_SELECT_SEND && !k->elem &&
		    k->chan->elem_size)
			return -EINVAL;
		nact++;
	}
	in_g = grt__sync_enter();
	ret = select_g(cases, n, nact, block, ok, in_g ? grt__curg() : NULL);
	grt__sync_exit(in_g);
	return ret;
}
