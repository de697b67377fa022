/* SPDX-License-Identifier: GPL-2.0 */
/* Fixture tree for mm/pte-offset-map-may-fail: the 6.5+ shape of the pte mapping API, written for reviewkit. */
#ifndef _LINUX_MM_H
#define _LINUX_MM_H

pte_t *__pte_offset_map(pmd_t *pmd, unsigned long addr, pmd_t *pmdvalp);
pte_t *__pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, spinlock_t **ptlp);

static inline pte_t *pte_offset_map(pmd_t *pmd, unsigned long addr)
{
	return __pte_offset_map(pmd, addr, NULL);
}

static inline pte_t *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, spinlock_t **ptlp)
{
	return __pte_offset_map_lock(mm, pmd, addr, ptlp);
}

#endif
