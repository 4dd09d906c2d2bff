/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gwake runtime: a Go-style G-M-P scheduler in C on top of the wake word.
 *
 *   G  a green thread: a function running on its own mmap'ed stack with a
 *      guard page. Gs are cheap to spawn and are multiplexed onto Ms.
 *   M  an OS thread. Each M owns a gwake handle (include/gwake/gwake.h);
 *      an M with nothing to run parks in gwake_block(), and whoever makes
 *      work available wakes exactly one parked M by handle.
 *   P  a processor: the right to run Gs, with a local run queue. There are
 *      nprocs Ps; an M must hold a P to run Gs.
 *
 * A G may lock itself to its M (grt_lock_thread): that M then runs only
 * that G, and when the G is readied, the readier wakes that M directly by
 * its wake word instead of going through a run queue.
 *
 * All functions with a grt_ prefix must be called from a G (inside
 * grt_run) unless their comment says otherwise. Errors are negative errno
 * values; misuse that cannot be reported (a bug in the caller that would
 * corrupt the runtime) aborts with a message on stderr.
 *
 * The design, the G state machine and the list of what each primitive
 * blocks (G, M or P) are in docs/runtime.md.
 *
 * This header is filled in by the runtime work (issue 3); the sections
 * below fix the names so the pieces fit together.
 */
#ifndef GWAKE_RT_H
#define GWAKE_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Runtime lifecycle, Gs, scheduling: lib/rt/ core ------------------ */

/* ---- LockOSThread and thread calls ------------------------------------ */

/* ---- Coroutines -------------------------------------------------------- */

/* ---- Blocking system calls --------------------------------------------- */

/* ---- Channels, select, mutex, wait group ------------------------------- */

/*
 * Channels, select, mutex and wait group block the calling G, never its M:
 * a G that must wait records itself in a waiter on its own stack, queues
 * it on the object and parks; the G that makes progress possible readies
 * it. The object's internal lock is released only after the parked G has
 * been switched out, so nobody ever readies a G that is still running.
 * The protocol is described at the top of lib/rt/chan.c (channels and
 * select) and lib/rt/mutex.c (mutex, wait group).
 */

/*
 * A channel of fixed-size elements, as Go's chan: unbuffered (capacity 0,
 * a send completes only when a receiver takes the element) or buffered (a
 * ring of cap elements). Elements are copied with memcpy(); a waiting G
 * receives a value copied straight into its own buffer by the sender (and
 * vice versa), never through the ring.
 *
 * Memory ordering (as in the Go memory model): a send happens before the
 * matching receive completes; the close of a channel happens before a
 * receive that returns because the channel is closed; for an unbuffered
 * channel, the receive happens before the matching send completes; the
 * k-th receive on a channel of capacity C happens before the (k+C)-th
 * send completes. "Happens before" means all memory writes of the first
 * are visible to the second.
 *
 * Errors: -EINVAL for a NULL channel or a bad argument, -EPIPE when the
 * channel is closed (a send on a closed channel, a send blocked when the
 * channel is closed, a second close), -EAGAIN when a non-blocking
 * operation would block, -EPERM for a blocking operation called outside
 * a G. Nothing is lost on an error: a failed send delivered nothing.
 */
struct grt_chan;

/* Largest element, in bytes (Go's limit: elements are copied by value). */
#define GRT_CHAN_ELEM_MAX	65535u

/*
 * grt_chan_make() - a new, open channel of cap elements of elem_size
 * bytes each (0 is fine: a channel of events). Returns 0 and the channel
 * in *out, -EINVAL (out NULL, elem_size > GRT_CHAN_ELEM_MAX, or cap *
 * elem_size overflows), -ENOMEM. Any thread.
 */
int grt_chan_make(struct grt_chan **out, size_t elem_size, size_t cap);

