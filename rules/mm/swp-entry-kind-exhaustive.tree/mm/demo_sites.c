// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/swp-entry-kind-exhaustive: dispatch sites in the style of mm/memory.c (not kernel code). */
#include <linux/swapops.h>

/* handled by the patch itself: not reported */
static int demo_copy_one(pte_t pte, int *rss)
{
	swp_entry_t entry = pte_to_swp_entry(pte);

	if (!non_swap_entry(entry)) {
		rss[MM_SWAPENTS]++;
	} else if (is_migration_entry(entry)) {
		rss[MM_ANONPAGES]++;
	} else if (is_device_private_entry(entry)) {
		get_page(pfn_swap_entry_to_page(entry));
	}
	return 0;
}

/* falls through to pte_clear(): the new kind is zapped as if it were nothing */
static void demo_zap_one(struct mm_struct *mm, pte_t *ptep, int *rss)
{
	swp_entry_t entry = pte_to_swp_entry(*ptep);

	/* ruleid: mm/swp-entry-kind-exhaustive */
	if (!non_swap_entry(entry)) {
		rss[MM_SWAPENTS]--;
	} else if (is_migration_entry(entry)) {
		rss[MM_ANONPAGES]--;
	} else if (is_device_private_entry(entry)) {
		put_page(pfn_swap_entry_to_page(entry));
	}
	pte_clear(mm, 0, ptep);
}

/* a safe default catches it: reported as a note to confirm */
static vm_fault_t demo_fault_one(pte_t pte)
{
	swp_entry_t entry = pte_to_swp_entry(pte);
	vm_fault_t ret = 0;

	/* ruleid: mm/swp-entry-kind-exhaustive */
	if (is_migration_entry(entry)) {
		ret = VM_FAULT_RETRY;
	} else if (is_hwpoison_entry(entry)) {
		ret = VM_FAULT_HWPOISON;
	} else {
		WARN_ON_ONCE(1);
		ret = VM_FAULT_SIGBUS;
	}
	return ret;
}

/* a category predicate the patch extends: covered, silent */
static unsigned long demo_count_pfn(pte_t pte, unsigned long *swapped)
{
	swp_entry_t entry = pte_to_swp_entry(pte);

	/* ok: mm/swp-entry-kind-exhaustive */
	if (!non_swap_entry(entry)) {
		(*swapped)++;
	} else if (is_pfn_swap_entry(entry)) {
		return swp_offset(entry);
	}
	return 0;
}
