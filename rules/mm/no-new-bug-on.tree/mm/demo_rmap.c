// SPDX-License-Identifier: GPL-2.0
#include <linux/mm.h>

static void demo_dup_rmap(struct page *page, struct vm_area_struct *vma)
{
	BUG_ON(!PageAnon(page)); /* resolved: mm/no-new-bug-on */
	atomic_inc(&page->_mapcount);
}

static void demo_put_rmap(struct page *page)
{
	atomic_dec(&page->_mapcount);
}