/*
 * grt_chan_free() - free channel c (closed or not, empty or not: buffered
 * elements are dropped). Returns 0, or -EBUSY (nothing freed) while a G
 * is blocked on it: a G waiting on freed memory would be lost for ever.
 * NULL is a no-op. The caller guarantees nobody uses c afterwards.
 */
int grt_chan_free(struct grt_chan *c);

/*
 * grt_chan_send() - send the element at elem (elem_size bytes, copied
 * before return; elem may be NULL only if elem_size is 0). Blocks the G
 * until a receiver took it or a buffer slot was free. Returns 0, -EPIPE
 * if c is closed or is closed while the sender waits (the element was
 * not delivered), -EINVAL, -EPERM (not called from a G).
 */
int grt_chan_send(struct grt_chan *c, const void *elem);

/*
 * grt_chan_recv() - receive an element into elem (NULL discards it).
 * Blocks the G until an element is available or c is closed. Returns 1
 * with the element, 0 if c is closed and drained (*elem is zero-filled:
 * Go's ok == false; like read() returning 0 at end of file), -EINVAL,
 * -EPERM (not called from a G). Elements buffered before the close are
 * still received.
 */
int grt_chan_recv(struct grt_chan *c, void *elem);

/*
 * grt_chan_try_send(), grt_chan_try_recv() - as above, but never block:
 * -EAGAIN where the blocking call would wait (Go's select with default).
 * They may be called from any thread, not only from a G, provided the
 * runtime is running (they may ready a waiting G).
 */
int grt_chan_try_send(struct grt_chan *c, const void *elem);
int grt_chan_try_recv(struct grt_chan *c, void *elem);

/*
 * grt_chan_close() - no more sends. Wakes every blocked receiver (they
 * return 0, zero-filled) and every blocked sender (they return -EPIPE).
 * Buffered elements stay receivable. Returns 0, -EPIPE if c was already
 * closed, -EINVAL if c is NULL. Any thread while the runtime is running.
 */
int grt_chan_close(struct grt_chan *c);

/*
 * grt_chan_len(), grt_chan_cap() - elements buffered now (a snapshot) and
 * the capacity; 0 for NULL (as len/cap of Go's nil channel). Any thread.
 */
size_t grt_chan_len(const struct grt_chan *c);
size_t grt_chan_cap(const struct grt_chan *c);

/* One case of grt_select(). */
struct grt_select_case {
	/*
	 * The channel; NULL disables the case, which is then never chosen
	 * (Go's nil-channel case: how a loop turns off a finished input).
	 */
	struct grt_chan *chan;
	/* GRT_SELECT_SEND: the element to send (copied when the case is
	 * chosen). GRT_SELECT_RECV: where to store the element; NULL
	 * discards it. */
	void *elem;
	int dir;
};

#define GRT_SELECT_SEND		1
#define GRT_SELECT_RECV		2

/* grt_select() flags. */
/* Do not block: return -EAGAIN if no case is ready (Go's default:). */
#define GRT_SELECT_NONBLOCK	0x1u

/* Most cases grt_select() accepts (Go's limit for select statements). */
#define GRT_SELECT_MAX		65536u

/*
 * grt_select() - wait until one of n cases can proceed, perform it, and
 * return its index. When several are ready, one is chosen uniformly at
 * random (no case can starve the others). *ok (may be NULL) is set to
 * true if the case sent or received an element, false if its channel is
 * closed: a receive case then zero-fills its elem (Go's ok == false); a
 * send case on a closed channel is ready and chosen, and delivered
 * nothing (where Go panics).
 *
 * Returns the index of the chosen case, -EAGAIN with GRT_SELECT_NONBLOCK
 * when no case is ready, -EINVAL (cases NULL with n > 0, n >
 * GRT_SELECT_MAX, a bad dir, a send case whose elem is NULL for a
 * non-empty element, unknown flags), -ENOMEM (more than a few cases need a
 * heap allocation), -EPERM (would block outside a G). Without
 * GRT_SELECT_NONBLOCK and with no enabled case, the G blocks for ever, as
 * Go's empty select {} does (the runtime reports a deadlock if everybody
 * does). Ordering: as the individual channel operation that was chosen.
 */
