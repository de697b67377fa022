// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pte-nolock-recheck: written for reviewkit, modelled on khugepaged. */
#include <linux/mm.h>

static int demo_clear_table(struct mm_struct *mm, pmd_t *pmd, unsigned long haddr)
{
	spinlock_t *ptl;
	pte_t *start_pte, *pte;
	unsigned long addr;
	int i;

	start_pte = pte_offset_map_nolock(mm, pmd, haddr, &ptl);
	if (!start_pte)
		return -EAGAIN;
	spin_lock(ptl);
	for (i = 0, addr = haddr, pte = start_pte; i < PTRS_PER_PTE; i++, addr += PAGE_SIZE, pte++) {
		if (pte_none(ptep_get(pte)))
			continue;
		ptep_clear(mm, addr, pte); /* ruleid: mm/pte-nolock-recheck */
	}
	pte_unmap_unlock(start_pte, ptl);
	return 0;
}
