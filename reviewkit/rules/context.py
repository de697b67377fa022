"""What a rule sees (Context) and how it says what it found (Context.finding).

A rule's `check(ctx)` yields Findings made with `ctx.finding(...)`. Scopes:

- series:   once per series: ctx.series, ctx.patches
- patch:    once per patch: ctx.patch (commit message, trailers, files)
- function: once per touched function and side: ctx.function (FunctionChange),
            ctx.node (its tree-sitter node on this side), ctx.side ("after", or
            "before" to find what the patch resolves), ctx.file (FileChange)
- tree:     once per patch, for what a registry change makes wrong elsewhere:
            ctx.registry_before / ctx.registry_after, ctx.index, ctx.tree
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Union

import tree_sitter

from ..code import memo
from ..code.analysis import Analysis
from ..code.changes import FileChange, FunctionChange
from ..code.cparse import ParsedFile
from ..code.memo import query  # noqa: F401 (rules import it from here)
from ..model import Finding, Patch, Series
from ..pipeline import Parsed

SEVERITIES = ("error", "warning", "note")
SCOPES = ("series", "patch", "function", "tree")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Rule:
    """A rule's metadata; its documentation is the module docstring."""
    id: str
    severity: str
    scope: str
    summary: str
    # function rules: names or literals without which the rule cannot fire on a function (its
    # trigger: the grab, the clear, the lock...). The engine skips the rule on a function whose
    # text on both sides (and its changed lines) contains none of them. Empty: always run.
    needs: tuple = ()

    def __post_init__(self) -> None:
        if isinstance(self.needs, str) or not all(isinstance(n, str) and n for n in self.needs):
            raise ValueError(f"{self.id}: needs is a collection of non-empty strings")
        object.__setattr__(self, "needs", tuple(sorted(set(self.needs))))
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.id}: severity must be one of {SEVERITIES}")
        if self.scope not in SCOPES:
            raise ValueError(f"{self.id}: scope must be one of {SCOPES}")
        if "/" not in self.id:
            raise ValueError(f"{self.id}: ids look like area/kebab-name")


def fingerprint(rule: str, path: Optional[str], function: Optional[str], snippet: str) -> str:
    key = "|".join((rule, path or "", function or "", _WS.sub(" ", snippet).strip()))
    return hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]




def patch_lines(patch: Patch, kind: str) -> frozenset:
    """Whitespace-normalised text of every line a patch adds ("+") or removes ("-"), in any
    file; computed once per patch (rules ask for it for every function)."""
    attr = "_norm_removed" if kind == "-" else "_norm_added"
    cached = getattr(patch, attr, None)
    if cached is None:
        cached = frozenset(" ".join(ln.text.split()) for f in patch.files for h in f.hunks
                           for ln in h.lines if ln.kind == kind and ln.text.strip())
        object.__setattr__(patch, attr, cached)
    return cached


def function_text(fchange: Optional[FileChange], func: FunctionChange) -> str:
    """All a function rule can read of one changed function: its name, its text on both sides (real
    and as tree-sitter saw it) and the lines the patch adds and removes in it (what rules read
    when a side did not parse). Rule.needs is tested against this."""
    parts = [func.name]
    for fn in (func.before, func.after):
        if fn is not None and fn.node is not None:
            parts.append(fn.node.text.decode("utf-8", "replace"))
            if fn.source:
                parts.append(fn.text_of(fn.node))
    if fchange is not None:
        for side, lines in (("before", func.removed_lines), ("after", func.added_lines)):
            split = image_lines(fchange, side) if lines else []
            parts.extend(split[n - 1] for n in sorted(lines) if 0 < n <= len(split))
    return "\n".join(dict.fromkeys(parts))  # the real text is often the text tree-sitter saw


def image_lines(fchange: Optional[FileChange], side: str) -> list:
    """This side's text of a changed file (a sparse image when there is no tree), split once per
    file and side: every rule asks for it for every function."""
    if fchange is None:
        return []
    cache = fchange.__dict__.setdefault("_lines", {})
    if side not in cache:
        text = fchange.images.after if side == "after" else fchange.images.before
        cache[side] = text.split("\n") if text else []
    return cache[side]


