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
 * The design, the G state machine, the list of what each primitive
 * blocks (G, M or P), which function may be called from where (any
 * thread, a signal handler, after fork()), the differences from Go and
 * the diagnostics (GRT_DEBUG, SIGQUIT, stack overflow reports) are in
 * docs/runtime.md.
 *
 * x86-64 only: the context switch is assembly (lib/rt/ctx_x86_64.S).
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

/* Default G stack: 64 KiB usable (256 KiB under ASan), plus a guard page. */
#define GRT_STACK_DEFAULT	(64u << 10)
#define GRT_STACK_MIN		(16u << 10)
#define GRT_STACK_MAX		(1u << 30)
#define GRT_NPROCS_MAX		1024u

/* grt_config.flags */
/*
 * Run the main G locked to the thread that called grt_run() (as Go's main
 * goroutine is during init): for libraries that must be called from the
 * process's main thread. main may grt_unlock_thread() to drop it.
 */
#define GRT_LOCK_MAIN		0x1u

/* Zero-initialise; every zero field means "the default". */
struct grt_config {
	/* Ps: how many Gs run in parallel. 0: online CPUs. */
	unsigned int nprocs;
	/*
	 * Usable stack bytes of every G, rounded up to the page size.
	 * 0: GRT_STACK_DEFAULT. Stacks do not grow: a G that overflows hits
	 * its guard page; the runtime then prints "grt: G<id> overflowed its
	 * stack (<size> bytes, ...)" on stderr and aborts (SIGABRT).
	 */
	size_t stack_size;
	/* GRT_LOCK_MAIN or 0; other bits: -EINVAL. */
	unsigned int flags;
	/*
	 * Signal used to preempt a G that runs more than 10 ms without a
	 * safe point (docs/runtime.md, "Preemption"). 0: SIGURG (as Go);
	 * -1: no signal (cooperative preemption only).
	 */
	int preempt_signal;
};

/*
 * grt_run() - start the runtime and run main(arg) as its first G.
 *
 * The calling thread becomes the first M (and runs Gs like any other M).
 * Returns when main returns (or calls grt_exit()): other Gs still alive
 * are discarded without running further, as when a Go program's main
 * returns, and the runtime tears down completely (threads joined, every
 * stack unmapped), so it can be started again. grt_run() waits for Ms
 * that are inside a system call (including Gs blocked in a raw read()) and
 * for Gs that never reach a scheduling point; see docs/runtime.md.
 *
 * Returns 0; -EDEADLK if every G blocked for ever (after printing "grt:
 * all goroutines are asleep - deadlock!" and the list of Gs with what
 * they wait for to stderr); -EBUSY if a runtime is already running in
 * this process (one at a time, also from inside a G); -EINVAL (main NULL,
 * nprocs > GRT_NPROCS_MAX, stack_size out of [GRT_STACK_MIN,
 * GRT_STACK_MAX], unknown flags); -ENOMEM; -ENODEV if no wake word
 * backend can be used: GWAKE_BACKEND names no backend or one that cannot
 * be used here (libgwake says which and why on stderr, once per process),
 * or neither backend works. Other errors of gwake_self() are passed on.
 * Any thread that is not an M.
 *
 * While it runs, the runtime has a SIGSEGV/SIGBUS handler (stack overflow
 * reports; every other fault goes to the handler installed before, or to
 * the default action) and, if SIGQUIT had its default action, a SIGQUIT
 * handler (grt_dump() to stderr); each M has an alternate signal stack
 * unless its thread had one. The environment variable GRT_DEBUG
 * (comma-separated, as Go's GODEBUG) is read at each grt_run():
 * schedtrace=MS prints a "SCHED" line every MS milliseconds on stderr;
 * sigquit=dump (default: dump and go on), sigquit=exit (dump and _exit(2),
 * as Go), sigquit=off (leave SIGQUIT alone). See docs/runtime.md.
 */
int grt_run(const struct grt_config *cfg, void (*main)(void *), void *arg);

/*
 * grt_go() - spawn a G running fn(arg). It goes to the current P's
 * run-next slot (it runs soon, on this P unless another P steals it); the
 * caller goes on running. Ordering: everything the caller did before
 * grt_go() is visible to fn. Returns 0, -EINVAL (fn NULL), -EPERM (not
 * called from a G), -ENOMEM, -EAGAIN (the kernel refused a new stack
 * mapping: with the default vm.max_map_count about 32,000 Gs can be
 * alive at once, docs/runtime.md). Blocks nothing.
 */
