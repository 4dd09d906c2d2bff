// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/gwake: the misc device and its ioctls.
 *
 * This is the only file that touches user memory, as kernel/futex/syscalls.c
 * is for futexes: each command copies its argument in, rejects unknown
 * flags and non-zero reserved fields (-EINVAL), and calls the mechanism in
 * reg.c or wake.c with kernel values. Validation comes before any effect:
 * a command that fails here has changed nothing. No lock is taken here.
 */
#include <linux/fs.h>
#include <linux/gwake.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "gwake.h"
#include "timens.h"

/* WAKE_MANY copies arrays up to this size to the stack, larger ones to the heap. */
#define GWAKE_WAKE_MANY_ONSTACK	16

static long gwake_ioctl_api(struct gwake_api __user *uarg)
{
	struct gwake_api api;

	if (copy_from_user(&api, uarg, sizeof(api)))
		return -EFAULT;
	if (api.flags)
		return -EINVAL;
	api.version = GWAKE_API_VERSION;
	api.max_wake_many = GWAKE_WAKE_MANY_MAX;
	api.commands = GWAKE_API_COMMANDS;
	api.features = GWAKE_API_FEATURES;
	/* place.c: no placement on PREEMPT_RT. */
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		api.features &= ~GWAKE_FEATURE_PLACE;
	if (copy_to_user(uarg, &api, sizeof(api)))
		return -EFAULT;
	return 0;
}

static long gwake_ioctl_register(struct gwake_file *gf,
				 struct gwake_register __user *uarg)
{
	struct gwake_register reg;
	bool created;
	int ret;

	if (copy_from_user(&reg, uarg, sizeof(reg)))
		return -EFAULT;
	if (reg.flags)
		return -EINVAL;
	ret = gwake_register(gf, &reg.handle, &created);
	if (ret)
		return ret;
	if (put_user(reg.handle, &uarg->handle)) {
		/*
		 * Nobody can know a handle that was never returned: undo a
		 * registration this call made, so a failed call changes
		 * nothing.
		 */
		if (created)
			gwake_unregister(gf);
		return -EFAULT;
	}
	return 0;
}

static long gwake_ioctl_unregister(struct gwake_file *gf,
				   struct gwake_unregister __user *uarg)
{
	struct gwake_unregister unreg;

	if (copy_from_user(&unreg, uarg, sizeof(unreg)))
		return -EFAULT;
	if (unreg.flags)
		return -EINVAL;
	return gwake_unregister(gf);
}

/*
 * A CLOCK_MONOTONIC time of the caller's time namespace, on the host's
 * clock, which is what hrtimers run on: as timens_ktime_to_host() does for
 * futex, a time before the namespace's offset is 0 (long past), and one
 * that would pass KTIME_MAX is KTIME_MAX (never reached). Unlike that
 * function it cannot overflow for a negative offset. The same @t gives the
 * same result on every call (the offset is fixed), so a restarted BLOCK
 * keeps its deadline exactly.
 */
static ktime_t gwake_timens_to_host(u64 t)
{
	ktime_t offset = gwake_timens_monotonic_offset();
	ktime_t kt = t > KTIME_MAX ? KTIME_MAX : (ktime_t)t;
	ktime_t host;

	if (kt < offset)
		return 0;
	if (check_sub_overflow(kt, offset, &host))
		return KTIME_MAX;
	return host;
}

/*
 * The deadline of BLOCK and SWAP: NULL without GWAKE_BLOCK_TIMEOUT (then
 * @timeout_ns must be 0), else @timeout_ns, a CLOCK_MONOTONIC time of the
 * caller's time namespace, as a host time in *@kt. A deadline beyond
 * KTIME_MAX (about 292 years of uptime) is KTIME_MAX: never reached.
 */
static int gwake_deadline(u64 flags, u64 timeout_ns, ktime_t *kt,
			  const ktime_t **deadline)
{
	if (flags & ~GWAKE_BLOCK_TIMEOUT)
		return -EINVAL;
	if (!(flags & GWAKE_BLOCK_TIMEOUT)) {
		if (timeout_ns)
			return -EINVAL;
		*deadline = NULL;
		return 0;
	}
	*kt = gwake_timens_to_host(timeout_ns);
	*deadline = kt;
	return 0;
}

