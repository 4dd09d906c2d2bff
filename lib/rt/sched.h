/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scheduler's internal contract with the rest of lib/rt (channels,
 * select, mutex, wait group, timers, thread calls): how a G blocks and how
 * it is made runnable again. The G-M-P design and the G state machine are
 * described at the top of lib/rt/proc.c and in docs/runtime.md.
 *
 * Everything declared here is hidden: libgwake.so exports only gwake_* and
 * grt_* (lib/libgwake.map); internals carry the grt__ prefix.
 */
#ifndef GWAKE_RT_SCHED_H
#define GWAKE_RT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../compiler.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE	/* liburcu's header-only (inline, LGPL) API */
#endif
#include <urcu/wfcqueue.h>

#include <gwake/gwake.h>
#include <gwake/rt.h>

GWI_HIDDEN_BEGIN

struct grt_g;

/*
 * grt__curg() - the running G, or NULL when called outside a G (from a
 * thread that is not an M of the running runtime, or from an M's scheduler
 * stack).
 */
struct grt_g *grt__curg(void);

/*
 * grt__park() - park the running G.
 *
 * After the G is switched out -- on its M's scheduler (g0) stack, when its
 * own stack is no longer in use -- commit(gp, arg) runs. If it returns
 * false the G is made runnable again at once and grt__park() returns
 * (Go's gopark unlockf). If it returns true the G stays parked until
 * someone calls grt__ready(gp); grt__park() then returns on whatever M runs
 * the G next. reason is a static string shown in deadlock reports
 * ("chan receive", "select", ...).
 *
 * commit runs with no runtime lock held and must not block or park; it is
 * where a waiter record published on the G's stack is made visible (by
 * releasing the lock that protects it). A G that is readied before commit
 * returns cannot exist: whoever readies it must first find the waiter,
 * which commit publishes.
 *
 * Memory ordering: everything the readier wrote before grt__ready(gp) is
 * visible to gp when grt__park() returns (release by the run queue or the
 * wake word, acquire by the M that runs gp).
 *
 * Must be called from a G (aborts otherwise).
 */
void grt__park(bool (*commit)(struct grt_g *gp, void *arg), void *arg,
	       const char *reason);

/*
 * grt__ready() - make the parked G gp runnable: into the current P's
 * run-next slot (Go's ready(gp, next=true)), waking an idle P/M if one is
 * needed (wakep). If gp is locked to an M, that M is woken directly by its
 * gwake handle instead: gp never goes through a run queue. From a thread
 * with no P (a thread-call server, a thread that is not an M), gp goes to
 * the global run queue and an idle M is woken.
 *
 * Callable from any G, any M's scheduler stack (a park commit, a timer)
 * and any thread while the runtime runs. gp must be parked (grt__park()
 * committed): readying a G that is not parked aborts with a message.
 */
void grt__ready(struct grt_g *gp);

GWI_HIDDEN_END

GWI_HIDDEN_BEGIN

/* ===================================================================== *
 * Scheduler internals (lib/rt/ only). Names as in Go's runtime2.go.     *
 * ===================================================================== */


#if defined(__SANITIZE_ADDRESS__)
#define GRT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GRT_ASAN 1
#endif
#endif

#define GRT_CACHELINE	64

/* The monitor's tick: 20 us while busy, backing off to 10 ms. */
#define GRT_SYSMON_MIN_NS	20000
#define GRT_SYSMON_MAX_NS	10000000
/*
 * A P whose G entered a system call with other Gs already queued on it is
 * taken once the call has lasted this long (the entry is timed, so the
 * monitor need not see it twice): Gs are known to wait.
 */
#define GRT_SYSMON_WAITING_NS	5000
/* An M skips at most 2^this - 1 kicks of the monitor in a row
 * (grt__kick_done()). */
#define GRT_KICK_SHIFT_MAX	6
/* A G running this long without a scheduling point is preempted. */
#define GRT_PREEMPT_NS		10000000

/*
 * A saved context: the stack pointer of a switched-out stack, whose top
 * holds the callee-saved registers (lib/rt/ctx_x86_64.S). Must stay the
 * first member of struct grt__ctx.
 */
struct grt__ctx {
	void *sp;
	/* The stack this context runs on, for the sanitizer fiber API. */
	void *stack_lo;
	size_t stack_size;
};

void *grt__ctx_swap(struct grt__ctx *from, const struct grt__ctx *to,
		    void *xfer);
