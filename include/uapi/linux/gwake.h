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
 * Handles are generation tagged: the handle of a thread that has exited,
 * exec'd or unregistered is stale for ever (-ESRCH) and never reaches a
 * thread that later reuses the slot or the TID. A handle works only for
 * callers with the address space (mm) its thread had when it registered:
 * another process gets -ESRCH, except a CLONE_VM child (vfork()) before it
 * execs, which shares the mm (docs/uapi.md, "What is isolated").
 *
 * All structures use fixed-size fields only and have no implicit padding, so
 * the 32-bit compat ABI is identical. Every command takes a flags field;
 * unknown flags and non-zero reserved fields are rejected with -EINVAL.
 * Unknown commands fail with -ENOTTY, unreadable or unwritable arguments
 * with -EFAULT. Probe with GWAKE_IOC_API before using anything else.
 *
 * The module also registers a generic netlink family, GWAKE_GENL_NAME, that
 * reports statistics and the registered threads (the second half of this
 * file). It changes nothing but the statistics' starting point: an
 * administrator may reset the counters.
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
#define _GWAKE_NOTIFY		0x07

#define GWAKE_IOC_API		_IOWR(GWAKE_IOC_MAGIC, _GWAKE_API, struct gwake_api)
#define GWAKE_IOC_REGISTER	_IOWR(GWAKE_IOC_MAGIC, _GWAKE_REGISTER, struct gwake_register)
#define GWAKE_IOC_UNREGISTER	_IOW(GWAKE_IOC_MAGIC, _GWAKE_UNREGISTER, struct gwake_unregister)
#define GWAKE_IOC_BLOCK		_IOW(GWAKE_IOC_MAGIC, _GWAKE_BLOCK, struct gwake_block)
#define GWAKE_IOC_WAKE		_IOW(GWAKE_IOC_MAGIC, _GWAKE_WAKE, struct gwake_wake)
#define GWAKE_IOC_SWAP		_IOW(GWAKE_IOC_MAGIC, _GWAKE_SWAP, struct gwake_swap)
#define GWAKE_IOC_WAKE_MANY	_IOW(GWAKE_IOC_MAGIC, _GWAKE_WAKE_MANY, struct gwake_wake_many)
#define GWAKE_IOC_NOTIFY	_IOW(GWAKE_IOC_MAGIC, _GWAKE_NOTIFY, struct gwake_notify)

/*
 * BLOCK of the first version, whose struct gwake_block ended at timeout_ns
 * (GWAKE_BLOCK_SIZE_VER0 bytes): still accepted, as if partner and spin_ns
 * were 0. Structs only ever grow at their end, and the size is part of the
 * command; a zero new field means the old behaviour.
 */
#define GWAKE_BLOCK_SIZE_VER0	16
#define GWAKE_IOC_BLOCK_VER0	\
	_IOC(_IOC_WRITE, GWAKE_IOC_MAGIC, _GWAKE_BLOCK, GWAKE_BLOCK_SIZE_VER0)

/* Every command of this version: gwake_api.commands of a module that has them all. */
#define GWAKE_API_COMMANDS						\
	(1ULL << _GWAKE_API | 1ULL << _GWAKE_REGISTER |			\
	 1ULL << _GWAKE_UNREGISTER | 1ULL << _GWAKE_BLOCK |		\
	 1ULL << _GWAKE_WAKE | 1ULL << _GWAKE_SWAP |			\
	 1ULL << _GWAKE_WAKE_MANY | 1ULL << _GWAKE_NOTIFY)

/*
 * Features, in gwake_api.features: what a module offers beyond the
 * commands.
 *
 * GWAKE_FEATURE_SHARED: the wake words and the scheduling state of the
 * caller's process can be mapped with mmap() on the device (see "The
 * shared area" below), so that a wake of a thread that does not sleep,
 * and a block that finds a permit, make no system call.
 *
 * GWAKE_FEATURE_PARTNER: BLOCK and SWAP take GWAKE_BLOCK_PARTNER, a wait
 * that knows which thread will end it.
 *
 * GWAKE_FEATURE_PLACE: SWAP takes GWAKE_SWAP_PLACE, which runs a target
 * that sleeps in the module on the caller's CPU (see struct gwake_swap).
 * Not offered on PREEMPT_RT kernels.
 */