int grt_go(void (*fn)(void *), void *arg);

/*
 * grt_yield() - let the other runnable Gs of this P run first; the caller
 * goes to the tail of the local run queue (returns at once if there is
 * nothing else to run). Blocks the G for a moment, never the M. No-op
 * outside a G.
 */
void grt_yield(void);

/*
 * grt_exit() - end the calling G now, as returning from its function
 * does. Frames above are discarded, not unwound. Ending the main G ends
 * grt_run(). Aborts if not called from a G.
 */
void grt_exit(void) __attribute__((noreturn));

/*
 * grt_sleep() - block the G for at least ns nanoseconds (CLOCK_MONOTONIC;
 * ns <= 0 yields). The M runs other Gs meanwhile. Timers live on the P the
 * G slept on. Returns 0, -EPERM (not called from a G).
 */
int grt_sleep(int64_t ns);

/*
 * grt_preempt_check() - a safe point: if the monitor asked the calling G
 * to give up its P (it has run for more than 10 ms), yield now. Cheap (a
 * load and a branch): put it in long computations that call nothing else
 * of the runtime. No-op outside a G.
 */
void grt_preempt_check(void);

/* The calling G's id (1 is main's first G), 0 outside a G. */
uint64_t grt_id(void);

/* Number of Ps of the running runtime; 0 if none runs. Any thread. */
unsigned int grt_nprocs(void);

/* ---- Diagnostics ------------------------------------------------------ */

/*
 * grt_dump() - write every G to fd: its id, state (runnable, running,
 * syscall, or what it waits for: "chan receive", "chan send", "select",
 * "select (no cases)", "sleep", "mutex lock", "waitgroup wait", "thread
 * call", "coroutine", "rwmutex rlock", "rwmutex lock", "once", "cond
 * wait"), its M and P, its entry function and a backtrace (frame
 * pointers, names from the ELF symbol tables), preceded by a "SCHED"
 * summary and every M's state.
 * The format is in docs/runtime.md; it is for people, not parsers.
 *
 * A snapshot taken without stopping anything: Gs change state while they
 * are printed, and Gs running on other threads have no backtrace
 * (docs/runtime.md says exactly what may be stale). Takes no lock and
 * allocates nothing. Any thread, including a signal handler
 * (async-signal-safe), while a runtime runs. Returns 0, -ESRCH (no
 * runtime is running), -EBADF (fd < 0), or the first error of write(2).
 */
int grt_dump(int fd);

/*
 * What grt_stats() reports. Set size to sizeof(struct grt_stats) before
 * the call: fields are only ever appended, so a program built with an
 * older header gets the fields it knows, and one built with a newer
 * header than the library gets the rest zero-filled; size is set to the
 * bytes the library filled.
 *
 * Exact or snapshot: the counters (since grt_run()) include every event
 * that happens before the grt_stats() call (in the sense of the memory
 * model: the caller's own, and those of Gs it synchronised with), and
 * possibly some concurrent ones. The gauges (gs_*, ms_*, procs_idle,
 * runq_*) are read one at a time without stopping anything: each is a
 * value it had during the call, but they need not add up, except when
 * nothing else runs.
 */
struct grt_stats {
	uint32_t size;
	uint32_t procs;		/* Ps (grt_config.nprocs) */
	uint32_t procs_idle;	/* Ps with no M */
	uint32_t ms;		/* Ms (threads that run Gs; thread-call
				 * servers and the grt_run() thread
				 * included, the monitor not) */
	uint32_t ms_idle;	/* Ms parked with nothing to do */
	uint32_t ms_spinning;	/* Ms looking for work */
	uint32_t ms_syscall;	/* Ms whose G runs without a P: system
				 * calls, preempted hogs, thread-call
				 * servers */
	uint32_t ms_locked;	/* Ms bound to a locked G (grt_lock_thread,
				 * thread-call servers) */
	uint64_t gs_runnable;	/* Gs waiting for an M in a run queue */
	uint64_t gs_running;	/* thread-call servers' Gs included */
	uint64_t gs_syscall;	/* Gs running without a P (as ms_syscall) */
	uint64_t gs_waiting;	/* parked: channels, sleep, mutex, ... */
	uint64_t gs_free;	/* dead Gs kept for reuse */
	uint64_t runq_global;	/* Gs in the global run queue */
	uint64_t runq_local;	/* Gs in the Ps' own queues */
	uint64_t stacks;	/* G stack mappings, in use or cached */
	/* Counters since grt_run(). */
	uint64_t spawned;	/* Gs created: main, grt_go(), coroutines,
				 * thread-call servers */
	uint64_t switches;	/* Gs switched in by the scheduler (not
				 * coroutine switches) */
	uint64_t steals;	/* successful steals from another P */
	uint64_t handoffs;	/* Ps the monitor took from Ms in a
				 * system call and handed on */
	uint64_t preemptions;	/* preemption requests (a G ran > 10 ms) */
	uint64_t thread_calls;	/* grt_thread_call()s that ran */
};

