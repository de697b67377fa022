// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pte-unmap-mapped-pointer: mapped pointers unmapped, last mapped first. */
#include <linux/mm.h>

static int demo_move_one(struct mm_struct *mm, pmd_t *dst_pmd, pmd_t *src_pmd,
			 unsigned long dst_addr, unsigned long src_addr)
{
	pte_t *dst_pte, *src_pte;
	pte_t orig_src_pte, orig_dst_pte;
	int err = 0;

	dst_pte = pte_offset_map(dst_pmd, dst_addr);
	if (!dst_pte)
		return -EAGAIN;
	src_pte = pte_offset_map(src_pmd, src_addr);
	if (!src_pte) {
		pte_unmap(dst_pte); /* ok: mm/pte-unmap-mapped-pointer */
		return -EAGAIN;
	}
	orig_src_pte = ptep_get(src_pte);
	orig_dst_pte = ptep_get(dst_pte);
	if (!pte_none(orig_dst_pte)) {
		pte_unmap(src_pte); /* ok: mm/pte-unmap-mapped-pointer */
		pte_unmap(dst_pte); /* ok: mm/pte-unmap-mapped-pointer */
		return -EEXIST;
	}
	err = demo_move_pte(mm, dst_pte, src_pte, orig_src_pte);
	if (src_pte)
		pte_unmap(src_pte); /* ok: mm/pte-unmap-mapped-pointer */
	if (dst_pte)
		pte_unmap(dst_pte); /* ok: mm/pte-unmap-mapped-pointer */
	return err;
}

static void demo_move_ptes(pmd_t *old_pmd, pmd_t *new_pmd, unsigned long old_addr,
			   unsigned long new_addr, unsigned long end)
{
	pte_t *old_pte, *new_pte;
	spinlock_t *old_ptl;

	old_pte = pte_offset_map_lock(NULL, old_pmd, old_addr, &old_ptl);
	if (!old_pte)
		return;
	new_pte = pte_offset_map(new_pmd, new_addr);
	if (!new_pte) {
		pte_unmap_unlock(old_pte, old_ptl); /* ok: mm/pte-unmap-mapped-pointer */
		return;
	}
	for (; old_addr < end; old_pte++, new_pte++, old_addr += PAGE_SIZE)
		demo_move_pte(NULL, new_pte, old_pte, ptep_get(old_pte));
	pte_unmap(new_pte - 1); /* ok: mm/pte-unmap-mapped-pointer */
	pte_unmap_unlock(old_pte - 1, old_ptl); /* ok: mm/pte-unmap-mapped-pointer */
}
