// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgwake: the slot table of the user backend (see slots.h for the word
 * and handle layouts and the generation rules).
 *
 * Chunk k holds CHUNK0 << k slots, so the table doubles as it grows, a
 * lookup maps an index to its chunk with one count-leading-zeros, and
 * NCHUNKS pointers cover every index a handle can carry. Chunks come from
 * mmap(): page aligned (so each slot is a cache line of its own), zeroed,
 * i.e. all FREE at generation 0, and touched only as slots are used. They
 * are never unmapped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>
#include <sys/mman.h>

#include "slots.h"

#define CHUNK0_SHIFT	6
#define CHUNK0		(1u << CHUNK0_SHIFT)
#define NCHUNKS		(GWI_INDEX_BITS - CHUNK0_SHIFT + 1)
#define NO_SLOT		UINT32_MAX

/*
 * chunks[k] is published with release once mapped, and read with acquire
 * by lock-free lookups; it never changes again once set.
 */
static struct gwi_slot *_Atomic chunks[NCHUNKS];

/* Protects nslots, free_head, every slot's next_free, and chunk growth. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t nslots;			/* indices [0, nslots) were handed out */
static uint32_t free_head = NO_SLOT;	/* LIFO of FREE, reusable slots */

/*
 * The process tag of handles issued here: the low bits of the PID, so two
 * processes whose PIDs differ modulo 2^GWI_TAG_BITS never accept each
 * other's handles, and a fork child always differs from its parent.
 * Written by gwi_slots_init() (before the backend is published) and by the
 * fork child handler (while the child has one thread); read-only otherwise.
 */
static uint32_t proc_tag;

static inline unsigned int chunk_of(uint32_t index, uint32_t *off)
{
	uint32_t q = (index >> CHUNK0_SHIFT) + 1;
	unsigned int k = 31 - (unsigned int)__builtin_clz(q);

	*off = index - ((CHUNK0 << k) - CHUNK0);
	return k;
}

/* The slot of an index below nslots (its chunk exists). */
static struct gwi_slot *slot_at(uint32_t index)
{
	uint32_t off;
	unsigned int k = chunk_of(index, &off);

	return atomic_load_explicit(&chunks[k], memory_order_acquire) + off;
}

void gwi_slots_init(void)
{
	proc_tag = (uint32_t)getpid() & GWI_TAG_MASK;
}

/* A never-used slot at index nslots, mapping its chunk if needed. */
static struct gwi_slot *grow(void)
{
	struct gwi_slot *chunk;
	unsigned int k;
	uint32_t off;

	if (nslots > GWI_INDEX_MASK)
		return NULL;
	k = chunk_of(nslots, &off);
	chunk = atomic_load_explicit(&chunks[k], memory_order_relaxed);
	if (!chunk) {
		void *p = mmap(NULL, ((size_t)CHUNK0 << k) * sizeof(*chunk),
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return NULL;
		chunk = p;
		atomic_store_explicit(&chunks[k], chunk, memory_order_release);
	}
	nslots++;
	return chunk + off;
}

int gwi_slot_alloc(struct gwi_slot **slotp, gwake_t *handle)
{
	struct gwi_slot *slot;
	uint32_t index, gen;

	pthread_mutex_lock(&table_lock);
	if (free_head != NO_SLOT) {
		index = free_head;
		slot = slot_at(index);
		free_head = slot->next_free;
	} else {
		index = nslots;
		slot = grow();
		if (!slot) {
			pthread_mutex_unlock(&table_lock);
			return -ENOMEM;
		}
	}
	/*
	 * FREE at generation gen - 1 (< GWI_GEN_MAX: a slot at the maximum is
	 * retired, never put back on the free list). Wakers only ever write
	 * a word whose state is not FREE, so this plain store cannot overwrite
	 * a concurrent update; and it can be relaxed because the new handle
	 * reaches other threads only through the caller's own synchronisation.
	 */
	gen = gwi_word_gen(atomic_load_explicit(&slot->word,
						memory_order_relaxed)) + 1;
	atomic_store_explicit(&slot->word, gwi_word(gen, GWI_IDLE),
			      memory_order_relaxed);
	pthread_mutex_unlock(&table_lock);

	*slotp = slot;
	*handle = gwi_handle(gen, proc_tag, index);
	return 0;
}

/* Frees one slot; the table mutex is held. */
static void free_locked(struct gwi_slot *slot, uint32_t index, uint32_t gen)
{
	/*
	 * After this store every compare-and-exchange of a waker (which
	 * expects an owned state) fails: the handle is stale. A store, not
	 * an exchange, is enough: a waker that updated the word first only
	 * left a permit, which unregistering discards.
	 */
	atomic_store_explicit(&slot->word, gwi_word(gen, GWI_FREE),
			      memory_order_relaxed);
	if (gen < GWI_GEN_MAX) {
		slot->next_free = free_head;
		free_head = index;
	}
}

void gwi_slot_free(gwake_t handle)
{
	uint32_t index = (uint32_t)handle & GWI_INDEX_MASK;

	pthread_mutex_lock(&table_lock);
	free_locked(slot_at(index), index, (uint32_t)(handle >> 32));
	pthread_mutex_unlock(&table_lock);
}

struct gwi_slot *gwi_slot_lookup(gwake_t handle, uint32_t *gen)
{
	uint32_t g = (uint32_t)(handle >> 32);
	uint32_t lo = (uint32_t)handle;
	struct gwi_slot *chunk;
	unsigned int k;
	uint32_t off;

	/* Bits 62-63 clear means g <= GWI_GEN_MAX; 0 is never issued. */
	if (handle >> 62 || !g)
		return NULL;
	if (lo >> GWI_INDEX_BITS != proc_tag)
		return NULL;
	k = chunk_of(lo & GWI_INDEX_MASK, &off);
	chunk = atomic_load_explicit(&chunks[k], memory_order_acquire);
	if (!chunk)
		return NULL;
	*gen = g;
	return chunk + off;
}

void gwi_slots_fork_prepare(void)
{
	pthread_mutex_lock(&table_lock);
}

void gwi_slots_fork_parent(void)
{
	pthread_mutex_unlock(&table_lock);
}

void gwi_slots_fork_child(void)
{
	uint32_t index, tag;

	for (index = 0; index < nslots; index++) {
		struct gwi_slot *slot = slot_at(index);
		uint32_t w = atomic_load_explicit(&slot->word,
						  memory_order_relaxed);

		if (gwi_word_state(w) != GWI_FREE)
			free_locked(slot, index, gwi_word_gen(w));
	}
	tag = (uint32_t)getpid() & GWI_TAG_MASK;
	if (tag == proc_tag)
		tag = (tag + 1) & GWI_TAG_MASK;
	proc_tag = tag;
	pthread_mutex_unlock(&table_lock);
}
