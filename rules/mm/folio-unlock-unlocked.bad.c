// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/folio-unlock-unlocked: an early error path reaches the shared unlock. */
#include <linux/swap.h>

static int demo_swapin(struct inode *inode, pgoff_t index, swp_entry_t swap, struct folio **foliop)
{
	struct folio *folio;
	int error;

	folio = swap_cache_get_folio(swap, NULL, 0);
	if (!folio) {
		folio = demo_read_swap(swap);
		if (!folio) {
			error = -ENOMEM;
			goto failed;
		}
	} else if (demo_entry_is_large(inode, index)) {
		error = demo_split_entry(inode, index);
		if (error)
			goto failed;
	}
	folio_lock(folio);
	if (!folio_test_uptodate(folio)) {
		error = -EIO;
		goto failed;
	}
	*foliop = folio;
	return 0;
failed:
	if (folio) {
		folio_unlock(folio); /* ruleid: mm/folio-unlock-unlocked */
		folio_put(folio);
	}
	return error;
}
