"""Apply a series in memory, patch by patch, to get each touched file's pre- and post-image.

Behaves like GNU `patch -p1 -N` with its default fuzz of 2: a hunk is looked
for at the line its header names (shifted by what earlier hunks moved), then
further and further away; if its context is not found, up to 2 context lines
are dropped at each end (fuzz); a hunk whose result is already in the file is
"already applied". A hunk that still does not fit is reported with why, and
the rest of the patch is still applied. Nothing touches the user's files.

Without a tree, images are rebuilt from the hunks alone (sparse files with
the hunk lines at their line numbers), and say so.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from ..model import Errors, FileDiff, Hunk, Patch
from .trees import SourceTree

MAX_FUZZ = 2
# With context dropped, a hunk is only looked for this close to the line its header names.
MAX_FUZZ_OFFSET = 200


@dataclass(frozen=True)
class HunkResult:
    number: int              # 1-based, in the file diff
    status: str              # applied | offset | fuzz | already-applied | failed
    offset: int = 0          # lines away from where the header put it
    fuzz: int = 0
    old_line: int = 0        # first pre-image line it applied at (0: not applied)
    message: str = ""
    new_line: int = 0        # first post-image line of what it placed (0: not applied)


@dataclass(frozen=True)
class FileImages:
    old_path: Optional[str]
    new_path: Optional[str]
    before: Optional[str]          # None: the file did not exist, or is unknown
    after: Optional[str]           # None: deleted, or unknown
    changed_before: frozenset      # 1-based pre-image lines removed
    changed_after: frozenset       # 1-based post-image lines added
    hunks: tuple                   # HunkResult, ...
    status: str                    # applied | partial | failed | already-applied | hunks-only | binary | missing
    source: str                    # tree | hunks
    diff: Optional[FileDiff] = None
    removed_at: frozenset = frozenset()  # post-image lines just below where lines were removed

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    def patch_line(self, line: int, side: str = "after") -> int:
        """The line number the diff shows for a line of this image (the tree's numbering when a
        hunk applied elsewhere than its header says): shifted like the nearest hunk above it."""
        if self.source != "tree" or self.diff is None:
            return line
        shift = 0
        for r, h in zip(self.hunks, self.diff.hunks):
            if r.status not in ("applied", "offset", "fuzz"):
                continue
            lead = _lead(h, r.fuzz)
            tree_start = (r.old_line - lead) if side == "before" else (r.new_line - lead)
            patch_start = h.old_start if side == "before" else h.new_start
            if tree_start > line:
                break
            shift = tree_start - patch_start
        return line - shift


@dataclass(frozen=True)
class PatchImages:
    patch: Patch
    files: tuple                   # FileImages, ...

    @property
    def status(self) -> str:
        states = {f.status for f in self.files if f.status != "binary"}
        if not states:
            return "applied"
        if states <= {"already-applied"}:
            return "already-applied"
        if states <= {"hunks-only"}:
            return "hunks-only"
        if "failed" in states and not states & {"applied", "partial", "already-applied"}:
            return "failed"
        if states & {"failed", "partial", "missing"}:
            return "partial"
        return "applied"

    def summary(self) -> dict:
        """How this patch applied, as plain data: `status` applied | offset | fuzz | already-applied |
        partial | failed | no-tree, the hunk count, each hunk that did not apply (and why), and the
        hunks placed other than where the header says (fuzz, offsets), for the renderers."""
        hunks = failed = already = 0
        failed_hunks, placements = [], []
        files = [f for f in self.files if f.status != "binary"]
        for f in files:
            for r in f.hunks:
                hunks += 1
                if f.status == "missing":
                    failed += 1
                    failed_hunks.append({"file": f.path, "hunk": r.number, "reason": "the file is not in the tree"})
                elif r.status == "failed":
                    failed += 1
                    failed_hunks.append({"file": f.path, "hunk": r.number, "reason": r.message})
                elif r.status == "already-applied":
                    already += 1
                elif r.status in ("offset", "fuzz"):
                    placements.append({"file": f.path, "hunk": r.number, "status": r.status, "offset": r.offset,
                                       "fuzz": r.fuzz, "line": r.old_line})
        if files and all(f.source == "hunks" and f.status != "missing" for f in files):
            status = "no-tree"
        elif failed and failed + already == hunks:
            status = "failed"
        elif failed:
            status = "partial"
        elif hunks and already == hunks:
            status = "already-applied"
        elif any(p["status"] == "fuzz" for p in placements):
            status = "fuzz"
        elif placements:
            status = "offset"
        else:
            status = "applied"
        return {"status": status, "hunks": hunks, "failed_hunks": failed_hunks,
                "already_applied_hunks": already, "placements": placements,
                "summary": _say(status, hunks, failed_hunks, already, placements)}


def _say(status: str, hunks: int, failed: list, already: int, placements: list) -> str:
    """One phrase for a person: `partly applied: 1 of 4 hunks failed in mm/rmap.c`."""
    def files(items):
        return ", ".join(dict.fromkeys(i["file"] for i in items))
    if status == "partial":
        return f"partly applied: {len(failed)} of {hunks} hunks failed in {files(failed)}"
    if status == "failed":
        return f"not applied: {'its hunk' if hunks == 1 else f'all {hunks} hunks'} failed in {files(failed)}"
    if status == "already-applied":
        return "already in the tree: nothing left to analyse"
    if status == "no-tree":
        return "no tree: analysed from the hunks alone"
    if status in ("fuzz", "offset"):
        far = max((abs(p["offset"]) for p in placements), default=0)
        fuzz = [p for p in placements if p["fuzz"]]
        parts = []
        if fuzz:
            parts.append(f"{len(fuzz)} hunk{'s' if len(fuzz) != 1 else ''} with fuzz in {files(fuzz)}")
        moved = [p for p in placements if p["offset"]]
        if moved:
            parts.append(f"{len(moved)} hunk{'s' if len(moved) != 1 else ''} moved (up to {far} lines)")
        return "applied with " + " and ".join(parts)
    return "applied" + (f" ({already} of {hunks} hunks already in the tree)" if already else "")


def _split(text: str) -> tuple[list[str], bool]:
    ends_nl = text.endswith("\n")
    lines = text.split("\n")
    if ends_nl:
        lines.pop()
    return lines, ends_nl


def _join(lines: list[str], ends_nl: bool) -> str:
    return "\n".join(lines) + ("\n" if ends_nl and lines else "")


def _lead(hunk: Hunk, fuzz: int) -> int:
    """How many context lines fuzz dropped at the start of the hunk."""
    return _trim(hunk, fuzz)[1] if fuzz else 0


def _trim(hunk: Hunk, fuzz: int) -> tuple[list, int]:
    """Hunk lines without up to `fuzz` context lines at each end; (lines, dropped at start)."""
    lines = list(hunk.lines)
    lead = 0
    while lead < fuzz and lead < len(lines) and lines[lead].kind == " ":
        lead += 1
    trail = 0
    while trail < fuzz and trail < len(lines) - lead and lines[len(lines) - 1 - trail].kind == " ":
        trail += 1
    return lines[lead:len(lines) - trail], lead


class _Finder:
    """Find a run of lines in a file, nearest to an expected position first."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self._index: Optional[dict[str, list[int]]] = None  # line -> where it occurs, built on a first miss

    def _where(self) -> dict[str, list[int]]:
        if self._index is None:
            self._index = {}
            for i, line in enumerate(self.lines):
                self._index.setdefault(line, []).append(i)
        return self._index

    def find(self, want: list[str], expected: int, lowest: int) -> Optional[int]:
        if not want:
            return max(lowest, min(expected, len(self.lines)))
        n = len(want)
        if 0 <= lowest <= expected and self.lines[expected:expected + n] == want:
            return expected  # where the header says: nothing can be nearer (most hunks of a clean series)
        best = None
        for pos in self._where().get(want[0], ()):
            if pos < lowest or pos + n > len(self.lines):
                continue
            if self.lines[pos:pos + n] == want and (best is None or abs(pos - expected) < abs(best - expected)):
                best = pos
        return best

    def nearest_mismatch(self, want: list[str], expected: int) -> str:
        best, best_pos = -1, expected
        for pos in range(max(0, expected - 60), min(len(self.lines), expected + 60)):
            score = sum(1 for a, b in zip(self.lines[pos:pos + len(want)], want) if a == b)
            if score > best:
                best, best_pos = score, pos
        if best <= 0:
            return "its lines are nowhere near the place the header names"
        return f"best partial match at line {best_pos + 1}: {best} of {len(want)} lines agree"


