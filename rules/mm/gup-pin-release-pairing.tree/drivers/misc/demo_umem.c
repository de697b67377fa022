// SPDX-License-Identifier: GPL-2.0
/* A driver keeping pinned pages in its object, written for this fixture. */
#include <linux/mm.h>
#include <linux/slab.h>

struct demo_umem {
	struct page **pages;
	int npages;
};

static int demo_umem_get(struct demo_umem *umem, unsigned long start, int npages)
{
	struct page **pages;
	int got;

	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	got = pin_user_pages_fast(start, npages, FOLL_WRITE | FOLL_LONGTERM, pages);
	if (got < 0) {
		kvfree(pages);
		return got;
	}
	umem->pages = pages;
	umem->npages = got;
	return 0;
}

static void demo_umem_release(struct demo_umem *umem)
{
	unpin_user_pages(umem->pages, umem->npages);
	kvfree(umem->pages);
}