#define GWAKE_FEATURE_SHARED	(1ULL << 0)
#define GWAKE_FEATURE_PARTNER	(1ULL << 1)
#define GWAKE_FEATURE_PLACE	(1ULL << 2)
#define GWAKE_API_FEATURES	\
	(GWAKE_FEATURE_SHARED | GWAKE_FEATURE_PARTNER | GWAKE_FEATURE_PLACE)

/* The most handles one GWAKE_IOC_WAKE_MANY takes; more is -EINVAL. */
#define GWAKE_WAKE_MANY_MAX	1024

/**
 * struct gwake_api - GWAKE_IOC_API: probe the ABI
 * @flags:	in: must be 0.
 * @version:	out: GWAKE_API_VERSION of the running module.
 * @max_wake_many: out: GWAKE_WAKE_MANY_MAX of the running module.
 * @commands:	out: bit (1 << _GWAKE_x) set for every supported command
 *		(GWAKE_API_COMMANDS for this version).
 * @features:	out: GWAKE_FEATURE_* bits of the behaviours it offers.
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
 * open file of /dev/gwake, -ENOSPC if its process has GWAKE_AREA_SLOTS
 * registrations already (ended ones count until they are freed, a grace
 * period later), -ENOMEM.
 *
 * The handle names the thread's slot in its process's shared area:
 * GWAKE_HANDLE_SLOT() and GWAKE_HANDLE_GEN() take it apart.
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
 * absolute CLOCK_MONOTONIC deadline, on the caller's clock (its time
 * namespace's, converted to the host's as futex does). Without it the wait
 * is unbounded and @timeout_ns must be 0. A deadline already past only takes
 * a pending permit.
 */
#define GWAKE_BLOCK_TIMEOUT	(1ULL << 0)

/*
 * Flag of struct gwake_block and struct gwake_swap: the caller names the
 * thread expected to wake it, its partner (struct gwake_block.partner; for
 * SWAP, the target). Before sleeping the module then looks at the partner:
 *
 *  - on a CPU: spin for the permit, while nothing else waits for the
 *    caller's CPU (need_resched(), single_task_running()), at most
 *    spin_ns (GWAKE_SPIN_DEFAULT_NS if 0, at most GWAKE_SPIN_MAX_NS);
 *  - runnable but not on a CPU (preempted, or woken and not yet running):
 *    if it waits for the caller's CPU, yield that to it (yield_to()), then
 *    look again; if it waits for another CPU, sleep;
 *  - blocked, exited, or not a live handle of the caller's process: sleep
 *    at once.
 *
 * Only when and how long it sleeps changes: the result is BLOCK's.
 */
#define GWAKE_BLOCK_PARTNER	(1ULL << 1)

/*
 * Flag of struct gwake_swap, with GWAKE_FEATURE_PLACE: run a target that
 * sleeps in the module on the caller's CPU (see struct gwake_swap). -EINVAL
 * where the feature is not offered, and for BLOCK.
 */
#define GWAKE_SWAP_PLACE	(1ULL << 2)
#define GWAKE_SPIN_DEFAULT_NS	20000
#define GWAKE_SPIN_MAX_NS	200000

/**
 * struct gwake_block - GWAKE_IOC_BLOCK: BlockG, sleep until woken
 * @flags:	in: GWAKE_BLOCK_TIMEOUT, GWAKE_BLOCK_PARTNER, or 0.
 * @timeout_ns:	in: absolute CLOCK_MONOTONIC deadline in nanoseconds if
 *		GWAKE_BLOCK_TIMEOUT is set, else must be 0.
 * @partner:	in: with GWAKE_BLOCK_PARTNER, the handle of the thread
 *		expected to wake the caller; else must be 0.
 * @spin_ns:	in: with GWAKE_BLOCK_PARTNER, the longest spin the caller
 *		wants (0: GWAKE_SPIN_DEFAULT_NS); else must be 0.
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
	__u64 partner;
	__u64 spin_ns;
};

/*
 * Flag of struct gwake_wake: the caller has already set the permit in the
 * target's shared wake word, and found the target SLEEPING (a compare and
 * exchange of SLEEPING to PERMIT): the module only wakes it, and returns
 * 1. This is the system call a userspace wake makes when, and only when,
 * the target sleeps.
 */
