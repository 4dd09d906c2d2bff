/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scheduler's internal contract with the rest of lib/rt (channels,
 * select, mutex, wait group, timers, thread calls): how a G blocks and how
 * it is made runnable again. The G-M-P design and the G state machine are
 * described at the top of lib/rt/proc.c and in docs/runtime.md.
 *
 * Everything declared here is hidden: libgwake.so exports only gwake_* and
 * grt_* (lib/libgwake.map); internals carry the grt__ prefix.
 */
#ifndef GWAKE_RT_SCHED_H
#define GWAKE_RT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../compiler.h"

GWI_HIDDEN_BEGIN

struct grt_g;

/*
 * grt__curg() - the running G, or NULL when called outside a G (from a
 * thread that is not an M of the running runtime, or from an M's scheduler
 * stack).
 */
struct grt_g *grt__curg(void);

/*
 * grt__park() - park the running G.
 *
 * After the G is switched out -- on its M's scheduler (g0) stack, when its
 * own stack is no longer in use -- commit(gp, arg) runs. If it returns
 * false the G is made runnable again at once and grt__park() returns
 * (Go's gopark unlockf). If it returns true the G stays parked until
 * someone calls grt__ready(gp); grt__park() then returns on whatever M runs
 * the G next. reason is a static string shown in deadlock reports
 * ("chan receive", "select", ...).
 *
 * commit runs with no runtime lock held and must not block or park; it is
 * where a waiter record published on the G's stack is made visible (by
 * releasing the lock that protects it). A G that is readied before commit
 * returns cannot exist: whoever readies it must first find the waiter,
 * which commit publishes.
 *
 * Memory ordering: everything the readier wrote before grt__ready(gp) is
 * visible to gp when grt__park() returns (release by the run queue or the
 * wake word, acquire by the M that runs gp).
 *
 * Must be called from a G (aborts otherwise).
 */
void grt__park(bool (*commit)(struct grt_g *gp, void *arg), void *arg,
	       const char *reason);

/*
 * grt__ready() - make the parked G gp runnable: into the current P's
 * run-next slot (Go's ready(gp, next=true)), waking an idle P/M if one is
 * needed (wakep). If gp is locked to an M, that M is woken directly by its
 * gwake handle instead: gp never goes through a run queue. From a thread
 * with no P (a thread-call server, a thread that is not an M), gp goes to
 * the global run queue and an idle M is woken.
 *
 * Callable from any G, any M's scheduler stack (a park commit, a timer)
 * and any thread while the runtime runs. gp must be parked (grt__park()
 * committed): readying a G that is not parked aborts with a message.
 */
void grt__ready(struct grt_g *gp);

GWI_HIDDEN_END

#endif /* GWAKE_RT_SCHED_H */
