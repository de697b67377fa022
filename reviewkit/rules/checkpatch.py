"""The kernel's own scripts/checkpatch.pl, run on each patch, its report turned into Findings.

reviewkit does not re-implement checkpatch: when the tree given to `lint
--tree` has `scripts/checkpatch.pl` and `perl` is on PATH, each patch is fed
to it as a mail (headers, then the decoded body) on stdin, from the tree's
top directory, the way people run it before sending:

    perl scripts/checkpatch.pl --quiet --terse --show-types --no-summary --no-color -

Decisions:

- Tree mode (no `--no-tree`): the tree is there, so checkpatch may use it
  (MAINTAINERS status of touched files, `<asm/...>` includes, absolute paths).
  It costs ~0.6 s per patch (get_maintainer.pl per touched file), hence the
  parallel runs.
- Commit ids are checked only where the tree can answer. A git repository
  can when it has upstream history (Linux's first commit, 1da177e4c3f4) or
  every commit the patch names; otherwise (a tarball, a repository made from
  one, a shallow clone) UNKNOWN_COMMIT_ID would be reported for every
  `Fixes:` and `commit abc...` reference (52 times over 25 stable fixes), so
  it is ignored (`--ignore UNKNOWN_COMMIT_ID`). Without `.git` checkpatch
  also takes any 12-40 digit hex word (register dumps, `commit X upstream.`,
  the stable-queue marker) for a badly written commit reference
  (GIT_COMMIT_ID): only its reports on a `commit <id>` line that is not the
  stable marker are kept there.
- Terse output names lines of the mail it read. Those are mapped back to the
  diff: a `+` or context line gives the file and its post-image line (a `-`
  line its pre-image line), moved by the offset at which the series applied
  to the tree, so the line agrees with the other rules' findings; lines of
  the commit message, and the checks about the whole patch (sign-offs), give
  no path and no line.
- A checkpatch type that a running rule of ours covers better (COVERED) is
  dropped, so that one problem is not reported twice.
- Each run has a time limit; a run that fails or times out is an entry in
  `errors`, the other patches go on.

Rule ids are `checkpatch/<type in lower case>` (`checkpatch/avoid_bug`);
ERROR, WARNING and CHECK become error, warning and note.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Optional

from ..code.analysis import Analysis
from ..model import Errors, Finding, Message, Patch
from ..pipeline import Parsed
from .context import fingerprint

SCRIPT = "scripts/checkpatch.pl"
ARGS = ("--quiet", "--terse", "--show-types", "--no-summary", "--no-color")
TIMEOUT = 60.0
SEVERITY = {"ERROR": "error", "WARNING": "warning", "CHECK": "note"}
# Reported at the end of the run, about the patch as a whole: no line of its own.
WHOLE_PATCH = frozenset({"MISSING_SIGN_OFF", "NO_AUTHOR_SIGN_OFF", "FROM_SIGN_OFF_MISMATCH", "NOT_UNIFIED_DIFF"})
# checkpatch types that one of our rules checks with more context (diff-scoped, moved code not new, ...).
COVERED = {
    "MISSING_SIGN_OFF": "patch/signed-off-by",
    "NO_AUTHOR_SIGN_OFF": "patch/signed-off-by",
    "BAD_FIXES_TAG": "patch/fixes-format",
    "COMMIT_MESSAGE": "patch/commit-message-why",
    "AVOID_BUG": "mm/no-new-bug-on",
}
DOC = "Documentation/dev-tools/checkpatch.rst"

_REPORT = re.compile(r"^(?P<file>[^:\n]*):(?P<line>\d+): (?P<level>ERROR|WARNING|CHECK):(?P<type>\w+): "
                     r"(?P<message>.*)$")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Report:
    """One line of checkpatch's terse output."""
    line: int        # line of the mail checkpatch read
    level: str       # ERROR | WARNING | CHECK
    type: str        # e.g. AVOID_BUG
    message: str


@dataclass(frozen=True)
class Position:
    """Where a line of the mail is in the diff."""
    path: str
    hunk: int                 # 1-based hunk number in the file; 0 for the file's header lines
    line: Optional[int]       # header-numbered pre/post-image line (None on header lines)
    side: str                 # after | before
    text: str                 # the line without its +/-/space marker


