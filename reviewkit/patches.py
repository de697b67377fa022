"""Message -> Patch: commit log, trailers, notes after `---`, diffstat, diff.

The body is split the way `git mailinfo` splits it (in-body From/Subject/Date
headers, the log up to the first `---` line or diff, the rest is the patch).
The diff is delimited by a small scanner that follows hunk line counts (so a
`-- ` signature or `base-commit:` line is never taken for diff), recounts a
hunk whose header lies (as `git apply --recount` would, with an error
entry), and hands each file to unidiff. This is the only module that
imports unidiff.
"""
from __future__ import annotations

import posixpath
import re
from itertools import chain, repeat
from typing import Iterator, Optional

from unidiff import PatchSet
from unidiff.constants import (DEV_NULL, RE_DIFF_GIT_DELETED_FILE, RE_DIFF_GIT_HEADER, RE_DIFF_GIT_INDEX,
                               RE_DIFF_GIT_NEW_FILE, RE_DIFF_GIT_NEW_MODE, RE_DIFF_GIT_OLD_MODE, RE_HUNK_HEADER,
                               RE_NO_NEWLINE_MARKER, RE_TARGET_FILENAME)
from unidiff.errors import UnidiffParseError

from .ingest.mail import parse_person
from .model import Errors, FileDiff, Hunk, Line, Message, Patch
from .subject import parse_subject
from .trailers import parse_log_trailers

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
# Bounds on hostile diffs. The largest file in Linux 6.12 has 223k lines; a header naming a line
# past MAX_HUNK_LINE is not a real hunk (a sparse image up to that line would exhaust memory).
MAX_HUNK_LINE = 1_000_000
MAX_HUNKS = 5_000
_DIFF_START = re.compile(r"^(diff --git |diff -|Index: |--- \S|RCS file: )")
_FILE_HEADER = re.compile(
    r"^(diff --git |diff -|index |new file mode |deleted file mode |old mode |new mode |similarity index |"
    r"dissimilarity index |rename from |rename to |copy from |copy to |Binary files |--- |\+\+\+ |Index: |"
    r"={20,}|RCS file: |retrieving revision |GIT binary patch)")
_BINARY_DATA = re.compile(r"^(literal \d+|delta \d+|[A-Za-z][0-9A-Za-z!#$%&()*+;<=>?@^_`{|}~-]+)$")
# " mm/gup.c | 4 +++-" (a web archive may have stripped the leading space)
_DIFFSTAT = re.compile(r"^ ?([\w./-]\S*)\s+\|\s+(\d+|Bin\b.*)")
_BASE = re.compile(r"^base-commit:\s*([0-9a-f]{7,64})\s*$", re.M)
_PREREQ = re.compile(r"^prerequisite-patch-id:\s*([0-9a-f]{7,64})\s*$", re.M)
_EMBEDDED_FROM = re.compile(r"^>?From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$")
_INBODY = re.compile(r"^(From|Subject|Date):\s*(.*)$")
_PULL = re.compile(r"^are available in the git(?: repository)? at:\s*$", re.I | re.M)
_PULL_URL = re.compile(r"^\s*([\w+-]+://\S+|[\w.+-]+@[\w.-]+:\S+)\s*(.*?)\s*$")


def split_inbody_headers(body: str) -> tuple[dict, str]:
    """In-body headers at the top override the mail's, as in git mailinfo:
    `From:`/`Subject:`/`Date:` lines (with continuation lines), a bare
    `[PATCH] title` line as the subject, and an embedded format-patch
    `From <sha> Mon Sep 17 ...` separator before them. The block must be
    followed by a blank line."""
    lines = body.split("\n")
    found: dict = {}
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    start = i
    if i < len(lines) and _EMBEDDED_FROM.match(lines[i]):
        i += 1
    if i < len(lines) and lines[i].startswith("[PATCH] ") and (i + 1 >= len(lines) or not lines[i + 1].strip()):
        return {"Subject": lines[i].strip()}, "\n".join(lines[:start] + lines[i + 2:])
    while i < len(lines):
        m = _INBODY.match(lines[i])
        if m and m.group(1) not in found:
            found[m.group(1)] = m.group(2).strip()
            last = m.group(1)
        elif found and lines[i][:1] in (" ", "\t") and lines[i].strip():
            found[last] += " " + lines[i].strip()  # a folded in-body header
        else:
            break
        i += 1
    if not found or (i < len(lines) and lines[i].strip()):
        return {}, body
    return found, "\n".join(lines[:start] + lines[i + 1:])


