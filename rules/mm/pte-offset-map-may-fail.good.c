// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pte-offset-map-may-fail: every mapped pte pointer is tested before use. */
#include <linux/mm.h>
#include <linux/pagewalk.h>

static int demo_count_present(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, unsigned long end)
{
	spinlock_t *ptl;
	int present = 0;
	pte_t *pte = pte_offset_map_lock(mm, pmd, addr, &ptl); /* ok: mm/pte-offset-map-may-fail */

	if (!pte)
		return -EAGAIN;
	for (; addr != end; pte++, addr += PAGE_SIZE)
		present += pte_present(ptep_get(pte));
	pte_unmap_unlock(pte - 1, ptl);
	return present;
}

static int demo_walk_pte_range(pmd_t *pmd, unsigned long addr, unsigned long end, struct mm_walk *walk)
{
	spinlock_t *ptl;
	pte_t *pte;

	pte = pte_offset_map_lock(walk->mm, pmd, addr, &ptl); /* ok: mm/pte-offset-map-may-fail */
	if (unlikely(pte == NULL)) {
		walk->action = ACTION_AGAIN;
		return 0;
	}
	pte_unmap_unlock(pte, ptl);
	return 0;
}

static void demo_zap_range(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, unsigned long end)
{
	pte_t *start_pte, *pte;
	spinlock_t *ptl;

	/* ok: mm/pte-offset-map-may-fail */
	start_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!start_pte)
		return;
	do {
		pte_clear(mm, addr, pte);
	} while (pte++, addr += PAGE_SIZE, addr != end);
	pte_unmap_unlock(start_pte, ptl);
}

static void demo_split_deposited(struct mm_struct *mm, pmd_t *pmd, pmd_t *deposited, unsigned long addr)
{
	/* a private, deposited table cannot go away: an assertion is enough */
	pte_t *pte = pte_offset_map(deposited, addr); /* ok: mm/pte-offset-map-may-fail */

	VM_BUG_ON(!pte);
	pte_unmap(pte);
}

static bool demo_is_young(pmd_t *pmd, unsigned long addr)
{
	pte_t *pte = pte_offset_map(pmd, addr);
	bool young = pte && pte_young(ptep_get(pte));

	if (pte)
		pte_unmap(pte);
	return young;
}

static pte_t *demo_map(pmd_t *pmd, unsigned long addr)
{
	return pte_offset_map(pmd, addr); /* ok: mm/pte-offset-map-may-fail */
}

static int demo_peek(pmd_t *pmd, unsigned long addr, pte_t *out)
{
	pte_t *pte, *orig;

	if (!(pte = pte_offset_map(pmd, addr)))
		return -EAGAIN;
	orig = pte;
	*out = ptep_get(orig);
	pte_unmap(orig);
	return 0;
}

static int demo_copy_then_test(pmd_t *pmd, unsigned long addr, pte_t *out)
{
	pte_t *pte, *mapped;

	pte = pte_offset_map(pmd, addr);
	mapped = pte;
	if (!mapped)
		return -EAGAIN;
	*out = ptep_get(mapped);
	pte_unmap(mapped);
	return 0;
}

static pte_t demo_kernel_pte(pmd_t *pmd, unsigned long addr)
{
	/* kernel page tables are never freed under us */
	return ptep_get(pte_offset_kernel(pmd, addr)); /* ok: mm/pte-offset-map-may-fail */
}
