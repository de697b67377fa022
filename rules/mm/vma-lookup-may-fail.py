"""find_vma() / vma_lookup() may return NULL: test the VMA before dereferencing it.

**What it checks.** A VMA pointer stored from `find_vma()`, `vma_lookup()`,
`find_vma_prev()` or `find_extend_vma_locked()` whose first dereference
(`vma->...`) after the call is reached without a test that it is not NULL
(`if (!vma)`, `vma && ...`, `!vma || ...`, `if (unlikely(!vma))`): the guard must
dominate the dereference in the control-flow graph. Passing the pointer on,
returning it, or overwriting it ends the check. Not checked: the lookup of a
VMA's neighbour, `find_vma(mm, vma->vm_end)`, in the VMA adjust paths of 6.1
and 6.12 (`__vma_adjust()`, `vma_adjust_trans_huge()`): their callers pass a
range that extends past `vma->vm_end`, so that VMA exists.

**Why.** `find_vma(mm, addr)` returns NULL when no VMA ends above `addr`, and
for an mm that has no VMA at all (a process whose mappings were all unmapped,
a kernel thread's borrowed mm); `vma_lookup()` returns NULL when nothing
covers `addr`. `migrate_pages(2)` reached `find_vma(mm, 0)->vm_start` on such
an mm and oopsed (stable 6.12.5 "mm/mempolicy: fix migrate_to_node() assuming
there is at least one VMA in a MM", a bug since 2.6.16).

**Example.**

    /* bad */
    mmap_read_lock(mm);
    vma = find_vma(mm, 0);
    nr = queue_pages_range(mm, vma->vm_start, mm->task_size, ...);

    /* good */
    vma = find_vma(mm, 0);
    if (unlikely(!vma)) {
            mmap_read_unlock(mm);
            return 0;
    }

**How to fix.** Test the pointer right after the lookup and handle the
no-VMA case (unlock and return).
"""
from reviewkit.code.cfg import cfg_of
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P


LOOKUPS = frozenset({"find_vma", "vma_lookup", "find_vma_prev", "find_extend_vma_locked"})


RULE = Rule(id="mm/vma-lookup-may-fail", severity="warning", scope="function",
            summary="find_vma() / vma_lookup() may return NULL: test before vma->...",
            needs=LOOKUPS)


def _first_use(fn_body, name, after):
    """The first mention of `name` after byte `after`, or None."""
    later = [o for o in P.occurrences(fn_body, name) if o.start_byte >= after]
    return min(later, key=lambda o: o.start_byte) if later else None


def _dereferenced(occ):
    parent = occ.parent
    return parent is not None and parent.type == "field_expression" and \
        parent.child_by_field_name("argument") == occ and P.text(parent.child_by_field_name("operator")) == "->"


def check(ctx):
    if ctx.node is None or not ctx.whole or ctx.function.name in LOOKUPS:
        return
    g = cfg_of(ctx.node)
    body = P.body(ctx.node)
    for call in ctx.calls(names=LOOKUPS):
        if (P.arg_text(call, 1) or "").endswith("->vm_end"):
            continue  # the next VMA, which a range beyond vma->vm_end says exists
        for name in P.assigned_to(call)[:1]:
            use = _first_use(body, name, call.end_byte)
            if use is None or not _dereferenced(use):
                continue
            if any(gd.subject == name.replace(" ", "") and gd.value is True for gd in g.guards(use)):
                continue
            yield ctx.finding(call, f"`{name}` from {ctx.call_name(call)}() is dereferenced on line "
                              f"{use.start_point[0] + 1} without a NULL test: there may be no VMA there "
                              "(or none at all in this mm)",
                              suggestion=f"test it first: `if (!{name}) {{ ...unlock...; return ...; }}`")
