/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A Promela model of the user backend's wake word (lib/user.c, lib/slots.c):
 * one slot, reused across generations, one owner thread and NW wakers.
 * `make model-check` verifies it with spin (exhaustive, safety):
 *
 *  - a wake through a stale handle never lands on the slot's next owner
 *    (the generation is inside the futex word, so the CAS names it);
 *  - a block that gives up (timeout, EINTR) never discards a wake it owes:
 *    its SLEEPING -> IDLE exchange fails and it consumes the permit instead;
 *  - spurious futex returns are absorbed;
 *  - no lost wakeup: a valid wake racing the owner's last, untimed block
 *    always ends it (otherwise spin reports an invalid end state).
 *
 * Injected bugs it catches (checked when it was written): a plain store on
 * timeout, no generation check in wake, no FUTEX_WAKE for a sleeper, a plain
 * store for IDLE -> SLEEPING, a futex wait without its value check.
 */
#define FREE     0
#define IDLE     1
#define PERMIT   2
#define SLEEPING 3
#define W(g, s)  ((g) * 4 + (s))
#define GEN(w)   ((w) / 4)
#define ST(w)    ((w) % 4)

#define OK        0
#define EAGAIN    1
#define ETIMEDOUT 2
#define EINTR     3
#define ESRCH     4
#define NW        2

byte word = W(1, IDLE);
byte owner_gen = 1;
bool owed = 0;      /* ghost: a wake of the owner's generation since its last consume */
bool queued = 0;    /* the owner sits in the futex queue of the word */
byte wakers_done = 0;
bool owner_final = 0;

inline consume() {
	atomic { assert(word == W(g, PERMIT)); word = W(g, IDLE); owed = 0 }
	ret = OK
}

/* One gwake_block(); final: no timeout, no signal, no spurious wakeup. */
inline block(final) {
	g = owner_gen;
	if
	:: word == W(g, PERMIT) -> consume()
	:: else ->
		/* spin: may or may not see the permit */
		if
		:: word == W(g, PERMIT) -> consume()
		:: true ->
			atomic {
				if
				:: word == W(g, IDLE) -> word = W(g, SLEEPING); ok = 1
				:: else -> ok = 0
				fi
			}
			if
			:: !ok -> consume()
			:: ok ->
				do
				:: true ->
					/* futex_wait(word, SLEEPING) */
					atomic {
						if
						:: word != W(g, SLEEPING) -> fret = EAGAIN
						:: else -> queued = 1; fret = OK
						fi
					}
					if
					:: fret == OK ->
						if
						:: atomic { !queued -> fret = OK }
						:: atomic { !final && queued -> queued = 0; fret = OK }   /* spurious */
						:: atomic { !final && queued -> queued = 0; fret = ETIMEDOUT }
						:: atomic { !final && queued -> queued = 0; fret = EINTR }
						fi
					:: else
					fi;
					if
					:: word == W(g, PERMIT) -> consume(); break
					:: else ->
						if
						:: fret == OK || fret == EAGAIN -> skip
						:: else ->
							atomic {
								if
								:: word == W(g, SLEEPING) -> word = W(g, IDLE); ok = 1;
									assert(!owed)
								:: else -> ok = 0
								fi
							}
							if
							:: ok -> ret = fret
							:: else -> consume()
							fi;
							break
						fi
					fi
				od
			fi
		fi
	fi
}

active proctype Owner() {
	byte g, ret, fret, rounds = 0;
	bool ok;

	do
	:: rounds < 3 -> rounds++; block(0)
	:: rounds < 3 && owner_gen < 3 -> rounds++;
		/* unregister (discards a permit) and register anew */
		atomic { word = W(owner_gen, FREE); owed = 0 };
		atomic { owner_gen++; word = W(owner_gen, IDLE) }
	:: else -> break
	od;
	owner_final = 1;        /* no more unregistering: the rescuer's handle stays valid */
	block(1);
	assert(ret == OK)
}

/* One gwake_wake(g); r = ESRCH or OK. */
inline wake(g) {
	w = word;
	do
	:: GEN(w) != g || ST(w) == FREE -> r = ESRCH; break
	:: else ->
		atomic {
			if
			:: word == w -> word = W(g, PERMIT); ok = 1;
				assert(g == owner_gen);   /* a stale handle never lands */
				owed = 1
			:: else -> w = word; ok = 0
			fi
		}
		if
		:: ok ->
			if
			:: ST(w) == SLEEPING -> atomic { queued = 0 }   /* FUTEX_WAKE */
			:: else
			fi;
			r = OK;
			break
		:: else
		fi
	od
}

active [NW] proctype Waker() {
	byte g, w, n = 0, r;
	bool ok;

	g = owner_gen;          /* the handle it was given; may go stale */
	do
	:: n < 2 -> n++; wake(g)
	:: n < 2 && g < 3 -> g = owner_gen   /* picks up a newer handle */
	:: true -> break
	od;
	wakers_done++
}

/* After the wakers, one valid wake that may race with the owner's final,
 * untimed block: if it is lost, the owner sleeps for ever (invalid end state). */
active proctype Rescuer() {
	byte w, r;
	bool ok;

	wakers_done == NW && owner_final;
	wake(owner_gen);
	assert(r == OK)
}
