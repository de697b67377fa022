// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/fork-pinned-page-copy: modelled on the device-exclusive v7 hunk reviewed in seed 000. */
#include <linux/mm.h>

static unsigned long
copy_nonpresent_pte(struct mm_struct *dst_mm, struct mm_struct *src_mm,
		    pte_t *dst_pte, pte_t *src_pte, struct vm_area_struct *vma,
		    unsigned long addr, int *rss)
{
	unsigned long vm_flags = vma->vm_flags;
	pte_t pte = *src_pte;
	struct page *page;
	swp_entry_t entry = pte_to_swp_entry(pte);

	if (likely(!non_swap_entry(entry))) {
		if (swap_duplicate(entry) < 0)
			return entry.val;
		rss[MM_SWAPENTS]++;
	} else if (is_migration_entry(entry)) {
		page = pfn_swap_entry_to_page(entry);
		rss[mm_counter(page)]++;
	} else if (is_device_private_entry(entry)) {
		page = pfn_swap_entry_to_page(entry);
		/* ok: mm/fork-pinned-page-copy */
		get_page(page);
		rss[mm_counter(page)]++;
		page_dup_rmap(page, false);
	} else if (is_device_exclusive_entry(entry)) {
		page = pfn_swap_entry_to_page(entry);

		/* ruleid: mm/fork-pinned-page-copy */
		get_page(page);
		rss[mm_counter(page)]++;

		if (is_writable_device_exclusive_entry(entry) &&
		    is_cow_mapping(vm_flags)) {
			entry = make_readable_device_exclusive_entry(swp_offset(entry));
			pte = swp_entry_to_pte(entry);
			set_pte_at(src_mm, addr, src_pte, pte);
		}
	}
	set_pte_at(dst_mm, addr, dst_pte, pte);
	return 0;
}