#define GWAKE_WAKE_SLEEPER	(1ULL << 0)

/**
 * struct gwake_wake - GWAKE_IOC_WAKE: WakeG, wake a thread by handle
 * @flags:	in: 0 or GWAKE_WAKE_SLEEPER.
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
 * @flags:	in: GWAKE_BLOCK_TIMEOUT, GWAKE_BLOCK_PARTNER (the target is
 *		the partner), GWAKE_SWAP_PLACE, or 0.
 * @handle:	in: the target's handle.
 * @timeout_ns:	in: as in struct gwake_block.
 *
 * Wakes @handle as GWAKE_IOC_WAKE does, with the scheduler's sync hint (the
 * waker is about to sleep), then blocks the caller as GWAKE_IOC_BLOCK does.
 * With GWAKE_SWAP_PLACE (GWAKE_FEATURE_PLACE), a target asleep in the
 * module (BLOCK, SWAP) is woken on the caller's CPU if its affinity allows
 * that CPU and at least one other and it is not SCHED_DEADLINE: the module
 * narrows the target's allowed CPUs to the caller's for the wakeup, and
 * the saved mask is back before the target returns to userspace. Another
 * thread's sched_getaffinity() of the target may see the narrowed mask in
 * between; the target itself never does. A change of the target's mask by
 * another thread or a cpuset update that lands between the module's
 * saving of the mask and its narrowing (an instant, but a module cannot
 * make the two one step) is overwritten, and the mask from before it comes
 * back: do not ask for placement where masks or cpusets of the process's
 * threads change under it. docs/uapi.md has the details.
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
 * @flags:	in: 0, or GWAKE_WAKE_SLEEPER: every handle is a sleeper the
 *		caller set the permit of in the shared word (as for WAKE).
 * @handles:	in: user pointer to an array of @count __u64 handles.
 * @count:	in: number of handles, at most GWAKE_WAKE_MANY_MAX.
 * @reserved:	in: must be 0.
 *
 * Wakes each handle as GWAKE_IOC_WAKE does, in an order that is not
 * specified; the call may reschedule between handles. Stale handles are
 * skipped. Returns the number of sleepers woken (handles
 * that only received a permit are not counted), -EFAULT if the array
 * cannot be read (no handle is woken then), -EINVAL if @count is too large.
 */
struct gwake_wake_many {
	__u64 flags;
	__u64 handles;
	__u32 count;
	__u32 reserved;
};

/* The longest threshold GWAKE_IOC_NOTIFY takes; more is -EINVAL. */
#define GWAKE_NOTIFY_MAX_NS	1000000000ULL

/**
 * struct gwake_notify - GWAKE_IOC_NOTIFY: report the caller's long blocks
 * @flags:	in: must be 0.
 * @handle:	in: whom to wake when the caller has been blocked for
 *		@threshold_ns: a live handle of the caller's process (-ESRCH
 *		otherwise) other than the caller's own (-EINVAL), or 0 to stop
 *		reporting. Should it end later, reports wake nobody.
 * @threshold_ns: in: how long a block must last to be reported, at most
 *		GWAKE_NOTIFY_MAX_NS; 0 reports a block as soon as it begins.
 *		Must be 0 with @handle 0.
 * @reserved:	in: must be 0.
 *
 * Configures the calling thread's registration (-ENOENT if it has none on
 * this file). A block is any sleep of the thread in the kernel (a system
 * call, a page fault, a lock), except its own waits in GWAKE_IOC_BLOCK and
 * GWAKE_IOC_SWAP. Each block that lasts @threshold_ns is reported once: the
 * module adds 1 to the thread's gwake_sched.notified, then wakes @handle
 * as GWAKE_IOC_WAKE does (a permit if it is awake). A block that ends
 * earlier costs a timer armed and cancelled; none is reported after the
 * registration ended. Reports are hints: one may arrive just after the
 * block ended.
 */
struct gwake_notify {
	__u64 flags;
	__u64 handle;
	__u64 threshold_ns;
	__u64 reserved;
};

