/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A Promela model of a thread-call server's idle mark and the deadlock
 * check (lib/rt/tcall.c tcall_idle(), tcall_post(); lib/rt/proc.c
 * grt__checkdead()). `make model-check` verifies it with spin
 * (exhaustive, safety): the check never reports a deadlock while a call
 * is under way (from the caller's enqueue until its G is runnable) or
 * the caller's G is runnable.
 *
 * One server, one caller whose G parks for the answer (its P had other
 * Gs) and whose M then finds nothing to do and runs the check from
 * stopm(), and the server's own check each time it goes idle, before the
 * call and after it (the caller's G then waits on the global queue for
 * the M that was woken for it, which is not modelled). The checks take
 * sched.lock, which serializes them and the idle-M count (nmidle); the
 * server's count (nmidlelocked), the global queue and the mailbox are read
 * one after another, and the server and the caller may move between the
 * reads. The other Ms are idle throughout: they add as much to mcount as
 * to nmidle and are left out. The server's bounded first wait may time
 * out at any step.
 *
 * Built with -DOLD_ORDER, the server counts itself idle before it takes
 * the mark, as tcall_idle() did until a CI run reported a false deadlock
 * (the caller's G parked in grt_thread_call() while the server ran the
 * call); `make model-check` checks that spin finds that report. The
 * mailbox read is not what prevents it now: without it spin finds no false
 * report either (a request is enqueued by a caller on a running M); it
 * stays as a second line.
 */
#define AWAKE    0
#define WAITING  1
#define IDLE     2

#define PENDING  0
#define PARKED   1
#define DONE     2

#define MCOUNT   2	/* the caller's M and the server's M */

byte sleeping = AWAKE;	/* t->sleeping */
short nml = 0;		/* sched.nmidlelocked: may dip below 0 */
byte nmidle = 0;	/* idle Ms, under the lock */
byte mailbox = 0;	/* requests enqueued, not yet taken */
byte req = PENDING;	/* the request's state */
byte gq = 0;		/* Gs on the global queue */
bool lock = 0;		/* sched.lock */
bool inflight = 0;	/* ghost: enqueued, its G not yet runnable */

inline lock_take() {
	atomic { !lock -> lock = 1 }
}

/* grt__checkdead(): each read is a step of its own. */
inline checkdead() {
	r = nml;
	if
	:: MCOUNT - nmidle - r > 0 -> skip
	:: else ->
		if
		:: gq > 0 -> skip
		:: else ->
			if
			:: mailbox > 0 -> skip
			/* reported: nothing may be under way or runnable */
			:: else -> assert(!inflight && gq == 0)
			fi
		fi
	fi
}

/* tcall_unmark(): whoever takes the mark uncounts an idle server. */
inline unmark() {
	atomic { s = sleeping; sleeping = AWAKE };
	if
	:: s == IDLE -> nml--
	:: else -> skip
	fi
}

proctype server()
{
	byte s, old;
	short r;
	bool ok;

	do
	:: mailbox > 0 ->
		/* mailbox_get(), the call, complete() */
		mailbox--;
		atomic { old = req; req = DONE };
		if
		:: old == PARKED -> atomic { gq++; inflight = 0 }	/* grt__ready() */
		:: else -> inflight = 0		/* the caller runs on */
		fi
	:: mailbox == 0 ->
		/* tcall_idle(): the mark (seq_cst), then the mailbox */
		sleeping = WAITING;
		if
		:: mailbox > 0 -> unmark(); goto next
		:: else -> skip
		fi;
		/* the bounded first wait: woken, or timed out */
		do
		:: sleeping != WAITING -> break
		:: true -> break
		od;
		/* the mark (CAS WAITING -> IDLE) and the count */
#ifdef OLD_ORDER
		nml++;
#endif
		atomic {
			if
			:: sleeping == WAITING -> sleeping = IDLE; ok = 1
			:: else -> ok = 0
			fi
		};
#ifdef OLD_ORDER
		if
		:: !ok -> nml--
		:: else -> skip
		fi;
#else
		if
		:: ok -> nml++
		:: else -> skip
		fi;
#endif
		if
		:: ok ->
			lock_take(); checkdead(); lock = 0;
			/* asleep until a caller takes the mark; after the
			 * one call, for good (a valid end state) */
end_idle:		(sleeping != IDLE)
		:: else -> skip
		fi;
		unmark();
next:		skip
	od
}

proctype caller()
{
	byte s;
	short r;
	bool parked;

	/* tcall_post(): enqueue, then take the mark */
	atomic { mailbox++; inflight = 1 };
	unmark();
	/* tcall_commit(): PENDING -> PARKED, unless the answer came first */
	atomic {
		if
		:: req == PENDING -> req = PARKED; parked = 1
		:: else -> parked = 0
		fi
	};
	if
	:: parked ->
		/* its M finds nothing else to run: stopm() */
		lock_take(); nmidle++; checkdead(); lock = 0
	:: else -> skip
	fi
}

init {
	atomic { run server(); run caller() }
}
