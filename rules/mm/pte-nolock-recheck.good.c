// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pte-nolock-recheck: the pmd (or the pte) is re-checked under the lock. */
#include <linux/mm.h>

static int demo_clear_table(struct mm_struct *mm, pmd_t *pmd, unsigned long haddr)
{
	spinlock_t *ptl;
	pte_t *start_pte, *pte;
	pmd_t pmdval;
	unsigned long addr;
	int i;

	start_pte = pte_offset_map_rw_nolock(mm, pmd, haddr, &pmdval, &ptl);
	if (!start_pte)
		return -EAGAIN;
	spin_lock(ptl);
	if (unlikely(!pmd_same(pmdval, pmdp_get_lockless(pmd)))) {
		pte_unmap_unlock(start_pte, ptl);
		return -EAGAIN;
	}
	for (i = 0, addr = haddr, pte = start_pte; i < PTRS_PER_PTE; i++, addr += PAGE_SIZE, pte++) {
		if (pte_none(ptep_get(pte)))
			continue;
		ptep_clear(mm, addr, pte); /* ok: mm/pte-nolock-recheck */
	}
	pte_unmap_unlock(start_pte, ptl);
	return 0;
}

/* the fault path re-checks the entry it read before */
static int demo_fault(struct vm_fault *vmf, pte_t entry)
{
	vmf->pte = pte_offset_map_nolock(vmf->vma->vm_mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte)
		return 0;
	spin_lock(vmf->ptl);
	if (unlikely(!pte_same(ptep_get(vmf->pte), entry)))
		goto unlock;
	entry = pte_mkyoung(entry);
	set_pte_at(vmf->vma->vm_mm, vmf->address, vmf->pte, entry); /* ok: mm/pte-nolock-recheck */
unlock:
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}
