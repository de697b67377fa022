// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/swp-pte-bit-preservation: the idioms of mm-rules.md §4.D, written for reviewkit. */
#include <linux/mm.h>
#include <linux/swapops.h>
#include <linux/hugetlb.h>

/* fork downgrade carrying both bits from the swap form of the old pte */
static void demo_copy_migration(struct mm_struct *src_mm, pte_t *src_pte, unsigned long addr,
				unsigned long vm_flags)
{
	pte_t orig_pte = ptep_get(src_pte);
	swp_entry_t entry = pte_to_swp_entry(orig_pte);
	pte_t pte;

	if (is_migration_entry(entry) && !is_readable_migration_entry(entry) && is_cow_mapping(vm_flags)) {
		entry = make_readable_migration_entry(swp_offset(entry));
		pte = swp_entry_to_pte(entry);
		if (pte_swp_soft_dirty(orig_pte))
			pte = pte_swp_mksoft_dirty(pte);
		if (pte_swp_uffd_wp(orig_pte))
			pte = pte_swp_mkuffd_wp(pte);
		set_pte_at(src_mm, addr, src_pte, pte);
	}
}

/* mprotect arms: each carries what its kind can hold, the tail adds a new protection */
static long demo_change_nonpresent(struct mm_struct *mm, pte_t *pte, unsigned long addr, bool uffd_wp)
{
	pte_t oldpte = ptep_get(pte);
	swp_entry_t entry = pte_to_swp_entry(oldpte);
	pte_t newpte;

	if (is_writable_migration_entry(entry)) {
		entry = make_readable_migration_entry(swp_offset(entry));
		/* ok: mm/swp-pte-bit-preservation (a writable entry cannot be uffd-wp) */
		newpte = swp_entry_to_pte(entry);
		if (pte_swp_soft_dirty(oldpte))
			newpte = pte_swp_mksoft_dirty(newpte);
	} else if (is_writable_device_private_entry(entry)) {
		/* soft-dirty is not kept for device-private memory, by design */
		entry = make_readable_device_private_entry(swp_offset(entry));
		newpte = swp_entry_to_pte(entry); /* ok: mm/swp-pte-bit-preservation */
		if (pte_swp_uffd_wp(oldpte))
			newpte = pte_swp_mkuffd_wp(newpte);
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

/* swap-out of a pte that may be present or already a swap pte: both forms of each bit */
static void demo_unmap_to_swap(struct vm_area_struct *vma, struct folio *folio, pte_t *ptep,
			       unsigned long addr, bool anon_exclusive)
{
	pte_t pteval = ptep_clear_flush(vma, addr, ptep);
	swp_entry_t entry;
	pte_t swp_pte;

	if (pte_write(pteval))
		entry = make_writable_migration_entry(folio_pfn(folio));
	else if (anon_exclusive)
		entry = make_readable_exclusive_migration_entry(folio_pfn(folio));
	else
		entry = make_readable_migration_entry(folio_pfn(folio));
	if (pte_young(pteval))
		entry = make_migration_entry_young(entry);
	swp_pte = swp_entry_to_pte(entry); /* ok: mm/swp-pte-bit-preservation */
	if (pte_present(pteval)) {
		if (pte_soft_dirty(pteval))
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		if (pte_uffd_wp(pteval))
			swp_pte = pte_swp_mkuffd_wp(swp_pte);
	} else {
		if (pte_swp_soft_dirty(pteval))
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		if (pte_swp_uffd_wp(pteval))
			swp_pte = pte_swp_mkuffd_wp(swp_pte);
	}
	set_pte_at(vma->vm_mm, addr, ptep, swp_pte);
}

/* split a pmd migration entry: the bits were read into locals first */
static void demo_split_pmd_entry(struct mm_struct *mm, pmd_t old_pmd, pte_t *pte, unsigned long addr,
				 unsigned long pfn)
{
	bool soft_dirty = pmd_swp_soft_dirty(old_pmd);
	bool uffd_wp = pmd_swp_uffd_wp(old_pmd);
	swp_entry_t swp = pmd_to_swp_entry(old_pmd);
	pte_t entry;

	swp = make_readable_migration_entry(pfn);
	entry = swp_entry_to_pte(swp);
	if (soft_dirty)
		entry = pte_swp_mksoft_dirty(entry);
	if (uffd_wp)
		entry = pte_swp_mkuffd_wp(entry);
	set_pte_at(mm, addr, pte, entry);
}

/* hugetlb has no soft-dirty; uffd-wp is carried */
static void demo_hugetlb_copy(struct mm_struct *src, pte_t *src_pte, unsigned long addr, unsigned long sz)
{
	pte_t entry = huge_ptep_get(src, addr, src_pte);
	swp_entry_t swp_entry = pte_to_swp_entry(entry);
	bool uffd_wp = pte_swp_uffd_wp(entry);

	swp_entry = make_readable_migration_entry(swp_offset(swp_entry));
	entry = swp_entry_to_pte(swp_entry); /* ok: mm/swp-pte-bit-preservation */
	if (uffd_wp)
		entry = pte_swp_mkuffd_wp(entry);
	set_huge_pte_at(src, addr, src_pte, entry, sz);
}

/* poison is an intentional reset: nothing of the old pte survives */
static void demo_poison(struct mm_struct *mm, struct page *page, pte_t *ptep, unsigned long addr)
{
	pte_t old = ptep_get_and_clear(mm, addr, ptep);

	/* ok: mm/swp-pte-bit-preservation */
	set_pte_at(mm, addr, ptep, swp_entry_to_pte(make_hwpoison_entry(page)));
	(void)old;
}

/* a brand-new device-private entry in a none pte has no old bits to carry */
static void demo_insert_device_page(struct mm_struct *mm, struct page *page, pte_t *ptep, unsigned long addr)
{
	swp_entry_t swp_entry = make_readable_device_private_entry(page_to_pfn(page));
	pte_t entry = swp_entry_to_pte(swp_entry); /* ok: mm/swp-pte-bit-preservation */

	set_pte_at(mm, addr, ptep, entry);
}

/* pmd: set a pmd migration entry from the invalidated pmd */
static void demo_set_pmd_migration(struct vm_area_struct *vma, struct page *page, pmd_t *pmdp,
				   unsigned long addr)
{
	pmd_t pmdval = pmdp_invalidate(vma, addr, pmdp);
	swp_entry_t entry = make_readable_migration_entry(page_to_pfn(page));
	pmd_t pmdswp = swp_entry_to_pmd(entry); /* ok: mm/swp-pte-bit-preservation */

	if (pmd_soft_dirty(pmdval))
		pmdswp = pmd_swp_mksoft_dirty(pmdswp);
	if (pmd_uffd_wp(pmdval))
		pmdswp = pmd_swp_mkuffd_wp(pmdswp);
	set_pmd_at(vma->vm_mm, addr, pmdp, pmdswp);
}

/* built here, returned: the caller stores it and carries the bits */
static pte_t demo_readable_of(swp_entry_t entry)
{
	return swp_entry_to_pte(make_readable_migration_entry(swp_offset(entry)));
}

/* anon swap-out: all three bits, exclusivity from the rmap state */
static void demo_swap_out(struct vm_area_struct *vma, struct page *subpage, pte_t *ptep, unsigned long addr,
			  bool anon_exclusive)
{
	pte_t pteval = ptep_clear_flush(vma, addr, ptep);
	swp_entry_t entry = page_swap_entry(subpage);
	pte_t swp_pte;

	swp_pte = swp_entry_to_pte(entry); /* ok: mm/swp-pte-bit-preservation */
	if (anon_exclusive)
		swp_pte = pte_swp_mkexclusive(swp_pte);
	if (pte_soft_dirty(pteval))
		swp_pte = pte_swp_mksoft_dirty(swp_pte);
	if (pte_uffd_wp(pteval))
		swp_pte = pte_swp_mkuffd_wp(swp_pte);
	set_pte_at(vma->vm_mm, addr, ptep, swp_pte);
}
