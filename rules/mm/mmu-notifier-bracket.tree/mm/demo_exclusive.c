// SPDX-License-Identifier: GPL-2.0
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagewalk.h>

static int demo_make_exclusive_one(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr, void *owner)
{
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pte_t *pte;

	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_EXCLUSIVE, 0, vma->vm_mm, addr, addr + PAGE_SIZE, owner);
	mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!pte)
		return -EAGAIN; /* resolved: mm/mmu-notifier-bracket */
	ptep_clear_flush(vma, addr, pte);
	pte_unmap_unlock(pte, ptl);
	mmu_notifier_invalidate_range_end(&range);
	return 0;
}
