"""A cleared or write-protected present pte is flushed from the TLB before its page can go away.

**What it checks.** After a call that clears a user pte without flushing
(`ptep_get_and_clear*`, `get_and_clear_full_ptes`, `clear_full_ptes`,
`pte_clear`, `ptep_clear`, `huge_ptep_get_and_clear`, `huge_pte_clear`) or
takes write permission away (`ptep_set_wrprotect`, `wrprotect_ptes`,
`huge_ptep_set_wrprotect`), the function must flush or record the TLB entry
(`flush_tlb_range/page/mm`, `tlb_remove_tlb_entry*`, `tlb_flush_pte_range`,
`__tlb_remove_folio_pages`, `tlb_flush_mmu*`, `set_tlb_ubc_flush_pending`, ...)
before the first event that makes a stale translation harmful, on the same
path: freeing the page (`folio_put`, `put_page`, ...) or dropping the
page-table lock (`pte_unmap_unlock`, `spin_unlock(ptl)`,
`page_vma_mapped_walk_done`). A flush after the unlock is accepted when no
page is freed before it: migrate_vma_collect_pmd() in 6.12 flushes after
`pte_unmap_unlock()` while it still holds the folios locked and referenced.
A clear whose function only returns afterwards is left to the caller.

Not checked: `ptep_clear_flush()` and friends (they flush), ptes known not
to be present (under `is_swap_pte()`, `pte_none()`, `!pte_present()`, an
entry-kind test, after `if (pte_present(pte)) {..; continue;}`, or a value
then read with `pte_swp_*()`, like 6.12 `move_swap_pte()`), kernel page
tables (`&init_mm`), fork's write-protect in `copy_*()` (dup_mmap() flushes
the whole parent mm with `flush_tlb_mm(oldmm)`), a pte written back with its
own value only aged (`pte_mkold()`, DAMON), a `folio_put()` of a reference
the function took itself, functions whose every in-file caller flushes after
the call (hugetlb `move_huge_pte()`), works on a page table a caller already
detached with `pmdp_collapse_flush()` (khugepaged), or is only reached
through not-present tests (`pte_marker_clear()`), and the primitives' own
generic implementations. Without a whole function (no parse, or a hunk
fragment) the rule says nothing: whether the pte can be present is decided
by conditions the hunk may not show.

**Why.** mm-rules.md R13: other CPUs can keep using the old translation until
the TLB is flushed. Freeing the page first lets them write into memory that
has been reused; dropping the PTL first lets `folio_mkclean()` and rmap walkers
see a clean, unmapped pte while a CPU still writes through a stale writable
entry. 6.12 `move_ptes()` says "make sure to flush TLB before we drop the PTL
for the PTE", and `zap_pte_range()` "Do the actual TLB flush before dropping
ptl". Jason Gunthorpe (seed S3): "the TLB flushing doesn't decrement the page
refcount until after it knows any concurrent GUP fast is completed."

**Example.**

    /* bad */
    pte = ptep_get_and_clear(mm, old_addr, old_pte);
    set_pte_at(mm, new_addr, new_pte, pte);
    pte_unmap_unlock(old_pte, ptl);

    /* good */
    pte = ptep_get_and_clear(mm, old_addr, old_pte);
    if (pte_present(pte))
            force_flush = true;
    set_pte_at(mm, new_addr, new_pte, pte);
    if (force_flush)
            flush_tlb_range(vma, old_addr, old_addr + PAGE_SIZE);
    pte_unmap_unlock(old_pte, ptl);

**How to fix.** Use `ptep_clear_flush()` for a single pte; in a loop, note
`force_flush = true` for present ptes and `flush_tlb_range()` before
`pte_unmap_unlock()`; in zap paths record the entry in the mmu_gather
(`tlb_remove_tlb_entry()`) and free pages through it.
"""
import re

from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P


CHECKED = (P.CLEAR_PTE - P.CLEAR_NOT_PRESENT - P.CLEAR_AND_FLUSH) | P.WRPROTECT_PTE
# the generic implementations of the primitives themselves (include/linux/pgtable.h)
_PRIMITIVE = re.compile(r"^_*(ptep|huge_ptep|pmdp|pudp)_")
_FORK_COPY = re.compile(r"^_*copy_")


RULE = Rule(id="mm/tlb-flush-after-pte-clear", severity="warning", scope="function",
            summary="a cleared/downgraded present pte is flushed (or gathered) before the PTL drop / page free",
            needs=CHECKED)


def _release_ok(call) -> bool:
    """spin_unlock counts only for a page-table lock."""
    return not P.call_name(call).startswith("spin_") or "ptl" in (P.arg_text(call, 0) or "")


