// SPDX-License-Identifier: GPL-2.0
/* A buffer backed by user memory or by pages of its own, written for this fixture. */
#include <linux/mm.h>

struct demo_buf {
	struct page **pages;
	int n;
	bool user;
};

static int demo_buf_user(struct demo_buf *b, unsigned long uaddr)
{
	int got = pin_user_pages_fast(uaddr, b->n, FOLL_LONGTERM, b->pages);

	b->user = true;
	return got == b->n ? 0 : -EFAULT;
}

static int demo_buf_kernel(struct demo_buf *b)
{
	int i;

	for (i = 0; i < b->n; i++)
		b->pages[i] = alloc_page(GFP_KERNEL);
	return 0;
}

static void demo_buf_free(struct demo_buf *b)
{
	if (b->user) {
		unpin_user_pages(b->pages, b->n);
		return;
	}
}
