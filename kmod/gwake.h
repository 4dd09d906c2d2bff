/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gwake: private types of the module, and the rules that hold them together.
 *
 * Files (the split of kernel/futex/):
 *
 *   main.c  module init and exit: the order things come up and go down.
 *   dev.c   /dev/gwake: file operations; the only file that touches user
 *           memory through user pointers. Copies and validates every ioctl
 *           argument and every mmap() request, then calls the mechanism
 *           with kernel values.
 *   reg.c   registrations: handles, the task table, and every way a
 *           registration ends (UNREGISTER, close, thread exit, exec).
 *   area.c  the shared areas: per process, the wake words and scheduling
 *           state of its registered threads, in pages the module owns and
 *           maps into the process.
 *   sched.c the scheduling state: preempt notifiers publish it; the
 *           partner's state decides how a block waits.
 *   wake.c  the wake word: block, wake, swap, wake-many.
 *   place.c SWAP's placement: a sleeping target woken on the caller's CPU.
 *   stats.c the per-CPU event counters the mechanism bumps (gwake_stat_inc()).
 *   genl.c  the generic netlink family: the counters, their reset, and a
 *           dump of the registered threads. Changes no state but the
 *           counters' base (the reset, CAP_SYS_ADMIN only).
 *
 * Handles, slots and the task table
 *
 *   handle = generation << GWAKE_HANDLE_SLOT_BITS | slot	(uapi header)
 *
 *   Each process (mm) with registered threads has one area (area.c) of
 *   GWAKE_AREA_SLOTS slots; a registration owns one slot of its process's
 *   area, and the slot holds its wake word and its scheduling state. The
 *   generation is a global counter, incremented for every registration and
 *   never 0, so no handle is 0 and none is ever issued twice (48 bits: 2^48
 *   registrations before it wraps). A waker finds a registration through
 *   its own process's area and the handle's slot, and compares the whole
 *   handle: a handle of another process, or a stale one (its slot free or
 *   reused), never matches. A thread that has begun to exit (PF_EXITING) is
 *   stale for its wakers at once.
 *
 *   The task table (gwake_reg.task_node) finds the caller's own
 *   registration, and the one a thread exit or exec ends, by task_struct
 *   pointer. Never by TID: a non-leader thread that execs takes its
 *   leader's TID, before the exec can still fail.
 *
 * The wake word (gwake_reg.word, in the area: userspace may write it)
 *
 *   GWAKE_WORD(gen, state), 64 bits, with the states of the uapi header:
 *
 *   IDLE --wake--> PERMIT            WAKE returns 0: a permit is left
 *   PERMIT --wake--> PERMIT          WAKE returns 0: permits do not add up
 *   SLEEPING --wake--> PERMIT        WAKE returns 1 and wakes the queue
 *   IDLE --block--> SLEEPING         the owner goes to sleep (module only)
 *   PERMIT --block--> IDLE           the owner consumes the permit
 *   SLEEPING --signal/timeout--> IDLE  the owner gives up; if that cmpxchg
 *                                    finds PERMIT, a wake won the race and
 *                                    BLOCK consumes it and returns 0.
 *
 *   Every transition is a fully ordered atomic RMW that names the
 *   generation, so all the waker wrote before WAKE is visible to the owner
 *   once BLOCK returns 0, and a wake through a stale handle changes
 *   nothing. Userspace makes the same transitions in the mapped word
 *   (IDLE/PERMIT -> PERMIT, and SLEEPING -> PERMIT followed by WAKE with
 *   GWAKE_WAKE_SLEEPER), and consumes a permit itself.
 *
 *   Userspace can also write garbage. The module never trusts the word:
 *   it reads it only with atomic operations on its own mapping of the page,
 *   derives nothing from it but "is it the value I expect", and when it
 *   finds something else it repairs the word (GWAKE_WORD(gen, IDLE) or
 *   PERMIT) and treats it as a wakeup: a thread whose word was scribbled on
 *   gets at worst a spurious return from BLOCK, and a sleeper woken through
 *   the module is never lost. When a registration ends its word becomes
 *   FREE (0), so that userspace wakers fall back to the ioctl, which says
 *   -ESRCH.
 *
 * Locking rules (outermost first; nothing else nests):
 *
 *   gwake_file.lock        spinlock_t. Protects gwake_file.regs and every
 *                          gwake_reg.file_node on it. Process context only.
 *   task table bucket lock hlist_bl_lock(), a bit spinlock (preemption
 *                          off). Protects its chain and gwake_reg.task_node.
 *                          Taken alone, or inside gwake_file.lock by
 *                          gwake_file_release(). A bit lock and not a
 *                          spinlock_t because the exit and exec tracepoint
 *                          probes remove entries with preemption disabled,
 *                          where a spinlock_t sleeps on PREEMPT_RT. Under
 *                          it: no spinlock_t, nothing that sleeps, no
 *                          allocation.
 *   gwake_areas_lock,      area.c: the table of areas and an area's slot
 *   gwake_area.lock        bitmap. Process context only, never nested.
 *   gwake_reg.wq.lock      inside the wait-queue API; a leaf.
 *   cpu_hotplug_lock       place.c, read side, around one SWAP's
 *                          placement; outside everything of ours.
 *   gwake_stats_lock       stats.c, a seqlock_t: its spinlock is taken
 *                          alone, by a statistics reset (netlink,
 *                          process context), and on PREEMPT_RT briefly by
 *                          a reader that finds a reset under way; readers
 *                          retry around a reset. Never on a hot path.
 *
 *   No lock is global on the hot paths: WAKE, BLOCK, SWAP and WAKE_MANY find
 *   registrations under rcu_read_lock() only, and take at most the
 *   target's wait-queue lock. REGISTER and the frees take the area locks.
 *   The preempt notifiers (sched.c) run with the run-queue lock held and
 *   interrupts off: they write only the owner's scheduling-state slot, a
 *   page the module owns, and take no lock of ours; arming or cancelling
 *   the owner's block-notification timer takes the hrtimer base's raw
 *   lock, inside the run-queue lock as the scheduler's hrtick does. The
 *   timer's callback runs in softirq context (a thread on PREEMPT_RT),
 *   under rcu_read_lock(), and takes only its target's wait-queue lock.
 *
 *   The netlink family takes none of these locks either. Its thread dump
 *   walks the task table one chain at a time under rcu_read_lock()
 *   (gwake_reg_walk_chain()), as wakers do, and reads a registration's
 *   immutable fields, its wake word (atomic64_read()) and its owner-written
 *   counters (READ_ONCE()); a registration it sees stays allocated until
 *   the walk of that chain ends. The family is parallel_ops, so not even
 *   genl_mutex is held. Statistics are per-CPU counters, bumped with
 *   this_cpu_inc() (no lock, no shared cache line) and summed on read. A
 *   reset never writes them: it records their sums as the base later reads
 *   subtract (stats.c), under gwake_stats_lock.
 *
 * Lifetime and ownership of a registration
 *
 *   A registration is created by REGISTER in its owner thread: it takes a
 *   slot, attaches a preempt notifier to the thread (which only the thread
 *   itself may do and undo), takes a reference to the module for as long
 *   as the notifier is attached (the thread's notifier list points into
 *   the module), is published at its slot, linked on its file's list and
 *   hashed by task.
 *
 *   Its end (gwake_reg_end(), once, whoever comes first: UNREGISTER, the
 *   release of its file, the exit of its thread at sched_process_exit, an
 *   exec by its thread at sched_process_exec) withdraws it from its slot
 *   and frees its word: the handle is stale from then on. The end may run
 *   in any context, and on another thread (the release of the file).
 *
 *   Its detach (gwake_reg_detach()) runs only in the owner thread: it
 *   detaches the notifier, unhashes the registration from the task table,
 *   drops the module reference and queues the free. The owner detaches at
 *   UNREGISTER, at its exit and exec (in the probes, which run in the
 *   thread), and, for a registration the release of its file ended, the
 *   next time it enters the module (REGISTER, BLOCK, SWAP, UNREGISTER) or
 *   exits or execs. Until then the ended registration stays attached and
 *   hashed, its notifier keeps writing its own slot, and the module cannot
 *   be unloaded.
 *
 *   The free runs after an RCU grace period (queue_rcu_work()), because
 *   wakers may still hold the pointer under rcu_read_lock(), and in process
 *   context, because it takes gwake_file.lock and the area's lock to give
 *   back the slot, and may drop the last references to an area, a file, a
 *   task. Until then the registration keeps a reference to its task, its
 *   area (which grabs the mm) and its file, so none of those pointers can
 *   be recycled while a lookup might compare against it, and its slot is
 *   not handed out again.
 *
 *   A registration is freed only by its own thread. BLOCK and SWAP use the
 *   caller's registration after rcu_read_unlock() without taking a
 *   reference for that reason.
 */