/*
 * grt_stats() - fill *st (see struct grt_stats). Any thread, including a
 * signal handler (async-signal-safe: no lock, no allocation), while a
 * runtime runs. Returns 0, -EINVAL (st NULL or st->size < 8), -ESRCH
 * (no runtime is running).
 */
int grt_stats(struct grt_stats *st);

/* ---- LockOSThread and thread calls ------------------------------------ */

/*
 * grt_lock_thread() - lock the calling G to its current M (OS thread):
 * the G then runs only on this thread and the thread runs only this G.
 * While the G waits (channel, sleep, mutex), its M hands its P to others
 * and sleeps on its own wake word; grt__ready() of the G wakes exactly
 * that M by handle (the G never goes through a run queue and no other M
 * ever touches it). Calls nest: the G stays locked until as many
 * grt_unlock_thread() calls. A G that ends while locked ends its thread
 * too (its state may have been changed), except for the thread that
 * called grt_run(). Returns 0, -EPERM (not a G), -EOVERFLOW (nesting).
 */
int grt_lock_thread(void);

/*
 * grt_unlock_thread() - undo one grt_lock_thread(). Returns 0, or -EPERM
 * if the calling G is not locked (or not a G): an unbalanced unlock is
 * reported, never ignored. Also -EPERM for the lock a thread-call server
 * holds on its own thread.
 */
int grt_unlock_thread(void);

/* A locked thread serving calls (syscall-server pattern, no channel). */
struct grt_thread;

/*
 * grt_thread_start() - start a new OS thread that serves grt_thread_call()
 * from any number of Gs, in arrival order, one at a time. It runs without
 * a P while it waits or runs a call (as a G in a system call does): the
 * calls it runs do not take a P from the Gs. Returns 0 with the thread in
 * *out, -EINVAL, -ENOMEM, -EAGAIN (no thread), -EPERM (runtime not
 * running). From a G.
 */
int grt_thread_start(struct grt_thread **out);

/*
 * grt_thread_call() - run fn(arg) on thread t and wait for it; its return
 * value goes to *ret (ret may be NULL). The caller's G waits; its M runs
 * other Gs (or, when it has nothing else to run, the G spins briefly
 * first: a short call completes without any thread going to sleep).
 * Callers queue on a wait-free mailbox (no lock); the server spins briefly
 * after a call before it sleeps on its wake word, and is woken by handle.
 * fn runs on the server thread with that thread's identity (tid, signal
 * mask, namespaces, ptrace attachments); it may call the runtime (a
 * channel operation, grt_sleep()), in which case the server takes a P for
 * as long as it needs one. A call from the server thread itself (fn
 * calling grt_thread_call(t, ...)) runs inline.
 *
 * Ordering: everything the caller wrote before the call is visible to fn;
 * everything fn wrote is visible to the caller after return.
 * Returns 0, -EINVAL (t or fn NULL), -EPERM (not called from a G), -ESRCH
 * (t was stopped: the call did not run; also calls queued when the stop
 * was processed).
 */
int grt_thread_call(struct grt_thread *t, long (*fn)(void *), void *arg,
		    long *ret);

/*
 * grt_thread_stop() - let t finish the calls queued before this one, fail
 * the rest with -ESRCH, and end its thread. Waits for it. t stays valid
 * (every call returns -ESRCH) until grt_thread_free() or the runtime's
 * end. Returns 0, -ESRCH (already stopped), -EDEADLK (called from t
 * itself), -EINVAL, -EPERM (not a G).
 */
int grt_thread_stop(struct grt_thread *t);

/*
 * grt_thread_free() - stop t if needed and free it. No G may use t any
 * more. Returns as grt_thread_stop(), 0 if t was already stopped.
 */
int grt_thread_free(struct grt_thread *t);

