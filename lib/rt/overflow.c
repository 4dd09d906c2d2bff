// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Stack overflow of a G: the report.
 *
 * G stacks do not grow (stack.c): a G that overflows its stack touches the
 * PROT_NONE guard page below it and gets SIGSEGV. Without help that is a
 * bare "Segmentation fault" with no hint of which G or why. The runtime
 * installs a SIGSEGV/SIGBUS handler while it runs; if the faulting address
 * is in the guard page of a G whose stack pointer is at or near it, the
 * handler writes
 *
 *   grt: G7 overflowed its stack (65536 bytes, guard page at 0x7f..., entry fn+0x0)
 *
 * with write(2) only, and abort()s. Every other fault goes to the handler
 * that was installed before ours (the program's own, ASan's), or to the
 * default action, as if we had never been there.
 *
 * The handler must run on another stack than the one that overflowed:
 * each M gets an alternate signal stack when it starts (sigaltstack is
 * per thread), unless its thread already has one (ASan gives every thread
 * its own, and a program may have set one on the thread that calls
 * grt_run()): that one is kept and used.
 *
 * Restoring: at the runtime's end the previous handlers come back, unless
 * somebody replaced ours meanwhile (then theirs stays). A program that
 * installs its own SIGSEGV handler while a runtime runs gets every fault,
 * overflows included, as plain faults.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "diag.h"

#define S grt__sched

/* Our alternate stacks: plenty for the report (a symbol lookup). */
#define GRT_SIGSTACK_SIZE	(64u << 10)
/* A stack pointer this far below a G's stack still counts as its own (a
 * frame larger than the guard page jumped over it). */
#define GRT_OVERFLOW_SLACK	(64u << 10)

/*
 * The handlers we replaced. Written by grt__fault_install() before our
 * handler is installed (sigaction() is the barrier: the handler can only
 * run after it), read by the handler; rewritten only by the next
 * grt_run(), after teardown() removed ours.
 */
static struct sigaction old_segv, old_bus;
static bool installed;

void grt__sigstack_init(struct grt_m *m)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	stack_t ss, old;
	char *p;

	m->sigstack = NULL;
	if (!sigaltstack(NULL, &old) && !(old.ss_flags & SS_DISABLE))
		return;		/* the thread has one: use it */
	/* A guard page below it too: an overflow of the handler must not
	 * scribble over whatever is mapped there. */
	p = mmap(NULL, GRT_SIGSTACK_SIZE + pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return;		/* no report for this M, a plain SIGSEGV */
	if (mprotect(p, pg, PROT_NONE)) {
		munmap(p, GRT_SIGSTACK_SIZE + pg);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = p + pg;
	ss.ss_size = GRT_SIGSTACK_SIZE;
	if (sigaltstack(&ss, NULL)) {
		munmap(p, GRT_SIGSTACK_SIZE + pg);
		return;
	}
	m->sigstack = p;
}

void grt__sigstack_fini(struct grt_m *m)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	stack_t ss;

	if (!m->sigstack)
		return;
	memset(&ss, 0, sizeof(ss));
	ss.ss_flags = SS_DISABLE;
	/* Fails only while running on it: not here. */
	if (!sigaltstack(&ss, NULL))
		munmap(m->sigstack, GRT_SIGSTACK_SIZE + pg);
	m->sigstack = NULL;
}

/*
 * Did gp overflow its stack? addr: the faulting address, sp: the stack
 * pointer at the fault. The guard page is [stack_map, stack_lo).
 */
static bool overflowed(struct grt_g *gp, uintptr_t addr, uintptr_t sp)
{
	uintptr_t map = (uintptr_t)GRT_PEEK(gp->stack_map);
	uintptr_t lo = (uintptr_t)GRT_PEEK(gp->ctx.stack_lo);
	size_t size = GRT_PEEK(gp->ctx.stack_size);

	if (!map || !lo)
		return false;
	/* The stack pointer is the G's, or just below it. */
	if (sp >= lo + size || sp + GRT_OVERFLOW_SLACK < map)
		return false;
	/* The guard page, or below it within reach of that stack pointer. */
	return addr < lo && addr + GRT_OVERFLOW_SLACK >= map &&
	       addr + GRT_OVERFLOW_SLACK >= sp;
}

