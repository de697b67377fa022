"""Versions of a series: link v1..vN, match patches across versions, interdiff,
changelogs, and whether a later version changed the code an item points at.

Linking (no tree, no network): series are ordered by (version, RFC before
non-RFC, date); each one follows the latest earlier series that shares its
cover title, a patch title or a patch-id (the parse stage's own link counts
too). Patches of consecutive versions are matched one-to-one, best first: the
same patch-id (same diff), else the same title, else title similarity plus
the overlap of the files touched.

The interdiff of a matched pair compares the two versions' diffs file by file
(as `git range-diff` compares patches): lines only in the old version's diff
start with `-`, only in the new one's with `+`, then the line of the patch
itself. It shows what the author changed in the patch without a tree.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from typing import Optional

from ..model import Patch, Series
from .anchors import function_name
from .model import Anchor, ChangelogEntry, FileInterdiff, History, Outcome, PatchLink, VersionLink

SIMILARITY_MIN = 0.6
# Title similarity (difflib ratio) a patch needs to count as the same patch renamed. Measured on the
# lore corpus (benchmarks/summary_score.py, the golden links): renamed patches score 0.99 ("hmm: X" ->
# "mm: X"); the closest pairs that are different patches score 0.38-0.78 (a v1 test replaced by new
# tests, an add-on patch beside the one it extends). 0.8 keeps the first and refuses the second.
SIMILARITY_MIN_RATIO = 0.8
MAX_INTERDIFF_LINES = 400


def norm_title(title: str) -> str:
    return " ".join(title.lower().split())


def loose_title(title: str) -> str:
    """The title without punctuation: "mm:gup/writeback: add X" and "mm/gup/writeback: add X" agree."""
    return " ".join(re.sub(r"[^a-z0-9_]+", " ", title.lower()).split())


def patch_id(p: Patch) -> Optional[str]:
    """Like `git patch-id --stable`: the changed lines per file, whitespace and line numbers ignored."""
    if not p.files:
        return None
    h = hashlib.sha1()
    for fd in sorted(p.files, key=lambda f: f.path):
        h.update(f"{fd.old_path}\0{fd.new_path}\0".encode())
        for hunk in fd.hunks:
            for ln in hunk.lines:
                if ln.kind in "+-":
                    h.update((ln.kind + "".join(ln.text.split()) + "\n").encode())
    return h.hexdigest()


def _date_key(s: Series) -> float:
    return s.date.timestamp() if s.date else 0.0


def series_order(series: list) -> list[int]:
    """Posting order when every series has a date (an RFC v1 posted after a v4 comes after it), else
    by version number (RFC before non-RFC, resends last)."""
    if all(s.date for s in series):
        return sorted(range(len(series)), key=lambda i: (_date_key(series[i]), series[i].version,
                                                         not series[i].is_rfc, series[i].is_resend, i))
    return sorted(range(len(series)), key=lambda i: (series[i].version, not series[i].is_rfc, series[i].is_resend,
                                                     _date_key(series[i]), i))


def link_series(series: list, patches: dict, pids: dict) -> tuple[dict, list, dict]:
    """(links: series index -> VersionLink to the previous version, histories, next: index -> next index)."""
    order = series_order(series)
    pos = {i: k for k, i in enumerate(order)}
    by_title: dict[str, list[int]] = {}
    by_ptitle: dict[str, list[int]] = {}
    by_pid: dict[str, list[int]] = {}
    for i, s in enumerate(series):
        if s.title:
            by_title.setdefault(norm_title(s.title), []).append(i)
        for t in set(map(loose_title, s.patch_titles)):
            by_ptitle.setdefault(t, []).append(i)
        for mid in s.patches:
            pid = pids.get(mid)
            if pid:
                by_pid.setdefault(pid, []).append(i)
    links: dict[int, VersionLink] = {}
    for i, s in enumerate(series):
        reasons: dict[int, set] = {}
        if s.previous is not None:
            reasons.setdefault(s.previous, set()).add("parse")
        if s.title:
            for j in by_title.get(norm_title(s.title), ()):
                reasons.setdefault(j, set()).add("subject")
        own_titles = set(map(loose_title, s.patch_titles))
        for t in own_titles:
            for j in by_ptitle.get(t, ()):
                reasons.setdefault(j, set()).add("patch-titles")
        for mid in s.patches:
            for j in by_pid.get(pids.get(mid) or "", ()):
                reasons.setdefault(j, set()).add("patch-id")
        best, best_key = None, None
        for j, why in reasons.items():
            if j == i or pos[j] >= pos[i]:
                continue
            o = series[j]
            if o.date and s.date and o.date > s.date:
                continue  # posted later: not what this one follows
            if o.version == s.version and o.is_rfc == s.is_rfc and not s.is_resend and "parse" not in why:
                continue  # two series of the same version (a patch sent twice): not one after the other
            shared = len(own_titles & set(map(loose_title, o.patch_titles)))
            overlap = shared / max(1, min(len(own_titles), len(o.patch_titles)))
            # the same cover subject beats a shared patch, which beats nothing; then the latest
            key = (_tier(why, overlap), pos[j])
            if best_key is None or key > best_key:
                best, best_key = j, key
        if best is not None:
            o = series[best]
            shared = len(own_titles & set(map(loose_title, o.patch_titles)))
            score = 1.0 if "subject" in reasons[best] else shared / max(1, min(len(own_titles), len(o.patch_titles)))
            links[i] = VersionLink(best, tuple(sorted(reasons[best])), round(score, 2))
    # histories: connected by links, ordered oldest first
    root: dict[int, int] = {}

    def find(x: int) -> int:
        while root.get(x, x) != x:
            x = root[x]
        return x

    for i, link in links.items():
        a, b = find(i), find(link.previous)
        if a != b:
            root[a] = b
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(find(i), []).append(i)
    histories = []
    for members in sorted(groups.values(), key=lambda m: pos[m[0]]):
        last = series[members[-1]]
        histories.append(History(len(histories), last.title, tuple(members)))
    # the next version: the successor linked most strongly, the earliest of those
    nxt: dict[int, int] = {}
    for i in order:
        link = links.get(i)
        if link is None:
            continue
        cur = nxt.get(link.previous)
        if cur is None or _tier(links[i].how, links[i].score) > _tier(links[cur].how, links[cur].score):
            nxt[link.previous] = i
    return links, histories, nxt


def _tier(how, overlap: float) -> int:
    if "subject" in how or "parse" in how:
        return 2
    return 1 if overlap >= 0.5 else 0


def match_patches(prev: Series, cur: Series, patches: dict, pids: dict) -> dict[str, tuple]:
    """cur patch msgid -> (prev msgid, prev counter, how, score) for patches carried over."""
    scored = []
    for ci, cm in enumerate(cur.patches):
        cp = patches.get(cm)
        ct = norm_title(cur.patch_titles[ci]) if ci < len(cur.patch_titles) else ""
        cl = loose_title(ct)
        cfiles = {f.path for f in cp.files} if cp else set()
        for pi, pm in enumerate(prev.patches):
            pp = patches.get(pm)
            pt = norm_title(prev.patch_titles[pi]) if pi < len(prev.patch_titles) else ""
            if pids.get(cm) and pids.get(cm) == pids.get(pm):
                scored.append((1.0, "patch-id", ci, pi))
                continue
            if ct and ct == pt:
                scored.append((0.95, "title", ci, pi))
                continue
            if cl and cl == loose_title(pt):
                scored.append((0.9, "normalised-title", ci, pi))
                continue
            if not (ct and pt):
                continue
            sm = difflib.SequenceMatcher(None, ct, pt)
            if sm.real_quick_ratio() < SIMILARITY_MIN_RATIO or sm.quick_ratio() < SIMILARITY_MIN_RATIO:
                continue  # upper bounds of the ratio: most pairs end here, cheaply
            pfiles = {f.path for f in pp.files} if pp else set()
            ratio = sm.ratio()
            jacc = len(cfiles & pfiles) / len(cfiles | pfiles) if cfiles | pfiles else 0.0
            score = 0.6 * ratio + 0.4 * jacc
            if score >= SIMILARITY_MIN and ratio >= SIMILARITY_MIN_RATIO:
                scored.append((round(score, 2), "similarity", ci, pi))
    # identical diff, then identical title, then the title without punctuation; similarity last, so a
    # 0.97-similar other patch never takes the place of one with the very same title
    tier = {"patch-id": 0, "title": 1, "normalised-title": 2, "similarity": 3}
    scored.sort(key=lambda x: (tier[x[1]], -x[0], abs(x[2] - x[3]), x[2]))
    used_c, used_p, out = set(), set(), {}
    for score, how, ci, pi in scored:
        if ci in used_c or pi in used_p:
            continue
        used_c.add(ci)
        used_p.add(pi)
        out[cur.patches[ci]] = (prev.patches[pi], prev.counters[pi] if pi < len(prev.counters) else None, how, score)
    return out


# -- interdiff -------------------------------------------------------------------------------

@dataclass
class _FileLines:
    keys: list                # whitespace-insensitive, for comparing
    shown: list               # as in the patch, for display
    functions: list           # function of each line (None for @@ lines outside one)


_CACHE: dict[int, tuple] = {}


def clear_cache() -> None:
    _CACHE.clear()


def _file_lines(fd) -> _FileLines:
    hit = _CACHE.get(id(fd))
    if hit is not None and hit[0] is fd:
        return hit[1]
    fl = _compute_file_lines(fd)
    _CACHE[id(fd)] = (fd, fl)
    return fl


def _compute_file_lines(fd) -> _FileLines:
    keys, shown, funcs = [], [], []
    for h in fd.hunks:
        current = function_name(h.section)
        head = "@@ " + h.section.strip() if h.section.strip() else "@@"
        keys.append(head)
        shown.append(head)
        funcs.append(current)
        for ln in h.lines:
            name = function_name(ln.text)
            if name:
                current = name
            keys.append(ln.kind + " ".join(ln.text.split()))
            shown.append(ln.kind + ln.text)
            funcs.append(current)
            if ln.text.startswith("}"):
                current = None
    return _FileLines(keys, shown, funcs)


def interdiff(old: Patch, new: Patch) -> tuple:
    """FileInterdiff for every file either version touches, in the new version's order."""
    old_files = {f.path: f for f in old.files}
    new_files = {f.path: f for f in new.files}
    paths = [f.path for f in new.files] + [f.path for f in old.files if f.path not in new_files]
    out = []
    for path in paths:
        a = _file_lines(old_files[path]) if path in old_files else None
        b = _file_lines(new_files[path]) if path in new_files else None
        if a is None:
            out.append(FileInterdiff(path, "added", _uniq(f for f in b.functions if f), len(b.keys), 0,
                                     _cap(tuple("+" + s for s in b.shown))))
            continue
        if b is None:
            out.append(FileInterdiff(path, "dropped", _uniq(f for f in a.functions if f), 0, len(a.keys),
                                     _cap(tuple("-" + s for s in a.shown))))
            continue
        if a.keys == b.keys:
            out.append(FileInterdiff(path, "unchanged", (), 0, 0))
            continue
        sm = _matcher(a.keys, b.keys)
        lines, funcs, added, removed = [], [], 0, 0
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "equal":
                n = i2 - i1
                if n <= 6:
                    lines.extend(" " + s for s in a.shown[i1:i2])
                else:
                    lines.extend(" " + s for s in a.shown[i1:i1 + 3])
                    lines.append(" ...")
                    lines.extend(" " + s for s in a.shown[i2 - 3:i2])
                continue
            lines.extend("-" + s for s in a.shown[i1:i2])
            lines.extend("+" + s for s in b.shown[j1:j2])
            removed += i2 - i1
            added += j2 - j1
            funcs.extend(f for f in a.functions[i1:i2] if f)
            funcs.extend(f for f in b.functions[j1:j2] if f)
        if lines and lines[0] == " ...":
            lines = lines[1:]
        out.append(FileInterdiff(path, "changed", _uniq(funcs), added, removed, _cap(tuple(_trim(lines)))))
    return tuple(out)