/* ---- Coroutines -------------------------------------------------------- */

/*
 * A coroutine (Go's runtime/coro.go): concurrency without parallelism. A
 * coroutine always holds one blocked G. grt_coro_switch(c) hands the
 * caller's M straight to that G and blocks the caller in c instead: no run
 * queue, no P hand-off, no other thread. Two Gs switching through c run
 * alternately, as generator and consumer (see the pull iterator in
 * selftests/rt_coro_test.c and docs/runtime.md).
 *
 * Thread locks (Go #65889, which Go answered in 1.23 by throwing): a
 * coroutine and the G that created it are one logical thread of control.
 * If the creator was locked to its M at grt_coro_new(), the coroutine is
 * bound to that M: every switch must happen on it with the same lock
 * nesting, and the lock moves with the switch (the G switched to runs
 * locked on the same thread, so thread-affine code in a generator body
 * stays on the thread). A switch with any other lock state -- from
 * another thread, after an unbalanced grt_lock_thread() or
 * grt_unlock_thread() inside the pair, or an unlocked creator's
 * coroutine that locked itself -- is refused with -EPERM and nothing
 * happens; grt_coro_exit() in that state aborts with a message (it
 * cannot return to a G that no longer exists).
 */
struct grt_coro;

/*
 * grt_coro_new() - a coroutine whose blocked G will run fn(c, arg) on the
 * first switch. Returns 0 with it in *out, -EINVAL, -ENOMEM, -EAGAIN,
 * -EPERM (not called from a G). Blocks nothing.
 */
int grt_coro_new(struct grt_coro **out,
		 void (*fn)(struct grt_coro *c, void *arg), void *arg);

/*
 * grt_coro_switch() - switch to the G blocked in c; the caller blocks in c
 * until some G switches back. Returns 0 when switched back to, 1 when
 * resumed because the G on the other side ended (returned from fn or
 * called grt_coro_exit()), -ESRCH if c has ended, -EPERM (lock state, see
 * above; or not a G), -EDEADLK (the caller is the G blocked in c: cannot
 * happen through the API, reported rather than hanging), -EINVAL.
 * Ordering: the switcher's writes are visible to the G it switches to.
 * Concurrent switches on one c from two Gs abort with a message: c is
 * one thread of control.
 */
int grt_coro_switch(struct grt_coro *c);

/*
 * grt_coro_exit() - end the calling G and resume the G blocked in c
 * (whose grt_coro_switch() returns 1). Returning from the coroutine's fn
 * does the same. Returns only on error: -ESRCH, -EPERM, -EINVAL.
 */
int grt_coro_exit(struct grt_coro *c);

/*
 * grt_coro_free() - free c. If a G is still blocked in it (a generator
 * that was not run to its end), that G is discarded without running
 * further (its frames are not unwound). Returns 0, -EBUSY if a switch is
 * in progress, -EINVAL. The caller guarantees no G uses c afterwards.
 */
int grt_coro_free(struct grt_coro *c);

/* ---- Blocking system calls --------------------------------------------- */

/*
 * grt_syscall_enter(), grt_syscall_exit() - bracket a call that may block
 * in the kernel. Between them the G keeps its M but its P may be taken:
 * the monitor hands the P of an M that stays in a system call to another
 * M, as Go's sysmon: after 5 us if Gs waited for the P when the call
 * began (grt_syscall_enter() then wakes the monitor, unless this M's
 * recent calls kept ending sooner), else after two of its 20 us ticks if
 * Gs wait by then.
 * grt_syscall_exit() gets the P back if it is still free, else another
 * idle P, else queues the G on the global run queue and parks the M (a
 * locked G waits on its own M for a P). Preserve errno between them
 * yourself. No runtime call is allowed in between except grt_* calls,
 * which take a P back first. No-ops outside a G.
 */
void grt_syscall_enter(void);
void grt_syscall_exit(void);

/* read(2), write(2), nanosleep(2) inside grt_syscall_enter/exit. Return
 * the count (or 0) or -errno; errno is left untouched. */
ssize_t grt_read(int fd, void *buf, size_t count);
ssize_t grt_write(int fd, const void *buf, size_t count);
/* Blocks the M (unlike grt_sleep(), which blocks only the G). */
int grt_nanosleep(int64_t ns);

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
 * Freeing a channel as soon as an operation on it completed a blocked
 * grt_select() is safe: that select, awake but not yet returned, still
 * holds the channel, and the memory goes when it lets go.
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

