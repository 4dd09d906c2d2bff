// SPDX-License-Identifier: GPL-2.0
/*
 * server: the "syscall server" of Go issues #18023 / #21827. One server
 * owns something only it may touch (a locked OS thread, in Go: OpenGL,
 * ptrace, a GUI toolkit); N clients call it: send a request, the server
 * runs a function for them and replies. The function is a trivial
 * system call, getppid() through syscall(2) so that no library can cache
 * it, plus x + 1, checked by the client: the server really enters the
 * kernel on its thread, as a syscall server does, and costs next to
 * nothing there, so the hand-off is what is measured. Every side does
 * exactly that (Go: syscall.Getppid, a raw system call that does not tell
 * its scheduler either).
 *
 * Swept over 1, 2, 4, 8, 16 and 64 clients, one group each
 * (server/1client, server/2clients, ...), so that latency against the
 * number of clients can be plotted, one line per mechanism.
 *
 * Reported in ns per call: the run's elapsed time (from the first client's
 * start to the last one's end) divided by the calls of all clients
 * together (inverse throughput; for 1 client, the round trip latency).
 * Not the sum of the clients' own rates: a mechanism that lets some
 * clients starve while the others run would get its throughput counted
 * once per client that way.
 *
 *   C threads, futex    requests on a lock-free stack, server and clients
 *                       sleep on futex wake words (bench_word_*)
 *   C threads, pipe     a request pipe carrying pointers, a reply pipe
 *                       per client
 *   C threads, condvar  a mutex-protected queue and condition variables
 *   C threads, spin     the futex row's protocol, but server and client
 *                       poll their words and never sleep: two threads
 *                       that each keep a CPU, the floor of any call from
 *                       one thread to another on this machine (1 client
 *                       only: more spinning clients than CPUs measure the
 *                       scheduler's time slices, not a mechanism)
 *   grt thread call     clients are Gs, the server a locked M
 *                       (grt_thread_call)
 *   grt channel         a server G, unlocked, requests on a channel and a
 *                       reply channel per client (the Go shape)
 *   grt channel, locked the same server G locked to its M
 *   Go unlocked/locked  the Go peer (tools/go), GOMAXPROCS 1 and 2
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwake/rt.h>

#include "bench.h"

#define MAX_CLIENTS	64

enum smech {
	S_FUTEX,
	S_PIPE,
	S_CONDVAR,
	S_SPIN,		/* S_FUTEX's stack and words, polled only */
};

/* Pauses before a futex wait: S_SPIN never gets to one. */
static int smech_spin(enum smech m)
{
	return m == S_SPIN ? INT_MAX : 0;
}

struct req {
	struct req *next;
	long arg, result;
	/* S_FUTEX: the client's wake word. */
	atomic_uint done_word;
	/* S_PIPE: the client's reply pipe. */
	int reply[2];
	/* S_CONDVAR */
	pthread_cond_t cv;
	int done;
};

struct server {
	enum smech mech;
	/* S_FUTEX: a Treiber stack of requests and the server's word. */
	_Alignas(64) _Atomic(struct req *) stack;
	_Alignas(64) atomic_uint word;
	/* S_PIPE */
	int req_pipe[2];
	/* S_CONDVAR */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct req *qhead, **qtail;
	pthread_barrier_t start;
};

/* A client's measuring window and the calls it made in it. */
struct window {
	int64_t start, end;
	uint64_t calls;
};

struct client {
	struct server *s;
	struct req r;
	long next_arg;
	struct window w;
};

/* Elapsed time of all windows together over all their calls. */
static double ns_per_call(const struct window *w, int n)
{
	int64_t start = w[0].start, end = w[0].end;
	uint64_t calls = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (w[i].start < start)
			start = w[i].start;
		if (w[i].end > end)
			end = w[i].end;
		calls += w[i].calls;
	}
	return calls ? (double)(end - start) / (double)calls : -1;
}

static long serve(long x)
{
	/* Raw: the runtime is not told, as Go's RawSyscall does not tell its. */
	syscall(SYS_getppid);
	return x + 1;
}

static void io(ssize_t n, size_t want, const char *what)
{
	if (n != (ssize_t)want)
		bench_die("server: %s: %s", what,
			  n < 0 ? strerror(errno) : "short transfer");
}

/* Deliver r's reply (the server's side). */
static void reply(struct server *s, struct req *r)
{
	char c = 0;

	switch (s->mech) {
	case S_FUTEX:
	case S_SPIN:
		bench_word_signal(&r->done_word);
		break;
	case S_PIPE:
		io(write(r->reply[1], &c, 1), 1, "reply write");
		break;
	case S_CONDVAR:
		pthread_mutex_lock(&s->mu);
		r->done = 1;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&s->mu);
		break;
	}
}

