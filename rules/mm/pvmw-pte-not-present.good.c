// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pvmw-pte-not-present: walk results tested for presence first. */
#include <linux/mm.h>
#include <linux/rmap.h>

static bool demo_clear_refs_one(struct folio *folio, struct vm_area_struct *vma, unsigned long addr, void *arg)
{
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr, 0);
	bool referenced = false;

	while (page_vma_mapped_walk(&pvmw)) {
		addr = pvmw.address;
		if (pvmw.pte) {
			pte_t pteval = ptep_get(pvmw.pte);

			if (likely(pte_present(pteval)) &&
			    ptep_clear_young_notify(vma, addr, pvmw.pte)) /* ok: mm/pvmw-pte-not-present */
				referenced = true;
		}
	}
	return referenced;
}

static int demo_write_protect(struct folio *folio, struct vm_area_struct *vma)
{
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, 0, 0);
	pte_t entry;

	if (!page_vma_mapped_walk(&pvmw))
		return -EFAULT;
	entry = ptep_get(pvmw.pte);
	if (!pte_present(entry))
		goto out_unlock;
	if (pte_write(entry) || pte_dirty(entry)) /* ok: mm/pvmw-pte-not-present */
		entry = ptep_clear_flush(vma, pvmw.address, pvmw.pte);
out_unlock:
	page_vma_mapped_walk_done(&pvmw);
	return 0;
}

/* hugetlb folios are never device memory, and the present arm is tested */
static unsigned long demo_pfn(struct folio *folio, struct vm_area_struct *vma, struct mm_struct *mm)
{
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, 0, 0);
	unsigned long pfn = 0;
	pte_t pteval;

	while (page_vma_mapped_walk(&pvmw)) {
		if (folio_test_hugetlb(folio)) {
			pfn = pte_pfn(huge_ptep_get(mm, pvmw.address, pvmw.pte)); /* ok: mm/pvmw-pte-not-present */
			continue;
		}
		pteval = ptep_get(pvmw.pte);
		if (likely(pte_present(pteval)))
			pfn = pte_pfn(pteval); /* ok: mm/pvmw-pte-not-present */
		else
			pfn = swp_offset_pfn(pte_to_swp_entry(pteval));
	}
	return pfn;
}
