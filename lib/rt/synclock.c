// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The internal lock of channels, select, the mutex and the wait group
 * (see lib/rt/sync.h): slow paths and the park commit that releases it.
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sync.h"

/*
 * How long a contended locker spins before it sleeps. Critical sections
 * are a few dozen instructions, so a holder that is on a CPU is done long
 * before this; a holder that is not (preempted by the kernel, or on an
 * oversubscribed machine) will not be done by spinning longer.
 */
#define SYNC_LOCK_SPIN	128

void grt__sync_lock_slow(uint32_t *l)
{
	uint32_t v;
	int i;

	for (i = 0; i < SYNC_LOCK_SPIN; i++) {
		v = __atomic_load_n(l, __ATOMIC_RELAXED);
		if (v == 0 && __atomic_compare_exchange_n(l, &v, 1, false,
							  __ATOMIC_ACQUIRE,
							  __ATOMIC_RELAXED))
			return;
		gwi_cpu_relax();
	}
	/*
	 * Announce a sleeper (2) and sleep while the lock is held. Taking the
	 * lock in state 2 rather than 1 may cost its next unlock a needless
	 * FUTEX_WAKE; it never loses one.
	 */
	while (__atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE) != 0)
		syscall(SYS_futex, l, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void grt__sync_unlock_wake(uint32_t *l)
{
	syscall(SYS_futex, l, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

bool grt__sync_unlock_commit(struct grt_g *gp, void *arg)
{
	(void)gp;
	grt__sync_unlock(arg);
	return true;
}