/* Run r; returns false for the stop request (arg < 0). */
static bool handle(struct server *s, struct req *r)
{
	if (r->arg < 0)
		return false;
	r->result = serve(r->arg);
	reply(s, r);
	return true;
}

static void *server_thread(void *arg)
{
	struct server *s = arg;
	struct req *r, *list, *next, *rev;

	for (;;) {
		switch (s->mech) {
		case S_FUTEX:
		case S_SPIN:
			list = atomic_exchange_explicit(&s->stack, NULL,
							memory_order_acquire);
			if (!list) {
				bench_word_wait(&s->word, smech_spin(s->mech));
				continue;
			}
			/* The stack is newest first: serve oldest first. */
			for (rev = NULL; list; list = next) {
				next = list->next;
				list->next = rev;
				rev = list;
			}
			for (r = rev; r; r = next) {
				/* r may be reused once replied to. */
				next = r->next;
				if (!handle(s, r))
					return NULL;
			}
			break;
		case S_PIPE:
			io(read(s->req_pipe[0], &r, sizeof(r)), sizeof(r),
			   "request read");
			if (!handle(s, r))
				return NULL;
			break;
		case S_CONDVAR:
			pthread_mutex_lock(&s->mu);
			while (!s->qhead)
				pthread_cond_wait(&s->cv, &s->mu);
			r = s->qhead;
			s->qhead = r->next;
			if (!s->qhead)
				s->qtail = &s->qhead;
			pthread_mutex_unlock(&s->mu);
			if (!handle(s, r))
				return NULL;
			break;
		}
	}
}

/* Send r and wait for the reply (the client's side). */
static void call(struct server *s, struct req *r)
{
	struct req *head;
	char c;

	switch (s->mech) {
	case S_FUTEX:
	case S_SPIN:
		head = atomic_load_explicit(&s->stack, memory_order_relaxed);
		do {
			r->next = head;
		} while (!atomic_compare_exchange_weak_explicit(&s->stack,
				&head, r, memory_order_release,
				memory_order_relaxed));
		bench_word_signal(&s->word);
		if (r->arg >= 0)
			bench_word_wait(&r->done_word, smech_spin(s->mech));
		break;
	case S_PIPE:
		io(write(s->req_pipe[1], &r, sizeof(r)), sizeof(r),
		   "request write");
		if (r->arg >= 0)
			io(read(r->reply[0], &c, 1), 1, "reply read");
		break;
	case S_CONDVAR:
		pthread_mutex_lock(&s->mu);
		r->next = NULL;
		r->done = 0;
		*s->qtail = r;
		s->qtail = &r->next;
		pthread_cond_signal(&s->cv);
		if (r->arg >= 0)
			while (!r->done)
				pthread_cond_wait(&r->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
		break;
	}
}

static void client_op(void *ctx, uint64_t n)
{
	struct client *cl = ctx;

	cl->w.calls += n;
	while (n--) {
		cl->r.arg = cl->next_arg++;
		call(cl->s, &cl->r);
		if (cl->r.result != cl->r.arg + 1)
			bench_die("server: wrong reply %ld to %ld",
				  cl->r.result, cl->r.arg);
	}
}

static void *client_thread(void *arg)
{
	struct client *cl = arg;

	pthread_barrier_wait(&cl->s->start);
	cl->w.start = bench_now_ns();
	/* The window counts, not this client's own rate (see the top). */
	(void)bench_timed(client_op, cl, bench_opts.slice_ns);
	cl->w.end = bench_now_ns();
	return NULL;
}

/* iarg: mechanism | clients << 8 */
static double run_c_server(const struct bench_variant *v, const char **why)
{
	int nclients = (int)(v->iarg >> 8), i;
	static struct client cl[MAX_CLIENTS];
	static struct window w[MAX_CLIENTS];
	pthread_t st, ct[MAX_CLIENTS];
	struct req stop = { .arg = -1 };
	struct server s;

	(void)why;
	if (nclients > MAX_CLIENTS)
		bench_die("server: %d clients, at most %d", nclients,
			  MAX_CLIENTS);
	memset(&s, 0, sizeof(s));
	s.mech = (enum smech)(v->iarg & 0xff);
	s.qtail = &s.qhead;
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	pthread_barrier_init(&s.start, NULL, nclients);
	if (s.mech == S_PIPE && pipe(s.req_pipe))
		bench_die("pipe: %s", strerror(errno));
	for (i = 0; i < nclients; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].s = &s;
		pthread_cond_init(&cl[i].r.cv, NULL);
		if (s.mech == S_PIPE && pipe(cl[i].r.reply))
			bench_die("pipe: %s", strerror(errno));
	}
	bench_thread(&st, server_thread, &s);
	for (i = 0; i < nclients; i++)
		bench_thread(&ct[i], client_thread, &cl[i]);
	for (i = 0; i < nclients; i++) {
		pthread_join(ct[i], NULL);
		w[i] = cl[i].w;
	}
	call(&s, &stop);
	pthread_join(st, NULL);

	for (i = 0; i < nclients; i++) {
		pthread_cond_destroy(&cl[i].r.cv);
		if (s.mech == S_PIPE) {
			close(cl[i].r.reply[0]);
			close(cl[i].r.reply[1]);
		}
	}
	if (s.mech == S_PIPE) {
		close(s.req_pipe[0]);
		close(s.req_pipe[1]);
	}
	pthread_barrier_destroy(&s.start);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
	return ns_per_call(w, nclients);
}