def _really_diff(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.startswith("--- "):
        return i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
    if line.startswith("Index: "):
        return any(ln.startswith(("---", "===", "diff ")) for ln in lines[i + 1:i + 4])
    return True


def find_diff_start(lines: list[str]) -> Optional[int]:
    for i, line in enumerate(lines):
        if _DIFF_START.match(line) and _really_diff(lines, i):
            return i
    return None


class _DiffScanner:
    """Delimit the diff in `lines[start:]` and cut it into per-file chunks."""

    def __init__(self, lines: list[str], start: int, name: str, where: str, errors: Errors):
        self.lines, self.i = lines, start
        self.name, self.where, self.errors = name, where, errors
        self.files: list[list[str]] = []
        self.end = start
        self.skipped: set[int] = set()   # id() of file chunks with an impossible hunk header
        self.hunks = 0

    def scan(self) -> None:
        lines = self.lines
        current: Optional[list[str]] = None
        binary = False
        while self.i < len(lines):
            line = lines[self.i]
            m = _HUNK.match(line)
            if m and current is not None:
                binary = False
                self.hunks += 1
                if self.hunks > MAX_HUNKS:
                    self.errors.add(self.name, self.where, f"more than {MAX_HUNKS} hunks; the diff is read up to "
                                                           f"line {self.i + 1} only")
                    break
                self._hunk(m, current)
                continue
            if line.startswith("@@@ ") or line.startswith("diff --cc "):
                self.errors.add(self.name, self.where, f"combined diff at line {self.i + 1} is not supported; file skipped")
                current = None
                self.i += 1
                while self.i < len(lines) and not lines[self.i].startswith(("diff --git ", "-- ")) and lines[self.i].strip():
                    self.i += 1
                self.end = self.i
                continue
            starts_file = line.startswith(("diff --git ", "diff -", "Index: ")) or (
                line.startswith("--- ") and self.i + 1 < len(lines) and lines[self.i + 1].startswith("+++ ")
                and (current is None or any(_HUNK.match(x) for x in current)))
            if starts_file:
                current = [line]
                self.files.append(current)
                binary = False
            elif current is not None and _FILE_HEADER.match(line):
                current.append(line)
                binary = binary or line.startswith("GIT binary patch")
            elif current is not None and binary and not line.strip():
                pass  # blank lines separate the forward and reverse binary blocks
            elif current is not None and binary and _BINARY_DATA.match(line):
                current.append(line)
            elif current is not None and line.startswith("\\ "):
                current.append(line)
            else:
                break
            self.i += 1
            self.end = self.i

    def _hunk(self, m: re.Match, current: list[str]) -> None:
        lines = self.lines
        header_at = self.i
        impossible = any(g is not None and (len(g) > 7 or int(g) > MAX_HUNK_LINE) for g in m.groups()[:4])
        if impossible:
            if id(current) not in self.skipped:
                self.errors.add(self.name, self.where,
                                f"hunk at diff line {header_at + 1} names line numbers past {MAX_HUNK_LINE:,} "
                                f"({lines[header_at][:60]!r}); no source file is that long: file skipped")
            self.skipped.add(id(current))
            old_len = new_len = 0  # read its lines as the hunk goes on, and drop them with the file
        else:
            old_len = int(m.group(2)) if m.group(2) is not None else 1
            new_len = int(m.group(4)) if m.group(4) is not None else 1
        self.i += 1
        body: list[str] = []
        old = new = 0
        while self.i < len(lines) and (old < old_len or new < new_len):
            line = lines[self.i]
            c = line[:1]
            if line == "":
                line, c = " ", " "  # blank context line whose space a mailer ate
            if c == " ":
                old += 1
                new += 1
            elif c == "-":
                old += 1
            elif c == "+":
                new += 1
            elif c == "\\":
                pass
            else:
                break
            body.append(line)
            self.i += 1
        # a hunk that goes on past its counts (header lies short)
        while self.i < len(lines) and old >= old_len and new >= new_len:
            line = lines[self.i]
            c = line[:1]
            if c == "\\":
                body.append(line)
                self.i += 1
                continue
            nxt = lines[self.i + 1] if self.i + 1 < len(lines) else ""
            if c in " +-" and not line.startswith(("--- ", "+++ ", "-- ")) and line.strip() and not (
                    line.rstrip() == "--" and not nxt.strip()):
                body.append(line)
                old += c in " -"
                new += c in " +"
                self.i += 1
                continue
            break
        self.end = self.i
        if impossible:
            return
        header = lines[header_at]
        if (old, new) != (old_len, new_len):
            self.errors.add(self.name, self.where,
                            f"hunk at diff line {header_at + 1} ({header.split('@@')[1].strip()}) "
                            f"has {old} old / {new} new lines; its header says {old_len} / {new_len}. Recounted.")
            old_start, new_start = int(m.group(1)), int(m.group(3))
            header = f"@@ -{old_start},{old} +{new_start},{new} @@" + (f" {m.group(5)}" if m.group(5) else "")
        current.append(header)
        current.extend(body)
        self.end = self.i


def _clean_path(raw: Optional[str]) -> Optional[str]:
    if raw is None:
        return None
    path = raw.strip()
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape", "replace")
    if path == "/dev/null":
        return None
    if path[:2] in ("a/", "b/"):
        path = path[2:]
    return path


def path_is_safe(path: str) -> bool:
    """A diff path must stay inside the tree: relative, no `..`, no NUL."""
    if not path or "\0" in path or path.startswith("/") or "\\" in path:
        return False
    norm = posixpath.normpath(path)
    return not (norm == ".." or norm.startswith("../") or "/../" in f"/{path}/")


_ADDED, _REMOVED = Line("+", "", None, None), Line("-", "", None, None)


class SummaryLines:
    """A summary hunk's lines: `added` `+` Lines then `removed` `-` Lines, with no text (what
    FileDiff.added/.removed count), and two numbers held instead of a Line per line."""
    __slots__ = ("added", "removed")

    def __init__(self, added: int, removed: int) -> None:
        self.added, self.removed = added, removed

    def __iter__(self) -> Iterator[Line]:
        return chain(repeat(_ADDED, self.added), repeat(_REMOVED, self.removed))

    def __len__(self) -> int:
        return self.added + self.removed

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SummaryLines) and (self.added, self.removed) == (other.added, other.removed)

    def __hash__(self) -> int:
        return hash((self.added, self.removed))

    def __reduce__(self):
        return SummaryLines, (self.added, self.removed)

    def __repr__(self) -> str:
        return f"SummaryLines(added={self.added}, removed={self.removed})"