/* The same from g0, whose modes (m->g0fp) are passed, not read. */
void *grt__ctx_swap_g0(struct grt__ctx *from, const struct grt__ctx *to,
		       void *xfer, uint64_t modes);

/*
 * What a G that switches directly to another G (no g0 in between) asks
 * the resumed G to do once the switcher's stack is no longer in use.
 * Passed as grt__ctx_swap's xfer; NULL when resumed from g0.
 */
enum grt__xkind {
	GRT_X_YIELD = 1,	/* put from at the tail of the local run queue */
};

struct grt__xfer {
	enum grt__xkind kind;
	struct grt_g *from;
};

void grt__resumed(struct grt__xfer *x);
void grt__ctx_entry(void);

/*
 * The coroutine switch: grt_coro_switch() and grt_coro_exit() are written
 * in ctx_x86_64.S around these two halves in coro.c (see the top of
 * coro.c for the protocol). grt__coro_prepare() returns the pair in
 * rax:rdx (the SysV ABI's return of a two-word struct): .to NULL means
 * refused, with the API's negative errno in .err.
 */
struct grt_coro;

struct grt__coro_go {
	union {
		struct grt_g *from;
		long err;
	};
	struct grt_g *to;
};

struct grt__coro_go grt__coro_prepare(struct grt_coro *c, bool exit);
int grt__coro_resumed(struct grt_g *from, struct grt_g *self,
		      struct grt_coro *c, bool exit);
/* grt_coro_exit() for the library's own use (no PLT in libgwake.so). */
int grt__coro_exit(struct grt_coro *c);

/*
 * G status: the state machine of a G. Every transition is listed here;
 * the status word is written only by the M that owns the transition and
 * read (relaxed) by anyone for diagnostics, except WAITING -> RUNNABLE,
 * which grt__ready() performs with a CAS so that readying a G twice is
 * caught.
 *
 *   (gfget)      -> RUNNABLE   grt_go(): queued on a run queue, never run
 *   RUNNABLE     -> RUNNING    execute(): an M with a P switched to it
 *   RUNNING      -> RUNNABLE   yield, preemption at a safe point
 *   RUNNING      -> WAITING    grt__park(), grt_coro_switch(): parked; only
 *                              grt__ready() (or a coroutine switch) wakes it
 *   WAITING      -> RUNNABLE   grt__ready()
 *   WAITING      -> RUNNING    a coroutine switch hands the M to it directly
 *   RUNNING      -> SYSCALL    grt_syscall_enter(), or the preemption signal
 *                              detaching a G that hogs its P (it keeps its
 *                              M, loses its P)
 *   SYSCALL      -> RUNNING    grt_syscall_exit() (or the first runtime
 *                              call after a detach) got a P back
 *   SYSCALL      -> RUNNABLE   ... got no P: queued on the global queue,
 *                              its M stops
 *   RUNNING      -> DEAD       the G's function returned or grt_exit()
 *   DEAD         -> RUNNABLE   reused by grt_go() from a free list
 */
enum grt__gstatus {
	GRT_GIDLE = 0,		/* allocated, never used */
	GRT_GRUNNABLE,
	GRT_GRUNNING,
	GRT_GWAITING,
	GRT_GSYSCALL,
	GRT_GDEAD,
};

/* What a G asks its M's g0 to do after switching away from it. */
enum grt__gaction {
	GRT_ACT_NONE = 0,
	GRT_ACT_PARK,		/* run m->commit; park or resume */
	GRT_ACT_YIELD,		/* requeue on the local run queue */
	GRT_ACT_PREEMPT,	/* requeue on the global queue */
	GRT_ACT_EXIT,		/* free the G */
	GRT_ACT_NOP,		/* syscall exit without a P: global queue */
	GRT_ACT_GO_LOCKED,	/* locked G must wait for its M to get a P */
};

struct grt_m;
struct grt_p;

/*
 * A G. Besides the rules noted at each field, the diagnostics (dump.c,
 * stats.c, overflow.c) read id, fn, entry, waitreason, m, lockedm, coro,
 * started, ctx and the stack fields of any G at any time, without a lock,
 * with relaxed loads (GRT_PEEK, diag.h): aligned words, never torn,
 * possibly stale; they print what they read and act on nothing.
 */
