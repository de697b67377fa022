"""FunctionChange: which functions (and function-like macros) a patch adds, removes or modifies.

The pre- and post-image of each touched .c/.h file are parsed; a function is
touched when a removed line falls inside its pre-image extent or an added line
inside its post-image extent. Functions are paired by (kind, name), in order
when a name repeats (e.g. #ifdef alternatives). Without a tree the images are
sparse (rebuilt from hunks): a change outside any visible function is then
attributed to the function git names in the hunk header, with health 0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ..source.apply import FileImages, PatchImages, hunks_only_images
from .cparse import Function, ParsedFile, make_parser, parse_source

C_SUFFIXES = (".c", ".h")
_SECTION_NAME = re.compile(r"(\w+)\s*\(")
_C_WORDS = frozenset("int void char long short unsigned signed bool struct union enum typedef static inline "
                     "extern const volatile sizeof return if for while switch do else case".split())
_NOT_HEADERS = ("if ", "if(", "for ", "while ", "return", "else", "do ", "switch", "case ", "goto ")


@dataclass(frozen=True)
class FunctionChange:
    patch: str                       # msgid (or commit id) of the patch
    path: str
    name: str
    kind: str                        # function | macro
    status: str                      # added | removed | modified
    before: Optional[Function]
    after: Optional[Function]
    removed_lines: frozenset         # pre-image lines removed inside the function
    added_lines: frozenset           # post-image lines added inside the function
    parse_health: float              # the worse of before/after (1.0 = clean parse)
    source: str                      # tree | hunks
    removed_at: frozenset = frozenset()  # post-image lines right below a removal inside the function

    @property
    def before_lines(self) -> Optional[tuple[int, int]]:
        return self.before.lines if self.before else None

    @property
    def after_lines(self) -> Optional[tuple[int, int]]:
        return self.after.lines if self.after else None


@dataclass
class FileChange:
    """Both parsed images of one touched file, for rules that need more than the functions."""
    images: FileImages
    before: Optional[ParsedFile]
    after: Optional[ParsedFile]
    functions: list[FunctionChange]
    # functions read from the hunks alone though there is a tree, and why: {name: why}
    hunk_only: dict = field(default_factory=dict)


def _touched(functions: list[Function], lines: frozenset) -> list[Function]:
    return [f for f in functions if any(f.start_line <= ln <= f.end_line for ln in lines)]


def _pair(pre: list[Function], post: list[Function]) -> list[tuple[Optional[Function], Optional[Function]]]:
    """Pair functions by (kind, name), in order of appearance."""
    pending: dict[tuple, list[Function]] = {}
    for f in pre:
        pending.setdefault((f.kind, f.name), []).append(f)
    pairs: list[tuple[Optional[Function], Optional[Function]]] = []
    for f in post:
        olds = pending.get((f.kind, f.name))
        pairs.append((olds.pop(0) if olds else None, f))
    for olds in pending.values():
        pairs.extend((f, None) for f in olds)
    return pairs


def file_change(msgid: str, images: FileImages, parser=None) -> Optional[FileChange]:
    """Parse both images of a C file and find the functions its hunks touch."""
    if not images.path.endswith(C_SUFFIXES) or images.status in ("binary", "failed", "already-applied"):
        return None
    parser = parser or make_parser()
    path = images.path
    before = parse_source(images.old_path or path, images.before.encode("utf-8", "surrogateescape"), parser) \
        if images.before is not None else None
    after = parse_source(path, images.after.encode("utf-8", "surrogateescape"), parser, edited_from=before) \
        if images.after is not None else None
    pre_all = before.functions if before else []
    post_all = after.functions if after else []
    if images.source == "hunks":
        # a sparse image parses into nonsense across its gaps: parse each hunk's side
        # on its own and keep the functions it shows whole and clean
        pre_all, post_all = _hunk_functions(images, parser)
    touched_pre = {id(f) for f in _touched(pre_all, images.changed_before)}
    touched_post = {id(f) for f in _touched(post_all, images.changed_after)}
    out = []
    for old, new in _pair(pre_all, post_all):
        if not ((old is not None and id(old) in touched_pre) or (new is not None and id(new) in touched_post)):
            continue
        status = "modified" if old and new else ("added" if new else "removed")
        removed = frozenset(ln for ln in images.changed_before if old and old.start_line <= ln <= old.end_line)
        added = frozenset(ln for ln in images.changed_after if new and new.start_line <= ln <= new.end_line)
        health = min(f.health for f in (old, new) if f is not None)
        if images.source == "hunks" and status != "modified" and not _whole(old or new, images):
            status = "modified"  # only part of it is visible: its other lines are unknown, not absent
        removed_at = frozenset(ln for ln in images.removed_at if new and new.start_line <= ln <= new.end_line + 1)
        out.append(FunctionChange(msgid, path, (new or old).name, (new or old).kind, status, old, new,
                                  removed, added, health, images.source, removed_at))
    if images.source == "hunks":
        out.extend(_unplaced(msgid, images, out, parser))
    return FileChange(images, before, after, out)


# Each hunk side is parsed with its real line numbers (padded with newlines): past this many
# hunks in one file the padding would make the work quadratic, so the rest are read as text.
MAX_PARSED_HUNKS = 300


def _hunk_functions(images: FileImages, parser) -> tuple[list[Function], list[Function]]:
    sides: tuple[list[Function], list[Function]] = ([], [])
    for hunk in (images.diff.hunks[:MAX_PARSED_HUNKS] if images.diff else ()):
        for side, kinds, start in ((0, " -", hunk.old_start), (1, " +", hunk.new_start)):
            lines = [ln.text for ln in hunk.lines if ln.kind in kinds]
            if not lines:
                continue
            text = "\n" * (start - 1) + "\n".join(lines) + "\n"  # keep real line numbers
            region = parse_source(images.path, text.encode("utf-8", "surrogateescape"), parser)
            last = start + len(lines) - 1
            sides[side].extend(f for f in region.functions
                               if f.health == 1.0 and f.start_line >= start and f.end_line <= last)
    return sides


def _whole(fn: Function, images: FileImages) -> bool:
    """In a sparse image, only a function whose every line is added (or removed) is known to be new (or gone)."""
    span = set(range(fn.start_line, fn.end_line + 1))
    return span <= images.changed_after or span <= images.changed_before


def _section_name(section: str) -> Optional[str]:
    """The function git's hunk header names, or None (a label, a typedef, nothing)."""
    m = _SECTION_NAME.search(section)
    return m.group(1) if m and m.group(1) not in _C_WORDS else None


