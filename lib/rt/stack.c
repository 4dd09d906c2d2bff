// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * G stacks: one private anonymous mapping per stack, with a PROT_NONE
 * guard page at its low end so that an overflow faults instead of
 * silently corrupting the neighbouring memory.
 *
 * Costs and limits that shape the scheduler:
 *  - mmap + mprotect are two system calls (microseconds here), so stacks
 *    are never freed when a G exits: a dead G keeps its stack on its P's
 *    free list (proc.c, gfput/gfget) and the next grt_go() reuses both;
 *    the stacks of dead Gs that leave for the global list are cached
 *    (below), and only those beyond GRT_STACKCACHE_MAX unmapped.
 *  - Each stack is two VMAs (the stack and its guard never merge), and
 *    vm.max_map_count is 65530 by default: about 32,000 stacks at once.
 *    The runtime does not raise or depend on the sysctl; it aborts with a
 *    message when the kernel refuses a mapping; stacks are
 *    attached only when a G first runs (below), and the run queues keep
 *    spawn trees depth first (struct grt_p, lifo), so that a million Gs
 *    spawned in a tree (skynet) need only a few hundred stacks at a time.
 *  - MAP_NORESERVE: untouched stack pages cost nothing.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sched.h"

#ifdef GRT_ASAN
#include <sanitizer/asan_interface.h>
#endif

static size_t grt_pagesize(void)
{
	static size_t pg;

	if (!pg)
		pg = (size_t)sysconf(_SC_PAGESIZE);
	return pg;
}

int grt__stack_alloc(struct grt_g *gp)
{
	size_t guard = grt_pagesize();
	size_t size = grt__sched.stack_size;
	char *p;

	p = mmap(NULL, size + guard, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
		 -1, 0);
	if (p == MAP_FAILED)
		return errno == ENOMEM ? -EAGAIN : -errno;
	if (mprotect(p, guard, PROT_NONE)) {
		int err = errno;

		munmap(p, size + guard);
		return err == ENOMEM ? -EAGAIN : -err;
	}
	gp->stack_map = p;
	gp->stack_map_size = size + guard;
	gp->ctx.stack_lo = p + guard;
	gp->ctx.stack_size = size;
	/* ASan's shadow of a recycled address range may still carry the
	 * redzones of frames that lived in an earlier, unmapped stack. */
	grt__stack_reuse(gp);
	atomic_fetch_add_explicit(&grt__sched.live_stacks, 1,
				  memory_order_relaxed);
	return 0;
}

void grt__stack_free(struct grt_g *gp)
{
	if (!gp->stack_map)
		return;
	munmap(gp->stack_map, gp->stack_map_size);
	gp->stack_map = NULL;
	gp->ctx.stack_lo = NULL;
	gp->ctx.stack_size = 0;
	atomic_fetch_sub_explicit(&grt__sched.live_stacks, 1,
				  memory_order_relaxed);
}

/*
 * A dead G's stack is about to run a new function. Under ASan the frames
 * the previous function never returned from (it exited from inside
 * grt_exit(), or was discarded) left poisoned redzones in the shadow
 * memory; clear them or the new G trips over them.
 */
void grt__stack_reuse(struct grt_g *gp)
{
#ifdef GRT_ASAN
	__asan_unpoison_memory_region(gp->ctx.stack_lo, gp->ctx.stack_size);
#else
	(void)gp;
#endif
}

/*
 * Gs that never ran have no stack (struct grt_g is all grt_go() needs);
 * one is attached when the G first runs, from the cache of stacks that
 * dead Gs gave back, or a new mapping. A spawner that outruns its Gs
 * therefore costs G structures, not mappings.
 *
 * The cache is per P (owner only, no lock, at most GRT_STACKCACHE_LOCAL
 * stacks) in front of a global one (sched.gflock, at most
 * GRT_STACKCACHE_MAX; the rest are unmapped), and stacks move between the
 * two half a local cache at a time, as Go's stackcache does: Gs spawned
 * on one P and retired on another move stacks the same way, and took the
 * scheduler's lock twice per G for it when the cache was global only. The
 * bookkeeping record lives at the bottom of the cached stack itself (it
 * is unused memory), so caching allocates nothing.
 */
#define GRT_STACKCACHE_LOCAL	64u
#define GRT_STACKCACHE_MAX	1024u

/* Unmap a chain of cached stacks. */
static void stack_unmap_all(struct grt__stack *s)
{
	struct grt__stack *n;

	for (; s; s = n) {
		n = s->next;
		munmap(s->map, s->size);
		atomic_fetch_sub_explicit(&grt__sched.live_stacks, 1,
					  memory_order_relaxed);
	}
}

