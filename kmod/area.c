// SPDX-License-Identifier: GPL-2.0
/*
 * gwake shared areas: per process (per mm), the wake words and scheduling
 * state of its registered threads, in pages the module allocates and maps
 * into that process on request (the ABI is "The shared area" in the uapi
 * header; the rules are at the top of gwake.h).
 *
 * Lifetime: an area is found by its mm in a small global hash table and
 * holds a grab on that mm (mmgrab()), so the key cannot be recycled while
 * the area exists. It is referenced by each registration of the process
 * and by each VMA that maps it; the last put removes it from the table and
 * frees it after an RCU grace period, in process context (wakers look
 * areas and slots up under RCU). Pages mapped into a process hold their
 * own reference, so a page can never be freed while a mapping shows it,
 * and a VMA holds its file, so the module cannot go either.
 *
 * Locks taken here: gwake_areas_lock (a spinlock_t, process context only:
 * lookup-or-create and the final put) and gwake_area.lock (the slot bitmap
 * and the installation of slot chunks, process context only). Neither is
 * taken with the other held, nor with any other gwake lock. Pages are
 * installed with cmpxchg(), no lock. The fault handler and the tracepoint
 * probes take none of these.
 */
#include <linux/bitmap.h>
#include <linux/gwake.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "gwake.h"

static DEFINE_HASHTABLE(gwake_areas, 8);
static DEFINE_SPINLOCK(gwake_areas_lock);

static void gwake_area_free(struct work_struct *work)
{
	struct gwake_area *area = container_of(to_rcu_work(work),
					       struct gwake_area, free_work);
	unsigned int i, r;

	for (r = 0; r < GWAKE_AREA_REGIONS; r++)
		for (i = 0; i < GWAKE_AREA_PAGES; i++)
			if (area->pages[r][i])
				put_page(area->pages[r][i]);
	for (i = 0; i < ARRAY_SIZE(area->chunks); i++)
		kfree(area->chunks[i]);
	mmdrop(area->mm);
	kvfree(area);
}

/**
 * gwake_area_put() - drop a reference to an area
 * @area:	the area.
 *
 * Context: process context; may take gwake_areas_lock.
 */
void gwake_area_put(struct gwake_area *area)
{
	if (!refcount_dec_and_lock(&area->ref, &gwake_areas_lock))
		return;
	hash_del_rcu(&area->node);
	spin_unlock(&gwake_areas_lock);
	queue_rcu_work(gwake_free_wq, &area->free_work);
}

static struct gwake_area *gwake_area_find(struct mm_struct *mm)
{
	struct gwake_area *area;

	hash_for_each_possible_rcu(gwake_areas, area, node, (unsigned long)mm)
		if (area->mm == mm)
			return area;
	return NULL;
}

/**
 * gwake_area_lookup() - the area of the caller's process, for a waker
 *
 * Context: rcu_read_lock() held; the area stays valid until it is dropped.
 * Return: the area, or NULL if the caller's process has none.
 */
struct gwake_area *gwake_area_lookup(void)
{
	return gwake_area_find(current->mm);
}

/**
 * gwake_area_get() - the area of the caller's process, created if needed
 *
 * Context: process context, may sleep.
 * Return: the area with a reference for the caller, or NULL (no memory).
 */
struct gwake_area *gwake_area_get(void)
{
	struct mm_struct *mm = current->mm;
	struct gwake_area *area, *new;

	rcu_read_lock();
	area = gwake_area_find(mm);
	if (area && !refcount_inc_not_zero(&area->ref))
		area = NULL;
	rcu_read_unlock();
	if (area)
		return area;

	new = kvzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	refcount_set(&new->ref, 1);
	spin_lock_init(&new->lock);
	mmgrab(mm);
	new->mm = mm;
	INIT_RCU_WORK(&new->free_work, gwake_area_free);

	spin_lock(&gwake_areas_lock);
	area = gwake_area_find(mm);
	/* One that is going away (its last put waits for this lock) is not one. */
	if (area && refcount_inc_not_zero(&area->ref)) {
		spin_unlock(&gwake_areas_lock);
		mmdrop(mm);
		kvfree(new);
		return area;
	}
	hash_add_rcu(gwake_areas, &new->node, (unsigned long)mm);
	spin_unlock(&gwake_areas_lock);
	return new;
}