def _header_name(text: str) -> Optional[str]:
    """The function a column-0 line starts (`static int foo(...`), '' for a closing `}`, else None."""
    if text.startswith("}"):
        return ""
    if not text[:1].isalpha() or text.rstrip().endswith((";", ",")) or text.startswith(_NOT_HEADERS):
        return None
    return _section_name(text)


def _unplaced(msgid: str, images: FileImages, found: list[FunctionChange], parser) -> list[FunctionChange]:
    """Changed lines of a sparse image that no parsed function covers, one change per function
    and hunk: named by the nearest function header above them inside the hunk, else by the hunk
    header (which names the function the hunk starts in); lines known to be outside any function
    are dropped. Each side of the hunk is parsed as a fragment (see `fragment`), so rules still
    get a syntax tree of what the hunk shows, at low confidence."""
    covered_pre = {ln for fc in found for ln in fc.removed_lines}
    covered_post = {ln for fc in found for ln in fc.added_lines}
    out = []
    for number, hunk in enumerate(images.diff.hunks if images.diff else ()):
        parse = number < MAX_PARSED_HUNKS
        current = _section_name(hunk.section)
        by_name: dict[str, tuple[set, set, set]] = {}
        next_new = hunk.new_start
        for ln in hunk.lines:
            named = _header_name(ln.text)
            if named is not None:
                current = named
            if ln.new_line is not None:
                next_new = ln.new_line + 1
            if current == "" or ln.kind == " ":
                continue  # context, or known to be outside any function
            current_name = current or ""  # None: in some function the hunks do not show
            if ln.kind == "-" and ln.old_line not in covered_pre:
                acc = by_name.setdefault(current_name, (set(), set(), set()))
                acc[0].add(ln.old_line)
                acc[2].add(next_new)
            elif ln.kind == "+" and ln.new_line not in covered_post:
                by_name.setdefault(current_name, (set(), set(), set()))[1].add(ln.new_line)
        for name, (pre, post, removed_at) in by_name.items():
            before = fragment(images.path, name, hunk, " -", hunk.old_start, parser) if pre and parse else None
            # after a pure removal the hunk still shows what surrounds the gap
            after = fragment(images.path, name, hunk, " +", hunk.new_start, parser) if parse else None
            out.append(FunctionChange(msgid, images.path, name, "hunk", "modified", before, after,
                                      frozenset(pre), frozenset(post), 0.0, "hunks", frozenset(removed_at)))
    return out


