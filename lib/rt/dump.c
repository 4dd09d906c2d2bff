// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * grt_dump(), the SIGQUIT dump and the G list of the deadlock report:
 * every G with its state, wait reason, M and P, entry function and a
 * backtrace, and every M with its state.
 *
 * A dump stops nothing: it may run in a signal handler while the other Ms
 * go on, so it takes no lock (a lock could be held by the very thread the
 * handler interrupted) and allocates nothing. What that costs (diag.h for
 * why it never reads freed memory):
 *
 *  - Each G is read once, field by field, at some moment during the dump;
 *    two Gs are not read at the same moment. A G may change state while
 *    it is printed, a G spawned during the dump may be missed, the state
 *    counts need not add up, and a G reused from the free list may show
 *    its new id with its old function.
 *  - The backtrace of a parked G is read from its stack, which is stable
 *    while it stays parked. If it is readied and runs meanwhile, its
 *    frames change under the reader: the walk stays inside the G's stack
 *    and stops at the first frame pointer that does not go up, so the
 *    worst case is a few wrong frames. Stack memory is read with
 *    process_vm_readv() on our own process, which fails instead of
 *    faulting if the stack was unmapped in between.
 *  - A G running on another thread has no saved context: no backtrace.
 *
 * Backtraces follow the frame pointer chain from the context the switch
 * saved (ctx_x86_64.S: rbp and the return address on top of the G's
 * stack). Code built without frame pointers breaks the chain: the walk
 * then ends early or, at worst, shows a few frames that are not real
 * (it stops at the first return address outside the objects loaded when
 * the runtime started, so code loaded later ends a backtrace). The
 * runtime itself is built with them (lib/rt/rt.mk).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "diag.h"
#include "runq.h"

#define S grt__sched

#define GRT_TRACE_MAX	64

/* ---- Reading another G's stack ------------------------------------------------- */

GRT_NO_ASAN static void peek_direct(uintptr_t addr, void *out, size_t len)
{
	const volatile unsigned char *src = (const void *)addr;
	unsigned char *dst = out;
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = src[i];
}

/*
 * len bytes at addr of our own address space, or false if they are not
 * mapped. process_vm_readv() cannot fault; where it is refused (a seccomp
 * filter, a kernel without it) the memory is read directly, which is safe
 * unless a stack is unmapped during the dump (see the top).
 */
static bool peek(uintptr_t addr, void *out, size_t len)
{
	static _Atomic int direct;	/* process_vm_readv() refused */
	struct iovec l = { out, len }, r = { (void *)addr, len };
	long n;

	if (!atomic_load_explicit(&direct, memory_order_relaxed)) {
		n = syscall(SYS_process_vm_readv, (long)getpid(), &l, 1L, &r,
			    1L, 0L);
		if (n == (long)len)
			return true;
		if (n >= 0 || (errno != ENOSYS && errno != EPERM))
			return false;
		atomic_store_explicit(&direct, 1, memory_order_relaxed);
	}
	peek_direct(addr, out, len);
	return true;
}

/* ---- Backtraces ----------------------------------------------------------------- */

static void w_frame(struct grt__wbuf *w, struct grt__symtab *st, uintptr_t pc,
		    bool retaddr)
{
	grt__w_str(w, "\t");
	grt__w_hex(w, pc);
	grt__w_str(w, " ");
	if (!grt__w_sym(w, st, pc, retaddr))
		grt__w_str(w, "?");
	grt__w_str(w, "\n");
}

/*
 * Print pc (if not 0; exact: it is where the G stopped, not a return
 * address), then follow the frame pointers from fp, inside [lo, hi).
 */
static void walk(struct grt__wbuf *w, struct grt__symtab *st, uintptr_t pc,
		 bool exact, uintptr_t fp, uintptr_t lo, uintptr_t hi)
{
	unsigned int n = 0;
	uintptr_t fr[2];

	if (pc) {
		w_frame(w, st, pc, !exact);
		n++;
	}
	for (; n < GRT_TRACE_MAX; n++) {
		/*
		 * A return address outside the program and the libraries
		 * loaded when the runtime started is taken for what it most
		 * likely is: a frame pointer chain broken by code built
		 * without frame pointers, whose rbp held something else.
		 */
		if (fp < lo || fp > hi - sizeof(fr) || fp % 8 ||
		    !peek(fp, fr, sizeof(fr)) || !grt__symtab_known(fr[1]))
			return;
		w_frame(w, st, fr[1], true);
		if (fr[0] <= fp)	/* the chain must go up the stack */
			return;
		fp = fr[0];
	}
	grt__w_str(w, "\t...\n");
}

/*
 * The backtrace of a G that is not running: the switch left rbp and the
 * return address at the top of the saved frame (ctx_x86_64.S: sp[6],
 * sp[7]).
 */
