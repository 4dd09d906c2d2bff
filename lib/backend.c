// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgwake: the backend choice and the public entry points.
 *
 * The backend is chosen once per process, on the first call of any gwake_
 * function (pthread_once), and never changes afterwards:
 *
 *   GWAKE_BACKEND unset or empty   the module if /dev/gwake opens and its
 *                                  GWAKE_IOC_API probe passes, else "user";
 *   GWAKE_BACKEND=kmod             the module, or the "none" backend if it
 *                                  cannot be used: every call -ENODEV;
 *   GWAKE_BACKEND=user             the userspace wake word;
 *   anything else                  the "none" backend: every call -EINVAL.
 *
 * A forced choice never falls back silently: a test that asks for the
 * module must not pass by measuring the userspace backend. The variable is
 * read with secure_getenv(), so set-user-ID programs ignore it, as they
 * ignore MALLOC_* and LD_*.
 *
 * Nor does it fail silently: when GWAKE_BACKEND names no backend or one
 * that cannot be used (and when no backend at all works), the choice
 * prints one line saying why on stderr, prefixed "libgwake:". It is made
 * once per process, so the line appears once, whatever is called
 * afterwards and how often (a forked child inherits the choice and says
 * nothing). GWAKE_DEBUG=1 (also secure_getenv()) adds one line for every
 * choice: which backend, and why the module was not taken.
 *
 * Every entry point saves errno on entry and restores it on return: the
 * result is the return value only (a negative errno), and a caller's errno
 * survives the system calls the backends make.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/gwake.h>

#include "backend.h"

/*
 * The "none" backend: what a process gets when GWAKE_BACKEND forces
 * something unusable. none_error is written by choose() before the backend
 * is published (release), so every reader sees it.
 */
static int none_error = -ENODEV;

static int none_init(void)
{
	return 0;
}

static int none_self(gwake_t *out)
{
	(void)out;
	return none_error;
}

static int none_block(int64_t timeout_ns)
{
	(void)timeout_ns;
	return none_error;
}

static int none_block_for(gwake_t partner, int64_t timeout_ns)
{
	(void)partner;
	(void)timeout_ns;
	return none_error;
}

static int none_sched_state(gwake_t h)
{
	(void)h;
	return none_error;
}

static int none_wake(gwake_t h)
{
	(void)h;
	return none_error;
}

static int none_swap(gwake_t h, int64_t timeout_ns, bool here)
{
	(void)h;
	(void)timeout_ns;
	(void)here;
	return none_error;
}

static int none_wake_many(const gwake_t *hs, size_t n)
{
	(void)hs;
	(void)n;
	return none_error;
}

static int none_notify(gwake_t h, int64_t threshold_ns)
{
	(void)h;
	(void)threshold_ns;
	return none_error;
}

static int none_unregister(void)
{
	return none_error;
}

static const struct gwi_backend none_backend = {
	.name		= "none",
	.init		= none_init,
	.self		= none_self,
	.block		= none_block,
	.block_for	= none_block_for,
	.wake		= none_wake,
	.swap		= none_swap,
	.wake_many	= none_wake_many,
	.unregister	= none_unregister,
	.sched_state	= none_sched_state,
	.notify		= none_notify,
};

/*
 * The chosen backend, NULL until choose() ran. Published with release
 * after the backend's init(), so a thread that loads it with acquire sees
 * everything init() set up; the slow path goes through pthread_once, which
 * gives the same guarantee to threads that race with the first call.
 */
static const struct gwi_backend *_Atomic chosen;
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

static const struct gwi_backend *none(int err)
{
	none_error = err;
	return &none_backend;
}

/*
 * Each backend's init() runs at most once per process, whoever asks first:
 * choose() below, or gwi_backend_init() from in-tree code that drives one
 * backend explicitly (gwake-bench measures both in one run). The result is
 * kept, so a backend that could not be used is never retried, and init()
 * never runs twice (lib/backend.h promises backends exactly one call).
 */
static int user_init_result, kmod_init_result;
static pthread_once_t user_init_once = PTHREAD_ONCE_INIT;
static pthread_once_t kmod_init_once = PTHREAD_ONCE_INIT;

static void user_init_run(void)
{
	user_init_result = gwi_user_backend.init();
}

static void kmod_init_run(void)
{
	kmod_init_result = gwi_kmod_backend.init();
}

int gwi_backend_init(const struct gwi_backend *b)
{
	if (b == &gwi_user_backend) {
		pthread_once(&user_init_once, user_init_run);
		return user_init_result;
	}
	if (b == &gwi_kmod_backend) {
		pthread_once(&kmod_init_once, kmod_init_run);
		return kmod_init_result;
	}
	return -EINVAL;
}

/*
 * One line on stderr, "libgwake: " and the message, in one write(2) (so
 * that it is not torn by other threads' output). Truncated if long.
 */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "libgwake: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* Why the module could not be used, for a human. */
static const char *kmod_why(int err)
{
	switch (err) {
	case -ENOENT:
		return "no /dev/" GWAKE_DEVICE_NAME ": is gwake.ko loaded?";
	case -EACCES:
	case -EPERM:
		return "no permission to open /dev/" GWAKE_DEVICE_NAME;
	case -ENODEV:
		return "/dev/" GWAKE_DEVICE_NAME " does not speak this library's "
		       "API version";
	default:
		return strerror(-err);
	}
}