int grt_select(const struct grt_select_case *cases, size_t n,
	       unsigned int flags, bool *ok);

/* Private to lib/rt (lib/rt/sync.h): a queue of waiters, a semaphore. */
struct grt__waiter;
struct grt__waitq {
	struct grt__waiter *head, *tail;
};
struct grt__sema {
	uint32_t lock;
	uint32_t count;
	struct grt__waitq q;
};

/*
 * A mutual exclusion lock for Gs (Go's sync.Mutex). Zero-initialise it
 * (GRT_MUTEX_INIT or memset) or call grt_mutex_init(); it needs no
 * destruction. It is not tied to the G that locked it: any G may unlock.
 *
 * Uncontended, lock and unlock are one atomic instruction each. A G that
 * finds it locked spins a little, then parks (its M runs other Gs). Two
 * modes, as in Go: normal mode, where a woken waiter competes with newly
 * arriving Gs (who usually win: they are already running) and so may
 * lose; and starvation mode, entered when a waiter has waited more than
 * 1 ms, in which unlock hands the mutex directly to the oldest waiter and
 * newcomers queue behind it. It returns to normal mode when a waiter gets
 * it after waiting less than 1 ms or is the last waiter. Normal mode
 * gives throughput, starvation mode bounds the tail latency.
 *
 * Memory ordering: the n-th unlock happens before the (n+1)-th lock
 * returns (acquire/release on the state word, or through the hand-off).
 *
 * Misuse aborts with a message on stderr: unlock of an unlocked mutex; a
 * thread outside the runtime that would have to wait.
 */
struct grt_mutex {
	uint32_t grt__state;
	struct grt__sema grt__sema;
};

#define GRT_MUTEX_INIT		{ 0 }

void grt_mutex_init(struct grt_mutex *m);
void grt_mutex_lock(struct grt_mutex *m);
/* Lock only if free now (never waits); true if locked. */
bool grt_mutex_trylock(struct grt_mutex *m);
void grt_mutex_unlock(struct grt_mutex *m);

/*
 * A wait group (Go's sync.WaitGroup): a counter of outstanding tasks;
 * grt_waitgroup_wait() parks the G until it is zero. Zero-initialise it
 * (GRT_WAITGROUP_INIT) or call grt_waitgroup_init().
 *
 * The usual pattern: grt_waitgroup_add(wg, n) before starting n Gs, each
 * calls grt_waitgroup_done(wg) when finished, one G waits. A group may be
 * reused, but only once every wait of the previous round has returned
 * (as in Go); breaking that rule is detected where possible and aborts.
 *
 * Memory ordering: every done() (and add()) happens before the wait()
 * that it lets return.
 */
struct grt_waitgroup {
	uint64_t grt__state;
	struct grt__sema grt__sema;
};

#define GRT_WAITGROUP_INIT	{ 0 }

void grt_waitgroup_init(struct grt_waitgroup *wg);
/*
 * grt_waitgroup_add() - add delta (may be negative) to the counter; when
 * it reaches zero, every waiting G is woken. Returns 0, -EINVAL if the
 * counter would become negative, -EOVERFLOW if it would exceed INT32_MAX;
 * the counter is left unchanged on error. Any thread.
 */
int grt_waitgroup_add(struct grt_waitgroup *wg, int delta);
/* grt_waitgroup_done() - grt_waitgroup_add(wg, -1). */
int grt_waitgroup_done(struct grt_waitgroup *wg);
/*
 * grt_waitgroup_wait() - park the G until the counter is zero (returns at
 * once if it is). Aborts if called outside a G and it would have to wait.
 */
void grt_waitgroup_wait(struct grt_waitgroup *wg);

#ifdef __cplusplus
}
#endif

#endif /* GWAKE_RT_H */