struct grt_g {
	struct grt__ctx ctx;		/* first: see struct grt__ctx */
	_Atomic uint32_t status;	/* enum grt__gstatus */
	/*
	 * > 0 while the G runs runtime code that holds its M or P (between
	 * acquirem and releasem): no asynchronous preemption then. Only the
	 * G itself writes it; the preemption signal handler (same thread)
	 * reads it.
	 */
	volatile uint32_t nopreempt;
	/* Set (relaxed) by the monitor: yield at the next safe point. */
	_Atomic uint32_t preempt;
	uint64_t id;
	void (*fn)(void *);
	void *arg;
	/* First code on its stack, and the MXCSR/x87 CW it starts with. */
	void (*entry)(struct grt_g *gp, void *xfer);
	uint64_t fpctl;
	/* Usable stack [stack_lo, stack_lo + stack_size); guard page below. */
	void *stack_map;		/* the mapping, guard page included */
	size_t stack_map_size;
	/* The M running it; written by that M, NULL while not running. */
	struct grt_m *m;
	/*
	 * LockOSThread: the M this G is locked to, and the nesting count.
	 * Written only by the G itself (and by a coroutine switch that
	 * donates the lock, which runs on the same M).
	 */
	struct grt_m *lockedm;
	uint32_t lockcount;
	bool lockedint;			/* runtime-internal lock (thread calls) */
	/* Why it waits (static string), for deadlock reports. */
	const char *waitreason;
	/* Global run queue link (liburcu wfcqueue node). */
	struct cds_wfcq_node gqnode;
	/* Free lists, LIFO of unstarted Gs. */
	struct grt_g *schedlink;
	/* All Gs ever allocated (sched.allg), for reports and teardown. */
	struct grt_g *alllink;
	/* Coroutine this G was created for (corostart). */
	struct grt_coro *coro;
	/* Ran at least once since it was (re)spawned. */
	bool started;
	/*
	 * Readied by an operation whose caller goes on running (a try_send,
	 * try_recv): set by the readier before the G is queued, cleared when
	 * it runs, read by thieves (relaxed; a stale value only changes
	 * whether a thief waits before stealing it, runq.c).
	 */
	bool ready_busy;
#ifdef GRT_ASAN
	void *asan_fake;
#endif
};

/* P status. */
enum grt__pstatus {
	GRT_PIDLE = 0,
	GRT_PRUNNING,
	GRT_PSYSCALL,		/* its M is in a system call; may be retaken */
};

#define GRT_RUNQ_SIZE	256u
#define GRT_LIFO_SIZE	64u

struct grt__timer;

/*
 * A P. Owned by one M at a time (p->m): the owner alone writes the ring's
 * tail, gfree, schedtick; head, runnext, the LIFO and the timers are
 * shared with thieves and the monitor under the protocols noted at each.
 * status changes: IDLE -> RUNNING by the M that took it from sched.pidle
 * (under sched.lock); RUNNING -> SYSCALL by its own M; SYSCALL -> RUNNING
 * or -> IDLE by CAS (the returning M or the monitor, whoever is first).
 */
struct grt_p {
	int id;
	_Atomic uint32_t status;	/* enum grt__pstatus */
	struct grt_m *m;		/* owner while RUNNING/SYSCALL */
	/* Incremented by the owner on every scheduling, read by the monitor. */
	_Atomic uint32_t schedtick;
	_Atomic uint32_t syscalltick;
	/*
	 * When the current system call began, if Gs were queued on this P
	 * then, else 0: written by the owner before it publishes SYSCALL
	 * (release), read by the monitor after it reads SYSCALL (acquire).
	 * A stale value (the call ended, another began) only makes the
	 * monitor's CAS on status take a P that is in a system call anyway.
	 */
	_Atomic int64_t syscall_since;
	/*
	 * The M that holds this P in the system-call state while it waits
	 * for a thread call (tcall.c), NULL if none: set by that M before
	 * it enters the state, cleared by it (CAS) after, and by the
	 * monitor when it hands the P on (retake()). A hint: it counts only
	 * for the system call numbered tcall_tick (the lender's own, set
	 * with it), so that a lender preempted on its way out, or moved to
	 * another M, never has a later system call on the P taken for its
	 * wait.
	 */
	struct grt_m *_Atomic tcall_m;
	_Atomic uint32_t tcall_tick;
	struct grt_p *link;		/* sched.pidle, under sched.lock */

	/*
	 * Local run queue (Go's runq): a bounded ring. tail is written only
	 * by the owner (store-release after writing the slot); head is
	 * advanced with a CAS by the owner and by thieves. runnext is the
	 * G to run next, taken with a CAS by the owner or a thief.
	 */
	_Atomic uint32_t runqhead __attribute__((aligned(GRT_CACHELINE)));
	_Atomic uint32_t runqtail;
	struct grt_g *_Atomic runnext;
	struct grt_g *_Atomic runq[GRT_RUNQ_SIZE];