enum rmech {
	R_THREAD_CALL,
	R_CHAN,
	R_CHAN_LOCKED,
};

/* A request of the runtime's channel server: Go's shape in C. */
struct rt_req {
	long arg;
	struct grt_chan *reply;
};

struct rt_server {
	enum rmech mech;
	int nclients;
	struct grt_thread *thread;	/* R_THREAD_CALL */
	struct grt_chan *requests;	/* R_CHAN* */
	struct grt_waitgroup clients, server;
	atomic_int next;
	struct window w[MAX_CLIENTS];
	int err;
};

struct rt_client {
	struct rt_server *s;
	struct grt_chan *reply;
	long next_arg;
	int i;
};

static long rt_serve(void *arg)
{
	return serve((long)(intptr_t)arg);
}

static void rt_fail(struct rt_server *s, int err)
{
	if (!s->err)
		s->err = err;
}

static void rt_server_g(void *arg)
{
	struct rt_server *s = arg;
	struct rt_req r;
	long res;
	int ret;

	if (s->mech == R_CHAN_LOCKED && (ret = grt_lock_thread()))
		rt_fail(s, ret);
	while (grt_chan_recv(s->requests, &r) == 1) {
		res = serve(r.arg);
		if ((ret = grt_chan_send(r.reply, &res))) {
			rt_fail(s, ret);
			break;
		}
	}
	if (s->mech == R_CHAN_LOCKED)
		grt_unlock_thread();
	grt_waitgroup_done(&s->server);
}

static void rt_client_op(void *ctx, uint64_t n)
{
	struct rt_client *cl = ctx;
	struct rt_server *s = cl->s;
	struct rt_req r = { .reply = cl->reply };
	long res = -1;
	int ret;

	s->w[cl->i].calls += n;
	while (n--) {
		r.arg = cl->next_arg++;
		if (s->mech == R_THREAD_CALL) {
			ret = grt_thread_call(s->thread, rt_serve,
					      (void *)(intptr_t)r.arg, &res);
		} else {
			ret = grt_chan_send(s->requests, &r);
			if (!ret)
				ret = grt_chan_recv(cl->reply, &res) == 1 ?
				      0 : -EPIPE;
		}
		if (ret || res != r.arg + 1) {
			rt_fail(s, ret ? ret : -EPROTO);
			return;
		}
	}
}

static void rt_client_g(void *arg)
{
	struct rt_server *s = arg;
	int i = atomic_fetch_add(&s->next, 1);
	struct rt_client cl = { .s = s, .i = i };

	if (s->mech != R_THREAD_CALL &&
	    grt_chan_make(&cl.reply, sizeof(long), 0)) {
		rt_fail(s, -ENOMEM);
	} else {
		s->w[i].start = bench_now_ns();
		/* The window counts, not this G's own rate (see the top). */
		(void)bench_timed(rt_client_op, &cl, bench_opts.slice_ns);
		s->w[i].end = bench_now_ns();
	}
	grt_chan_free(cl.reply);
	grt_waitgroup_done(&s->clients);
}

static void rt_server_main(void *arg)
{
	struct rt_server *s = arg;
	int i, ret;

	if (s->mech == R_THREAD_CALL) {
		ret = grt_thread_start(&s->thread);
	} else {
		ret = grt_chan_make(&s->requests, sizeof(struct rt_req), 0);
		if (!ret) {
			grt_waitgroup_add(&s->server, 1);
			ret = grt_go(rt_server_g, s);
		}
	}
	if (ret) {
		rt_fail(s, ret);
		return;
	}
	grt_waitgroup_add(&s->clients, s->nclients);
	for (i = 0; i < s->nclients; i++)
		if ((ret = grt_go(rt_client_g, s))) {
			rt_fail(s, ret);
			grt_waitgroup_done(&s->clients);
		}
	grt_waitgroup_wait(&s->clients);
	if (s->mech == R_THREAD_CALL) {
		grt_thread_free(s->thread);
	} else {
		grt_chan_close(s->requests);
		grt_waitgroup_wait(&s->server);
		grt_chan_free(s->requests);
	}
}

