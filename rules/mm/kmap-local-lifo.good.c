// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/kmap-local-lifo: mappings released last-in first-out. */
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
	if (demo_must_sleep(src_pte)) {
		pte_unmap(src_pte);
		pte_unmap(dst_pte); /* ok: mm/kmap-local-lifo */
		src_pte = dst_pte = NULL;
		err = -EAGAIN;
		goto out;
	}
	err = demo_move_one(dst_pte, src_pte);
out:
	if (src_pte)
		pte_unmap(src_pte);
	if (dst_pte)
		pte_unmap(dst_pte); /* ok: mm/kmap-local-lifo */
	return err;
}

static void demo_copy(struct page *s_page, struct page *d_page, size_t len)
{
	void *s_addr = kmap_local_page(s_page);
	void *d_addr = kmap_local_page(d_page);

	memcpy(d_addr, s_addr, len);
	kunmap_local(d_addr);
	kunmap_local(s_addr); /* ok: mm/kmap-local-lifo */
}
