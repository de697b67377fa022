"""The rule engine: loading, scopes, diff-scoped filtering, resolved findings, waivers, broken rules, CLI."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from reviewkit.code.analysis import analyse
from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs
from reviewkit.rules.engine import lint
from reviewkit.rules.loader import load_rules
from reviewkit.rules.waivers import Waiver

USER_RULES = {
    "calls.py": '''
        """Flags calls to demo_counter_inc(). Example: demo_counter_inc(); is reported."""
        from reviewkit.rules import Rule

        RULE = Rule(id="user/demo-calls", severity="warning", scope="function", summary="calls demo_counter_inc")

        def check(ctx):
            for call in ctx.calls(names={"item_weight", "WARN_ON_ONCE"}):
                yield ctx.finding(call, f"{ctx.call_name(call)} called", suggestion="do not")
    ''',
    "broken.py": '''
        """A rule that raises. Example: none."""
        from reviewkit.rules import Rule

        RULE = Rule(id="user/broken", severity="error", scope="patch", summary="raises")

        def check(ctx):
            raise RuntimeError("boom")
            yield
    ''',
    "notarule.py": '''
        X = 1
    ''',
}


@pytest.fixture
def user_rules(tmp_path):
    d = tmp_path / "myrules"
    d.mkdir()
    for name, text in USER_RULES.items():
        (d / name).write_text(textwrap.dedent(text))
    return d


def _lint(fixtures, user_rules, **kw):
    errors = Errors()
    parsed = parse_inputs([str(fixtures / "tree-patches")], errors)
    analysis = analyse(parsed, str(fixtures / "tree"))
    rules = load_rules([str(user_rules)], errors, builtin=False)
    return lint(parsed, analysis, rules, errors, **kw), errors


def test_user_rules_load_and_a_broken_one_is_an_error(fixtures, user_rules):
    result, errors = _lint(fixtures, user_rules)
    assert any("notarule.py" in e.input and "needs RULE" in e.message for e in errors)
    broken = [e for e in errors if e.input == "rule user/broken"]
    assert len(broken) == 3 and "RuntimeError: boom" in broken[0].message  # one per patch, the run went on
    assert result.stats["by_rule"] == {"user/demo-calls": 1}


def test_diff_scoped_filter(fixtures, user_rules):
    added, _ = _lint(fixtures, user_rules)
    (f,) = added.findings
    assert (f.path, f.line, f.function, f.snippet) == ("mm/demo_swap.c", 40, "demo_walk",
                                                       "WARN_ON_ONCE(item->count < 0)")
    everything, _ = _lint(fixtures, user_rules, filter="function")
    assert len(everything.findings) >= len(added.findings)


def test_fingerprint_is_stable_across_line_moves(fixtures, user_rules, tmp_path):
    result, _ = _lint(fixtures, user_rules)
    (a,) = result.findings
    # the same patch against a tree where the function sits 3 lines lower
    import shutil
    shutil.copytree(fixtures / "tree", tmp_path / "t")
    p = tmp_path / "t" / "mm" / "demo_swap.c"
    p.write_text(p.read_text().replace("#include <linux/demo.h>\n", "#include <linux/demo.h>\n\n\n\n"))
    errors = Errors()
    parsed = parse_inputs([str(fixtures / "tree-patches")], errors)
    result = lint(parsed, analyse(parsed, str(tmp_path / "t")), load_rules([str(_dir(fixtures, tmp_path))],
                                                                             errors, builtin=False))
    (b,) = [f for f in result.findings if f.rule == "user/demo-calls"]
    assert b.line == a.line + 3 and b.fingerprint == a.fingerprint


def _dir(fixtures, tmp_path):
    d = tmp_path / "r2"
    d.mkdir(exist_ok=True)
    (d / "calls.py").write_text(textwrap.dedent(USER_RULES["calls.py"]))
    return d


def test_waivers(fixtures, user_rules, tmp_path):
    result, _ = _lint(fixtures, user_rules)
    fp = result.findings[0].fingerprint
    waived, _ = _lint(fixtures, user_rules, waivers=[Waiver(fp, "accepted in review", origin="test")])
    assert waived.findings[0].waived.startswith("accepted in review") and waived.active == []
    by_rule, _ = _lint(fixtures, user_rules, waivers=[Waiver("user/", "all user rules", origin="test")])
    assert by_rule.active == []


def test_trailer_and_inline_waivers(fixtures, tmp_path, user_rules):
    patch = (fixtures / "tree-patches" / "0001-offset.patch").read_text()
    with_trailer = patch.replace("Signed-off-by: Ada", "Reviewkit-Waive: user/demo-calls counted on purpose\n"
                                 "Signed-off-by: Ada")
    (tmp_path / "p1.patch").write_text(with_trailer)
    inline = patch.replace("+\t\telse if (WARN_ON_ONCE(item->count < 0))",
                           "+\t\telse if (WARN_ON_ONCE(item->count < 0)) /* reviewkit-waive: user/demo-calls ok */")
    (tmp_path / "p2.patch").write_text(inline.replace("tree-1@", "tree-1b@"))
    for name, reason in (("p1.patch", "counted on purpose"), ("p2.patch", "ok")):
        errors = Errors()
        parsed = parse_inputs([str(tmp_path / name)], errors)
        result = lint(parsed, analyse(parsed, str(fixtures / "tree")),
                      load_rules([str(user_rules)], errors, builtin=False))
        (f,) = result.findings
        assert f.waived.startswith(reason), name


def test_select_and_ignore(user_rules):
    assert [r.id for r in load_rules([str(user_rules)], builtin=False, select=["user/demo"])] == ["user/demo-calls"]
    assert [r.id for r in load_rules([str(user_rules)], builtin=False, ignore=["user/demo"])] == ["user/broken"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], capture_output=True, text=True, timeout=300)


def test_lint_json_contract_and_exit_codes(fixtures):
    r = _cli("lint", str(fixtures / "bad" / "lying-hunk.patch"), "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for key in ("version", "errors", "findings", "resolved", "stats"):
        assert key in data
    bad = fixtures.parent / "rules" / "mm" / "no-new-bug-on.bad.patch"
    tree = fixtures.parent / "rules" / "mm" / "no-new-bug-on.tree"
    r = _cli("lint", str(bad), "--tree", str(tree), "--format", "json", "--fail-on", "warning")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    f = next(f for f in data["findings"] if f["rule"] == "mm/no-new-bug-on")
    assert {"rule", "severity", "message", "path", "line", "function", "patch", "fingerprint"} <= set(f)
    assert (f["path"], f["line"], f["function"], f["patch"]) == ("mm/demo_rmap.c", 13, "demo_put_rmap",
                                                                 "<no-new-bug-on-bad@example.org>")
    assert [(x["rule"], x["line"]) for x in data["resolved"]] == [("mm/no-new-bug-on", 6)]
    assert _cli("lint", str(bad), "--tree", str(tree), "--fail-on", "error").returncode == 0
    r = _cli("lint", str(fixtures / "bad" / "no-headers.eml"))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_rules_command_explains(fixtures):
    r = _cli("rules", "--explain", "mm/no-new-bug-on")
    assert r.returncode == 0 and "**Why.**" in r.stdout and "WARN_ON_ONCE" in r.stdout
    data = json.loads(_cli("rules", "--format", "json").stdout)
    assert "mm/no-new-bug-on" in [x["id"] for x in data["rules"]]
    assert _cli("rules", "--explain", "nope/none").returncode == 2


REMOVAL = """From: Fixture Author <fixture@example.org>
Subject: [PATCH] mm/memory: simplify the migration COW downgrade
Date: Mon, 06 Oct 2025 10:00:00 +0000
Message-Id: <removal-only@example.org>

