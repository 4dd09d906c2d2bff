// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the diagnostics share (diag.h): the gate that keeps the runtime's
 * structures alive while a diagnostic reads them, the GRT_DEBUG options,
 * and an async-signal-safe line writer.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"

#define S grt__sched

/*
 * The gate. Bit 31: closed; bits 0-30: readers inside. Closed while no
 * runtime runs. Reader: fetch_add, then look at the bit (backing out if
 * closed); teardown: fetch_or the bit, then wait for the count to drain.
 * Both are seq_cst RMWs on one word, so either the reader sees the bit or
 * teardown sees the reader. A signal handler that interrupts teardown on
 * its own thread after the fetch_or sees the bit; before it, it is done
 * before teardown goes on: teardown never waits for itself.
 */
#define GATE_CLOSED	0x80000000u

static _Atomic uint32_t gate = GATE_CLOSED;

bool grt__diag_enter(void)
{
	if (atomic_fetch_add(&gate, 1) & GATE_CLOSED) {
		atomic_fetch_sub(&gate, 1);
		return false;
	}
	return true;
}

void grt__diag_exit(void)
{
	atomic_fetch_sub(&gate, 1);
}

void grt__diag_open(void)
{
	atomic_fetch_and(&gate, ~GATE_CLOSED);
}

void grt__diag_close(void)
{
	atomic_fetch_or(&gate, GATE_CLOSED);
	/* Readers are short (a dump), but may block in write(2). */
	while (atomic_load(&gate) & ~GATE_CLOSED)
		sched_yield();
}

/* ---- GRT_DEBUG ------------------------------------------------------------- */

static _Atomic uint32_t warned;

static void debug_warn(const char *opt, size_t len)
{
	struct grt__wbuf w;

	/* Once per process: a program may start many runtimes. */
	if (atomic_exchange(&warned, 1))
		return;
	grt__w_init(&w, STDERR_FILENO);
	grt__w_str(&w, "grt: GRT_DEBUG: ignoring \"");
	grt__w_strn(&w, opt, len);
	grt__w_str(&w, "\" (options: schedtrace=MS, "
		       "sigquit=dump|exit|off, batch=0|1)\n");
	grt__w_flush(&w);
}

/* A decimal in [0, max] that is all of s[0..len); -1 if not. */
static int64_t parse_num(const char *s, size_t len, int64_t max)
{
	int64_t v = 0;
	size_t i;

	if (!len)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	return v;
}

static bool opt_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && !memcmp(s, name, len);
}

/*
 * Comma-separated name=value options, as Go's GODEBUG. Read with
 * secure_getenv(), as GWAKE_BACKEND is: set-user-ID programs ignore it.
 */
void grt__debug_parse(void)
{
	const char *env = secure_getenv("GRT_DEBUG"), *s, *comma, *eq;
	size_t len, nlen;
	int64_t v;

	S.schedtrace_ns = 0;
	S.sigquit = GRT_SIGQUIT_DUMP;
	atomic_store_explicit(&S.nobatch, false, memory_order_relaxed);
	for (s = env; s && *s; s += len + (comma != NULL)) {
		comma = strchr(s, ',');
		len = comma ? (size_t)(comma - s) : strlen(s);
		if (!len)
			continue;
		eq = memchr(s, '=', len);
		nlen = eq ? (size_t)(eq - s) : len;
		if (eq && opt_is(s, nlen, "schedtrace")) {
			/* Milliseconds, as Go's; 0 is off. At most a day. */
			v = parse_num(eq + 1, len - nlen - 1, 86400000);
			if (v >= 0) {
				S.schedtrace_ns = v * 1000000;
				continue;
			}
		} else if (eq && opt_is(s, nlen, "batch")) {
			/* The back-off's policy switch (runq.c). */
			v = parse_num(eq + 1, len - nlen - 1, 1);
			if (v >= 0) {
				atomic_store_explicit(&S.nobatch, !v,
						      memory_order_relaxed);
				continue;
			}
		} else if (eq && opt_is(s, nlen, "sigquit")) {
			const char *val = eq + 1;
			size_t vlen = len - nlen - 1;

			if (opt_is(val, vlen, "dump") || opt_is(val, vlen, "1")) {
				S.sigquit = GRT_SIGQUIT_DUMP;
				continue;
			}
			if (opt_is(val, vlen, "exit")) {
				S.sigquit = GRT_SIGQUIT_EXIT;
				continue;
			}
			if (opt_is(val, vlen, "off") || opt_is(val, vlen, "0")) {
				S.sigquit = GRT_SIGQUIT_OFF;
				continue;
			}
		}
		debug_warn(s, len);
	}
}

/* ---- The writer ---------------------------------------------------------------- */

void grt__w_init(struct grt__wbuf *w, int fd)
{
	w->fd = fd;
	w->err = 0;
	w->n = 0;
}

void grt__w_flush(struct grt__wbuf *w)
{
	size_t off = 0;
	ssize_t r;

	while (off < w->n && !w->err) {
		r = write(w->fd, w->buf + off, w->n - off);
		if (r > 0)
			off += (size_t)r;
		else if (r < 0 && errno != EINTR)
			w->err = -errno;
		else if (r == 0)
			w->err = -EIO;
	}
	w->n = 0;
}

void grt__w_char(struct grt__wbuf *w, char c)
{
	if (w->n == sizeof(w->buf))
		grt__w_flush(w);
	w->buf[w->n++] = c;
	if (c == '\n')
		grt__w_flush(w);
}

void grt__w_strn(struct grt__wbuf *w, const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i]; i++)
		grt__w_char(w, s[i]);
}

void grt__w_str(struct grt__wbuf *w, const char *s)
{
	grt__w_strn(w, s, SIZE_MAX);
}

void grt__w_dec(struct grt__wbuf *w, uint64_t v)
{
	char d[20];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		grt__w_char(w, d[--n]);
}

void grt__w_sdec(struct grt__wbuf *w, int64_t v)
{
	if (v < 0) {
		grt__w_char(w, '-');
		grt__w_dec(w, (uint64_t)0 - (uint64_t)v);
	} else {
		grt__w_dec(w, (uint64_t)v);
	}
}

void grt__w_hex(struct grt__wbuf *w, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char d[16];
	int n = 0;

	do {
		d[n++] = hex[v & 15];
		v >>= 4;
	} while (v);
	grt__w_str(w, "0x");
	while (n)
		grt__w_char(w, d[--n]);
}
