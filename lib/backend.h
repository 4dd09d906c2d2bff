/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgwake internals: the backend interface.
 *
 * The public functions (lib/backend.c) choose a backend once per process
 * and call through its ops table. A backend may assume that:
 *
 *  - its init() ran exactly once, before any other op, and returned 0;
 *  - the caller's errno is saved and restored around every op, so an op
 *    may clobber errno freely and returns a negative errno instead;
 *  - wake_many() gets n <= GWAKE_WAKE_MANY_MAX and hs != NULL when n > 0;
 *  - h is never 0 in wake() and swap() (0 is never a handle: -ESRCH).
 *
 * Each backend implements the contract of include/gwake/gwake.h in full,
 * including registering the caller inside block() and swap() when needed,
 * fork handling (pthread_atfork, installed by init()) and thread exit.
 */
#ifndef GWI_BACKEND_H
#define GWI_BACKEND_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <gwake/gwake.h>

#include "compiler.h"

GWI_HIDDEN_BEGIN

struct gwi_backend {
	const char *name;
	/* Returns 0, or a negative errno if the backend cannot be used. */
	int (*init)(void);
	int (*self)(gwake_t *out);
	int (*block)(int64_t timeout_ns);
	/* block(), naming the thread expected to wake the caller (not 0). */
	int (*block_for)(gwake_t partner, int64_t timeout_ns);
	/* block() that never spins first (gwi_block_idle()); NULL: block(). */
	int (*block_idle)(int64_t timeout_ns);
	int (*wake)(gwake_t h);
	int (*swap)(gwake_t h, int64_t timeout_ns, bool here);
	int (*wake_many)(const gwake_t *hs, size_t n);
	int (*unregister)(void);
	/* A GWAKE_STATE_* value for h (not 0), or a negative errno. */
	int (*sched_state)(gwake_t h);
	/* Report the caller's blocks of threshold_ns (>= 0) to h (0: off). */
	int (*notify)(gwake_t h, int64_t threshold_ns);
};

extern const struct gwi_backend gwi_user_backend;	/* lib/user.c */
extern const struct gwi_backend gwi_kmod_backend;	/* lib/kmod.c */

/*
 * Runs b->init() if it has not run yet in this process and returns its
 * result (0: b is usable), the same result on every call. For in-tree code
 * that drives a backend's ops directly, beside the one the public API
 * chose (gwake-bench compares both backends in one process); never needed
 * by users of gwake_*(). Thread safe.
 */
int gwi_backend_init(const struct gwi_backend *b);

/*
 * gwi_block_idle() - gwake_block() for a thread that knows no wake is
 * imminent, so a spin before the sleep could only burn CPU: the runtime's
 * monitor, and an M that parks when every P is idle (nothing runs that
 * could hand it work within a spin). Same returns as gwake_block(). In-tree
 * callers only; the public API keeps a single way to block.
 */
int gwi_block_idle(int64_t timeout_ns);

GWI_HIDDEN_END

#endif /* GWI_BACKEND_H */