Drop the bit copying, it looked redundant.

Signed-off-by: Fixture Author <fixture@example.org>
---
diff --git a/mm/memory.c b/mm/memory.c
--- a/mm/memory.c
+++ b/mm/memory.c
@@ -26,10 +26,6 @@ copy_nonpresent_pte(struct mm_struct *dst_mm, struct mm_struct *src_mm,
 		if (is_writable_migration_entry(entry) && is_cow_mapping(vm_flags)) {
 			entry = make_readable_migration_entry(swp_offset(entry));
 			pte = swp_entry_to_pte(entry);
-			if (pte_swp_soft_dirty(*src_pte))
-				pte = pte_swp_mksoft_dirty(pte);
-			if (pte_swp_uffd_wp(*src_pte))
-				pte = pte_swp_mkuffd_wp(pte);
 			set_pte_at(src_mm, addr, src_pte, pte);
 		}
 	} else if (is_device_private_entry(entry)) {
-- 
2.39.2
"""


def test_a_patch_that_only_removes_code_is_held_to_what_it_breaks(fixtures, tmp_path):
    """Nothing is added, yet the patch makes the rebuilt pte lose its bits: the finding exists
    after the patch and not before it, so it is the patch's (the mirror of a resolved one)."""
    (tmp_path / "removal.patch").write_text(REMOVAL)
    errors = Errors()
    parsed = parse_inputs([str(tmp_path / "removal.patch")], errors)
    analysis = analyse(parsed, str(fixtures / "example" / "tree"))
    result = lint(parsed, analysis, load_rules(errors=errors, select=["mm/swp-pte-bit-preservation"]), errors)
    assert not [e for e in errors if e.input.startswith("rule ")]
    assert [(f.rule, f.function, f.severity) for f in result.findings] == [
        ("mm/swp-pte-bit-preservation", "copy_nonpresent_pte", "error")]
