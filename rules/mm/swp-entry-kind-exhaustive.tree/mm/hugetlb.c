// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/swp-entry-kind-exhaustive: a hugetlb dispatch site (written for reviewkit). */
#include <linux/swapops.h>

/* hugetlb folios are never device memory: a device kind cannot reach this chain */
static long demo_hugetlb_change_protection(pte_t *ptep, long pages)
{
	pte_t pte = huge_ptep_get(ptep);
	swp_entry_t entry = pte_to_swp_entry(pte);

	/* ok: mm/swp-entry-kind-exhaustive */
	if (unlikely(is_hwpoison_entry(entry))) {
		/* nothing to do */
	} else if (unlikely(is_migration_entry(entry))) {
		pages++;
	}
	return pages;
}
