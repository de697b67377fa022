// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/arch-make-accessible-before-io: pages reaching I/O without the accessible hook. */
#include <linux/mm.h>
#include <linux/scatterlist.h>

/* A new follow path: pins when asked to, never makes the page accessible. */
static struct page *demo_follow_pte(struct vm_area_struct *vma, unsigned long addr, pte_t pte,
				    unsigned int flags)
{
	struct page *page = vm_normal_page(vma, addr, pte);
	struct folio *folio;

	if (!page)
		return NULL;
	folio = page_folio(page);
	/* ruleid: mm/arch-make-accessible-before-io */
	if (try_grab_folio(folio, 1, flags))
		return ERR_PTR(-ENOMEM);
	return page;
}

/* Sets PG_writeback by hand instead of starting writeback. */
static void demo_start_io(struct folio *folio)
{
	folio_test_set_writeback(folio); /* ruleid: mm/arch-make-accessible-before-io */
	folio_unlock(folio);
}

/* DMA into pages taken with FOLL_GET. */
static int demo_map_user(struct device *dev, unsigned long uaddr, int n, struct page **pages,
			 dma_addr_t *addrs)
{
	int got, i;

	/* ruleid: mm/arch-make-accessible-before-io */
	got = get_user_pages_fast(uaddr, n, FOLL_WRITE, pages);
	if (got != n)
		return -EFAULT;
	for (i = 0; i < n; i++)
		addrs[i] = dma_map_page(dev, pages[i], 0, PAGE_SIZE, DMA_FROM_DEVICE);
	return 0;
}

/* The hook on a folio nobody holds. */
static int demo_convert(unsigned long addr)
{
	struct folio *folio = phys_to_folio(addr);

	return arch_make_folio_accessible(folio); /* ruleid: mm/arch-make-accessible-before-io */
}
