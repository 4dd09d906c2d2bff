/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The runtime's diagnostics (lib/rt/diag.c, dump.c, stats.c, overflow.c,
 * symtab.c): what they share.
 *
 * Every diagnostic reads the scheduler's state without taking a lock, so
 * that it can run in a signal handler (SIGQUIT, a stack overflow) while
 * other Ms go on running; docs/runtime.md, "Diagnostics", says what such a
 * snapshot can get wrong. Two things keep it from reading freed memory:
 *
 *  - G and M structures, Ps and the lists that hold them (sched.allg,
 *    sched.allm, sched.allp) are freed only by teardown(), and the lists
 *    only grow, at their head, with a release store of the head after the
 *    new element's link is written: a reader that loads the head with
 *    acquire sees a well-formed list.
 *  - The gate: a reader enters it (grt__diag_enter()) before it touches
 *    any of them and leaves it after; teardown() closes it and waits for
 *    the readers inside before it frees anything. A reader that finds it
 *    closed touches nothing: no runtime is running.
 *
 * Plain fields that other threads write are read with GRT_PEEK(), a
 * relaxed atomic load of an aligned word: never torn, possibly stale.
 */
#ifndef GWAKE_LIB_RT_DIAG_H
#define GWAKE_LIB_RT_DIAG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sched.h"

GWI_HIDDEN_BEGIN

/* A racy read of a plain field another thread writes (see above). */
#define GRT_PEEK(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

/* Code that reads memory ASan may have poisoned for someone else's use
 * (another G's stack, a file mapping over a recycled address range). */
#define GRT_NO_ASAN	__attribute__((no_sanitize_address))

/* ---- The gate (diag.c) --------------------------------------------------- */

/* Enter: true if a runtime runs and its structures stay valid until
 * grt__diag_exit(). Async-signal-safe, never blocks. */
bool grt__diag_enter(void);
void grt__diag_exit(void);
/* grt_run(): open once the runtime's structures exist. */
void grt__diag_open(void);
/* teardown(): close and wait until no reader is inside. */
void grt__diag_close(void);

/* ---- GRT_DEBUG (diag.c) ---------------------------------------------------- */

enum grt__sigquit {
	GRT_SIGQUIT_DUMP = 0,	/* dump every G to stderr and go on (default) */
	GRT_SIGQUIT_EXIT,	/* dump, then _exit(2), as Go does */
	GRT_SIGQUIT_OFF,	/* leave SIGQUIT alone */
};

/* Parse GRT_DEBUG into grt__sched (schedtrace_ns, sigquit). grt_run(). */
void grt__debug_parse(void);

/* ---- An async-signal-safe line writer (diag.c) ------------------------------ */

/*
 * Output is formatted into buf and written with write(2) whenever a line
 * ends (so that lines of concurrent writers interleave whole, up to the
 * buffer's size) or the buffer fills. No stdio, no malloc, no locks. err:
 * the first write error (negative errno), 0 if none.
 */
struct grt__wbuf {
	int fd;
	int err;
	size_t n;
	char buf[512];
};

void grt__w_init(struct grt__wbuf *w, int fd);
void grt__w_flush(struct grt__wbuf *w);
void grt__w_char(struct grt__wbuf *w, char c);
void grt__w_str(struct grt__wbuf *w, const char *s);
/* At most max bytes of s (a symbol name from a mapped file). */
void grt__w_strn(struct grt__wbuf *w, const char *s, size_t max);
void grt__w_dec(struct grt__wbuf *w, uint64_t v);
void grt__w_sdec(struct grt__wbuf *w, int64_t v);
/* 0x followed by lower-case hex digits. */
void grt__w_hex(struct grt__wbuf *w, uint64_t v);

/* ---- Symbols (symtab.c) -------------------------------------------------------- */

/*
 * A symbol lookup session: the ELF symbol tables of the program and the
 * shared objects it had loaded when the runtime started, read from their
 * files (/proc/self/exe for the program, so static binaries get names
 * too), mapped for the session's length. Async-signal-safe (raw system
 * calls only). sigsafe false also allows dladdr() as a fallback (for
 * objects loaded later). Lives on the caller's stack.
 */
#define GRT_SYM_FILES	4

struct grt__symfile {
	int obj;			/* index into the object table, -1: free */
	const unsigned char *map;
	size_t size;
	const void *syms;		/* Elf64_Sym[nsyms] */
	size_t nsyms;
	const char *strs;
	size_t strsize;
};

struct grt__symtab {
	bool sigsafe;
	unsigned int next;		/* round-robin victim */
	struct grt__symfile f[GRT_SYM_FILES];
};

/* grt_run(): record the loaded objects (dl_iterate_phdr). */
void grt__symtab_capture(void);
/* Is addr in one of the objects recorded (code the walk can trust)? */
bool grt__symtab_known(uintptr_t addr);
void grt__symtab_begin(struct grt__symtab *st, bool sigsafe);
void grt__symtab_end(struct grt__symtab *st);
/*
 * Write "name+0xoff" for addr, or nothing and return false if unknown.
 * retaddr: addr is a return address; the function is looked up at
 * addr - 1 (a call that ends a function returns past its end).
 */
bool grt__w_sym(struct grt__wbuf *w, struct grt__symtab *st, uintptr_t addr,
		bool retaddr);

/* ---- Dump (dump.c), statistics (stats.c), overflow (overflow.c) ------------ */

/*
 * Every live G, each with its backtrace, to w. uc: the context a signal
 * interrupted on this thread, for the backtrace of the G it ran (or NULL);
 * self_fp: the frame address of the runtime's entry point (grt_dump())
 * when the G on this thread is the one dumping (or 0). Inside the gate.
 */
void grt__dump_gs(struct grt__wbuf *w, struct grt__symtab *st,
		  const ucontext_t *uc, uintptr_t self_fp);
/* Every M with its state, to w. Inside the gate. */
void grt__dump_ms(struct grt__wbuf *w);
/* Install and remove the SIGQUIT handler (GRT_DEBUG sigquit=). */
void grt__sigquit_install(void);
void grt__sigquit_uninstall(void);

/* The "SCHED ..." line of GRT_DEBUG=schedtrace, at time now. In the gate
 * or from a runtime thread. */
void grt__schedtrace(struct grt__wbuf *w, int64_t now);

/* The SIGSEGV/SIGBUS handler that reports a G's stack overflow. */
void grt__fault_install(void);
void grt__fault_uninstall(void);
/*
 * The alternate signal stack the handler runs on, per M: set up by the M
 * itself when it starts, removed by it before its thread ends (M0: by
 * teardown(), on its thread). A thread that already has one keeps it.
 */
void grt__sigstack_init(struct grt_m *m);
void grt__sigstack_fini(struct grt_m *m);

GWI_HIDDEN_END

#endif /* GWAKE_LIB_RT_DIAG_H */
