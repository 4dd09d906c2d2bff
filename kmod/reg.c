// SPDX-License-Identifier: GPL-2.0
/*
 * gwake registrations: handles, the task table, and every way a
 * registration ends. The rules (handle format, lifetime, ownership of the
 * end and of the free, lock order) are at the top of gwake.h; this file
 * implements them.
 *
 * Locks taken here: gwake_file.lock (gwake_register(), gwake_file_release(),
 * gwake_reg_free()) and the task table's bucket locks (gwake_register(),
 * gwake_reg_detach()). gwake_file_release() is the only place that nests
 * them, a bucket lock inside the file lock. Lookups take no lock, only RCU,
 * and neither does the netlink thread dump (gwake_reg_walk_chain()). The
 * area's locks (area.c) are taken alone.
 *
 * Why a table of bit-locked hash chains rather than an xarray: a thread's
 * registration must end when the thread exits and when it execs, and the
 * only hooks for that are tracepoints, whose probes run with preemption
 * disabled (docs/design.md says why tracepoints, and what a missed probe
 * would cost). Removing an xarray entry takes xa_lock, a spinlock_t, which
 * sleeps on PREEMPT_RT; a bit spinlock does not. Lookups are RCU walks of
 * one short chain: O(1) for any realistic number of threads.
 */
#include <linux/bug.h>
#include <linux/hash.h>
#include <linux/module.h>
#include <linux/rculist_bl.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <trace/events/sched.h>

#include "gwake.h"

#ifndef CONFIG_TRACEPOINTS
#error "gwake needs CONFIG_TRACEPOINTS: registrations end on sched_process_exit"
#endif

#define GWAKE_GEN_MASK		(U64_MAX >> GWAKE_HANDLE_SLOT_BITS)

/*
 * 4096 chains (32 KiB). task_struct pointers are spread by hash_ptr():
 * with N registered threads a chain holds about N / 4096 registrations.
 */
#define GWAKE_HASH_BITS		12
static struct hlist_bl_head gwake_task_table[1 << GWAKE_HASH_BITS];

/* The generation of the last handle issued; see gwake_new_gen(). */
static atomic64_t gwake_generation = ATOMIC64_INIT(0);

static struct kmem_cache *gwake_reg_cache;
struct workqueue_struct *gwake_free_wq;
static struct tracepoint *gwake_tp_exit;
static struct tracepoint *gwake_tp_exec;

static struct hlist_bl_head *gwake_task_bucket(const struct task_struct *task)
{
	return &gwake_task_table[hash_ptr(task, GWAKE_HASH_BITS)];
}

