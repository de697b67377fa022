// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/uffd-wp-marker-on-file-zap: written for reviewkit, modelled on zap and madvise code. */
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <asm/tlb.h>

/* drop one pte of any VMA: the uffd-wp protection of a shmem page goes with it */
static void demo_drop_pte(struct vm_area_struct *vma, pte_t *ptep, unsigned long addr)
{
	pte_t old;

	old = ptep_get_and_clear(vma->vm_mm, addr, ptep); /* ruleid: mm/uffd-wp-marker-on-file-zap */
	flush_tlb_page(vma, addr);
	if (pte_dirty(old))
		set_page_dirty(pte_page(old));
}

/* a zap loop that forgets the marker */
static void demo_zap_ptes(struct mmu_gather *tlb, struct vm_area_struct *vma, pte_t *pte,
			  unsigned long addr, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;

	do {
		pte_t ptent = ptep_get(pte);

		if (!pte_present(ptent))
			continue;
		/* ruleid: mm/uffd-wp-marker-on-file-zap */
		ptent = ptep_get_and_clear_full(mm, addr, pte, tlb->fullmm);
		tlb_remove_tlb_entry(tlb, pte, addr);
	} while (pte++, addr += PAGE_SIZE, addr != end);
}

/* after the anonymous case returns, only file-backed VMAs are left */
static void demo_zap_file_pte(struct vm_area_struct *vma, pte_t *ptep, unsigned long addr)
{
	if (vma_is_anonymous(vma))
		return;
	pte_clear(vma->vm_mm, addr, ptep); /* ruleid: mm/uffd-wp-marker-on-file-zap */
	flush_tlb_page(vma, addr);
}

/* punching a hole without the folio lock must not drop markers (seed S1, shmem_fallocate) */
static void demo_punch_hole(struct vm_area_struct *vma, unsigned long start, unsigned long size)
{
	struct zap_details details = {
		/* ruleid: mm/uffd-wp-marker-on-file-zap */
		.zap_flags = ZAP_FLAG_DROP_MARKER,
	};

	zap_page_range_single(vma, start, size, &details);
}
