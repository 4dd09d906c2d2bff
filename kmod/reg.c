// SPDX-License-Identifier: GPL-2.0
/*
 * gwake registrations: the two tables, handles, and every way a
 * registration ends. The rules (handle format, lifetime, ownership of the
 * free, lock order) are at the top of gwake.h; this file implements them.
 *
 * Locks taken here: gwake_file.lock (gwake_register(), gwake_file_release(),
 * gwake_reg_free()), the table bucket locks (gwake_register(),
 * gwake_reg_remove()) and, inside the IDA, its own lock (gwake_register(),
 * gwake_reg_free(), both in process context). gwake_file_release() is the
 * only place that nests any of them: bucket locks, one at a time, inside
 * the file lock. Lookups take no lock, only RCU, and neither does the
 * netlink thread dump (gwake_reg_walk_chain()).
 *
 * Why tables of bit-locked hash chains rather than an xarray: a thread's
 * registration must end when the thread exits and when it execs, and the
 * only hooks for that are tracepoints, whose probes run with preemption
 * disabled (docs/design.md says why tracepoints, and what a missed probe
 * would cost). Removing an xarray entry takes xa_lock, a spinlock_t, which
 * sleeps on PREEMPT_RT; a bit spinlock does not. An xarray erased later,
 * in the free, would need a second grace period before the memory could
 * go. Lookups are RCU walks of one short chain: O(1) for any realistic
 * number of threads.
 */
#include <linux/bug.h>
#include <linux/build_bug.h>
#include <linux/hash.h>
#include <linux/idr.h>
#include <linux/rculist_bl.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <trace/events/sched.h>

#include "gwake.h"

#ifndef CONFIG_TRACEPOINTS
#error "gwake needs CONFIG_TRACEPOINTS: registrations end on sched_process_exit"
#endif

/*
 * Low bits of a handle: the registration's id. The rest is the generation.
 * GWAKE_ID_MAX is also the most registrations that can exist at once,
 * system-wide; REGISTER fails with -ENOSPC beyond it.
 */
#define GWAKE_ID_BITS		22
#define GWAKE_ID_MAX		((1U << GWAKE_ID_BITS) - 1)
#define GWAKE_GEN_MASK		(U64_MAX >> GWAKE_ID_BITS)

/*
 * 4096 chains a table (32 KiB each). Ids are allocated lowest first, so
 * their low bits spread them perfectly; task_struct pointers are spread by
 * hash_ptr(). With N registered threads a chain holds about N / 4096
 * registrations.
 */
#define GWAKE_HASH_BITS		12
static struct hlist_bl_head gwake_task_table[1 << GWAKE_HASH_BITS];
static struct hlist_bl_head gwake_id_table[1 << GWAKE_HASH_BITS];

/* The ids of live registrations and of those whose free is pending. */
static DEFINE_IDA(gwake_ids);

/* The generation of the last handle issued; see gwake_new_handle(). */
static atomic64_t gwake_generation = ATOMIC64_INIT(0);

static struct kmem_cache *gwake_reg_cache;
static struct workqueue_struct *gwake_free_wq;
static struct tracepoint *gwake_tp_exit;
static struct tracepoint *gwake_tp_exec;

static struct hlist_bl_head *gwake_task_bucket(const struct task_struct *task)
{
	return &gwake_task_table[hash_ptr(task, GWAKE_HASH_BITS)];
}

static struct hlist_bl_head *gwake_id_bucket(u32 id)
{
	return &gwake_id_table[id & (ARRAY_SIZE(gwake_id_table) - 1)];
}

static u64 gwake_new_handle(u32 id)
{
	u64 gen;

	/* Generation 0 is skipped so that no handle is 0. */
	do {
		gen = atomic64_inc_return(&gwake_generation) & GWAKE_GEN_MASK;
	} while (!gen);
	return gen << GWAKE_ID_BITS | id;
}

static void gwake_file_free(struct kref *ref)
{
	kfree(container_of(ref, struct gwake_file, ref));
}