#ifndef _GWAKE_PRIVATE_H
#define _GWAKE_PRIVATE_H

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/gwake.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/list_bl.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct mm_struct;
struct page;
struct task_struct;
struct vm_area_struct;

/**
 * struct gwake_file - one open file of /dev/gwake
 * @lock:	protects @regs.
 * @regs:	the registrations made through this file and not yet freed
 *		(gwake_reg.file_node). An ended registration stays here until
 *		its free runs.
 * @ref:	one for the open file, one per registration on @regs; the last
 *		put frees the structure. This lets the release of the file
 *		return while registrations it ended are still to be freed.
 */
struct gwake_file {
	spinlock_t lock;		/* protects @regs */
	struct list_head regs;
	struct kref ref;
};

#define GWAKE_AREA_REGIONS	2
#define GWAKE_REGION_WORDS	0
#define GWAKE_REGION_SCHED	1
#define GWAKE_AREA_PAGES	(GWAKE_AREA_SIZE / PAGE_SIZE)
#define GWAKE_CHUNK_SLOTS	512

/**
 * struct gwake_area - the shared area of one process (area.c)
 * @node:	in the table of areas, keyed by @mm; under gwake_areas_lock.
 * @mm:		the process's mm, grabbed. Immutable. The key.
 * @ref:	one per registration and per VMA mapping the area.
 * @lock:	protects @slot_map.
 * @slot_map:	the slots taken (by registrations not yet freed).
 * @chunks:	slot -> registration, GWAKE_CHUNK_SLOTS per chunk, allocated
 *		on demand (cmpxchg()); entries are RCU pointers, set and
 *		cleared only by the registration's owner of the end.
 * @pages:	the pages of each region, allocated on first use (cmpxchg());
 *		never freed before the area.
 * @free_work:	the free, after a grace period, by the last put.
 */