/* iarg: rmech | clients << 8. As many Ps as CPUs (Go's default). */
static double run_rt_server(const struct bench_variant *v, const char **why)
{
	static struct rt_server s;
	int ret;

	memset(&s, 0, sizeof(s));
	s.mech = (enum rmech)(v->iarg & 0xff);
	s.nclients = (int)(v->iarg >> 8);
	if (s.nclients > MAX_CLIENTS)
		bench_die("server: %d clients, at most %d", s.nclients,
			  MAX_CLIENTS);
	ret = bench_rt_run(0, 0, rt_server_main, &s);
	if (ret || s.err) {
		fprintf(stderr, "gwake-bench: %s: %s\n", v->name,
			strerror(-(ret ? ret : s.err)));
		*why = "runtime error (see stderr)";
		return -1;
	}
	return ns_per_call(s.w, s.nclients);
}

/* iarg: locked | clients << 8 | gomaxprocs << 16 */
static double run_go_server(const struct bench_variant *v, const char **why)
{
	char clients[32], d[32];
	const char *argv[] = { "server", "-locked", "-clients", clients,
			       "-d", d, NULL };

	if (!(v->iarg & 1))
		argv[1] = "-unlocked";
	snprintf(clients, sizeof(clients), "%ld", (v->iarg >> 8) & 0xff);
	snprintf(d, sizeof(d), "%lld", (long long)bench_opts.slice_ns);
	return bench_go((int)(v->iarg >> 16), argv, why);
}

void bench_register_server(void)
{
	static const int nclients[] = { 1, 2, 4, 8, 16, 64 };
	/* The ids and titles must outlive registration (groups keep them). */
	static char ids[6][32], titles[6][64];
	size_t c;

	for (c = 0; c < sizeof(nclients) / sizeof(nclients[0]); c++) {
		long n = nclients[c];
		struct bench_group g = {
			.id = ids[c],
			.title = titles[c],
			.unit = "ns per call",
			.unit_ns = 1,
			.note = "Targets: grt thread call <= 0.1 x Go locked "
				"(GOMAXPROCS=2) and <= 3 x grt channel "
				"(unlocked).",
		};

		snprintf(ids[c], sizeof(ids[c]), "server/%ldclient%s", n,
			 n == 1 ? "" : "s");
		if (n == 1)
			snprintf(titles[c], sizeof(titles[c]),
				 "1 client calls a server and waits for its "
				 "reply");
		else
			snprintf(titles[c], sizeof(titles[c]),
				 "%ld clients call one server at once", n);

		g.v[g.nv++] = (struct bench_variant){
			.name = "C threads, futex", .run = run_c_server,
			.iarg = S_FUTEX | n << 8 };
		g.v[g.nv++] = (struct bench_variant){
			.name = "C threads, pipe", .run = run_c_server,
			.iarg = S_PIPE | n << 8 };
		g.v[g.nv++] = (struct bench_variant){
			.name = "C threads, condvar", .run = run_c_server,
			.iarg = S_CONDVAR | n << 8 };
		if (n == 1)
			g.v[g.nv++] = (struct bench_variant){
				.name = "C threads, spin", .run = run_c_server,
				.iarg = S_SPIN | n << 8 };
		g.v[g.nv++] = (struct bench_variant){
			.name = "grt thread call", .run = run_rt_server,
			.iarg = R_THREAD_CALL | n << 8 };
		g.baseline2 = g.nv;
		g.v[g.nv++] = (struct bench_variant){
			.name = "grt channel, unlocked server",
			.run = run_rt_server, .iarg = R_CHAN | n << 8 };
		g.v[g.nv++] = (struct bench_variant){
			.name = "grt channel, locked server",
			.run = run_rt_server, .iarg = R_CHAN_LOCKED | n << 8 };
		g.v[g.nv++] = (struct bench_variant){
			.name = "Go unlocked, GOMAXPROCS=1",
			.run = run_go_server, .iarg = 0 | n << 8 | 1 << 16 };
		g.v[g.nv++] = (struct bench_variant){
			.name = "Go unlocked, GOMAXPROCS=2",
			.run = run_go_server, .iarg = 0 | n << 8 | 2 << 16 };
		g.v[g.nv++] = (struct bench_variant){
			.name = "Go locked, GOMAXPROCS=1",
			.run = run_go_server, .iarg = 1 | n << 8 | 1 << 16 };
		g.baseline = g.nv;
		g.v[g.nv++] = (struct bench_variant){
			.name = "Go locked, GOMAXPROCS=2",
			.run = run_go_server, .iarg = 1 | n << 8 | 2 << 16 };
		bench_add_group(&g);
	}
}
