// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/swp-pte-bit-preservation: written for reviewkit, modelled on fork/mprotect/migration code. */
#include <linux/mm.h>
#include <linux/swapops.h>

/* fork: downgrade a writable migration entry of a COW mapping, losing both bits */
static void demo_copy_migration(struct mm_struct *src_mm, pte_t *src_pte, unsigned long addr,
				unsigned long vm_flags)
{
	pte_t orig_pte = ptep_get(src_pte);
	swp_entry_t entry = pte_to_swp_entry(orig_pte);
	pte_t pte;

	if (is_migration_entry(entry) && !is_readable_migration_entry(entry) && is_cow_mapping(vm_flags)) {
		entry = make_readable_migration_entry(swp_offset(entry));
		/* ruleid: mm/swp-pte-bit-preservation */
		pte = swp_entry_to_pte(entry);
		set_pte_at(src_mm, addr, src_pte, pte);
	}
}

/* device-exclusive keeps soft-dirty but forgets uffd-wp */
static void demo_protect_exclusive(struct mm_struct *mm, pte_t *ptep, unsigned long addr)
{
	pte_t oldpte = ptep_get(ptep);
	swp_entry_t entry = pte_to_swp_entry(oldpte);
	pte_t newpte;

	if (!is_writable_device_exclusive_entry(entry))
		return;
	entry = make_readable_device_exclusive_entry(swp_offset(entry));
	newpte = swp_entry_to_pte(entry); /* ruleid: mm/swp-pte-bit-preservation */
	if (pte_swp_soft_dirty(oldpte))
		newpte = pte_swp_mksoft_dirty(newpte);
	set_pte_at(mm, addr, ptep, newpte);
}

/*
 * mprotect-style: the uffd-wp tail sets a *new* protection from a flag; it does
 * not carry the old bit, so the device-private arm still loses it.
 */
static long demo_change_nonpresent(struct mm_struct *mm, pte_t *pte, unsigned long addr, bool uffd_wp)
{
	pte_t oldpte = ptep_get(pte);
	swp_entry_t entry = pte_to_swp_entry(oldpte);
	pte_t newpte;

	if (is_writable_device_private_entry(entry)) {
		entry = make_readable_device_private_entry(swp_offset(entry));
		/* ruleid: mm/swp-pte-bit-preservation */
		newpte = swp_entry_to_pte(entry);
	} else {
		newpte = oldpte;
	}
	if (uffd_wp)
		newpte = pte_swp_mkuffd_wp(newpte);
	if (!pte_same(oldpte, newpte)) {
		set_pte_at(mm, addr, pte, newpte);
		return 1;
	}
	return 0;
}

/* present -> migration entry: soft-dirty copied, uffd-wp of the present pte dropped */
static void demo_migrate_one(struct vm_area_struct *vma, struct page *page, pte_t *ptep, unsigned long addr)
{
	swp_entry_t entry;
	pte_t pteval, swp_pte;

	pteval = ptep_clear_flush(vma, addr, ptep);
	entry = make_readable_migration_entry(page_to_pfn(page));
	swp_pte = swp_entry_to_pte(entry); /* ruleid: mm/swp-pte-bit-preservation */
	if (pte_soft_dirty(pteval))
		swp_pte = pte_swp_mksoft_dirty(swp_pte);
	set_pte_at(vma->vm_mm, addr, ptep, swp_pte);
}

/* built and stored in one expression: no room for the bits at all */
static void demo_downgrade_inline(struct mm_struct *mm, pte_t *ptep, unsigned long addr)
{
	swp_entry_t entry = pte_to_swp_entry(ptep_get(ptep));

	if (is_writable_migration_entry(entry))
		return;
	/* ruleid: mm/swp-pte-bit-preservation */
	set_pte_at(mm, addr, ptep, swp_entry_to_pte(make_readable_exclusive_migration_entry(swp_offset(entry))));
}

/* anon swap-out: soft-dirty and uffd-wp copied, but the page's exclusivity is forgotten */
static void demo_swap_out(struct vm_area_struct *vma, struct page *subpage, pte_t *ptep, unsigned long addr,
			  bool anon_exclusive)
{
	pte_t pteval = ptep_clear_flush(vma, addr, ptep);
	swp_entry_t entry = page_swap_entry(subpage);
	pte_t swp_pte;

	swp_pte = swp_entry_to_pte(entry); /* ruleid: mm/swp-pte-bit-preservation */
	if (pte_soft_dirty(pteval))
		swp_pte = pte_swp_mksoft_dirty(swp_pte);
	if (pte_uffd_wp(pteval))
		swp_pte = pte_swp_mkuffd_wp(swp_pte);
	set_pte_at(vma->vm_mm, addr, ptep, swp_pte);
}