struct gwake_area {
	struct hlist_node node;
	struct mm_struct *mm;
	refcount_t ref;
	spinlock_t lock;		/* protects @slot_map */
	unsigned long slot_map[BITS_TO_LONGS(GWAKE_AREA_SLOTS)];
	struct gwake_reg __rcu **chunks[GWAKE_AREA_SLOTS / GWAKE_CHUNK_SLOTS];
	struct page *pages[GWAKE_AREA_REGIONS][GWAKE_AREA_PAGES];
	struct rcu_work free_work;
};

/* gwake_reg.flags */
#define GWAKE_REG_ENDED		0	/* its handle is stale */

/**
 * struct gwake_reg - one registered thread: its handle and its wake word
 * @word:	the wake word, in @area: see "The wake word" above. Atomic
 *		operations only. Immutable pointer.
 * @sched:	its scheduling-state slot in @area, written by the module only
 *		(sched.c). Immutable pointer.
 * @gen:	the generation of @handle.
 * @wq:		where the owner sleeps in BLOCK and SWAP. One waiter at most;
 *		a queue rather than wake_up_process() so that SWAP can pass
 *		the scheduler's sync hint (__wake_up_sync()).
 * @flags:	GWAKE_REG_ENDED, set once by gwake_reg_end().
 * @attached:	the preempt notifier is attached. Read and written by the
 *		owner thread only.
 * @nr_blocks:	blocks by the owner since it registered; see
 *		GWAKE_THREAD_A_BLOCKS. This and the next two are written by
 *		the owner only (WRITE_ONCE()) and read by the thread dump.
 * @nr_blocks_permit: of those, the ones that took a permit without sleeping.
 * @nr_sleeps:	of those, the ones that slept.
 * @handle:	the handle REGISTER returned. Immutable.
 * @slot:	its slot in @area, the low bits of @handle. Immutable.
 * @area:	the owner's process's area, referenced. Immutable.
 * @task:	the registered thread, referenced, its key in the task table.
 *		Immutable.
 * @file:	the file it was registered through, referenced. Immutable.
 * @pn:		the preempt notifier on @task (sched.c).
 * @task_node:	in the task table's chain of @task; protected by its bucket
 *		lock. Hashed from REGISTER to the detach.
 * @file_node:	in @file->regs; protected by @file->lock.
 * @free_work:	the free, queued by the detach.
 * @notify_handle: whom the block notification wakes, 0 if off; with
 *		@notify_ns, written by the owner's NOTIFY only and read by its
 *		own switches (sched_out) and by @notify_timer's callback
 *		(READ_ONCE(): a report during a change goes to either handle).
 * @notify_ns:	how long a block lasts before it is reported.
 * @in_wait:	the owner sleeps in the module's own wait (BLOCK, SWAP), which
 *		is never reported. Written by the owner only (WRITE_ONCE());
 *		read by its own switches and by SWAPs that place it (place.c).
 * @notify_timer: armed by the owner's sched_out when it blocks (pinned: on
 *		that CPU, unless its callback still runs elsewhere), cancelled
 *		by its sched_in; expires in softirq context (so on PREEMPT_RT
 *		in a thread). Cancelled for good by the free, before the memory
 *		goes.
 * @place_saved: the owner's mask before a SWAP placed it, and
 * @place_cpu:	the CPU it was narrowed to: written by the holder of
 *		@placing, read by whoever takes the restore (place.c). Not
 *		allocated on PREEMPT_RT, which does not place.
 * @placing:	a SWAP is placing the owner (0 or 1, cmpxchg()): the owner
 *		does not leave its wait while it is set (place.c).
 * @place_state: a restore of the owner's mask is pending or under way.
 * @in_place_wait: the owner waits for a placement to finish, which is not
 *		reported as a block. Owner only, as @in_wait.
 */
