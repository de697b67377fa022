"""Page tables and pages mapped with kmap_local are unmapped in the reverse order of mapping.

**What it checks.** Two mappings held at once in one function, each made by a call that
maps through kmap_local with CONFIG_HIGHPTE / HIGHMEM (`pte_offset_map()`,
`pte_offset_map_nolock()`, `pte_offset_map_rw_nolock()`, `pte_offset_map_lock()`,
`kmap_local_page()`, `kmap_local_folio()`, `kmap_atomic()`): when the one mapped first is
unmapped (`pte_unmap()`, `pte_unmap_unlock()`, `kunmap_local()`, `kunmap_atomic()`) on a
path that then goes on to unmap the one mapped second, the order is first-in-first-out.
Paths come from the control-flow layer: `if (src_pte) pte_unmap(src_pte);` under a NULL
test counts as the unmap on the paths where it runs.

**Why.** kmap_local slots are a per-CPU stack: "kunmap_local() ... must be called in the
reverse order of the kmap_local_*() calls" (Documentation/mm/highmem.rst). Unmapping out of
order unmaps the wrong slot and trips `WARN_ON_ONCE(idx != ...)` in kunmap_local_indexed().
6.12.46 fixed this in move_pages_pte() ("mm/userfaultfd: fix kmap_local LIFO ordering for
CONFIG_HIGHPTE": dst_pte mapped first, so src_pte must be unmapped first).

**Example.**

    /* bad */
    dst_pte = pte_offset_map(dst_pmd, dst_addr);
    src_pte = pte_offset_map(src_pmd, src_addr);
    ...
    pte_unmap(dst_pte);
    pte_unmap(src_pte);

    /* good */
    pte_unmap(src_pte);
    pte_unmap(dst_pte);

**How to fix.** Unmap in reverse order of mapping (LIFO).
"""
from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import entries as E
from reviewkit.rules.lib import pte as P


MAPS = frozenset({"pte_offset_map", "pte_offset_map_nolock", "pte_offset_map_rw_nolock", "pte_offset_map_lock",
                  "kmap_local_page", "kmap_local_folio", "kmap_atomic", "pte_offset_map_ro_nolock"})
UNMAPS = frozenset({"pte_unmap", "pte_unmap_unlock", "kunmap_local", "kunmap_atomic"})


RULE = Rule(id="mm/kmap-local-lifo", severity="warning", scope="function",
            summary="pte_offset_map()/kmap_local mappings are unmapped in reverse order (LIFO)",
            needs=MAPS)


def _unmaps(ctx, name):
    return [c for c in ctx.calls(names=UNMAPS) if P.arg_text(c, 0) == name]


def _ends(name):
    """Statements after which the mapping held in `name` is gone: its unmap, a new value."""
    def stop(ast) -> bool:
        return any(P.arg_text(c, 0) == name for c in P.calls(ast, UNMAPS)) or bool(P.assignments(ast, name))
    return stop


def check(ctx):
    if ctx.node is None or ctx.function is None or ctx.function.kind != "function" or P.partial_view(ctx):
        return
    maps = [(m, P.assigned_to(m)[0]) for m in ctx.calls(names=MAPS) if P.assigned_to(m)]
    if len(maps) < 2:
        return
    g = cfg_of(ctx.node)
    for first, a in maps:
        for second, b in maps:
            if a == b or second.start_byte <= first.end_byte:
                continue
            first_out = {ctx.call_name(c) for c in _unmaps(ctx, a)}
            if not g.reaches(first, second, avoiding=first_out):
                continue  # never held together
            ends_b = _ends(b)
            for ua in _unmaps(ctx, a):
                if not g.reaches(second, ua, stop=ends_b):
                    continue  # `b` is already unmapped (or replaced) when `a` is
                later = next((ub for ub in _unmaps(ctx, b) if g.reaches(ua, ub, stop=_ends(a), nonnull=b)), None)
                if later is None:
                    continue
                yield ctx.finding(
                    E.anchor(ua),
                    f"`{a}` (mapped first, line {first.start_point[0] + 1}) is unmapped before `{b}` (mapped "
                    f"second, line {second.start_point[0] + 1}; unmapped on line {later.start_point[0] + 1}): "
                    f"kmap_local mappings (CONFIG_HIGHPTE) must be released in reverse order",
                    suggestion=f"unmap `{b}` first, then `{a}`")
                return