/*
 * BLOCK in either size (GWAKE_BLOCK_SIZE_VER0, or the whole struct): the
 * fields a shorter struct lacks are 0, the old behaviour.
 */
static long gwake_ioctl_block(struct gwake_file *gf,
			      struct gwake_block __user *uarg, size_t usize)
{
	const ktime_t *deadline;
	struct gwake_block blk;
	ktime_t kt;
	int ret;

	if (copy_struct_from_user(&blk, sizeof(blk), uarg, usize))
		return -EFAULT;
	ret = gwake_deadline(blk.flags & ~GWAKE_BLOCK_PARTNER, blk.timeout_ns,
			     &kt, &deadline);
	if (ret)
		return ret;
	/* A partner is a handle; without one, both fields are 0. */
	if ((blk.flags & GWAKE_BLOCK_PARTNER) ? !blk.partner :
	    blk.partner || blk.spin_ns)
		return -EINVAL;
	return gwake_block(gf, deadline, blk.partner, blk.spin_ns);
}

static long gwake_ioctl_wake(struct gwake_wake __user *uarg)
{
	struct gwake_wake wk;

	if (copy_from_user(&wk, uarg, sizeof(wk)))
		return -EFAULT;
	if (wk.flags & ~GWAKE_WAKE_SLEEPER)
		return -EINVAL;
	return gwake_wake(wk.handle, wk.flags & GWAKE_WAKE_SLEEPER);
}

static long gwake_ioctl_swap(struct gwake_file *gf,
			     struct gwake_swap __user *uarg)
{
	const ktime_t *deadline;
	struct gwake_swap sw;
	ktime_t kt;
	int ret;

	if (copy_from_user(&sw, uarg, sizeof(sw)))
		return -EFAULT;
	/* place.c: no placement on PREEMPT_RT. */
	if (IS_ENABLED(CONFIG_PREEMPT_RT) && (sw.flags & GWAKE_SWAP_PLACE))
		return -EINVAL;
	ret = gwake_deadline(sw.flags & ~(GWAKE_BLOCK_PARTNER | GWAKE_SWAP_PLACE),
			     sw.timeout_ns, &kt, &deadline);
	if (ret)
		return ret;
	return gwake_swap(gf, sw.handle, deadline, sw.flags & GWAKE_BLOCK_PARTNER,
			  sw.flags & GWAKE_SWAP_PLACE);
}

static long gwake_ioctl_wake_many(struct gwake_wake_many __user *uarg)
{
	u64 onstack[GWAKE_WAKE_MANY_ONSTACK];
	struct gwake_wake_many wm;
	u64 *handles = onstack;
	long ret;

	if (copy_from_user(&wm, uarg, sizeof(wm)))
		return -EFAULT;
	if ((wm.flags & ~GWAKE_WAKE_SLEEPER) || wm.reserved ||
	    wm.count > GWAKE_WAKE_MANY_MAX)
		return -EINVAL;
	if (!wm.count)
		return 0;
	/* A call with handles (GWAKE_STATS_A_WAKE_MANY), whatever comes next. */
	gwake_stat_inc(GWAKE_STAT_WAKE_MANY);

	/* The whole array first: a fault must wake nobody. */
	if (wm.count > ARRAY_SIZE(onstack)) {
		handles = kmalloc_array(wm.count, sizeof(*handles), GFP_KERNEL);
		if (!handles)
			return -ENOMEM;
	}
	if (copy_from_user(handles, u64_to_user_ptr(wm.handles),
			   wm.count * sizeof(*handles)))
		ret = -EFAULT;
	else
		ret = gwake_wake_many(handles, wm.count,
				      wm.flags & GWAKE_WAKE_SLEEPER);
	if (handles != onstack)
		kfree(handles);
	return ret;
}

static long gwake_ioctl_notify(struct gwake_file *gf,
			       struct gwake_notify __user *uarg)
{
	struct gwake_notify n;

	if (copy_from_user(&n, uarg, sizeof(n)))
		return -EFAULT;
	if (n.flags || n.reserved || n.threshold_ns > GWAKE_NOTIFY_MAX_NS ||
	    (!n.handle && n.threshold_ns))
		return -EINVAL;
	return gwake_notify(gf, n.handle, n.threshold_ns);
}

