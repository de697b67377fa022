// SPDX-License-Identifier: GPL-2.0
/* A stand-in for the GUP-fast pte walker, written for this fixture. */
#include <linux/mm.h>

static int gup_pte_range(pmd_t pmd, pmd_t *pmdp, unsigned long addr, unsigned long end,
			 unsigned int flags, struct page **pages, int *nr)
{
	pte_t *ptep = pte_offset_map(&pmd, addr);
	int ret = 0;

	do {
		pte_t pte = ptep_get_lockless(ptep);
		struct page *head, *page;

		if (pte_special(pte))
			goto out;
		page = pte_page(pte);
		head = try_grab_compound_head(page, 1, flags);
		if (!head)
			goto out;
		if (unlikely(pte_val(pte) != pte_val(*ptep))) {
			put_page(head); /* resolved: mm/gup-pin-release-pairing */
			goto out;
		}
		pages[*nr] = page;
		(*nr)++;
	} while (ptep++, addr += PAGE_SIZE, addr != end);
	ret = 1;
out:
	pte_unmap(ptep);
	return ret;
}