def _trim(lines: list) -> list:
    """Drop unchanged lines at the start and the end beyond three of context."""
    first = next((i for i, s in enumerate(lines) if s[:1] in "+-"), 0)
    last = max((i for i, s in enumerate(lines) if s[:1] in "+-"), default=len(lines) - 1)
    return lines[max(0, first - 3): last + 4]


def _cap(lines: tuple) -> tuple:
    if len(lines) <= MAX_INTERDIFF_LINES:
        return lines
    return lines[:MAX_INTERDIFF_LINES] + (f" ... {len(lines) - MAX_INTERDIFF_LINES} more lines",)


def _uniq(items) -> tuple:
    return tuple(dict.fromkeys(items))


def patch_link(old: Optional[Patch], new: Patch, prev_counter, how: str, score: float,
               pids: dict) -> PatchLink:
    if old is None:
        return PatchLink(None, None, "missing" if how == "missing" else "new", 0.0, False, False, ())
    same = pids.get(old.message.msgid) is not None and pids.get(old.message.msgid) == pids.get(new.message.msgid)
    log_changed = _log_body(old) != _log_body(new)
    files = interdiff(old, new)
    return PatchLink(old.message.msgid, prev_counter, how, score, same, log_changed, files)


def _log_body(p: Patch) -> str:
    keep = [ln for ln in p.log.split("\n") if not re.match(r"^[A-Za-z-]+-by:|^Cc:|^Link:", ln)]
    return " ".join(" ".join(keep).split())


