"""pte_unmap() gets the pointer pte_offset_map*() returned, and nested maps are undone last-in-first-out.

**What it checks.** The argument of `pte_unmap()` / `pte_unmap_unlock()` is
the pointer a `pte_offset_map*()` / `pte_alloc_map*()` call returned (or that
pointer moved along the table: `pte - 1`), never the address of a pte value
copied onto the stack (`pte_unmap(&orig_pte)`). And when a function holds two
page tables mapped at once (`dst_pte` mapped, then `src_pte`), the one mapped
last is unmapped first: a `pte_unmap(dst_pte)` that runs, on the same path,
before `pte_unmap(src_pte)` with no new map in between is reported.

**Why.** With CONFIG_HIGHPTE (32-bit) page tables live in highmem and
`pte_offset_map()` maps them with `kmap_local_page()`. `pte_unmap()` hands its
argument to `kunmap_local()`, which finds the mapping slot from the address:
a stack address unmaps nothing (or the wrong slot), and kmap_local slots are a
stack, so out-of-order unmaps release the wrong one (highmem.h: "unmapping
must be done in the reverse order of the mapping"). Both went into 6.12's
UFFDIO_MOVE: `move_pages_pte()` unmapped its stack copies `&orig_src_pte` /
`&orig_dst_pte`, and later unmapped `dst_pte` before `src_pte` though it had
mapped `dst_pte` first (stable 6.12.20 and 6.12.46 fixes). On 64-bit the
bug is invisible, so tests do not catch it.

**Example.**

    /* bad */
    dst_pte = pte_offset_map(dst_pmd, dst_addr);
    src_pte = pte_offset_map(src_pmd, src_addr);
    ...
    pte_unmap(&orig_src_pte);
    pte_unmap(dst_pte);
    pte_unmap(src_pte);

    /* good */
    pte_unmap(src_pte);
    pte_unmap(dst_pte);

**How to fix.** Unmap the pointer the map call returned, and release nested
mappings in the reverse order of mapping (as `move_ptes()` does: the new
table first, then the old one).
"""
import re

from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P


UNMAP = frozenset({"pte_unmap", "pte_unmap_unlock"})
_STEP = re.compile(r"\s*[-+]\s*\w+$")  # `pte - 1`: the table pointer moved along


RULE = Rule(id="mm/pte-unmap-mapped-pointer", severity="error", scope="function",
            summary="pte_unmap() gets what pte_offset_map*() returned (not a stack copy), nested maps undone LIFO",
            needs=UNMAP)


def _is_map(name):
    return name.startswith(("pte_offset_map", "__pte_offset_map", "pte_alloc_map"))


def _base(arg):
    return _STEP.sub("", P.norm(P.text(arg)))


def check(ctx):
    if ctx.node is None or not ctx.whole:
        return
    unmaps = ctx.calls(names=UNMAP)
    for call in unmaps:
        arg = P.args(call)[:1]
        if arg and P.unwrap(arg[0]).type == "pointer_expression" and P.text(arg[0]).lstrip("( ").startswith("&"):
            yield ctx.finding(call, f"{ctx.call_name(call)}() is given `{P.text(arg[0])}`, the address of a pte "
                              "copied onto the stack: it must get the pointer pte_offset_map*() returned "
                              "(with CONFIG_HIGHPTE, kunmap_local() of a stack address)",
                              suggestion="unmap the mapped pointer (e.g. `src_pte`), not `&orig_src_pte`")
    yield from _out_of_order(ctx, unmaps)


def _out_of_order(ctx, unmaps):
    """Two tables mapped in one function: the first-mapped one unmapped first, on the same path."""
    first_map = {}
    for call in ctx.calls():
        if _is_map(ctx.call_name(call)):
            for name in P.assigned_to(call):
                first_map.setdefault(name, call.start_byte)
    if len(set(first_map.values())) < 2:
        return
    g = cfg_of(ctx.node)
    maps = [ctx.call_name(c) for c in ctx.calls() if _is_map(ctx.call_name(c))]
    for early in unmaps:
        a = _base(P.args(early)[0]) if P.args(early) else None
        for late in unmaps:
            b = _base(P.args(late)[0]) if P.args(late) else None
            if a not in first_map or b not in first_map or first_map[a] >= first_map[b]:
                continue  # `early` must release the table mapped first
            if late.start_byte < early.start_byte or _reset_between(ctx, b, early, late):
                continue  # `src_pte = NULL` after unmapping it early: that later unmap is of nothing
            if g.reaches(early, late, avoiding=maps):
                yield ctx.finding(early, f"`{a}` is unmapped before `{b}`, which was mapped after it: kmap_local "
                                  "mappings (CONFIG_HIGHPTE) must be released in reverse order",
                                  severity="warning", suggestion=f"unmap `{b}` first, then `{a}`")
                break


def _reset_between(ctx, name, a, b):
    return any(a.end_byte <= n.start_byte < b.start_byte for n, _ in P.assignments(ctx.node, name))
