// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/uffd-wp-marker-on-file-zap: clears that keep (or need not keep) the uffd-wp marker. */
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <linux/userfaultfd_k.h>
#include <asm/tlb.h>

static void demo_drop_pte(struct vm_area_struct *vma, pte_t *ptep, unsigned long addr)
{
	pte_t old;

	old = ptep_get_and_clear(vma->vm_mm, addr, ptep); /* ok: mm/uffd-wp-marker-on-file-zap */
	flush_tlb_page(vma, addr);
	pte_install_uffd_wp_if_needed(vma, addr, ptep, old);
}

/* anonymous-only, and says so */
static void demo_free_anon_pte(struct vm_area_struct *vma, pte_t *ptep, unsigned long addr)
{
	WARN_ON_ONCE(!vma_is_anonymous(vma));
	ptep_clear(vma->vm_mm, addr, ptep); /* ok: mm/uffd-wp-marker-on-file-zap */
	flush_tlb_page(vma, addr);
}

/* mremap-style move: the value, bits included, goes to the new pte */
static void demo_move_pte(struct mm_struct *mm, pte_t *old_pte, pte_t *new_pte, unsigned long old_addr,
			  unsigned long new_addr)
{
	pte_t pte = ptep_get_and_clear(mm, old_addr, old_pte); /* ok: mm/uffd-wp-marker-on-file-zap */

	set_pte_at(mm, new_addr, new_pte, pte);
}

/* COW: the cleared pte gets the new page at once */
static void demo_replace_page(struct vm_area_struct *vma, pte_t *ptep, unsigned long addr, struct page *new)
{
	pte_t entry = mk_pte(new, vma->vm_page_prot);

	ptep_clear_flush(vma, addr, ptep); /* ok: mm/uffd-wp-marker-on-file-zap */
	set_pte_at(vma->vm_mm, addr, ptep, entry);
}

/* UFFDIO_WRITEPROTECT resolve drops the marker on purpose */
static long demo_unprotect_marker(struct vm_area_struct *vma, pte_t *pte, unsigned long addr,
				  bool uffd_wp_resolve)
{
	pte_t oldpte = ptep_get(pte);

	if (is_pte_marker(oldpte) && uffd_wp_resolve) {
		pte_clear(vma->vm_mm, addr, pte); /* ok: mm/uffd-wp-marker-on-file-zap */
		return 1;
	}
	return 0;
}

/* only called once the VMA is no longer registered for uffd-wp */
static vm_fault_t demo_marker_clear(struct vm_fault *vmf)
{
	vmf->pte = pte_offset_map_lock(vmf->vma->vm_mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte)
		return 0;
	if (pte_same(vmf->orig_pte, ptep_get(vmf->pte)))
		pte_clear(vmf->vma->vm_mm, vmf->address, vmf->pte); /* ok: mm/uffd-wp-marker-on-file-zap */
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	return 0;
}

static vm_fault_t demo_handle_marker(struct vm_fault *vmf)
{
	if (unlikely(!userfaultfd_wp(vmf->vma)))
		return demo_marker_clear(vmf);
	return VM_FAULT_SIGBUS;
}

/* device-private entries exist for anonymous memory only */
static void demo_zap_device(struct vm_area_struct *vma, pte_t *pte, unsigned long addr, swp_entry_t entry)
{
	if (is_device_private_entry(entry)) {
		struct folio *folio = pfn_swap_entry_folio(entry);

		pte_clear_not_present_full(vma->vm_mm, addr, pte, false); /* ok: mm/uffd-wp-marker-on-file-zap */
		folio_put(folio);
	}
}

/* kernel page tables are not user ptes */
static void demo_kunmap(unsigned long addr, pte_t *kmap_pte)
{
	pte_clear(&init_mm, addr, kmap_pte); /* ok: mm/uffd-wp-marker-on-file-zap */
	flush_tlb_kernel_range(addr, addr + PAGE_SIZE);
}

/* dropping markers with the folio locked is safe: no fault can map it meanwhile */
static void demo_unmap_folio(struct folio *folio, struct address_space *mapping)
{
	struct zap_details details = { };

	VM_BUG_ON(!folio_test_locked(folio));
	details.zap_flags = ZAP_FLAG_DROP_MARKER; /* ok: mm/uffd-wp-marker-on-file-zap */
	demo_unmap_mapping_range_tree(&mapping->i_mmap, folio->index, folio->index, &details);
}

/* whole-range teardown */
void unmap_vmas(struct mmu_gather *tlb, struct ma_state *mas, struct vm_area_struct *vma,
		unsigned long start_addr, unsigned long end_addr)
{
	struct zap_details details = {
		.zap_flags = ZAP_FLAG_DROP_MARKER | ZAP_FLAG_UNMAP, /* ok: mm/uffd-wp-marker-on-file-zap */
		.even_cows = true,
	};

	demo_unmap_single_vma(tlb, vma, start_addr, end_addr, &details);
}

/* testing the flag is not setting it */
static bool demo_drop_markers(struct zap_details *details)
{
	return details && (details->zap_flags & ZAP_FLAG_DROP_MARKER); /* ok: mm/uffd-wp-marker-on-file-zap */
}
