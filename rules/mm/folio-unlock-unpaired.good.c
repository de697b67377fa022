// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/folio-unlock-unpaired: every unlock follows a lock on its paths. */
#include <linux/mm.h>
#include <linux/swap.h>

static int demo_swapin(struct address_space *mapping, swp_entry_t swap, pgoff_t index, struct folio **foliop)
{
	struct folio *folio;
	int error;

	folio = swap_cache_get_folio(swap, NULL, 0);
	if (!folio) {
		error = -ENOMEM;
		goto failed;
	}
	error = demo_split_entry(mapping, index, swap);
	if (error < 0) {
		folio_put(folio);
		folio = NULL;
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
		folio_unlock(folio); /* ok: mm/folio-unlock-unpaired */
		folio_put(folio);
	}
	return error;
}

/* filemap_add_folio() returns with the folio locked */
static struct folio *demo_add(struct address_space *mapping, pgoff_t index, gfp_t gfp)
{
	struct folio *folio = filemap_alloc_folio(gfp, 0);

	if (!folio)
		return NULL;
	if (filemap_add_folio(mapping, folio, index, gfp)) {
		folio_put(folio);
		return NULL;
	}
	folio_unlock(folio); /* ok: mm/folio-unlock-unpaired */
	return folio;
}
