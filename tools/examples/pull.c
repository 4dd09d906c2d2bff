// SPDX-License-Identifier: GPL-2.0
/*
 * pull: generators and a pull iterator on grt coroutines, the shape of
 * Go's iter.Pull.
 *
 * A generator is written in push style -- it calls yield(v) for every
 * value, like a Go range-over-func iterator -- and the consumer pulls
 * values one at a time with next(), possibly stopping early with stop().
 * Each next() is one coroutine switch into the generator and one back:
 * no run queue, no other thread, no allocation per value.
 *
 * Here: an in-order walk of a binary tree (recursion is exactly what push
 * style makes easy and pull style hard) zipped with a generator of
 * primes, stopped early.
 *
 *   cc -O2 -Iinclude tools/examples/pull.c build/lib/libgwake.a -ldl -pthread
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <gwake/rt.h>

struct pull;
typedef bool (*yield_fn)(struct pull *p, long v);
typedef void (*gen_fn)(struct pull *p, yield_fn yield, void *ctx);

struct pull {
	struct grt_coro *c;
	gen_fn gen;
	void *ctx;
	long v;
	bool have, done, stopping;
};

/* Inside the generator: hand v to next() and wait for the next next(). */
static bool pull_yield(struct pull *p, long v)
{
	if (p->stopping)
		return false;
	p->v = v;
	p->have = true;
	grt_coro_switch(p->c);
	return !p->stopping;	/* false: the consumer stopped; unwind */
}

static void pull_body(struct grt_coro *c, void *arg)
{
	struct pull *p = arg;

	(void)c;
	p->gen(p, pull_yield, p->ctx);
	p->done = true;
}

static int pull_new(struct pull *p, gen_fn gen, void *ctx)
{
	*p = (struct pull){ .gen = gen, .ctx = ctx };
	return grt_coro_new(&p->c, pull_body, p);
}

static bool pull_next(struct pull *p, long *v)
{
	if (p->done)
		return false;
	p->have = false;
	grt_coro_switch(p->c);
	if (!p->have)
		return false;
	*v = p->v;
	return true;
}

static void pull_stop(struct pull *p)
{
	if (!p->done) {
		p->stopping = true;
		grt_coro_switch(p->c);	/* the generator returns */
	}
	grt_coro_free(p->c);
}

/* --- Two generators ------------------------------------------------------ */

struct node {
	long key;
	struct node *l, *r;
};

static bool walk(struct node *n, struct pull *p, yield_fn yield)
{
	return !n || (walk(n->l, p, yield) && yield(p, n->key) &&
		      walk(n->r, p, yield));
}

static void tree_gen(struct pull *p, yield_fn yield, void *ctx)
{
	walk(ctx, p, yield);
}

static void primes_gen(struct pull *p, yield_fn yield, void *ctx)
{
	long n, d;

	(void)ctx;
	for (n = 2;; n++) {
		for (d = 2; d * d <= n && n % d; d++)
			;
		if (d * d > n && !yield(p, n))
			return;		/* infinite: only stop() ends it */
	}
}

static struct node *insert(struct node *t, long key)
{
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			abort();
		t->key = key;
	} else if (key < t->key) {
		t->l = insert(t->l, key);
	} else {
		t->r = insert(t->r, key);
	}
	return t;
}

static void destroy(struct node *t)
{
	if (t) {
		destroy(t->l);
		destroy(t->r);
		free(t);
	}
}

static void main_g(void *arg)
{
	struct node *tree = NULL;
	struct pull a, b;
	long x, y, i;

	(void)arg;
	for (i = 0; i < 20; i++)
		tree = insert(tree, (i * 7919) % 101);
	if (pull_new(&a, tree_gen, tree))
		goto out;
	if (pull_new(&b, primes_gen, NULL)) {
		pull_stop(&a);
		goto out;
	}
	/* Zip the sorted keys with the primes until the tree runs out. */
	while (pull_next(&a, &x) && pull_next(&b, &y))
		printf("%3ld  %3ld\n", x, y);
	pull_stop(&a);
	pull_stop(&b);		/* stops an infinite generator cleanly */
out:
	destroy(tree);
}

int main(void)
{
	int err = grt_run(NULL, main_g, NULL);

	if (err)
		fprintf(stderr, "grt_run: %d\n", err);
	return err ? 1 : 0;
}