def parse_output(text: str) -> list[Report]:
    """The report lines of `--terse --show-types` output (anything else is ignored)."""
    out = []
    for raw in text.splitlines():
        m = _REPORT.match(raw.strip())
        if m:
            out.append(Report(int(m["line"]), m["level"], m["type"], m["message"].strip()))
    return out


# --- what to run, on what ---------------------------------------------------------------

def checkpatch_root(tree) -> Optional[str]:
    """The tree's top directory when it has scripts/checkpatch.pl (a work tree for git)."""
    root = getattr(tree, "root", None)
    repo = getattr(tree, "repo", None)
    if root is None and repo is not None:
        root = repo.workdir
    if root and os.path.isfile(os.path.join(root, SCRIPT)):
        top = os.path.realpath(root)
        # run only the tree's own script: never one a symlink points to outside the tree
        if os.path.realpath(os.path.join(root, SCRIPT)).startswith(top + os.sep):
            return top
    return None


def available(root: Optional[str]) -> bool:
    return bool(root) and shutil.which("perl") is not None


# Linux's first git commit (v2.6.12-rc2): a repository that has it has the history ids refer to
LINUX_ROOT_COMMIT = "1da177e4c3f41524e886b7f1b8a0c1fc7321cac2"
_COMMIT_REF = re.compile(r"\bcommit\s+([0-9a-f]{12,40})\b", re.I)
_STABLE_MARKER = re.compile(r"^\s*(?:commit\s+[0-9a-f]{40}\s+upstream\.?|\[\s*upstream commit\s+[0-9a-f]{12,40}\s*\])\s*$",
                            re.I)


def referenced_commits(patch: Patch) -> set:
    """The commit ids a patch's message names (`Fixes:`, `commit <id>`)."""
    ids = {t.value.split()[0].lower() for t in patch.trailers if t.key == "Fixes" and t.value.split()}
    ids.update(m.group(1).lower() for m in _COMMIT_REF.finditer(patch.log))
    return {i for i in ids if re.fullmatch(r"[0-9a-f]{7,40}", i)}


def can_answer_commit_ids(tree, patch: Patch) -> bool:
    """Whether the tree's repository can tell a real commit id from a wrong one."""
    repo = getattr(tree, "repo", None)
    if repo is None:
        return False

    def has(rev: str) -> bool:
        try:
            repo.revparse_single(rev)
            return True
        except Exception:  # pygit2: KeyError, ValueError, GitError, InvalidSpecError for unknown/ambiguous ids
            return False
    return has(LINUX_ROOT_COMMIT) or all(has(i) for i in referenced_commits(patch))


def command(root: str, commit_ids: bool = False) -> list[str]:
    """checkpatch's command line; `commit_ids`: the repository can answer commit-id lookups."""
    args = ["perl", SCRIPT, *ARGS]
    if not commit_ids:
        args += ["--ignore", "UNKNOWN_COMMIT_ID"]  # no history to look ids up in: every id is "unknown"
    return args + ["-"]


def _unanswerable(r: "Report", text_lines: list, root: str) -> bool:
    """A GIT_COMMIT_ID report checkpatch made without git: on a line that is no `commit <id>` reference
    (a register dump), or on the stable queue's own `commit <id> upstream.` marker."""
    if r.type != "GIT_COMMIT_ID" or os.path.exists(os.path.join(root, ".git")):
        return False
    line = text_lines[r.line - 1] if 0 < r.line <= len(text_lines) else ""
    return not _COMMIT_REF.search(line) or bool(_STABLE_MARKER.match(line))


def mail_text(msg: Message) -> tuple[str, int]:
    """The mail as checkpatch reads it (headers, blank line, decoded body), and the body's first line."""
    def one_line(value: Optional[str]) -> str:
        return " ".join((value or "").split())

    headers = [f"From: {one_line(msg.header('From')) or msg.sender}",
               f"Subject: {one_line(msg.header('Subject')) or msg.subject}"]
    if msg.header("Date"):
        headers.append(f"Date: {one_line(msg.header('Date'))}")
    if not msg.synthetic_id:
        headers.append(f"Message-ID: {msg.msgid}")
    headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8"]
    return "\n".join(headers) + "\n\n" + msg.body, len(headers) + 2


