// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/loop-rounding-compounds: the rounded value goes to its own variable. */
#include <linux/shmem_fs.h>

static struct folio *demo_alloc_large(struct inode *inode, pgoff_t *indexp, unsigned long orders, gfp_t gfp)
{
	struct folio *folio;
	unsigned long pages;
	pgoff_t aligned;
	int order = highest_order(orders);

	while (orders) {
		pages = 1UL << order;
		aligned = round_down(*indexp, pages); /* ok: mm/loop-rounding-compounds */
		folio = demo_alloc_folio(gfp, order, inode, aligned);
		if (folio) {
			*indexp = aligned;
			return folio;
		}
		order = next_order(&orders, order);
	}
	return NULL;
}

static void demo_skip_entries(pgoff_t *indices, int nr, int *orders)
{
	int i;

	for (i = 0; i < nr; i++) {
		pgoff_t base = indices[i];
		int order = orders[i];

		base = round_down(base, 1 << order); /* ok: mm/loop-rounding-compounds */
		demo_mark(base);
	}
}
