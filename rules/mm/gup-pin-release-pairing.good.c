// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/gup-pin-release-pairing: each reference dropped by the family that took it. */
#include <linux/mm.h>

static int demo_pin_buffer(unsigned long uaddr, int n, struct page **pages)
{
	int got;

	got = pin_user_pages_fast(uaddr, n, FOLL_WRITE | FOLL_LONGTERM, pages);
	if (got == n)
		return 0;
	if (got > 0)
		unpin_user_pages(pages, got);
	return -EFAULT;
}

static void demo_done(struct page **pages, int n, unsigned long uaddr, bool dirty)
{
	int got = pin_user_pages_fast(uaddr, n, FOLL_LONGTERM, pages);

	unpin_user_pages_dirty_lock(pages, got, dirty);
}

static int demo_peek_word(unsigned long addr, u32 *val)
{
	struct page *page;

	if (get_user_pages_fast(addr, 1, 0, &page) != 1)
		return -EFAULT;
	*val = *(u32 *)(page_address(page) + offset_in_page(addr));
	put_page(page);
	return 0;
}

/* A flags-dependent grab dropped with the grab's flags, or by branching on them. */
static int demo_fast_one(pte_t *ptep, unsigned int flags, struct page **pages, int *nr)
{
	pte_t pte = ptep_get_lockless(ptep);
	struct page *page = pte_page(pte);
	struct folio *folio;

	if (pte_special(pte))
		return 0;
	folio = try_grab_folio_fast(page, 1, flags);
	if (!folio)
		return 0;
	if (pte_val(pte) != pte_val(ptep_get(ptep))) {
		gup_put_folio(folio, 1, flags);
		return 0;
	}
	if ((flags & FOLL_PIN) && arch_make_folio_accessible(folio)) {
		/* ok: mm/gup-pin-release-pairing */
		unpin_user_page(page);
		return 0;
	}
	if (!(flags & FOLL_PIN) && folio_test_large(folio)) {
		/* ok: mm/gup-pin-release-pairing */
		folio_put(folio);
		return 0;
	}
	pages[(*nr)++] = page;
	return 1;
}

static void demo_undo(struct page **pages, int nr, unsigned int flags)
{
	while (nr--) {
		if (flags & FOLL_PIN)
			unpin_user_page(pages[nr]);
		else
			put_page(pages[nr]); /* ok: mm/gup-pin-release-pairing */
	}
}

/* Pin or get, chosen at run time: the release follows the same choice. */
static void demo_either(unsigned long uaddr, int n, struct page **pages, bool pin)
{
	int got;

	if (pin)
		got = pin_user_pages_fast(uaddr, n, 0, pages);
	else
		got = get_user_pages_fast(uaddr, n, 0, pages);
	if (pin)
		unpin_user_pages(pages, got);
	else
		release_pages(pages, got); /* ok: mm/gup-pin-release-pairing */
}

/* The variable is reused for a page of our own before the put. */
static int demo_bounce(unsigned long uaddr)
{
	struct page *page;

	if (pin_user_pages_fast(uaddr, 1, 0, &page) != 1)
		return -EFAULT;
	unpin_user_page(page);
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	put_page(page); /* ok: mm/gup-pin-release-pairing */
	return 0;
}

/* An extra plain reference on a pinned page is dropped with put_page(). */
static void demo_extra_ref(unsigned long uaddr, struct page **pages)
{
	if (pin_user_pages_fast(uaddr, 1, 0, pages) != 1)
		return;
	get_page(pages[0]);
	put_page(pages[0]); /* ok: mm/gup-pin-release-pairing */
	unpin_user_page(pages[0]);
}