def run_checkpatch(root: str, text: str, timeout: float = TIMEOUT,
                   commit_ids: bool = False) -> tuple[list[Report], str]:
    """Reports, and a problem ("" when the run went fine: exit 0 or 1 with reports)."""
    data = text.encode("utf-8", "surrogateescape") if _encodable(text) else text.encode("utf-8", "replace")
    try:
        done = subprocess.run(command(root, commit_ids), input=data, cwd=root, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], f"checkpatch.pl did not finish in {timeout:g} s; its findings for this patch are missing"
    except OSError as exc:
        return [], f"checkpatch.pl could not be started: {exc}"
    reports = parse_output(done.stdout.decode("utf-8", "replace"))
    if done.returncode not in (0, 1) or (done.returncode == 1 and not reports):
        detail = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
        return reports, f"checkpatch.pl exited with {done.returncode}: {detail[0] if detail else 'no output'}"
    return reports, ""


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8", "surrogateescape")
        return True
    except UnicodeEncodeError:
        return False


# --- from mail lines to diff positions ------------------------------------------------------

def diff_positions(lines: list[str]) -> dict[int, Position]:
    """1-based mail line -> Position, for the diff's header, hunk and body lines."""
    out: dict[int, Position] = {}
    path, hunk, old, new, left_old, left_new = None, 0, 0, 0, 0, 0
    for n, line in enumerate(lines, 1):
        if left_old > 0 or left_new > 0:
            kind = line[:1]
            if kind == "\\":
                continue  # "\ No newline at end of file"
            if kind in (" ", "") and left_old > 0 and left_new > 0:
                out[n] = Position(path, hunk, new, "after", line[1:])
                old, new, left_old, left_new = old + 1, new + 1, left_old - 1, left_new - 1
                continue
            if kind == "-" and left_old > 0:
                out[n] = Position(path, hunk, old, "before", line[1:])
                old, left_old = old + 1, left_old - 1
                continue
            if kind == "+" and left_new > 0:
                out[n] = Position(path, hunk, new, "after", line[1:])
                new, left_new = new + 1, left_new - 1
                continue
            left_old = left_new = 0  # a hunk shorter than its header said: read on as headers
        if line.startswith("+++ ") and n > 1 and lines[n - 2].startswith("--- "):
            new_path, old_path = _strip_prefix(line[4:]), _strip_prefix(lines[n - 2][4:])
            path, hunk = (old_path if new_path == "/dev/null" else new_path), 0
            out[n - 1] = out[n] = Position(path, 0, None, "after", line)
            continue
        if line.startswith("diff --git "):
            path, hunk = _strip_prefix(line.rsplit(" ", 1)[-1]), 0
            out[n] = Position(path, 0, None, "after", line)
            continue
        m = _HUNK.match(line) if path else None
        if m:
            old, left_old = int(m[1]), int(m[2]) if m[2] is not None else 1
            new, left_new = int(m[3]), int(m[4]) if m[4] is not None else 1
            hunk += 1
            out[n] = Position(path, hunk, None, "after", line)
    return out


def _strip_prefix(path: str) -> str:
    path = path.strip().split("\t", 1)[0]
    return path[2:] if path.startswith(("a/", "b/")) else path


def hunk_shifts(images) -> dict[tuple, tuple]:
    """(path, hunk number) -> (post-image shift, pre-image shift) from the hunk's header numbers to
    where the series really put it in the tree; None when the hunk did not apply."""
    out: dict[tuple, tuple] = {}
    for fi in getattr(images, "files", ()):
        if fi.diff is None or fi.source != "tree":
            continue
        drift = net = 0   # drift: old-side offset so far; net: lines added minus removed so far
        for res in fi.hunks:
            if not 0 < res.number <= len(fi.diff.hunks):
                continue
            hunk = fi.diff.hunks[res.number - 1]
            base = hunk.old_start - hunk.new_start + (1 if hunk.old_len == 0 else 0)
            added = sum(1 for ln in hunk.lines if ln.kind == "+")
            removed = sum(1 for ln in hunk.lines if ln.kind == "-")
            if res.status in ("applied", "offset", "fuzz"):
                drift += res.offset
                out[(fi.path, res.number)] = (base + drift + net, drift)
                net += added - removed
            elif res.status == "already-applied" and res.old_line:
                out[(fi.path, res.number)] = (res.old_line - hunk.new_start + net, None)
            else:
                out[(fi.path, res.number)] = (None, None)
    return out


