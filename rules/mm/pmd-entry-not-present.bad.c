// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pmd-entry-not-present: written for reviewkit, modelled on THP code. */
#include <linux/mm.h>
#include <linux/huge_mm.h>

/* pmd_trans_huge_lock() also returns the lock for a pmd migration entry */
static int demo_move_huge(struct vm_area_struct *vma, pmd_t *src_pmd)
{
	struct folio *folio;
	spinlock_t *ptl = pmd_trans_huge_lock(src_pmd, vma);

	if (!ptl)
		return -EAGAIN;
	folio = pmd_folio(*src_pmd); /* ruleid: mm/pmd-entry-not-present */
	if (!PageAnonExclusive(&folio->page)) {
		spin_unlock(ptl);
		return -EBUSY;
	}
	spin_unlock(ptl);
	return 0;
}

/* pmd_leaf() is not a presence test on every architecture */
static unsigned long demo_pfn_of(struct mm_struct *mm, pmd_t *pmdp)
{
	pmd_t pmd = pmdp_get_lockless(pmdp);
	spinlock_t *lock;
	unsigned long pfn = 0;

	if (pmd_leaf(pmd)) {
		lock = pmd_lock(mm, pmdp);
		pfn = pmd_pfn(pmd); /* ruleid: mm/pmd-entry-not-present */
		spin_unlock(lock);
	}
	return pfn;
}
