// SPDX-License-Identifier: GPL-2.0
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <asm/tlb.h>

static unsigned long demo_zap_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma, pte_t *pte,
					unsigned long addr, unsigned long end, struct zap_details *details)
{
	struct mm_struct *mm = tlb->mm;

	do {
		pte_t ptent = ptep_get(pte);

		if (pte_none(ptent))
			continue;
		if (pte_present(ptent)) {
			ptep_get_and_clear_full(mm, addr, pte, tlb->fullmm); /* resolved: mm/uffd-wp-marker-on-file-zap */
			tlb_remove_tlb_entry(tlb, pte, addr);
			continue;
		}
	} while (pte++, addr += PAGE_SIZE, addr != end);
	return addr;
}

void unmap_vmas(struct mmu_gather *tlb, struct vm_area_struct *vma, unsigned long start_addr,
		unsigned long end_addr)
{
	demo_unmap_single_vma(tlb, vma, start_addr, end_addr, NULL);
}
