"""A page table mapped without its lock is re-checked under the lock before its ptes are changed.

**What it checks.** After `pte_offset_map_nolock()` (6.5+) or `pte_offset_map_rw_nolock()`
(6.13+) hands back a pte table and its lock, and the function takes that lock
(`spin_lock(ptl)`), every change to a pte of that table (`set_pte_at()`, `set_ptes()`,
`ptep_get_and_clear*()`, `pte_clear()`, `ptep_set_wrprotect()`, ...) must run only after a
re-check made on every path: `pte_same()` against the value read before, or `pmd_same()`
against the pmd the table was mapped from (the `pmdval` out-parameter of
`pte_offset_map_rw_nolock()`). Exempt: the pmd lock is held on every path (`pmd_lock()`),
or the mmap lock is held for write (`mmap_write_lock()`, `vma_start_write()`,
`mmap_assert_write_locked()`; also when a function of the same file that calls this one,
directly or not, takes it, as mremap's move_ptes() is reached), which keeps page tables from
being freed or replaced.

**Why.** Without the lock the pmd can change under the caller: khugepaged can collapse the
table (retract_page_tables() frees it after RCU), a THP can be installed, or the pmd cleared.
The pte table and lock the caller got may no longer be the ones the pmd points to, so a
change made under that lock lands in a detached table and is lost, or races with the new
owner. include/linux/mm.h (6.13+): "pte_offset_map_rw_nolock ... the caller needs to recheck
pmd_same(pmdval, pmdp_get_lockless(pmd)) after taking the PTL" unless it holds the mmap lock
for write or the pmd lock; upstream converted collapse_pte_mapped_thp() for exactly this
("we should get pgt_pmd and do pmd_same() check after the ptl held").

**Example.**

    /* bad */
    pte = pte_offset_map_nolock(mm, pmd, addr, &ptl);
    spin_lock(ptl);
    pte_clear(mm, addr, pte);

    /* good */
    pte = pte_offset_map_rw_nolock(mm, pmd, addr, &pmdval, &ptl);
    spin_lock(ptl);
    if (unlikely(!pmd_same(pmdval, pmdp_get_lockless(pmd))))
            goto unlock_retry;
    pte_clear(mm, addr, pte);

**How to fix.** Use `pte_offset_map_rw_nolock()` and re-check `pmd_same()` (or `pte_same()`
of the entry you read) once the lock is held; back off and retry when it changed. Or take
`pte_offset_map_lock()`, which re-checks for you.
"""
from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import entries as E
from reviewkit.rules.lib import pte as P


NOLOCK = {"pte_offset_map_nolock": 3, "pte_offset_map_rw_nolock": 4}
WRITES = P.CLEAR_PTE | P.WRPROTECT_PTE | frozenset(P.STORE_PTE) - {"set_pmd_at"}
RECHECKS = frozenset({"pte_same", "pmd_same"})
HELD = frozenset({"pmd_lock", "mmap_write_lock", "mmap_write_lock_killable", "vma_start_write",
                  "mmap_assert_write_locked"})
_SPIN = frozenset({"spin_lock", "spin_lock_nested", "spin_lock_irq", "spin_trylock"})


RULE = Rule(id="mm/pte-nolock-recheck", severity="warning", scope="function",
            summary="ptes of a table mapped by pte_offset_map_*nolock() change only after a pmd_same/pte_same recheck",
            needs=NOLOCK)


def _table_write(call, names: set) -> bool:
    ptr = P.pte_pointer(call) or ""
    return any(n in names for n in P.norm(ptr).replace("+", " ").replace("-", " ").split()) or ptr in names


def _callers_hold(ctx) -> bool:
    """A function of the file that (transitively) calls this one takes the mmap lock for write
    (mremap: move_ptes() <- move_page_tables() <- ... <- the syscall's mmap_write_lock_killable())."""
    return any(P.calls(f.node, HELD) for f in P.in_file_ancestors(ctx.parsed_file, ctx.function.name))


def check(ctx):
    if ctx.node is None or ctx.function is None or ctx.function.kind != "function" or P.partial_view(ctx):
        return
    maps = ctx.calls(names=NOLOCK)
    if not maps:
        return
    g = cfg_of(ctx.node)
    for mapped in maps:
        lock = (P.arg_text(mapped, NOLOCK[ctx.call_name(mapped)]) or "").lstrip("&")
        tables = set(P.assigned_to(mapped))
        tables |= {P.norm(P.text(n.child_by_field_name("left")))  # `pte = start_pte` walks the same table
                   for n in P.nodes_of_type(ctx.node, "assignment_expression")
                   if set(P.norm(P.text(n.child_by_field_name("right"))).replace("+", " ").split()) & tables}
        takes = [c for c in ctx.calls(names=_SPIN) if P.arg_text(c, 0) == lock and g.reaches(mapped, c)]
        for write in ctx.calls(names=WRITES):
            if not _table_write(write, tables) or not any(g.reaches(t, write) for t in takes):
                continue
            if E.known(write, None, RECHECKS, RECHECKS) or g.called_before(write, HELD) or _callers_hold(ctx):
                continue
            yield ctx.finding(
                E.anchor(write),
                f"{ctx.call_name(write)}() changes a pte of the table {ctx.call_name(mapped)}() mapped "
                f"without its lock (line {mapped.start_point[0] + 1}), but after `spin_lock({lock})` nothing "
                f"re-checks that the pmd still points to that table: khugepaged may have collapsed it or "
                f"the pmd changed, and the change lands in a detached table",
                suggestion="map it with pte_offset_map_rw_nolock(..., &pmdval, &ptl) and, with the lock held, "
                           "`if (unlikely(!pmd_same(pmdval, pmdp_get_lockless(pmd)))) goto retry;` (or re-check "
                           "pte_same() of the entry read before)")
            break
