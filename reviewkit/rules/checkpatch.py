"""The kernel's own scripts/checkpatch.pl, run on each patch, its report turned into Findings.

reviewkit does not re-implement checkpatch: when the tree given to `lint
--tree` has `scripts/checkpatch.pl` and `perl` is on PATH, each patch is
written as a mail (headers, then the decoded body) to a file, and one perl
process checks the whole series from the tree's top directory, the way people
run it before sending:

    perl scripts/checkpatch.pl --quiet --terse --show-types --no-summary --no-color 0001.patch 0002.patch ...

Terse output starts each report with the file it is about, so each is
attributed to its patch. `lint` starts that process before its own analysis
(`start`) and reads its output after it (`Running.findings`): on two cores
the two overlap.

Decisions:

- Tree mode (no `--no-tree`): the tree is there, so checkpatch may use it
  (MAINTAINERS status of touched files, `<asm/...>` includes, absolute paths).
  One process for the series saves perl's start-up (compiling the 7,000-line
  script: ~0.1 s) for every patch after the first.
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
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional

from ..model import Errors, Finding, Message, Patch
from ..pipeline import Parsed
from .context import fingerprint

if TYPE_CHECKING:  # only named: importing the analysis would delay checkpatch's start by its import time
    from ..code.analysis import Analysis

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
    return [r for reports in parse_reports(text).values() for r in reports]


def parse_reports(text: str) -> dict[str, list[Report]]:
    """file checkpatch named -> its report lines, from `--terse --show-types` output over several files."""
    out: dict[str, list[Report]] = {}
    for raw in text.splitlines():
        m = _REPORT.match(raw.strip())
        if m:
            out.setdefault(m["file"], []).append(Report(int(m["line"]), m["level"], m["type"],
                                                        m["message"].strip()))
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


def command(root: str, commit_ids: bool = False, files: Iterable[str] = ("-",)) -> list[str]:
    """checkpatch's command line; `commit_ids`: the repository can answer commit-id lookups."""
    args = ["perl", SCRIPT, *ARGS]
    if not commit_ids:
        args += ["--ignore", "UNKNOWN_COMMIT_ID"]  # no history to look ids up in: every id is "unknown"
    return args + list(files)


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


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape") if _encodable(text) else text.encode("utf-8", "replace")


class Run:
    """One perl process checking some patches (written to files in `folder`), started at once;
    `wait` collects its reports per patch."""

    def __init__(self, root: str, texts: list, folder: str, commit_ids: bool, timeout: float):
        self.root, self.timeout = root, timeout
        self.files = []
        for i, text in enumerate(texts, 1):
            name = os.path.join(folder, f"{'c' if commit_ids else 'n'}{i:04d}.patch")
            with open(name, "wb") as f:
                f.write(_encoded(text))
            self.files.append(name)
        # output to a file, not a pipe: a full pipe would stop perl while we are busy elsewhere
        self.out = tempfile.TemporaryFile(dir=folder)
        self.started = time.monotonic()
        try:
            self.proc: Optional[subprocess.Popen] = subprocess.Popen(
                command(root, commit_ids, self.files), cwd=root, stdin=subprocess.DEVNULL, stdout=self.out,
                stderr=subprocess.STDOUT)
            self.problem = ""
        except OSError as exc:
            self.proc, self.problem = None, f"checkpatch.pl could not be started: {exc}"

    def wait(self) -> tuple[list, str]:
        """([reports of each patch, in order], a problem: "" when the run went fine)."""
        if self.proc is None:
            return [[] for _ in self.files], self.problem
        try:
            code = self.proc.wait(timeout=max(0.0, self.timeout - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return [[] for _ in self.files], \
                f"checkpatch.pl did not finish in {self.timeout:g} s; its findings for this patch are missing"
        self.out.seek(0)
        text = self.out.read().decode("utf-8", "replace")
        self.out.close()
        by_file = parse_reports(text)
        reports = [by_file.get(f, []) for f in self.files]
        if code not in (0, 1) or (code == 1 and not by_file):
            detail = text.strip().splitlines()
            return reports, f"checkpatch.pl exited with {code}: {detail[0] if detail else 'no output'}"
        return reports, ""


def run_checkpatch(root: str, text: str, timeout: float = TIMEOUT,
                   commit_ids: bool = False) -> tuple[list[Report], str]:
    """Reports on one mail, and a problem ("" when the run went fine: exit 0 or 1 with reports)."""
    with tempfile.TemporaryDirectory(prefix="reviewkit-checkpatch-") as folder:
        (reports,), problem = Run(root, [text], folder, commit_ids, timeout).wait()
    return reports, problem


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
    `jobs` is no longer used: one process checks all the patches of a tree.
    """
    trees = {si: analysis.trees.get(si) for si in range(len(parsed.series))}
    return start(parsed, trees, timeout).findings(analysis, errors, rules)


def start(parsed: Parsed, trees, timeout: float = TIMEOUT) -> "Running":
    """Start checkpatch on every patch whose series' tree has scripts/checkpatch.pl; `trees`: a tree for
    all series, or {series index: tree}. One process per tree (two when only some patches' commit ids
    can be looked up)."""
    work: dict = {}  # (root, commit ids answerable) -> [patch, ...]
    for si, series in enumerate(parsed.series):
        tree = trees.get(si) if isinstance(trees, dict) else trees
        root = checkpatch_root(tree)
        if not available(root):
            continue
        for m in series.patches:
            if m in parsed.patches:
                patch = parsed.patches[m]
                work.setdefault((root, can_answer_commit_ids(tree, patch)), []).append(patch)
    return Running(work, timeout)


class Running:
    """checkpatch processes started before the analysis; `findings` waits for them after it."""

    def __init__(self, work: dict, timeout: float):
        self.folder = tempfile.mkdtemp(prefix="reviewkit-checkpatch-") if work else None
        self.runs = []
        for (root, commit_ids), patches in work.items():
            texts = [mail_text(p.message) for p in patches]
            run = Run(root, [t for t, _ in texts], self.folder, commit_ids, timeout * max(1, len(patches)))
            self.runs.append((root, patches, texts, run))

    def cancel(self) -> None:
        """Stop the processes and remove their files (the run ended before their findings were wanted)."""
        for _, _, _, run in self.runs:
            if run.proc is not None and run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()
            run.out.close()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def findings(self, analysis: Analysis, errors: Errors, rules: Iterable[str] = ()) -> list[Finding]:
        running = set(rules)
        skip = {t for t, rule in COVERED.items() if rule in running}
        out = []
        try:
            for root, patches, texts, run in self.runs:
                reports, problem = run.wait()
                for patch, (text, first_body), found in zip(patches, texts, reports):
                    if problem:
                        errors.add(f"checkpatch {root}", patch.message.msgid, problem)
                    lines = text.split("\n")
                    positions = diff_positions(lines)
                    shifts = hunk_shifts(analysis.images.get(patch.message.msgid))
                    out += [to_finding(r, patch, positions, first_body, shifts, analysis) for r in found
                            if r.type not in skip and not _unanswerable(r, lines, root)]
        finally:
            if self.folder:
                shutil.rmtree(self.folder, ignore_errors=True)
        return out


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
