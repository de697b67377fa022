// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/no-new-bug-on: the same checks, written the way mm reviewers ask. */
#include <linux/mm.h>

static int demo_unmap_folio(struct folio *folio, struct vm_area_struct *vma)
{
	if (WARN_ON_ONCE(!folio_test_anon(folio)))
		return -EINVAL;
	if (!folio_trylock(folio))
		return -EAGAIN;
	VM_WARN_ON_ONCE_FOLIO(!folio_test_locked(folio), folio);
	VM_WARN_ON_ONCE(folio_mapped(folio));
	/* ok: mm/no-new-bug-on */
	BUILD_BUG_ON(sizeof(struct folio) < sizeof(struct page));
	folio_unlock(folio);
	return 0;
}
