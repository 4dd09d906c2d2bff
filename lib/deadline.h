/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgwake internals: CLOCK_MONOTONIC, and relative timeouts to absolute
 * deadlines.
 *
 * The API takes a relative timeout (gwake_block(timeout_ns)); both the
 * module (GWAKE_BLOCK_TIMEOUT) and FUTEX_WAIT_BITSET take an absolute
 * CLOCK_MONOTONIC deadline, so a wait that is restarted after a spurious
 * wakeup keeps the deadline it started with. The conversion happens once,
 * on entry.
 */
#ifndef GWI_DEADLINE_H
#define GWI_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define GWI_NSEC_PER_SEC	1000000000LL

/*
 * Stores the absolute deadline for a relative timeout_ns > 0 in *abs_ns and
 * returns true. Returns false when there is no deadline to pass: the
 * timeout is negative (wait for ever) or the deadline would not fit in the
 * kernel's signed 64-bit ktime (more than 292 years from boot), which is
 * the same thing in practice and avoids handing the kernel a value it
 * would overflow. timeout_ns == 0 gives a deadline of 0, which is always in
 * the past.
 */
static inline bool gwi_deadline_ns(int64_t timeout_ns, uint64_t *abs_ns)
{
	struct timespec now;
	int64_t ns;

	if (timeout_ns < 0)
		return false;
	if (timeout_ns == 0) {
		*abs_ns = 0;
		return true;
	}
	/* CLOCK_MONOTONIC with a valid clock id and pointer cannot fail. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)now.tv_sec * GWI_NSEC_PER_SEC + now.tv_nsec;
	if (timeout_ns > INT64_MAX - ns)
		return false;
	*abs_ns = (uint64_t)(ns + timeout_ns);
	return true;
}

/* CLOCK_MONOTONIC now, in ns (vDSO: no system call). */
static inline uint64_t gwi_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * GWI_NSEC_PER_SEC + (uint64_t)now.tv_nsec;
}

static inline struct timespec gwi_ns_to_timespec(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / GWI_NSEC_PER_SEC),
		.tv_nsec = (long)(ns % GWI_NSEC_PER_SEC),
	};

	return ts;
}

#endif /* GWI_DEADLINE_H */
