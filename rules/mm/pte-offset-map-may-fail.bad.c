// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/pte-offset-map-may-fail: written for reviewkit, modelled on mm page walkers. */
#include <linux/mm.h>
#include <linux/pagewalk.h>

static int demo_count_present(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, unsigned long end)
{
	spinlock_t *ptl;
	int present = 0;
	/* ruleid: mm/pte-offset-map-may-fail */
	pte_t *pte = pte_offset_map_lock(mm, pmd, addr, &ptl);

	for (; addr != end; pte++, addr += PAGE_SIZE)
		present += pte_present(ptep_get(pte));
	pte_unmap_unlock(pte - 1, ptl);
	return present;
}

static bool demo_is_young(pmd_t *pmd, unsigned long addr)
{
	/* ruleid: mm/pte-offset-map-may-fail */
	return pte_young(ptep_get(pte_offset_map(pmd, addr)));
}

static void demo_zap_range(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, unsigned long end)
{
	pte_t *start_pte, *pte;
	spinlock_t *ptl;

	/* the copy is followed: the first use of either name comes before any test */
	start_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl); /* ruleid: mm/pte-offset-map-may-fail */
	do {
		pte_clear(mm, addr, pte);
	} while (pte++, addr += PAGE_SIZE, addr != end);
	pte_unmap_unlock(start_pte, ptl);
}

static vm_fault_t demo_fault_prepare(struct vm_fault *vmf)
{
	/* ruleid: mm/pte-offset-map-may-fail */
	vmf->pte = pte_offset_map_nolock(vmf->vma->vm_mm, vmf->pmd, vmf->address, &vmf->ptl);
	spin_lock(vmf->ptl);
	vmf->orig_pte = ptep_get(vmf->pte);
	return 0;
}

static int demo_install(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, pte_t entry)
{
	spinlock_t *ptl;
	pte_t *pte;

	/* ruleid: mm/pte-offset-map-may-fail */
	pte = pte_alloc_map_lock(mm, pmd, addr, &ptl);
	set_pte_at(mm, addr, pte, entry);
	pte_unmap_unlock(pte, ptl);
	return 0;
}