class Context:
    def __init__(self, rule: Rule, parsed: Parsed, analysis: Analysis, series: Series,
                 patch: Optional[Patch] = None, file: Optional[FileChange] = None,
                 function: Optional[FunctionChange] = None, side: str = "after", services=None,
                 series_index: int = 0):
        self.rule = rule
        self.series_index = series_index
        self.parsed = parsed
        self.analysis = analysis
        self.series = series
        self.patch = patch
        self.file = file
        self.function = function
        self.side = side
        self._services = services

    # --- what is being checked ---------------------------------------------------------

    @property
    def patches(self) -> list[Patch]:
        return [self.parsed.patches[m] for m in self.series.patches if m in self.parsed.patches]

    @property
    def parsed_file(self) -> Optional[ParsedFile]:
        if self.file is None:
            return None
        return self.file.after if self.side == "after" else self.file.before

    @property
    def node(self) -> Optional[tree_sitter.Node]:
        """The function's node on this side (None when the function does not exist there)."""
        fn = self.fn
        return fn.node if fn is not None else None

    @property
    def fn(self):
        if self.function is None:
            return None
        return self.function.after if self.side == "after" else self.function.before

    @property
    def whole(self) -> bool:
        """Is ctx.node the whole function? Without a tree it may be a fragment: the part of a
        function one hunk shows, parsed on its own (code above and below it is unknown)."""
        fn = self.fn
        return fn is not None and fn.kind != "fragment"

    @property
    def changed_lines(self) -> frozenset:
        """Lines this patch adds (after side) or removes (before side) in this function."""
        if self.function is None:
            return frozenset()
        return self.function.added_lines if self.side == "after" else self.function.removed_lines

    @property
    def low_confidence(self) -> bool:
        return self.function is not None and self.function.parse_health < 1.0

    @property
    def tree(self):
        return self.analysis.trees.get(self.series_index)

    @property
    def index(self):
        return self._services.index(self) if self._services else None

    @property
    def registry_before(self):
        """Entry kinds and predicates of the tree before this patch (reviewkit.code.registry)."""
        return self._services.registry(self, "before") if self._services else None

    @property
    def registry_after(self):
        """The same after this patch (and the earlier patches of its series)."""
        return self._services.registry(self, "after") if self._services else None

    def registry(self, side: str = "after", sites: bool = False):
        """A registry with its dispatch sites scanned (`sites=True` costs a pass over the tree)."""
        return self._services.registry(self, side, sites) if self._services else None

    def tree_after(self):
        """The tree as this patch leaves it (the base tree with the series applied so far)."""
        if self._services is None or self.patch is None:
            return self.tree
        return self._services.overlays.get(self.patch.message.msgid, self.tree)

    # --- helpers on tree-sitter nodes ----------------------------------------------------

    def text(self, node: tree_sitter.Node, fn=None) -> str:
        """The real source text of a node of this function (or of `fn`, another cparse.Function)."""
        fn = fn or self.fn
        if fn is not None and fn.source:
            return fn.text_of(node)
        return node.text.decode("utf-8", "replace")

    @staticmethod
    def lines(node: tree_sitter.Node) -> tuple[int, int]:
        return node.start_point[0] + 1, node.end_point[0] + 1

    def touches_change(self, node: tree_sitter.Node) -> bool:
        """Does the node span a line this patch added (after) or removed (before)?"""
        a, b = self.lines(node)
        return any(a <= ln <= b for ln in self.changed_lines)

    def captures(self, pattern: str, node: Optional[tree_sitter.Node] = None) -> dict:
        """What `pattern` captures under `node` (default: the function); shared by every rule
        asking the same of the same node."""
        node = node if node is not None else self.node
        if node is None:
            return {}
        return memo.captures(node, query(pattern), pattern)

    def calls(self, node: Optional[tree_sitter.Node] = None, names: Optional[Iterable[str]] = None) -> list:
        """call_expression nodes under `node` (default: the function) whose callee is a plain name, in
        source order, optionally by name."""
        node = node if node is not None else self.node
        if node is None:
            return []
        if names is None:
            return [c for c, _name in memo.named_calls(node)]
        wanted = names if isinstance(names, (set, frozenset, dict)) else set(names)
        return [c for c, name in memo.named_calls(node) if name in wanted]

    @staticmethod
    def call_name(call: tree_sitter.Node) -> str:
        fn = call.child_by_field_name("function")
        return fn.text.decode("utf-8", "replace") if fn is not None else ""

    # --- reporting ---------------------------------------------------------------------

    def finding(self, where: Union[tree_sitter.Node, int, None], message: str, *, severity: Optional[str] = None,
                suggestion: str = "", related: tuple = (), path: Optional[str] = None,
                function: Optional[str] = None, snippet: Optional[str] = None,
                confidence: Optional[str] = None) -> Finding:
        """A Finding at a node (or a line of this file, or None for the commit message)."""
        if isinstance(where, tree_sitter.Node):
            line, end = self.lines(where)
            text = snippet if snippet is not None else self.text(where)
        else:
            line, end = where, where
            text = snippet if snippet is not None else self._line_text(where)
        path = path if path is not None else (self.function.path if self.function else None)
        function = function if function is not None else (self.function.name if self.function else None)
        conf = confidence or ("low" if self.low_confidence else "high")
        if (severity or self.rule.severity) not in SEVERITIES:
            raise ValueError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        return Finding(
            rule=self.rule.id, severity=severity or self.rule.severity, message=message, path=path, line=line,
            function=function, patch=self.patch.message.msgid if self.patch else None,
            fingerprint=fingerprint(self.rule.id, path, function, text), end_line=end, side=self.side,
            snippet=text, suggestion=suggestion, related=tuple(related), confidence=conf,
        )

    def _image_lines(self) -> list:
        return image_lines(self.file, self.side)

    def _line_text(self, line: Optional[int]) -> str:
        lines = self._image_lines()
        return lines[line - 1] if line and 0 < line <= len(lines) else ""

    def removed_in_patch(self) -> frozenset:
        """Whitespace-normalised text of every line this patch removes, in any file: code that
        reappears on a `+` line was moved, not written (e.g. a function split in two)."""
        return self._patch_lines("-")

    def added_in_patch(self) -> frozenset:
        """Whitespace-normalised text of every line this patch adds, in any file."""
        return self._patch_lines("+")

    def _patch_lines(self, kind: str) -> frozenset:
        return patch_lines(self.patch, kind) if self.patch is not None else frozenset()

    def changed_line_texts(self) -> list[tuple[int, str]]:
        """(line, text) of the lines this patch adds (after) or removes (before) in this function:
        what a rule can still read when the function did not parse (or there is no tree)."""
        lines = self._image_lines()
        return [(n, lines[n - 1]) for n in sorted(self.changed_lines) if 0 < n <= len(lines)]