/* ---- Timers on channels, contexts -------------------------------------- */

/*
 * grt_now() - the current CLOCK_MONOTONIC time in nanoseconds: the clock
 * of every timer, deadline and fire time of the runtime. Any thread,
 * runtime or not; async-signal-safe.
 */
int64_t grt_now(void);

/*
 * A timer whose fires are values on a channel: Go's time.Timer (period
 * 0) and time.Ticker (period > 0), with the semantics Go has had since
 * 1.23. Each fire sends its time (int64_t, grt_now() when it fired) on
 * the timer's channel with the channel's normal machinery: a G blocked
 * in grt_chan_recv() or grt_select() on it is readied by the fire, and
 * grt_select() with a timer case is how a wait times out.
 *
 * The channel (grt_timer_chan()) holds one value: a ticker whose receiver
 * is slow drops the ticks it cannot deliver (never more than one waits),
 * and grt_timer_stop() or grt_timer_reset() drain it, so that once either
 * has returned, no value of the timer's earlier setting is ever received.
 * Receive from it only (recv, try_recv, select); a send or close on it is
 * a bug (the timer then delivers nothing). grt_chan_len() reports the
 * waiting value (0 or 1), grt_chan_cap() 1.
 *
 * The timer lives on the heap of the P of the G that set it, as a sleep
 * does. While it is pending it counts as something that can make
 * progress (no deadlock report, as in Go before 1.23); a stopped or
 * fired one-shot timer does not.
 *
 * Memory ordering: a fire happens before the receive that gets its value
 * (it is a send); everything before grt_timer_new() or grt_timer_reset()
 * happens before the fires of that setting; grt_timer_stop() and
 * grt_timer_reset() happen after every fire whose value they drained or
 * that a receive got before they returned.
 *
 * The idiom of Go's time.After(d) -- select { case v := <-c: ...; case
 * <-time.After(d): ... } -- is grt_timer_new(&t, d, 0), a select with
 * the case { grt_timer_chan(t), &when, GRT_SELECT_RECV }, then
 * grt_timer_free(t) (which stops it if the other case won).
 */
struct grt_timer;

/*
 * grt_timer_new() - a timer that fires once ns nanoseconds from now
 * (period_ns 0), or first after ns and then every period_ns (a ticker;
 * Go's time.NewTicker(d) is ns = period_ns = d). ns 0 fires at once
 * (at the P's next scheduling round); a time beyond INT64_MAX never
 * comes. Ticks that a busy runtime fires late are not made up for: the
 * next one is the first multiple of period_ns after the late fire.
 * Returns 0 with it in *out, -EINVAL (out NULL, ns < 0, period_ns < 0),
 * -ENOMEM, -EPERM (not called from a G).
 */
int grt_timer_new(struct grt_timer **out, int64_t ns, int64_t period_ns);

/*
 * grt_timer_chan() - the channel t's fires are sent on (int64_t
 * elements, capacity 1), for grt_chan_recv() and grt_select(); NULL for
 * NULL. It lives as long as t. Any thread.
 */
struct grt_chan *grt_timer_chan(struct grt_timer *t);

/*
 * grt_timer_stop() - stop t: it fires no more, and a value of it that no
 * receiver took yet is thrown away. Returns 1 if that stopped a fire (t
 * was pending, or its value was still waiting in the channel: as in Go
 * 1.23, a value nobody received has not fired as far as the program can
 * tell), 0 if there was nothing to stop (t fired and its value was
 * received, or t was stopped already; a ticker is pending until
 * stopped), -EINVAL (t NULL). Any thread, also after grt_run() returned.
 * A G blocked on the channel stays blocked (until a reset fires).
 */
int grt_timer_stop(struct grt_timer *t);

/*
 * grt_timer_reset() - stop t as grt_timer_stop() does, then set it again
 * as grt_timer_new(.., ns, period_ns) would, on the caller's P. Returns
 * 1 if t was pending (as grt_timer_stop()), 0 if not, -EINVAL (t NULL,
 * ns < 0, period_ns < 0: t is left alone), -EPERM (not called from a G:
 * t is left alone).
 */
int grt_timer_reset(struct grt_timer *t, int64_t ns, int64_t period_ns);