	/*
	 * Spawned Gs displaced from runnext by a newer spawn, most recent on
	 * top (owner pops the top, thieves take from the bottom). Keeping
	 * unstarted Gs LIFO makes spawn trees run depth first, which bounds
	 * how many Gs hold a stack at once (each stack is two mappings, and
	 * vm.max_map_count is 65530 by default). Protected by lifolock, a
	 * spinlock held for a few instructions.
	 */
	_Atomic uint32_t lifolock __attribute__((aligned(GRT_CACHELINE)));
	_Atomic uint32_t nlifo;		/* read without the lock as a hint */
	struct grt_g *lifo[GRT_LIFO_SIZE];

	/* Dead Gs with their stacks, owner only (Go's gFree). */
	struct grt_g *gfree;
	uint32_t ngfree;
	/* Spare stacks, owner only (Go's per-P stack cache; stack.c). */
	struct grt__stack *stackcache;
	uint32_t nstackcache;
	/*
	 * G ids handed out by this P, [goidcache, goidcacheend), owner only
	 * (Go's goidcache): one atomic on sched.goidgen per GRT_GOID_BATCH
	 * spawns instead of one per spawn, which made every spawn miss on
	 * the cache line that wakep() reads.
	 */
	uint64_t goidcache, goidcacheend;

	/* Timers (lib/rt/timer.c), under timerlock. */
	pthread_mutex_t timerlock;
	struct grt__timer **timers;	/* min-heap on when */
	uint32_t ntimers, timerscap;
	/* when of timers[0], 0 if none; read without the lock. */
	_Atomic int64_t timer0;

	/* Monitor (lib/rt/sysmon.c) samples, monitor thread only. */
	uint32_t mon_schedtick, mon_syscalltick;
	int64_t mon_schedwhen, mon_syscallwhen;
	/* The lender of this call was asked at mon_askwhen (tcall.c). */
	uint32_t mon_asktick;
	int64_t mon_askwhen;
} __attribute__((aligned(GRT_CACHELINE)));

/*
 * An M. Unless noted, a field is written only by the M's own thread (its
 * g0 or the G it runs) and read by others only for diagnostics: curg, p
 * (read racily by the monitor, which tolerates a stale value: at worst it
 * signals an M that has just moved on, and the handler re-checks
 * everything on the M's own thread), in_syscall (also written by the
 * preemption signal handler, on the same thread). The diagnostics
 * (dump.c, stats.c) read id, curg, p, spinning, in_syscall, dead, is_tcall,
 * idle and lockedg with relaxed loads (GRT_PEEK, diag.h), without a lock:
 * aligned words, never torn, possibly stale.
 */
struct grt_m {
	struct grt__ctx g0;		/* the scheduler context: the thread's stack */
	/*
	 * The floating-point modes g0 runs with (MXCSR | x87 control word
	 * << 32), read on the M's thread before its first G: see
	 * grt__ctx_swap_g0(). Written once by the M itself.
	 */
	uint64_t g0fp;
	struct grt_g *curg;		/* the G it runs, NULL on g0 */
	struct grt_p *p;		/* attached P */
	struct grt_p *oldp;		/* P before a system call */
	/* P handed over by startm() or a P release (under sched.lock). */
	struct grt_p *_Atomic nextp;
	gwake_t handle;
	int id;
	bool spinning;			/* counted in sched.nmspinning */
	/* Its blocks wake the monitor (grt__monitor_watch()); owner only. */
	bool watched;
	/*
	 * Set (by this M) while it runs its own P's expired timers in
	 * findrunnable(): the Gs they ready go to that P, which this M is
	 * about to run, so grt__ready() skips wakep() for them; findrunnable
	 * wakes another M afterwards only if more than one G came of it.
	 */
	bool timers_local;
	/* G switch-ins left to this M while Ps run unwatched (proc.c). */
	uint32_t lazy_left;
	bool in_syscall;		/* its G runs without its P */
	/*
	 * The ration of kicks of the monitor (grt__kick_wanted(),
	 * grt__kick_done()): this M's current system call kicked it; calls
	 * left that may not; after a wasted kick kick_skip = 2^kick_shift - 1.
	 * This M only.
	 */
	bool kicked;
	uint8_t kick_skip, kick_shift;
	bool dead;			/* thread exited (locked G exited) */
	bool is_tcall;			/* a thread-call server */
	/*
	 * enum grt__tcallwait (tcall.c): this M waits on its wake word for a
	 * thread call with its P in the system-call state, and whether a
	 * readier asked it for that P. Written by this M (to and from
	 * TW_NONE) and by the readier's CAS (TW_WAITING -> TW_YIELD).
	 */
	_Atomic uint32_t tcall_wait;
	/* Idle list (sched.midle), under sched.lock. */
	struct grt_m *schedlink;
	bool idle;
	struct grt_m *alllink;		/* sched.allm */
	/* LockOSThread. */
	struct grt_g *lockedg;
	/* Set by grt__ready() of lockedg, consumed by the locked M. */
	_Atomic uint32_t lockedg_ready;
	/* On sched.lockedwait, waiting for a P (under sched.lock). */
	bool waiting_p;
	struct grt_m *waitlink;

