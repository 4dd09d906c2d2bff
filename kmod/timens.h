/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gwake: the caller's time namespace, for the deadlines of BLOCK and SWAP.
 *
 * A kernel-version and configuration shim, kept out of the logic. The
 * kernel's own conversion, timens_ktime_to_host(), calls
 * do_timens_ktime_to_host(), which is not exported to modules; the offset
 * it reads is reachable. Without CONFIG_TIME_NS, nsproxy's time_ns is
 * never set (NULL in init_nsproxy), and every clock is the host's.
 */
#ifndef _GWAKE_TIMENS_H
#define _GWAKE_TIMENS_H

#include <linux/ktime.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/time_namespace.h>

/*
 * How far the caller's CLOCK_MONOTONIC is ahead of the host's (negative:
 * behind). Fixed for the life of a namespace: offsets can be written only
 * before any task enters it. Context: process context, current only.
 */
static inline ktime_t gwake_timens_monotonic_offset(void)
{
#ifdef CONFIG_TIME_NS
	return timespec64_to_ktime(current->nsproxy->time_ns->offsets.monotonic);
#else
	return 0;
#endif
}

#endif /* _GWAKE_TIMENS_H */
