"""Fork must not share a possibly DMA-pinned anonymous page with the child.

**What it checks.** In fork-path functions (`copy_nonpresent_pte`,
`copy_pte_range`, `copy_present_pte(s)`, `copy_huge_pmd`,
`copy_hugetlb_page_range`, ... or any function writing the child's page
table: `set_pte_at(dst_mm, ...)`), an entry-kind arm that takes a page out of
a non-present entry (`pfn_swap_entry_to_page()` and friends) and a reference
on it (`get_page()`, `folio_get()`, an rmap dup) while the child's pte is
written, without the pinned check (`folio_try_dup_anon_rmap_*()`,
`page_try_dup_anon_rmap()`, `*_needs_cow_for_dma()`, `*_maybe_dma_pinned()`)
and without handing the page back to the present-pte path (restore it and
`return -ENOENT`). Migration and device-private arms are exempt (no
reference is taken / the pages cannot be pinned), and so are arms only shared
(non-COW) mappings reach (`!is_cow_mapping()` in the condition, or an
assertion that the mapping is not COW): nothing is write-protected there. Also: a patch that drops
the restore from `copy_nonpresent_pte()` or the `-ENOENT` hand-off from
`copy_pte_range()`.

**Why.** A page that may be DMA-pinned must not be write-protected and shared
at fork: the child gets its own copy at once (`copy_present_page()`), or a
later COW fault in the parent replaces the pinned page and the DMA goes to the
wrong memory. An entry that *hides* a present page (device-exclusive) carries
the same obligation. Jason Gunthorpe on the device-exclusive series (v7 5/8):
"This needs to have the same logic as we now have in copy_present_page(). The
page *is* present and we can't copy the PTE value hidden in a swap entry if we
can't copy the PTE normally", and "Having do_wp_page() do a copy is a security
bug. We closed it with the at-fork checks." The merged code restores the entry
to a present pte and returns `-ENOENT`, so `copy_present_pte()` runs the check.

**Example.**

    /* bad */
    } else if (is_device_exclusive_entry(entry)) {
            page = pfn_swap_entry_to_page(entry);
            get_page(page);                       /* shared with the child */
            rss[mm_counter(page)]++;
    }
    set_pte_at(dst_mm, addr, dst_pte, pte);

    /* good */
    } else if (is_device_exclusive_entry(entry)) {
            if (try_restore_exclusive_pte(src_vma, addr, src_pte, orig_pte))
                    return -EBUSY;
            return -ENOENT;  /* copy_pte_range() copies it as a present pte */
    }

**How to fix.** Do not take the reference in the non-present path: restore the
entry to a present pte and return `-ENOENT` so that `copy_present_pte()` runs
`folio_try_dup_anon_rmap_pte()` / `page_try_dup_anon_rmap()` and falls back to
`copy_present_page()` for pinned pages.
"""
import re

from reviewkit.rules import Rule
from reviewkit.rules.lib.chains import arms


FORK_PATH = {"copy_page_range", "copy_p4d_range", "copy_pud_range", "copy_pmd_range", "copy_pte_range",
             "copy_present_ptes", "copy_present_pte", "copy_present_page", "copy_nonpresent_pte",
             "copy_huge_pmd", "copy_huge_pud", "copy_hugetlb_page_range", "copy_one_pte"}
ENTRY_TO_PAGE = re.compile(r"^(pfn_swap_entry_to_(page|folio)|softleaf_to_(page|folio)|"
                           r"(migration|device_private|device_exclusive)_entry_to_(page|pfn))$")
TAKES_REF = re.compile(r"^(get_page|folio_get|folio_ref_add|folio_try_get|page_ref_inc|get_page_unless_zero|"
                       r"page_dup_rmap|page_dup_file_rmap|folio_dup_file_rmap\w*|page_dup_compound_rmap)$")
PINNED_CHECK = re.compile(r"^(folio_try_dup_anon_rmap\w*|page_try_dup_anon_rmap|hugetlb_try_dup_anon_rmap|"
                          r"\w*needs_cow_for_dma|\w*maybe_dma_pinned)$")
EXEMPT_FAMILIES = {"migration", "device_private"}
# The arm asserts it never sees a COW mapping (v8 of the series: COW entries are removed first).
SHARED_ONLY = re.compile(r"\b(?:VM_)?(?:BUG_ON|WARN_ON\w*)\s*\(\s*is_cow_mapping\s*\(")
CHILD_MM = re.compile(r"^\s*(dst_mm|dst_vma\s*->\s*vm_mm)\s*$")


