/* SPDX-License-Identifier: GPL-2.0 */
/* Fixture for mm/swp-entry-kind-exhaustive: predicates in the style of swapops.h (not kernel code). */
#ifndef FIXTURE_SWAPOPS_H
#define FIXTURE_SWAPOPS_H

#define SWP_TYPE_SHIFT	(BITS_PER_XA_VALUE - MAX_SWAPFILES_SHIFT)
#define SWP_OFFSET_MASK	((1UL << SWP_TYPE_SHIFT) - 1)

static inline swp_entry_t swp_entry(unsigned long type, pgoff_t offset)
{
	swp_entry_t e;

	e.val = (type << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK);
	return e;
}

static inline unsigned swp_type(swp_entry_t entry)
{
	return entry.val >> SWP_TYPE_SHIFT;
}

static inline pgoff_t swp_offset(swp_entry_t entry)
{
	return entry.val & SWP_OFFSET_MASK;
}

static inline swp_entry_t pte_to_swp_entry(pte_t pte)
{
	swp_entry_t arch = __pte_to_swp_entry(pte);

	return swp_entry(__swp_type(arch), __swp_offset(arch));
}

static inline int non_swap_entry(swp_entry_t entry)
{
	return swp_type(entry) >= MAX_SWAPFILES;
}

static inline bool is_device_private_entry(swp_entry_t entry)
{
	int type = swp_type(entry);

	return type == SWP_DEVICE_READ || type == SWP_DEVICE_WRITE;
}

static inline int is_migration_entry(swp_entry_t entry)
{
	return unlikely(swp_type(entry) == SWP_MIGRATION_READ ||
			swp_type(entry) == SWP_MIGRATION_WRITE);
}

static inline int is_hwpoison_entry(swp_entry_t entry)
{
	return swp_type(entry) == SWP_HWPOISON;
}

static inline bool is_pfn_swap_entry(swp_entry_t entry)
{
	return is_migration_entry(entry) || is_device_private_entry(entry) ||
	       is_hwpoison_entry(entry);
}

#endif
