// SPDX-License-Identifier: GPL-2.0
#include <linux/mm.h>
#include <linux/pagewalk.h>

static int demo_mincore_pte_range(pmd_t *pmd, unsigned long addr, unsigned long end, struct mm_walk *walk)
{
	unsigned char *vec = walk->private;
	spinlock_t *ptl;
	pte_t *ptep = pte_offset_map_lock(walk->mm, pmd, addr, &ptl); /* resolved: mm/pte-offset-map-may-fail */

	for (; addr != end; ptep++, addr += PAGE_SIZE)
		*vec++ = pte_present(ptep_get(ptep));
	pte_unmap_unlock(ptep - 1, ptl);
	walk->private = vec;
	return 0;
}
