"""A pte found by page_vma_mapped_walk() is tested with pte_present() before it is used as a present pte.

**What it checks.** In a function that walks a folio's mappings with
`page_vma_mapped_walk()`, the pte the walk stops at (`pvmw.pte`, `pvmw->pte`, a local copy of
it, or a value read from it with `ptep_get()`) must be known present (the statement runs only
under `pte_present(entry)` found true, or in the hugetlb arm) before it is used as one: its
value handed to `pte_pfn()`, `pte_page()`, `pte_write()`, `pte_dirty()`, `pte_young()`,
`vm_normal_page()`, or the pointer to `ptep_clear_flush_young*()`, `ptep_clear_young_notify()`,
`ptep_test_and_clear_young()`, `ptep_set_wrprotect()`. Walks with `PVMW_MIGRATION` stop only at
migration entries and are held to the same test. The walker itself (mm/page_vma_mapped.c) is
not checked. A use the function already made before the patch (the same text, as often) is neither
reported nor listed as resolved when the patch only rewrites its line (MGLRU's rewrite of the
`pte_young(*pvmw.pte)` condition in folio_referenced_one()).

**Why.** page_vma_mapped_walk() does not stop at present ptes only: without PVMW_MIGRATION
it also returns device-private and device-exclusive entries that map the folio (check_pte()
matches their pfn), and with PVMW_MIGRATION only migration entries. `pte_pfn()` or
`pte_young()` of such a swap pte reads swap bits as pfn and flags; `ptep_clear_flush_young()`
on it modifies a non-present entry. Upstream fixed this site by site ("mm: fixes for
device-exclusive entries": write_protect_page(), page_idle_clear_pte_refs_one(),
folio_referenced_one(), try_to_migrate_one() each gained a `pte_present()` test), and
try_to_unmap_one() reads `if (likely(pte_present(pteval))) pfn = pte_pfn(pteval); else ...`.

**Example.**

    /* bad */
    while (page_vma_mapped_walk(&pvmw)) {
            if (pvmw.pte && ptep_clear_young_notify(vma, pvmw.address, pvmw.pte))
                    referenced = true;

    /* good */
    while (page_vma_mapped_walk(&pvmw)) {
            pte_t pteval = ptep_get(pvmw.pte);

            if (likely(pte_present(pteval)) &&
                ptep_clear_young_notify(vma, pvmw.address, pvmw.pte))
                    referenced = true;

**How to fix.** Read the entry (`ptep_get(pvmw.pte)`), test `pte_present()`, and handle the
non-present case (a device-exclusive or device-private entry: decode it with
`pte_to_swp_entry()` / `softleaf_from_pte()`; or skip it).
"""
from reviewkit.rules import Rule
from reviewkit.rules.lib import entries as E
from reviewkit.rules.lib import pte as P

RULE = Rule(id="mm/pvmw-pte-not-present", severity="warning", scope="function",
            summary="a pte found by page_vma_mapped_walk() is tested with pte_present() before pte_pfn/young/...",
            needs=("page_vma_mapped_walk",))

VALUE_USES = frozenset({"pte_pfn", "pte_page", "pte_write", "pte_dirty", "pte_young", "vm_normal_page",
                        "vm_normal_folio"})
#: pointer uses: name -> index of the pte pointer argument
POINTER_USES = {"ptep_clear_flush_young": 2, "ptep_clear_flush_young_notify": 2, "ptep_clear_young_notify": 2,
                "ptep_test_and_clear_young": 2, "ptep_set_wrprotect": 2}
#: calls whose truth on every path means the pte is present, or the folio cannot be device memory
PRESENT_IF_TRUE = frozenset({"pte_present"})
NOT_DEVICE_IF_TRUE = frozenset({"folio_test_hugetlb"})
DEVICE_IF_FALSE = frozenset({"folio_is_zone_device", "folio_is_device_private", "is_zone_device_page"})


def walk_pointers(fn_body) -> set:
    """Spellings of the walk's pte pointer: `pvmw.pte`, `pvmw->pte` and locals copied from them."""
    out = {P.norm(P.text(n)) for n in P.nodes_of_type(fn_body, "field_expression")
           if P.norm(P.text(n)) in ("pvmw.pte", "pvmw->pte")}
    for ptr in list(out):
        for n in P.nodes_of_type(fn_body, "init_declarator") + P.nodes_of_type(fn_body, "assignment_expression"):
            value = n.child_by_field_name("right" if n.type == "assignment_expression" else "value")
            if value is not None and P.norm(P.text(value)) == ptr:
                target = n.child_by_field_name("left") if n.type == "assignment_expression" else \
                    P.declared_name(n.child_by_field_name("declarator"))
                out.add(P.norm(P.text(target)))
    return out


def _uses(fn_body, pointers):
    entry = set().union(*(E.same_entry(fn_body, f"*{p}") for p in pointers))
    for call in P.calls(fn_body, VALUE_USES | set(POINTER_USES)):
        name = P.call_name(call)
        if name in POINTER_USES:
            if P.arg_text(call, POINTER_USES[name]) in pointers:
                yield call, entry
        elif P.arg_text(call, 1 if name.startswith("vm_normal") else 0) in entry:
            yield call, entry


def unsafe_uses(fn_node) -> list:
    """The walk's pte used as present with no pte_present() test on the way, in a function."""
    fn_body = P.body(fn_node) if fn_node is not None else None
    if fn_body is None or not P.calls(fn_body, {"page_vma_mapped_walk"}):
        return []
    pointers = walk_pointers(fn_body)
    return [use for use, entry in (_uses(fn_body, pointers) if pointers else ())
            if not (E.known(use, entry, PRESENT_IF_TRUE) or E.known(use, None, NOT_DEVICE_IF_TRUE, DEVICE_IF_FALSE))]


def check(ctx):
    if ctx.node is None or ctx.function is None or ctx.function.kind != "function" or P.partial_view(ctx) \
            or (ctx.function.path or "").endswith("page_vma_mapped.c"):
        return
    found = unsafe_uses(ctx.node)
    other = ctx.function.before if ctx.side == "after" else ctx.function.after
    if found and other is not None:  # on a rewritten line: neither introduced nor resolved by the patch
        found = E.new_since(found, unsafe_uses(other.node))
    for use in found:
        name = ctx.call_name(use)
        yield ctx.finding(
            E.anchor(use),
            f"{name}() treats the pte page_vma_mapped_walk() stopped at as present, but no pte_present() "
            f"test comes first: the walk also stops at device-exclusive/device-private entries (and only "
            f"at migration entries with PVMW_MIGRATION), whose swap bits would be read as pfn and flags",
            suggestion="read it with `pteval = ptep_get(pvmw.pte)` and handle `!pte_present(pteval)` first "
                       "(decode it with pte_to_swp_entry()/softleaf_from_pte(), or skip it)")