static void walk_saved(struct grt__wbuf *w, struct grt__symtab *st,
		       struct grt_g *gp, uintptr_t lo, uintptr_t hi)
{
	uintptr_t sp = (uintptr_t)GRT_PEEK(gp->ctx.sp), fr[8];

	if (sp < lo || sp > hi - sizeof(fr) || sp % 8 ||
	    !peek(sp, fr, sizeof(fr))) {
		grt__w_str(w, "\t(no saved context)\n");
		return;
	}
	walk(w, st, fr[7], false, fr[6], lo, hi);
}

/* ---- Gs ------------------------------------------------------------------------------- */

static const char *state_name(struct grt_g *gp, uint32_t status)
{
	const char *reason;

	switch (status) {
	case GRT_GRUNNABLE:
		return "runnable";
	case GRT_GRUNNING:
		return "running";
	case GRT_GSYSCALL:
		return "syscall";
	case GRT_GWAITING:
		/* As Go: a waiting G shows what it waits for. */
		reason = GRT_PEEK(gp->waitreason);
		return reason ? reason : "waiting";
	default:
		return "?";
	}
}

static void g_line(struct grt__wbuf *w, struct grt__symtab *st,
		   struct grt_g *gp, uint32_t status)
{
	struct grt_m *m = GRT_PEEK(gp->m), *lm = GRT_PEEK(gp->lockedm);
	void (*fn)(void *) = GRT_PEEK(gp->fn);
	uintptr_t entry = fn ? (uintptr_t)fn : (uintptr_t)GRT_PEEK(gp->entry);
	struct grt_p *p;

	grt__w_str(w, "G");
	grt__w_dec(w, GRT_PEEK(gp->id));
	grt__w_str(w, " [");
	grt__w_str(w, state_name(gp, status));
	if (lm)
		grt__w_str(w, ", locked to thread");
	if (gp == GRT_PEEK(S.maing))
		grt__w_str(w, ", main");
	grt__w_str(w, "]");
	if (GRT_PEEK(gp->coro))
		grt__w_str(w, " coroutine");
	/* Where it runs; a locked G's M even while it waits. */
	if (status != GRT_GRUNNING && status != GRT_GSYSCALL)
		m = lm;
	if (m) {
		grt__w_str(w, " M");
		grt__w_dec(w, (uint64_t)GRT_PEEK(m->id));
		p = status == GRT_GRUNNING ? GRT_PEEK(m->p) : NULL;
		if (p) {
			grt__w_str(w, " P");
			grt__w_dec(w, (uint64_t)GRT_PEEK(p->id));
		}
	}
	grt__w_str(w, ": entry ");
	if (!grt__w_sym(w, st, entry, false))
		grt__w_hex(w, entry);
	grt__w_str(w, "\n");
}

void grt__dump_gs(struct grt__wbuf *w, struct grt__symtab *st,
		  const ucontext_t *uc, uintptr_t self_fp)
{
	struct grt_m *me = grt__tls_m;
	struct grt_g *self = me ? GRT_PEEK(me->curg) : NULL, *gp;

	for (gp = atomic_load_explicit(&S.allg, memory_order_acquire); gp;
	     gp = GRT_PEEK(gp->alllink)) {
		uint32_t status = atomic_load_explicit(&gp->status,
						       memory_order_acquire);
		uintptr_t lo = (uintptr_t)GRT_PEEK(gp->ctx.stack_lo);
		uintptr_t hi = lo + GRT_PEEK(gp->ctx.stack_size);

		if (status == GRT_GDEAD || status == GRT_GIDLE)
			continue;
		g_line(w, st, gp, status);
		if (status == GRT_GRUNNING || status == GRT_GSYSCALL) {
			uintptr_t sp = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RSP] : 0;

			if (gp != self)
				grt__w_str(w, "\t(running on another thread)\n");
			else if (uc && sp >= lo && sp < hi)
				walk(w, st, (uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
				     true, (uintptr_t)uc->uc_mcontext.gregs[REG_RBP],
				     lo, hi);
			else if (self_fp)
				walk(w, st, 0, false, self_fp, lo, hi);
			else
				grt__w_str(w, "\t(interrupted in the runtime)\n");
		} else if (!GRT_PEEK(gp->started) || !lo) {
			grt__w_str(w, "\t(not started)\n");
		} else {
			walk_saved(w, st, gp, lo, hi);
		}
	}
}

/* ---- Ms ------------------------------------------------------------------------------- */

static void w_part(struct grt__wbuf *w, bool *first, const char *s)
{
	grt__w_str(w, *first ? "" : ", ");
	grt__w_str(w, s);
	*first = false;
}