/*
 * The page of region @r that holds byte @off, allocated if it does not
 * exist yet. Returns NULL without memory. Pages are zeroed: a slot never
 * issued reads as FREE words and GWAKE_SCHED_NONE states.
 */
static struct page *gwake_area_page(struct gwake_area *area, unsigned int r,
				    unsigned long off)
{
	struct page **pp = &area->pages[r][off >> PAGE_SHIFT];
	struct page *page = READ_ONCE(*pp), *old;

	if (page)
		return page;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		return NULL;
	old = cmpxchg(pp, NULL, page);
	if (old) {
		__free_page(page);
		return old;
	}
	return page;
}

/* The kernel address of @slot's bytes in region @r; its page must exist. */
static void *gwake_area_slot(struct gwake_area *area, unsigned int r, u32 slot)
{
	unsigned long off = (unsigned long)slot * GWAKE_SLOT_SIZE;

	return page_address(READ_ONCE(area->pages[r][off >> PAGE_SHIFT])) +
	       offset_in_page(off);
}

/**
 * gwake_area_alloc_slot() - take a free slot of an area for a registration
 * @area:	the caller's area, referenced.
 * @slot:	out: the slot.
 *
 * Makes sure the slot's pages and its entry in the slot table exist, so
 * that publishing the registration (gwake_area_publish()) cannot fail.
 *
 * Context: process context, may sleep.
 * Return: 0, -ENOSPC if every slot is taken, -ENOMEM.
 */
int gwake_area_alloc_slot(struct gwake_area *area, u32 *slot)
{
	unsigned long off, bit;
	struct gwake_reg __rcu **chunk = NULL;
	unsigned int c;

	spin_lock(&area->lock);
	bit = find_first_zero_bit(area->slot_map, GWAKE_AREA_SLOTS);
	if (bit >= GWAKE_AREA_SLOTS) {
		spin_unlock(&area->lock);
		return -ENOSPC;
	}
	__set_bit(bit, area->slot_map);
	spin_unlock(&area->lock);

	off = bit * GWAKE_SLOT_SIZE;
	c = bit / GWAKE_CHUNK_SLOTS;
	if (!gwake_area_page(area, GWAKE_REGION_WORDS, off) ||
	    !gwake_area_page(area, GWAKE_REGION_SCHED, off))
		goto nomem;
	if (!READ_ONCE(area->chunks[c])) {
		chunk = kcalloc(GWAKE_CHUNK_SLOTS, sizeof(*chunk), GFP_KERNEL_ACCOUNT);
		if (!chunk)
			goto nomem;
		if (cmpxchg(&area->chunks[c], NULL, chunk))
			kfree(chunk);
	}
	*slot = (u32)bit;
	return 0;

nomem:
	gwake_area_free_slot(area, (u32)bit);
	return -ENOMEM;
}

/**
 * gwake_area_free_slot() - give a slot back
 * @area:	its area.
 * @slot:	the slot, no longer published (its registration is freed).
 *
 * Context: process context.
 */
void gwake_area_free_slot(struct gwake_area *area, u32 slot)
{
	spin_lock(&area->lock);
	__clear_bit(slot, area->slot_map);
	spin_unlock(&area->lock);
}

/**
 * gwake_area_word() - the kernel address of a slot's wake word
 * @area:	the area.
 * @slot:	a slot gwake_area_alloc_slot() returned.
 *
 * Return: the word, which userspace may write at any time.
 */
atomic64_t *gwake_area_word(struct gwake_area *area, u32 slot)
{
	struct gwake_word *w = gwake_area_slot(area, GWAKE_REGION_WORDS, slot);

	/* The first field of the slot: 64 bits, aligned; atomic64_t's layout. */
	BUILD_BUG_ON(offsetof(struct gwake_word, word) != 0);
	return (atomic64_t *)&w->word;
}

/**
 * gwake_area_sched() - the kernel address of a slot's scheduling state
 * @area:	the area.
 * @slot:	a slot gwake_area_alloc_slot() returned.
 */
struct gwake_sched *gwake_area_sched(struct gwake_area *area, u32 slot)
{
	return gwake_area_slot(area, GWAKE_REGION_SCHED, slot);
}