/*
 * The shared area (GWAKE_FEATURE_SHARED).
 *
 * Each process (each mm) that registers threads has one area of
 * GWAKE_AREA_SLOTS slots; a registration owns one slot, named by its
 * handle:
 *
 *	handle = generation << GWAKE_HANDLE_SLOT_BITS | slot
 *
 * The generation (never 0) is issued anew for every registration, so a
 * handle is never reused. mmap() on any open file of /dev/gwake maps the
 * caller's own area, in two regions of GWAKE_AREA_SIZE bytes, one slot of
 * GWAKE_SLOT_SIZE bytes each, at the offsets below:
 *
 *	GWAKE_MMAP_WORDS  read-write: struct gwake_word, the wake words
 *	GWAKE_MMAP_SCHED  read-only:  struct gwake_sched, what the scheduler
 *	                  does with each registered thread
 *
 * A mapping must be MAP_SHARED, start at one of those offsets and lie
 * within its region; the sched region cannot be mapped writable. Pages
 * are allocated on first touch (a slot never issued reads as zeros).
 * Mappings are not inherited across fork() (the child has an area of its
 * own, once it registers and maps it) and end at execve().
 *
 * The wake word: GWAKE_WORD(generation, state), 64 bits, naturally
 * aligned. Every change is an atomic read-modify-write, by userspace and
 * by the module alike, with the protocol of the wake word (docs/uapi.md):
 *
 *	IDLE --wake--> PERMIT, PERMIT --wake--> PERMIT (a CAS that names the
 *	generation: a stale handle's CAS fails);
 *	SLEEPING --wake--> PERMIT, then GWAKE_IOC_WAKE with
 *	GWAKE_WAKE_SLEEPER to wake the sleeper;
 *	PERMIT --the owner's block--> IDLE (an exchange; acquire);
 *	IDLE --BLOCK, in the module--> SLEEPING; only the module sleeps.
 *
 * A wake's RMW is a release and the consume an acquire, as with the
 * ioctls. A word whose generation is not the handle's belongs to another
 * registration or none (FREE once a registration ended): make the ioctl,
 * which answers -ESRCH for a stale handle. The module trusts nothing it
 * reads here: a word a thread of the process scribbled on costs at worst
 * a spurious return of that thread's block, never a crash.
 *
 * The scheduling state: struct gwake_sched, written by the module only,
 * each field with a single store: @state at every context switch of the
 * thread (preempt notifiers) and when the module wakes it, @cpu when it
 * starts running, @switches (how often it left a CPU) at every switch
 * out, @notified by the block notification's timer (GWAKE_IOC_NOTIFY).
 * @gen is the owner's generation while the slot is registered, 0
 * otherwise: read it before and after the rest to know the rest was the
 * handle's. The fields are hints of a moment that is already past when
 * they are read, never a snapshot taken together.
 */
#define GWAKE_AREA_SLOTS	65536
#define GWAKE_SLOT_SIZE		64
#define GWAKE_AREA_SIZE		(GWAKE_AREA_SLOTS * GWAKE_SLOT_SIZE)
#define GWAKE_MMAP_WORDS	0ULL
#define GWAKE_MMAP_SCHED	((__u64)GWAKE_AREA_SIZE)

#define GWAKE_HANDLE_SLOT_BITS	16
#define GWAKE_HANDLE_SLOT(h)	((__u32)((h) & (GWAKE_AREA_SLOTS - 1)))
#define GWAKE_HANDLE_GEN(h)	((h) >> GWAKE_HANDLE_SLOT_BITS)

/* States of the wake word; FREE is a slot no registration owns. */
#define GWAKE_WORD_FREE		0
#define GWAKE_WORD_IDLE		1
#define GWAKE_WORD_PERMIT	2
#define GWAKE_WORD_SLEEPING	3
#define GWAKE_WORD(gen, state)	((__u64)(gen) << 2 | (state))
#define GWAKE_WORD_STATE(w)	((w) & 3)
#define GWAKE_WORD_GEN(w)	((w) >> 2)

/**
 * struct gwake_word - a slot of the GWAKE_MMAP_WORDS region
 * @word:	GWAKE_WORD(generation, state) of the slot's registration.
 * @__reserved:	the rest of the slot's cache line; not used.
 */
struct gwake_word {
	__u64 word;
	__u64 __reserved[7];
};