struct gwake_reg {
	atomic64_t *word;
	struct gwake_sched *sched;
	u64 gen;
	wait_queue_head_t wq;
	unsigned long flags;
	bool attached;
	bool in_wait;
	u64 nr_blocks;
	u64 nr_blocks_permit;
	u64 nr_sleeps;
	u64 handle;
	u32 slot;
	struct gwake_area *area;
	struct task_struct *task;
	struct gwake_file *file;
	struct preempt_notifier pn;
	u64 notify_handle;
	u64 notify_ns;
	struct hlist_bl_node task_node;
	struct list_head file_node;
	struct rcu_work free_work;
	struct hrtimer notify_timer;
	cpumask_var_t place_saved;
	unsigned int place_cpu;
	atomic_t placing;
	atomic_t place_state;
	bool in_place_wait;
};

/**
 * struct gwake_place - a SWAP's placement of its target (place.c)
 * @reg:	the target's registration, kept by RCU until the restore.
 * @state:	the placement's sequence number, in place_state's high bits.
 */
struct gwake_place {
	struct gwake_reg *reg;
	int state;
};

static inline bool gwake_reg_ended(const struct gwake_reg *reg)
{
	return test_bit(GWAKE_REG_ENDED, &reg->flags);
}

/*
 * Event counters (stats.c), one per counter attribute of the netlink
 * family, REGISTERS to WAKE_MANY (genl.c maps each to its
 * GWAKE_STATS_A_*); see enum gwake_stats_attr in the uapi header for what
 * each one counts.
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
 * it can sit on the hot paths and in the tracepoint probes. No other CPU
 * ever writes this CPU's copy, not even a reset (stats.c).
 */