/*
 * grt_timer_free() - stop t if pending, and free it and its channel.
 * Returns 0, or -EBUSY (nothing freed, t still runs) while a G is blocked
 * on the channel: a G waiting on freed memory would be lost for ever.
 * NULL is a no-op. The caller guarantees nobody uses t or its channel
 * afterwards; a fire already on its way on another M finishes first and
 * the memory goes with it. As for grt_chan_free(), freeing t as soon as
 * a select that t's fire completed has returned is safe. Any thread,
 * also after grt_run() returned.
 */
int grt_timer_free(struct grt_timer *t);

/*
 * A context: Go's context.Context without values. A tree of cancellation
 * scopes: each context has a done channel that is closed, once, when the
 * context is cancelled (grt_ctx_cancel(), grt_ctx_free()), when its
 * deadline passes, or when its parent is done -- whichever is first --
 * and an error saying why (grt_ctx_err()). Gs select on done next to
 * their real work and give up when it closes.
 *
 * A NULL context is Go's context.Background(): never done, no deadline;
 * it is the parent of a root. grt_ctx_done(NULL) is NULL, a select case
 * that is never chosen.
 *
 * Lifetime: every context made must be freed once with grt_ctx_free(),
 * which cancels it (as calling Go's cancel function) and releases it;
 * after it, the caller must not use that context (pass it, call any
 * grt_ctx_* on it, use its done channel). Parents and children may be
 * freed in any order: a child keeps its parent's memory (not the right
 * to use it) until the child is freed, and freeing a parent cancels its
 * children, which stay usable until freed themselves. Internally
 * reference counted; nothing leaks if every context is freed once.
 * Objects that Gs still waited on when grt_run() returned (a done
 * channel with a discarded G in a select on it) must not be used after
 * it, as for channels.
 *
 * Memory ordering: a cancel (or the deadline's fire) happens before every
 * receive that observes done closed and before every grt_ctx_err() that
 * returns its error; a parent's cancellation happens before its
 * children's.
 */
struct grt_ctx;

/*
 * grt_ctx_with_cancel() - a new context, child of parent (NULL: a root),
 * done when cancelled or when parent is done. If parent is done already,
 * the child is born done with parent's error. Its deadline is parent's.
 * Returns 0 with it in *out, -EINVAL (out NULL), -ENOMEM. Any thread
 * while the runtime runs (the parent's cancel may ready Gs).
 */
int grt_ctx_with_cancel(struct grt_ctx **out, struct grt_ctx *parent);

/*
 * grt_ctx_with_deadline() - as grt_ctx_with_cancel(), and also done with
 * -ETIMEDOUT at deadline_ns (CLOCK_MONOTONIC, grt_now()): the timer lives
 * on the caller's P. If parent's deadline is earlier, it is the child's
 * too and the child has no timer of its own; a deadline already past
 * gives a context that is done at once. Returns 0, -EINVAL (out NULL,
 * deadline_ns <= 0), -ENOMEM, -EPERM (not called from a G).
 */
int grt_ctx_with_deadline(struct grt_ctx **out, struct grt_ctx *parent,
			  int64_t deadline_ns);

/*
 * grt_ctx_with_timeout() - grt_ctx_with_deadline(out, parent, grt_now()
 * + ns). Returns as it does, and -EINVAL for ns < 0.
 */
int grt_ctx_with_timeout(struct grt_ctx **out, struct grt_ctx *parent,
			 int64_t ns);

/*
 * grt_ctx_cancel() - cancel c and, recursively, every context below it
 * that is not done yet: each gets error -ECANCELED and its done channel
 * closed, before this returns. A context that is done already keeps its
 * error; if another thread is cancelling c or an ancestor (a cancel, a
 * deadline) at the same moment, this waits for it, so that c's whole
 * subtree is done on return whoever did it (the wait blocks the M for
 * as long as that cancel walks the subtree). c leaves its parent (the
 * parent is not affected). NULL is a no-op. Any thread while the runtime
 * runs.
 */
void grt_ctx_cancel(struct grt_ctx *c);

/*
 * grt_ctx_done() - c's done channel (empty elements): a receive on it
 * blocks until c is done and then returns 0 (closed), for ever after. For
 * grt_chan_recv(), grt_chan_try_recv() and grt_select(); never send on
 * it, close it or free it. NULL for NULL (never done). Any thread.
 */
struct grt_chan *grt_ctx_done(struct grt_ctx *c);

/*
 * grt_ctx_err() - 0 while c is not done, then for ever why it is done:
 * -ECANCELED (cancelled, freed, or an ancestor was) or -ETIMEDOUT (its
 * deadline, or an ancestor's, passed). 0 for NULL. Any thread; one load.
 */