static void choose(void)
{
	const char *env = secure_getenv("GWAKE_BACKEND");
	const char *dbg = secure_getenv("GWAKE_DEBUG");
	bool debug = dbg && *dbg && strcmp(dbg, "0");
	const struct gwi_backend *b;
	int err = 0, kerr;

	if (env && *env) {
		if (!strcmp(env, "kmod"))
			b = &gwi_kmod_backend;
		else if (!strcmp(env, "user"))
			b = &gwi_user_backend;
		else
			b = NULL;
		if (!b) {
			b = none(-EINVAL);
			say("GWAKE_BACKEND=\"%.64s\" names no backend (kmod or "
			    "user, or unset for the best one); every gwake call "
			    "fails with EINVAL", env);
		} else if ((err = gwi_backend_init(b))) {
			say("GWAKE_BACKEND=%s, but the %s backend cannot be used "
			    "(%s); every gwake call fails with ENODEV", env,
			    b->name, b == &gwi_kmod_backend ? kmod_why(err) :
			    strerror(-err));
			if (debug)
				say("GWAKE_DEBUG: %s init returned %d", b->name,
				    err);
			b = none(-ENODEV);
		} else if (debug) {
			say("GWAKE_DEBUG: backend %s (GWAKE_BACKEND=%s)",
			    b->name, env);
		}
	} else if (!(kerr = gwi_backend_init(&gwi_kmod_backend))) {
		b = &gwi_kmod_backend;
		if (debug)
			say("GWAKE_DEBUG: backend kmod (GWAKE_BACKEND unset, "
			    "/dev/" GWAKE_DEVICE_NAME " usable)");
	} else if (!(err = gwi_backend_init(&gwi_user_backend))) {
		b = &gwi_user_backend;
		if (debug)
			say("GWAKE_DEBUG: backend user (GWAKE_BACKEND unset; "
			    "kmod: %s)", kmod_why(kerr));
	} else {
		b = none(-ENODEV);
		say("no usable backend (kmod: %s; user: %s); every gwake call "
		    "fails with ENODEV", kmod_why(kerr), strerror(-err));
	}
	atomic_store_explicit(&chosen, b, memory_order_release);
}

static inline const struct gwi_backend *backend(void)
{
	const struct gwi_backend *b;

	b = atomic_load_explicit(&chosen, memory_order_acquire);
	if (gwi_likely(b))
		return b;
	pthread_once(&choose_once, choose);
	return atomic_load_explicit(&chosen, memory_order_acquire);
}

int gwake_self(gwake_t *out)
{
	int saved = errno;
	const struct gwi_backend *b = backend();
	int r;

	if (b == &none_backend)
		r = none_error;
	else if (!out)
		r = -EFAULT;
	else
		r = b->self(out);
	errno = saved;
	return r;
}

int gwake_block(int64_t timeout_ns)
{
	int saved = errno;
	int r = backend()->block(timeout_ns);

	errno = saved;
	return r;
}

int gwi_block_idle(int64_t timeout_ns)
{
	int saved = errno;
	const struct gwi_backend *b = backend();
	int r = b->block_idle ? b->block_idle(timeout_ns) : b->block(timeout_ns);

	errno = saved;
	return r;
}

int gwake_block_for(gwake_t partner, int64_t timeout_ns)
{
	int saved = errno;
	const struct gwi_backend *b = backend();
	int r = partner ? b->block_for(partner, timeout_ns) : b->block(timeout_ns);

	errno = saved;
	return r;
}

int gwake_sched_state(gwake_t h)
{
	int saved = errno;
	const struct gwi_backend *b = backend();
	int r;

	if (b == &none_backend)
		r = none_error;
	else if (gwi_unlikely(!h))
		r = -ESRCH;
	else
		r = b->sched_state(h);
	errno = saved;
	return r;
}

int gwake_wake(gwake_t h)
{
	int saved = errno;
	const struct gwi_backend *b = backend();
	int r;

	if (b == &none_backend)
		r = none_error;
	else if (gwi_unlikely(!h))
		r = -ESRCH;
	else
		r = b->wake(h);
	errno = saved;
	return r;
}

static int swap_(gwake_t h, int64_t timeout_ns, bool here)
{
	int saved = errno;
	const struct gwi_backend *b = backend();
	int r;

	if (b == &none_backend)
		r = none_error;
	else if (gwi_unlikely(!h))
		r = -ESRCH;
	else
		r = b->swap(h, timeout_ns, here);
	errno = saved;
	return r;
}

int gwake_swap(gwake_t h, int64_t timeout_ns)
{
	return swap_(h, timeout_ns, false);
}

int gwake_swap_here(gwake_t h, int64_t timeout_ns)
{
	return swap_(h, timeout_ns, true);
}

int gwake_wake_many(const gwake_t *hs, size_t n)
{
	int saved = errno;
	const struct gwi_backend *b = backend();
	int r;

	if (b == &none_backend)
		r = none_error;
	else if (n > GWAKE_WAKE_MANY_MAX)
		r = -EINVAL;
	else if (!hs && n)
		r = -EFAULT;
	else if (!n)
		r = 0;
	else
		r = b->wake_many(hs, n);
	errno = saved;
	return r;
}

int gwake_block_notify(gwake_t h, int64_t threshold_ns)
{
	int saved = errno;
	const struct gwi_backend *b = backend();
	int r;

	if (!h)
		threshold_ns = 0;	/* off: the module takes no threshold */
	else if (threshold_ns < 0)
		threshold_ns = GWAKE_NOTIFY_DEFAULT_NS;
	if (b == &none_backend)
		r = none_error;
	else if ((uint64_t)threshold_ns > GWAKE_NOTIFY_MAX_NS)
		r = -EINVAL;
	else
		r = b->notify(h, threshold_ns);
	errno = saved;
	return r;
}

int gwake_unregister(void)
{
	int saved = errno;
	int r = backend()->unregister();

	errno = saved;
	return r;
}

const char *gwake_backend(void)
{
	int saved = errno;
	const char *name = backend()->name;

	errno = saved;
	return name;
}
