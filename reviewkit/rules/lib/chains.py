"""If/else-if dispatch chains over entry kinds (mm-rules.md §3 R1 step 3).

A chain starts at an `if_statement` that is not itself the `else` of another
one and follows `else if` links. Each arm has its condition (None for the
final `else`), its body, and the names called in the condition; callers map
those names to kinds with a registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import tree_sitter

from ...code import memo


@dataclass(frozen=True)
class Arm:
    condition: Optional[tree_sitter.Node]   # None: the final else
    body: tree_sitter.Node
    calls: tuple                             # names called in the condition
    negated: frozenset                       # of those, the ones under a `!`


@dataclass(frozen=True)
class Chain:
    head: tree_sitter.Node
    arms: tuple                              # Arm, ...

    @property
    def default(self) -> Optional[Arm]:
        return self.arms[-1] if self.arms and self.arms[-1].condition is None else None


def _calls(node: tree_sitter.Node) -> list[tuple[str, bool]]:
    """(name, negated) for each call in an expression."""
    out = []
    stack = [(node, False)]
    while stack:
        n, neg = stack.pop()
        if n.type == "call_expression":
            fn = n.child_by_field_name("function")
            if fn is not None and fn.type == "identifier":
                out.append((fn.text.decode("utf-8", "replace"), neg))
        if n.type == "unary_expression" and n.text[:1] == b"!":
            neg = not neg
        stack.extend((c, neg) for c in reversed(n.named_children))
    return out


def _arm(condition: Optional[tree_sitter.Node], body: tree_sitter.Node) -> Arm:
    calls = _calls(condition) if condition is not None else []
    return Arm(condition, body, tuple(dict.fromkeys(c for c, _ in calls)),
               frozenset(c for c, neg in calls if neg))


def chain_at(if_node: tree_sitter.Node) -> Chain:
    arms = []
    node: Optional[tree_sitter.Node] = if_node
    while node is not None:
        arms.append(_arm(node.child_by_field_name("condition"), node.child_by_field_name("consequence")))
        alt = node.child_by_field_name("alternative")
        node = None
        if alt is not None:
            inner = alt.named_children[0] if alt.named_children else None
            if inner is not None and inner.type == "if_statement":
                node = inner
            elif inner is not None:
                arms.append(_arm(None, inner))
    return Chain(if_node, tuple(arms))


def chains(node: tree_sitter.Node) -> Iterator[Chain]:
    """Every chain in a function (or fragment), outermost first (in source order)."""
    for n in memo.query_nodes(node, "(if_statement) @if", "if"):
        if not (n.parent is not None and n.parent.type == "else_clause"):
            yield chain_at(n)


def arms(node: tree_sitter.Node) -> Iterator[Arm]:
    """Every conditional arm in a function, whichever chain it belongs to."""
    for chain in chains(node):
        yield from chain.arms