/* Values of struct gwake_sched.state. */
#define GWAKE_SCHED_NONE	0	/* no registration, or not yet known */
#define GWAKE_SCHED_RUNNING	1	/* on a CPU */
#define GWAKE_SCHED_PREEMPTED	2	/* runnable, off its CPU */
#define GWAKE_SCHED_BLOCKED	3	/* asleep (in the module or anywhere) */
#define GWAKE_SCHED_WAKING	4	/* woken by the module, not yet running */

/**
 * struct gwake_sched - a slot of the GWAKE_MMAP_SCHED region (read-only)
 * @state:	a GWAKE_SCHED_* value.
 * @cpu:	the CPU it last ran on.
 * @switches:	how often it left a CPU since it registered.
 * @gen:	the generation of the slot's registration; 0 if none.
 * @notified:	how many of its blocks were reported (GWAKE_IOC_NOTIFY).
 * @__reserved:	the rest of the slot's cache line; reads as 0.
 */
struct gwake_sched {
	__u32 state;
	__u32 cpu;
	__u64 switches;
	__u64 gen;
	__u64 notified;
	__u64 __reserved[4];
};

/*
 * The generic netlink family: statistics, their reset, and registered
 * threads.
 *
 * Resolve GWAKE_GENL_NAME with the generic netlink controller
 * (CTRL_CMD_GETFAMILY); it exists while gwake.ko is loaded, in the initial
 * network namespace only. Every command is validated strictly: an
 * attribute the command does not take, an unknown attribute type, a
 * malformed attribute, a non-zero genlmsghdr.reserved or netlink flags
 * other than NLM_F_REQUEST, NLM_F_ACK, NLM_F_ECHO and NLM_F_DUMP fail with
 * -EINVAL (with an extended ack message when NETLINK_EXT_ACK is set). An
 * unknown command, or a dump of a command that has none (and the other
 * way round), fails with -EOPNOTSUPP: that is also how a module older than
 * a command answers it (the controller's CTRL_ATTR_OPS lists the commands
 * a module has).
 *
 * Enums below only ever grow at their end, before the __*_MAX sentinel; a
 * value is never renumbered or reused. Readers must ignore attributes they
 * do not know: later versions may add counters. Every u64 attribute is
 * written with the matching *_A_PAD attribute for alignment.
 */

/* The family's name, for CTRL_CMD_GETFAMILY. */
#define GWAKE_GENL_NAME		"gwake"
/* The family's version (genlmsghdr.version); bumped only for incompatible changes. */
#define GWAKE_GENL_VERSION	1

/**
 * enum gwake_genl_cmd - commands of the gwake generic netlink family
 * @GWAKE_CMD_UNSPEC: not a command.
 * @GWAKE_CMD_GET_STATS: do (no NLM_F_DUMP): reply with one
 *	GWAKE_CMD_GET_STATS message carrying every attribute of
 *	enum gwake_stats_attr: the counters, summed over all CPUs since the
 *	module was loaded or the last GWAKE_CMD_RESET_STATS. Takes no
 *	attribute. Open to every user.
 * @GWAKE_CMD_GET_THREADS: dump (NLM_F_DUMP): one GWAKE_CMD_GET_THREADS
 *	message per registered thread, attributes of enum gwake_thread_attr.
 *	The request may carry GWAKE_THREAD_A_TGID to list one process only.
 *	Without CAP_SYS_ADMIN only the caller's own process is listed, and
 *	asking for another one fails with -EPERM; a GWAKE_THREAD_A_TGID that
 *	names no process fails with -ESRCH. Threads that have begun to exit
 *	are not listed (their handles are already stale), nor threads outside
 *	the caller's PID namespace.
 * @GWAKE_CMD_RESET_STATS: do (no NLM_F_DUMP): start every counter of
 *	enum gwake_stats_attr again from 0, and reply with one
 *	GWAKE_CMD_RESET_STATS message carrying the attributes of a
 *	GWAKE_CMD_GET_STATS reply: the counts from the previous reset (or the
 *	load) up to this one, and GWAKE_STATS_A_RESETS counting this one.
 *	An event counted during the reset is in its reply or in later
 *	replies, never both and never neither. Takes no attribute. Needs
 *	CAP_SYS_ADMIN (on the socket's opener and the caller): -EPERM
 *	otherwise, with nothing reset. An error delivering the reply (a full
 *	receive buffer) comes after the reset happened: compare
 *	GWAKE_STATS_A_RESETS to tell. Added after the first version of the
 *	family: an older module answers -EOPNOTSUPP.
 * @__GWAKE_CMD_MAX: sentinel; new commands go right before it.
 */
