// SPDX-License-Identifier: GPL-2.0
/*
 * gwake statistics: per-CPU event counters.
 *
 * The mechanism counts events with gwake_stat_inc() (gwake.h), which bumps
 * this CPU's copy of one counter: no lock, no atomic, no cache line that
 * another CPU writes. The netlink family sums the copies when it is asked
 * (gwake_stats_read()), which is rare, so the cost is all on the reader.
 *
 * The sum is not one instant's snapshot: CPUs keep counting while it is
 * taken, and each copy is read once. Each copy only grows, so a sum never
 * goes backwards (each copy is read with one 64-bit load; on a 32-bit
 * kernel the read could tear, and this module does not target those).
 *
 * Reset (GWAKE_CMD_RESET_STATS) never writes the per-CPU copies: a CPU's
 * this_cpu_inc() is a read-modify-write that is atomic against interrupts
 * on that CPU only, so another CPU's store of 0 in the middle of it would
 * be overwritten, and the reset of that copy lost. Instead the reset takes
 * the sums as they are and keeps them as the new base, which every later
 * read subtracts. An event counted while a reset runs is therefore either
 * in the sum the reset takes (reported by the reset, gone from later
 * reads) or not (in later reads): never lost, never counted twice, never
 * torn. The copies themselves only ever grow, from the module's load.
 *
 * gwake_stats_lock (seqlock_t) orders resets, and lets a read see every
 * base of one reset, never half of one: readers retry around a reset, and
 * resets (rare, and privileged) take its spinlock, a leaf. On PREEMPT_RT a
 * reader that finds a reset under way takes and drops that lock to wait
 * for it (seqlock_t's rule there) instead of spinning. The counting itself
 * never touches it.
 */
#include <linux/compiler.h>
#include <linux/cpumask.h>
#include <linux/percpu.h>
#include <linux/seqlock.h>

#include "gwake.h"

DEFINE_PER_CPU(struct gwake_stats, gwake_stats);

static DEFINE_SEQLOCK(gwake_stats_lock);
/* The sums each counter had at the last reset; under gwake_stats_lock. */
static u64 gwake_stats_base[GWAKE_STAT_NR];
/* How many resets since the module was loaded; under gwake_stats_lock. */
static u64 gwake_stats_resets;

/*
 * One counter summed over every CPU. Possible CPUs, not online ones: a CPU
 * that went offline keeps what it counted, and the sum must not shrink
 * when it leaves.
 */
static u64 gwake_stat_sum(enum gwake_stat stat)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(&gwake_stats, cpu)->cnt[stat]);
	return sum;
}

/*
 * Every counter's sum. The ends of registrations before their starts, so
 * that an end is never summed without its registration (gwake_reg_end()'s
 * test_and_set_bit() orders each end after its REGISTER): the live count
 * derived from them is never below the truth.
 */
static void gwake_stats_sums(u64 sum[GWAKE_STAT_NR])
{
	unsigned int i;

	for (i = 0; i < GWAKE_STAT_NR; i++)
		if (i != GWAKE_STAT_REGISTERS)
			sum[i] = gwake_stat_sum(i);
	/* The ends' loads before the registrations'. */
	smp_rmb();
	sum[GWAKE_STAT_REGISTERS] = gwake_stat_sum(GWAKE_STAT_REGISTERS);
}

/*
 * The registrations not ended yet, from the sums since the load (clamped
 * at 0 for safety: gwake_stats_sums() reads the ends first).
 */
static u64 gwake_stats_live(const u64 *sum)
{
	s64 n = (s64)(sum[GWAKE_STAT_REGISTERS] - sum[GWAKE_STAT_UNREGISTERS] -
		      sum[GWAKE_STAT_EXITS] - sum[GWAKE_STAT_RELEASES]);

	return n > 0 ? n : 0;
}

/**
 * gwake_stats_read() - every event counter, since the last reset
 * @val:	out: by enum gwake_stat, the events since the last reset (or
 *		the module's load).
 * @live:	out: the registrations not ended yet, from the counters since
 *		the load (which a reset does not change).
 * @resets:	out: the number of resets since the load.
 *
 * The values of one reset's epoch: a read concurrent with a reset retries.
 *
 * Context: process. Waits for a reset under way (on PREEMPT_RT by taking
 * and dropping gwake_stats_lock; otherwise takes no lock).
 */
void gwake_stats_read(u64 val[GWAKE_STAT_NR], u64 *live, u64 *resets)
{
	u64 sum[GWAKE_STAT_NR];
	unsigned int seq, i;

	do {
		seq = read_seqbegin(&gwake_stats_lock);
		/*
		 * Sums taken after this read of the sequence are at least
		 * the ones the reset that wrote the bases took: it read them
		 * before the full barrier that precedes its stores.
		 */
		gwake_stats_sums(sum);
		for (i = 0; i < GWAKE_STAT_NR; i++)
			val[i] = sum[i] - gwake_stats_base[i];
		*resets = gwake_stats_resets;
	} while (read_seqretry(&gwake_stats_lock, seq));
	*live = gwake_stats_live(sum);
}

/**
 * gwake_stats_reset() - start every event counter again from 0
 * @val:	out: by enum gwake_stat, the events from the previous reset (or
 *		the module's load) up to this one: what a read just before
 *		would have said, with nothing counted in between lost.
 * @live:	out: as for gwake_stats_read(), from the same sums.
 * @resets:	out: the number of resets since the load, this one included.
 *
 * See the top of this file for what happens to events counted meanwhile.
 *
 * Context: process; takes gwake_stats_lock.
 */
void gwake_stats_reset(u64 val[GWAKE_STAT_NR], u64 *live, u64 *resets)
{
	u64 sum[GWAKE_STAT_NR];
	unsigned int i;

	write_seqlock(&gwake_stats_lock);
	/*
	 * The odd sequence before the loads below (write_seqlock()'s
	 * smp_wmb() orders stores only): a reader that loads a copy after
	 * we did must see the sequence move and retry, or it could report
	 * for this epoch more than this reset does.
	 */
	smp_mb();
	gwake_stats_sums(sum);
	/*
	 * The loads above before the stores below, and cumulative: whatever
	 * a copy held when it was summed here reaches every CPU before a
	 * reader can see the new bases, so its sum cannot be lower than the
	 * base it subtracts (the seqlock's own barriers order stores only).
	 */
	smp_mb();
	for (i = 0; i < GWAKE_STAT_NR; i++) {
		val[i] = sum[i] - gwake_stats_base[i];
		gwake_stats_base[i] = sum[i];
	}
	*resets = ++gwake_stats_resets;
	write_sequnlock(&gwake_stats_lock);
	*live = gwake_stats_live(sum);
}
