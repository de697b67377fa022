// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/gupfast-recheck-after-ref: lockless walkers that skip a step. */
#include <linux/mm.h>

/* Hands the page out without reading the pte again. */
static int demo_walk_norecheck(pte_t *ptep, unsigned long addr, unsigned long end,
			       unsigned int flags, struct page **pages, int *nr)
{
	do {
		pte_t entry = ptep_get_lockless(ptep);
		struct folio *folio;

		if (!pte_present(entry) || pte_special(entry))
			return 0;
		/* ruleid: mm/gupfast-recheck-after-ref */
		folio = try_grab_folio_fast(pte_page(entry), 1, flags);
		if (!folio)
			return 0;
		pages[(*nr)++] = pte_page(entry);
	} while (ptep++, addr += PAGE_SIZE, addr != end);
	return 1;
}

/* Never asks whether the pte is special before taking the reference. */
static int demo_walk_nospecial(pte_t *ptep, unsigned int flags, struct page **pages, int *nr)
{
	pte_t entry = ptep_get_lockless(ptep);
	struct page *page = pte_page(entry);
	struct folio *folio;

	if (!pte_access_permitted(entry, flags & FOLL_WRITE))
		return 0;
	folio = try_grab_folio_fast(page, 1, flags); /* ruleid: mm/gupfast-recheck-after-ref */
	if (!folio)
		return 0;
	if (!pte_same(entry, ptep_get(ptep))) {
		gup_put_folio(folio, 1, flags);
		return 0;
	}
	pages[(*nr)++] = page;
	return 1;
}

/* Compares with its own copy instead of reading the entry again. */
static int demo_walk_stale(pte_t *ptep, unsigned int flags, struct page **pages, int *nr)
{
	pte_t entry = ptep_get_lockless(ptep);
	pte_t seen = entry;
	struct folio *folio;

	if (pte_special(entry))
		return 0;
	/* ruleid: mm/gupfast-recheck-after-ref */
	folio = try_grab_folio_fast(pte_page(entry), 1, flags);
	if (!folio)
		return 0;
	if (pte_val(entry) != pte_val(seen)) {
		gup_put_folio(folio, 1, flags);
		return 0;
	}
	pages[(*nr)++] = pte_page(entry);
	return 1;
}

/* A pmd leaf that notices the change but keeps the reference. */
static int demo_pmd_leaf(pmd_t orig, pmd_t *pmdp, unsigned long addr, unsigned int flags,
			 struct page **pages, int *nr)
{
	struct page *head = pmd_page(orig);
	int refs = demo_record_subpages(head, addr, pages + *nr);
	struct folio *folio;

	if (pmd_special(orig))
		return 0;
	folio = try_grab_folio_fast(head, refs, flags); /* ruleid: mm/gupfast-recheck-after-ref */
	if (!folio)
		return 0;
	if (unlikely(pmd_val(orig) != pmd_val(*pmdp)))
		return 0;
	*nr += refs;
	return 1;
}

/* A pte walker handed its pmd re-checks the pte only. */
static int demo_walk_nopmd(pmd_t pmd, pmd_t *pmdp, unsigned long addr, unsigned int flags,
			   struct page **pages, int *nr)
{
	pte_t *ptep = pte_offset_map(&pmd, addr);
	pte_t entry;
	struct folio *folio;

	if (!ptep)
		return 0;
	entry = ptep_get_lockless(ptep);
	if (pte_special(entry))
		goto out;
	/* ruleid: mm/gupfast-recheck-after-ref */
	folio = try_grab_folio_fast(pte_page(entry), 1, flags);
	if (!folio)
		goto out;
	if (unlikely(pte_val(entry) != pte_val(ptep_get(ptep)))) {
		gup_put_folio(folio, 1, flags);
		goto out;
	}
	pages[(*nr)++] = pte_page(entry);
out:
	pte_unmap(ptep);
	return 1;
}