	/* Post-switch action requested by curg (g0 reads after the switch). */
	enum grt__gaction action;
	bool (*commit)(struct grt_g *gp, void *arg);
	void *commit_arg;

	uint32_t fastrand;
	pthread_t thread;
	pid_t tid;
	bool joinable;
	void *(*start)(struct grt_m *m);	/* thread body after setup */
	void *start_arg;
	/* Our alternate signal stack (overflow.c), NULL if the thread had
	 * one of its own. */
	void *sigstack;

	/*
	 * Statistics (grt_stats(), stats.c): Gs switched in by this M, steals
	 * that got a G, thread calls made by Gs running on it, Gs created
	 * by it. Written only by this M's thread with grt__stat_inc(), read
	 * (relaxed) by anyone.
	 */
	_Atomic uint64_t nspawn;
	_Atomic uint64_t nsched;
	_Atomic uint64_t nsteal;
	_Atomic uint64_t ntcall;
};

/*
 * A timer on a P's heap (lib/rt/timer.c; the protocol between the heap,
 * its owner and a concurrent fire is at the top of that file).
 *
 * when, seq, fn, g and ref belong to the timer's owner (the G asleep in
 * grt_sleep(); the lock of a timer channel or a context) while the timer
 * is on no heap; on a heap they are read under that P's timerlock, and
 * the owner writes them again only after it saw p == NULL (acquire) or
 * removed the timer itself.
 */
struct grt__timer {
	int64_t when;			/* CLOCK_MONOTONIC ns */
	/* Run with no lock held; seq is t->seq as it was when popped. */
	void (*fn)(struct grt__timer *t, uint64_t seq);
	struct grt_g *g;		/* for fn */
	/*
	 * The arming this heap entry stands for, chosen by the owner: fn
	 * compares it with the owner's current one to recognise a stale
	 * fire (a stop or reset came between the pop and fn).
	 */
	uint64_t seq;
	/*
	 * Non-NULL: a reference count of the object that holds the timer.
	 * grt__timers_run() takes one reference (before p is cleared) for
	 * the fire it pops, which fn drops once it is done with the object:
	 * the owner can free it while a fire is on its way.
	 */
	_Atomic uint32_t *ref;
	/*
	 * The P whose heap holds the timer, NULL when on none. Written under
	 * that P's timerlock (release), read by anyone (acquire) to find the
	 * lock to take.
	 */
	struct grt_p *_Atomic p;
	uint32_t idx;			/* heap index, under the P's timerlock */
};

struct grt_sched {
	pthread_mutex_t lock;		/* sched.lock */
	/* Runtime parameters. */
	uint32_t nprocs;
	size_t stack_size;
	int preempt_signal;		/* 0: none */
	struct grt_p **allp;

	/*
	 * Under lock: (nmidle, mcount, allm and allg are atomic only for the
	 * diagnostics, which read them without the lock; writers hold it.
	 * allm and allg only grow at their head, which is stored with release
	 * after the new element's link: see diag.h.)
	 */
	struct grt_p *pidle;
	struct grt_m *midle;		/* idle Ms (stack) */
	_Atomic uint32_t nmidle, mcount;
	uint32_t mnext;
	/*
	 * Ms idle with their locked G (or a sleeping thread-call server):
	 * atomic, signed; may dip below the truth for a moment (see
	 * post_switch), never above it.
	 */
	_Atomic int32_t nmidlelocked;
	struct grt_m *_Atomic allm;
	struct grt_m *lockedwait;	/* locked Ms waiting for a P (FIFO) */
	struct grt_m *lockedwait_tail;
	struct grt_g *_Atomic allg;
	uint64_t ngs;			/* Gs ever allocated */

