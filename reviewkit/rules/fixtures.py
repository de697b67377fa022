"""Rule fixtures: files beside a rule, annotated with what the rule must and must not say.

Fixture kinds (`<rule-name>.bad.*` must produce findings, `.good.*` none):

- `.c` / `.h`: kernel-style code, analysed as a patch that adds the file
  (`mm/<name>.c`). Annotate the line a finding is expected on with a comment
  on the line before it, or at its end: `/* ruleid: mm/no-new-bug-on */`
  (expected) or `/* ok: mm/no-new-bug-on */` (must stay silent).
- `.patch`: a mail with a diff. `ruleid:`/`ok:` comments on `+` lines name
  post-image lines; `resolved:` on `-` lines names pre-image lines the rule
  must report as resolved. Commit-message rules are annotated in the notes
  after `---` with a line `ruleid: patch/...` or `ok: patch/...`. A folder
  `<rule-name>.tree/` beside the fixture is the source tree it applies to
  (without one, the patch is analysed from its hunks alone); annotations in
  its files name pre-image lines (mapped through the patch), and its
  `ruleid:` marks hold for the `.bad.` fixture (the `.good.` one must stay
  silent there).
"""
from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..code.analysis import analyse
from ..model import Errors
from ..pipeline import parse_inputs
from .engine import lint
from .loader import LoadedRule

_ANNOT = re.compile(r"(ruleid|ok|resolved):\s*([\w./-]+)")
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass
class Expectations:
    expected: set = field(default_factory=set)   # (rule, path, line) ; path/line None for the commit message
    silent: set = field(default_factory=set)
    resolved: set = field(default_factory=set)


def _code_line_annotations(lines: list[str], path: str, exp: Expectations) -> None:
    for i, text in enumerate(lines, 1):
        for kind, rule in _ANNOT.findall(text):
            own_line = text.strip().startswith(("/*", "//"))  # a comment line names the line below
            target = i + 1 if own_line else i
            {"ruleid": exp.expected, "ok": exp.silent, "resolved": exp.resolved}[kind].add((rule, path, target))


def c_fixture_patch(source: str, path: str) -> str:
    """A mail adding `path` with `source`, as a patch would."""
    lines = source.rstrip("\n").split("\n")
    body = "\n".join("+" + ln for ln in lines)
    return (f"From: Fixture <fixture@example.org>\nSubject: [PATCH] {path}: fixture\n"
            f"Message-Id: <fixture-{abs(hash(source))}@example.org>\nDate: Mon, 06 Oct 2025 10:00:00 +0000\n\n"
            f"Fixture.\n\nSigned-off-by: Fixture <fixture@example.org>\n---\n"
            f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
            f"@@ -0,0 +1,{len(lines)} @@\n{body}\n-- \n2.39.2\n")


def patch_expectations(text: str) -> Expectations:
    exp = Expectations()
    lines = text.split("\n")
    path = None
    old = new = 0
    in_notes = False
    for ln in lines:
        if ln.rstrip() == "---" and path is None:
            in_notes = True
            continue
        if in_notes and path is None and not ln.startswith("diff "):
            m = re.match(r"^\s*(ruleid|ok):\s*([\w./-]+)\s*$", ln)
            if m:
                (exp.expected if m.group(1) == "ruleid" else exp.silent).add((m.group(2), None, None))
        if ln.startswith("+++ "):
            path = ln[4:].strip()
            path = path[2:] if path.startswith("b/") else path
            continue
        h = _HUNK.match(ln)
        if h:
            old, new = int(h.group(1)), int(h.group(2))
            continue
        if path is None or ln.startswith(("--- ", "diff ", "index ")):
            continue
        kind, body = ln[:1], ln[1:]
        for akind, rule in _ANNOT.findall(body):
            own = body.strip().startswith(("/*", "//"))
            if kind == "-" or akind == "resolved":
                exp.resolved.add((rule, path, old + (1 if own else 0)))
            else:
                target = new + (1 if own else 0)
                (exp.expected if akind == "ruleid" else exp.silent).add((rule, path, target))
        if kind == " ":
            old += 1
            new += 1
        elif kind == "-":
            old += 1
        elif kind == "+":
            new += 1
    return exp


