// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Blocking system calls (Go's entersyscall/exitsyscall).
 *
 * A G about to block in the kernel marks its M "in a system call": the
 * P stays attached but in state SYSCALL, which lets the monitor take it
 * (CAS SYSCALL -> IDLE, lib/rt/sysmon.c) and hand it to another M if the
 * call lasts too long while other Gs wait (below). On return the M tries,
 * in order: CAS its own P back (SYSCALL -> RUNNING: nobody took it), any
 * idle P, and otherwise puts the G on the global run queue and parks
 * itself (a locked G instead waits for a P on its own M).
 *
 * The preemption signal uses the same state change to detach a G that
 * hogs its P (grt__entersyscall from the signal handler: it only stores
 * to fields of the current M and does lock-free atomics, and at most one
 * gwake_wake() of the monitor (grt__mon_lazy_check(): a lock-free wake
 * word store and a futex or ioctl wake), so it is async-signal-safe).
 * Any later runtime call of that G goes through
 * grt__acquirem(), sees m->in_syscall and comes back through
 * grt__exitsyscall().
 *
 * A call entered with Gs queued on the P is timed and due after
 * GRT_SYSMON_WAITING_NS (5 us). grt_syscall_enter() then kicks the
 * monitor with leave to spin (sched.mon_spin): it looks at once and
 * waits out the rest on its CPU rather than in a timed sleep, then hands
 * the P on. block-handoff went from 18 us to 9-13 us (Go: 17 us), for
 * each wake of a thread from an idle CPU costs 10-20 us on these VMs and
 * a tick or a short timed sleep is one more such wake. The price is a
 * wake of the monitor (a system call when it sleeps) and up to 5 us of
 * its CPU for a call that turns out short. So these kicks are rationed:
 * an M whose kicks keep finding its call over gives them for one call in
 * 2, 4, ... 64 only (grt__kick_done()), and a call that is taken, kicked
 * or not, resets that. The other calls with Gs waiting kick only a
 * monitor that backed off, as before, without the leave to spin. So does
 * the thread call's wait (tcall.c), whose lent P is asked for by readiers
 * instead.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "runq.h"
#include "sched.h"

#define S grt__sched

/*
 * Same thread as the G; only stores, lock-free atomics and at most one
 * wake of the monitor (see above).
 * @since: when the call began if Gs wait for the P (struct grt_p), or 0.
 */
