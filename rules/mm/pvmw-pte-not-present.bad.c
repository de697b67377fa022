// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pvmw-pte-not-present: written for reviewkit, modelled on rmap walkers. */
#include <linux/mm.h>
#include <linux/rmap.h>

static bool demo_clear_refs_one(struct folio *folio, struct vm_area_struct *vma, unsigned long addr, void *arg)
{
	DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, addr, 0);
	bool referenced = false;

	while (page_vma_mapped_walk(&pvmw)) {
		addr = pvmw.address;
		if (pvmw.pte) {
			if (ptep_clear_young_notify(vma, addr, pvmw.pte)) /* ruleid: mm/pvmw-pte-not-present */
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
	if (pte_write(entry) || pte_dirty(entry)) /* ruleid: mm/pvmw-pte-not-present */
		entry = ptep_clear_flush(vma, pvmw.address, pvmw.pte);
	page_vma_mapped_walk_done(&pvmw);
	return 0;
}
