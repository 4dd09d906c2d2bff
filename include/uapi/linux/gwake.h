/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gwake: per-thread wake words behind /dev/gwake.
 *
 * A thread registers itself (GWAKE_IOC_REGISTER) and receives an opaque
 * 64-bit handle. Any thread of the same process may then wake it by handle
 * (GWAKE_IOC_WAKE), and the thread sleeps until woken (GWAKE_IOC_BLOCK).
 *
 * Each registration owns one wake word with the permit semantics of Java's
 * LockSupport.park/unpark:
 *
 *  - A wake that arrives while the thread is not blocked leaves a permit.
 *    Permits do not accumulate: at most one is kept.
 *  - A block that finds a permit consumes it and returns at once.
 *  - A wake racing with a block behaves as if it came after it: it either
 *    wakes the sleeper or leaves a permit the block then consumes. No wake
 *    is ever lost; spurious wakeups are absorbed inside the module.
 *
 * Handles are generation tagged: the handle of a thread that has exited or
 * unregistered is stale for ever (-ESRCH) and never reaches a thread that
 * later reuses the slot or the TID. A handle belongs to the process (mm)
 * that registered it; any other process gets -ESRCH.
 *
 * All structures use fixed-size fields only and have no implicit padding, so
 * the 32-bit compat ABI is identical. Every command takes a flags field;
 * unknown flags and non-zero reserved fields are rejected with -EINVAL.
 * Unknown commands fail with -ENOTTY, unreadable or unwritable arguments
 * with -EFAULT. Probe with GWAKE_IOC_API before using anything else.
 *
 * The full description, command by command, is in docs/uapi.md.
 */
#ifndef _UAPI_LINUX_GWAKE_H
#define _UAPI_LINUX_GWAKE_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* The version GWAKE_IOC_API reports; bumped only for incompatible changes. */
#define GWAKE_API_VERSION	1

/* The misc device node, relative to /dev. */
#define GWAKE_DEVICE_NAME	"gwake"

#define GWAKE_IOC_MAGIC		0xB8

/* Command numbers; bit (1 << _GWAKE_x) is set in gwake_api.commands. */
#define _GWAKE_API		0x00
#define _GWAKE_REGISTER		0x01
#define _GWAKE_UNREGISTER	0x02
#define _GWAKE_BLOCK		0x03
#define _GWAKE_WAKE		0x04
#define _GWAKE_SWAP		0x05
#define _GWAKE_WAKE_MANY	0x06

#define GWAKE_IOC_API		_IOWR(GWAKE_IOC_MAGIC, _GWAKE_API, struct gwake_api)
#define GWAKE_IOC_REGISTER	_IOWR(GWAKE_IOC_MAGIC, _GWAKE_REGISTER, struct gwake_register)
#define GWAKE_IOC_UNREGISTER	_IOW(GWAKE_IOC_MAGIC, _GWAKE_UNREGISTER, struct gwake_unregister)
#define GWAKE_IOC_BLOCK		_IOW(GWAKE_IOC_MAGIC, _GWAKE_BLOCK, struct gwake_block)
#define GWAKE_IOC_WAKE		_IOW(GWAKE_IOC_MAGIC, _GWAKE_WAKE, struct gwake_wake)
#define GWAKE_IOC_SWAP		_IOW(GWAKE_IOC_MAGIC, _GWAKE_SWAP, struct gwake_swap)
#define GWAKE_IOC_WAKE_MANY	_IOW(GWAKE_IOC_MAGIC, _GWAKE_WAKE_MANY, struct gwake_wake_many)

/* The most handles one GWAKE_IOC_WAKE_MANY takes; more is -EINVAL. */
#define GWAKE_WAKE_MANY_MAX	1024

/**
 * struct gwake_api - GWAKE_IOC_API: probe the ABI
 * @flags:	in: must be 0.
 * @version:	out: GWAKE_API_VERSION of the running module.
 * @max_wake_many: out: GWAKE_WAKE_MANY_MAX of the running module.
 * @commands:	out: bit (1 << _GWAKE_x) set for every supported command.
 * @features:	out: optional behaviours; none are defined yet, so 0.
 *
 * Always succeeds for @flags == 0; needs no registration.
 */
struct gwake_api {
	__u64 flags;
	__u32 version;
	__u32 max_wake_many;
	__u64 commands;
	__u64 features;
};

