// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * grt_stats() and the GRT_DEBUG=schedtrace line: counts of Gs, Ms and Ps
 * by state, and the runtime's event counters.
 *
 * Nothing here takes a lock or allocates: both run in signal handlers (a
 * SIGQUIT dump prints the SCHED line) and on the monitor, which must not
 * wait for an M. The gauges are read one by one (diag.h: the lists and
 * GRT_PEEK); the counters are single-writer relaxed counters
 * (grt__stat_inc(), sched.h), summed over the Ms: each M's count is exact
 * for the events that happen before the read, so the sum is too.
 */
#include <errno.h>
#include <string.h>

#include "diag.h"
#include "runq.h"

#define S grt__sched

/* Gs runnable on p: its ring, its run-next slot and its LIFO. */
static uint32_t p_runnable(struct grt_p *p)
{
	uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_acquire);
	uint32_t n = t - h;

	/* head may have moved past the tail we read: a racy difference. */
	if (n > GRT_RUNQ_SIZE)
		n = (int32_t)n < 0 ? 0 : GRT_RUNQ_SIZE;
	if (atomic_load_explicit(&p->runnext, memory_order_relaxed))
		n++;
	return n + atomic_load_explicit(&p->nlifo, memory_order_relaxed);
}

/*
 * SCHED 1004ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0
 * idlethreads=2 runqueue=0 [0 0]
 * (one line) as Go's schedtrace: the time since grt_run(), the Ps, the
 * Ps without an M, the Ms, the Ms spinning and parked idle, the global
 * run queue and each P's runnable Gs.
 */
void grt__schedtrace(struct grt__wbuf *w, int64_t now)
{
	uint32_t i;

	grt__w_str(w, "SCHED ");
	grt__w_sdec(w, (now - S.start_ns) / 1000000);
	grt__w_str(w, "ms: gomaxprocs=");
	grt__w_dec(w, S.nprocs);
	grt__w_str(w, " idleprocs=");
	grt__w_dec(w, atomic_load_explicit(&S.npidle, memory_order_relaxed));
	grt__w_str(w, " threads=");
	grt__w_dec(w, atomic_load_explicit(&S.mcount, memory_order_relaxed));
	grt__w_str(w, " spinningthreads=");
	grt__w_dec(w, atomic_load_explicit(&S.nmspinning,
					   memory_order_relaxed));
	grt__w_str(w, " idlethreads=");
	grt__w_dec(w, atomic_load_explicit(&S.nmidle, memory_order_relaxed));
	grt__w_str(w, " runqueue=");
	grt__w_dec(w, atomic_load_explicit(&S.gqsize, memory_order_relaxed));
	grt__w_str(w, " [");
	for (i = 0; i < S.nprocs; i++) {
		if (i)
			grt__w_char(w, ' ');
		grt__w_dec(w, p_runnable(S.allp[i]));
	}
	grt__w_str(w, "]\n");
}

static void fill(struct grt_stats *st)
{
	struct grt_g *gp;
	struct grt_m *m;
	uint32_t i;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->procs = S.nprocs;
	st->procs_idle = atomic_load_explicit(&S.npidle, memory_order_relaxed);
	st->ms = atomic_load_explicit(&S.mcount, memory_order_relaxed);
	st->ms_idle = atomic_load_explicit(&S.nmidle, memory_order_relaxed);
	st->ms_spinning = atomic_load_explicit(&S.nmspinning,
					       memory_order_relaxed);
	st->ms_syscall = atomic_load_explicit(&S.nmsyscall,
					      memory_order_relaxed);
	for (m = atomic_load_explicit(&S.allm, memory_order_acquire); m;
	     m = GRT_PEEK(m->alllink)) {
		if (!GRT_PEEK(m->dead) && GRT_PEEK(m->lockedg))
			st->ms_locked++;
		st->spawned += atomic_load_explicit(&m->nspawn,
						    memory_order_relaxed);
		st->switches += atomic_load_explicit(&m->nsched,
						     memory_order_relaxed);
		st->steals += atomic_load_explicit(&m->nsteal,
						   memory_order_relaxed);
		st->thread_calls += atomic_load_explicit(&m->ntcall,
							 memory_order_relaxed);
	}
	for (gp = atomic_load_explicit(&S.allg, memory_order_acquire); gp;
	     gp = GRT_PEEK(gp->alllink)) {
		switch (atomic_load_explicit(&gp->status, memory_order_relaxed)) {
		case GRT_GRUNNABLE:
			st->gs_runnable++;
			break;
		case GRT_GRUNNING:
			st->gs_running++;
			break;
		case GRT_GSYSCALL:
			st->gs_syscall++;
			break;
		case GRT_GWAITING:
			st->gs_waiting++;
			break;
		default:
			st->gs_free++;
			break;
		}
	}
	st->runq_global = atomic_load_explicit(&S.gqsize, memory_order_relaxed);
	for (i = 0; i < S.nprocs; i++)
		st->runq_local += p_runnable(S.allp[i]);
	st->stacks = atomic_load_explicit(&S.live_stacks, memory_order_relaxed);
	st->spawned += atomic_load_explicit(&S.nspawn_nom, memory_order_relaxed);
	st->handoffs = atomic_load_explicit(&S.nhandoff, memory_order_relaxed);
	st->preemptions = atomic_load_explicit(&S.npreempt,
					       memory_order_relaxed);
}

int grt_stats(struct grt_stats *st)
{
	struct grt_stats all;
	size_t size;

	if (!st || st->size < 8)
		return -EINVAL;
	if (!grt__diag_enter())
		return -ESRCH;
	fill(&all);
	grt__diag_exit();
	/* Only the caller's size: an older caller's struct is smaller; a
	 * newer caller's extra fields are zeroed. */
	size = st->size;
	if (size > sizeof(all)) {
		memset((char *)st + sizeof(all), 0, size - sizeof(all));
		size = sizeof(all);
	}
	all.size = (uint32_t)size;
	memcpy(st, &all, size);
	return 0;
}