	_Atomic uint32_t npidle;
	_Atomic uint32_t nmspinning;
	_Atomic uint32_t nlockedwait;
	/*
	 * 1: the monitor is asleep although a P runs (proc.c, "An idle
	 * runtime's timers"), set by an M that woke for a timer and took its
	 * P without waking the monitor; whoever sets it to 0 from 1 kicks the
	 * monitor. Here, on a line that grt_yield() reads anyway.
	 */
	_Atomic uint32_t mon_lazy;
	_Atomic uint32_t nmsyscall;	/* Ms in a system call */
	/*
	 * Written on spawn paths, away from the read-mostly npidle and
	 * nmspinning above that every grt__ready() loads.
	 */
	_Atomic uint64_t goidgen __attribute__((aligned(GRT_CACHELINE)));
	_Atomic uint64_t nspawn_nom;	/* Gs created by a thread with no M */
	_Atomic uint64_t live_stacks;

	/*
	 * Ms that wait for a thread call with their P lent (m->tcall_wait,
	 * tcall.c): grt__tcall_yield_p() looks at the Ps only if nonzero.
	 * On a line of its own, which only such waits write.
	 */
	_Atomic uint32_t ntcallwait __attribute__((aligned(GRT_CACHELINE)));

	/* Global run queue: many enqueuers (wait-free), dequeue under gqlock. */
	struct __cds_wfcq_head gqhead __attribute__((aligned(GRT_CACHELINE)));
	struct cds_wfcq_tail gqtail __attribute__((aligned(GRT_CACHELINE)));
	pthread_mutex_t gqlock;
	_Atomic uint32_t gqsize;

	/* Lifecycle. */
	_Atomic uint32_t stopping;	/* main returned or deadlock */
	bool deadlock;
	struct grt_m *m0;
	struct grt_g *maing;

	/* Monitor. */
	pthread_t mon_thread;
	bool mon_started;
	gwake_t mon_handle;
	/*
	 * The parked M that sleeps until the earliest timer while every P is
	 * idle, NULL if none (proc.c): written under lock, read by the
	 * monitor without it (relaxed).
	 */
	struct grt_m *_Atomic timer_m;
	/* grt_run()'s caller's signal mask, for every M (mstart). */
	sigset_t sigmask;
	/*
	 * The free lists behind the Ps' own, under gflock, a leaf (nothing
	 * else is taken while it is held; it may be taken under sched.lock):
	 * dead Gs, without stacks (proc.c, gfput/gfget), and spare stacks
	 * (stack.c). Both heads are also read without the lock, as hints
	 * (GRT_PEEK; stored with __atomic).
	 */
	pthread_mutex_t gflock;
	struct grt_g *gfree;
	uint32_t ngfree;
	struct grt__stack *stackcache;
	uint32_t nstackcache;
	_Atomic uint32_t mon_sleeping;	/* 1: blocked with no deadline */
	_Atomic int64_t mon_until;	/* deadline it sleeps to, 0 none */
	_Atomic int64_t mon_delay;	/* current tick, ns */
	/*
	 * Set by a rationed kick (grt__syscall_enter()) before its wake,
	 * taken (exchange) by the monitor at each look: only then may it
	 * spin for a P about to fall due (sysmon.c). Coalesced wakes keep it.
	 */
	_Atomic bool mon_spin;

	/* Thread-call servers (lib/rt/tcall.c), under lock. */
	struct grt_thread *threads;

	/*
	 * Diagnostics. GRT_DEBUG (diag.c), parsed by grt_run() before any
	 * other thread starts, then read-only: schedtrace period (0: off),
	 * enum grt__sigquit. start_ns: when grt_run() began, read-only.
	 * Statistics the monitor alone writes (grt__stat_inc()): Ps it took
	 * from Ms in system calls, preemption requests it made.
	 */
	int64_t schedtrace_ns;
	int sigquit;
	int64_t start_ns;
	/*
	 * A thief backs off as SCHED_BATCH (runq.c, backoff_batch()) unless
	 * this is set: by GRT_DEBUG=batch=0 before any M starts, or by the
	 * first M that finds the kernel refuses the switch (relaxed: a
	 * thief that misses it only tries, and fails, once more).
	 */
	_Atomic bool nobatch;
	_Atomic uint64_t nhandoff __attribute__((aligned(GRT_CACHELINE)));
	_Atomic uint64_t npreempt;
};