static struct grt_g *find_overflow(uintptr_t addr, uintptr_t sp)
{
	struct grt_m *m = grt__tls_m;
	struct grt_g *gp = m ? GRT_PEEK(m->curg) : NULL;

	if (!m)
		return NULL;	/* only Ms run Gs; keep other faults cheap */
	if (gp && overflowed(gp, addr, sp))
		return gp;
	/*
	 * Not the M's current G: a fault in the instant where curg already
	 * names the next G of a direct switch. Any G whose stack the stack
	 * pointer is in.
	 */
	for (gp = atomic_load_explicit(&S.allg, memory_order_acquire); gp;
	     gp = GRT_PEEK(gp->alllink))
		if (overflowed(gp, addr, sp))
			return gp;
	return NULL;
}

static void report(struct grt_g *gp, uintptr_t addr)
{
	struct grt__symtab st;
	struct grt__wbuf w;
	void (*fn)(void *) = GRT_PEEK(gp->fn);
	uintptr_t entry = fn ? (uintptr_t)fn :
			       (uintptr_t)GRT_PEEK(gp->entry);

	grt__w_init(&w, STDERR_FILENO);
	grt__w_str(&w, "grt: G");
	grt__w_dec(&w, GRT_PEEK(gp->id));
	grt__w_str(&w, " overflowed its stack (");
	grt__w_dec(&w, GRT_PEEK(gp->ctx.stack_size));
	grt__w_str(&w, " bytes, guard page at ");
	grt__w_hex(&w, (uintptr_t)GRT_PEEK(gp->stack_map));
	grt__w_str(&w, ", entry ");
	grt__symtab_begin(&st, true);
	if (!grt__w_sym(&w, &st, entry, false))
		grt__w_hex(&w, entry);
	grt__symtab_end(&st);
	grt__w_str(&w, ")\n");
	if (addr < (uintptr_t)GRT_PEEK(gp->stack_map)) {
		/* Jumped the guard page: say where it landed. */
		grt__w_str(&w, "grt: fault at ");
		grt__w_hex(&w, addr);
		grt__w_str(&w, ", below the guard page\n");
	}
	grt__w_flush(&w);
}

/* Hand the fault to whoever had it before us. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
	struct sigaction dfl;

	if (old->sa_flags & SA_SIGINFO) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	if (old->sa_handler == SIG_IGN && si->si_code <= 0)
		return;		/* sent by kill(): ignored, as before us */
	/*
	 * The default action: a fault re-executes the faulting instruction
	 * when we return, and now dies of it with the right signal (and a
	 * core dump). One sent by kill() is raised again; it is blocked
	 * until we return.
	 */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

static void fault_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	int saved = errno;

	/* si_code > 0: a fault the kernel detected, not a kill(). */
	if (si && si->si_code > 0 && grt__diag_enter()) {
		uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
		struct grt_g *gp = find_overflow((uintptr_t)si->si_addr, sp);

		if (gp) {
			report(gp, (uintptr_t)si->si_addr);
			abort();
		}
		grt__diag_exit();
	}
	chain(sig, si, ucv);
	errno = saved;
}

void grt__fault_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fault_handler;
	/* SA_ONSTACK: the G's stack is the one that is full. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv))
		return;
	if (sigaction(SIGBUS, &sa, &old_bus)) {
		sigaction(SIGSEGV, &old_segv, NULL);
		return;
	}
	installed = true;
}

static void restore(int sig, const struct sigaction *old)
{
	struct sigaction cur;

	if (!sigaction(sig, NULL, &cur) && (cur.sa_flags & SA_SIGINFO) &&
	    cur.sa_sigaction == fault_handler)
		sigaction(sig, old, NULL);
}

void grt__fault_uninstall(void)
{
	if (!installed)
		return;
	restore(SIGSEGV, &old_segv);
	restore(SIGBUS, &old_bus);
	installed = false;
}