def apply_file(text: str, fd: FileDiff) -> tuple[str, frozenset, frozenset, tuple, frozenset]:
    """Apply one file's hunks to `text`: (new text, changed_before, changed_after, HunkResults,
    removed_at: the post-image lines right below each removal)."""
    lines, ends_nl = _split(text)
    finder = _Finder(lines)
    out: list[str] = []
    cursor = 0
    drift = 0
    changed_before: set[int] = set()
    changed_after: set[int] = set()
    removed_at: set[int] = set()
    results = []
    last_hunk_no_newline = False
    for number, hunk in enumerate(fd.hunks, 1):
        header_pos = (hunk.old_start - 1 if hunk.old_len else hunk.old_start) + drift
        placed = None
        for fuzz in range(MAX_FUZZ + 1):
            body, lead = _trim(hunk, fuzz)
            old = [ln.text for ln in body if ln.kind in " -"]
            if fuzz and not old:
                break
            pos = finder.find(old, header_pos + lead, cursor)
            if pos is not None and fuzz and abs(pos - (header_pos + lead)) > MAX_FUZZ_OFFSET:
                pos = None  # trimmed context matches far away by chance: that is not this hunk's place
            if pos is not None:
                placed = (pos, body, lead, fuzz, old)
                break
            if lead == 0 and fuzz:
                break  # nothing more to drop
        if placed is None:
            new = [ln.text for ln in hunk.lines if ln.kind in " +"]
            done = finder.find(new, header_pos, cursor) if new else None
            if done is not None and any(ln.kind != " " for ln in hunk.lines):
                if number == 1:
                    # like `patch -N`: a file whose first hunk is already there was patched before
                    return text, frozenset(), frozenset(), tuple(
                        HunkResult(i, "already-applied", message="the file already has this change")
                        for i in range(1, len(fd.hunks) + 1)), frozenset()
                results.append(HunkResult(number, "already-applied", done - header_pos, 0, done + 1,
                                          "its result is already in the file"))
                continue
            old_all = [ln.text for ln in hunk.lines if ln.kind in " -"]
            results.append(HunkResult(number, "failed", message="context not found: "
                                      + finder.nearest_mismatch(old_all, header_pos)))
            continue
        pos, body, lead, fuzz, old = placed
        out.extend(lines[cursor:pos])
        o, n = pos, len(out)
        placed_at = n + 1
        for ln in body:
            if ln.kind == " ":
                out.append(lines[o])
                o += 1
                n += 1
            elif ln.kind == "-":
                changed_before.add(o + 1)
                removed_at.add(n + 1)
                o += 1
            else:
                out.append(ln.text)
                changed_after.add(n + 1)
                n += 1
        cursor = o
        offset = pos - (header_pos + lead)
        drift += offset
        status = "fuzz" if fuzz else ("offset" if offset else "applied")
        results.append(HunkResult(number, status, offset, fuzz, pos + 1, new_line=placed_at))
        last_hunk_no_newline = cursor >= len(lines) and hunk.no_newline_new
    out.extend(lines[cursor:])
    if last_hunk_no_newline:
        ends_nl = False
    elif any(h.no_newline_old and not h.no_newline_new for h in fd.hunks):
        ends_nl = True
    return (_join(out, ends_nl), frozenset(changed_before), frozenset(changed_after), tuple(results),
            frozenset(removed_at))


