// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/arch-make-accessible-before-io: hooks in place, and paths that need none. */
#include <linux/mm.h>
#include <linux/scatterlist.h>

static struct page *demo_follow_pte(struct vm_area_struct *vma, unsigned long addr, pte_t pte,
				    unsigned int flags)
{
	struct page *page = vm_normal_page(vma, addr, pte);
	struct folio *folio;
	int ret;

	if (!page)
		return NULL;
	folio = page_folio(page);
	ret = try_grab_folio(folio, 1, flags);
	if (ret)
		return ERR_PTR(ret);
	if (flags & FOLL_PIN) {
		ret = arch_make_folio_accessible(folio);
		if (ret) {
			unpin_user_page(page);
			return ERR_PTR(ret);
		}
	}
	return page;
}

/* A PMD-mapped THP: large folios are never secure, no hook needed. */
static struct page *demo_follow_pmd(pmd_t pmdval, unsigned long addr, unsigned int flags)
{
	struct page *page = pmd_page(pmdval) + ((addr & ~HPAGE_PMD_MASK) >> PAGE_SHIFT);

	if (try_grab_folio(page_folio(page), 1, flags)) /* ok: mm/arch-make-accessible-before-io */
		return ERR_PTR(-ENOMEM);
	return page;
}

/* A plain FOLL_GET grab: the content is not accessed through it. */
static struct page *demo_peek_pte(struct vm_area_struct *vma, unsigned long addr, pte_t pte)
{
	struct page *page = vm_normal_page(vma, addr, pte);

	if (page && !try_grab_page(page, FOLL_GET)) /* ok: mm/arch-make-accessible-before-io */
		return NULL;
	return page;
}

static int demo_map_user(struct sg_table *sgt, unsigned long uaddr, int n, struct page **pages)
{
	struct scatterlist *sg;
	int got, i;

	got = pin_user_pages_fast(uaddr, n, FOLL_WRITE | FOLL_LONGTERM, pages);
	if (got != n) {
		if (got > 0)
			unpin_user_pages(pages, got);
		return -EFAULT;
	}
	for_each_sg(sgt->sgl, sg, n, i)
		sg_set_page(sg, pages[i], PAGE_SIZE, 0);
	return 0;
}

/* FOLL_GET pages read by the CPU only: no device touches them. */
static int demo_read_user(unsigned long uaddr, void *buf, size_t len)
{
	struct page *page;
	void *kaddr;

	/* ok: mm/arch-make-accessible-before-io */
	if (get_user_pages_fast(uaddr, 1, 0, &page) != 1)
		return -EFAULT;
	kaddr = kmap_local_page(page);
	memcpy(buf, kaddr + offset_in_page(uaddr), len);
	kunmap_local(kaddr);
	put_page(page);
	return 0;
}

static void demo_start_io(struct folio *folio)
{
	folio_start_writeback(folio);
	folio_unlock(folio);
}

static int demo_convert(unsigned long addr)
{
	struct folio *folio = phys_to_folio(addr);
	int rc;

	if (!folio_try_get(folio))
		return 0;
	rc = arch_make_folio_accessible(folio); /* ok: mm/arch-make-accessible-before-io */
	folio_put(folio);
	return rc;
}
