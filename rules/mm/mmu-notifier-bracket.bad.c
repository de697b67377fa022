// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/mmu-notifier-bracket: written for reviewkit, modelled on THP split and page-walk code. */
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagewalk.h>

/* the range is started with the pmd lock held: _start() may sleep */
static void demo_split_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long haddr)
{
	struct mmu_notifier_range range;
	spinlock_t *ptl;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, haddr, haddr + HPAGE_PMD_SIZE);
	ptl = pmd_lock(vma->vm_mm, pmd);
	mmu_notifier_invalidate_range_start(&range); /* ruleid: mm/mmu-notifier-bracket */
	pmdp_huge_clear_flush(vma, haddr, pmd);
	spin_unlock(ptl);
	mmu_notifier_invalidate_range_end(&range);
}

/* an early return leaves the range open */
static int demo_replace_pte(struct vm_area_struct *vma, pte_t *ptep, unsigned long addr, struct page *new)
{
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pte_t *pte;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, addr, addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(vma->vm_mm, (pmd_t *)ptep, addr, &ptl);
	if (!pte)
		return -EAGAIN; /* ruleid: mm/mmu-notifier-bracket */
	ptep_clear_flush(vma, addr, pte);
	set_pte_at(vma->vm_mm, addr, pte, mk_pte(new, vma->vm_page_prot));
	pte_unmap_unlock(pte, ptl);
	mmu_notifier_invalidate_range_end(&range);
	return 0;
}

/* the pte is cleared before the range starts */
static void demo_unmap_one(struct vm_area_struct *vma, pte_t *pte, unsigned long addr)
{
	struct mmu_notifier_range range;

	ptep_clear_flush(vma, addr, pte); /* ruleid: mm/mmu-notifier-bracket */
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, addr, addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
}

/* a write-protect walk with no notifier at all */
static int demo_wp_pte(pte_t *pte, unsigned long addr, unsigned long end, struct mm_walk *walk)
{
	if (pte_present(ptep_get(pte)))
		ptep_set_wrprotect(walk->mm, addr, pte);
	return 0;
}

static const struct mm_walk_ops demo_wp_walk_ops = {
	.pte_entry = demo_wp_pte,
	.walk_lock = PGWALK_WRLOCK,
};

int demo_wp_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	/* ruleid: mm/mmu-notifier-bracket */
	return walk_page_range(vma->vm_mm, start, end, &demo_wp_walk_ops, NULL);
}
