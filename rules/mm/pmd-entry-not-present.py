"""A pmd read from the page table is known present before it is used as a huge page.

**What it checks.** A pmd value the function reads itself (`*pmd`, `pmdp_get(pmd)`,
`pmdp_get_lockless(pmd)`, or a variable assigned from one) and then hands to an accessor
that only means something for a present huge pmd (`pmd_folio()`, `pmd_page()`, `pmd_pfn()`,
`pmd_write()`, `pmd_dirty()`, `pmd_young()`, `pmd_pgprot()`) must be known present where
that happens: the statement runs only when `pmd_present()`, `pmd_trans_huge()`,
`pmd_devmap()` or `is_huge_zero_pmd()` was found true of it, or a test for non-present pmd
entries was found false (`is_pmd_migration_entry()`, `is_swap_pmd()`, `pmd_none_or_clear_bad()`,
`pmd_trans_unstable()`, and the pmd-level entry tests the tree's registry finds, such as
mainline's `pmd_is_migration_entry()` / `pmd_is_valid_softleaf()` from
include/linux/leafops.h, or `softleaf_is_migration()` / `is_migration_entry()` of an entry decoded
from the pmd with `softleaf_from_pmd()` / `pmd_to_swp_entry()`). Guards are read from the control-flow layer: an arm of
`if (pmd_present(x))`, the code after `if (!pmd_present(x)) goto out;`, and the then-arm of
`if (pmd_trans_huge(x) && ...)` all count. A pmd that arrives as a `pmd_t` parameter is the
caller's to check and is not reported.

**Why.** `pmd_trans_huge_lock()` returns the lock for a pmd migration entry too (a swap pmd),
and `pmd_leaf()` is not a presence test on every architecture. `pmd_folio()` of a migration
entry decodes swap bits as a pfn: a wild struct page. 6.12.43 fixed exactly this in
UFFDIO_MOVE ("userfaultfd: fix a crash in UFFDIO_MOVE when PMD is a migration entry": "Can
be a migration entry", `if (pmd_present(*src_pmd))` around `pmd_folio(*src_pmd)`), and
6.12.81 in follow_pfnmap_start() (`if (!pmd_present(pmd)) goto out;`). mm/huge_memory.c
handles it everywhere: `if (unlikely(!pmd_present(orig_pmd))) { VM_BUG_ON(thp_migration_supported()
&& !is_pmd_migration_entry(orig_pmd)); goto out; }`.

**Example.**

    /* bad: src_pmd may hold a migration entry */
    ptl = pmd_trans_huge_lock(src_pmd, vma);
    folio = pmd_folio(*src_pmd);

    /* good */
    ptl = pmd_trans_huge_lock(src_pmd, vma);
    if (pmd_present(*src_pmd)) {
            folio = pmd_folio(*src_pmd);
            ...
    }

**How to fix.** Test `pmd_present()` (or `is_pmd_migration_entry()` and back off, e.g.
`migration_entry_wait` / `-EAGAIN`) before decoding the pmd as a huge page.
"""
from reviewkit.rules import Rule
from reviewkit.rules.lib import entries as E
from reviewkit.rules.lib import pte as P


PRESENT_ONLY = frozenset({"pmd_folio", "pmd_page", "pmd_pfn", "pmd_write", "pmd_dirty", "pmd_young", "pmd_pgprot"})
PRESENT_IF_TRUE = frozenset({"pmd_present", "pmd_trans_huge", "pmd_devmap", "is_huge_zero_pmd", "pmd_is_huge"})
_DECODERS = frozenset({"softleaf_from_pmd", "pmd_to_swp_entry"})
PRESENT_IF_FALSE = frozenset({"is_pmd_migration_entry", "is_swap_pmd", "pmd_none_or_clear_bad", "pmd_bad",
                              "pmd_trans_unstable", "pmd_none_or_trans_huge_or_clear_bad", "pmd_is_migration_entry",
                              "pmd_is_valid_softleaf", "pmd_is_device_private_entry",
                              "softleaf_is_migration", "is_migration_entry"})  # of an entry decoded from it