/* Drops the reference of an open file or of a registration. */
static void gwake_file_put(struct gwake_file *gf)
{
	kref_put(&gf->ref, gwake_file_free);
}

/*
 * The free queued by gwake_reg_remove(), run one grace period after the
 * registration left the table: no RCU reader can still see it.
 */
static void gwake_reg_free(struct work_struct *work)
{
	struct gwake_reg *reg = container_of(to_rcu_work(work),
					     struct gwake_reg, free_work);
	struct gwake_file *gf = reg->file;

	spin_lock(&gf->lock);
	list_del(&reg->file_node);
	spin_unlock(&gf->lock);
	gwake_file_put(gf);
	ida_free(&gwake_ids, reg->id);
	mmdrop(reg->mm);
	put_task_struct(reg->task);
	kmem_cache_free(gwake_reg_cache, reg);
}

/*
 * As __d_drop() does: unlink @node but keep ->next, so that RCU readers
 * standing on it can walk on, and mark it unhashed (pprev == NULL) for
 * every later caller. Caller holds @b's bucket lock.
 */
static void gwake_unhash(struct hlist_bl_node *node)
{
	__hlist_bl_del(node);
	node->pprev = NULL;
}

/*
 * Unhashes @reg from the task table if it still is there, and then owns its
 * end: unhashes it from the id table and queues its free. Returns whether
 * this call removed it. @reg must be alive: the caller holds
 * rcu_read_lock(), holds its file's lock, or is its owner thread in an
 * ioctl on its file. Callable with preemption disabled (tracepoint
 * probes): takes only bit spinlocks, one at a time, and call_rcu() does
 * not sleep.
 */
static bool gwake_reg_remove(struct gwake_reg *reg)
{
	struct hlist_bl_head *b = gwake_task_bucket(reg->task);
	bool removed = false;

	hlist_bl_lock(b);
	if (!hlist_bl_unhashed(&reg->task_node)) {
		gwake_unhash(&reg->task_node);
		removed = true;
	}
	hlist_bl_unlock(b);
	if (!removed)
		return false;

	/* Only the owner of the end gets here, so only once. */
	b = gwake_id_bucket(reg->id);
	hlist_bl_lock(b);
	gwake_unhash(&reg->id_node);
	hlist_bl_unlock(b);

	queue_rcu_work(gwake_free_wq, &reg->free_work);
	return true;
}

/* The registration of @task, if any (at most one). Caller holds RCU. */
static struct gwake_reg *gwake_reg_find_task(const struct task_struct *task)
{
	struct hlist_bl_node *pos;
	struct gwake_reg *reg;

	hlist_bl_for_each_entry_rcu(reg, pos, gwake_task_bucket(task), task_node) {
		if (reg->task == task)
			return reg;
	}
	return NULL;
}

/**
 * gwake_reg_lookup() - find a registration by handle for a waker
 * @handle:	a handle from userspace, unchecked.
 *
 * Context: rcu_read_lock() held by the caller; the result is valid until
 * it drops it.
 * Return: the registration @handle names if it is still registered, its
 * thread is not exiting and it belongs to the caller's mm, else NULL
 * (stale, foreign or never issued).
 */
struct gwake_reg *gwake_reg_lookup(u64 handle)
{
	u32 id = (u32)(handle & GWAKE_ID_MAX);
	struct hlist_bl_node *pos;
	struct gwake_reg *reg;

	hlist_bl_for_each_entry_rcu(reg, pos, gwake_id_bucket(id), id_node) {
		if (reg->handle != handle)
			continue;
		if (reg->mm != current->mm)
			return NULL;
		/*
		 * A thread that has begun to exit is gone for its wakers. Its
		 * registration is removed later, at sched_process_exit, which
		 * comes after exit_mm() has already told pthread_join() (by
		 * clearing the TID word) that the thread is dead: without
		 * this, a joined thread's handle could still be live.
		 */
		if (READ_ONCE(reg->task->flags) & PF_EXITING)
			return NULL;
		return reg;
	}
	return NULL;
}