FRAGMENT = "__reviewkit_fragment__"


def fragment(path: str, name: str, hunk, kinds: str, start: int, parser) -> Optional[Function]:
    """One side of a hunk parsed as the body of a stand-in function.

    A hunk starts and ends inside blocks it does not show: each `}` it closes
    without opening gets a stand-in `if (1) {` in front (so `} else if (...)`
    reads as the next arm of a chain whose earlier arms are not shown), and
    open blocks are closed at the end. Line numbers are the real ones.
    """
    lines = [ln.text for ln in hunk.lines if ln.kind in kinds]
    if not lines:
        return None
    depth = lowest = 0
    for text in lines:
        code = text.split("//")[0]
        for ch in code:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                lowest = min(lowest, depth)
    opened = -lowest
    head = f"void {FRAGMENT}(void) {{" + " if (1) {" * opened
    closing = "}" * (depth - lowest + 1)
    text = "\n" * (start - 1) + head + " " + "\n".join(lines) + "\n" + closing + "\n"
    parsed = parse_source(path, text.encode("utf-8", "surrogateescape"), parser)
    fn = next((f for f in parsed.functions if f.name == FRAGMENT), None)
    if fn is None:
        return None
    return Function(name or FRAGMENT, "fragment", start, start + len(lines) - 1, fn.start_byte, fn.end_byte,
                    min(fn.health, 0.5), fn.node, fn.source)


def failed_hunk_functions(images: FileImages) -> set:
    """Names of the functions a hunk that did not apply touches: the one git names in its header (where
    it starts) and any whose header line it shows. Their code in the tree is not what the patch expects."""
    names: set = set()
    if images.diff is None:
        return names
    for r, hunk in zip(images.hunks, images.diff.hunks):
        if r.status != "failed" and images.status != "missing":
            continue
        name = _section_name(hunk.section)
        if name:
            names.add(name)
        names.update(n for n in (_header_name(ln.text) for ln in hunk.lines) if n)
    return names


def _from_hunks(msgid: str, images: FileImages, names: Optional[set], parser, why: str) -> Optional[FileChange]:
    """The file's changes read from its hunks alone (all of them, or only the functions named)."""
    sparse = file_change(msgid, hunks_only_images(images.diff), parser)
    if sparse is None:
        return None
    kept = [fc for fc in sparse.functions if names is None or fc.name in names]
    return FileChange(sparse.images, sparse.before, sparse.after, kept, {fc.name: why for fc in kept})


def function_changes(patch_images: PatchImages, parser=None, suspect: Optional[set] = None) -> list[FileChange]:
    """The functions each file of the patch touches. A function a failed hunk touches (in this patch, or
    in an earlier one of the series: `suspect`, a set of (path, name) this adds to) is read from the
    patch's hunks alone, not from the tree, whose code there is not the code the patch was written for."""
    parser = parser or make_parser()
    suspect = suspect if suspect is not None else set()
    msgid = patch_images.patch.message.msgid
    out = []
    for images in patch_images.files:
        failed_here: set = set()
        if images.source == "tree" and images.diff is not None and images.path.endswith(C_SUFFIXES):
            failed_here = failed_hunk_functions(images)
            suspect.update((images.path, n) for n in failed_here)
        if images.status == "failed" and images.diff is not None:
            fc = _from_hunks(msgid, images, None, parser, "none of the file's hunks applied")
            if fc is not None:
                out.append(fc)
            continue
        fc = file_change(msgid, images, parser)
        if fc is None:
            continue
        if images.source == "tree":
            names = failed_here | {fn.name for fn in fc.functions if (images.path, fn.name) in suspect}
            if names:
                sparse = _from_hunks(msgid, images, names, parser,
                                     "a hunk that touches it did not apply to the tree")
                fc.functions = [fn for fn in fc.functions if fn.name not in names]
                if sparse is not None:
                    # the sparse images go with these functions: rules read their lines from there
                    out.append(sparse)
        out.append(fc)
    return out
