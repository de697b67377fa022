"""Repair diffs damaged by web archives, and record every repair.

Archives break diffs in a few ways: long lines wrapped (a `+` line split in
two, `diff --git a/x` and `b/x` on two lines), leading white space stripped
(a context line loses its leading space, so it no longer looks like diff),
runs of white space collapsed, lines or whole files cut off. The hunk
headers' line counts are the strongest signal to undo this: a hunk of
`-405,6 +405,23` holds exactly 6 old and 23 new lines, so each line that is
not diff syntax must be either a context line that lost its space or the
wrapped tail of the line before, and the counts say how many of each there
are. Which ones is decided by how each line looks (a wrapped line follows a
long line that ends with a space, and often starts in lower case).

When the file the diff applies to is available (`lookup(path)` returns its
text at the base), the old side of each hunk (context and removed lines) is
matched against the file with all white space ignored, and rebuilt from the
file byte for byte.

Nothing is repaired silently: each change is a `Repair` (what, where, how
sure), and what cannot be repaired (a truncated patch, lost lines) is a
`Repair` with confidence "lost" plus an error message for the run.

This module does not import unidiff: it only rewrites text, which
`reviewkit.patches` then parses as it parses any diff.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

Lookup = Callable[[str], Optional[str]]

# confidence levels, most to least sure
EXACT, HIGH, MEDIUM, LOW, LOST = "exact", "high", "medium", "low", "lost"

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_HUNK_LOOSE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_GIT_HEADER = re.compile(r"^diff --git (\S+)(?: (\S+))?\s*$")
_FILE_META = re.compile(r"^(index [0-9a-f]+\.\.[0-9a-f]+|new file mode |deleted file mode |old mode |new mode |"
                        r"similarity index |dissimilarity index |rename from |rename to |copy from |copy to |"
                        r"Binary files )")
_DIFF_START = re.compile(r"^(diff --git |--- (?:a/|/dev/null)|\+\+\+ b/|@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@)")
_STAT_SUMMARY = re.compile(r"\b(\d+) files? changed\b")
_STAT_LINE = re.compile(r"^\s*(\S+?)\s*\|\s*(?:\d+|Bin\b)")
WRAP = 78  # archives wrap near here


@dataclass(frozen=True)
class Repair:
    """One change made to a damaged diff (or one part found lost)."""
    kind: str
    where: str
    confidence: str
    detail: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "where": self.where, "confidence": self.confidence, "detail": self.detail}


@dataclass
class DiffResult:
    lines: list                # the repaired diff lines
    end: int                   # index in the input just after the diff
    repairs: list = field(default_factory=list)
    files: list = field(default_factory=list)   # paths, in order
    truncated: bool = False


# --- classifying lines -------------------------------------------------------

def is_hunk_header(line: str) -> bool:
    return bool(_HUNK_LOOSE.match(line))


def _is_file_start(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.startswith("diff --git ") or line.startswith("Index: "):
        return True
    if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
        return True
    return line.startswith("+++ b/") and (i == 0 or not lines[i - 1].startswith("--- "))


def _is_boundary(lines: list[str], i: int) -> bool:
    return is_hunk_header(lines[i]) or _is_file_start(lines, i)


def join_score(prev: str, line: str, indent: int = 0) -> float:
    """How likely `line` is the wrapped tail of `prev` (0..1), from how both look."""
    if not line.strip() or not prev.strip():
        return 0.0
    score = 0.0
    width = len(prev) + indent
    if prev.endswith(" ") or prev.endswith("\t"):
        score += 0.45
    if width >= WRAP - 14:
        score += 0.25
    first = line.split()[0]
    if width + 1 + len(first) > WRAP - 2:
        score += 0.15
    c = line.lstrip()[:1]
    if c.islower() or c in ")],;:.":
        score += 0.1
    elif c.isupper() or c in "#{}/*":
        score -= 0.1
    if len(line) < 30:
        score += 0.05
    tail = prev.rstrip()
    if tail.endswith((";", "{", "}", "*/", ":")) or (tail.endswith(".") and not prev.endswith(" ")):
        score -= 0.2
    return max(0.0, min(1.0, score))


def _diff_kind(line: str) -> str:
    """'+', '-', ' ', '\\', '' (blank), or '?' (not diff syntax: damaged or not part of the diff)."""
    if line == "":
        return ""
    c = line[0]
    if c in "+- \\":
        return c
    return "?"


# --- one hunk ------------------------------------------------------------------

@dataclass
class _Hunk:
    header: str
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str
    body: list = field(default_factory=list)   # repaired lines
    joined: int = 0
    marked: int = 0
    blank: int = 0
    complete: bool = True
    old: int = 0
    new: int = 0


def _parse_header(line: str) -> Optional[_Hunk]:
    m = _HUNK.match(line)
    if not m:
        return None
    return _Hunk(line, int(m.group(1)), int(m.group(2)) if m.group(2) is not None else 1,
                 int(m.group(3)), int(m.group(4)) if m.group(4) is not None else 1, m.group(5) or "")


def _segment_end(lines: list[str], start: int) -> int:
    j = start
    while j < len(lines) and not _is_boundary(lines, j):
        j += 1
    return j


def _fixed(kind: str) -> tuple[int, int]:
    return {"+": (0, 1), "-": (1, 0), " ": (1, 1), "": (1, 1)}.get(kind, (0, 0))


def _plan(lines: list[str], start: int, end: int, h: _Hunk, indent: int) -> tuple[int, set, bool]:
    """Find where the hunk ends and which unmarked lines are wrapped tails.

    Returns (end index, indices to join to the line before, counts met).
    A cut is possible where the fixed lines plus some unmarked lines
    (counted as context) give exactly the header's counts and no diff line
    follows. Each possible cut is scored: an unmarked line taken as context
    costs its likelihood of being a wrapped tail, one joined costs the
    opposite, and code-like lines left out after the cut cost too. The
    cheapest cut wins; its unmarked lines most likely to be wrapped tails
    are joined, the others become context.
    """
    fo = fn = 0
    amb: list[int] = []
    scores: dict[int, float] = {}
    last = lines[start - 1] if start > 0 else h.header  # the header, or the wrapped tail of its section
    limit = end
    feasible: list[tuple[int, int]] = []   # (index of the hunk's last line, unmarked lines taken as context)
    for j in range(start, end):
        line = lines[j]
        kind = _diff_kind(line)
        if (line == "-- " or line.rstrip() == "--") and fo >= h.old_len:
            limit = j
            break  # a signature, not a removed line
        if kind == "?":
            amb.append(j)
            scores[j] = join_score(last, line, indent)
        else:
            o, n = _fixed(kind)
            fo, fn = fo + o, fn + n
        last = line
        need = h.old_len - fo
        if fo - fn != h.old_len - h.new_len or not 0 <= need <= len(amb):
            continue
        nxt = lines[j + 1] if j + 1 < end else None
        if nxt is not None and _diff_kind(nxt) in "+- \\" and _diff_kind(nxt) != "" and \
                not (nxt == "-- " or nxt.rstrip() == "--"):
            continue  # more diff follows: the hunk cannot end here
        feasible.append((j, need))
        if len(feasible) >= 64 or (fo > h.old_len and fn > h.new_len):
            break
    best = None
    for j, need in feasible:
        inside = [a for a in amb if a <= j]
        joins = _pick_joins(inside, scores, len(inside) - need)
        if j in joins and lines[j] and _diff_kind(lines[j]) == "?":
            continue  # the hunk cannot end on a wrapped tail
        cost = sum(scores[a] if a not in joins else 1.0 - scores[a] for a in inside)
        cost += sum(0.7 for x in range(j + 1, limit) if _diff_kind(lines[x]) == "?" and
                    not _looks_like_prose(lines[x]) and x not in joins)
        if best is None or cost < best[0] - 1e-9:
            best = (cost, j, joins)
    if best is not None:
        _, j, joins = best
        stop = j + 1
        while stop < end and _diff_kind(lines[stop]) == "?" and \
                join_score(lines[stop - 1], lines[stop], indent) >= 0.6:
            joins.add(stop)  # wrapped tails of the hunk's last line
            stop += 1
        return stop, joins, True
    # counts never met: lines were lost, the text was cut, or a quote trimmed
    joins = {j for j in amb if j < limit and scores[j] >= 0.5}
    stop = limit
    while stop > start and _diff_kind(lines[stop - 1]) in ("?", "") and stop - 1 not in joins and \
            (lines[stop - 1] == "" or _looks_like_prose(lines[stop - 1])):
        stop -= 1
    return stop, joins, False


def _looks_like_prose(line: str) -> bool:
    words = line.split()
    return len(words) >= 4 and not re.search(r"[;{}()=]|->|\*/", line)


def _pick_joins(amb: list[int], scores: dict[int, float], count: int) -> set:
    if count <= 0:
        return set()
    ranked = sorted(amb, key=lambda j: (-scores[j], j))
    return set(ranked[:count])


def _build_hunk(lines: list[str], start: int, stop: int, joins: set, h: _Hunk) -> None:
    for j in range(start, stop):
        line = lines[j]
        if j in joins:
            if h.body:
                h.body[-1] += line
            else:
                h.section = (h.section + line) if h.section.endswith(" ") else (h.section + " " + line).strip()
            h.joined += 1
            continue
        kind = _diff_kind(line)
        if kind == "?":
            line = " " + line
            h.marked += 1
        elif kind == "":
            line = " "
            h.blank += 1
        h.body.append(line)
    h.old = sum(1 for ln in h.body if ln[:1] in " -")
    h.new = sum(1 for ln in h.body if ln[:1] in " +")


def _render_header(h: _Hunk) -> str:
    return f"@@ -{h.old_start},{h.old} +{h.new_start},{h.new} @@" + (f" {h.section}" if h.section else "")


# --- the tree ------------------------------------------------------------------

def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def restore_from_tree(h: _Hunk, file_lines: list[str], window: int = 300) -> Optional[tuple[int, int]]:
    """Rebuild the old side of a hunk from the file it applies to.

    The old side (context and removed lines, white space ignored) is looked
    for in the file near the line the header names, nearest offset first.
    On a match every context and removed line gets the file's exact text;
    added lines keep theirs. Returns (offset, lines changed) or None.
    """
    old_idx = [k for k, ln in enumerate(h.body) if ln[:1] in " -"]
    if not old_idx:
        return None
    want = [_squash(h.body[k][1:]) for k in old_idx]
    n = len(old_idx)
    base = h.old_start - 1
    squashed: dict[int, str] = {}

    def sq(i: int) -> str:
        if i not in squashed:
            squashed[i] = _squash(file_lines[i])
        return squashed[i]
    for off in sorted(range(-window, window + 1), key=abs):
        lo = base + off
        if lo < 0 or lo + n > len(file_lines):
            continue
        # each old-side line must be its file line, white space aside
        if any(want[t] != sq(lo + t) for t in range(n)):
            continue
        changed = 0
        for t, k in enumerate(old_idx):
            fixed = h.body[k][0] + file_lines[lo + t]
            if fixed != h.body[k]:
                h.body[k] = fixed
                changed += 1
        return off, changed
    return None


# --- a whole diff ----------------------------------------------------------------

def _path_of(header_line: str) -> str:
    m = _GIT_HEADER.match(header_line)
    if m:
        p = m.group(2) or m.group(1)
        return p[2:] if p[:2] in ("a/", "b/") else p
    p = header_line[4:].split("\t")[0].strip()
    return p[2:] if p[:2] in ("a/", "b/") else p


def repair_diff(lines: list[str], where: str, lookup: Optional[Lookup] = None, indent: int = 0,
                quoted: bool = False, default_path: str = "") -> DiffResult:
    """Repair the diff that starts at lines[0]; stop where the diff ends.

    `indent` is the width of quote marks the archive saw when it wrapped
    (quoted diffs); `quoted` says the diff was quoted in a reply, where a
    short hunk means the replier trimmed it, not that it was damaged.
    `default_path` names the file for hunks quoted without a file header.
    """
    st = _Walk(DiffResult([], 0), where, lookup, indent, quoted)
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if line.startswith("diff --git "):
            m = _GIT_HEADER.match(line)
            if m and m.group(2) is None and i + 1 < n and lines[i + 1].startswith("b/"):
                st.res.repairs.append(Repair("joined-wrapped-line", f"{where} diff line {i + 1}", HIGH,
                                             "the archive wrapped the 'diff --git' line; 'b/' path joined back"))
                line = line.rstrip() + " " + lines[i + 1].strip()
                i += 1
            st.res.lines.append(line)
            st.new_file(_path_of(line))
            st.in_header = True
        elif st.in_header and _FILE_META.match(line):
            st.res.lines.append(line)
        elif line.startswith("--- ") and (i + 1 < n and lines[i + 1].startswith("+++ ")):
            p = _path_of(line)
            if not st.in_header and p != "/dev/null":
                st.new_file(p)
            elif p != "/dev/null":
                st.load(p)
            st.res.lines.append(line)
            st.res.lines.append(lines[i + 1])
            if p == "/dev/null":
                st.new_path(_path_of(lines[i + 1]))
            i += 1
            st.in_header = False
        elif line.startswith("+++ "):
            p = _path_of(line)
            src = f"a/{st.path or p}"
            st.res.lines.append(f"--- {src}")
            st.res.repairs.append(Repair("restored-file-header", f"{where} diff line {i + 1}", HIGH,
                                         f"'--- {src}' was missing before '+++' (trimmed or lost); added"))
            if not st.in_header:
                st.new_file(p)
            st.res.lines.append(line)
            st.in_header = False
        elif is_hunk_header(line):
            h = _parse_header(line)
            if h is None:
                break
            if not st.res.files:
                if not default_path:
                    break  # a hunk with no file: nothing to attach it to
                st.res.lines += [f"--- a/{default_path}", f"+++ b/{default_path}"]
                st.res.repairs.append(Repair("restored-file-header", f"{where} diff line {i + 1}", MEDIUM,
                                             f"hunk quoted without its file header; it belongs to {default_path}"))
                st.new_file(default_path)
            elif st.in_header and not any(x.startswith("--- ") for x in st.res.lines[-3:]):
                if not st.res.lines[-1].startswith(("new mode", "old mode", "similarity", "rename", "copy")):
                    st.res.lines += [f"--- a/{st.path}", f"+++ b/{st.path}"]
                    st.res.repairs.append(Repair("restored-file-header", f"{where} diff line {i + 1}", MEDIUM,
                                                 "'---'/'+++' lines missing before the first hunk; added"))
            st.in_header = False
            i = _repair_hunk(lines, i, h, st)
            continue
        else:
            break
        i += 1
    st.res.end = i
    _summarise(st.res, st.counts, where)
    return st.res


class _Walk:
    """State of one pass over a diff: the current file and what was done."""

    def __init__(self, res: DiffResult, where: str, lookup: Optional[Lookup], indent: int, quoted: bool):
        self.res, self.where, self.lookup, self.indent, self.quoted = res, where, lookup, indent, quoted
        self.path = ""
        self.file_text: Optional[list[str]] = None
        self.in_header = False
        self.counts = {"joined": 0, "marked": 0}

    def new_file(self, path: str) -> None:
        self.path = path
        self.res.files.append(path)
        self.load(path)

    def new_path(self, path: str) -> None:
        self.path = path
        if self.res.files:
            self.res.files[-1] = path

    def load(self, path: str) -> None:
        self.file_text = None
        if self.lookup is None or not path or path == "/dev/null":
            return
        try:
            text = self.lookup(path)
        except Exception:  # the tree API is not ours: a failing lookup is a missing file
            return
        self.file_text = text.split("\n") if text is not None else None


def _repair_hunk(lines: list[str], i: int, h: _Hunk, st: _Walk) -> int:
    res = st.res
    hwhere = f"{st.where} {st.path} hunk {h.header.split('@@')[1].strip()}"
    if len(h.section) > 120:   # git cuts a hunk's section near 80 columns: this is the hunk's own text
        # newlines collapsed: the hunk's lines ran into its header and cannot be told apart
        res.repairs.append(Repair("collapsed-hunk", hwhere, LOST,
                                  f"the hunk's {h.old_len} old / {h.new_len} new lines ran together into one line "
                                  "(newlines collapsed); it is left out, not guessed"))
        return i + 1
    start = i + 1
    end = _segment_end(lines, start)
    section_changed = False
    if start < end and _diff_kind(lines[start]) == "?" and join_score(h.header, lines[start], st.indent) >= 0.6:
        h.section = h.section + lines[start] if h.section.endswith(" ") else (h.section + " " + lines[start]).strip()
        h.joined += 1
        section_changed = True
        start += 1
    stop, joins, met = _plan(lines, start, end, h, st.indent)
    _build_hunk(lines, start, stop, joins, h)
    st.counts["joined"] += h.joined
    st.counts["marked"] += h.marked
    at_end = end >= len(lines) and stop >= end - 1
    counts_ok = (h.old, h.new) == (h.old_len, h.new_len)
    if st.file_text is not None and h.body:
        restored = restore_from_tree(h, st.file_text)
        if restored is not None:
            off, changed = restored
            if changed or off:
                res.repairs.append(Repair(
                    "restored-from-tree", hwhere, EXACT,
                    f"{changed} context/removed line(s) rebuilt from the file at the base"
                    + (f" (found {off:+d} lines from where the header says)" if off else "")))
        else:
            res.repairs.append(Repair("tree-mismatch", hwhere, LOW,
                                      "the old side of this hunk does not match the file given; not restored"))
    if counts_ok:
        res.lines.append(_render_header(h) if section_changed else h.header)
    else:
        if st.quoted:
            res.repairs.append(Repair("trimmed-quote", hwhere, HIGH,
                                      f"the reply quotes {h.old} old / {h.new} new of the hunk's "
                                      f"{h.old_len} / {h.new_len} lines; header recounted"))
        elif at_end and h.old <= h.old_len and h.new <= h.new_len:
            res.truncated = True
            res.repairs.append(Repair("truncated", hwhere, LOST,
                                      f"the text ends inside this hunk: {h.old} old / {h.new} new of "
                                      f"{h.old_len} / {h.new_len} lines present; header recounted to what is there"))
        else:
            res.repairs.append(Repair("lines-lost", hwhere, LOW,
                                      f"hunk has {h.old} old / {h.new} new lines, its header says "
                                      f"{h.old_len} / {h.new_len}: lines were lost or mangled; header recounted"))
        res.lines.append(_render_header(h))
    res.lines.extend(h.body)
    return stop


def _summarise(res: DiffResult, counts: dict, where: str) -> None:
    if counts["joined"]:
        res.repairs.append(Repair("joined-wrapped-line", where, HIGH if _counts_all_ok(res) else MEDIUM,
                                  f"{counts['joined']} line(s) wrapped by the archive joined back, "
                                  "chosen so the hunks' line counts come out right"))
    if counts["marked"]:
        exact = any(r.kind == "restored-from-tree" for r in res.repairs)
        res.repairs.append(Repair(
            "restored-context-marker", where, HIGH if _counts_all_ok(res) else MEDIUM,
            f"{counts['marked']} context line(s) had lost their leading space; restored"
            + ("" if exact else "; their own indentation is not known without the source tree")))


def _counts_all_ok(res: DiffResult) -> bool:
    return not any(r.kind in ("lines-lost", "truncated") for r in res.repairs)


# --- a patch mail's body -----------------------------------------------------------

def find_diff_start(lines: list[str], start: int = 0) -> Optional[int]:
    for i in range(start, len(lines)):
        line = lines[i]
        if line.startswith("diff --git "):
            return i
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            return i
    return None


def expected_files(text_before_diff: str) -> Optional[int]:
    """How many files the diffstat says the patch touches (None when there is no diffstat)."""
    m = None
    for m in _STAT_SUMMARY.finditer(text_before_diff):
        pass
    if m is not None:
        return int(m.group(1))
    stat = [ln for ln in text_before_diff.split("\n") if _STAT_LINE.match(ln)]
    return len(stat) or None


@dataclass
class BodyResult:
    body: str
    repairs: list
    errors: list          # messages for the run's errors


def repair_patch_body(body: str, where: str, lookup: Optional[Lookup] = None,
                      whitespace: str = "") -> Optional[BodyResult]:
    """Repair the unquoted diff in a patch mail's body; None when the body has no diff.

    `whitespace` tells what the archive did to white space ("stripped",
    "collapsed" or ""), so the indentation of added lines is reported as
    unverified when it cannot have survived.
    """
    lines = body.split("\n")
    start = find_diff_start(lines)
    if start is None:
        return None
    res = repair_diff(lines[start:], where, lookup)
    repairs = list(res.repairs)
    errors: list[str] = []
    present = len(dict.fromkeys(res.files))
    want = expected_files("\n".join(lines[:start]))
    listed = [m.group(1) for m in map(_STAT_LINE.match, lines[:start]) if m]
    if want is not None and present < want:
        missing = [p for p in listed if not any(p.endswith(f.split("/")[-1]) or f.endswith(p.lstrip(".").lstrip("/"))
                                                 for f in res.files)]
        detail = (f"truncated patch: the diffstat lists {want} files, {present} present"
                  + (f" ({', '.join(res.files)})" if res.files else "")
                  + (f"; missing: {', '.join(missing[:20])}" + (" ..." if len(missing) > 20 else "")
                     if missing else ""))
        repairs.append(Repair("truncated", where, LOST, detail))
        errors.append(detail)
    elif res.truncated:
        errors.append("truncated patch: the text ends inside a hunk (" +
                      "; ".join(r.detail for r in res.repairs if r.kind == "truncated") + ")")
    for r in res.repairs:
        if r.kind in ("lines-lost", "collapsed-hunk"):
            errors.append(f"damaged hunk ({r.where}): {r.detail}")
    if whitespace:
        restored = any(r.kind == "restored-from-tree" for r in res.repairs)
        added = sum(1 for ln in res.lines if ln.startswith("+") and not ln.startswith("+++") and ln[1:2] in (" ", "\t"))
        if added:
            repairs.append(Repair("indentation-unverified", where, LOW,
                                  f"the archive {whitespace} white space: the indentation of {added} indented "
                                  "added line(s) may differ from what was sent"
                                  + ("" if restored else "; context lines too (give the source tree to restore "
                                                         "them exactly)")))
    new_lines = lines[:start] + res.lines + lines[start + res.end:]
    return BodyResult("\n".join(new_lines), repairs, errors)


# --- diffs quoted in replies ---------------------------------------------------------

@dataclass(frozen=True)
class QuotedDiff:
    """A diff a reply quotes (`> @@ ...`, `> +...`), rebuilt as a diff of its file."""
    text: str
    files: tuple
    line: int            # line of the reply where the quoted diff starts
    repairs: tuple
    quoted_from: str = ""  # msgid of the message quoted (filled when ids are known)

    def as_dict(self) -> dict:
        return {"files": list(self.files), "line": self.line, "quoted_from": self.quoted_from,
                "repairs": [r.as_dict() for r in self.repairs]}


_TRIM = re.compile(r"^\s*(\[\.\.\.\]|\[snip\]|<snip>|\.\.\.|\[ ?\.\.\. ?\])\s*$", re.I)


def extract_quoted_diffs(text_lines: list[str], first_line: int, where: str, lookup: Optional[Lookup] = None,
                         default_path: str = "", indent: int = 2) -> list[QuotedDiff]:
    """Diffs in the lines a reply quotes from one message (quote marks already removed)."""
    out: list[QuotedDiff] = []
    lines = [ln for ln in text_lines if not _TRIM.match(ln)]
    i = 0
    current = default_path
    while i < len(lines):
        if not _DIFF_START.match(lines[i]):
            i += 1
            continue
        res = repair_diff(lines[i:], f"{where} quoted diff", lookup, indent=indent, quoted=True,
                          default_path=current)
        if res.end == 0:
            i += 1
            continue
        if res.files and any(is_hunk_header(x) for x in res.lines):
            current = res.files[-1]
            out.append(QuotedDiff("\n".join(res.lines) + "\n", tuple(dict.fromkeys(res.files)),
                                  first_line + i, tuple(res.repairs)))
        elif res.files:
            current = res.files[-1]
        i += max(res.end, 1)
    return out
