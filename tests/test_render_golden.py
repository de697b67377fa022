"""Golden files: every renderer on fixed fixture reports.

The fixture reports (fixtures/render/*.report.json) are Reports as plain
data, made once from fixture inputs through the whole pipeline and stored,
so the goldens change only when a renderer changes, not when a rule or the
engine does. Regenerate them with REVIEWKIT_UPDATE_FIXTURES=1 (then review
the diff), the goldens (tests/golden/) with REVIEWKIT_UPDATE_GOLDEN=1.
"""
from __future__ import annotations

import contextlib
import json
import os

import pytest

from reviewkit.render import b4check, email_reply, html, lint_text, markdown, sarif
from reviewkit.render import json as json_render

from tests.conftest import FIXTURES, ROOT

GOLDEN = ROOT / "tests" / "golden"
REPORTS = FIXTURES / "render"
UPDATE = os.environ.get("REVIEWKIT_UPDATE_GOLDEN") == "1"
UPDATE_FIXTURES = os.environ.get("REVIEWKIT_UPDATE_FIXTURES") == "1"

# name -> (inputs, tree), paths relative to the repository
FIXTURE_INPUTS = {
    "bug-on": (["rules/mm/no-new-bug-on.bad.patch"], "rules/mm/no-new-bug-on.tree"),
    "hostile": (["fixtures/render/hostile-series.mbox"], None),
    "clean": (["fixtures/mail/mm-swap-series.mbox"], None),
    "partial": (["fixtures/partial-series"], "fixtures/partial-tree"),
}

RENDERERS = {
    "txt": lambda d: lint_text.render(d, color=False),
    "json": json_render.render,
    "sarif": sarif.render,
    "md": markdown.render,
    "mbox": email_reply.render,
    "b4.json": b4check.render,
    "terse": b4check.terse,
    "html": html.render,
}


@contextlib.contextmanager
def in_repo():
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(old)


def build_report(inputs: list, tree=None, summary: bool = True) -> dict:
    """The Report of a lint run, the way `reviewkit lint --format html` builds it."""
    from reviewkit.code.analysis import analyse
    from reviewkit.pipeline import parse_inputs
    from reviewkit.render.lint_data import lint_data
    from reviewkit.render.report_data import report_data, thread_summary
    from reviewkit.rules.engine import lint
    from reviewkit.rules.loader import load_rules

    parsed = parse_inputs(inputs, repo_dir=tree)
    rules = load_rules([], parsed.errors)
    analysis = analyse(parsed, tree)
    result = lint(parsed, analysis, rules, parsed.errors)
    data = lint_data(parsed, result, rules, analysis=analysis)
    data["errors"] = [e.as_dict() for e in parsed.errors]
    return report_data(parsed, data, thread_summary(parsed, data["errors"]) if summary else None)


def fixture_report(name: str) -> dict:
    path = REPORTS / f"{name}.report.json"
    if UPDATE_FIXTURES or not path.exists():
        if not UPDATE_FIXTURES:
            pytest.fail(f"{path} is missing: run with REVIEWKIT_UPDATE_FIXTURES=1 to make it")
        inputs, tree = FIXTURE_INPUTS[name]
        with in_repo():
            data = build_report(inputs, tree)
        data["stats"].pop("seconds_by_rule", None)  # timings: not reproducible
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return json.loads(path.read_text(encoding="utf-8"))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"golden file {path} is missing: run with REVIEWKIT_UPDATE_GOLDEN=1 to make it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (f"{name} differs from its golden file; if the change is intended, rerun with "
                              "REVIEWKIT_UPDATE_GOLDEN=1 and review the diff")


@pytest.mark.parametrize("fixture", sorted(FIXTURE_INPUTS))
@pytest.mark.parametrize("ext", sorted(RENDERERS))
def test_golden(fixture, ext):
    text = RENDERERS[ext](fixture_report(fixture))
    assert "/work/" not in text and str(ROOT) not in text, "an absolute path leaked into the output"
    check_golden(f"{fixture}.{ext}", text)


def test_rendering_is_deterministic():
    data = fixture_report("bug-on")
    for ext, render in RENDERERS.items():
        assert render(json.loads(json.dumps(data))) == render(data), ext


def test_fixture_reports_hold_what_the_goldens_are_about():
    """The stored reports still show what they were made to show (a stale regeneration would be caught)."""
    bug = fixture_report("bug-on")
    assert [f["rule"] for f in bug["findings"]] == ["mm/no-new-bug-on"] and len(bug["resolved"]) == 1
    (patch,) = bug["report"]["patches"]
    assert patch["findings"] == [0] and patch["unplaced"] == [] and patch["resolved"] == [0]
    hostile = fixture_report("hostile")
    assert {f["rule"] for f in hostile["findings"]} >= {"mm/no-new-bug-on", "patch/signed-off-by"}
    assert "<script>" in hostile["report"]["patches"][0]["subject"]
    assert hostile["report"]["summary"]["series"][0]["open_questions"]
    clean = fixture_report("clean")
    assert clean["findings"] == [] and clean["report"]["summary"] is not None
