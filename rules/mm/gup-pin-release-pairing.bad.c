// SPDX-License-Identifier: GPL-2.0
/* Fixture for mm/gup-pin-release-pairing: releases that do not match how the reference was taken. */
#include <linux/mm.h>

/* A driver pins a user buffer and, on a short pin, drops the pages as if they were plain gets. */
static int demo_pin_buffer(unsigned long uaddr, int n, struct page **pages)
{
	int got, i;

	got = pin_user_pages_fast(uaddr, n, FOLL_WRITE | FOLL_LONGTERM, pages);
	if (got == n)
		return 0;
	for (i = 0; i < got; i++)
		/* ruleid: mm/gup-pin-release-pairing */
		put_page(pages[i]);
	return -EFAULT;
}

/* The element is copied out first: the copy still holds a pin. */
static void demo_release_all(struct page **pages, int n, unsigned long uaddr)
{
	int i, got;

	got = pin_user_pages_fast(uaddr, n, FOLL_LONGTERM, pages);
	for (i = 0; i < got; i++) {
		struct page *page = pages[i];

		set_page_dirty_lock(page);
		folio_put(page_folio(page)); /* ruleid: mm/gup-pin-release-pairing */
	}
	/* ruleid: mm/gup-pin-release-pairing */
	release_pages(pages, got);
}

/* FOLL_GET references must not be unpinned. */
static int demo_peek_word(unsigned long addr, u32 *val)
{
	struct page *page;
	int ret;

	ret = get_user_pages_fast(addr, 1, 0, &page);
	if (ret != 1)
		return -EFAULT;
	*val = *(u32 *)(page_address(page) + offset_in_page(addr));
	unpin_user_page(page); /* ruleid: mm/gup-pin-release-pairing */
	return 0;
}

/* A flags-dependent grab dropped with a plain put on the re-check path. */
static int demo_fast_one(pte_t *ptep, unsigned int flags, struct page **pages, int *nr)
{
	pte_t pte = ptep_get_lockless(ptep);
	struct folio *folio;

	if (pte_special(pte))
		return 0;
	folio = try_grab_folio_fast(pte_page(pte), 1, flags);
	if (!folio)
		return 0;
	if (pte_val(pte) != pte_val(ptep_get(ptep))) {
		folio_put(folio); /* ruleid: mm/gup-pin-release-pairing */
		return 0;
	}
	pages[(*nr)++] = pte_page(pte);
	return 1;
}

/* Released with other flags than the grab's. */
static struct page *demo_follow_one(struct page *page, unsigned int gup_flags, unsigned int flags)
{
	struct folio *folio = page_folio(page);

	if (try_grab_folio(folio, 1, gup_flags))
		return NULL;
	if (folio_test_large(folio)) {
		/* ruleid: mm/gup-pin-release-pairing */
		gup_put_folio(folio, 1, flags);
		return NULL;
	}
	if (PageAnonExclusive(page)) {
		/* ruleid: mm/gup-pin-release-pairing */
		unpin_user_page(page);
		return NULL;
	}
	return page;
}

/* The branch only runs when pinning, and drops a plain reference. */
static struct page *demo_follow_guarded(struct page *page, unsigned int flags)
{
	if (!try_grab_page(page, flags))
		return NULL;
	if ((flags & FOLL_PIN) && demo_make_accessible(page)) {
		put_page(page); /* ruleid: mm/gup-pin-release-pairing */
		return NULL;
	}
	return page;
}
