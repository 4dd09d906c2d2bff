/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgwake internals: the two futex operations the user backend needs.
 *
 * Both are process-private (FUTEX_PRIVATE_FLAG): a wake word is never
 * shared with another process, and private futexes skip the mm lookup.
 *
 * Ordering: the kernel guarantees that a waiter either sees a value changed
 * before a concurrent FUTEX_WAKE or is woken by it (kernel/futex/waitwake.c,
 * barriers (A) and (B)): a waker that changes the word and then calls
 * gwi_futex_wake() can never be missed by gwi_futex_wait() on the old value.
 *
 * Both return 0 or a negative errno and leave errno modified; the public
 * entry points in lib/backend.c restore the caller's errno.
 */
#ifndef GWI_FUTEX_H
#define GWI_FUTEX_H

#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

/*
 * Sleeps while *word == val, until woken, until the absolute
 * CLOCK_MONOTONIC time *deadline (NULL: no deadline), or until a signal
 * handler runs. FUTEX_WAIT_BITSET is used only because it takes an
 * absolute deadline (plain FUTEX_WAIT takes a relative one), so a loop
 * around spurious wakeups keeps one deadline instead of recomputing it.
 * Returns 0 (woken, possibly spuriously), -EAGAIN (*word != val),
 * -ETIMEDOUT, -EINTR.
 */
static inline int gwi_futex_wait(_Atomic uint32_t *word, uint32_t val,
				 const struct timespec *deadline)
{
	long r = syscall(SYS_futex, (uint32_t *)word,
			 FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val, deadline,
			 NULL, FUTEX_BITSET_MATCH_ANY);

	return r < 0 ? -errno : 0;
}

/* Wakes at most one thread sleeping on word. Returns how many woke. */
static inline int gwi_futex_wake(_Atomic uint32_t *word)
{
	long r = syscall(SYS_futex, (uint32_t *)word,
			 FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

#endif /* GWI_FUTEX_H */
