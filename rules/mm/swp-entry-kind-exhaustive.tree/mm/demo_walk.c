// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/swp-entry-kind-exhaustive: a dispatch in a loop (written for reviewkit). */
#include <linux/swapops.h>

/* the chain only picks kinds out of a loop: what it does not name goes on with the next pte */
static int demo_count_entries(pte_t *pte, int nr, int *counts)
{
	int i;

	for (i = 0; i < nr; i++, pte++) {
		swp_entry_t entry = pte_to_swp_entry(*pte);

		if (pte_none(*pte))
			continue;
		/* ruleid: mm/swp-entry-kind-exhaustive */
		if (is_migration_entry(entry)) {
			counts[0]++;
		} else if (is_hwpoison_entry(entry)) {
			counts[1]++;
		}
	}
	return 0;
}