static struct gwake_reg __rcu **gwake_area_entry(struct gwake_area *area, u32 slot)
{
	struct gwake_reg __rcu **chunk = READ_ONCE(area->chunks[slot / GWAKE_CHUNK_SLOTS]);

	return chunk ? &chunk[slot % GWAKE_CHUNK_SLOTS] : NULL;
}

/**
 * gwake_area_publish() - make a registration findable by its slot
 * @area:	its area.
 * @slot:	its slot, from gwake_area_alloc_slot().
 * @reg:	the registration, fully initialised (rcu_assign_pointer() orders
 *		its initialisation first); NULL to withdraw it.
 *
 * Context: any; takes no lock (only the registration's owner of the end
 * withdraws it, and only once).
 */
void gwake_area_publish(struct gwake_area *area, u32 slot, struct gwake_reg *reg)
{
	rcu_assign_pointer(*gwake_area_entry(area, slot), reg);
}

/**
 * gwake_area_reg() - the registration published at a slot
 * @area:	the caller's area.
 * @slot:	any value from userspace.
 *
 * Context: rcu_read_lock() held.
 * Return: the registration, or NULL.
 */
struct gwake_reg *gwake_area_reg(struct gwake_area *area, u32 slot)
{
	struct gwake_reg __rcu **e;

	if (slot >= GWAKE_AREA_SLOTS)
		return NULL;
	e = gwake_area_entry(area, slot);
	return e ? rcu_dereference(*e) : NULL;
}

/* --- mmap ---------------------------------------------------------------- */

static void gwake_vm_open(struct vm_area_struct *vma)
{
	struct gwake_area *area = vma->vm_private_data;

	refcount_inc(&area->ref);
}

static void gwake_vm_close(struct vm_area_struct *vma)
{
	gwake_area_put(vma->vm_private_data);
}

/*
 * A page of the area, allocated on first touch: the mapping shows the
 * same pages the module reads and writes, and each mapped page holds a
 * reference of its own.
 */
static vm_fault_t gwake_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct gwake_area *area = vma->vm_private_data;
	unsigned long off = vmf->pgoff << PAGE_SHIFT;
	unsigned int r = off >= GWAKE_MMAP_SCHED ? GWAKE_REGION_SCHED : GWAKE_REGION_WORDS;
	struct page *page;

	/*
	 * Only in the area's own process. The mapping is not inherited
	 * (VM_DONTCOPY), but madvise(MADV_DOFORK) can clear that, and a fork
	 * child's copy of the VMA would then reach the parent's area through
	 * vm_private_data (no page table entry is copied: there are none to
	 * copy for such a mapping). Such a copy still holds a reference to
	 * the parent's area (vm_open), and through it the parent's grabbed
	 * mm, until the child unmaps it or exits: bounded, and no access.
	 */
	if (vma->vm_mm != area->mm)
		return VM_FAULT_SIGBUS;
	if (r == GWAKE_REGION_SCHED)
		off -= GWAKE_MMAP_SCHED;
	if (off >= GWAKE_AREA_SIZE)
		return VM_FAULT_SIGBUS;
	page = gwake_area_page(area, r, off);
	if (!page)
		return VM_FAULT_OOM;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct gwake_vm_ops = {
	.open	= gwake_vm_open,
	.close	= gwake_vm_close,
	.fault	= gwake_vm_fault,
};

/**
 * gwake_area_mmap() - map one region of the caller's area
 * @vma:	the new mapping, in the caller's mm.
 *
 * The offset and the length were checked by the caller (dev.c): one
 * region, shared, the sched region never writable.
 *
 * Context: process context, mmap_lock held for writing.
 * Return: 0 or -ENOMEM.
 */
int gwake_area_mmap(struct vm_area_struct *vma)
{
	struct gwake_area *area = gwake_area_get();

	if (!area)
		return -ENOMEM;
	/*
	 * Not copied into a fork child, which is another process with an
	 * area of its own; never grown by mremap(); not in core dumps.
	 */
	vma->vm_flags |= VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_private_data = area;
	vma->vm_ops = &gwake_vm_ops;
	return 0;
}

/**
 * gwake_areas_empty() - whether no area exists (module exit)
 */
bool gwake_areas_empty(void)
{
	return hash_empty(gwake_areas);
}
