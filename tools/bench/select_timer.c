// SPDX-License-Identifier: GPL-2.0
/*
 * runtime/select-timeout and runtime/select-ready: a select with a timer
 * case, the Go programmer's first timeout,
 *
 *	select { case v := <-c: ...; case <-time.After(d): ... }
 *
 * against Go's own, with as many Ps as CPUs on both sides. In C the timer
 * is made for the select and freed after it (grt_timer_new(), then
 * grt_timer_free(), which stops it if the other case won), as time.After
 * makes one per select.
 *
 *   select-timeout  c never becomes ready: the select times out after d
 *                   (50 us, 1 ms). us per select: d plus what it costs to
 *                   notice that the timer expired, wake, and run the G.
 *   select-ready    a ping-pong in which each reply is received by such a
 *                   select with d = 1 s, which never fires: ns per round
 *                   trip, the price of arming and stopping a timer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gwake/rt.h>

#include "bench.h"

enum st_what {
	ST_TIMEOUT,
	ST_READY,
};

struct st {
	enum st_what what;
	int64_t d;			/* the timer, ns */
	struct grt_chan *never;		/* ST_TIMEOUT: nobody sends */
	struct grt_chan *ping, *pong;	/* ST_READY */
	struct grt_waitgroup wg;
	long next;
	double ns;
	int err;
};

static void st_fail(struct st *s, int err)
{
	if (!s->err)
		s->err = err;
}

/* select { case <-c: case <-time.After(d): }; returns the case, or < 0. */
static int select_after(struct grt_chan *c, void *elem, int64_t d)
{
	struct grt_select_case cs[2];
	struct grt_timer *t;
	int64_t when;
	int ret;

	ret = grt_timer_new(&t, d, 0);
	if (ret)
		return ret;
	cs[0] = (struct grt_select_case){ c, elem, GRT_SELECT_RECV };
	cs[1] = (struct grt_select_case){ grt_timer_chan(t), &when,
					  GRT_SELECT_RECV };
	ret = grt_select(cs, 2, 0, NULL);
	grt_timer_free(t);
	return ret;
}

static void timeout_op(void *ctx, uint64_t n)
{
	struct st *s = ctx;
	int ret;

	while (n--) {
		ret = select_after(s->never, NULL, s->d);
		if (ret != 1) {
			st_fail(s, ret < 0 ? ret : -EPROTO);
			return;
		}
	}
}

/* The peer echoes x + 1 until ping is closed. */
static void echo(void *arg)
{
	struct st *s = arg;
	long v;

	while (grt_chan_recv(s->ping, &v) == 1) {
		v++;
		if (grt_chan_send(s->pong, &v))
			break;
	}
	grt_waitgroup_done(&s->wg);
}

static void ready_op(void *ctx, uint64_t n)
{
	struct st *s = ctx;
	long v, w = 0;
	int ret;

	while (n--) {
		v = s->next++;
		if ((ret = grt_chan_send(s->ping, &v))) {
			st_fail(s, ret);
			return;
		}
		ret = select_after(s->pong, &w, s->d);
		if (ret != 0 || w != v + 1) {
			st_fail(s, ret < 0 ? ret : -EPROTO);
			return;
		}
	}
}

static void st_main(void *arg)
{
	struct st *s = arg;
	int ret;

	if (s->what == ST_TIMEOUT) {
		if ((ret = grt_chan_make(&s->never, 0, 0))) {
			st_fail(s, ret);
			return;
		}
		s->ns = bench_timed(timeout_op, s, bench_opts.slice_ns);
		grt_chan_free(s->never);
		return;
	}
	if ((ret = grt_chan_make(&s->ping, sizeof(long), 0)) ||
	    (ret = grt_chan_make(&s->pong, sizeof(long), 0))) {
		st_fail(s, ret);
	} else {
		grt_waitgroup_add(&s->wg, 1);
		if ((ret = grt_go(echo, s))) {
			st_fail(s, ret);
			grt_waitgroup_done(&s->wg);
		} else {
			s->ns = bench_timed(ready_op, s, bench_opts.slice_ns);
		}
		grt_chan_close(s->ping);
		grt_waitgroup_wait(&s->wg);
	}
	grt_chan_free(s->ping);
	grt_chan_free(s->pong);
}

/* iarg: enum st_what; arg: the timer in ns, as a string (for Go too). */
static double run_rt(const struct bench_variant *v, const char **why)
{
	static struct st s;
	int ret;

	memset(&s, 0, sizeof(s));
	s.what = (enum st_what)v->iarg;
	s.d = strtoll(v->arg, NULL, 10);
	ret = bench_rt_run(0, 0, st_main, &s);
	if (ret || s.err) {
		fprintf(stderr, "gwake-bench: %s: %s\n", v->name,
			strerror(-(ret ? ret : s.err)));
		*why = "runtime error (see stderr)";
		return -1;
	}
	return s.what == ST_TIMEOUT ? s.ns / 1e3 : s.ns;
}

static double run_go(const struct bench_variant *v, const char **why)
{
	char d[32];
	const char *argv[] = { v->iarg == ST_TIMEOUT ? "selecttimeout" :
			       "selectready", "-d", d, "-after", v->arg, NULL };

	snprintf(d, sizeof(d), "%lld", (long long)bench_opts.slice_ns);
	return bench_go(bench_ncpus(), argv, why);
}

void bench_register_select_timer(void)
{
	struct bench_group g = {
		.id = "runtime/select-timeout",
		.title = "select on a channel nobody sends on and a timer of d: "
			 "it times out",
		.unit = "us per select",
		.unit_ns = 1e3,
		.note = "Target: grt at most Go. Go 1.19's idle Ms wait for "
			"timers in epoll_wait, whose timeout is in whole "
			"milliseconds: its short timers fire late.",
	};

	g.v[g.nv++] = (struct bench_variant){ .name = "grt, d = 50 us",
		.run = run_rt, .iarg = ST_TIMEOUT, .arg = "50000" };
	g.v[g.nv++] = (struct bench_variant){ .name = "grt, d = 1 ms",
		.run = run_rt, .iarg = ST_TIMEOUT, .arg = "1000000" };
	g.baseline = g.nv;
	g.v[g.nv++] = (struct bench_variant){ .name = "Go, d = 50 us",
		.run = run_go, .iarg = ST_TIMEOUT, .arg = "50000" };
	g.baseline2 = g.nv;
	g.v[g.nv++] = (struct bench_variant){ .name = "Go, d = 1 ms",
		.run = run_go, .iarg = ST_TIMEOUT, .arg = "1000000" };
	bench_add_group(&g);

	g = (struct bench_group){
		.id = "runtime/select-ready",
		.title = "channel round trip whose reply is received by a select "
			 "with a 1 s timer case (never fires)",
		.unit = "ns per round trip",
		.unit_ns = 1,
		.note = "The timer is made and stopped once per round trip "
			"(Go: time.After in the select).",
	};
	g.v[g.nv++] = (struct bench_variant){ .name = "grt, Ps = CPUs",
		.run = run_rt, .iarg = ST_READY, .arg = "1000000000" };
	g.baseline = g.nv;
	g.v[g.nv++] = (struct bench_variant){ .name = "Go, GOMAXPROCS = CPUs",
		.run = run_go, .iarg = ST_READY, .arg = "1000000000" };
	bench_add_group(&g);
}