/* Into the global cache: a chain of stacks; unmaps what is over the cap. */
static void stackcache_spill(struct grt__stack *s)
{
	struct grt__stack *next, *over = NULL;

	pthread_mutex_lock(&grt__sched.gflock);
	for (; s; s = next) {
		next = s->next;
		if (grt__sched.nstackcache >= GRT_STACKCACHE_MAX) {
			s->next = over;
			over = s;
			continue;
		}
		s->next = grt__sched.stackcache;
		__atomic_store_n(&grt__sched.stackcache, s, __ATOMIC_RELAXED);
		grt__sched.nstackcache++;
	}
	pthread_mutex_unlock(&grt__sched.gflock);
	stack_unmap_all(over);
}

/* Take gp's stack (gp keeps none) into p's cache; p NULL: the global one. */
void grt__stack_put(struct grt_p *p, struct grt_g *gp)
{
	struct grt__stack *s, *spill = NULL;

	if (!gp->stack_map)
		return;
	s = gp->ctx.stack_lo;
	grt__stack_reuse(gp);
	s->map = gp->stack_map;
	s->size = gp->stack_map_size;
	gp->stack_map = NULL;
	gp->ctx.stack_lo = NULL;
	gp->ctx.stack_size = 0;
	if (!p) {
		s->next = NULL;
		stackcache_spill(s);
		return;
	}
	s->next = p->stackcache;
	p->stackcache = s;
	if (++p->nstackcache < GRT_STACKCACHE_LOCAL)
		return;
	while (p->nstackcache > GRT_STACKCACHE_LOCAL / 2) {
		s = p->stackcache;
		p->stackcache = s->next;
		p->nstackcache--;
		s->next = spill;
		spill = s;
	}
	stackcache_spill(spill);
}

/* gflock held, the global cache not empty. */
static struct grt__stack *stackcache_get_global(void)
{
	struct grt__stack *s = grt__sched.stackcache;

	__atomic_store_n(&grt__sched.stackcache, s->next, __ATOMIC_RELAXED);
	grt__sched.nstackcache--;
	return s;
}

/*
 * A cached stack for p's owner: its own, refilled with a batch from the
 * global cache when empty; p NULL (no P of its own): one from the global
 * cache. NULL if there is none (gfget() in proc.c has the same shape).
 */
static struct grt__stack *stackcache_get(struct grt_p *p)
{
	struct grt__stack *s = NULL;

	if (!p) {
		if (__atomic_load_n(&grt__sched.stackcache, __ATOMIC_RELAXED)) {
			pthread_mutex_lock(&grt__sched.gflock);
			if (grt__sched.stackcache)
				s = stackcache_get_global();
			pthread_mutex_unlock(&grt__sched.gflock);
		}
		return s;
	}
	if (!p->stackcache &&
	    __atomic_load_n(&grt__sched.stackcache, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&grt__sched.gflock);
		while (p->nstackcache < GRT_STACKCACHE_LOCAL / 2 &&
		       grt__sched.stackcache) {
			s = stackcache_get_global();
			s->next = p->stackcache;
			p->stackcache = s;
			p->nstackcache++;
		}
		pthread_mutex_unlock(&grt__sched.gflock);
	}
	s = p->stackcache;
	if (s) {
		p->stackcache = s->next;
		p->nstackcache--;
	}
	return s;
}

/*
 * Attach a stack to gp, or abort: a G that cannot run cannot report.
 * @p: the caller's P (its owner), or NULL.
 */
void grt__stack_get(struct grt_p *p, struct grt_g *gp)
{
	size_t guard = grt_pagesize();
	struct grt__stack *s = stackcache_get(p);
	int err;

	if (s) {
		gp->stack_map = s->map;
		gp->stack_map_size = s->size;
		gp->ctx.stack_lo = (char *)s->map + guard;
		gp->ctx.stack_size = s->size - guard;
		return;
	}
	err = grt__stack_alloc(gp);
	if (err)
		grt__fatal("cannot map a stack for G%llu: error %d (%llu stacks "
			   "live; each takes two of vm.max_map_count mappings)",
			   (unsigned long long)gp->id, err,
			   (unsigned long long)atomic_load(
				   &grt__sched.live_stacks));
}

/* Teardown: nothing runs. */
void grt__stackcache_free(void)
{
	uint32_t i;

	for (i = 0; i < grt__sched.nprocs; i++) {
		stack_unmap_all(grt__sched.allp[i]->stackcache);
		grt__sched.allp[i]->stackcache = NULL;
		grt__sched.allp[i]->nstackcache = 0;
	}
	stack_unmap_all(grt__sched.stackcache);
	grt__sched.stackcache = NULL;
	grt__sched.nstackcache = 0;
}