def _convert(pf, summary: bool = False) -> FileDiff:
    """unidiff's file -> FileDiff; `summary` (a metadata-only parse): each hunk's lines are its
    counts (SummaryLines)."""
    hunks = []
    for h in pf:
        if summary:
            hunks.append(Hunk(h.source_start, h.source_length, h.target_start, h.target_length,
                              h.section_header or "", SummaryLines(h.added, h.removed)))
            continue
        out = []
        no_nl_old = no_nl_new = False
        prev = None
        for ln in h:
            if ln.line_type == "\\":
                if prev is not None:
                    no_nl_old |= prev.kind in " -"
                    no_nl_new |= prev.kind in " +"
                continue
            value = ln.value[:-1] if ln.value.endswith("\n") else ln.value
            prev = Line(ln.line_type, value, ln.source_line_no, ln.target_line_no)
            out.append(prev)
        hunks.append(Hunk(h.source_start, h.source_length, h.target_start, h.target_length,
                          h.section_header or "", tuple(out), no_nl_old, no_nl_new))
    return _file_diff("".join(pf.patch_info or []), pf.source_file, pf.target_file, pf.is_binary_file,
                      pf.source_mode, pf.target_mode, tuple(hunks))


def _file_diff(info: str, source_file: Optional[str], target_file: Optional[str], is_binary: bool,
               source_mode: Optional[str], target_mode: Optional[str], hunks: tuple) -> FileDiff:
    """A FileDiff from what unidiff reads of a file's diff: its header lines (`info`), its paths
    as the headers give them, binary or not, modes, and the hunks already made."""
    old = _clean_path(source_file)
    new = _clean_path(target_file)
    rename_from = re.search(r"^rename from (.*)$", info, re.M)
    rename_to = re.search(r"^rename to (.*)$", info, re.M)
    if rename_from or rename_to:
        status = "renamed"
        old = _clean_path(rename_from.group(1)) if rename_from else old
        new = _clean_path(rename_to.group(1)) if rename_to else new
    elif "copy from " in info:
        status = "copied"
    elif old is None or "new file mode" in info:
        status, old = "added", None
    elif new is None or "deleted file mode" in info:
        status, new = "deleted", None
    elif not hunks and ("old mode" in info) and not is_binary:
        status = "mode"
    else:
        status = "modified"
    if status in ("added",) and new is None:
        new = _clean_path(target_file) or _clean_path(source_file)
    idx = re.search(r"^index ([0-9a-f]+)\.\.([0-9a-f]+)", info, re.M)
    sim = re.search(r"^similarity index (\d+)%", info, re.M)
    binary = is_binary or "GIT binary patch" in info or "Binary files" in info
    return FileDiff(old, new, status, hunks, binary, source_mode, target_mode,
                    int(sim.group(1)) if sim else None,
                    idx.group(1) if idx else None, idx.group(2) if idx else None)


