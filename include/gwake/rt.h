/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gwake runtime: a Go-style G-M-P scheduler in C on top of the wake word.
 *
 *   G  a green thread: a function running on its own mmap'ed stack with a
 *      guard page. Gs are cheap to spawn and are multiplexed onto Ms.
 *   M  an OS thread. Each M owns a gwake handle (include/gwake/gwake.h);
 *      an M with nothing to run parks in gwake_block(), and whoever makes
 *      work available wakes exactly one parked M by handle.
 *   P  a processor: the right to run Gs, with a local run queue. There are
 *      nprocs Ps; an M must hold a P to run Gs.
 *
 * A G may lock itself to its M (grt_lock_thread): that M then runs only
 * that G, and when the G is readied, the readier wakes that M directly by
 * its wake word instead of going through a run queue.
 *
 * All functions with a grt_ prefix must be called from a G (inside
 * grt_run) unless their comment says otherwise. Errors are negative errno
 * values; misuse that cannot be reported (a bug in the caller that would
 * corrupt the runtime) aborts with a message on stderr.
 *
 * The design, the G state machine and the list of what each primitive
 * blocks (G, M or P) are in docs/runtime.md.
 *
 * This header is filled in by the runtime work (issue 3); the sections
 * below fix the names so the pieces fit together.
 */
#ifndef GWAKE_RT_H
#define GWAKE_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Runtime lifecycle, Gs, scheduling: lib/rt/ core ------------------ */

/* ---- LockOSThread and thread calls ------------------------------------ */

/* ---- Coroutines -------------------------------------------------------- */

/* ---- Blocking system calls --------------------------------------------- */

/* ---- Channels, select, mutex, wait group ------------------------------- */

#ifdef __cplusplus
}
#endif

#endif /* GWAKE_RT_H */
