// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pte-unmap-mapped-pointer: a move between two page tables done wrong. */
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
		pte_unmap(dst_pte);
		return -EAGAIN;
	}
	orig_src_pte = ptep_get(src_pte);
	orig_dst_pte = ptep_get(dst_pte);
	if (!pte_none(orig_dst_pte)) {
		pte_unmap(&orig_src_pte); /* ruleid: mm/pte-unmap-mapped-pointer */
		pte_unmap(&orig_dst_pte); /* ruleid: mm/pte-unmap-mapped-pointer */
		return -EEXIST;
	}
	err = demo_move_pte(mm, dst_pte, src_pte, orig_src_pte);
	pte_unmap(dst_pte); /* ruleid: mm/pte-unmap-mapped-pointer */
	pte_unmap(src_pte);
	return err;
}
