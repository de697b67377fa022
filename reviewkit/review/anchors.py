"""Anchor review comments to code: find the patch lines a reply quotes.

A reviewer quotes part of a hunk and writes under it. We take the diff-like
quoted lines (`+`, `-`, context, `@@` headers, `+++ b/path`) of the quote
block, vote for the file whose lines they match (whitespace-insensitive, so
re-indented or mail-mangled quotes still match), align them in order with
that file's lines, and anchor the comment to the last quoted line: its
post-image line number (pre-image for a removed line) and the function it
is in. The function comes from a function definition seen in the hunk
before that line, else from the hunk's section header (git's funcname).

Short lines (`}`, blank, `return 0;`) match too many places to vote; they
only extend an alignment already made. A block anchors only on two
distinctive lines, or one line plus its `@@` header, or one long line that
occurs once in the patch.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Optional

from ..model import Patch
from .model import Anchor
from .text import Block

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")
_FILE = re.compile(r"^(?:diff --git a/\S+ b/(\S+)|\+\+\+ b/(\S+)|--- a/(\S+))\s*$")
_KEYWORDS = frozenset("if for while switch return else do case goto sizeof typedef defined".split())
_DEF = re.compile(r"^([A-Za-z_][\w\s\*,]*?)?\b([A-Za-z_]\w*)\s*\(")
_SYSCALL = re.compile(r"^(?:COMPAT_)?SYSCALL_DEFINE\d\((\w+)")
MIN_KEY = 6        # characters of text (whitespace removed) for a line to vote
LONG_KEY = 25      # one line this long, occurring once in the patch, anchors alone


def function_name(text: str) -> Optional[str]:
    """The function a C line defines (or git's section header names), else None."""
    s = text.rstrip()
    if not s or not (s[0].isalpha() or s[0] == "_") or s.endswith(";"):
        return None
    m = _SYSCALL.match(s)
    if m:
        return "sys_" + m.group(1)
    m = _DEF.match(s)
    if not m or "=" in s[: m.start(2)]:
        return None
    first = s.split(None, 1)[0].split("(")[0]
    if first in _KEYWORDS or m.group(2) in _KEYWORDS:
        return None
    return m.group(2)


def _comment_or_blank(text: str) -> bool:
    s = text.strip()
    return not s or s.startswith(("/*", "*", "//"))


def line_key(kind: str, text: str) -> str:
    return kind + "".join(text.split())


@dataclass
class _Pos:
    hunk: int
    line: object              # model.Line
    function: Optional[str]


class PatchIndex:
    """Per file: the diff's lines in order with their function, and key -> positions."""

    def __init__(self, patch: Patch):
        self.patch = patch
        self.files = []       # (path, [_Pos...], {key: [index...]})
        self.by_path: dict[str, int] = {}
        for fd in patch.files:
            positions: list[_Pos] = []
            keys: dict[str, list[int]] = {}
            for hi, h in enumerate(fd.hunks):
                current = function_name(h.section)
                for ln in h.lines:
                    name = function_name(ln.text)
                    if name:
                        current = name
                    keys.setdefault(line_key(ln.kind, ln.text), []).append(len(positions))
                    positions.append(_Pos(hi, ln, current))
                    if ln.text.startswith("}"):
                        current = None
            # a comment between functions documents the function that follows it (in the
            # same hunk, or first thing in the next one); other code between them is in none
            nxt = None
            for i in range(len(positions) - 1, -1, -1):
                p = positions[i]
                if i + 1 < len(positions) and positions[i + 1].hunk != p.hunk \
                        and not function_name(positions[i + 1].line.text):
                    nxt = None
                if function_name(p.line.text):
                    nxt = p.function
                elif p.function is None and _comment_or_blank(p.line.text):
                    p.function = nxt
                else:
                    nxt = None
            self.by_path[fd.path] = len(self.files)
            if fd.old_path and fd.old_path != fd.path:
                self.by_path.setdefault(fd.old_path, len(self.files))
            self.files.append((fd.path, positions, keys))

    def anchor(self, block: Block) -> Optional[Anchor]:
        """The place in this patch that a quote block's diff lines point at, or None."""
        cands: list[tuple[str, bool]] = []   # (key, strong)
        path_hint: Optional[str] = None
        hunk_hint: Optional[tuple[int, int]] = None
        hint_at = -1
        for ql in block.lines:
            t = ql.text
            m = _HUNK.match(t.strip())
            if m:
                hunk_hint = (int(m.group(1)), int(m.group(2)))
                hint_at = len(cands)
                continue
            fm = _FILE.match(t.strip())
            if fm:
                path_hint = next(g for g in fm.groups() if g)
                continue
            if not t or t[0] not in "+- \t" or t.startswith(("+++ ", "--- ")):
                continue
            kind = t[0] if t[0] in "+-" else " "
            body = t[1:] if t[0] in "+- " else t
            key = line_key(kind, body)
            cands.append((key, len(key) - 1 >= MIN_KEY))
        if not cands:
            return None
        fi = self._best_file(cands, path_hint)
        if fi is None:
            return None
        path, positions, keys = self.files[fi]
        pos = -1
        if hunk_hint is not None:
            for i, p in enumerate(positions):
                h = self.patch.files[fi].hunks[p.hunk]
                if (h.old_start, h.new_start) == hunk_hint:
                    pos = i - 1
                    break
        matched: list[int] = []
        strong_hits = 0
        long_unique = False
        last_cand = -1
        for ci, (key, strong) in enumerate(cands):
            idx = keys.get(key)
            if not idx:
                continue
            if not strong:
                if matched and pos + 1 < len(positions) and idx and pos + 1 in idx:
                    pos += 1  # a short line right after the last match extends it
                    matched.append(pos)
                    last_cand = ci
                continue
            j = bisect.bisect_right(idx, pos)
            if j == len(idx):
                continue
            pos = idx[j]
            matched.append(pos)
            last_cand = ci
            strong_hits += 1
            if len(key) - 1 >= LONG_KEY and len(idx) == 1:
                long_unique = True
        if not matched:
            return None
        if not (strong_hits >= 2 or (strong_hits >= 1 and (hunk_hint is not None or long_unique))):
            return None
        at = positions[matched[-1]]
        ln = at.line
        side = "old" if ln.kind == "-" else "new"
        quoted = tuple(pr.line.kind + pr.line.text for pr in
                       (positions[i] for i in matched[-4:]))
        return Anchor(patch=self.patch.message.msgid, path=path,
                      line=ln.old_line if side == "old" else ln.new_line, side=side,
                      function=at.function, hunk=at.hunk, quoted=quoted, matched=len(matched))

    def _best_file(self, cands: list, path_hint: Optional[str]) -> Optional[int]:
        if path_hint and path_hint in self.by_path:
            return self.by_path[path_hint]
        votes: dict[int, int] = {}
        for key, strong in cands:
            if not strong:
                continue
            for fi, (_, _, keys) in enumerate(self.files):
                if key in keys:
                    votes[fi] = votes.get(fi, 0) + 1
        if not votes:
            return None
        return max(votes, key=lambda f: (votes[f], -f))


def anchor_from_quote(block: Block, patch: str) -> Optional[Anchor]:
    """Place a comment from the quoted hunk alone: `+++ b/path` (or `diff --git`) and `@@ -a,b +c,d @@ fn`.

    For a patch whose copy in the input lacks the quoted lines (a truncated web
    capture). The line is counted from the header down to the last quoted line;
    the result is marked `verified=False`."""
    path = None
    header = None
    counted: list = []
    for ql in block.lines:
        t = ql.text
        fm = _FILE.match(t.strip())
        if fm:
            path = next(g for g in fm.groups() if g)
            continue
        m = _HUNK.match(t.strip())
        if m:
            header = m
            counted = []
            continue
        if header is not None and t and t[0] in "+- \t" and not t.startswith(("+++ ", "--- ")):
            counted.append(t)
    if path is None or header is None or not counted:
        return None
    old_line, new_line = int(header.group(1)) - 1, int(header.group(2)) - 1
    function = function_name(header.group(3).strip())
    last = counted[-1]
    for t in counted:
        kind = t[0] if t[0] in "+-" else " "
        name = function_name(t[1:] if t[0] in "+- " else t)
        if name:
            function = name
        if kind in " -":
            old_line += 1
        if kind in " +":
            new_line += 1
    side = "old" if last[0] == "-" else "new"
    return Anchor(patch=patch, path=path, line=old_line if side == "old" else new_line, side=side,
                  function=function, hunk=0, quoted=tuple(counted[-4:]), matched=0, verified=False)