# git's file header lines that only name things (unidiff keeps them as the file's info)
_INFO_ONLY = ("index ", "similarity index ", "rename from ", "rename to ")


def _summary_file(chunk: list[str]) -> Optional[FileDiff]:
    """One file's chunk (as the scanner cut it) read for a summary in one pass, exactly as unidiff
    reads it, or None when the chunk is not a plain git diff (quoted or binary paths, copies,
    non-git headers, unusual hunks): unidiff then reads the whole diff."""
    m = RE_DIFF_GIT_HEADER.match(chunk[0])
    if m is None or '"' in chunk[0]:
        return None
    source, target = m.group("source"), m.group("target")
    source_mode = target_mode = None
    info = [chunk[0]]
    i, n = 1, len(chunk)
    while i < n and not chunk[i].startswith("@@"):
        line = chunk[i]
        i += 1
        if line.startswith("--- "):
            continue  # inside a git header, unidiff takes the paths from `diff --git`
        if line.startswith("+++ "):
            if RE_TARGET_FILENAME.match(line).group("filename") != target:
                return None
            continue
        if (mm := RE_DIFF_GIT_NEW_FILE.match(line)) is not None:
            source, target_mode = DEV_NULL, mm.group("mode")
        elif (mm := RE_DIFF_GIT_DELETED_FILE.match(line)) is not None:
            target, source_mode = DEV_NULL, mm.group("mode")
        elif (mm := RE_DIFF_GIT_OLD_MODE.match(line)) is not None:
            source_mode = mm.group("mode")
        elif (mm := RE_DIFF_GIT_NEW_MODE.match(line)) is not None:
            target_mode = mm.group("mode")
        elif (mm := RE_DIFF_GIT_INDEX.match(line)) is not None:
            source_mode = source_mode if source_mode is not None else mm.group("mode")
            target_mode = target_mode if target_mode is not None else mm.group("mode")
        elif not line.startswith(_INFO_ONLY):
            return None
        info.append(line)
    hunks = []
    while i < n:
        h = RE_HUNK_HEADER.match(chunk[i])
        if h is None:
            return None
        start_old, len_old, start_new, len_new, section = h.groups()
        len_old = 1 if len_old is None else int(len_old)
        len_new = 1 if len_new is None else int(len_new)
        if not (len_old or len_new):
            return None
        i += 1
        old = new = added = removed = 0
        while i < n and (old < len_old or new < len_new):
            c = chunk[i][:1]
            if c == "+":
                new += 1
                added += 1
            elif c == "-":
                old += 1
                removed += 1
            elif c == " " or c == "":
                old += 1
                new += 1
            elif c != "\\":
                return None
            i += 1
        if old != len_old or new != len_new:
            return None
        while i < n and chunk[i][:1] == "\\":
            if not RE_NO_NEWLINE_MARKER.match(chunk[i]):
                return None
            i += 1
        hunks.append(Hunk(int(start_old), len_old, int(start_new), len_new, section or "",
                          SummaryLines(added, removed)))
    return _file_diff("".join(line + "\n" for line in info), source, target, False, source_mode, target_mode,
                      tuple(hunks))