RULE = Rule(id="mm/fork-pinned-page-copy", severity="error", scope="function",
            summary="fork must not share a possibly DMA-pinned anon page hidden in a non-present entry",
            needs=FORK_PATH | {"dst_mm", "dst_pte", "dst_vma"})


def _registry(ctx):
    reg = ctx.registry_after
    if reg is None:
        from reviewkit.code.registry import default_registry
        reg = default_registry()
    return reg


def _writes_child_pte(ctx, node):
    for call in ctx.calls(node, names={"set_pte_at", "set_ptes", "set_huge_pte_at", "set_pmd_at"}):
        args = call.child_by_field_name("arguments")
        first = args.named_children[0] if args is not None and args.named_children else None
        if first is not None and CHILD_MM.match(ctx.text(first)):
            return True
    return False


def _arm_families(reg, arm):
    fams = set()
    for name in arm.calls:
        if name in arm.negated:
            continue
        fams |= reg.family_of(name)
    return fams


def _page_from_offset(ctx, calls):
    """The pre-5.14 spelling: pfn_to_page(swp_offset(entry))."""
    return any(ctx.call_name(c) == "pfn_to_page" and "swp_offset" in ctx.text(c) for c in calls)


def _hands_back(ctx, body):
    """`return -ENOENT` after a restore: copy_pte_range() then copies it as a present pte."""
    restores = any("restore" in ctx.call_name(c) for c in ctx.calls(body))
    return restores and "-ENOENT" in ctx.text(body)


def check(ctx):
    fn = ctx.fn
    if fn is None or ctx.node is None:
        return
    text = ctx.text(ctx.node)
    if ctx.function.name not in FORK_PATH and not re.search(r"\bdst_(mm|pte|vma)\b", text):
        return
    yield from _removed_hand_off(ctx)
    # a fork-path function writes the child's pte, whether or not the hunk shows that line
    seen_partially = not ctx.whole and ctx.function.name in FORK_PATH
    if not (seen_partially or _writes_child_pte(ctx, ctx.node)):
        return
    reg = _registry(ctx)
    for arm in arms(ctx.node):
        if arm.condition is None:
            continue
        fams = _arm_families(reg, arm)
        if not fams or fams <= EXEMPT_FAMILIES:
            continue  # not a kind arm, or a kind that takes no reference / cannot be pinned
        calls = ctx.calls(arm.body)
        names = [ctx.call_name(c) for c in calls]
        if not (any(ENTRY_TO_PAGE.match(n) for n in names) or _page_from_offset(ctx, calls)):
            continue
        refs = [c for c in calls if TAKES_REF.match(ctx.call_name(c))]
        if not refs or any(PINNED_CHECK.match(n) for n in names) or _hands_back(ctx, arm.body):
            continue
        if "is_cow_mapping" in arm.negated or SHARED_ONLY.search(ctx.text(arm.body)):
            continue  # only shared (non-COW) mappings get here: nothing is write-protected at fork
        kinds = ", ".join(sorted(fams - EXEMPT_FAMILIES)).replace("_", "-")
        yield ctx.finding(
            refs[0],
            f"{kinds} entry hides a present, possibly DMA-pinned page: fork takes a reference "
            f"({ctx.call_name(refs[0])}) and shares it with the child without the pinned check "
            "that copy_present_page() does",
            suggestion="restore the entry to a present pte and return -ENOENT so copy_present_pte() runs "
                       "folio_try_dup_anon_rmap_pte()/page_try_dup_anon_rmap() (and copies pinned pages)")


def _removed_hand_off(ctx):
    """The patch drops the restore (copy_nonpresent_pte) or the -ENOENT hand-off (copy_pte_range)."""
    if ctx.side != "after" or ctx.function.before is None or ctx.fn.kind != "function":
        return
    old = ctx.function.before
    before, after = ctx.text(old.node, old), ctx.text(ctx.node)
    name = ctx.function.name
    if name == "copy_nonpresent_pte" and "restore_exclusive_pte" in before and "restore_exclusive_pte" not in after:
        yield ctx.finding(ctx.fn.start_line, "the patch removes the device-exclusive restore from "
                          "copy_nonpresent_pte(): the page would be shared at fork without the pinned check",
                          snippet="copy_nonpresent_pte restore")
    if name == "copy_pte_range" and "-ENOENT" in before and "-ENOENT" not in after:
        yield ctx.finding(ctx.fn.start_line, "the patch removes the -ENOENT hand-off from copy_pte_range(): "
                          "restored entries would no longer be copied as present ptes (pinned check)",
                          snippet="copy_pte_range -ENOENT")
