"""Answers that many rules ask of the same tree-sitter node (the calls in a function, a query's
captures, its control-flow graph), computed once and shared.

Keyed by the node's id and byte range, and confirmed by node equality (same tree): trees
reparsed incrementally share unchanged subtrees, so an id alone can name nodes of two trees.
The cache keeps the node, so its tree stays alive and its ids are not reused while cached.
`ENABLED = False` turns sharing off (every caller computes afresh): the no-loss test compares.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, TypeVar

import tree_sitter

T = TypeVar("T")

ENABLED = True
KEPT = 4096
_kept: "OrderedDict[tuple, tuple]" = OrderedDict()
_QUERIES: dict = {}  # pattern -> compiled query


def per_node(what: str, node: tree_sitter.Node, compute: Callable[[tree_sitter.Node], T]) -> T:
    """compute(node), once per (what, node) while it stays among the last KEPT answers. Callers
    must not change what they get back (return tuples or copy)."""
    if not ENABLED:
        return compute(node)
    key = (what, node.id, node.start_byte, node.end_byte)
    hit = _kept.get(key)
    if hit is not None and hit[0] == node:
        _kept.move_to_end(key)
        return hit[1]
    value = compute(node)
    _kept[key] = (node, value)
    if len(_kept) > KEPT:
        _kept.popitem(last=False)
    return value


def query(pattern: str) -> tree_sitter.Query:
    """A compiled tree-sitter query, compiled once per process (rules call this in loops)."""
    q = _QUERIES.get(pattern)
    if q is None:
        from .cparse import LANGUAGE
        q = _QUERIES[pattern] = tree_sitter.Query(LANGUAGE, pattern)
    return q


def query_nodes(node: tree_sitter.Node, pattern: str, capture: str) -> tuple:
    """The nodes `pattern` captures as `capture` under `node`, in source order (outer first)."""
    def find(n):
        got = tree_sitter.QueryCursor(query(pattern)).captures(n).get(capture, [])
        return tuple(sorted({(c.start_byte, -c.end_byte, c.id): c for c in got}.values(),
                            key=lambda c: (c.start_byte, -c.end_byte)))
    return per_node(f"query:{capture}:{pattern}", node, find)


def calls(node: tree_sitter.Node) -> tuple:
    """Every call_expression under `node` (itself included), in source order, outer calls first."""
    return query_nodes(node, "(call_expression) @call", "call")


def named_calls(node: tree_sitter.Node) -> tuple:
    """(call, name) of every call under `node` whose callee is a plain name, in source order."""
    def find(n):
        out = []
        for c in calls(n):
            fn = c.child_by_field_name("function")
            if fn is not None and fn.type == "identifier":
                out.append((c, fn.text.decode("utf-8", "replace")))
        return tuple(out)
    return per_node("named_calls", node, find)


def captures(node: tree_sitter.Node, query: tree_sitter.Query, pattern: str) -> dict:
    """QueryCursor(query).captures(node), as tree-sitter orders them (a fresh dict of fresh lists)."""
    got = per_node(f"captures:{pattern}", node,
                   lambda n: {k: tuple(v) for k, v in tree_sitter.QueryCursor(query).captures(n).items()})
    return {k: list(v) for k, v in got.items()}
