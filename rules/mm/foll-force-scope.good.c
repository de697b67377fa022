// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/foll-force-scope: the flag read, cleared or only mentioned. */
#include <linux/mm.h>

static int demo_pin_ro(unsigned long start, int n, bool dev_writes, struct page **pages)
{
	unsigned int gup_flags = FOLL_LONGTERM;

	if (dev_writes)
		gup_flags |= FOLL_WRITE;
	/* no FOLL_FORCE: R/O long-term pins are reliable since 6.2 */
	return pin_user_pages_fast(start, n, gup_flags, pages);
}

static bool demo_may_write(struct vm_area_struct *vma, unsigned int gup_flags)
{
	if (vma->vm_flags & VM_WRITE)
		return true;
	/* ok: mm/foll-force-scope */
	if (!(gup_flags & FOLL_FORCE))
		return false;
	return is_cow_mapping(vma->vm_flags);
}

static unsigned int demo_sanitize(unsigned int gup_flags)
{
	gup_flags &= ~FOLL_FORCE; /* ok: mm/foll-force-scope */
	if ((gup_flags & (FOLL_FORCE | FOLL_WRITE)) == FOLL_FORCE) /* ok: mm/foll-force-scope */
		return 0;
	pr_debug("FOLL_FORCE dropped\n"); /* ok: mm/foll-force-scope */
	return gup_flags;
}
