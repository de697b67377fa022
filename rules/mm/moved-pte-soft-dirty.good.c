// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/moved-pte-soft-dirty: moved entries carry the soft-dirty mark. */
#include <linux/mm.h>

static void demo_move_swap_entry(struct mm_struct *mm, unsigned long dst_addr, unsigned long src_addr,
				 pte_t *dst_pte, pte_t *src_pte)
{
	pte_t entry = ptep_get_and_clear(mm, src_addr, src_pte);

#ifdef CONFIG_MEM_SOFT_DIRTY
	entry = pte_swp_mksoft_dirty(entry);
#endif
	set_pte_at(mm, dst_addr, dst_pte, entry); /* ok: mm/moved-pte-soft-dirty */
}

static void demo_move_range(struct mm_struct *mm, pte_t *old_pte, pte_t *new_pte,
			    unsigned long old_addr, unsigned long new_addr, unsigned long end)
{
	for (; old_addr < end; old_pte++, new_pte++, old_addr += PAGE_SIZE, new_addr += PAGE_SIZE) {
		pte_t pte = ptep_get_and_clear(mm, old_addr, old_pte);

		pte = move_soft_dirty_pte(pte);
		set_pte_at(mm, new_addr, new_pte, pte); /* ok: mm/moved-pte-soft-dirty */
	}
}

static void demo_restore(struct vm_area_struct *vma, unsigned long addr, pte_t *ptep, pte_t newpte)
{
	ptep_clear_flush(vma, addr, ptep);
	set_pte_at(vma->vm_mm, addr, ptep, newpte); /* ok: mm/moved-pte-soft-dirty */
}