static u64 gwake_new_gen(void)
{
	u64 gen;

	/* Generation 0 is skipped so that no handle is 0. */
	do {
		gen = atomic64_inc_return(&gwake_generation) & GWAKE_GEN_MASK;
	} while (!gen);
	return gen;
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
 * The free queued by gwake_reg_detach(), run one grace period after the
 * registration left its slot and the task table: no RCU reader can still
 * see it. Gives the slot back only now, so that it is never reused while
 * a waker might still compare against the old registration.
 */
static void gwake_reg_free(struct work_struct *work)
{
	struct gwake_reg *reg = container_of(to_rcu_work(work),
					     struct gwake_reg, free_work);
	struct gwake_file *gf = reg->file;

	/* Detached: nothing arms it any more; wait out a running report. */
	gwake_sched_notify_stop(reg);
	spin_lock(&gf->lock);
	list_del(&reg->file_node);
	spin_unlock(&gf->lock);
	gwake_file_put(gf);
	gwake_area_free_slot(reg->area, reg->slot);
	gwake_area_put(reg->area);
	put_task_struct(reg->task);
	gwake_place_free(reg);
	kmem_cache_free(gwake_reg_cache, reg);
}

/*
 * End @reg, if nobody did yet: withdraw it from its slot and free its
 * word, so that its handle is stale from now on, and count the end as
 * @stat. Returns whether this call ended it. @reg must be alive: the
 * caller holds rcu_read_lock() or its file's lock, or is its owner.
 * Callable in any context, with preemption disabled (tracepoint probes):
 * takes no lock.
 */
static bool gwake_reg_end(struct gwake_reg *reg, enum gwake_stat stat)
{
	if (test_and_set_bit(GWAKE_REG_ENDED, &reg->flags))
		return false;
	gwake_area_publish(reg->area, reg->slot, NULL);
	/* FREE: userspace wakers fail their CAS and ask the module: -ESRCH. */
	atomic64_set(reg->word, GWAKE_WORD(0, GWAKE_WORD_FREE));
	gwake_sched_end(reg);
	gwake_stat_inc(stat);
	return true;
}

/*
 * The owner detaches its ended registration: the preempt notifier off its
 * thread, out of the task table, the module reference dropped, the free
 * queued. Context: the owner thread, any context (the exit and exec probes
 * run with preemption disabled): bit locks only, and call_rcu() does not
 * sleep. The module reference was the notifier's; what holds the module
 * after it is the caller's own (an ioctl's file) or, in the probes,
 * gwake_reg_exit()'s wait for them.
 */
static void gwake_reg_detach(struct gwake_reg *reg)
{
	struct hlist_bl_head *b = gwake_task_bucket(reg->task);

	if (WARN_ON_ONCE(reg->task != current || !gwake_reg_ended(reg) ||
			 !reg->attached))
		return;
	gwake_sched_detach(reg);
	reg->attached = false;

	hlist_bl_lock(b);
	/*
	 * As __d_drop() does: unlink but keep ->next, so that RCU readers
	 * standing on this node can walk on.
	 */
	__hlist_bl_del(&reg->task_node);
	reg->task_node.pprev = NULL;
	hlist_bl_unlock(b);

	queue_rcu_work(gwake_free_wq, &reg->free_work);
	module_put(THIS_MODULE);
}

/*
 * The registration of @task in the task table, ended or not (at most one:
 * an ended one is detached before its thread registers again). Caller
 * holds RCU.
 */
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

/*
 * The caller's registration, ended or not, or NULL. The result stays valid
 * without RCU: only the caller itself frees it.
 */
static struct gwake_reg *gwake_reg_mine(void)
{
	struct gwake_reg *reg;

	rcu_read_lock();
	reg = gwake_reg_find_task(current);
	rcu_read_unlock();
	return reg;
}

/**
 * gwake_reg_lookup() - find a registration by handle for a waker
 * @handle:	a handle from userspace, unchecked.
 *
 * Context: rcu_read_lock() held by the caller; the result is valid until
 * it drops it.
 * Return: the registration @handle names if it has not ended, its thread
 * is not exiting, and it belongs to the caller's process (mm), else NULL
 * (stale, foreign or never issued).
 */
struct gwake_reg *gwake_reg_lookup(u64 handle)
{
	struct gwake_area *area = gwake_area_lookup();

	return area ? gwake_reg_lookup_in(area, handle) : NULL;
}

/**
 * gwake_reg_lookup_in() - gwake_reg_lookup() in a given area
 * @area:	a process's area, kept alive by the caller (a registration of
 *		that process holds it).
 * @handle:	a handle, unchecked.
 *
 * For a context that is not the process's own (the block notification's
 * timer, sched.c). Context: rcu_read_lock() held, any context.
 * Return: as gwake_reg_lookup().
 */
struct gwake_reg *gwake_reg_lookup_in(struct gwake_area *area, u64 handle)
{
	struct gwake_reg *reg;

	reg = gwake_area_reg(area, GWAKE_HANDLE_SLOT(handle));
	if (!reg || reg->handle != handle || gwake_reg_ended(reg))
		return NULL;
	/*
	 * A thread that has begun to exit is gone for its wakers. Its
	 * registration ends later, at sched_process_exit, which comes after
	 * exit_mm() has already told pthread_join() (by clearing the TID
	 * word) that the thread is dead: without this, a joined thread's
	 * handle could still be live.
	 */
	if (READ_ONCE(reg->task->flags) & PF_EXITING)
		return NULL;
	return reg;
}

/**
 * gwake_reg_self() - the calling thread's live registration on a file
 * @gf:		the file the caller is in an ioctl on.
 *
 * A registration of the caller that the release of its file ended is
 * detached here, on the way.
 *
 * Context: process context, in an ioctl on @gf. The result stays valid for
 * the rest of that ioctl without RCU: only the caller itself frees it.
 * Return: the registration, or NULL if the caller is not registered on @gf.
 */
struct gwake_reg *gwake_reg_self(struct gwake_file *gf)
{
	struct gwake_reg *reg = gwake_reg_mine();

	if (reg && gwake_reg_ended(reg)) {
		gwake_reg_detach(reg);
		return NULL;
	}
	/* Registered through another file: that file may go away any time. */
	if (reg && reg->file != gf)
		reg = NULL;
	return reg;
}

/**
 * gwake_reg_nr_chains() - the number of chains of the task table
 *
 * Return: the bound of the @chain argument of gwake_reg_walk_chain().
 */
unsigned int gwake_reg_nr_chains(void)
{
	return ARRAY_SIZE(gwake_task_table);
}

/**
 * gwake_reg_walk_chain() - visit every live registration of one chain
 * @chain:	0 to gwake_reg_nr_chains() - 1.
 * @fn:		called for each registration on the chain that has not
 *		ended, under rcu_read_lock(): it must not sleep, and @reg is
 *		valid only until it returns. A non-zero return stops the walk.
 * @arg:	passed to @fn.
 *
 * The walk sees the chain as RCU readers do: a registration hashed before
 * the walk began and still live when it ends is visited exactly once, one
 * registered or ended meanwhile may or may not be. Visits follow the
 * chain's order, which changes between walks only where registrations were
 * removed and at its head, where new ones are inserted.
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
		if (gwake_reg_ended(reg))
			continue;
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
 * -ENOSPC if its process's area has no free slot, -ENOMEM.
 */
int gwake_register(struct gwake_file *gf, u64 *handle, bool *created)
{
	struct gwake_area *area;
	struct hlist_bl_head *b;
	struct gwake_reg *reg;
	u32 slot;
	int ret;

	*created = false;
	reg = gwake_reg_mine();
	if (reg && gwake_reg_ended(reg)) {
		/* Ended by the release of its file: ours to detach. */
		gwake_reg_detach(reg);
		reg = NULL;
	}
	if (reg) {
		if (reg->file != gf)
			return -EBUSY;
		*handle = reg->handle;
		return 0;
	}

	/*
	 * No race with ourselves: only this thread registers itself, and
	 * nobody else can end a registration of ours before it is published.
	 */
	reg = kmem_cache_zalloc(gwake_reg_cache, GFP_KERNEL);
	if (!reg)
		return -ENOMEM;
	ret = gwake_place_alloc(reg);
	if (ret)
		goto err_reg;
	area = gwake_area_get();
	if (!area) {
		ret = -ENOMEM;
		goto err_place;
	}
	ret = gwake_area_alloc_slot(area, &slot);
	if (ret)
		goto err_area;

	reg->gen = gwake_new_gen();
	reg->slot = slot;
	reg->handle = reg->gen << GWAKE_HANDLE_SLOT_BITS | slot;
	reg->area = area;
	reg->word = gwake_area_word(area, slot);
	reg->sched = gwake_area_sched(area, slot);
	atomic64_set(reg->word, GWAKE_WORD(reg->gen, GWAKE_WORD_IDLE));
	init_waitqueue_head(&reg->wq);
	get_task_struct(current);
	reg->task = current;
	kref_get(&gf->ref);
	reg->file = gf;
	INIT_HLIST_BL_NODE(&reg->task_node);
	INIT_RCU_WORK(&reg->free_work, gwake_reg_free);
	gwake_sched_notify_init(reg);

	/* The notifier points into the module: hold it while attached. */
	__module_get(THIS_MODULE);
	gwake_sched_attach(reg);
	reg->attached = true;
	gwake_stat_inc(GWAKE_STAT_REGISTERS);

	/* On the file's list first, so whoever ends it can find it. */
	spin_lock(&gf->lock);
	list_add_tail(&reg->file_node, &gf->regs);
	spin_unlock(&gf->lock);

	/*
	 * Publish, at the slot for wakers, then by task for the probes and
	 * ourselves. rcu_assign_pointer() and hlist_bl_add_head_rcu() order
	 * the stores above first.
	 */
	gwake_area_publish(area, slot, reg);
	b = gwake_task_bucket(current);
	hlist_bl_lock(b);
	hlist_bl_add_head_rcu(&reg->task_node, b);
	hlist_bl_unlock(b);

	*handle = reg->handle;
	*created = true;
	return 0;

err_area:
	gwake_area_put(area);
err_place:
	gwake_place_free(reg);
err_reg:
	kmem_cache_free(gwake_reg_cache, reg);
	return ret;
}

/**
 * gwake_unregister() - end the calling thread's registration on a file
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
	gwake_reg_end(reg, GWAKE_STAT_UNREGISTERS);
	gwake_reg_detach(reg);
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
 * Registrations that ended already are left as they are. The caller's own
 * registration is detached at once; another thread's stays attached until
 * that thread next enters the module, exits or execs (gwake.h). @gf itself
 * is freed by whichever put comes last.
 *
 * Context: process context (the file's ->release()).
 */
void gwake_file_release(struct gwake_file *gf)
{
	struct gwake_reg *reg, *mine = NULL;

	spin_lock(&gf->lock);
	list_for_each_entry(reg, &gf->regs, file_node) {
		gwake_reg_end(reg, GWAKE_STAT_RELEASES);
		if (reg->task == current && reg->attached)
			mine = reg;
	}
	spin_unlock(&gf->lock);
	/* Ours stays on the list (and alive) until its free runs. */
	if (mine)
		gwake_reg_detach(mine);
	gwake_file_put(gf);
}

/*
 * End and detach the registration of @task, if it has one; @task is
 * current. Runs in the tracepoint probes below, with preemption disabled.
 * Found by the task itself, not by TID: a non-leader thread that execs has
 * taken its leader's TID by the time either probe runs for it.
 */
static void gwake_reg_remove_current(struct task_struct *task)
{
	struct gwake_reg *reg;

	/* The common case on a busy system: no registration in this chain. */
	if (hlist_bl_empty(gwake_task_bucket(task)))
		return;
	reg = gwake_reg_mine();
	if (!reg)
		return;
	gwake_reg_end(reg, GWAKE_STAT_EXITS);
	gwake_reg_detach(reg);
}

/*
 * sched_process_exit: every exiting task passes here, in do_exit() before
 * its files are closed, including a thread whose exec failed after the
 * point of no return (it dies of SIGSEGV, already under its leader's TID
 * if it was not the leader). A registration ends with its thread.
 */
static void gwake_probe_exit(void *data, struct task_struct *task)
{
	gwake_reg_remove_current(task);
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
	gwake_reg_remove_current(task);
}

static void gwake_tp_find(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exit"))
		gwake_tp_exit = tp;
	else if (!strcmp(tp->name, "sched_process_exec"))
		gwake_tp_exec = tp;
}

/**
 * gwake_reg_init() - set up the registrations and their exit hooks
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
	ret = gwake_sched_init();
	if (ret)
		goto err_wq;
	ret = tracepoint_probe_register(gwake_tp_exit, gwake_probe_exit, NULL);
	if (ret)
		goto err_sched;
	ret = tracepoint_probe_register(gwake_tp_exec, gwake_probe_exec, NULL);
	if (ret)
		goto err_exit;
	return 0;

err_exit:
	tracepoint_probe_unregister(gwake_tp_exit, gwake_probe_exit, NULL);
	tracepoint_synchronize_unregister();
err_sched:
	gwake_sched_exit();
err_wq:
	destroy_workqueue(gwake_free_wq);
err_cache:
	kmem_cache_destroy(gwake_reg_cache);
	return ret;
}

/**
 * gwake_reg_exit() - tear down what gwake_reg_init() set up
 *
 * Context: module exit, after the device is gone. No file is open and no
 * notifier is attached (each holds a module reference), so every
 * registration has been detached; only probes still running and queued
 * frees remain, and both are waited for.
 */
void gwake_reg_exit(void)
{
	unsigned int i;

	tracepoint_probe_unregister(gwake_tp_exec, gwake_probe_exec, NULL);
	tracepoint_probe_unregister(gwake_tp_exit, gwake_probe_exit, NULL);
	tracepoint_synchronize_unregister();

	for (i = 0; i < ARRAY_SIZE(gwake_task_table); i++)
		WARN_ON_ONCE(!hlist_bl_empty(&gwake_task_table[i]));

	/*
	 * Every queue_rcu_work() has queued its work; then run them all. A
	 * registration's free may put the last reference to an area, whose
	 * free is queued the same way: twice.
	 */
	rcu_barrier();
	flush_workqueue(gwake_free_wq);
	rcu_barrier();
	destroy_workqueue(gwake_free_wq);
	WARN_ON_ONCE(!gwake_areas_empty());
	gwake_sched_exit();
	kmem_cache_destroy(gwake_reg_cache);
}
