/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgwake: a wake word per thread.
 *
 * Every thread that calls into this API gets a wake word: a permit that
 * another thread of the same process sets by handle. The semantics are
 * those of Java's LockSupport.park/unpark and of the Go proposal
 * "runtime: add block/wake function" (GetG, BlockG, WakeG):
 *
 *  - gwake_wake() on a thread that is not blocked leaves a permit; permits
 *    do not accumulate (at most one is kept);
 *  - gwake_block() consumes the permit, sleeping until one is set;
 *  - a wake racing with a block behaves as if it came after it: no wake is
 *    ever lost, and spurious wakeups never reach the caller.
 *
 * Two backends implement it with the same semantics and error codes:
 * "kmod" uses /dev/gwake (gwake.ko), "user" is a pure userspace wake word
 * (bounded adaptive spin, then futex). The backend is chosen on first use:
 * the module if /dev/gwake opens and its version probe passes, else user.
 * The environment variable GWAKE_BACKEND=kmod|user forces one; forcing
 * kmod without a usable module makes every call fail with -ENODEV, and
 * the library says why once on stderr ("libgwake: ..."); GWAKE_DEBUG=1
 * adds a line saying which backend was chosen and why.
 *
 * Every function returns a negative errno on failure and never touches
 * errno. All functions are thread safe and async-cancel unsafe. Handles are
 * opaque, generation tagged and private to the process: the handle of a
 * thread that has exited or unregistered, and every handle after fork() in
 * the child, is stale (-ESRCH) for ever.
 *
 * Memory ordering: everything the waker wrote before gwake_wake() (or
 * gwake_swap(), gwake_wake_many()) is visible to the woken thread after its
 * gwake_block() returns 0 (release/acquire through the wake word).
 */
#ifndef GWAKE_GWAKE_H
#define GWAKE_GWAKE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The version of these headers, and of the whole project (the library, the
 * tools and gwake.ko). These three numbers are the only place it is
 * written: the Makefile, gwake.pc, dkms.conf's copy and the module's
 * MODULE_VERSION are derived from them. The soname (libgwake.so.1) changes
 * only with an incompatible ABI, never with this version.
 */
#define GWAKE_VERSION_MAJOR	1
#define GWAKE_VERSION_MINOR	4
#define GWAKE_VERSION_PATCH	0

#define GWAKE_VERSION_STR_(a, b, c)	#a "." #b "." #c
#define GWAKE_VERSION_STR(a, b, c)	GWAKE_VERSION_STR_(a, b, c)
/* "MAJOR.MINOR.PATCH": what a program was compiled against. */
#define GWAKE_VERSION	GWAKE_VERSION_STR(GWAKE_VERSION_MAJOR, \
					  GWAKE_VERSION_MINOR, \
					  GWAKE_VERSION_PATCH)

/*
 * The most handles gwake_wake_many() takes. The same value as the uapi's
 * GWAKE_WAKE_MANY_MAX, repeated rather than included so that this header
 * stays free of kernel types. An identical definition in both is allowed;
 * a different one is a "redefined" warning, which fails the library's
 * build (lib/version.c includes both, with -Werror).
 */
#define GWAKE_WAKE_MANY_MAX	1024

/* An opaque, generation-tagged thread handle; never 0 when valid. */
typedef uint64_t gwake_t;

/*
 * GetG: registers the calling thread if needed and stores its handle in
 * *out. The same thread gets the same handle until it exits or calls
 * gwake_unregister(). Returns 0, -ENOMEM, -ENODEV (no usable backend).
 */
int gwake_self(gwake_t *out);

/*
 * BlockG: consumes the calling thread's permit, waiting for one at most
 * timeout_ns nanoseconds (relative; < 0 waits for ever; 0 only takes a
 * permit that is already pending). Returns 0 when woken, -ETIMEDOUT,
 * -EINTR when a signal handler ran first (a later wake is kept as a
 * permit). Registers the calling thread if needed.
 */
int gwake_block(int64_t timeout_ns);

/*
 * WakeG: sets the permit of thread h. Returns 1 if h was blocked and is now
 * woken, 0 if it was not blocked and a permit is left (or already was),
 * -ESRCH if h is stale or not a handle of this process. Makes no system
 * call when h is not asleep (user backend).
 */
int gwake_wake(gwake_t h);

/*
 * BlockG, naming partner, the thread expected to wake the caller (for
 * example the server of a call the caller just posted). Returns as
 * gwake_block(). Only how the caller waits changes: with the module, it
 * spins while the partner runs on a CPU and nothing else wants the
 * caller's, gives its CPU to a partner that waits for one, and sleeps at
 * once while the partner sleeps; the userspace backend, which cannot see
 * the scheduler, spins only while the partner is not asleep in its own
 * wake word, and stops when it finds itself preempted. partner 0 is
 * gwake_block().
 */