int grt_ctx_err(struct grt_ctx *c);

/*
 * grt_ctx_deadline() - true with c's deadline in *deadline_ns (may be
 * NULL): the earliest of its own and its ancestors'; false if c has none
 * (or c is NULL). Any thread.
 */
bool grt_ctx_deadline(struct grt_ctx *c, int64_t *deadline_ns);

/*
 * grt_ctx_free() - cancel c (as grt_ctx_cancel(), if it is not done) and
 * release it: the caller's last use of c (see Lifetime above). NULL is a
 * no-op. Any thread while the runtime runs; after grt_run() returned,
 * any thread as long as no G of that runtime was left waiting on it.
 */
void grt_ctx_free(struct grt_ctx *c);

/* ---- Mutex, wait group ------------------------------------------------- */

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

/* ---- Read-write mutex, once, condition variable ------------------------ */

/*
 * Go's sync.RWMutex, sync.Once and sync.Cond. Like the mutex, they block
 * the calling G, never its M, with the same protocol (a waiter on the G's
 * stack, an internal lock released by the park's commit): see the top of
 * lib/rt/rwmutex.c, once.c and cond.c. A waiting G shows "rwmutex rlock",
 * "rwmutex lock", "once" or "cond wait" in grt_dump() and the deadlock
 * report.
 */

/*
 * A reader/writer mutual exclusion lock for Gs (Go's sync.RWMutex): any
 * number of readers, or one writer. Zero-initialise it (GRT_RWMUTEX_INIT
 * or memset) or call grt_rwmutex_init(); it needs no destruction. As the
 * mutex, it is not tied to a G: any G may unlock what another locked.
 *
 * Writer preference, as Go: once a writer waits for the lock, new readers
 * wait until that writer has had it and unlocked, so a stream of readers
 * cannot starve writers. A consequence (as in Go): a G that holds a read
 * lock must not take it again if a writer may be waiting in between
 * (recursive read locking deadlocks). Writers queue among themselves on
 * an internal grt_mutex (its normal and starvation modes included).
 * Uncontended, rlock and runlock are one atomic addition each.
 *
 * Memory ordering (what Go's memory model says of RWMutex): the n-th
 * unlock happens before the (n+1)-th lock returns; and for every rlock
 * there is an n such that the n-th unlock happens before that rlock
 * returns, and its matching runlock happens before the (n+1)-th lock
 * returns. So a reader sees every write of the writers before it, and a
 * writer sees the reads of the readers before it finished (it cannot
 * overwrite what a reader is still reading).
 *
 * Misuse aborts with a message on stderr: runlock of an rwmutex that no
 * reader holds, unlock of an rwmutex that no writer holds, more than
 * GRT_RWMUTEX_MAX_READERS - 1 readers at once, a thread outside the
 * runtime that would have to wait.
 */
struct grt_rwmutex {
	struct grt_mutex grt__w;
	struct grt__sema grt__wsema;
	struct grt__sema grt__rsema;
	int32_t grt__readers;
	int32_t grt__departing;
};

#define GRT_RWMUTEX_INIT	{ 0 }
#define GRT_RWMUTEX_MAX_READERS	(1 << 30)

void grt_rwmutex_init(struct grt_rwmutex *rw);
/*
 * grt_rwmutex_rlock() - take a read lock: wait while a writer holds the
 * lock or waits for it. From a G (elsewhere it aborts if it must wait).
 */
void grt_rwmutex_rlock(struct grt_rwmutex *rw);
/*
 * grt_rwmutex_runlock() - drop one read lock; the last reader to leave
 * lets a waiting writer in. Any thread while the runtime runs.
 */
void grt_rwmutex_runlock(struct grt_rwmutex *rw);
/*
 * grt_rwmutex_lock() - take the write lock: wait for the writers before,
 * then keep new readers out and wait for the readers inside to leave.
 * From a G (elsewhere it aborts if it must wait).
 */
void grt_rwmutex_lock(struct grt_rwmutex *rw);
/*
 * grt_rwmutex_unlock() - drop the write lock and let in every reader that
 * waited for it (before the next writer). Any thread while the runtime
 * runs.
 */
void grt_rwmutex_unlock(struct grt_rwmutex *rw);
/*
 * grt_rwmutex_tryrlock(), grt_rwmutex_trylock() - take a read lock (the
 * write lock) only if that needs no wait now; true if taken. A read lock
 * is refused while a writer holds the lock or waits for it; the write
 * lock while anybody holds it or another writer holds or waits for the
 * internal writers' mutex. Never block. Any thread while the runtime runs.
 */