def _to_post_image(marks: set, analysis) -> set:
    """Annotations in tree files name pre-image lines; findings name post-image lines (the
    series may add lines above them). Map through the last image of each file."""
    finals = {}
    for images in analysis.images.values():
        for f in images.files:
            if f.before is not None and f.after is not None and f.old_path == f.new_path:
                first = finals.get(f.path, (f.before, None))[0]
                finals[f.path] = (first, f.after)
    out = set()
    for rule, path, line in marks:
        if path in finals and line is not None:
            old, new = finals[path]
            sm = difflib.SequenceMatcher(None, old.split("\n"), new.split("\n"), autojunk=False)
            for a, b, size in sm.get_matching_blocks():
                if a < line <= a + size:
                    line = b + (line - a)
                    break
        out.add((rule, path, line))
    return out


@dataclass
class FixtureResult:
    fixture: Path
    expected: set
    silent: set
    resolved_expected: set
    reported: set            # (rule, path, line) of active findings of the rule
    resolved: set
    errors: list

    @property
    def missing(self) -> set:
        return self.expected - self.reported

    @property
    def unexpected(self) -> set:
        """Findings on lines marked ok, or anywhere in a good fixture."""
        good = ".good." in self.fixture.name
        return {f for f in self.reported if f in self.silent or (good and f not in self.expected)}

    @property
    def missing_resolved(self) -> set:
        return self.resolved_expected - self.resolved

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.missing_resolved or self.errors)


def run_fixture(rule: LoadedRule, fixture: Path) -> FixtureResult:
    text = fixture.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        if fixture.suffix in (".c", ".h"):
            path = f"{'include/linux' if fixture.suffix == '.h' else 'mm'}/{rule.path.stem}{fixture.suffix}"
            exp = Expectations()
            _code_line_annotations(text.split("\n"), path, exp)
            mail = Path(tmp) / "fixture.patch"
            mail.write_text(c_fixture_patch(text, path))
            tree: Optional[str] = None
            tree_marks = Expectations()
        else:
            exp = patch_expectations(text)
            mail = fixture
            stem = fixture.name.split(".bad.")[0].split(".good.")[0]
            tree_dir = fixture.parent / f"{stem}.tree"
            tree = str(tree_dir) if tree_dir.is_dir() else None
            tree_marks = Expectations()  # these name pre-image lines of the tree's files
            if tree:
                for f in tree_dir.rglob("*"):
                    if f.is_file():
                        rel = f.relative_to(tree_dir).as_posix()
                        _code_line_annotations(f.read_text().split("\n"), rel, tree_marks)
            if ".bad." in fixture.name:  # like ruleid marks, a tree's resolved marks hold for the bad fixture
                exp.resolved |= tree_marks.resolved
        errors = Errors()
        parsed = parse_inputs([str(mail)], errors)
        analysis = analyse(parsed, tree, errors=errors)
        result = lint(parsed, analysis, [rule], errors, filter="added")
        if tree:
            # a tree is shared by the bad and good fixtures: its ruleid marks hold for the bad one
            marked = _to_post_image(tree_marks.expected, analysis)
            (exp.expected if ".bad." in fixture.name else exp.silent).update(marked)
            exp.silent |= _to_post_image(tree_marks.silent, analysis)
    mine = lambda fs: {(f.rule, f.path, f.line) for f in fs if f.rule == rule.id and not f.waived}  # noqa: E731
    own = lambda s: {x for x in s if x[0] == rule.id}  # noqa: E731
    return FixtureResult(fixture, own(exp.expected), own(exp.silent), own(exp.resolved),
                         mine(result.findings), mine(result.resolved),
                         list(errors))  # in a fixture, any problem (a hunk that does not apply) is a bug