int gwake_block_for(gwake_t partner, int64_t timeout_ns);

/* What gwake_sched_state() reports: the same values as the uapi's GWAKE_SCHED_*. */
enum gwake_state {
	GWAKE_STATE_UNKNOWN	= 0,	/* awake, running or not: nobody can tell */
	GWAKE_STATE_RUNNING	= 1,	/* on a CPU */
	GWAKE_STATE_PREEMPTED	= 2,	/* runnable, waiting for a CPU */
	GWAKE_STATE_BLOCKED	= 3,	/* asleep */
	GWAKE_STATE_WAKING	= 4,	/* woken, not running yet */
};

/*
 * What the scheduler is doing with thread h, a hint of a moment that is
 * past when it returns: an enum gwake_state value, or -ESRCH (h is stale
 * or foreign), -EOPNOTSUPP (the module does not publish it). The module
 * knows all the states; the userspace backend only BLOCKED (asleep in its
 * wake word) and UNKNOWN. Makes no system call.
 */
int gwake_sched_state(gwake_t h);

/*
 * Wakes h, then blocks the caller as gwake_block_for(h, timeout_ns): the
 * woken thread is the partner. With the module, at most one system call
 * (none if h is awake and its answer comes while the caller spins), which
 * also tells the scheduler the waker is about to sleep. Returns as
 * gwake_block(), or -ESRCH (without blocking) if h is stale.
 */
int gwake_swap(gwake_t h, int64_t timeout_ns);

/*
 * As gwake_swap(), and if h sleeps, run it on the caller's CPU (which the
 * caller is about to leave) rather than wherever the scheduler would: on
 * an idle CPU, as a sync wakeup does when one is idle. With the module
 * where it offers that (not on PREEMPT_RT): h's allowed CPUs are narrowed
 * to the caller's for the wakeup and restored before h returns to
 * userspace (GWAKE_SWAP_PLACE; docs/uapi.md says what other threads can
 * see, and which concurrent change of h's mask or cpuset can be lost).
 * Otherwise exactly gwake_swap(). It pays when there is no CPU for h to
 * run on beside the caller, or a cross-CPU wakeup costs more than a
 * switch; with an idle CPU, a pair that can spin for each other on two
 * CPUs is faster than one that takes turns on one (docs/benchmarks.md).
 */
int gwake_swap_here(gwake_t h, int64_t timeout_ns);

/*
 * Wakes each of the n handles in hs as gwake_wake() does; stale handles are
 * skipped. Returns the number of sleepers woken, -EINVAL if n is larger than
 * GWAKE_WAKE_MANY_MAX (1024), -EFAULT if hs is NULL and n > 0.
 */
int gwake_wake_many(const gwake_t *hs, size_t n);

/* The threshold gwake_block_notify() takes for a negative one, in ns. */
#define GWAKE_NOTIFY_DEFAULT_NS	20000

/*
 * Block notification: from now on, whenever the calling thread has been
 * blocked in the kernel for threshold_ns (a system call, a page fault, a
 * lock: any sleep except its own gwake_block() and gwake_swap()), wake h
 * as gwake_wake() does, once per block. threshold_ns 0 reports a block as
 * soon as it begins; < 0 means GWAKE_NOTIFY_DEFAULT_NS; h 0 turns it off.
 * For a runtime's monitor, which can then hand on the processor of a
 * thread stuck in a system call without polling for it. Registers the
 * caller if needed. Returns 0, -ESRCH if h is not a live handle of this
 * process, -EINVAL if h is the caller's own or threshold_ns exceeds 1 s
 * (GWAKE_NOTIFY_MAX_NS),
 * -EOPNOTSUPP with the userspace backend (nothing in userspace can see a
 * thread block).
 */
int gwake_block_notify(gwake_t h, int64_t threshold_ns);

/*
 * Drops the calling thread's registration: its handle becomes stale for
 * ever and a pending permit is discarded. A later call of any function
 * above registers the thread anew, with a new handle. Returns 0, or -ENOENT
 * if the thread is not registered. (An addition to the GetG/BlockG/WakeG
 * set: registrations are also dropped automatically when a thread exits.)
 */
int gwake_unregister(void);

/*
 * The backend in use: "kmod" or "user", choosing it now if no call has yet;
 * "none" if GWAKE_BACKEND forces a backend that cannot be used (every other
 * call then fails with -ENODEV, or -EINVAL for an unknown GWAKE_BACKEND).
 */
const char *gwake_backend(void);

/*
 * The version of the libgwake the program runs with, "MAJOR.MINOR.PATCH":
 * GWAKE_VERSION of the library's own build, which is newer than the
 * program's GWAKE_VERSION when a shared libgwake.so.1 was upgraded under
 * it. A static string; makes no system call and chooses no backend.
 */
const char *gwake_version(void);

#ifdef __cplusplus
}
#endif

#endif /* GWAKE_GWAKE_H */