# -- did the next version change it? -----------------------------------------------------------

def _function_keys(p: Patch, path: str, function: Optional[str], context: bool = False) -> list:
    """The lines the patch adds or removes in `function` (context is left out: a rebase moves it,
    unless `context`)."""
    out = []
    kinds = "+- " if context else "+-"
    for fd in p.files:
        if fd.path != path:
            continue
        fl = _file_lines(fd)
        out.extend(k for k, f in zip(fl.keys, fl.functions) if f == function and k[:1] in kinds)
    return out


def _hunk_keys(p: Patch, path: str, hunk: int) -> list:
    for fd in p.files:
        if fd.path == path and hunk < len(fd.hunks):
            return [ln.kind + " ".join(ln.text.split()) for ln in fd.hunks[hunk].lines]
    return []


def code_outcome(anchor: Anchor, old: Patch, new: Optional[Patch], series_index: int, version: int,
                 label: str, other_new: list, others: list = ()) -> Outcome:
    """Did `new` (the same patch in the next version) change the code `anchor` points at?

    `other_new` holds (label, Patch) of patches that are new in that version: one of
    them may be where the change went."""
    where = f"{anchor.function}() in {anchor.path}" if anchor.function else f"{anchor.path}:{anchor.line}"
    if not any(fd.path == anchor.path for fd in old.files):
        return Outcome("unclear", series_index, version, new.message.msgid if new else None,
                       f"this input's copy of the commented patch lacks {anchor.path}: nothing to compare")
    if anchor.function:
        before = _function_keys(old, anchor.path, anchor.function)
    else:
        before = _hunk_keys(old, anchor.path, anchor.hunk)
    if new is None:
        for lab, p in other_new:
            if _touches(p, anchor):
                return Outcome("addressed", series_index, version, p.message.msgid,
                               f"{lab} (new in v{version}) changes {where}; the commented patch has no counterpart")
        return Outcome("unclear", series_index, version, None,
                       f"no patch in v{version} matches the commented one")
    if not any(fd.path == anchor.path for fd in new.files):
        moved = _moved(anchor, others)
        if moved is not None:
            return moved_outcome(anchor, moved, series_index, version, label)
        return Outcome("addressed", series_index, version, new.message.msgid,
                       f"{label} no longer changes {anchor.path}")
    if anchor.function:
        after = _function_keys(new, anchor.path, anchor.function)
        if after != before:
            delta = _delta(before, after)
            if after and _still_there(anchor, _function_keys(new, anchor.path, anchor.function, context=True)):
                # the function changed, but not the lines the reviewer quoted: no evidence either way
                return Outcome("unclear", series_index, version, new.message.msgid,
                               f"{label} changes {where} ({delta}), but the quoted lines are still there")
            if not after:
                moved = _moved(anchor, others)
                if moved is not None:
                    return moved_outcome(anchor, moved, series_index, version, label)
            what = f"no longer changes {where}" if not after else f"changes {where} ({delta})"
            return Outcome("addressed", series_index, version, new.message.msgid, f"{label} {what}")
    else:
        keys = set()
        for fd in new.files:
            if fd.path == anchor.path:
                for h in fd.hunks:
                    keys.update(ln.kind + " ".join(ln.text.split()) for ln in h.lines)
        if not any(_hunk_keys(new, anchor.path, hi) == before for hi in range(_nhunks(new, anchor.path))):
            if sum(1 for k in before if k in keys) >= len(before) / 2:
                return Outcome("addressed", series_index, version, new.message.msgid,
                               f"{label} changes the quoted hunk of {anchor.path}")
            return Outcome("unclear", series_index, version, new.message.msgid,
                           f"{label} has no hunk like the quoted one in {anchor.path}")
    for lab, p in other_new:
        if _touches(p, anchor):
            return Outcome("unclear", series_index, version, p.message.msgid,
                           f"{label} leaves {where} as it was, but {lab} (new in v{version}) changes it")
    return Outcome("not-addressed", series_index, version, new.message.msgid, f"{label} leaves {where} as it was")


