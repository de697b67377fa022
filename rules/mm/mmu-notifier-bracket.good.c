// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/mmu-notifier-bracket: brackets as mm code writes them. */
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagewalk.h>

static void demo_split_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long haddr)
{
	struct mmu_notifier_range range;
	spinlock_t *ptl;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, haddr, haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range); /* ok: mm/mmu-notifier-bracket */
	ptl = pmd_lock(vma->vm_mm, pmd);
	pmdp_huge_clear_flush(vma, haddr, pmd); /* ok: mm/mmu-notifier-bracket */
	spin_unlock(ptl);
	mmu_notifier_invalidate_range_end(&range);
}

/* every exit goes through the label that ends the range */
static int demo_replace_pte(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr, struct page *new)
{
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	int ret = 0;
	pte_t *pte;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, addr, addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!pte) {
		ret = -EAGAIN;
		goto out;
	}
	ptep_clear_flush(vma, addr, pte);
	set_pte_at(vma->vm_mm, addr, pte, mk_pte(new, vma->vm_page_prot));
	pte_unmap_unlock(pte, ptl);
out:
	mmu_notifier_invalidate_range_end(&range);
	return ret; /* ok: mm/mmu-notifier-bracket */
}

/* a reaper that cannot sleep: a failed nonblock start needs no end */
static bool demo_reap(struct vm_area_struct *vma, struct mmu_gather *tlb)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, vma->vm_mm, vma->vm_start, vma->vm_end);
	if (mmu_notifier_invalidate_range_start_nonblock(&range)) {
		tlb_finish_mmu(tlb);
		return false; /* ok: mm/mmu-notifier-bracket */
	}
	demo_unmap_page_range(tlb, vma, range.start, range.end, NULL);
	mmu_notifier_invalidate_range_end(&range);
	return true;
}

/* the walk's own pre_vma/post_vma callbacks open and close the range */
static int demo_wp_pte(pte_t *pte, unsigned long addr, unsigned long end, struct mm_walk *walk)
{
	if (pte_present(ptep_get(pte)))
		ptep_set_wrprotect(walk->mm, addr, pte);
	return 0;
}

static int demo_wp_pre_vma(unsigned long start, unsigned long end, struct mm_walk *walk)
{
	struct mmu_notifier_range *range = walk->private;

	mmu_notifier_range_init(range, MMU_NOTIFY_PROTECTION_PAGE, 0, walk->mm, start, end);
	mmu_notifier_invalidate_range_start(range);
	return 0; /* ok: mm/mmu-notifier-bracket */
}

static void demo_wp_post_vma(struct mm_walk *walk)
{
	mmu_notifier_invalidate_range_end(walk->private);
}

static const struct mm_walk_ops demo_wp_walk_ops = {
	.pte_entry = demo_wp_pte,
	.pre_vma = demo_wp_pre_vma,
	.post_vma = demo_wp_post_vma,
	.walk_lock = PGWALK_WRLOCK,
};

int demo_wp_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;

	return walk_page_range(vma->vm_mm, start, end, &demo_wp_walk_ops, &range); /* ok: mm/mmu-notifier-bracket */
}

/* a walk that only reads ptes needs no notifier */
static int demo_count_pte(pte_t *pte, unsigned long addr, unsigned long end, struct mm_walk *walk)
{
	unsigned long *count = walk->private;

	if (pte_present(ptep_get(pte)))
		(*count)++;
	return 0;
}

static const struct mm_walk_ops demo_count_ops = {
	.pte_entry = demo_count_pte,
};

unsigned long demo_count_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	unsigned long count = 0;

	walk_page_range(vma->vm_mm, start, end, &demo_count_ops, &count); /* ok: mm/mmu-notifier-bracket */
	return count;
}

/* the walk's caller in this file opens the range */
static int demo_clear_pte(pte_t *pte, unsigned long addr, unsigned long end, struct mm_walk *walk)
{
	ptep_clear_flush(walk->vma, addr, pte);
	return 0;
}

static const struct mm_walk_ops demo_clear_ops = {
	.pte_entry = demo_clear_pte,
};

static int demo_clear_walk(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	return walk_page_range(vma->vm_mm, start, end, &demo_clear_ops, NULL); /* ok: mm/mmu-notifier-bracket */
}

int demo_clear_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;
	int ret;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	ret = demo_clear_walk(vma, start, end);
	mmu_notifier_invalidate_range_end(&range);
	return ret;
}