/**
 * gwake_reg_self() - the calling thread's registration on a file
 * @gf:		the file the caller is in an ioctl on.
 *
 * Context: process context, in an ioctl on @gf. The result stays valid for
 * the rest of that ioctl without RCU: only the caller itself or the
 * release of @gf can remove it (see gwake.h).
 * Return: the registration, or NULL if the caller is not registered on @gf.
 */
struct gwake_reg *gwake_reg_self(struct gwake_file *gf)
{
	struct gwake_reg *reg;

	rcu_read_lock();
	reg = gwake_reg_find_task(current);
	/* Registered through another file: that file may go away any time. */
	if (reg && reg->file != gf)
		reg = NULL;
	rcu_read_unlock();
	return reg;
}

/**
 * gwake_reg_nr_chains() - the number of chains of the registration table
 *
 * Return: the bound of the @chain argument of gwake_reg_walk_chain().
 */
unsigned int gwake_reg_nr_chains(void)
{
	return ARRAY_SIZE(gwake_task_table);
}

/**
 * gwake_reg_walk_chain() - visit every registration of one chain
 * @chain:	0 to gwake_reg_nr_chains() - 1.
 * @fn:		called for each registration on the chain, under
 *		rcu_read_lock(): it must not sleep, and @reg is valid only
 *		until it returns. A non-zero return stops the walk.
 * @arg:	passed to @fn.
 *
 * The walk sees the chain as RCU readers do: a registration hashed before
 * the walk began and still hashed when it ends is visited exactly once,
 * one removed meanwhile may or may not be. Visits follow the chain's order,
 * which changes between walks only where registrations were removed and at
 * its head, where new ones are inserted.
 *
 * Context: any context that may take rcu_read_lock(); takes no lock.
 * Return: the first non-zero return of @fn, else 0.
 */
int gwake_reg_walk_chain(unsigned int chain,
			 int (*fn)(const struct gwake_reg *reg, void *arg),
			 void *arg)
{
	struct hlist_bl_node *pos;
	struct gwake_reg *reg;
	int ret = 0;

	if (WARN_ON_ONCE(chain >= ARRAY_SIZE(gwake_task_table)))
		return -EINVAL;
	rcu_read_lock();
	hlist_bl_for_each_entry_rcu(reg, pos, &gwake_task_table[chain], task_node) {
		ret = fn(reg, arg);
		if (ret)
			break;
	}
	rcu_read_unlock();
	return ret;
}

/**
 * gwake_register() - GetG: register the calling thread on a file
 * @gf:		the file the caller is in an ioctl on.
 * @handle:	out: the caller's handle.
 * @created:	out: true if this call created the registration, false if
 *		the caller was registered on @gf already.
 *
 * Context: process context, may sleep.
 * Return: 0, -EBUSY if the caller is registered through another file,
 * -ENOSPC if GWAKE_ID_MAX registrations exist already, -ENOMEM.
 */