RULE = Rule(id="mm/pmd-entry-not-present", severity="warning", scope="function",
            summary="a pmd read from the table is known present (not a migration entry) before pmd_folio/pmd_page/...",
            needs=PRESENT_ONLY)


def _decoded(fn_body, spellings) -> set:
    """Entries decoded from the pmd (`entry = softleaf_from_pmd(pmdval)`, `pmd_to_swp_entry()`): a
    test of them (`softleaf_is_migration(entry)`) is a test of the pmd."""
    return {target for call in P.calls(fn_body, _DECODERS) if P.arg_text(call, 0) in spellings
            for target in P.assigned_to(call)}


def _non_present_tests(ctx) -> frozenset:
    """The tree's pmd-level entry tests (registry level decoders taking a pmd), plus the known ones."""
    reg = ctx.registry_after
    derived = {n for n in getattr(reg, "level_decoders", ()) if "pmd" in n}
    return PRESENT_IF_FALSE | derived


_LOCKS = frozenset({"pmd_lock", "pmd_trans_huge_lock", "__pmd_trans_huge_lock", "spin_lock", "pmd_huge_lock"})
_KERNEL_TABLES = ("vmalloc", "ptdump", "vmemmap", "debug_vm_pgtable", "ioremap", "kasan", "memremap")


def _callers_check(ctx) -> bool:
    """Every in-file caller calls this function only under a presence test of some pmd."""
    def site_ok(call, caller_body):
        return any(x.kind == "test" and x.call in PRESENT_IF_TRUE and x.value is True
                   or x.kind == "test" and x.call in PRESENT_IF_FALSE and x.value is False
                   for x in E.guard_facts(call))
    return P.called_only_where(ctx.parsed_file, ctx.function.name, site_ok, depth=1)


def _callers_entry(ctx, fn_body, spellings) -> bool:
    """A pmd pointer handed in by a caller that also holds its lock: the caller checked it."""
    params = {P.norm(P.text(n)) for n in P.nodes_of_type(ctx.node.child_by_field_name("declarator"), "identifier")}
    ptrs = {s[1:] for s in spellings if s.startswith("*")}
    return bool(ptrs & params) and not ctx.calls(names=_LOCKS)


def _exempt(ctx, fn_body, value) -> bool:
    text = P.text(fn_body)
    if any(k in (ctx.function.path or "") for k in _KERNEL_TABLES) or "init_mm" in text:
        return True  # kernel page tables hold no migration entries
    ptr = value.lstrip("*")
    from_walk = "pvmw" in value or any("pvmw" in P.text(v) for _n, v in P.assignments(fn_body, ptr))
    return from_walk and "PVMW_MIGRATION" not in text  # the walk then returns present huge pmds only


def check(ctx):
    if ctx.node is None or ctx.function is None or ctx.function.kind != "function" or P.partial_view(ctx):
        return
    fn_body = P.body(ctx.node)
    if fn_body is None or ctx.function.name.startswith(("pmd_", "pmdp_")):
        return
    if_false = None
    for use in ctx.calls(names=PRESENT_ONLY):
        value = E.argument_entry(use)
        if not value or _exempt(ctx, fn_body, value):
            continue
        spellings = E.same_entry(fn_body, value)
        spellings |= _decoded(fn_body, spellings)
        if not any(s.startswith(("*", "pmdp_get", "READ_ONCE")) for s in spellings):
            continue  # a pmd the caller handed over (or built here): not read from the table here
        if_false = if_false or _non_present_tests(ctx)
        if E.known(use, spellings, PRESENT_IF_TRUE, if_false) or _callers_entry(ctx, fn_body, spellings) \
                or _callers_check(ctx):
            continue
        name = ctx.call_name(use)
        yield ctx.finding(
            E.anchor(use),
            f"{name}(`{value}`) decodes the pmd as a present huge page, but nothing on the way here tests "
            f"that it is present: a pmd migration entry (or another non-present softleaf entry) passes "
            f"pmd_trans_huge_lock() and would be decoded as a pfn",
            suggestion=f"test it first: `if (!pmd_present({value})) {{ /* migration entry: wait or back off */ }}`, "
                       f"or handle is_pmd_migration_entry({value}) before this point")
