"""tree-sitter-c over normalised kernel source: functions, macros, parse health, calls.

`parse_source()` returns a ParsedFile whose functions carry their extent
(1-based inclusive lines, byte range), their node in the tree, and their
parse health: the share of their bytes outside ERROR nodes (1.0 = clean).
A check that depends on a function with health < 1 must lower its
confidence rather than trust the tree.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional

import tree_sitter
import tree_sitter_c

from .normalize import normalize

LANGUAGE = tree_sitter.Language(tree_sitter_c.language())
CALLS_QUERY = tree_sitter.Query(LANGUAGE, "(call_expression function: (identifier) @callee)")
_ERRORS = tree_sitter.Query(LANGUAGE, "(ERROR) @e")


def make_parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(LANGUAGE)


@dataclass(frozen=True)
class Function:
    name: str
    kind: str                 # function | macro
    start_line: int           # 1-based, inclusive
    end_line: int
    start_byte: int
    end_byte: int
    health: float             # 1.0 = no ERROR/MISSING node inside
    node: Optional[tree_sitter.Node] = field(default=None, compare=False, hash=False, repr=False)
    source: bytes = field(default=b"", compare=False, hash=False, repr=False)  # the real bytes `node` indexes

    def text_of(self, node: tree_sitter.Node) -> str:
        """Real source text of a node inside this function (tree-sitter saw the normalised bytes)."""
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    @property
    def lines(self) -> tuple[int, int]:
        return self.start_line, self.end_line


@dataclass
class ParsedFile:
    path: str
    source: bytes             # the real bytes (not normalised)
    tree: Optional[tree_sitter.Tree]
    functions: list[Function]

    def text(self, fn: Function) -> str:
        return self.source[fn.start_byte:fn.end_byte].decode("utf-8", "replace")

    def function_at(self, line: int) -> Optional[Function]:
        best = None
        for fn in self.functions:
            if fn.start_line <= line <= fn.end_line and (best is None or fn.start_line >= best.start_line):
                best = fn
        return best


def _declarator_name(node: tree_sitter.Node) -> Optional[str]:
    """Name of a function_definition: follow declarator fields down to the identifier."""
    d = node.child_by_field_name("declarator")
    seen = 0
    while d is not None and seen < 16:
        seen += 1
        if d.type == "function_declarator":
            inner = d.child_by_field_name("declarator")
            while inner is not None and inner.type in ("parenthesized_declarator", "pointer_declarator",
                                                       "attributed_declarator"):
                inner = inner.child_by_field_name("declarator") or (inner.named_children[0] if inner.named_children else None)
            if inner is not None and inner.type in ("identifier", "field_identifier"):
                return inner.text.decode("utf-8", "replace")
            return None
        d = d.child_by_field_name("declarator")
    return None


def _health(node: tree_sitter.Node) -> float:
    if not node.has_error:
        return 1.0
    size = max(1, node.end_byte - node.start_byte)
    bad = 0
    cursor = tree_sitter.QueryCursor(_ERRORS)
    spans = sorted((n.start_byte, n.end_byte) for n in cursor.captures(node).get("e", []))
    end = -1
    for a, b in spans:  # union of possibly nested ERROR spans
        if b <= end:
            continue
        bad += b - max(a, end)
        end = b
    missing = _count_missing(node)
    return max(0.0, round(1.0 - bad / size - 0.01 * missing, 3)) if (bad or missing) else 0.99


def _count_missing(node: tree_sitter.Node) -> int:
    count = 0
    stack = [node]
    while stack:
        n = stack.pop()
        if n.is_missing:
            count += 1
        if n.has_error:
            stack.extend(n.children)
    return count


def _collect(node: tree_sitter.Node, out: list[Function], source: bytes = b"") -> None:
    """Functions and function-like macros at file level (also inside #if blocks and ERROR nodes)."""
    for child in node.children:
        t = child.type
        if t == "function_definition":
            name = _declarator_name(child)
            if name:
                out.append(Function(name, "function", child.start_point[0] + 1, _end_line(child),
                                    child.start_byte, child.end_byte, _health(child), child, source))
        elif t == "preproc_function_def":
            name_node = child.child_by_field_name("name")
            if name_node is not None:
                out.append(Function(name_node.text.decode("utf-8", "replace"), "macro", child.start_point[0] + 1,
                                    _end_line(child), child.start_byte, child.end_byte, _health(child), child,
                                    source))
        elif t in ("preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef",
                   "ERROR", "linkage_specification", "declaration_list"):
            _collect(child, out, source)


def _end_line(node: tree_sitter.Node) -> int:
    # a node ending at column 0 ends with the newline of the line before
    row, col = node.end_point
    return row if col == 0 and row > node.start_point[0] else row + 1


# Content-addressed: sha1 of a file version's bytes -> (tree, functions). A series touches the same
# files patch after patch (the post-image of patch N is the pre-image of N+1), so each version is
# parsed once per process; trees are immutable and Function is frozen, so sharing them is safe.
_PARSED: "OrderedDict[bytes, tuple]" = OrderedDict()
PARSED_KEPT = 256  # file versions kept at most
# ... and at most this much source: a tree takes ~20 bytes per byte of source (4.4 MB for mm/vmscan.c),
# so ~350 MB at most; enough for every version a 19-patch series of mm/vmscan.c goes through, so that
# `reviewkit serve` lints that series again (one patch edited) without parsing the others again
PARSED_BYTES = 16 * 1024 * 1024


def parse_source(path: str, source: bytes, parser: Optional[tree_sitter.Parser] = None,
                 edited_from: Optional[ParsedFile] = None) -> ParsedFile:
    """`edited_from`: an earlier version of the same file (the pre-image, for a post-image): tree-sitter
    reparses only the span that changed (1-10 ms instead of 20-30 ms for mm/vmscan.c)."""
    key = hashlib.sha1(source).digest()
    hit = _PARSED.get(key)
    if hit is not None:
        _PARSED.move_to_end(key)
    else:
        text = normalize(source)
        old = _PARSED.get(hashlib.sha1(edited_from.source).digest()) if edited_from is not None else None
        parser = parser or make_parser()
        tree = parser.parse(text, _edited(old[0], old[2], text)) if old else parser.parse(text)
        functions: list[Function] = []
        _collect(tree.root_node, functions, source)
        functions.sort(key=lambda f: f.start_byte)
        hit = _PARSED[key] = (tree, tuple(functions), text)
        held = sum(len(v[2]) for v in _PARSED.values())  # at most PARSED_KEPT entries
        while _PARSED and (len(_PARSED) > PARSED_KEPT or held > PARSED_BYTES):
            held -= len(_PARSED.popitem(last=False)[1][2])
    return ParsedFile(path, source, hit[0], list(hit[1]))


def _edited(tree: tree_sitter.Tree, old: bytes, new: bytes) -> tree_sitter.Tree:
    """A copy of `tree` (parsed from `old`) told that the bytes between the common prefix and the
    common suffix of `old` and `new` were replaced, for an incremental reparse of `new`."""
    start = _common_prefix(old, new)
    tail = _common_prefix(old[start:][::-1], new[start:][::-1])
    old_end, new_end = len(old) - tail, len(new) - tail
    edited = tree.copy()  # the tree in the cache stays as it is
    edited.edit(start_byte=start, old_end_byte=old_end, new_end_byte=new_end, start_point=_point(old, start),
                old_end_point=_point(old, old_end), new_end_point=_point(new, new_end))
    return edited


def _common_prefix(a: bytes, b: bytes) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search on slice equality: a few memcmp of the whole file, not a Python loop
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _point(text: bytes, offset: int) -> tuple[int, int]:
    return text.count(b"\n", 0, offset), offset - (text.rfind(b"\n", 0, offset) + 1)


def calls_in(node: tree_sitter.Node) -> list[str]:
    """Names of the functions (and function-like macros) called inside a node, in order."""
    caps = tree_sitter.QueryCursor(CALLS_QUERY).captures(node).get("callee", [])
    caps.sort(key=lambda n: n.start_byte)
    return [n.text.decode("utf-8", "replace") for n in caps]
