// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/tlb-flush-after-pte-clear: clears that are flushed in time, or need no flush. */
#include <linux/mm.h>
#include <linux/swapops.h>
#include <asm/tlb.h>

static void demo_move_ptes(struct vm_area_struct *vma, pte_t *old_pte, pte_t *new_pte, unsigned long old_addr,
			   unsigned long old_end, unsigned long new_addr, spinlock_t *old_ptl)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long len = old_end - old_addr;
	bool force_flush = false;
	pte_t pte;

	for (; old_addr < old_end; old_pte++, old_addr += PAGE_SIZE, new_pte++, new_addr += PAGE_SIZE) {
		pte = ptep_get_and_clear(mm, old_addr, old_pte); /* ok: mm/tlb-flush-after-pte-clear */
		if (pte_present(pte))
			force_flush = true;
		set_pte_at(mm, new_addr, new_pte, pte);
	}
	if (force_flush)
		flush_tlb_range(vma, old_end - len, old_end);
	pte_unmap_unlock(old_pte - 1, old_ptl);
}

/* the mmu_gather records the entry and frees the page after the flush */
static void demo_zap_one(struct mmu_gather *tlb, struct vm_area_struct *vma, pte_t *pte, unsigned long addr,
			 struct page *page, spinlock_t *ptl)
{
	ptep_get_and_clear_full(tlb->mm, addr, pte, tlb->fullmm); /* ok: mm/tlb-flush-after-pte-clear */
	tlb_remove_tlb_entry(tlb, pte, addr);
	__tlb_remove_folio_pages(tlb, page, 1, false);
	pte_unmap_unlock(pte, ptl);
}

/* only swap ptes are cleared here: nothing of them is in a TLB */
static void demo_drop_swap_pte(struct mm_struct *mm, pte_t *pte, unsigned long addr, spinlock_t *ptl)
{
	pte_t ptent = ptep_get(pte);

	if (is_swap_pte(ptent))
		pte_clear(mm, addr, pte); /* ok: mm/tlb-flush-after-pte-clear */
	pte_unmap_unlock(pte, ptl);
}

/* UFFDIO_MOVE of a swap pte: the value is a swap pte throughout */
static int demo_move_swap_pte(struct mm_struct *mm, pte_t *dst_pte, pte_t *src_pte, unsigned long dst_addr,
			      unsigned long src_addr, spinlock_t *dst_ptl, spinlock_t *src_ptl)
{
	pte_t orig_src_pte;

	orig_src_pte = ptep_get_and_clear(mm, src_addr, src_pte); /* ok: mm/tlb-flush-after-pte-clear */
	orig_src_pte = pte_swp_mksoft_dirty(orig_src_pte);
	set_pte_at(mm, dst_addr, dst_pte, orig_src_pte);
	double_pt_unlock(dst_ptl, src_ptl);
	return 0;
}

/* fork: the parent's write-protect is flushed once for the whole mm by dup_mmap() */
static void copy_demo_present_pte(struct mm_struct *src_mm, pte_t *src_pte, unsigned long addr, spinlock_t *ptl)
{
	ptep_set_wrprotect(src_mm, addr, src_pte); /* ok: mm/tlb-flush-after-pte-clear */
	spin_unlock(ptl);
}

/* kernel mappings have their own flush */
static void demo_kunmap(unsigned long vaddr, pte_t *kpte, spinlock_t *ptl)
{
	pte_clear(&init_mm, vaddr, kpte); /* ok: mm/tlb-flush-after-pte-clear */
	spin_unlock(ptl);
	flush_tlb_kernel_range(vaddr, vaddr + PAGE_SIZE);
}

/* the clear is the caller's to flush: this helper only hands the old value back */
static pte_t demo_take_pte(struct mm_struct *mm, pte_t *ptep, unsigned long addr)
{
	return ptep_get_and_clear(mm, addr, ptep); /* ok: mm/tlb-flush-after-pte-clear */
}

/* aging: the same pte goes back, only older; no translation was removed */
static void demo_mkold(struct mm_struct *mm, pte_t *pte, unsigned long addr, unsigned long sz,
		       struct folio *folio, spinlock_t *ptl)
{
	pte_t entry = huge_ptep_get_and_clear(mm, addr, pte, sz); /* ok: mm/tlb-flush-after-pte-clear */

	entry = pte_mkold(entry);
	set_huge_pte_at(mm, addr, pte, entry, sz);
	spin_unlock(ptl);
	folio_put(folio);
}

/* the function's own reference keeps the folio alive until the flush after the walk */
static void demo_collect(struct vm_area_struct *vma, pte_t *ptep, unsigned long start, unsigned long end,
			 struct folio *folio, spinlock_t *ptl)
{
	unsigned long addr = start;
	pte_t pte;

	folio_get(folio);
	pte = ptep_get_and_clear(vma->vm_mm, addr, ptep); /* ok: mm/tlb-flush-after-pte-clear */
	set_pte_at(vma->vm_mm, addr, ptep, swp_entry_to_pte(make_readable_migration_entry(folio_pfn(folio))));
	folio_put(folio);
	pte_unmap_unlock(ptep, ptl);
	if (pte_present(pte))
		flush_tlb_range(vma, start, end);
}

/* a pte_clear() in the else of the pte_present() test: the pte it clears is a swap or marker pte */
static void demo_clear_nonpresent_else(struct mm_struct *mm, pte_t *pte, unsigned long addr, spinlock_t *ptl)
{
	pte_t ptent = ptep_get(pte);

	if (likely(pte_present(ptent) && !pte_special(ptent))) {
		mark_seen(ptent);
	} else if (!pte_present(ptent)) {
		if (pte_marker_entry_uffd_wp(pte_to_swp_entry(ptent)))
			pte_clear(mm, addr, pte); /* ok: mm/tlb-flush-after-pte-clear */
	}
	pte_unmap_unlock(pte, ptl);
}

/* the present arm leaves on every path (an if whose arms both jump), so what follows sees only swap ptes */
static int demo_clear_after_present_arm_leaves(struct mm_struct *mm, pte_t *pte, unsigned long addr,
					       unsigned long end, spinlock_t *ptl)
{
	for (; addr != end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);

		if (pte_present(ptent)) {
			if (pte_young(ptent))
				continue;
			else
				goto out;
		}
		pte_clear(mm, addr, pte); /* ok: mm/tlb-flush-after-pte-clear */
	}
out:
	pte_unmap_unlock(pte - 1, ptl);
	return 0;
}
