/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgwake internals: the slot table of the user backend.
 *
 * A slot holds one wake word. Slots live in chunks that are allocated on
 * demand and NEVER freed or moved, so any pointer to a slot stays valid for
 * the life of the process: a waker may dereference the slot of a stale
 * handle at any time, and only the generation in the word tells it that
 * the handle is stale. That is what makes gwake_wake() lock-free.
 *
 * The wake word (32 bits, the futex word):
 *
 *	31                              2 1   0
 *	+--------------------------------+-----+
 *	|  generation (30 bits, never 0) |state|
 *	+--------------------------------+-----+
 *
 *	FREE      the slot has no owner (never issued, unregistered, exited,
 *	          or inherited by a fork child); wakes fail with -ESRCH.
 *	IDLE      owned, no permit, the owner is not asleep.
 *	PERMIT    owned, a wake arrived and was not consumed yet.
 *	SLEEPING  owned, the owner is (about to be) asleep in FUTEX_WAIT.
 *
 * Because the generation is inside the word, every compare-and-exchange a
 * waker makes names the generation it expects. A slot that is freed and
 * reused between a waker's lookup and its update has a different word, so
 * the exchange fails and the waker reports -ESRCH: a stale handle can never
 * wake, or leave a permit on, the thread that reused the slot. FREE is 0,
 * so a chunk fresh from calloc() is all FREE slots of generation 0.
 *
 * The handle (64 bits):
 *
 *	63 62 61           32 31      22 21            0
 *	+-----+--------------+----------+---------------+
 *	|  0  |  generation  | proc tag |  slot index   |
 *	+-----+--------------+----------+---------------+
 *
 * The generation is never 0, so no handle is 0. The process tag is
 * derived from the PID and changes in a fork child (see slots.c), so a
 * handle the parent issues after fork() is rejected by the child even
 * though both tables hand out the same (index, generation) pairs.
 *
 * Generations and wrap-around: a slot's generation is bumped each time the
 * slot is handed out. A slot whose generation reaches GWI_GEN_MAX is
 * retired when it is freed (never reused), so generations never wrap and a
 * stale handle can never become valid again. The cost is one slot
 * (64 bytes) per 2^30 - 1 registrations of the same slot.
 *
 * Locking: allocation, freeing and the fork handlers take one mutex
 * (registration is not a hot path). Lookup takes no lock. Everything in a
 * slot except the word is protected by the mutex.
 */
#ifndef GWI_SLOTS_H
#define GWI_SLOTS_H

#include <stdint.h>

#include <gwake/gwake.h>

#include "compiler.h"

GWI_HIDDEN_BEGIN

enum {
	GWI_FREE	= 0,
	GWI_IDLE	= 1,
	GWI_PERMIT	= 2,
	GWI_SLEEPING	= 3,
};

#define GWI_STATE_BITS		2
#define GWI_STATE_MASK		((1u << GWI_STATE_BITS) - 1)
#define GWI_GEN_MAX		((1u << (32 - GWI_STATE_BITS)) - 1)

#define GWI_INDEX_BITS		22
#define GWI_TAG_BITS		10
#define GWI_INDEX_MASK		((1u << GWI_INDEX_BITS) - 1)
#define GWI_TAG_MASK		((1u << GWI_TAG_BITS) - 1)

static inline uint32_t gwi_word(uint32_t gen, uint32_t state)
{
	return gen << GWI_STATE_BITS | state;
}

static inline uint32_t gwi_word_gen(uint32_t word)
{
	return word >> GWI_STATE_BITS;
}

static inline uint32_t gwi_word_state(uint32_t word)
{
	return word & GWI_STATE_MASK;
}

/*
 * A cache line each: the word of one thread is written by its wakers and
 * must not share a line with the word of another.
 */
struct gwi_slot {
	_Atomic uint32_t word;
	uint32_t next_free;	/* free list link, under the table mutex */
	/*
	 * The low 32 bits of CLOCK_MONOTONIC ns at which a waker that found
	 * the owner SLEEPING decided to wake it, stored (relaxed) before its
	 * CAS, so the owner reads it after its acquire consume: the wakeup
	 * latency sample of spin.h (a difference modulo 2^32 ns, 4.3 s, is
	 * plenty for latencies that are clamped to 100 us). A hint only: a
	 * racing waker may overwrite it.
	 */
	_Atomic uint32_t wake_ns;
	/*
	 * The CPU the owner was on when it last entered gwake_block(), plus
	 * one (0: not known). Written by the owner only (relaxed), read by
	 * threads that wait for it: a hint, as sched_getcpu() itself is.
	 */
	_Atomic uint32_t cpu;
} __attribute__((aligned(64)));

static inline gwake_t gwi_handle(uint32_t gen, uint32_t tag, uint32_t index)
{
	return (uint64_t)gen << 32 | tag << GWI_INDEX_BITS | index;
}

/* Sets up the table for this process. Called once, from the backend init. */
void gwi_slots_init(void);

/*
 * fork() support, called from the user backend's pthread_atfork handlers.
 * prepare takes the table mutex so the child inherits a consistent table;
 * parent releases it; child frees every slot (the child starts with no
 * registrations: its only thread re-registers, the others do not exist),
 * which makes every handle of the parent stale, picks a new process tag,
 * and releases the mutex.
 */
void gwi_slots_fork_prepare(void);
void gwi_slots_fork_parent(void);
void gwi_slots_fork_child(void);

/*
 * Takes a FREE slot, moves it to the next generation in state IDLE, and
 * returns it with its handle. -ENOMEM if the table cannot grow.
 */
int gwi_slot_alloc(struct gwi_slot **slot, gwake_t *handle);

/*
 * Frees the slot of a handle its caller owns (from gwi_slot_alloc()): the
 * word becomes FREE, a pending permit is dropped, and every handle of the
 * slot is stale for ever.
 */
void gwi_slot_free(gwake_t handle);

/*
 * The slot a handle names and the generation it expects, or NULL if the
 * handle is malformed, of another process, or names a slot that was never
 * allocated. Lock-free and async-signal-safe. The caller still has to
 * compare the generation with the word's, atomically with its update.
 */
struct gwi_slot *gwi_slot_lookup(gwake_t handle, uint32_t *gen);

GWI_HIDDEN_END

#endif /* GWI_SLOTS_H */