enum gwake_genl_cmd {
	GWAKE_CMD_UNSPEC,
	GWAKE_CMD_GET_STATS,
	GWAKE_CMD_GET_THREADS,
	GWAKE_CMD_RESET_STATS,

	__GWAKE_CMD_MAX,
};

/* The highest command number. */
#define GWAKE_CMD_MAX		(__GWAKE_CMD_MAX - 1)

/**
 * enum gwake_stats_attr - attributes of GET_STATS and RESET_STATS replies
 * @GWAKE_STATS_A_UNSPEC: not an attribute.
 * @GWAKE_STATS_A_PAD: padding for the u64 attributes; ignore it.
 * @GWAKE_STATS_A_REGISTERS: u64, registrations created (a REGISTER by a
 *	thread that was not registered yet).
 * @GWAKE_STATS_A_UNREGISTERS: u64, registrations ended by UNREGISTER.
 * @GWAKE_STATS_A_EXITS: u64, registrations ended by their thread's exit
 *	or execve().
 * @GWAKE_STATS_A_RELEASES: u64, registrations ended by the close of the
 *	file they were made on. REGISTERS minus UNREGISTERS, EXITS and
 *	RELEASES is the number of registered threads.
 * @GWAKE_STATS_A_BLOCKS: u64, blocks: BLOCK calls and the block half of
 *	SWAP calls, by registered callers.
 * @GWAKE_STATS_A_BLOCKS_PERMIT: u64, blocks that found a permit and
 *	returned 0 without sleeping.
 * @GWAKE_STATS_A_SLEEPS: u64, blocks that went to sleep (once per block,
 *	however many spurious wakeups it absorbed).
 * @GWAKE_STATS_A_TIMEOUTS: u64, blocks that ended with -ETIMEDOUT, asleep
 *	or not (a deadline already past).
 * @GWAKE_STATS_A_INTERRUPTS: u64, blocks that a signal ended (-EINTR, or
 *	a transparent restart, which then counts as a new block).
 * @GWAKE_STATS_A_WAKES_WOKEN: u64, wakes (by WAKE, SWAP, WAKE_MANY or a
 *	NOTIFY report) that found their target asleep and woke it.
 * @GWAKE_STATS_A_WAKES_PERMIT: u64, wakes that found their target awake
 *	and left a permit (or found one pending).
 * @GWAKE_STATS_A_WAKES_STALE: u64, wakes whose handle named no live
 *	registration of the caller's process (-ESRCH, skipped by WAKE_MANY,
 *	or a report whose target ended).
 * @GWAKE_STATS_A_SWAPS: u64, SWAP calls by registered callers.
 * @GWAKE_STATS_A_WAKE_MANY: u64, WAKE_MANY calls with at least one handle,
 *	including those whose array could not be read (-EFAULT).
 * @GWAKE_STATS_A_REGISTERED: u64, not a counter: the registrations not
 *	ended yet (REGISTERS minus UNREGISTERS, EXITS and RELEASES as counted
 *	since the load, which a reset does not change). Not in the replies of
 *	a module older than GWAKE_CMD_RESET_STATS.
 * @GWAKE_STATS_A_RESETS: u64, not reset: GWAKE_CMD_RESET_STATS calls that
 *	succeeded since the load. Two replies with the same value count from
 *	the same reset. Not in the replies of a module older than
 *	GWAKE_CMD_RESET_STATS.
 * @__GWAKE_STATS_A_MAX: sentinel; new attributes go right before it.
 *
 * BLOCKS = BLOCKS_PERMIT + SLEEPS + the timeouts and interrupts of blocks
 * that had not slept yet, and REGISTERS - UNREGISTERS - EXITS - RELEASES
 * = REGISTERED, both until the first reset. Counters are per CPU
 * and summed when read: a reply taken while other CPUs count is not one
 * instant's snapshot, but all of its counters start from the same reset,
 * and between resets no counter ever goes backwards.
 */
