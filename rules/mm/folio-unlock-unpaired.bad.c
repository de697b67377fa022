// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/folio-unlock-unpaired: written for reviewkit, modelled on shmem swapin. */
#include <linux/mm.h>
#include <linux/swap.h>

static int demo_swapin(struct address_space *mapping, swp_entry_t swap, pgoff_t index, struct folio **foliop)
{
	struct folio *folio;
	int error;

	folio = swap_cache_get_folio(swap, NULL, 0);
	if (!folio)
		return -ENOMEM;
	error = demo_split_entry(mapping, index, swap);
	if (error < 0)
		goto failed;
	folio_lock(folio);
	if (!folio_test_uptodate(folio)) {
		error = -EIO;
		goto failed;
	}
	*foliop = folio;
	return 0;
failed:
	if (folio) {
		folio_unlock(folio); /* ruleid: mm/folio-unlock-unpaired */
		folio_put(folio);
	}
	return error;
}
