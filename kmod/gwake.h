/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gwake: private types of the module, and the rules that hold them together.
 *
 * Files (the split of kernel/futex/):
 *
 *   main.c  module init and exit: the order things come up and go down.
 *   dev.c   /dev/gwake: file operations; the only file that touches user
 *           memory. Copies and validates every ioctl argument, then calls
 *           the mechanism with kernel values.
 *   reg.c   registrations: the two tables, handles, and every way a
 *           registration ends (UNREGISTER, close, thread exit, exec).
 *   wake.c  the wake word: block, wake, swap, wake-many.
 *   stats.c the per-CPU event counters the mechanism bumps (gwake_stat_inc()).
 *   genl.c  the generic netlink family: the counters and a dump of the
 *           registered threads. Reads only; changes no state.
 *
 * Handles and the two tables
 *
 *   handle = generation << GWAKE_ID_BITS | id
 *
 *   id is a small number (1 to GWAKE_ID_MAX) allocated for the
 *   registration from an IDA and released when it is freed; it says nothing
 *   about the thread. The generation is a global counter, incremented for
 *   every registration and never 0, so no handle is 0. Two hash tables hold
 *   every live registration:
 *
 *     by id    (gwake_reg.id_node): wakers find a handle's registration by
 *              its id and compare the whole handle, so a stale handle (its
 *              registration ended, its id perhaps reused) never matches a
 *              later one;
 *     by task  (gwake_reg.task_node): the caller's own registration, and
 *              the one a thread exit or exec ends, are found by the
 *              task_struct pointer. Never by TID: a non-leader thread that
 *              execs takes its leader's TID, before the exec can still fail.
 *
 *   The generation has 64 - GWAKE_ID_BITS = 42 bits: a stale handle could
 *   alias a new registration only after 2^42 further registrations
 *   system-wide, and only one that got the same id. A thread that has begun
 *   to exit (PF_EXITING) is stale for its wakers at once, before its
 *   registration is removed at sched_process_exit.

 * The wake word (struct gwake_reg.state)
 *
 *   IDLE --wake--> PERMIT            WAKE returns 0: a permit is left
 *   PERMIT --wake--> PERMIT          WAKE returns 0: permits do not add up
 *   SLEEPING --wake--> PERMIT        WAKE returns 1 and wakes the queue
 *   IDLE --block--> SLEEPING         the owner goes to sleep
 *   PERMIT --block--> IDLE           the owner consumes the permit
 *   SLEEPING --signal/timeout--> IDLE  the owner gives up; if that cmpxchg
 *                                    finds PERMIT, a wake won the race and
 *                                    BLOCK consumes it and returns 0.
 *
 *   Wakers only ever write PERMIT (one atomic_xchg(), whatever the old
 *   value); only the owner thread moves the word out of PERMIT or into
 *   SLEEPING. Every transition is a fully ordered atomic RMW, so all the
 *   waker wrote before WAKE is visible to the owner once BLOCK returns 0.
 *
 * Locking rules (outermost first; nothing else nests):
 *
 *   gwake_file.lock        spinlock_t. Protects gwake_file.regs and every
 *                          gwake_reg.file_node on it. Process context only.
 *   table bucket locks     hlist_bl_lock(), bit spinlocks (preemption
 *                          off), one per chain of each table. Each protects
 *                          its chain and the gwake_reg.task_node or
 *                          .id_node on it. Taken alone (never one bucket
 *                          lock inside another), or inside gwake_file.lock
 *                          by gwake_file_release(). Bit locks, not
 *                          spinlock_t (nor an xarray's lock), because the
 *                          exit and exec tracepoint probes remove entries
 *                          with preemption disabled, where a spinlock_t
 *                          sleeps on PREEMPT_RT. Under them: no spinlock_t,
 *                          nothing that sleeps, no allocation.
 *   gwake_reg.wq.lock      inside the wait-queue API; a leaf.
 *
 *   No lock is global: WAKE, BLOCK, SWAP and WAKE_MANY read the tables under
 *   rcu_read_lock() only, and take at most the target's wait-queue lock.
 *   REGISTER and the free take the IDA's internal lock, in process context.
 *
 *   The netlink family takes none of these locks either. Its thread dump
 *   walks the task table one chain at a time under rcu_read_lock()
 *   (gwake_reg_walk_chain()), as wakers do, and reads a registration's
 *   immutable fields, its wake word (atomic_read()) and its owner-written
 *   counters (READ_ONCE()); a registration it sees stays allocated until
 *   the walk of that chain ends. The family is parallel_ops, so not even
 *   genl_mutex is held. Statistics are per-CPU counters, bumped with
 *   this_cpu_inc() (no lock, no shared cache line) and summed on read.
 *
 * Lifetime and ownership of a registration
 *
 *   A registration is created by REGISTER, linked on its file's list, then
 *   hashed by id and last by task. It is ended by exactly one
 *   gwake_reg_remove() that finds it still hashed by task: UNREGISTER, the
 *   release of its file, the exit of its thread (sched_process_exit probe)
 *   or an exec by its thread (sched_process_exec probe). That caller owns
 *   the end: it unhashes it from both tables and queues the free; any other
 *   caller finds it unhashed and does nothing. The free runs after an RCU
 *   grace period (queue_rcu_work()), because wakers may still hold the
 *   pointer under rcu_read_lock(), and in process context, because it takes
 *   gwake_file.lock to unlink the registration, releases the id and may
 *   drop the last reference to an mm. Until then the registration keeps a
 *   reference to its task, its mm and its file, so none of those pointers
 *   can be recycled while a lookup might compare against it, and its id is
 *   not handed out again.
 *
 *   A registration is removed only by its own thread or by the release of
 *   its file. Neither can run while that thread is inside an ioctl on that
 *   file (the ioctl holds a reference to the file), so BLOCK and SWAP keep
 *   using the caller's registration after rcu_read_unlock() without taking
 *   a reference.
 */
#ifndef _GWAKE_PRIVATE_H
#define _GWAKE_PRIVATE_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/list_bl.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct mm_struct;
struct task_struct;

/* Values of struct gwake_reg.state; see "The wake word" above. */
enum gwake_word {
	GWAKE_IDLE = 0,
	GWAKE_PERMIT = 1,
	GWAKE_SLEEPING = 2,
};

/**
 * struct gwake_file - one open file of /dev/gwake
 * @lock:	protects @regs.
 * @regs:	the registrations made through this file and not yet freed
 *		(gwake_reg.file_node). A removed registration stays here until
 *		its free runs after the grace period.
 * @ref:	one for the open file, one per registration on @regs; the last
 *		put frees the structure. This lets the release of the file
 *		return while frees queued by thread exits are still pending.
 */
struct gwake_file {
	spinlock_t lock;		/* protects @regs */
	struct list_head regs;
	struct kref ref;
};

/**
 * struct gwake_reg - one registered thread: its handle and its wake word
 * @state:	the wake word, an enum gwake_word. Written with atomic RMW
 *		only; see "The wake word" above.
 * @wq:		where the owner sleeps in BLOCK and SWAP. One waiter at most;
 *		a queue rather than wake_up_process() so that SWAP can pass
 *		the scheduler's sync hint (__wake_up_sync()).
 * @nr_blocks:	blocks by the owner since it registered; see
 *		GWAKE_THREAD_A_BLOCKS. This and the next two are written by
 *		the owner only (WRITE_ONCE()) and read by the thread dump.
 * @nr_blocks_permit: of those, the ones that took a permit without sleeping.
 * @nr_sleeps:	of those, the ones that slept.
 * @handle:	the handle REGISTER returned. Immutable.
 * @id:		the low bits of @handle, its key in the id table. Immutable.
 * @task:	the registered thread, referenced, its key in the task table.
 *		Immutable.
 * @mm:		the registering thread's mm, grabbed (mmgrab()). Immutable.
 *		Only compared, never dereferenced: a handle works only for
 *		callers with the same mm.
 * @file:	the file it was registered through, referenced. Immutable.
 * @task_node:	in the task table's chain of @task; protected by its
 *		bucket lock. Unhashed (pprev == NULL) before insertion and
 *		after removal: whoever unhashes it owns the end.
 * @id_node:	in the id table's chain of @id; protected by its bucket
 *		lock. Removed right after @task_node, by the same caller.
 * @file_node:	in @file->regs; protected by @file->lock.
 * @free_work:	the free, queued by whoever removed the registration.
 */
struct gwake_reg {
	atomic_t state;
	wait_queue_head_t wq;
	u64 nr_blocks;
	u64 nr_blocks_permit;
	u64 nr_sleeps;
	u64 handle;
	u32 id;
	struct task_struct *task;
	struct mm_struct *mm;
	struct gwake_file *file;
	struct hlist_bl_node task_node;
	struct hlist_bl_node id_node;
	struct list_head file_node;
	struct rcu_work free_work;
};

/*
 * Event counters (stats.c), one per statistics attribute of the netlink
 * family (genl.c maps each to its GWAKE_STATS_A_*); see enum
 * gwake_stats_attr in the uapi header for what each one counts.
 */
enum gwake_stat {
	GWAKE_STAT_REGISTERS,
	GWAKE_STAT_UNREGISTERS,
	GWAKE_STAT_EXITS,
	GWAKE_STAT_RELEASES,
	GWAKE_STAT_BLOCKS,
	GWAKE_STAT_BLOCKS_PERMIT,
	GWAKE_STAT_SLEEPS,
	GWAKE_STAT_TIMEOUTS,
	GWAKE_STAT_INTERRUPTS,
	GWAKE_STAT_WAKES_WOKEN,
	GWAKE_STAT_WAKES_PERMIT,
	GWAKE_STAT_WAKES_STALE,
	GWAKE_STAT_SWAPS,
	GWAKE_STAT_WAKE_MANY,
	GWAKE_STAT_NR,
};

/**
 * struct gwake_stats - one CPU's event counters
 * @cnt:	indexed by enum gwake_stat; only this CPU writes them.
 */
struct gwake_stats {
	u64 cnt[GWAKE_STAT_NR];
};

DECLARE_PER_CPU(struct gwake_stats, gwake_stats);

/*
 * Count one event on this CPU: a single irq- and preemption-safe
 * instruction on x86, no lock and no cache line shared with other CPUs, so
 * it can sit on the hot paths and in the tracepoint probes.
 */
static inline void gwake_stat_inc(enum gwake_stat stat)
{
	this_cpu_inc(gwake_stats.cnt[stat]);
}

/* stats.c */
u64 gwake_stat_read(enum gwake_stat stat);

/* reg.c */
int gwake_reg_init(void);
void gwake_reg_exit(void);
struct gwake_file *gwake_file_alloc(void);
void gwake_file_release(struct gwake_file *gf);
int gwake_register(struct gwake_file *gf, u64 *handle, bool *created);
int gwake_unregister(struct gwake_file *gf);
struct gwake_reg *gwake_reg_self(struct gwake_file *gf);
struct gwake_reg *gwake_reg_lookup(u64 handle);
unsigned int gwake_reg_nr_chains(void);
int gwake_reg_walk_chain(unsigned int chain,
			 int (*fn)(const struct gwake_reg *reg, void *arg),
			 void *arg);

/* wake.c */
int gwake_block(struct gwake_file *gf, const ktime_t *deadline);
int gwake_wake(u64 handle);
int gwake_swap(struct gwake_file *gf, u64 handle, const ktime_t *deadline);
int gwake_wake_many(const u64 *handles, u32 count);

/* dev.c */
int gwake_dev_init(void);
void gwake_dev_exit(void);

/* genl.c */
int gwake_genl_init(void);
void gwake_genl_exit(void);

#endif /* _GWAKE_PRIVATE_H */
