// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/loop-rounding-compounds: a fallback loop that rounds its own input. */
#include <linux/shmem_fs.h>

static struct folio *demo_alloc_large(struct inode *inode, pgoff_t index, unsigned long orders, gfp_t gfp)
{
	struct folio *folio;
	unsigned long pages;
	int order = highest_order(orders);

	while (orders) {
		pages = 1UL << order;
		index = round_down(index, pages); /* ruleid: mm/loop-rounding-compounds */
		folio = demo_alloc_folio(gfp, order, inode, index);
		if (folio)
			return folio;
		order = next_order(&orders, order);
	}
	return NULL;
}
