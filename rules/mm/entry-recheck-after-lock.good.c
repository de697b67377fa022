// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/entry-recheck-after-lock: the entry is read again under the lock. */
#include <linux/mm.h>

static int demo_follow_leaf(struct mm_struct *mm, pud_t *pudp, unsigned long address, unsigned long *pfn)
{
	spinlock_t *lock;
	pmd_t *pmdp = pmd_offset(pudp, address);
	pmd_t pmd;

retry:
	pmd = pmdp_get_lockless(pmdp);
	if (!pmd_present(pmd))
		return -ENOENT;
	if (pmd_leaf(pmd)) {
		lock = pmd_lock(mm, pmdp);
		pmd = pmdp_get(pmdp);
		if (unlikely(!pmd_present(pmd) || !pmd_leaf(pmd))) { /* ok: mm/entry-recheck-after-lock */
			spin_unlock(lock);
			goto retry;
		}
		*pfn = pmd_pfn(pmd);
		spin_unlock(lock);
		return 0;
	}
	return -EAGAIN;
}

static bool demo_still_same(struct mm_struct *mm, pmd_t *pmdp, unsigned long address)
{
	spinlock_t *ptl;
	pmd_t orig = pmdp_get_lockless(pmdp);
	bool same;

	if (!pmd_trans_huge(orig))
		return false;
	ptl = pmd_lock(mm, pmdp);
	same = pmd_same(orig, pmdp_get(pmdp));
	if (same && pmd_trans_huge(orig)) /* ok: mm/entry-recheck-after-lock */
		demo_touch(orig);
	spin_unlock(ptl);
	return same;
}

static void demo_devmap_then_table(struct mm_struct *mm, pmd_t *pmdp, unsigned long address)
{
	spinlock_t *ptl;
	pmd_t pmdval = pmdp_get_lockless(pmdp);

	if (pmd_devmap(pmdval)) {
		ptl = pmd_lock(mm, pmdp);
		demo_follow_devmap(pmdp, address);
		spin_unlock(ptl);
	}
	if (!pmd_trans_huge(pmdval)) /* ok: mm/entry-recheck-after-lock */
		demo_follow_pte(pmdp, address);
}
