"""A retry loop does not round its own input down by a granularity that changes per iteration.

**What it checks.** Inside a loop, `x = round_down(x, g)` (or `ALIGN_DOWN()`,
`round_up()`, `ALIGN()`) where `g` depends on a variable the loop itself
changes (`pages = 1UL << order; ... order = next_order(...)`) and `x` is not
set afresh in the loop (assigned or declared there). Each iteration rounds the already rounded value: the
coarsest granularity of an earlier iteration sticks, and a smaller order tried
later starts from the wrong place. Rounding into a new variable
(`aligned = round_down(index, pages)`) is what such loops do.

**Why.** Large-folio allocation paths try the highest suitable order first
and fall back to smaller ones. 6.12's `shmem_alloc_and_add_folio()` did
`index = round_down(index, pages)` in that loop, so after a failed 2 MiB
attempt the 64 KiB attempt used the 2 MiB-aligned index: the folio landed
at the wrong offset of the file (stable 6.12.59 "mm/shmem: fix THP allocation
and fallback loop"). The same shape breaks any retry loop over orders, sizes
or alignments.

**Example.**

    /* bad */
    while (suitable_orders) {
            pages = 1UL << order;
            index = round_down(index, pages);
            folio = shmem_alloc_folio(gfp, order, info, index);
            if (folio)
                    goto allocated;
            order = next_order(&suitable_orders, order);
    }

    /* good */
            aligned_index = round_down(index, pages);
            folio = shmem_alloc_folio(gfp, order, info, aligned_index);
            if (folio) {
                    index = aligned_index;
                    goto allocated;
            }

**How to fix.** Round into a separate variable and keep the loop's input
as it was; commit the rounded value only once an attempt succeeds.
"""
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P


ROUNDING = frozenset({"round_down", "round_up", "ALIGN_DOWN", "ALIGN"})
_LOOPS = "[(for_statement) (while_statement) (do_statement)] @l"


RULE = Rule(id="mm/loop-rounding-compounds", severity="warning", scope="function",
            summary="a retry loop does not round its own input by a granularity that changes per iteration",
            needs=ROUNDING)


def _assigned_in(ctx, loop):
    """Names assigned (or declared: fresh each iteration) anywhere in the loop, header included."""
    out: dict = {}
    for a in ctx.captures("[(assignment_expression) (update_expression) (init_declarator)] @a", loop).get("a", []):
        field = {"assignment_expression": "left", "update_expression": "argument"}.get(a.type, "declarator")
        target = a.child_by_field_name(field)
        out.setdefault(P.norm(P.text(P.declared_name(target) if a.type == "init_declarator" else target)),
                       []).append(a)
    return out


def check(ctx):
    if ctx.node is None or not ctx.whole:
        return
    for loop in ctx.captures(_LOOPS).get("l", []):
        assigned = _assigned_in(ctx, loop)
        for call in ctx.calls(loop, ROUNDING):
            names = P.assigned_to(call)
            arg = P.arg_text(call, 0)
            if not names or names[0] != arg or len(assigned.get(arg, ())) != 1:
                continue  # not `x = round_down(x, ..)`, or x is set afresh in the loop
            grain = P.args(call)[1] if len(P.args(call)) > 1 else None
            varying = sorted({P.text(n) for n in P.walk(grain) if n.type == "identifier"
                              and P.text(n) in assigned}) if grain is not None else []
            if varying:
                yield ctx.finding(call, f"`{arg}` is rounded in place by `{P.text(grain)}`, which changes each "
                                  f"iteration (`{varying[0]}` is set in the loop): an earlier, coarser rounding "
                                  "sticks for the later tries", suggestion=f"round into a new variable "
                                  f"(`aligned = {ctx.call_name(call)}({arg}, ...)`) and keep `{arg}`")
