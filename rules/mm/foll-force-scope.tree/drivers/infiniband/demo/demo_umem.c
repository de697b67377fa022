// SPDX-License-Identifier: GPL-2.0
/* A driver pinning a user buffer, written for this fixture. */
#include <linux/mm.h>

static int demo_umem_pin(unsigned long addr, int npages, bool writable, struct page **pages)
{
	unsigned int gup_flags = FOLL_LONGTERM;

	if (writable)
		gup_flags |= FOLL_WRITE;
	else
		gup_flags |= FOLL_FORCE; /* resolved: mm/foll-force-scope */
	return pin_user_pages_fast(addr, npages, gup_flags, pages);
}
