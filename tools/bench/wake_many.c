// SPDX-License-Identifier: GPL-2.0
/*
 * wake-many: wake N parked threads at once (N = 1, 4, 16, 64), as a
 * runtime does when work for several Ms arrives together.
 *
 * One sample: N threads are asleep in the kernel (each checked through
 * /proc: state S and a wait channel, after it announced its wait); the
 * waker reads the clock (t0), wakes all N, reads it again (t1). Each
 * thread reads the clock when it runs. Two groups per N, from the same
 * kind of run:
 *
 *   wake-many/N/waker   t1 - t0: what the waker pays
 *   wake-many/N/last    the last thread's clock read - t0: when the whole
 *                       batch has run
 *
 * Between samples the waker sleeps (it must not keep a CPU the wakees
 * need) until all have reported and are asleep again. A repetition takes
 * samples for one slice (at least 5); its value is their median.
 *
 *   FUTEX_WAKE x N          the bench_word protocol (bench.h): N threads
 *                           in FUTEX_WAIT, N system calls
 *   gwake_wake x N, B       N calls of gwake_wake() on backend B
 *   gwake_wake_many, B      one gwake_wake_many() of the N handles
 *
 * B is the user backend and the module's (kmod), both in the same run, by
 * their ops tables (lib/backend.h), as in handoff.c. With the user backend
 * gwake_wake_many() is N FUTEX_WAKEs (there is no system call that wakes
 * several futex words); with the module it is one ioctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gwake/gwake.h>

#include "backend.h"
#include "bench.h"

#define WM_MAX		64
#define WM_MIN_SAMPLES	5
#define WM_SAMPLES_MAX	BENCH_WAKE_SAMPLES_MAX

enum wm_mech {
	WM_FUTEX,
	WM_GWAKE_EACH,
	WM_GWAKE_MANY,
};

enum wm_backend {
	WM_USER,
	WM_KMOD,
};

enum wm_what {
	WM_WAKER,
	WM_LAST,
};

struct wm_thread {
	struct wm *w;
	int idx;
	pid_t tid;
	atomic_uint word;		/* WM_FUTEX: a bench_word */
	gwake_t handle;
	atomic_int ready;		/* registered, tid known */
};

struct wm {
	enum wm_mech mech;
	const struct gwi_backend *b;
	int n;
	atomic_int stop;
	atomic_int err;
	/*
	 * Waits announced (a thread adds 1 before it waits) and reports (1
	 * after it woke and read the clock). Relaxed counters, acquire/release
	 * where they publish run[].
	 */
	atomic_int waiting, reported;
	_Atomic int64_t run[WM_MAX];	/* each thread's clock read */
	struct wm_thread t[WM_MAX];
	pthread_t thr[WM_MAX];
};

static void wm_wait(struct wm_thread *t)
{
	struct wm *w = t->w;

	if (w->mech == WM_FUTEX) {
		bench_word_wait(&t->word, 0);
		return;
	}
	while (w->b->block(-1) != 0)
		;
}

static void *wm_sleeper(void *arg)
{
	struct wm_thread *t = arg;
	struct wm *w = t->w;

	t->tid = (pid_t)syscall(SYS_gettid);
	if (w->mech != WM_FUTEX && w->b->self(&t->handle)) {
		atomic_store(&w->err, 1);
		atomic_store_explicit(&t->ready, 1, memory_order_release);
		return NULL;
	}
	atomic_store_explicit(&t->ready, 1, memory_order_release);
	for (;;) {
		atomic_fetch_add(&w->waiting, 1);
		wm_wait(t);
		if (atomic_load(&w->stop))
			break;
		atomic_store_explicit(&w->run[t->idx], bench_now_ns(),
				      memory_order_relaxed);
		atomic_fetch_add_explicit(&w->reported, 1, memory_order_release);
	}
	if (w->mech != WM_FUTEX)
		w->b->unregister();
	return NULL;
}

/* /proc/self/task/@tid/@name into @buf (NUL-terminated); its length, or <= 0. */
static ssize_t wm_task_file(pid_t tid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n > 0)
		buf[n] = '\0';
	return n;
}

/* Is thread @tid of this process off its CPU, asleep in the kernel? */
static bool wm_asleep(pid_t tid)
{
	char buf[512];
	const char *p;
	ssize_t n;

	if (wm_task_file(tid, "stat", buf, sizeof(buf)) <= 0)
		return false;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] != 'S')
		return false;
	/* 'S' shows before the sleeper's last check; wchan only after it. */
	n = wm_task_file(tid, "wchan", buf, sizeof(buf));
	return n > 0 && !(n == 1 && buf[0] == '0');
}

static void wm_nap(void)
{
	struct timespec ts = { .tv_nsec = 50000 };

	nanosleep(&ts, NULL);
}

/* Until @want waits were announced and every thread is asleep. */
static void wm_settle(struct wm *w, int want)
{
	int i;

	while (atomic_load(&w->waiting) < want)
		wm_nap();
	for (i = 0; i < w->n; i++)
		while (!wm_asleep(w->t[i].tid))
			wm_nap();
}