/**
 * struct gwake_register - GWAKE_IOC_REGISTER: GetG, a handle for myself
 * @flags:	in: must be 0.
 * @handle:	out: the calling thread's handle, never 0.
 *
 * Registers the calling thread on this open file if it is not registered
 * yet. Idempotent: the same thread gets the same handle until it exits or
 * unregisters. Returns 0, -EBUSY if the thread is registered through another
 * open file of /dev/gwake, -ENOMEM.
 */
struct gwake_register {
	__u64 flags;
	__u64 handle;
};

/**
 * struct gwake_unregister - GWAKE_IOC_UNREGISTER: drop my registration
 * @flags:	in: must be 0.
 *
 * Frees the calling thread's registration; its handle becomes stale
 * (-ESRCH) for ever, and a pending permit is discarded. Returns 0, or
 * -ENOENT if the thread is not registered on this file.
 */
struct gwake_unregister {
	__u64 flags;
};

/*
 * Flag of struct gwake_block and struct gwake_swap: @timeout_ns is an
 * absolute CLOCK_MONOTONIC deadline. Without it the wait is unbounded and
 * @timeout_ns must be 0. A deadline already past only takes a pending permit.
 */
#define GWAKE_BLOCK_TIMEOUT	(1ULL << 0)

/**
 * struct gwake_block - GWAKE_IOC_BLOCK: BlockG, sleep until woken
 * @flags:	in: 0 or GWAKE_BLOCK_TIMEOUT.
 * @timeout_ns:	in: absolute CLOCK_MONOTONIC deadline in nanoseconds if
 *		GWAKE_BLOCK_TIMEOUT is set, else must be 0.
 *
 * Consumes the calling thread's permit, sleeping interruptibly until one is
 * set. Returns 0 when woken (or a permit was pending), -ETIMEDOUT when the
 * deadline passed, -EINTR when a signal handler ran first (a wake that
 * arrives later is kept as a permit; a signal that runs no handler, such as
 * a stop or a ptrace attach, restarts the call transparently), -ENOENT if
 * the thread is not registered on this file.
 */
struct gwake_block {
	__u64 flags;
	__u64 timeout_ns;
};

/**
 * struct gwake_wake - GWAKE_IOC_WAKE: WakeG, wake a thread by handle
 * @flags:	in: must be 0.
 * @handle:	in: the target's handle.
 *
 * Returns 1 if the target was asleep in GWAKE_IOC_BLOCK or GWAKE_IOC_SWAP
 * and is now woken, 0 if it was not asleep and a permit is left for its next
 * block (or one was already pending), -ESRCH if @handle is stale, belongs to
 * another process, or was never issued.
 */
struct gwake_wake {
	__u64 flags;
	__u64 handle;
};

/**
 * struct gwake_swap - GWAKE_IOC_SWAP: wake a thread, then block myself
 * @flags:	in: 0 or GWAKE_BLOCK_TIMEOUT.
 * @handle:	in: the target's handle.
 * @timeout_ns:	in: as in struct gwake_block.
 *
 * Wakes @handle as GWAKE_IOC_WAKE does, with the scheduler's sync hint (the
 * waker is about to sleep), then blocks the caller as GWAKE_IOC_BLOCK does.
 * Returns what the block returns, except that any signal, handler or not,
 * ends it with -EINTR (restarting would repeat the wake); -ESRCH without
 * blocking if @handle is stale; -ENOENT without waking if the caller is not
 * registered on this file.
 */
struct gwake_swap {
	__u64 flags;
	__u64 handle;
	__u64 timeout_ns;
};

/**
 * struct gwake_wake_many - GWAKE_IOC_WAKE_MANY: wake up to N threads
 * @flags:	in: must be 0.
 * @handles:	in: user pointer to an array of @count __u64 handles.
 * @count:	in: number of handles, at most GWAKE_WAKE_MANY_MAX.
 * @reserved:	in: must be 0.
 *
 * Wakes each handle in array order as GWAKE_IOC_WAKE does. Stale handles
 * are skipped. Returns the number of sleepers woken (handles that only
 * received a permit are not counted), -EFAULT if the array cannot be read
 * (no handle is woken then), -EINVAL if @count is too large.
 */
struct gwake_wake_many {
	__u64 flags;
	__u64 handles;
	__u32 count;
	__u32 reserved;
};

#endif /* _UAPI_LINUX_GWAKE_H */
