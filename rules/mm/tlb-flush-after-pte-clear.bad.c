// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/tlb-flush-after-pte-clear: written for reviewkit, modelled on mremap/madvise code. */
#include <linux/mm.h>
#include <asm/tlbflush.h>

/* mremap-style move that drops the old PTL with a stale TLB entry still live */
static void demo_move_pte(struct vm_area_struct *vma, pte_t *old_pte, pte_t *new_pte,
			  unsigned long old_addr, unsigned long new_addr, spinlock_t *old_ptl)
{
	struct mm_struct *mm = vma->vm_mm;
	pte_t pte;

	pte = ptep_get_and_clear(mm, old_addr, old_pte); /* ruleid: mm/tlb-flush-after-pte-clear */
	set_pte_at(mm, new_addr, new_pte, pte);
	pte_unmap_unlock(old_pte, old_ptl);
}

/* the page is released before the flush that should protect it */
static void demo_discard_one(struct vm_area_struct *vma, pte_t *ptep, unsigned long addr, struct folio *folio)
{
	/* ruleid: mm/tlb-flush-after-pte-clear */
	ptep_get_and_clear(vma->vm_mm, addr, ptep);
	folio_remove_rmap_pte(folio, folio_page(folio, 0), vma);
	folio_put(folio);
	flush_tlb_page(vma, addr);
}

/* write-protect for dirty tracking without a flush: writers keep their writable TLB entries */
static int demo_wrprotect_range(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, unsigned long end)
{
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(mm, pmd, addr, &ptl);

	if (!pte)
		return -EAGAIN;
	for (; addr != end; pte++, addr += PAGE_SIZE) {
		if (pte_present(ptep_get(pte)))
			ptep_set_wrprotect(mm, addr, pte); /* ruleid: mm/tlb-flush-after-pte-clear */
	}
	pte_unmap_unlock(pte - 1, ptl);
	return 0;
}