extern struct grt_sched grt__sched;
extern GWI_TLS struct grt_m *grt__tls_m;

/*
 * The current M. An inline-asm load rather than a plain TLS access: a G
 * may migrate to another thread inside any call into the runtime, and the
 * compiler is entitled to keep the thread pointer (%fs base) in a register
 * across calls. A volatile asm is re-executed every time.
 */
static inline struct grt_m *grt__curm(void)
{
	struct grt_m *m;

	__asm__ __volatile__("movq grt__tls_m@gottpoff(%%rip), %0\n\t"
			     "movq %%fs:(%0), %0" : "=r"(m));
	return m;
}

/*
 * Entering and leaving runtime code from a G: no asynchronous preemption
 * in between, and a G that was detached from its P while outside the
 * runtime (system call, preemption signal) gets a P back first. Returns
 * the current M, which may differ from the one before the call.
 */
struct grt_m *grt__acquirem_slow(struct grt_m *m);
void grt__preempt_self(void);

static inline struct grt_m *grt__acquirem(void)
{
	struct grt_m *m = grt__curm();

	if (gwi_unlikely(!m || !m->curg))
		return m;
	m->curg->nopreempt++;
	__asm__ __volatile__("" ::: "memory");
	if (gwi_unlikely(m->in_syscall))
		m = grt__acquirem_slow(m);
	return m;
}

static inline void grt__releasem(struct grt_m *m)
{
	struct grt_g *gp = m->curg;

	__asm__ __volatile__("" ::: "memory");
	if (--gp->nopreempt == 0 &&
	    gwi_unlikely(atomic_load_explicit(&gp->preempt,
					      memory_order_relaxed)))
		grt__preempt_self();
}

/*
 * One more event on a statistics counter that a single thread writes (its
 * M's, the monitor's): a relaxed load and store, no read-modify-write,
 * so it costs what a plain increment costs. Readers (grt_stats()) load it
 * relaxed: every event that happens before the read is counted.
 */
static inline void grt__stat_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* base.c: the leaf services */
int64_t grt__nanotime(void);
uint32_t grt__fastrand(struct grt_m *m);
void grt__lock(void);
void grt__unlock(void);

/* proc.c */
void grt__ready_fifo(struct grt_g *gp);
void grt__wakep(void);
void grt__mon_lazy_end(void);

/*
 * A P that the monitor does not watch (mon_lazy) is about to do more than
 * run the one G it woke for: the monitor must watch again. One relaxed
 * load when it is not the case.
 */
static inline void grt__mon_lazy_check(void)
{
	if (gwi_unlikely(atomic_load_explicit(&grt__sched.mon_lazy,
					      memory_order_relaxed)))
		grt__mon_lazy_end();
}
void grt__timers_wake(int64_t now);
/*
 * The binding of a locked G and its M, written only through these (the
 * G itself with its nopreempt raised, or its M's g0): gp runs only on m,
 * and m runs only gp. @internal marks a binding the runtime made (a
 * thread-call server), which grt_unlock_thread() cannot undo.
 */
void grt__lockm(struct grt_m *m, struct grt_g *gp, bool internal);
void grt__unlockm(struct grt_m *m, struct grt_g *gp);
/*
 * An M without a P that is going to sleep until somebody posts it work (a
 * thread-call server): counted idle while it sleeps, so that the deadlock
 * check can tell a server waiting for calls from a running one. Begin
 * counts it (after it took its idle mark, never before: see tcall_idle());
 * end uncounts it (the M itself, or the caller that woke it: whoever
 * takes the mark).
 */
void grt__m_idle_begin(void);
void grt__m_idle_end(void);
struct grt_p *grt__pidleget(void);
void grt__acquirep(struct grt_m *m, struct grt_p *p);
struct grt_p *grt__releasep(struct grt_m *m);
void grt__handoffp(struct grt_p *p);
void grt__startm(struct grt_p *p, bool spinning);
void grt__mcall(struct grt_m *m, struct grt_g *gp, enum grt__gaction act);
struct grt_g *grt__galloc(void (*fn)(void *), void *arg,
			  void (*entry)(struct grt_g *, void *));
void grt__gfree_now(struct grt_g *gp);
void grt__gentry(struct grt_g *gp, void *xfer);
void grt__gexit(void) __attribute__((noreturn));
void grt__checkdead(void);
void grt__schedule(struct grt_m *m, struct grt_g *gp);
struct grt_m *grt__newm(void *(*body)(struct grt_m *), void *arg,
			bool tcall, struct grt_p *p, bool spinning);