bool grt_rwmutex_tryrlock(struct grt_rwmutex *rw);
bool grt_rwmutex_trylock(struct grt_rwmutex *rw);

/*
 * A once (Go's sync.Once): grt_once_do() runs fn(arg) the first time it
 * is called on o, and never again. Zero-initialise it (GRT_ONCE_INIT or
 * memset); it needs no destruction.
 *
 * Every caller returns only after fn has returned: concurrent callers
 * park (their M runs other Gs) until the first caller's fn is done; a
 * later call is one acquire load. Memory ordering: the return of fn
 * happens before every grt_once_do(o) returns, so what fn wrote is
 * visible to every caller.
 *
 * Calling grt_once_do(o) from inside fn (directly, or through other onces
 * whose fn calls it) would wait for itself for ever, as in Go: the G that
 * runs fn is recorded, and such a call aborts with a message on stderr
 * instead. A cycle through several Gs is not detected (the deadlock
 * report sees it if every G waits).
 *
 * If fn ends its G (grt_exit(), or the runtime's end discarding it),
 * nothing runs on its behalf (there is no unwinding): o is never done and
 * stays busy, and every grt_once_do(o), present or future, waits for ever
 * (Go's Goexit runs deferred calls and marks the once done; there is no
 * C equivalent). fn must return normally.
 */
struct grt_once {
	uint32_t grt__done;
	uint64_t grt__owner;
	struct grt_mutex grt__m;
};

#define GRT_ONCE_INIT		{ 0 }

/*
 * grt_once_do() - run fn(arg) if no grt_once_do(o) has run its fn yet;
 * return when that has happened (in this call or another). The fn of
 * later calls is ignored. A NULL fn that would be called aborts with a
 * message (Go's call of a nil function). From a G; from another thread
 * too, but it aborts if it must wait (while fn runs in another call).
 */
void grt_once_do(struct grt_once *o, void (*fn)(void *), void *arg);

/*
 * A condition variable (Go's sync.Cond): Gs wait on it for a condition on
 * data protected by a grt_mutex. Zero-initialise it (GRT_COND_INIT or
 * memset) or call grt_cond_init(); it needs no destruction. The usual
 * pattern, as in Go:
 *
 *	grt_mutex_lock(&m);
 *	while (!condition)
 *		grt_cond_wait(&c, &m);
 *	... use the data ...
 *	grt_mutex_unlock(&m);
 *
 * and the waker changes the condition under m, then calls
 * grt_cond_signal() or grt_cond_broadcast() (holding m or not).
 *
 * Each wait takes a ticket before it unlocks m; signal wakes the waiter
 * with the oldest ticket not yet woken, broadcast every waiter holding a
 * ticket at that moment. A signal that comes between a waiter's unlock of
 * m and its park is therefore not lost: that waiter returns at once.
 *
 * Memory ordering: what the waker wrote before the signal or broadcast
 * that woke a waiter is visible to it when grt_cond_wait() returns
 * (through the cond's internal lock, and through m, which the waiter
 * locks again). Wakeups are not spurious, but a woken waiter competes
 * for m with other Gs, which may change the condition first: always wait
 * in a loop.
 */
struct grt_cond {
	uint32_t grt__wait;
	uint32_t grt__notify;
	uint32_t grt__lock;
	struct grt__waitq grt__q;
};

#define GRT_COND_INIT		{ 0 }

void grt_cond_init(struct grt_cond *c);
/*
 * grt_cond_wait() - unlock m, park the G until grt_cond_signal() or
 * grt_cond_broadcast() wakes it, then lock m again before returning. The
 * caller must hold m (an unlocked m aborts, as in grt_mutex_unlock()).
 * Aborts if called outside a G.
 */
void grt_cond_wait(struct grt_cond *c, struct grt_mutex *m);
/*
 * grt_cond_signal() - wake the oldest waiter, if any. grt_cond_broadcast()
 * - wake every G waiting now. Neither needs m held. Any thread while the
 * runtime runs (with nobody waiting they are two loads, from any thread).
 */
void grt_cond_signal(struct grt_cond *c);
void grt_cond_broadcast(struct grt_cond *c);

#ifdef __cplusplus
}
#endif

#endif /* GWAKE_RT_H */
