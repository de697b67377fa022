// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/foll-force-scope: FOLL_FORCE outside debugger-style access. */
#include <linux/mm.h>

/* The old "break COW" idiom for a read-only long-term pin. */
static int demo_pin_ro(unsigned long start, int n, struct page **pages)
{
	/* ruleid: mm/foll-force-scope */
	return pin_user_pages_fast(start, n, FOLL_WRITE | FOLL_FORCE | FOLL_LONGTERM, pages);
}

/* The same, built up in a variable. */
static int demo_pin_flags(unsigned long start, int n, bool writable, struct page **pages)
{
	unsigned int gup_flags = FOLL_LONGTERM;

	if (!writable)
		gup_flags |= FOLL_FORCE; /* ruleid: mm/foll-force-scope */
	return pin_user_pages_fast(start, n, gup_flags, pages);
}

/* Not a pin, but not a debugger either: a warning outside drivers. */
static long demo_read_remote(struct mm_struct *mm, unsigned long addr, struct page **page)
{
	/* ruleid: mm/foll-force-scope */
	unsigned int flags = (addr & 1) ? 0 : FOLL_FORCE;

	return get_user_pages_remote(mm, addr, 1, flags, page, NULL);
}