def _still_there(anchor: Anchor, after: list) -> bool:
    """Every line the comment quoted is still in the new version's diff of that function, as it was."""
    quoted = [q[:1] + " ".join(q[1:].split()) for q in anchor.quoted if q[:1] in "+- " and len(q[1:].strip()) > 3]
    keys = set(after)
    return bool(quoted) and all(q in keys for q in quoted)


def _moved(anchor: Anchor, others: list):
    """(label, Patch) of another patch of the next version that now changes the commented code."""
    for lab, p in others:
        if _touches(p, anchor):
            return lab, p
    return None


def moved_outcome(anchor: Anchor, moved: tuple, series_index: int, version: int, label: str) -> Outcome:
    """The commented code went to another patch: addressed only if the quoted lines did not go with it."""
    lab, p = moved
    where = f"{anchor.function}() in {anchor.path}" if anchor.function else anchor.path
    lines = (_function_keys(p, anchor.path, anchor.function, context=True) if anchor.function else
             [ln.kind + " ".join(ln.text.split()) for fd in p.files if fd.path == anchor.path
              for h in fd.hunks for ln in h.lines])
    if _still_there(anchor, lines):
        return Outcome("not-addressed", series_index, version, p.message.msgid,
                       f"{where} moved from {label} to {lab} with the quoted lines as they were")
    return Outcome("unclear", series_index, version, p.message.msgid,
                   f"{where} moved from {label} to {lab}, changed: the quoted lines are not there as they were")