def hunks_only_images(fd: FileDiff) -> FileImages:
    """Sparse pre/post images from the hunks alone: each line at its own number, blanks between."""
    before: dict[int, str] = {}
    after: dict[int, str] = {}
    changed_before, changed_after, removed_at = set(), set(), set()
    for h in fd.hunks:
        next_new = h.new_start
        for ln in h.lines:
            if ln.kind == "-":
                removed_at.add(next_new)
            elif ln.new_line is not None:
                next_new = ln.new_line + 1
            if ln.old_line is not None:
                before[ln.old_line] = ln.text
                if ln.kind == "-":
                    changed_before.add(ln.old_line)
            if ln.new_line is not None:
                after[ln.new_line] = ln.text
                if ln.kind == "+":
                    changed_after.add(ln.new_line)

    def sparse(m: dict[int, str]) -> Optional[str]:
        if not m:
            return None
        return "\n".join(m.get(i, "") for i in range(1, max(m) + 1)) + "\n"
    return FileImages(fd.old_path, fd.new_path, None if fd.status == "added" else sparse(before),
                      None if fd.status == "deleted" else sparse(after), frozenset(changed_before),
                      frozenset(changed_after), tuple(HunkResult(i, "applied") for i in range(1, len(fd.hunks) + 1)),
                      "hunks-only", "hunks", fd, frozenset(removed_at))