static inline void gwake_stat_inc(enum gwake_stat stat)
{
	this_cpu_inc(gwake_stats.cnt[stat]);
}

/* stats.c */
void gwake_stats_read(u64 val[GWAKE_STAT_NR], u64 *live, u64 *resets);
void gwake_stats_reset(u64 val[GWAKE_STAT_NR], u64 *live, u64 *resets);

/* reg.c */
extern struct workqueue_struct *gwake_free_wq;
int gwake_reg_init(void);
void gwake_reg_exit(void);
struct gwake_file *gwake_file_alloc(void);
void gwake_file_release(struct gwake_file *gf);
int gwake_register(struct gwake_file *gf, u64 *handle, bool *created);
int gwake_unregister(struct gwake_file *gf);
struct gwake_reg *gwake_reg_self(struct gwake_file *gf);
struct gwake_reg *gwake_reg_lookup(u64 handle);
struct gwake_reg *gwake_reg_lookup_in(struct gwake_area *area, u64 handle);
unsigned int gwake_reg_nr_chains(void);
int gwake_reg_walk_chain(unsigned int chain,
			 int (*fn)(const struct gwake_reg *reg, void *arg),
			 void *arg);

/* area.c */
struct gwake_area *gwake_area_get(void);
void gwake_area_put(struct gwake_area *area);
struct gwake_area *gwake_area_lookup(void);
int gwake_area_alloc_slot(struct gwake_area *area, u32 *slot);
void gwake_area_free_slot(struct gwake_area *area, u32 slot);
atomic64_t *gwake_area_word(struct gwake_area *area, u32 slot);
struct gwake_sched *gwake_area_sched(struct gwake_area *area, u32 slot);
void gwake_area_publish(struct gwake_area *area, u32 slot, struct gwake_reg *reg);
struct gwake_reg *gwake_area_reg(struct gwake_area *area, u32 slot);
int gwake_area_mmap(struct vm_area_struct *vma);
bool gwake_areas_empty(void);

/* sched.c */
int gwake_sched_init(void);
void gwake_sched_exit(void);
void gwake_sched_attach(struct gwake_reg *reg);
void gwake_sched_detach(struct gwake_reg *reg);
void gwake_sched_waking(struct gwake_reg *reg);
void gwake_sched_end(struct gwake_reg *reg);
bool gwake_sched_spin(struct gwake_reg *self, u64 partner, u64 spin_ns,
		      const ktime_t *deadline);
void gwake_sched_notify_init(struct gwake_reg *reg);
void gwake_sched_notify_stop(struct gwake_reg *reg);
int gwake_notify(struct gwake_file *gf, u64 handle, u64 threshold_ns);

/* place.c */
int gwake_place_alloc(struct gwake_reg *reg);
void gwake_place_free(struct gwake_reg *reg);
bool gwake_place_begin(struct gwake_reg *self, u64 handle,
		       struct gwake_place *pl);
void gwake_place_end(struct gwake_place *pl);
void gwake_place_wait(struct gwake_reg *reg);

/* wake.c */
int gwake_block(struct gwake_file *gf, const ktime_t *deadline, u64 partner,
		u64 spin_ns);
int gwake_wake(u64 handle, bool sleeper);
int gwake_swap(struct gwake_file *gf, u64 handle, const ktime_t *deadline,
	       bool partner, bool place);
int gwake_wake_many(const u64 *handles, u32 count, bool sleepers);
int gwake_wake_reg(struct gwake_reg *reg);

/* dev.c */
int gwake_dev_init(void);
void gwake_dev_exit(void);

/* genl.c */
int gwake_genl_init(void);
void gwake_genl_exit(void);

#endif /* _GWAKE_PRIVATE_H */