def _nhunks(p: Patch, path: str) -> int:
    return sum(len(fd.hunks) for fd in p.files if fd.path == path)


def _touches(p: Patch, anchor: Anchor) -> bool:
    if anchor.function:
        return bool(_function_keys(p, anchor.path, anchor.function))
    return any(fd.path == anchor.path for fd in p.files)


# Past this many line pairs, exact matching costs minutes on a hostile diff of thousands of alike lines
# ("-a", "+b"): difflib's heuristic (lines more common than 1% do not anchor a match) keeps it linear.
_EXACT_PAIRS = 4_000_000


def _matcher(a: list, b: list) -> difflib.SequenceMatcher:
    return difflib.SequenceMatcher(None, a, b, autojunk=len(a) * len(b) > _EXACT_PAIRS)


def _delta(before: list, after: list) -> str:
    sm = _matcher(before, after)
    add = rem = 0
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag != "equal":
            rem += i2 - i1
            add += j2 - j1
    return f"{add} lines only in the new diff, {rem} only in the old"


# -- changelogs --------------------------------------------------------------------------------

_V = r"v(\d+)"
_HEADERS = [
    (re.compile(rf"^(?:changes\s+)?(?:from\s+|since\s+)?{_V}\s*(?:-+>|→|=>|to|\.\.)\s*{_V}\s*:?$", re.I), "range"),
    (re.compile(rf"^changes\s+(?:in|for)\s+{_V}\s*:?$", re.I), "to"),
    (re.compile(rf"^(?:changes\s+)?(?:since|from)\s+{_V}\s*:?$", re.I), "from"),
    (re.compile(rf"^(?:changes\s+)?{_V}\s*:$", re.I), "to"),
    (re.compile(rf"^\[{_V}\]\s*:?$", re.I), "to"),
]
_INLINE = re.compile(rf"^(?:changes\s+(?:in\s+)?)?{_V}\s*:\s*(\S.*)$", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•o+]|\d+[.)])\s+")
_STOP = re.compile(r"^(?:---\s*$|\S.*\|\s+\d+|\s*\d+ files? changed|base-commit:|[A-Z][\w ]+ \(\d+\):$)")