int gwake_register(struct gwake_file *gf, u64 *handle, bool *created)
{
	struct hlist_bl_head *b;
	struct gwake_reg *reg;
	int ret = 0, id;

	*created = false;
	rcu_read_lock();
	reg = gwake_reg_find_task(current);
	if (reg) {
		if (reg->file == gf)
			*handle = reg->handle;
		else
			ret = -EBUSY;
	}
	rcu_read_unlock();
	if (reg)
		return ret;

	/*
	 * No race with ourselves: only this thread registers itself, and
	 * nobody else can remove a registration of ours before it is hashed.
	 */
	reg = kmem_cache_zalloc(gwake_reg_cache, GFP_KERNEL);
	if (!reg)
		return -ENOMEM;
	id = ida_alloc_range(&gwake_ids, 1, GWAKE_ID_MAX, GFP_KERNEL);
	if (id < 0) {
		kmem_cache_free(gwake_reg_cache, reg);
		return id;	/* -ENOSPC or -ENOMEM */
	}
	atomic_set(&reg->state, GWAKE_IDLE);
	init_waitqueue_head(&reg->wq);
	reg->id = id;
	reg->handle = gwake_new_handle(id);
	get_task_struct(current);
	reg->task = current;
	mmgrab(current->mm);
	reg->mm = current->mm;
	kref_get(&gf->ref);
	reg->file = gf;
	INIT_HLIST_BL_NODE(&reg->task_node);
	INIT_HLIST_BL_NODE(&reg->id_node);
	INIT_RCU_WORK(&reg->free_work, gwake_reg_free);
	gwake_stat_inc(GWAKE_STAT_REGISTERS);

	/* On the file's list first, so whoever removes it can find it. */
	spin_lock(&gf->lock);
	list_add_tail(&reg->file_node, &gf->regs);
	spin_unlock(&gf->lock);

	/*
	 * Publish, by id for wakers, then by task, which makes it ours to
	 * end: gwake_reg_remove() unhashes the id node only after it took the
	 * task node, and nobody can take it before it is hashed there.
	 * hlist_bl_add_head_rcu() orders the stores above first.
	 */
	b = gwake_id_bucket(reg->id);
	hlist_bl_lock(b);
	hlist_bl_add_head_rcu(&reg->id_node, b);
	hlist_bl_unlock(b);
	b = gwake_task_bucket(current);
	hlist_bl_lock(b);
	hlist_bl_add_head_rcu(&reg->task_node, b);
	hlist_bl_unlock(b);

	*handle = reg->handle;
	*created = true;
	return 0;
}

/**
 * gwake_unregister() - drop the calling thread's registration on a file
 * @gf:		the file the caller is in an ioctl on.
 *
 * The handle is stale from now on; a pending permit is discarded with the
 * registration. Wakers that found it just before keep a valid pointer
 * until the grace period ends; their wake then goes nowhere.
 *
 * Context: process context.
 * Return: 0, or -ENOENT if the caller is not registered on @gf.
 */
int gwake_unregister(struct gwake_file *gf)
{
	struct gwake_reg *reg = gwake_reg_self(gf);

	if (!reg)
		return -ENOENT;
	if (gwake_reg_remove(reg))
		gwake_stat_inc(GWAKE_STAT_UNREGISTERS);
	return 0;
}

/**
 * gwake_file_alloc() - state of a new open file of /dev/gwake
 *
 * Context: process context, may sleep.
 * Return: the new file state holding one reference, or NULL.
 */
struct gwake_file *gwake_file_alloc(void)
{
	struct gwake_file *gf = kzalloc(sizeof(*gf), GFP_KERNEL_ACCOUNT);

	if (!gf)
		return NULL;
	spin_lock_init(&gf->lock);
	INIT_LIST_HEAD(&gf->regs);
	kref_init(&gf->ref);
	return gf;
}

/**
 * gwake_file_release() - end every registration of a file being released
 * @gf:		the file; its open-file reference is dropped.
 *
 * Registrations that a thread exit or exec removed already are still on
 * the list until their free runs; they are left to it. @gf itself is freed
 * by whichever put comes last.
 *
 * Context: process context (the file's ->release()).
 */
void gwake_file_release(struct gwake_file *gf)
{
	struct gwake_reg *reg;

	spin_lock(&gf->lock);
	list_for_each_entry(reg, &gf->regs, file_node) {
		if (gwake_reg_remove(reg))
			gwake_stat_inc(GWAKE_STAT_RELEASES);
	}
	spin_unlock(&gf->lock);
	gwake_file_put(gf);
}

/*
 * End the registration of @task, if it has one. Runs in the tracepoint
 * probes below, with preemption disabled. Found by the task itself, not
 * by TID: a non-leader thread that execs has taken its leader's TID by the
 * time either probe runs for it.
 */
static void gwake_reg_remove_task(struct task_struct *task)
{
	struct hlist_bl_head *b = gwake_task_bucket(task);
	struct gwake_reg *reg;

	/* The common case on a busy system: no registration in this chain. */
	if (hlist_bl_empty(b))
		return;
	rcu_read_lock();
	reg = gwake_reg_find_task(task);
	if (reg && gwake_reg_remove(reg))
		gwake_stat_inc(GWAKE_STAT_EXITS);
	rcu_read_unlock();
}