static long gwake_dev_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct gwake_file *gf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case GWAKE_IOC_API:
		return gwake_ioctl_api(uarg);
	case GWAKE_IOC_REGISTER:
		return gwake_ioctl_register(gf, uarg);
	case GWAKE_IOC_UNREGISTER:
		return gwake_ioctl_unregister(gf, uarg);
	case GWAKE_IOC_BLOCK:
	case GWAKE_IOC_BLOCK_VER0:
		return gwake_ioctl_block(gf, uarg, _IOC_SIZE(cmd));
	case GWAKE_IOC_WAKE:
		return gwake_ioctl_wake(uarg);
	case GWAKE_IOC_SWAP:
		return gwake_ioctl_swap(gf, uarg);
	case GWAKE_IOC_WAKE_MANY:
		return gwake_ioctl_wake_many(uarg);
	case GWAKE_IOC_NOTIFY:
		return gwake_ioctl_notify(gf, uarg);
	default:
		return -ENOTTY;
	}
}

static int gwake_dev_open(struct inode *inode, struct file *file)
{
	struct gwake_file *gf;

	/*
	 * Not before init has succeeded: should a later step fail, the
	 * module is freed with its files (main.c). MODULE_STATE_LIVE is set
	 * only once gwake_init() returned 0.
	 */
	if (READ_ONCE(THIS_MODULE->state) != MODULE_STATE_LIVE)
		return -EAGAIN;
	gf = gwake_file_alloc();
	if (!gf)
		return -ENOMEM;
	/* Replaces the miscdevice pointer misc_open() left there. */
	file->private_data = gf;
	return 0;
}

static int gwake_dev_release(struct inode *inode, struct file *file)
{
	gwake_file_release(file->private_data);
	return 0;
}

/*
 * mmap() of the caller's shared area (uapi header, "The shared area"): one
 * region per mapping, shared, within the region; the scheduling state
 * read-only for good (no VM_MAYWRITE, so mprotect() cannot add it).
 */
static int gwake_dev_mmap(struct file *file, struct vm_area_struct *vma)
{
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	u64 base = off >= GWAKE_MMAP_SCHED ? GWAKE_MMAP_SCHED : GWAKE_MMAP_WORDS;

	/* VM_MAYSHARE: a shared mapping of a read-only file has no VM_SHARED. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (off - base >= GWAKE_AREA_SIZE || len > GWAKE_AREA_SIZE - (off - base))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (base == GWAKE_MMAP_SCHED && (vma->vm_flags & VM_WRITE))
		return -EPERM;
	vma->vm_flags &= ~VM_MAYEXEC;
	if (base == GWAKE_MMAP_SCHED)
		vma->vm_flags &= ~VM_MAYWRITE;
	return gwake_area_mmap(vma);
}

static const struct file_operations gwake_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= gwake_dev_open,
	.release	= gwake_dev_release,
	.mmap		= gwake_dev_mmap,
	.unlocked_ioctl	= gwake_dev_ioctl,
	/* Every argument has the same layout in 32-bit and 64-bit tasks. */
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/*
 * World-usable: a handle reaches only threads with the caller's own mm,
 * and a thread has at most one registration, so a user can affect nothing
 * but its own processes and allocates no more than one small object per
 * thread it owns (charged to its memory cgroup).
 */
static struct miscdevice gwake_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= GWAKE_DEVICE_NAME,
	.fops	= &gwake_dev_fops,
	.mode	= 0666,
};

/**
 * gwake_dev_init() - create /dev/gwake
 *
 * Context: module init, after the registration table and before the
 * netlink family (main.c). Opens fail with -EAGAIN until init succeeded.
 * Return: 0 or a negative errno.
 */
int gwake_dev_init(void)
{
	return misc_register(&gwake_misc);
}

/**
 * gwake_dev_exit() - remove /dev/gwake
 *
 * Context: module exit, after the netlink family, and on a failed init.
 * No file can be open (each one holds a reference to this module), so no
 * ioctl is running.
 */
void gwake_dev_exit(void)
{
	misc_deregister(&gwake_misc);
}