static void wm_wake_all(struct wm *w)
{
	gwake_t hs[WM_MAX];
	int i;

	switch (w->mech) {
	case WM_FUTEX:
		for (i = 0; i < w->n; i++)
			bench_word_signal(&w->t[i].word);
		break;
	case WM_GWAKE_EACH:
		for (i = 0; i < w->n; i++)
			w->b->wake(w->t[i].handle);
		break;
	case WM_GWAKE_MANY:
		for (i = 0; i < w->n; i++)
			hs[i] = w->t[i].handle;
		w->b->wake_many(hs, (size_t)w->n);
		break;
	}
}

/* iarg: mech | backend << 8 | n << 16 | what << 24 */
static double run_wm(const struct bench_variant *v, const char **why)
{
	static struct wm w;
	static int64_t waker[WM_SAMPLES_MAX], last[WM_SAMPLES_MAX];
	enum wm_what what = (enum wm_what)((v->iarg >> 24) & 0xff);
	int64_t t0, t1, end, mx;
	int i, k, ns = 0;

	memset(&w, 0, sizeof(w));
	w.mech = (enum wm_mech)(v->iarg & 0xff);
	w.n = (int)((v->iarg >> 16) & 0xff);
	if (w.mech != WM_FUTEX) {
		bool kmod = ((v->iarg >> 8) & 0xff) == WM_KMOD;

		w.b = kmod ? &gwi_kmod_backend : &gwi_user_backend;
		if (gwi_backend_init(w.b)) {
			*why = kmod ? "no usable /dev/gwake (gwake.ko not loaded)" :
				      "the user backend failed to initialise";
			return -1;
		}
	}
	for (i = 0; i < w.n; i++) {
		w.t[i].w = &w;
		w.t[i].idx = i;
		bench_thread(&w.thr[i], wm_sleeper, &w.t[i]);
	}
	for (i = 0; i < w.n; i++)
		while (!atomic_load_explicit(&w.t[i].ready, memory_order_acquire))
			wm_nap();
	if (atomic_load(&w.err)) {
		*why = "gwake_self() failed";
		ns = -1;
		goto out;
	}
	end = bench_now_ns() + bench_opts.slice_ns;
	for (k = 1; ns < WM_SAMPLES_MAX &&
		    (ns < WM_MIN_SAMPLES || bench_now_ns() < end); k++) {
		wm_settle(&w, k * w.n);
		t0 = bench_now_ns();
		wm_wake_all(&w);
		t1 = bench_now_ns();
		while (atomic_load_explicit(&w.reported, memory_order_acquire) <
		       k * w.n)
			wm_nap();
		mx = 0;
		for (i = 0; i < w.n; i++) {
			int64_t r = atomic_load_explicit(&w.run[i],
							 memory_order_relaxed);

			if (r - t0 > mx)
				mx = r - t0;
		}
		waker[ns] = t1 - t0;
		last[ns] = mx;
		ns++;
	}
out:
	/* A thread not asleep yet finds the permit (or the futex word) set. */
	atomic_store(&w.stop, 1);
	wm_wake_all(&w);
	for (i = 0; i < w.n; i++)
		pthread_join(w.thr[i], NULL);
	if (ns < 0)
		return -1;
	return bench_wake_result(what == WM_WAKER ? waker : last, ns, 50);
}

void bench_register_wake_many(void)
{
	static const int counts[] = { 1, 4, 16, 64 };
	static const struct {
		enum wm_mech mech;
		enum wm_backend b;
		const char *name;
	} vs[] = {
		{ WM_FUTEX, WM_USER, "FUTEX_WAKE x N" },
		{ WM_GWAKE_EACH, WM_USER, "gwake_wake x N, user" },
		{ WM_GWAKE_MANY, WM_USER, "gwake_wake_many, user" },
		{ WM_GWAKE_EACH, WM_KMOD, "gwake_wake x N, kmod" },
		{ WM_GWAKE_MANY, WM_KMOD, "gwake_wake_many, kmod" },
	};
	static char ids[8][40], titles[8][96];
	unsigned int c, wh, i, g = 0;

	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		for (wh = WM_WAKER; wh <= WM_LAST; wh++, g++) {
			struct bench_group grp = {
				.id = ids[g],
				.title = titles[g],
				.unit = "ns, median of a rep's samples",
				.baseline = 0,
				.note = wh == WM_WAKER ?
					"The waker's time for the whole batch." :
					"From the waker's first call to the last "
					"wakee running.",
			};

			snprintf(ids[g], sizeof(ids[g]), "wake-many/%d/%s",
				 counts[c], wh == WM_WAKER ? "waker" : "last");
			snprintf(titles[g], sizeof(titles[g]),
				 "waking %d parked threads: %s", counts[c],
				 wh == WM_WAKER ? "the waker's time" :
						  "until the last one runs");
			for (i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
				grp.v[grp.nv++] = (struct bench_variant){
					.name = vs[i].name, .run = run_wm,
					.iarg = vs[i].mech | vs[i].b << 8 |
						counts[c] << 16 | (long)wh << 24,
				};
			bench_add_group(&grp);
		}
	}
}