enum gwake_stats_attr {
	GWAKE_STATS_A_UNSPEC,
	GWAKE_STATS_A_PAD,
	GWAKE_STATS_A_REGISTERS,
	GWAKE_STATS_A_UNREGISTERS,
	GWAKE_STATS_A_EXITS,
	GWAKE_STATS_A_RELEASES,
	GWAKE_STATS_A_BLOCKS,
	GWAKE_STATS_A_BLOCKS_PERMIT,
	GWAKE_STATS_A_SLEEPS,
	GWAKE_STATS_A_TIMEOUTS,
	GWAKE_STATS_A_INTERRUPTS,
	GWAKE_STATS_A_WAKES_WOKEN,
	GWAKE_STATS_A_WAKES_PERMIT,
	GWAKE_STATS_A_WAKES_STALE,
	GWAKE_STATS_A_SWAPS,
	GWAKE_STATS_A_WAKE_MANY,
	GWAKE_STATS_A_REGISTERED,
	GWAKE_STATS_A_RESETS,

	__GWAKE_STATS_A_MAX,
};

/* The highest attribute type of a GET_STATS or RESET_STATS reply. */
#define GWAKE_STATS_A_MAX	(__GWAKE_STATS_A_MAX - 1)

/**
 * enum gwake_thread_state - values of GWAKE_THREAD_A_STATE: the wake word
 * @GWAKE_THREAD_IDLE: no permit, not asleep.
 * @GWAKE_THREAD_PERMIT: a wake is pending; the next block returns at once.
 * @GWAKE_THREAD_ASLEEP: asleep in BLOCK or SWAP, nothing arrived yet.
 */
enum gwake_thread_state {
	GWAKE_THREAD_IDLE,
	GWAKE_THREAD_PERMIT,
	GWAKE_THREAD_ASLEEP,
};

/**
 * enum gwake_thread_attr - attributes of GWAKE_CMD_GET_THREADS messages
 * @GWAKE_THREAD_A_UNSPEC: not an attribute.
 * @GWAKE_THREAD_A_PAD: padding for the u64 attributes; ignore it.
 * @GWAKE_THREAD_A_HANDLE: u64, the thread's handle (as REGISTER returned).
 * @GWAKE_THREAD_A_TGID: u32, the thread's process ID, in the caller's PID
 *	namespace. In a request: list this process only (0 is -ERANGE).
 * @GWAKE_THREAD_A_TID: u32, the thread's ID, in the caller's PID namespace.
 * @GWAKE_THREAD_A_STATE: u32, an enum gwake_thread_state, as it was when
 *	the message was made.
 * @GWAKE_THREAD_A_BLOCKS: u64, the thread's blocks (as
 *	GWAKE_STATS_A_BLOCKS) since it registered.
 * @GWAKE_THREAD_A_BLOCKS_PERMIT: u64, of those, the ones that found a
 *	permit and did not sleep.
 * @GWAKE_THREAD_A_SLEEPS: u64, of those, the ones that slept.
 * @__GWAKE_THREAD_A_MAX: sentinel; new attributes go right before it.
 *
 * Every reply message carries all of them but PAD and UNSPEC. A request
 * carries at most GWAKE_THREAD_A_TGID; any other attribute is -EINVAL.
 */
enum gwake_thread_attr {
	GWAKE_THREAD_A_UNSPEC,
	GWAKE_THREAD_A_PAD,
	GWAKE_THREAD_A_HANDLE,
	GWAKE_THREAD_A_TGID,
	GWAKE_THREAD_A_TID,
	GWAKE_THREAD_A_STATE,
	GWAKE_THREAD_A_BLOCKS,
	GWAKE_THREAD_A_BLOCKS_PERMIT,
	GWAKE_THREAD_A_SLEEPS,

	__GWAKE_THREAD_A_MAX,
};

/* The highest attribute type of GWAKE_CMD_GET_THREADS messages. */
#define GWAKE_THREAD_A_MAX	(__GWAKE_THREAD_A_MAX - 1)

#endif /* _UAPI_LINUX_GWAKE_H */
