/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A Promela model of an M going idle against a readier without a P that
 * puts a G on the global queue (lib/rt/proc.c: the end of findrunnable(),
 * wakep(); lib/rt/runq.c grt__globrunqput()). `make model-check` verifies
 * it with spin (exhaustive, safety): the G is never stranded, i.e. when
 * every process is done, the G was taken by an M or an M was woken for
 * it.
 *
 * Two Ps. M holds one and is not spinning, which it can be only while
 * another M spins: S, holding the other. The readier is a thread-call
 * server completing a parked caller's call, or a G back from a system
 * call that found no P. The global queue's enqueue takes no lock, so M's
 * look at the queue under sched.lock and its putting the P idle are not
 * atomic with respect to it. S either finds nothing and goes idle with
 * the spinner's re-check, or finds a G elsewhere, stops spinning (waking
 * an M if it was the last spinner and a P is idle) and runs that G:
 * then the queued G would wait for it to block or be preempted, which
 * the property does not accept.
 *
 * Built with -DNO_RECHECK, the M goes to sleep without its second look at
 * the queue once the P is idle, as findrunnable() did; `make model-check`
 * checks that spin then finds the stranded G.
 */
bit lock = 0;		/* sched.lock */
bit gq = 0;		/* the G on the global queue */
byte npidle = 0;	/* idle Ps */
byte nmspinning = 1;	/* S */
bit taken = 0;		/* an M took the G */
bit woken = 0;		/* wakep() woke an M, handing it an idle P */

inline pidleget(ok) {
	atomic { !lock -> lock = 1 };
	if
	:: npidle > 0 -> npidle--; ok = 1
	:: else -> ok = 0
	fi;
	lock = 0
}

/* A G on the queue after the P went idle: take a P back and run it. */
inline recheck(ok) {
	if
	:: gq ->
		pidleget(ok);
		if
		:: ok -> gq = 0; taken = 1
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/* wakep(): an idle P and no spinner, or nothing. */
inline wakep() {
	if
	:: npidle > 0 && nmspinning == 0 -> woken = 1
	:: else -> skip
	fi
}

/* The readier: grt__globrunqput() (an xchg), then wakep(). */
proctype readier()
{
	gq = 1;
	wakep()
}

/* The end of findrunnable(), not spinning. */
proctype m()
{
	bit ok;

	atomic { !lock -> lock = 1 };
	if
	:: gq -> gq = 0; taken = 1; lock = 0; goto done
	:: else -> skip
	fi;
	npidle++;	/* releasep(), pidleput_locked(): a seq_cst RMW */
	lock = 0;
#ifndef NO_RECHECK
	recheck(ok);
#endif
done:	skip	/* stopm(): asleep until woken */
}

/* The spinner. */
proctype s()
{
	bit ok;

	if
	:: true ->
		/* found a G elsewhere: resetspinning(), then runs it */
		nmspinning--;
		wakep()
	:: true ->
		/* found nothing: idle, then the spinner's re-check */
		atomic { !lock -> lock = 1 };
		if
		:: gq -> gq = 0; taken = 1; lock = 0; nmspinning--; goto done
		:: else -> skip
		fi;
		npidle++;
		lock = 0;
		nmspinning--;
		recheck(ok)
	fi;
done:	skip
}

init {
	atomic { run readier(); run m(); run s() };
	/* all done: the G was taken, or an M was woken to take it */
	(_nr_pr == 1);
	assert(taken || woken)
}
