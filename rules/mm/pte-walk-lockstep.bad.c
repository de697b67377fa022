// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pte-walk-lockstep: the pte pointer moves only on some iterations. */
#include <linux/mm.h>

static int demo_apply_pte_range(pte_t *pte, unsigned long addr, unsigned long end,
				demo_fn_t fn, void *data, bool create)
{
	int err = 0;

	do {
		if (create || !pte_none(ptep_get(pte))) {
			err = fn(pte++, addr, data); /* ruleid: mm/pte-walk-lockstep */
			if (err)
				break;
		}
	} while (addr += PAGE_SIZE, addr != end);
	return err;
}

static int demo_count_dirty(pmd_t *pmd, unsigned long addr, unsigned long end)
{
	pte_t *ptep = pte_offset_map(pmd, addr);
	int dirty = 0;

	if (!ptep)
		return 0;
	for (; addr < end; addr += PAGE_SIZE) {
		pte_t pte = ptep_get(ptep);

		if (pte_present(pte)) {
			dirty += pte_dirty(pte);
			ptep++; /* ruleid: mm/pte-walk-lockstep */
		}
	}
	pte_unmap(ptep);
	return dirty;
}
