// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/no-new-bug-on: written for reviewkit, modelled on mm code. */
#include <linux/mm.h>

static int demo_unmap_folio(struct folio *folio, struct vm_area_struct *vma)
{
	/* ruleid: mm/no-new-bug-on */
	BUG_ON(!folio_test_anon(folio));
	/* ruleid: mm/no-new-bug-on */
	VM_BUG_ON(!folio_trylock(folio));
	VM_BUG_ON_FOLIO(folio_mapped(folio), folio); /* ruleid: mm/no-new-bug-on */
	/* ruleid: mm/no-new-bug-on */
	VM_WARN_ON_ONCE(!get_page_unless_zero(&folio->page));
	if (folio_test_large(folio))
		BUG(); /* ruleid: mm/no-new-bug-on */
	return 0;
}
