// SPDX-License-Identifier: GPL-2.0
/* A capture driver mapping a user buffer, written for this fixture. */
#include <linux/mm.h>

static int demo_dma_map_user(unsigned long uaddr, int n, struct page **pages)
{
	int got;

	got = pin_user_pages_fast(uaddr, n, FOLL_LONGTERM, pages);
	if (got != n) {
		if (got > 0)
			unpin_user_pages(pages, got);
		return -EFAULT;
	}
	return 0;
}

static int demo_peek(struct mm_struct *mm, unsigned long uaddr, struct page **page)
{
	return get_user_pages_remote(mm, uaddr, 1, 0, page, NULL);
}