def apply_series(tree: SourceTree, patches: list[Patch], errors: Errors) -> list[PatchImages]:
    """Pre/post images of every touched file, patch after patch (each sees the ones before it)."""
    state: dict[str, Optional[str]] = {}
    out = []
    for patch in patches:
        where = f"{patch.message.source.where} {patch.message.msgid}".strip()
        files = []
        for fd in patch.files:
            files.append(_apply_one(tree, state, fd, patch, where, errors))
        out.append(PatchImages(patch, tuple(files)))
    return out


def _current(tree: SourceTree, state: dict, path: str) -> Optional[str]:
    if path not in state:
        state[path] = tree.read_text(path)
    return state[path]


def _apply_one(tree: SourceTree, state: dict, fd: FileDiff, patch: Patch, where: str, errors: Errors) -> FileImages:
    name = patch.message.source.input
    if fd.binary:
        return FileImages(fd.old_path, fd.new_path, None, None, frozenset(), frozenset(), (), "binary", "tree", fd)
    if tree.kind == "none":
        return hunks_only_images(fd)
    if fd.status == "added":
        before = None
        if _current(tree, state, fd.new_path) is not None:
            errors.add(name, where, f"{fd.new_path}: the patch creates it, but it already exists in the tree")
    else:
        before = _current(tree, state, fd.old_path)
        if before is None:
            errors.add(name, where, f"{fd.old_path}: not in {tree.description}; analysed from the hunks alone")
            images = hunks_only_images(fd)
            return replace(images, status="missing")
    after, cb, ca, results, removed_at = apply_file(before or "", fd)
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        h = fd.hunks[r.number - 1]
        errors.add(name, where, f"{fd.path}: hunk {r.number} (@@ -{h.old_start},{h.old_len} "
                                f"+{h.new_start},{h.new_len} @@) does not apply: {r.message}")
    if fd.status == "deleted":
        after = None
    if fd.old_path and fd.old_path != fd.new_path and fd.status == "renamed":
        state[fd.old_path] = None
    if fd.new_path:
        state[fd.new_path] = after
    if results and all(r.status == "already-applied" for r in results):
        status = "already-applied"
    elif failed and len(failed) == len(results):
        status = "failed"
    elif failed:
        status = "partial"
    else:
        status = "applied"
    return FileImages(fd.old_path, fd.new_path, before, after, cb, ca, results, status, "tree", fd, removed_at)


def reversed_diff(fd: FileDiff) -> FileDiff:
    """The same change undone (`git apply -R`): old and new sides swapped."""
    status = {"added": "deleted", "deleted": "added"}.get(fd.status, fd.status)
    hunks = tuple(Hunk(h.new_start, h.new_len, h.old_start, h.old_len, h.section,
                       tuple(replace(ln, kind={"+": "-", "-": "+"}.get(ln.kind, ln.kind),
                                     old_line=ln.new_line, new_line=ln.old_line) for ln in h.lines),
                       h.no_newline_new, h.no_newline_old) for h in fd.hunks)
    return replace(fd, old_path=fd.new_path, new_path=fd.old_path, status=status, hunks=hunks,
                   old_mode=fd.new_mode, new_mode=fd.old_mode, old_blob=fd.new_blob, new_blob=fd.old_blob)


def reversed_patch(patch: Patch) -> Patch:
    """The patch undone: what bringing its bug back would look like."""
    return replace(patch, files=tuple(reversed_diff(fd) for fd in patch.files))
