// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * LockOSThread. The mechanism lives in the scheduler (proc.c: a locked
 * G's park hands the P off and blocks the M on its own wake word;
 * grt__ready() wakes that M by handle; the M then takes an idle P or
 * waits on sched.lockedwait for the next one released). Here only the
 * nesting count; the binding itself (lockedm/lockedg) is written through
 * grt__lockm()/grt__unlockm() by the G itself with its nopreempt raised,
 * and read by readiers after the G parked (ordered by the park commit's
 * release).
 */
#include <errno.h>
#include <stdint.h>

#include "sched.h"

int grt_lock_thread(void)
{
	struct grt_m *m = grt__acquirem();
	struct grt_g *gp = m ? m->curg : NULL;

	if (!gp)
		return -EPERM;
	if (gp->lockcount == UINT32_MAX) {
		grt__releasem(m);
		return -EOVERFLOW;
	}
	gp->lockcount++;
	grt__lockm(m, gp, false);
	grt__releasem(m);
	return 0;
}

int grt_unlock_thread(void)
{
	struct grt_m *m = grt__acquirem();
	struct grt_g *gp = m ? m->curg : NULL;

	if (!gp)
		return -EPERM;
	if (!gp->lockcount) {
		grt__releasem(m);
		return -EPERM;
	}
	if (--gp->lockcount == 0 && !gp->lockedint)
		grt__unlockm(m, gp);
	grt__releasem(m);
	return 0;
}
