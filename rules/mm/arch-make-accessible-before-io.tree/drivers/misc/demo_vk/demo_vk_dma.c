// SPDX-License-Identifier: GPL-2.0
/* A driver mapping a user buffer for its device, written for this fixture. */
#include <linux/mm.h>
#include <linux/dma-mapping.h>

static int demo_vk_map(struct device *dev, unsigned long uaddr, int n, struct page **pages,
		       dma_addr_t *addrs)
{
	int got, i;

	got = get_user_pages_fast(uaddr, n, FOLL_WRITE, pages); /* resolved: mm/arch-make-accessible-before-io */
	if (got != n)
		goto undo;
	for (i = 0; i < n; i++)
		addrs[i] = dma_map_page(dev, pages[i], 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
	return 0;
undo:
	while (got-- > 0)
		put_page(pages[got]);
	return -EFAULT;
}
