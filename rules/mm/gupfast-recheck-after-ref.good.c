// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/gupfast-recheck-after-ref: walkers that do every step, and near misses. */
#include <linux/mm.h>

static int demo_walk(pmd_t pmd, pmd_t *pmdp, unsigned long addr, unsigned long end,
		     unsigned int flags, struct page **pages, int *nr)
{
	struct dev_pagemap *pgmap = NULL;
	pte_t *ptep = pte_offset_map(&pmd, addr);
	int ret = 0;

	if (!ptep)
		return 0;
	do {
		pte_t entry = ptep_get_lockless(ptep);
		struct page *page;
		struct folio *folio;

		if (!pte_access_permitted(entry, flags & FOLL_WRITE))
			break;
		if (pte_devmap(entry)) {
			pgmap = get_dev_pagemap(pte_pfn(entry), pgmap);
			if (!pgmap)
				break;
		} else if (pte_special(entry)) {
			break;
		}
		page = pte_page(entry);
		folio = try_grab_folio_fast(page, 1, flags);
		if (!folio)
			break;
		if (unlikely(pmd_val(pmd) != pmd_val(*pmdp)) ||
		    unlikely(!pte_same(entry, ptep_get(ptep)))) {
			gup_put_folio(folio, 1, flags);
			break;
		}
		pages[*nr] = page;
		(*nr)++;
	} while (ptep++, addr += PAGE_SIZE, addr != end);
	if (addr == end)
		ret = 1;
	if (pgmap)
		put_dev_pagemap(pgmap);
	pte_unmap(ptep);
	return ret;
}

/* The re-check jumps to a label that drops the reference. */
static int demo_pud_leaf(pud_t orig, pud_t *pudp, unsigned long addr, unsigned int flags,
			 struct page **pages, int *nr)
{
	struct folio *folio;
	int refs = demo_record_subpages(pud_page(orig), addr, pages + *nr);

	folio = try_grab_folio_fast(pud_page(orig), refs, flags);
	if (!folio)
		return 0;
	if (unlikely(pud_val(orig) != pud_val(*pudp)))
		goto put;
	*nr += refs;
	return 1;
put:
	gup_put_folio(folio, refs, flags);
	return 0;
}

/* hugetlb entries are never special: no pte_special() test needed. */
static int demo_hugepte(pte_t *ptep, unsigned long addr, unsigned int flags, struct page **pages, int *nr)
{
	pte_t entry = huge_ptep_get(ptep);
	struct folio *folio;

	/* ok: mm/gupfast-recheck-after-ref */
	folio = try_grab_folio_fast(pte_page(entry), 1, flags);
	if (!folio)
		return 0;
	if (unlikely(pte_val(entry) != pte_val(ptep_get(ptep)))) {
		gup_put_folio(folio, 1, flags);
		return 0;
	}
	pages[(*nr)++] = pte_page(entry);
	return 1;
}

/* Under the page-table lock the entry cannot change: not a lockless walker. */
static struct folio *demo_locked_lookup(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr)
{
	spinlock_t *ptl;
	pte_t *ptep = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	pte_t entry = ptep_get_lockless(ptep);
	struct folio *folio = page_folio(pte_page(entry));

	if (!folio_try_get(folio)) /* ok: mm/gupfast-recheck-after-ref */
		folio = NULL;
	pte_unmap_unlock(ptep, ptl);
	return folio;
}

/* A speculative reference on a page-cache folio: no page table involved. */
static struct folio *demo_cache_lookup(struct address_space *mapping, pgoff_t index)
{
	struct folio *folio = xa_load(&mapping->i_pages, index);

	if (folio && !folio_try_get(folio)) /* ok: mm/gupfast-recheck-after-ref */
		return NULL;
	return folio;
}