# --- findings -------------------------------------------------------------------------

def checkpatch_findings(parsed: Parsed, analysis: Analysis, errors: Errors, jobs: int = 2,
                        rules: Iterable[str] = (), timeout: float = TIMEOUT) -> list[Finding]:
    """checkpatch.pl's report on every patch whose series has a tree with scripts/checkpatch.pl.

    `rules`: ids of the rules running alongside; checkpatch types they cover (COVERED) are dropped.
    """
    work = []
    for si, series in enumerate(parsed.series):
        root = checkpatch_root(analysis.trees.get(si))
        if not available(root):
            continue
        tree = analysis.trees.get(si)
        work += [(root, parsed.patches[m], can_answer_commit_ids(tree, parsed.patches[m]))
                 for m in series.patches if m in parsed.patches]
    if not work:
        return []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # the work is in the perl processes
        runs = list(pool.map(lambda job: _check_one(*job, timeout), work))
    running = set(rules)
    skip = {t for t, rule in COVERED.items() if rule in running}
    findings = []
    for (root, patch, _), (reports, positions, first_body, problem, lines) in zip(work, runs):
        if problem:
            errors.add(f"checkpatch {root}", patch.message.msgid, problem)
        shifts = hunk_shifts(analysis.images.get(patch.message.msgid))
        for r in reports:
            if r.type not in skip and not _unanswerable(r, lines, root):
                findings.append(to_finding(r, patch, positions, first_body, shifts, analysis))
    return findings


def _check_one(root: str, patch: Patch, commit_ids: bool, timeout: float):
    text, first_body = mail_text(patch.message)
    reports, problem = run_checkpatch(root, text, timeout, commit_ids)
    lines = text.split("\n")
    return reports, diff_positions(lines), first_body, problem, lines


def to_finding(r: Report, patch: Patch, positions: dict, first_body: int, shifts: dict,
               analysis: Analysis) -> Finding:
    rule = f"checkpatch/{r.type.lower()}"
    pos = None if r.type in WHOLE_PATCH else positions.get(r.line)
    path = line = function = None
    side, confidence = "after", "high"
    snippet = r.message
    if pos is not None:
        path, side, snippet = pos.path, pos.side, pos.text
        if pos.line is not None:
            line, confidence = _moved(pos, shifts)
            function = _function_at(analysis, patch.message.msgid, path, line, side)
    elif r.type not in WHOLE_PATCH and r.line >= first_body:
        snippet = _log_line(patch, r.line - first_body + 1) or r.message
    return Finding(
        rule=rule, severity=SEVERITY[r.level], message=r.message, path=path, line=line, function=function,
        patch=patch.message.msgid, fingerprint=fingerprint(rule, path, function, snippet), end_line=line,
        side=side, snippet=snippet, suggestion=f"checkpatch {r.type}: see {DOC}", confidence=confidence,
        patch_line=pos.line if pos is not None else None)


def _moved(pos: Position, shifts: dict) -> tuple[int, str]:
    """The line in the tree's image; the patch's own number (low confidence) when the hunk did not apply."""
    after, before = shifts.get((pos.path, pos.hunk), (0, 0))
    shift = after if pos.side == "after" else before
    return (pos.line, "low") if shift is None else (pos.line + shift, "high")


def _function_at(analysis: Analysis, msgid: str, path: str, line: int, side: str) -> Optional[str]:
    for fc in analysis.functions(msgid):
        span = fc.after_lines if side == "after" else fc.before_lines
        if fc.path == path and span and span[0] <= line <= span[1]:
            return fc.name
    return None


def _log_line(patch: Patch, body_line: int) -> str:
    """A line of the mail body above the diff (the commit message), for a stable fingerprint."""
    lines = patch.message.body.split("\n")
    return lines[body_line - 1].strip() if 0 < body_line <= len(lines) else ""
