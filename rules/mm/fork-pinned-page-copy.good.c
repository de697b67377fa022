// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/fork-pinned-page-copy: the merged shape, plus arms that need no pinned check. */
#include <linux/mm.h>

static int
copy_nonpresent_pte(struct mm_struct *dst_mm, struct mm_struct *src_mm,
		    pte_t *dst_pte, pte_t *src_pte, struct vm_area_struct *dst_vma,
		    struct vm_area_struct *src_vma, unsigned long addr, int *rss)
{
	pte_t orig_pte = ptep_get(src_pte);
	pte_t pte = orig_pte;
	struct folio *folio;
	struct page *page;
	swp_entry_t entry = pte_to_swp_entry(orig_pte);

	if (likely(!non_swap_entry(entry))) {
		if (swap_duplicate(entry) < 0)
			return -EIO;
		rss[MM_SWAPENTS]++;
	} else if (is_migration_entry(entry)) {
		folio = pfn_swap_entry_folio(entry);
		rss[mm_counter(folio)]++;
	} else if (is_device_private_entry(entry)) {
		page = pfn_swap_entry_to_page(entry);
		folio = page_folio(page);
		/* device private pages cannot be pinned: no check needed */
		folio_get(folio);
		rss[mm_counter(folio)]++;
		folio_try_dup_anon_rmap_pte(folio, page, src_vma);
	} else if (is_device_exclusive_entry(entry)) {
		/* make it present again and let copy_present_pte() run the pinned check */
		if (try_restore_exclusive_pte(src_vma, addr, src_pte, orig_pte))
			return -EBUSY;
		return -ENOENT;
	} else if (is_hwpoison_entry(entry)) {
		page = pfn_swap_entry_to_page(entry);
		/* ok: mm/fork-pinned-page-copy */
		if (folio_try_dup_anon_rmap_pte(page_folio(page), page, src_vma) == 0)
			get_page(page);
	}
	set_pte_at(dst_vma->vm_mm, addr, dst_pte, pte);
	return 0;
}

/* v8 of the series: COW mappings lose their exclusive entries before fork, so only shared ones copy here. */
static int copy_exclusive_shared(struct mm_struct *dst_mm, pte_t *dst_pte, pte_t pte,
				 unsigned long vm_flags, unsigned long addr, int *rss)
{
	swp_entry_t entry = pte_to_swp_entry(pte);
	struct page *page;

	if (is_device_exclusive_entry(entry)) {
		VM_BUG_ON(is_cow_mapping(vm_flags));
		page = pfn_swap_entry_to_page(entry);
		get_page(page); /* ok: mm/fork-pinned-page-copy */
		rss[mm_counter(page)]++;
	}
	set_pte_at(dst_mm, addr, dst_pte, pte);
	return 0;
}