void grt__entersyscall(struct grt_m *m, struct grt_g *gp, int64_t since)
{
	struct grt_p *p = m->p;

	/* A P in a system call needs the monitor (proc.c: mon_lazy). */
	grt__mon_lazy_check();
	m->oldp = p;
	m->p = NULL;
	m->in_syscall = true;
	atomic_store_explicit(&gp->status, GRT_GSYSCALL, memory_order_relaxed);
	atomic_fetch_add(&S.nmsyscall, 1);
	if (!p)
		return;
	atomic_store_explicit(&p->syscalltick,
			      atomic_load_explicit(&p->syscalltick,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&p->syscall_since, since, memory_order_relaxed);
	/* Release: the monitor that takes the P sees a consistent P. */
	atomic_store_explicit(&p->status, GRT_PSYSCALL, memory_order_release);
}

/* Give the P away now (the call is known to block for long). */
void grt__entersyscall_block(struct grt_m *m)
{
	struct grt_p *p = m->oldp;
	uint32_t st = GRT_PSYSCALL;

	if (p && atomic_compare_exchange_strong(&p->status, &st, GRT_PIDLE)) {
		m->oldp = NULL;
		grt__handoffp(p);
	}
}

/*
 * Back from a system call (or from a detach). Returns the M the G runs on
 * afterwards (another one if it had to be queued).
 */
struct grt_m *grt__exitsyscall(struct grt_m *m)
{
	struct grt_g *gp = m->curg;
	struct grt_p *p = m->oldp;
	uint32_t st = GRT_PSYSCALL;

	m->oldp = NULL;
	atomic_fetch_sub(&S.nmsyscall, 1);
	if (p && atomic_compare_exchange_strong(&p->status, &st,
						GRT_PRUNNING)) {
		/* Nobody took it: a kick of the monitor was for nothing. */
		grt__kick_done(m, false);
		m->p = p;
		p->m = m;
		m->in_syscall = false;
		atomic_store_explicit(&gp->status, GRT_GRUNNING,
				      memory_order_relaxed);
		return m;
	}
	grt__kick_done(m, true);
	p = grt__pidleget();
	if (p) {
		grt__acquirep(m, p);
		m->in_syscall = false;
		atomic_store_explicit(&gp->status, GRT_GRUNNING,
				      memory_order_relaxed);
		return m;
	}
	/* No P: g0 queues the G (or waits for a P if it is locked). */
	m->in_syscall = false;
	grt__mcall(m, gp, GRT_ACT_NOP);
	return grt__curm();
}

void grt__m_syscall_begin(struct grt_m *m)
{
	m->in_syscall = true;
	atomic_fetch_add(&S.nmsyscall, 1);
}

void grt__m_syscall_end(struct grt_m *m)
{
	m->in_syscall = false;
	atomic_fetch_sub(&S.nmsyscall, 1);
}

struct grt_m *grt__m_syscall_resume(void)
{
	struct grt_m *m = grt__curm();
	struct grt_g *gp = m->curg;

	if (!m->in_syscall) {
		gp->nopreempt++;
		grt__entersyscall(m, gp, 0);
		grt__entersyscall_block(m);
		gp->nopreempt--;
	}
	return m;
}

struct grt_m *grt__acquirem_slow(struct grt_m *m)
{
	return grt__exitsyscall(m);
}

void grt__syscall_enter(bool kick)
{
	struct grt_m *m = grt__acquirem();
	struct grt_g *gp = m ? m->curg : NULL;
	struct grt_p *p;
	int64_t since = 0;

	if (!gp)
		return;
	p = m->p;
	/*
	 * Gs wait for this P: time the call's start, so the monitor hands
	 * the P on after GRT_SYSMON_WAITING_NS rather than after two of its
	 * ticks. A clock read (vDSO) only when someone waits.
	 */
	if (p && !grt__runqempty(p))
		since = grt__nanotime();
	kick = since && kick && grt__kick_wanted(m);
	grt__entersyscall(m, gp, since);
	/*
	 * Kicked this way (mon_spin), the monitor looks now and waits out
	 * the few microseconds until the P is due on its CPU (sysmon.c).
	 * Otherwise it looks at its next tick, but it backs off to 10 ms
	 * ticks when nothing happens: if Gs are waiting for this P, make
	 * sure it looks within 20 us (a plain kick: a tick's timed sleep).
	 */
	if (kick) {
		atomic_store_explicit(&S.mon_spin, true, memory_order_relaxed);
		grt__monitor_kick();
	} else if (since && atomic_load_explicit(&S.mon_delay,
						 memory_order_relaxed) >
				    GRT_SYSMON_MIN_NS) {
		grt__monitor_kick();
	}
	gp->nopreempt--;
}

void grt_syscall_enter(void)
{
	grt__syscall_enter(true);
}

void grt_syscall_exit(void)
{
	struct grt_m *m = grt__curm();
	struct grt_g *gp = m ? m->curg : NULL;

	if (!gp)
		return;
	gp->nopreempt++;
	if (m->in_syscall)
		m = grt__exitsyscall(m);
	grt__releasem(m);
}

ssize_t grt_read(int fd, void *buf, size_t count)
{
	int saved = errno, err;
	ssize_t r;

	grt_syscall_enter();
	r = read(fd, buf, count);
	err = errno;
	grt_syscall_exit();
	errno = saved;
	return r < 0 ? -err : r;
}

ssize_t grt_write(int fd, const void *buf, size_t count)
{
	int saved = errno, err;
	ssize_t r;

	grt_syscall_enter();
	r = write(fd, buf, count);
	err = errno;
	grt_syscall_exit();
	errno = saved;
	return r < 0 ? -err : r;
}

int grt_nanosleep(int64_t ns)
{
	struct timespec ts;
	int r, err, saved = errno;

	if (ns < 0)
		return -EINVAL;
	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	grt_syscall_enter();
	do {
		r = nanosleep(&ts, &ts);
		err = errno;
	} while (r && err == EINTR && !atomic_load(&S.stopping));
	grt_syscall_exit();
	errno = saved;
	return r ? -err : 0;
}