/*
 * sched_process_exit: every exiting task passes here, in do_exit() before
 * its files are closed, including a thread whose exec failed after the
 * point of no return (it dies of SIGSEGV, already under its leader's TID
 * if it was not the leader). A registration ends with its thread.
 */
static void gwake_probe_exit(void *data, struct task_struct *task)
{
	gwake_reg_remove_task(task);
}

/*
 * sched_process_exec: after a successful exec the thread runs a new image
 * with a new mm. Its registration must not survive into that image, so it
 * ends here. Other threads of the old image were killed by the exec and
 * ended in gwake_probe_exit(). A failed exec does not come here: before the
 * point of no return the thread goes on in its old image, registered;
 * after it, the thread dies and gwake_probe_exit() ends the registration.
 */
static void gwake_probe_exec(void *data, struct task_struct *task,
			     pid_t old_pid, struct linux_binprm *bprm)
{
	gwake_reg_remove_task(task);
}

static void gwake_tp_find(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exit"))
		gwake_tp_exit = tp;
	else if (!strcmp(tp->name, "sched_process_exec"))
		gwake_tp_exec = tp;
}

/**
 * gwake_reg_init() - set up the registration table and its exit hooks
 *
 * Context: module init.
 * Return: 0 or a negative errno; nothing is left set up on failure.
 */
int gwake_reg_init(void)
{
	int ret;

	/* A compile error, not a silent misfire, if a probe's type drifts. */
	check_trace_callback_type_sched_process_exit(gwake_probe_exit);
	check_trace_callback_type_sched_process_exec(gwake_probe_exec);

	for_each_kernel_tracepoint(gwake_tp_find, NULL);
	if (!gwake_tp_exit || !gwake_tp_exec) {
		pr_err("gwake: tracepoints sched_process_exit/exec not found\n");
		return -ENOENT;
	}

	gwake_reg_cache = KMEM_CACHE(gwake_reg, SLAB_ACCOUNT);
	if (!gwake_reg_cache)
		return -ENOMEM;
	gwake_free_wq = alloc_workqueue("gwake_free", 0, 0);
	if (!gwake_free_wq) {
		ret = -ENOMEM;
		goto err_cache;
	}
	ret = tracepoint_probe_register(gwake_tp_exit, gwake_probe_exit, NULL);
	if (ret)
		goto err_wq;
	ret = tracepoint_probe_register(gwake_tp_exec, gwake_probe_exec, NULL);
	if (ret)
		goto err_exit;
	return 0;

err_exit:
	tracepoint_probe_unregister(gwake_tp_exit, gwake_probe_exit, NULL);
	tracepoint_synchronize_unregister();
err_wq:
	destroy_workqueue(gwake_free_wq);
err_cache:
	kmem_cache_destroy(gwake_reg_cache);
	return ret;
}

/**
 * gwake_reg_exit() - tear down what gwake_reg_init() set up
 *
 * Context: module exit, after the device is gone. No file is open (each
 * holds a module reference), so every registration has been removed; only
 * probes still running and queued frees remain, and both are waited for.
 */
void gwake_reg_exit(void)
{
	unsigned int i;

	tracepoint_probe_unregister(gwake_tp_exec, gwake_probe_exec, NULL);
	tracepoint_probe_unregister(gwake_tp_exit, gwake_probe_exit, NULL);
	tracepoint_synchronize_unregister();

	for (i = 0; i < ARRAY_SIZE(gwake_task_table); i++) {
		WARN_ON_ONCE(!hlist_bl_empty(&gwake_task_table[i]));
		WARN_ON_ONCE(!hlist_bl_empty(&gwake_id_table[i]));
	}

	/* Every queue_rcu_work() has queued its work; then run them all. */
	rcu_barrier();
	destroy_workqueue(gwake_free_wq);
	kmem_cache_destroy(gwake_reg_cache);
	WARN_ON_ONCE(!ida_is_empty(&gwake_ids));
	ida_destroy(&gwake_ids);
}
