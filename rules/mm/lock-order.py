"""Locks are taken in the order the tree documents ("Lock ordering in mm").

**What it checks.** The order is read from the tree being checked: the indented lock trees
at the top of mm/rmap.c ("Lock ordering in mm:") and mm/filemap.c ("Lock ordering:"), each
lock taken before the locks indented under it (reviewkit.code.lockorder; an order the two
files document both ways, such as hugetlb's `i_mmap_rwsem` before `folio_lock`, decides
nothing). In a function, when a lock of one class is held (taken by `mmap_read_lock()`,
`folio_lock()`, `i_mmap_lock_write()`, `anon_vma_lock_write()`, `pte_offset_map_lock()`,
`pmd_lock()`, `spin_lock(ptl)`, `folio_lruvec_lock*()`, `filemap_invalidate_lock()`, ...)
and a path from there reaches a blocking acquisition of a class the tree puts *before* it,
without the first being released on the way, the second acquisition is reported. Trylocks
are not acquisitions here: taking a lock out of order with a trylock (and backing off) is
how the kernel does it on purpose. Without a tree the rule is silent.

**Why.** Two paths taking two locks in opposite orders deadlock (ABBA). The order is
documented exactly so that new code can be checked against it; lockdep finds a violation
only when both orders run on a test machine. `folio_lock()` under the page-table lock is
also a sleep in atomic context.

**Example.**

    /* bad: mmap_lock before folio_lock, says mm/rmap.c */
    folio_lock(folio);
    mmap_read_lock(mm);

    /* good */
    mmap_read_lock(mm);
    folio_lock(folio);

    /* good: out of order, but only tried */
    folio_lock(folio);
    if (!mmap_read_trylock(mm))
            goto unlock_folio;

**How to fix.** Take the outer lock first, or drop the inner one before taking it, or use
the trylock variant and back off when it fails.
"""
from reviewkit.code import lockorder as L
from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import entries as E
from reviewkit.rules.lib import pte as P


_orders: dict = {}


RULE = Rule(id="mm/lock-order", severity="warning", scope="function",
            summary="locks are taken in the order mm/rmap.c and mm/filemap.c document (no ABBA within a function)",
            needs=[name for names in L.ACQUIRE.values() for name in names] + ["spin_lock"])


def documented(ctx):
    tree = ctx.tree_after()
    if tree is None or not hasattr(tree, "read_text"):
        return set()
    key = id(tree)
    hit = _orders.get(key)
    if hit is None or hit[0] is not tree:
        hit = _orders[key] = (tree, L.documented_order(tree.read_text))
    return hit[1]


def acquisitions(ctx):
    """(call, class) for each blocking lock acquisition of the function, in order."""
    out = []
    for call in ctx.calls():
        cls = L.call_class(ctx.call_name(call), P.arg_text(call, 0) or "")
        if cls is not None:
            out.append((call, cls))
    return out


def check(ctx):
    if ctx.node is None or ctx.function is None or ctx.function.kind != "function" or P.partial_view(ctx):
        return
    order = documented(ctx)
    taken = acquisitions(ctx) if order else []
    if len({cls for _c, cls in taken}) < 2:
        return
    g = cfg_of(ctx.node)
    for first, held in taken:
        for later, cls in taken:
            if (cls, held) not in order or later.start_byte <= first.end_byte:
                continue
            if not g.reaches(first, later, avoiding=L.RELEASE.get(held, ())):
                continue  # released first, or on another path
            yield ctx.finding(
                E.anchor(later), f"{ctx.call_name(later)}() takes {cls} while {held} is held (taken by "
                       f"{ctx.call_name(first)}() on line {first.start_point[0] + 1}), but the tree documents "
                       f"{cls} before {held} (mm/rmap.c / mm/filemap.c \"Lock ordering\"): two paths taking "
                       f"them in opposite orders deadlock",
                suggestion=f"take {cls} first, drop {held} before taking it, or use the trylock variant and "
                           "back off when it fails")
            break