void grt__dump_ms(struct grt__wbuf *w)
{
	struct grt_m *m;

	for (m = atomic_load_explicit(&S.allm, memory_order_acquire); m;
	     m = GRT_PEEK(m->alllink)) {
		struct grt_g *gp = GRT_PEEK(m->curg), *lg = GRT_PEEK(m->lockedg);
		struct grt_p *p = GRT_PEEK(m->p);
		bool first = true;

		if (GRT_PEEK(m->dead))
			continue;
		grt__w_str(w, "M");
		grt__w_dec(w, (uint64_t)GRT_PEEK(m->id));
		grt__w_str(w, " [");
		if (GRT_PEEK(m->is_tcall))
			w_part(w, &first, "thread-call server");
		if (GRT_PEEK(m->idle))
			w_part(w, &first, "idle");
		if (GRT_PEEK(m->spinning))
			w_part(w, &first, "spinning");
		if (GRT_PEEK(m->in_syscall))
			w_part(w, &first, "syscall");
		if (gp) {
			w_part(w, &first, "G");
			grt__w_dec(w, GRT_PEEK(gp->id));
		}
		if (p) {
			w_part(w, &first, "P");
			grt__w_dec(w, (uint64_t)GRT_PEEK(p->id));
		}
		if (lg) {
			w_part(w, &first, "locked to G");
			grt__w_dec(w, GRT_PEEK(lg->id));
		}
		if (first)
			grt__w_str(w, "parked");
		grt__w_str(w, "]\n");
	}
}

/* ---- grt_dump(), SIGQUIT ------------------------------------------------------------ */

/* The whole dump; inside the gate. */
static void dump(int fd, const ucontext_t *uc, uintptr_t self_fp,
		 const char *why, int *err)
{
	struct grt_m *me = grt__tls_m;
	struct grt_g *self = me ? GRT_PEEK(me->curg) : NULL;
	struct grt__symtab st;
	struct grt__wbuf w;

	grt__w_init(&w, fd);
	grt__w_str(&w, "grt: dump of every G (");
	grt__w_str(&w, why);
	grt__w_str(&w, ", pid ");
	grt__w_dec(&w, (uint64_t)getpid());
	if (self) {
		grt__w_str(&w, ", in G");
		grt__w_dec(&w, GRT_PEEK(self->id));
	} else if (me) {
		grt__w_str(&w, ", in the scheduler of M");
		grt__w_dec(&w, (uint64_t)GRT_PEEK(me->id));
	}
	grt__w_str(&w, "); Gs and Ms go on running meanwhile\n");
	grt__schedtrace(&w, grt__nanotime());
	grt__dump_ms(&w);
	grt__symtab_begin(&st, true);
	grt__dump_gs(&w, &st, uc, self_fp);
	grt__symtab_end(&st);
	grt__w_str(&w, "grt: end of dump\n");
	grt__w_flush(&w);
	*err = w.err;
}

/*
 * noinline: its frame is where the backtrace of the calling G starts, and
 * __builtin_frame_address(0) makes the compiler keep a frame pointer.
 */
__attribute__((noinline)) int grt_dump(int fd)
{
	int err;

	if (fd < 0)
		return -EBADF;
	if (!grt__diag_enter())
		return -ESRCH;
	dump(fd, NULL, (uintptr_t)__builtin_frame_address(0), "grt_dump",
	     &err);
	grt__diag_exit();
	return err;
}

/*
 * The SIGQUIT handler's previous disposition (SIG_DFL: we install ours
 * only over the default). Written before ours is installed, read by it.
 */
static struct sigaction old_quit;
static bool quit_installed;

static void quit_handler(int sig, siginfo_t *si, void *ucv)
{
	int saved = errno, err, mode;

	(void)si;
	if (!grt__diag_enter()) {
		/* The runtime is ending: what SIGQUIT did before it. */
		sigaction(sig, &old_quit, NULL);
		raise(sig);
		errno = saved;
		return;
	}
	dump(STDERR_FILENO, ucv, 0, "SIGQUIT", &err);
	mode = S.sigquit;
	grt__diag_exit();
	if (mode == GRT_SIGQUIT_EXIT)
		_exit(2);
	errno = saved;
}

void grt__sigquit_install(void)
{
	struct sigaction sa, cur;

	if (S.sigquit == GRT_SIGQUIT_OFF || sigaction(SIGQUIT, NULL, &cur))
		return;
	/* The program's own handler, or an inherited SIG_IGN, stays. */
	if ((cur.sa_flags & SA_SIGINFO) || cur.sa_handler != SIG_DFL)
		return;
	old_quit = cur;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = quit_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (!sigaction(SIGQUIT, &sa, NULL))
		quit_installed = true;
}

void grt__sigquit_uninstall(void)
{
	struct sigaction cur;

	if (!quit_installed)
		return;
	if (!sigaction(SIGQUIT, NULL, &cur) && (cur.sa_flags & SA_SIGINFO) &&
	    cur.sa_sigaction == quit_handler)
		sigaction(SIGQUIT, &old_quit, NULL);
	quit_installed = false;
}
