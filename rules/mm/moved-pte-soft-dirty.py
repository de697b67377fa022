"""A pte or pmd moved to another address is marked soft-dirty.

**What it checks.** A function that takes an entry down at one address
(`ptep_get_and_clear()`, `ptep_clear_flush()`, `pmdp_huge_get_and_clear()`,
`pmdp_huge_clear_flush()`, on a source pointer) and installs one at another
address through another pointer (`set_pte_at()`, `set_pmd_at()`) moves a
mapping: mremap's `move_ptes()` / `move_huge_pmd()`, UFFDIO_MOVE's
`move_present_pte()` / `move_swap_pte()`. Between the two, on a path from one
to the other, the new entry must be marked soft-dirty: `move_soft_dirty_pte()`,
`pte_mksoft_dirty()`, `pte_swp_mksoft_dirty()`, `move_soft_dirty_pmd()`,
`pmd_mksoft_dirty()`, `pmd_swp_mksoft_dirty()` (present and swap entries
alike). A clear and a store at the same address (migration, KSM, protection
changes) is not a move, nor is a pmd taken down and ptes stored (a split).

**Why.** Soft-dirty tracking (`/proc/pid/clear_refs` + pagemap, used by CRIU
for incremental checkpoints) must see that memory at the destination changed:
the page contents did not change, but the address now maps different data.
mremap marks every moved entry (`move_soft_dirty_pte()`); 6.12's UFFDIO_MOVE
did not, and marked present ptes hardware-dirty instead (stable 6.12.30
"mm: userfaultfd: correct dirty flags set for both present and swap pte").

**Example.**

    /* bad */
    orig_src_pte = ptep_get_and_clear(mm, src_addr, src_pte);
    set_pte_at(mm, dst_addr, dst_pte, orig_src_pte);

    /* good */
    orig_src_pte = ptep_get_and_clear(mm, src_addr, src_pte);
    #ifdef CONFIG_MEM_SOFT_DIRTY
    orig_src_pte = pte_swp_mksoft_dirty(orig_src_pte);
    #endif
    set_pte_at(mm, dst_addr, dst_pte, orig_src_pte);

**How to fix.** Pass the entry through `move_soft_dirty_pte()` (or the
`_pmd` / `_swp_` variant matching the entry) before storing it.
"""
from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P


# take-down -> the store of the same level (a pmd taken down and ptes stored is a split, not a move)
TAKE_DOWN = {"ptep_get_and_clear": "set_pte_at", "ptep_clear_flush": "set_pte_at",
             "pmdp_huge_get_and_clear": "set_pmd_at", "pmdp_huge_clear_flush": "set_pmd_at"}
STORE = frozenset(TAKE_DOWN.values())
SOFT_DIRTY = frozenset({"move_soft_dirty_pte", "pte_mksoft_dirty", "pte_swp_mksoft_dirty", "move_soft_dirty_pmd",
                        "pmd_mksoft_dirty", "pmd_swp_mksoft_dirty"})


RULE = Rule(id="mm/moved-pte-soft-dirty", severity="warning", scope="function",
            summary="an entry moved to another address (mremap, UFFDIO_MOVE) is marked soft-dirty",
            needs=STORE)


def _where(call):
    """(address, entry pointer) arguments of a take-down or store call."""
    return P.arg_text(call, 1), P.arg_text(call, 2)


def check(ctx):
    if ctx.node is None or not ctx.whole:
        return
    g = cfg_of(ctx.node)
    marks = ctx.calls(names=SOFT_DIRTY)
    downs = ctx.calls(names=TAKE_DOWN)
    for store in ctx.calls(names=STORE):
        addr, ptr = _where(store)
        for down in downs:
            src_addr, src_ptr = _where(down)
            if TAKE_DOWN[ctx.call_name(down)] != ctx.call_name(store) or src_addr == addr or src_ptr == ptr \
                    or not g.reaches(down, store):
                continue  # not a move, or not on one path
            if any(g.reaches(down, m) and g.reaches(m, store) for m in marks):
                continue
            yield ctx.finding(store, f"the entry taken down at `{src_addr}` is installed at `{addr}` without being "
                              "marked soft-dirty: soft-dirty trackers (CRIU) miss the move",
                              suggestion="mark it with move_soft_dirty_pte() / pte_swp_mksoft_dirty() "
                                         "(pmd: move_soft_dirty_pmd()) before the store")
            break
