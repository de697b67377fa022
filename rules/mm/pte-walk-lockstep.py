"""In a pte walk the table pointer and the address advance together.

**What it checks.** A loop that steps the address by pages in its header
(`addr += PAGE_SIZE` in the `for` update or the `do .. while (..)` condition)
walks a page table: every iteration is one pte. A `pte++` (or `pte += n`) of a
`pte_t *` in the loop body that only runs under a condition (inside an `if`
arm, e.g. `err = fn(pte++, addr, data)` only for non-none ptes) moves the
pointer on some iterations only, so from the first skipped pte on, the pte
and the address disagree. The usual shapes are accepted: both advanced in the
header, both in the body, and `if (!pte++) pte = pte_offset_map(..)` (the
increment is in the condition, so it runs every time), and `pte--; addr -= PAGE_SIZE;`
in one arm (redo an entry).

**Why.** A pte that does not belong to `addr` is read, modified or passed to a
callback with the wrong address: a walker that skips none ptes works on the
wrong entries after the first hole. Linux 6.12.25 fixed this in
`apply_to_pte_range()`, which broke `apply_to_existing_page_range()`
(stable "mm: fix apply_to_existing_page_range()").

**Example.**

    /* bad */
    do {
            if (create || !pte_none(ptep_get(pte))) {
                    err = fn(pte++, addr, data);
                    if (err)
                            break;
            }
    } while (addr += PAGE_SIZE, addr != end);

    /* good */
    do {
            if (create || !pte_none(ptep_get(pte))) {
                    err = fn(pte, addr, data);
                    if (err)
                            break;
            }
    } while (pte++, addr += PAGE_SIZE, addr != end);

**How to fix.** Advance the pte pointer in the same place as the address
(the loop header), or advance both together in the body.
"""
from reviewkit.rules import Rule
from reviewkit.rules.lib import pte as P

RULE = Rule(id="mm/pte-walk-lockstep", severity="warning", scope="function",
            summary="a pte walk advances the pte pointer with the address, not only on some iterations",
            needs=("PAGE_SIZE",))

_DECLS = "[(declaration type: (type_identifier) @t) (parameter_declaration type: (type_identifier) @t)] @d"
_STEPS = "[(update_expression) (assignment_expression)] @s"


def _pte_pointers(ctx):
    names = set()
    for d in ctx.captures(_DECLS).get("d", []):
        if P.text(d.child_by_field_name("type")) != "pte_t":
            continue
        for decl in d.children_by_field_name("declarator"):
            if decl.type == "init_declarator":
                decl = decl.child_by_field_name("declarator")
            if decl is not None and decl.type == "pointer_declarator":
                names.add(P.norm(P.text(P.declared_name(decl))))
    return names


def _advanced(step, names):
    """The pte pointer a `p++` / `++p` / `p += n` / `p = p + n` moves, or None."""
    if step.type == "update_expression":
        target = step.child_by_field_name("argument")
    elif P.text(step.child_by_field_name("operator")) in ("+=", "-="):
        target = step.child_by_field_name("left")
    else:
        return None
    name = P.norm(P.text(target))
    return name if name in names else None


def _header_step(loop):
    """The expression that ends each iteration: the for update, or the do-while condition."""
    return loop.child_by_field_name("update") if loop.type == "for_statement" else \
        loop.child_by_field_name("condition") if loop.type == "do_statement" else None


def check(ctx):
    if ctx.node is None or not ctx.whole:
        return
    names = _pte_pointers(ctx)
    if not names:
        return
    for loop in ctx.captures("[(for_statement) (do_statement)] @l").get("l", []):
        step = _header_step(loop)
        if step is None or "PAGE_SIZE" not in P.text(step):
            continue
        body = loop.child_by_field_name("body")
        for inc in ctx.captures(_STEPS, body).get("s", []) if body is not None else ():
            name = _advanced(inc, names)
            arm = next((a for a in P.ancestors(inc, body) if a.parent is not None and a.parent.type == "if_statement"
                        and a.parent.child_by_field_name("condition") != a), None)
            if name and arm is not None and _innermost_loop(inc, body) == loop and not _address_too(ctx, arm):
                yield ctx.finding(inc, f"`{name}` advances only when this branch runs, but the address advances "
                                  "every iteration: from the first skipped entry on, the pte and the address "
                                  "disagree", suggestion=f"advance `{name}` with the address in the loop step")


def _address_too(ctx, arm):
    """`pte--; addr -= PAGE_SIZE;` in the same arm (redo this entry): they still move together."""
    return any(P.text(a.child_by_field_name("operator")) in ("+=", "-=") and "PAGE_SIZE" in P.text(a)
               for a in ctx.captures("(assignment_expression) @a", arm).get("a", []))


def _innermost_loop(node, body):
    for a in P.ancestors(node, body):
        if a.type in ("for_statement", "do_statement", "while_statement"):
            return a
    return body.parent
