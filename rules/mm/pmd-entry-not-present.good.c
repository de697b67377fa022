// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pmd-entry-not-present: pmds known present before they are decoded. */
#include <linux/mm.h>
#include <linux/huge_mm.h>

static int demo_move_huge(struct vm_area_struct *vma, pmd_t *src_pmd)
{
	spinlock_t *ptl = pmd_trans_huge_lock(src_pmd, vma);

	if (!ptl)
		return -EAGAIN;
	/* Can be a migration entry */
	if (pmd_present(*src_pmd)) {
		struct folio *folio = pmd_folio(*src_pmd); /* ok: mm/pmd-entry-not-present */

		if (!PageAnonExclusive(&folio->page)) {
			spin_unlock(ptl);
			return -EBUSY;
		}
	}
	spin_unlock(ptl);
	return 0;
}

static unsigned long demo_pfn_of(struct mm_struct *mm, pmd_t *pmdp)
{
	pmd_t pmd = pmdp_get_lockless(pmdp);
	spinlock_t *lock;
	unsigned long pfn = 0;

	if (!pmd_present(pmd))
		return 0;
	if (pmd_leaf(pmd)) {
		lock = pmd_lock(mm, pmdp);
		pfn = pmd_pfn(pmd); /* ok: mm/pmd-entry-not-present */
		spin_unlock(lock);
	}
	return pfn;
}

/* the migration test sits in a variable, and the other arm handles the present pmd */
static void demo_split(struct vm_area_struct *vma, pmd_t *pmd, unsigned long haddr)
{
	bool pmd_migration = false;
	pmd_t old_pmd;
	struct page *page;

	pmd_migration = is_pmd_migration_entry(*pmd);
	if (unlikely(pmd_migration)) {
		old_pmd = *pmd;
		page = pfn_swap_entry_to_page(pmd_to_swp_entry(old_pmd));
	} else {
		old_pmd = pmdp_invalidate(vma, haddr, pmd);
		page = pmd_page(old_pmd); /* ok: mm/pmd-entry-not-present */
	}
	put_page(page);
}

/* either test says huge and present */
static int demo_clean(pmd_t *pmd)
{
	pmd_t pmdval = pmdp_get_lockless(pmd);

	if (pmd_trans_huge(pmdval) || pmd_devmap(pmdval))
		WARN_ON(pmd_write(pmdval) || pmd_dirty(pmdval)); /* ok: mm/pmd-entry-not-present */
	return 0;
}

/* a pmd handed over by the caller is the caller's to check */
static struct page *demo_page_of(pmd_t pmd)
{
	return pmd_page(pmd); /* ok: mm/pmd-entry-not-present */
}