void grt__monitor_kick(void);
bool grt__monitor_watch(bool on);
#ifdef GRT_ASAN
void grt__switch_fiber_start(void **fake, const struct grt__ctx *to);
void grt__switch_fiber_finish(void *fake);
#else
/* Without ASan the annotations cost nothing, not even a call. */
static inline void grt__switch_fiber_start(void **fake,
					   const struct grt__ctx *to)
{
	(void)fake;
	(void)to;
}

static inline void grt__switch_fiber_finish(void *fake)
{
	(void)fake;
}
#endif

/* stack.c */
struct grt__stack {
	struct grt__stack *next;
	void *map;
	size_t size;
};
int grt__stack_alloc(struct grt_g *gp);
void grt__stack_get(struct grt_p *p, struct grt_g *gp);
void grt__stack_put(struct grt_p *p, struct grt_g *gp);
void grt__stackcache_free(void);
void grt__stack_free(struct grt_g *gp);
void grt__stack_reuse(struct grt_g *gp);

/* timer.c */
void grt__timer_add(struct grt_p *p, struct grt__timer *t);
/*
 * grt__timer_del() - take t off whatever heap holds it, from any thread.
 * Returns true if it was on one (it will not fire from it), false if it
 * was on none: never added, already popped (its fire may be running or
 * about to run: fn sees a stale seq if the owner changed it), or removed.
 */
bool grt__timer_del(struct grt__timer *t);
bool grt__timers_run(struct grt_p *p, int64_t now);
/* now + ns for ns >= 0, saturated: a time that overflows is "never". */
static inline int64_t grt__time_after(int64_t now, int64_t ns)
{
	return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}
int64_t grt__timers_earliest(bool idle);
/*
 * At the runtime's end, with every M stopped: empty p's heap (each timer
 * left on it gets p == NULL, as if removed, so that its owner may still
 * stop or free it afterwards) and free it.
 */
void grt__timers_free(struct grt_p *p);

/* syscall.c */
void grt__entersyscall(struct grt_m *m, struct grt_g *gp, int64_t since);
/* grt_syscall_enter(); kick: may kick the monitor for a call Gs wait on. */
void grt__syscall_enter(bool kick);

/*
 * The ration of kicks (syscall.c): m's call with Gs waiting may kick the
 * monitor, unless recent kicks were wasted. If it may, the kick is noted.
 */
static inline bool grt__kick_wanted(struct grt_m *m)
{
	if (m->kick_skip) {
		m->kick_skip--;
		return false;
	}
	m->kicked = true;
	return true;
}

/*
 * m is back from its call; taken: whether its P was taken meanwhile. A
 * kick that did not get the P taken was wasted: skip the next 1, 3, 7,
 * ... 2^GRT_KICK_SHIFT_MAX - 1 calls' kicks. A call whose P was taken,
 * kicked or not (a tick took it), resets that: this M's calls last long
 * enough again, and the next one should not wait for a tick.
 */
static inline void grt__kick_done(struct grt_m *m, bool taken)
{
	if (taken) {
		m->kicked = false;
		m->kick_shift = 0;
		m->kick_skip = 0;
		return;
	}
	if (!m->kicked)
		return;
	m->kicked = false;
	if (m->kick_shift < GRT_KICK_SHIFT_MAX)
		m->kick_shift++;
	m->kick_skip = (uint8_t)((1u << m->kick_shift) - 1);
}
struct grt_m *grt__exitsyscall(struct grt_m *m);
void grt__entersyscall_block(struct grt_m *m);
/*
 * An M that lives without a P (a thread-call server) is "in a system call"
 * for the scheduler from its start to its end; after running code that
 * took a P (a served function that called into the runtime) it gives the P
 * back and returns to that state.
 */
void grt__m_syscall_begin(struct grt_m *m);
void grt__m_syscall_end(struct grt_m *m);
struct grt_m *grt__m_syscall_resume(void);

/* sysmon.c */
int grt__monitor_start(void);
void grt__monitor_stop(void);

/* tcall.c */
void grt__threads_free_all(void);
bool grt__threads_have_work(void);
bool grt__tcall_yield_p(void);
bool grt__tcall_lent(struct grt_p *p, uint32_t tick, int64_t now,
		     int64_t *due, int *queued);
bool grt__tcall_asked(struct grt_p *p);

/* Report a runtime invariant violation or misuse and abort. */
void grt__fatal(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

GWI_HIDDEN_END

#endif /* GWAKE_RT_SCHED_H */