def parse_diff(text_lines: list[str], start: int, name: str, where: str, errors: Errors,
               summary: bool = False) -> tuple[tuple, str, int]:
    """Parse the diff starting at `start`: (FileDiffs, diff text, index after the diff).
    `summary`: hunks keep their headers and line counts only (SummaryLines), read in one pass
    (_summary_file), several times faster than unidiff reading every line."""
    scanner = _DiffScanner(text_lines, start, name, where, errors)
    scanner.scan()
    scanner.files = [chunk for chunk in scanner.files if id(chunk) not in scanner.skipped]
    # a summary of plain git diffs is read in one pass here; anything else by unidiff
    fast = [_summary_file(chunk) for chunk in scanner.files] if summary else [None]
    read = fast if all(f is not None for f in fast) else [_convert(pf, summary) for pf in
                                                          _unidiff(scanner.files, summary, name, where, errors)]
    files = []
    for fd in read:
        unsafe = [p for p in (fd.old_path, fd.new_path) if p is not None and not path_is_safe(p)]
        if unsafe:
            errors.add(name, where, f"diff path {unsafe[0]!r} leaves the source tree; file ignored")
            continue
        files.append(fd)
    diff_text = "\n".join(text_lines[start:scanner.end])
    return tuple(files), diff_text + ("\n" if diff_text else ""), scanner.end


def _unidiff(chunks: list[list[str]], summary: bool, name: str, where: str, errors: Errors) -> list:
    """unidiff's files for the scanner's chunks: one pass for the whole diff; file by file only
    to isolate a bad one. `summary`: its metadata-only pass (counts, no lines)."""
    try:
        return list(PatchSet("".join("\n".join(chunk) + "\n" for chunk in chunks), metadata_only=summary))
    except UnidiffParseError:
        pass
    parsed = []
    for chunk in chunks:
        try:
            parsed.extend(PatchSet("\n".join(chunk) + "\n", metadata_only=summary))
        except UnidiffParseError as exc:
            errors.add(name, where, f"diff of {chunk[0][:80]!r} not understood ({exc}); file skipped")
    return parsed


def parse_diffstat(notes: str) -> tuple:
    return tuple((m.group(1).strip(), m.group(2).strip()) for m in map(_DIFFSTAT.match, notes.split("\n")) if m)


def find_pull_url(text: str) -> Optional[str]:
    if "available in the git" not in text.lower():  # what _PULL needs, found far faster
        return None
    m = _PULL.search(text)
    if not m:
        return None
    following = [ln for ln in text[m.end():].split("\n")[:6]]
    for i, line in enumerate(following):
        if not line.strip():
            continue
        um = _PULL_URL.match(line)
        if not um:
            return None
        url, ref = um.group(1), um.group(2)
        if not ref and i + 1 < len(following) and following[i + 1].strip() and not following[i + 1].startswith(" "):
            ref = following[i + 1].strip()  # the branch wrapped onto its own line
        return f"{url} {ref}".strip()
    return None


def parse_patch(msg: Message, errors: Errors, summary: bool = False) -> Optional[Patch]:
    """The Patch in a message, or None when it carries no diff and no pull request.
    `summary`: the files' hunks are counts only (see parse_diff); the diff text is still kept."""
    body = msg.body
    inbody, body = split_inbody_headers(body)
    lines = body.split("\n")
    diff_at = find_diff_start(lines)
    pull_url = find_pull_url(body) if diff_at is None or "are available in the" in body else None
    if diff_at is None and pull_url is None:
        return None
    name = msg.source.input
    where = f"{msg.source.where} {msg.msgid}".strip()
    if diff_at is not None:
        files, diff_text, diff_end = parse_diff(lines, diff_at, name, where, errors, summary)
    else:
        files, diff_text, diff_end = (), "", len(lines)
    head = "\n".join(lines[:diff_at]) if diff_at is not None else body
    log, _, notes = _split_notes(head)
    tail = "\n".join(lines[diff_end:])
    base = _BASE.search(tail) or _BASE.search(notes)
    subject = parse_subject(inbody.get("Subject") or msg.subject)
    author = parse_person(inbody["From"]) if "From" in inbody else msg.sender
    return Patch(
        message=msg, subject=subject, author=author, log=log.strip("\n"),
        trailers=parse_log_trailers(log), notes=notes.strip("\n"), diffstat=parse_diffstat(notes),
        files=files, diff=diff_text, base_commit=base.group(1) if base else None,
        prerequisites=tuple(_PREREQ.findall(tail)), pull_url=pull_url,
    )


def _split_notes(head: str) -> tuple[str, str, str]:
    """Split the text above the diff at the `---` line: (log, sep, notes)."""
    lines = head.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip() == "---":
            return "\n".join(lines[:i]), "---", "\n".join(lines[i + 1:])
    return head, "", ""


def quoted_diff_present(body: str) -> bool:
    """A diff quoted in a reply (`> @@ ...`), as reviewers do when commenting."""
    return bool(re.search(r"^>[ >]*@@ -\d+", body, re.M))

