// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pte-walk-lockstep: pointer and address move together. */
#include <linux/mm.h>

static int demo_apply_pte_range(pte_t *pte, unsigned long addr, unsigned long end,
				demo_fn_t fn, void *data, bool create)
{
	int err = 0;

	do {
		if (create || !pte_none(ptep_get(pte))) {
			err = fn(pte, addr, data);
			if (err)
				break;
		}
	} while (pte++, addr += PAGE_SIZE, addr != end); /* ok: mm/pte-walk-lockstep */
	return err;
}

static int demo_scan_swap(struct vm_area_struct *vma, pmd_t *pmd, unsigned long start, unsigned long end)
{
	pte_t *ptep = NULL;
	spinlock_t *ptl;
	unsigned long addr;
	int found = 0;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		if (!ptep++) { /* ok: mm/pte-walk-lockstep */
			ptep = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
			if (!ptep)
				break;
		}
		found += is_swap_pte(ptep_get(ptep));
	}
	if (ptep)
		pte_unmap_unlock(ptep - 1, ptl);
	return found;
}

static void demo_install_batch(pte_t *pte, unsigned long addr, int nr, pte_t entry)
{
	for (;;) {
		set_pte_at(&init_mm, addr, pte, entry);
		if (--nr == 0)
			break;
		pte++; /* ok: mm/pte-walk-lockstep */
		addr += PAGE_SIZE;
	}
}

static int demo_split_and_redo(struct mm_struct *mm, pmd_t *pmd, pte_t *pte, unsigned long addr,
			       unsigned long end, spinlock_t *ptl)
{
	for (; addr < end; pte++, addr += PAGE_SIZE) {
		struct folio *folio = demo_folio_of(ptep_get(pte));

		if (folio && folio_test_large(folio)) {
			pte_unmap_unlock(pte, ptl);
			if (demo_split(folio))
				return -EAGAIN;
			pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
			if (!pte)
				return -EAGAIN;
			pte--; /* ok: mm/pte-walk-lockstep */
			addr -= PAGE_SIZE;
			continue;
		}
	}
	return 0;
}
