// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/moved-pte-soft-dirty: entries moved without the soft-dirty mark. */
#include <linux/mm.h>

static void demo_move_swap_entry(struct mm_struct *mm, unsigned long dst_addr, unsigned long src_addr,
				 pte_t *dst_pte, pte_t *src_pte)
{
	pte_t entry = ptep_get_and_clear(mm, src_addr, src_pte);

	set_pte_at(mm, dst_addr, dst_pte, entry); /* ruleid: mm/moved-pte-soft-dirty */
}

static void demo_move_present(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
			      unsigned long dst_addr, unsigned long src_addr, pte_t *dst_pte,
			      pte_t *src_pte, struct folio *folio)
{
	pte_t entry;

	ptep_clear_flush(src_vma, src_addr, src_pte);
	entry = mk_pte(&folio->page, dst_vma->vm_page_prot);
	entry = pte_mkwrite(pte_mkdirty(entry), dst_vma);
	set_pte_at(dst_vma->vm_mm, dst_addr, dst_pte, entry); /* ruleid: mm/moved-pte-soft-dirty */
}
