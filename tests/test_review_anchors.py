"""Anchoring review comments to the patch lines they quote (reviewkit.review.anchors)."""
from __future__ import annotations

from functools import lru_cache

from reviewkit.pipeline import parse_inputs
from reviewkit.review.anchors import PatchIndex, function_name
from reviewkit.review.text import parse_body

from tests.conftest import FIXTURES

V1 = FIXTURES / "review" / "ksm-merge-fail-v1.mbox"
PATCH1 = "<20230410080000.2000-2-rosalind@example.org>"


@lru_cache(maxsize=None)
def _index() -> PatchIndex:
    parsed = parse_inputs([str(V1)])
    return PatchIndex(parsed.patches[PATCH1])


def _anchor(reply: str):
    (pair, *_rest) = parse_body(reply).pairs
    return _index().anchor(pair.quote)


def test_function_name():
    assert function_name("copy_nonpresent_pte(struct mm_struct *dst_mm, struct mm_struct *src_mm,") == \
        "copy_nonpresent_pte"
    assert function_name("static int try_to_merge_one_page(struct vm_area_struct *vma,") == "try_to_merge_one_page"
    assert function_name("struct page *vm_normal_page_pmd(struct vm_area_struct *vma, unsigned long addr,") == \
        "vm_normal_page_pmd"
    assert function_name("SYSCALL_DEFINE3(madvise, unsigned long, start, size_t, len_in, int, behavior)") == \
        "sys_madvise"
    for not_a_definition in ("void rmap_walk_ksm(struct folio *folio, struct rmap_walk_control *rwc);",
                             "if (!PageAnon(page)) {", "EXPORT_SYMBOL_GPL(ksm_madvise);", "\tfoo(bar);",
                             "static unsigned int ksm_merge_across_nodes = 1;", "struct mem_cgroup;", ""):
        assert function_name(not_a_definition) is None, not_a_definition


def test_anchor_to_the_last_quoted_line_and_its_function():
    a = _anchor("""\
On Mon, Apr 10, 2023 at 10:00:01AM +0200, Rosalind Franklin wrote:
> @@ -1221,8 +1224,10 @@ static int try_to_merge_one_page(struct vm_area_struct *vma,
>  	if (page == kpage)			/* ksm page forked */
>  		return 0;
>  
> -	if (!PageAnon(page))
> +	if (!PageAnon(page)) {
> +		ksm_merge_fail[KSM_FAIL_NOT_ANON]++;

This needs to be atomic.
""")
    assert (a.path, a.function, a.side, a.line) == ("mm/ksm.c", "try_to_merge_one_page", "new", 1228)
    assert a.quoted[-1] == "+\t\tksm_merge_fail[KSM_FAIL_NOT_ANON]++;" and a.matched >= 3


def test_anchor_survives_whitespace_damage_and_no_headers():
    # a web archive collapsed the indentation and the reviewer cut the @@ line
    a = _anchor("""\
> - if (write_protect_page(vma, page, &orig_pte) == 0) {
> + if (write_protect_page(vma, page, &orig_pte) != 0) {
> + ksm_merge_fail[KSM_FAIL_WRITE_PROTECT]++;
> + } else {

Why count this one separately?
""")
    assert (a.path, a.function, a.line) == ("mm/ksm.c", "try_to_merge_one_page", 1250)


def test_a_removed_line_anchors_to_the_old_side():
    a = _anchor("> @@ -1221,8 +1224,10 @@ static int try_to_merge_one_page(struct vm_area_struct *vma,\n"
                ">  \t\treturn 0;\n>  \n> -\tif (!PageAnon(page))\n\nwhy drop this?\n")
    assert (a.side, a.line) == ("old", 1224)


def test_header_file_and_short_lines_extend_the_match():
    a = _anchor("""\
> +++ b/include/linux/ksm.h
> +enum ksm_merge_fail {
> +	KSM_FAIL_NOT_ANON,
> +	KSM_FAIL_WRITE_PROTECT,
> +	KSM_FAIL_REPLACE,
> +	KSM_FAIL_NR,
> +};

Does KSM_FAIL_NR need to be visible outside of mm/ksm.c?
""")
    assert a.path == "include/linux/ksm.h" and a.quoted[-1] == "+};" and a.line == 28
    assert a.function is None  # an enum between functions belongs to none


def test_no_anchor_for_prose_or_generic_lines():
    assert _anchor("> I think this series is a good idea.\n> Right?\n\nYes.\n") is None
    # two generic lines that occur all over any C diff are not enough
    assert _anchor("> +	}\n> +\n\nstray blank line\n") is None
    # quoted lines of some other patch
    assert _anchor("> +	pte = pte_swp_mkuffd_wp(pte);\n> +	set_pte_at(src_mm, addr, src_pte, pte);\n\nhm\n") is None


def test_anchor_from_the_quoted_header_when_the_patch_lacks_the_lines():
    from reviewkit.review.anchors import anchor_from_quote
    (pair,) = parse_body("""\
> diff --git a/mm/memory.c b/mm/memory.c
> +++ b/mm/memory.c
> @@ -781,6 +781,27 @@ copy_nonpresent_pte(struct mm_struct *dst_mm, struct mm_struct *src_mm,
>   pte = pte_swp_mkuffd_wp(pte);
>   set_pte_at(src_mm, addr, src_pte, pte);
>   }
> + } else if (is_device_exclusive_entry(entry)) {
> + page = pfn_swap_entry_to_page(entry);

This needs to have the same logic as we now have in copy_present_page().
""").pairs
    assert _index().anchor(pair.quote) is None  # not this patch's lines
    a = anchor_from_quote(pair.quote, PATCH1)
    assert (a.path, a.function, a.line, a.side, a.verified) == ("mm/memory.c", "copy_nonpresent_pte", 785, "new", False)
    assert anchor_from_quote(parse_body("> + foo();\n\nno header\n").pairs[0].quote, PATCH1) is None
