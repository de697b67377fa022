// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/entry-recheck-after-lock: the locked re-test looks at the lockless copy. */
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
		if (unlikely(!pmd_leaf(pmd))) { /* ruleid: mm/entry-recheck-after-lock */
			spin_unlock(lock);
			goto retry;
		}
		*pfn = pmd_pfn(pmd);
		spin_unlock(lock);
		return 0;
	}
	return -EAGAIN;
}
