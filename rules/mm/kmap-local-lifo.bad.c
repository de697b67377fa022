// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/kmap-local-lifo: written for reviewkit, modelled on UFFDIO_MOVE. */
#include <linux/mm.h>

static int demo_move(pmd_t *dst_pmd, pmd_t *src_pmd, unsigned long dst_addr, unsigned long src_addr)
{
	pte_t *dst_pte, *src_pte;
	int err = 0;

	dst_pte = pte_offset_map(dst_pmd, dst_addr);
	src_pte = pte_offset_map(src_pmd, src_addr);
	if (!dst_pte || !src_pte) {
		err = -EAGAIN;
		goto out;
	}
	err = demo_move_one(dst_pte, src_pte);
out:
	if (dst_pte)
		pte_unmap(dst_pte); /* ruleid: mm/kmap-local-lifo */
	if (src_pte)
		pte_unmap(src_pte);
	return err;
}
