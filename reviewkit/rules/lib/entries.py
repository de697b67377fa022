"""Page-table entry values as rules need them: which expressions hold the same entry, and what
the conditions guarding a statement say about it (reviewkit.code.cfg guards).

A value read from a pointer (`pmdval = pmdp_get(pmd)`, `orig = *pmd`, `READ_ONCE(*pmd)`) and the
pointer's own reads (`*pmd`, `pmdp_get(pmd)`) name one entry: `same_entry()` gives all their
spellings, so `if (!pmd_present(orig)) goto out;` counts for a later `pmd_folio(*pmd)`.
"""
from __future__ import annotations

from typing import Iterable, Optional

import tree_sitter

from ...code.cfg import Guard, cfg_of
from . import pte as P

Node = tree_sitter.Node

#: reads of an entry through its pointer: name -> pointer argument
READERS = {"ptep_get": 0, "ptep_get_lockless": 0, "pmdp_get": 0, "pmdp_get_lockless": 0, "pudp_get": 0,
           "READ_ONCE": None, "huge_ptep_get": -1}


def pointer_read(value: Optional[Node]) -> Optional[str]:
    """The pointer an expression reads the entry through (`*pmd`, `pmdp_get(pmd)`,
    `READ_ONCE(*pmd)`, `huge_ptep_get(mm, addr, ptep)`), or None."""
    value = P.unwrap(value) if value is not None else None
    if value is None:
        return None
    if value.type == "pointer_expression" and P.text(value).lstrip().startswith("*"):
        arg = value.child_by_field_name("argument")
        return P.norm(P.text(arg)) if arg is not None else None
    name = P.call_name(value) if value.type == "call_expression" else ""
    if name in READERS:
        args = P.args(value)
        if not args:
            return None
        if READERS[name] is None:
            return pointer_read(args[0])
        return P.norm(P.text(args[READERS[name]]))
    return None


def same_entry(fn_body: Node, expr: str) -> set:
    """Every spelling of the entry `expr` names in the function: the pointer's reads and the
    variables assigned from them."""
    out = {expr}
    ptrs = set()
    for n in P.nodes_of_type(fn_body, "init_declarator") + P.nodes_of_type(fn_body, "assignment_expression"):
        if n.type == "assignment_expression":
            left, value = n.child_by_field_name("left"), n.child_by_field_name("right")
            name = P.norm(P.text(left)) if left is not None else ""
        else:
            value = n.child_by_field_name("value")
            name = P.norm(P.text(P.declared_name(n.child_by_field_name("declarator"))))
        ptr = pointer_read(value)
        if ptr is not None and (name == expr or _reads(expr, ptr)):
            ptrs.add(ptr)
            out.add(name)
    if expr.startswith("*"):
        ptrs.add(expr[1:])
    for ptr in ptrs:
        out |= {f"*{ptr}", f"*({ptr})"} | {f"{r}({ptr})" for r in ("ptep_get", "pmdp_get", "pmdp_get_lockless",
                                                                     "ptep_get_lockless", "pudp_get")}
        out |= {f"READ_ONCE(*{ptr})"}
    # variables assigned from any of the reads found so far
    for n in P.nodes_of_type(fn_body, "init_declarator") + P.nodes_of_type(fn_body, "assignment_expression"):
        value = n.child_by_field_name("right" if n.type == "assignment_expression" else "value")
        if pointer_read(value) in ptrs:
            target = n.child_by_field_name("left") if n.type == "assignment_expression" else \
                P.declared_name(n.child_by_field_name("declarator"))
            out.add(P.norm(P.text(target)))
    return out


def _reads(expr: str, ptr: str) -> bool:
    return expr in (f"*{ptr}", f"pmdp_get({ptr})", f"ptep_get({ptr})", f"pmdp_get_lockless({ptr})",
                    f"ptep_get_lockless({ptr})", f"READ_ONCE(*{ptr})", f"pudp_get({ptr})")


def guard_facts(node: Node) -> list[Guard]:
    """Atom guards of a node (conditions split at &&, ||, !), nearest first."""
    g = cfg_of(node)
    return [x for x in g.guards(node) if x.kind == "test"] if g is not None else []


def _test_behind(x: Guard, fn_body: Node) -> tuple[str, list, Node]:
    """(call name, argument texts, call node) the atom tests, looking through a variable set
    from a test (`pmd_migration = is_pmd_migration_entry(*pmd); if (pmd_migration)`)."""
    if x.call:
        return x.call, x.args, x.expr
    if x.subject:
        calls = [P.unwrap(v) for _n, v in P.assignments(fn_body, x.subject)
                 if P.unwrap(v) is not None and P.unwrap(v).type == "call_expression"]
        if len(calls) == 1:  # `bool pmd_migration = false;` besides it is fine
            return P.call_name(calls[0]), [P.norm(P.text(a)) for a in P.args(calls[0])], calls[0]
    return "", [], x.expr


def known(node: Node, spellings: Optional[set], when_true: Iterable[str], when_false: Iterable[str] = ()) -> bool:
    """Is `node` reached only through a test saying so about the entry: a call in `when_true` on
    one of its spellings found true, or one in `when_false` found false (on every path: either
    arm of an `||` counts)?  `spellings=None`: whatever the test's arguments."""
    yes, no = frozenset(when_true), frozenset(when_false)
    g = cfg_of(node)
    if g is None:
        return False
    fn_body = g.fn_node

    def says(x: Guard) -> bool:
        if x.kind != "test":
            return False
        name, args, _call = _test_behind(x, fn_body)
        if not ((name in yes and x.value is True) or (name in no and x.value is False)):
            return False
        return spellings is None or any(a in spellings or a.lstrip("&") in spellings or f"*{a}" in spellings
                                        for a in args)

    return g.always_passes(node, says)


def argument_entry(call: Node, index: int = 0) -> Optional[str]:
    """Whitespace-free text of a call's argument (the entry a predicate or accessor reads)."""
    return P.arg_text(call, index)