def _header(line: str, version: int):
    """(from, to) when `line` heads a changelog block, else None."""
    s = line.strip()
    if not s or len(s) > 60 or _BULLET.match(line):
        return None
    for rx, kind in _HEADERS:
        m = rx.match(s)
        if not m:
            continue
        if kind == "range":
            return int(m.group(1)), int(m.group(2))
        n = int(m.group(1))
        if kind == "to":
            return (n - 1 if n > 1 else None), n
        return n, (version if version > n else n + 1)
    return None


def changelog(text: str, msgid: str, source: str, version: int) -> tuple:
    """Changelog entries ("v6 -> v7:", "Changes in v8:", "v2:") in a cover letter or a patch's notes."""
    lines = text.split("\n")
    out: list[ChangelogEntry] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        hdr = _header(line, version)
        inline = None
        if hdr is None:
            m = _INLINE.match(line.strip())
            if m and len(line) < 200 and not line.startswith((" ", "\t")):
                n = int(m.group(1))
                hdr, inline = ((n - 1 if n > 1 else None), n), m.group(2).strip()
        if hdr is None:
            i += 1
            continue
        items: list[str] = [inline] if inline else []
        i += 1
        blank = 0
        while i < len(lines):
            s = lines[i]
            if not s.strip():
                blank += 1
                i += 1
                if blank >= 2 or (items and i < len(lines) and lines[i].strip() and not _BULLET.match(lines[i])
                                  and not lines[i].startswith((" ", "\t"))):
                    break
                continue
            if _STOP.match(s) or _header(s, version) or (_INLINE.match(s.strip()) and not s.startswith((" ", "\t"))):
                break
            if _BULLET.match(s) or not items or blank:
                items.append(_BULLET.sub("", s).strip())
            else:
                items[-1] = items[-1] + " " + s.strip()
            blank = 0
            i += 1
        items = [x for x in items if x]
        if items:
            out.append(ChangelogEntry(hdr[0], hdr[1], tuple(items), msgid, source))
    return tuple(out)
