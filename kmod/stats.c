// SPDX-License-Identifier: GPL-2.0
/*
 * gwake statistics: per-CPU event counters.
 *
 * The mechanism counts events with gwake_stat_inc() (gwake.h), which bumps
 * this CPU's copy of one counter: no lock, no atomic, no cache line that
 * another CPU writes. The netlink family sums the copies when it is asked
 * (gwake_stat_read()), which is rare, so the cost is all on the reader.
 *
 * The sum is not one instant's snapshot: CPUs keep counting while it is
 * taken, and each copy is read once. Each copy only grows, so a sum never
 * goes backwards (each copy is read with one 64-bit load; on a 32-bit
 * kernel the read could tear, and this module does not target those). The
 * counters start at 0 when the module loads and are never reset.
 */
#include <linux/compiler.h>
#include <linux/cpumask.h>
#include <linux/percpu.h>

#include "gwake.h"

DEFINE_PER_CPU(struct gwake_stats, gwake_stats);

/**
 * gwake_stat_read() - one event counter, summed over every CPU
 * @stat:	the counter.
 *
 * Possible CPUs, not online ones: a CPU that went offline keeps what it
 * counted, and the sum must not shrink when it leaves.
 *
 * Context: any; takes no lock.
 * Return: the number of @stat events since the module was loaded.
 */
u64 gwake_stat_read(enum gwake_stat stat)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(&gwake_stats, cpu)->cnt[stat]);
	return sum;
}