def unflushed_event(fn_body, clear):
    """Where a stale translation of the cleared pte becomes harmful (None: nowhere): a page free
    reached from the clear with no flush on the way, else the first PTL drop or free when no path
    from the clear flushes at all. A flush after the unlock is fine while no page is freed first."""
    g = cfg_of(clear)
    events = [c for c in P.calls(fn_body, P.PAGE_FREE | P.PTL_RELEASE) if _release_ok(c) and g.reaches(clear, c)
              and not (P.call_name(c) in P.PAGE_FREE and _own_reference(fn_body, c, clear))]
    unflushed = [c for c in events if P.call_name(c) in P.PAGE_FREE and g.reaches(clear, c, avoiding=P.FLUSH)]
    if unflushed:
        return unflushed[0]
    flushed = any(g.reaches(clear, f) for f in P.calls(fn_body, P.FLUSH))
    return events[0] if events and not flushed else None


def _not_present(fn_body, clear) -> bool:
    if P.known_not_present(clear, fn_body):
        return True
    kept = P.assigned_to(clear)
    return bool(kept) and P.read_as_swap_pte(fn_body, kept[0], clear)


def _own_reference(fn_body, free, clear) -> bool:
    """`folio_get(folio)` before the clear: the function's own reference keeps the page alive, so its
    `folio_put(folio)` is not where the page can be freed (6.12 migrate_vma_collect_pmd)."""
    held = P.arg_text(free, 0)
    return any(c.start_byte < clear.start_byte and P.arg_text(c, 0) == held for c in P.calls(fn_body, P.PAGE_GET))


def _flushed_by_callers(ctx) -> bool:
    """Every in-file caller flushes after calling this function (6.12 move_huge_pte ->
    move_hugetlb_page_tables: flush_hugetlb_tlb_range() after the loop, under i_mmap_rwsem)."""
    def flushes_after(call, caller_body):
        return any(c.start_byte > call.end_byte for c in P.calls(caller_body, P.FLUSH))
    return P.called_only_where(ctx.parsed_file, ctx.function.name, flushes_after, depth=0)


def _table_detached(ctx) -> bool:
    """A caller detached and flushed the whole page table first (khugepaged's pmdp_collapse_flush())."""
    def detached_before(call, caller_body):
        return any(c.start_byte < call.start_byte for c in P.calls(caller_body, {"pmdp_collapse_flush"}))
    return P.called_only_where(ctx.parsed_file, ctx.function.name, detached_before)


def _only_called_for_non_present(ctx) -> bool:
    """Every in-file path to this function comes through a not-present test (6.12 pte_marker_clear)."""
    return P.called_only_where(ctx.parsed_file, ctx.function.name, P.known_not_present)


def _check_clear(ctx, fn_body, clear):
    name = ctx.call_name(clear)
    if P.is_kernel_mapping(clear) or _not_present(fn_body, clear):
        return None
    if name in P.WRPROTECT_PTE and _FORK_COPY.match(ctx.function.name):
        return None  # fork: dup_mmap() flushes the parent mm once at the end
    event = unflushed_event(fn_body, clear)
    if event is None or P.restored_in_place(fn_body, clear, event.start_byte):
        return None  # flushed in time, or handed back to the caller, who owns the flush; or nothing was removed
    if _flushed_by_callers(ctx) or _table_detached(ctx) or _only_called_for_non_present(ctx):
        return None
    return _finding(ctx, clear, event, name)


def _finding(ctx, clear, event, name):
    ptr = P.pte_pointer(clear) or "ptep"
    line = event.start_point[0] + 1
    ev = ctx.call_name(event)
    when = "the page can be freed" if ev in P.PAGE_FREE else "the page-table lock is dropped"
    if name in P.WRPROTECT_PTE:
        risk = ("a CPU holding the old writable entry keeps writing through it, bypassing the write "
                "protection (lost dirty tracking, or writes into a page now shared for COW)")
    else:
        risk = ("other CPUs may still use the old translation and write to a page that is being freed or "
                "reused, or that folio_mkclean() already saw as clean")
    return ctx.finding(
        clear,
        f"{name}() on `{ptr}` {'write-protects' if name in P.WRPROTECT_PTE else 'may remove'} a present pte, "
        f"but no TLB flush or mmu_gather entry follows before "
        f"{when} ({ev}() on line {line}): {risk}",
        suggestion=("flush before that point: `ptep_clear_flush()` for one pte, or `if (pte_present(old)) "
                    "force_flush = true;` and `flush_tlb_range(vma, start, end)` before `pte_unmap_unlock()`; "
                    "in zap paths `tlb_remove_tlb_entry(tlb, ptep, addr)` and free pages through the mmu_gather"))


def check(ctx):
    if ctx.node is None or ctx.function is None or P.partial_view(ctx) or ctx.function.kind == "macro":
        return  # presence of the pte is decided by conditions a hunk may not show: only whole functions
    if ctx.function.name in P.CLEAR_PTE | P.WRPROTECT_PTE | P.FLUSH or _PRIMITIVE.match(ctx.function.name):
        return  # the primitives' own implementations
    fn_body = P.body(ctx.node)
    if fn_body is None:
        return
    for clear in ctx.calls(names=CHECKED):
        found = _check_clear(ctx, fn_body, clear)
        if found is not None:
            yield found
