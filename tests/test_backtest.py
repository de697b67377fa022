"""reviewkit backtest: our fixture fixes on our fixture tree, a git history, and real 6.12.y fixes."""
from __future__ import annotations

import json

import pygit2
import pytest

from reviewkit import backtest
from reviewkit.cli import main
from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs
from reviewkit.source.apply import apply_file, reversed_patch


def _run(fixtures, jobs=None, processes=1):
    root = fixtures / "backtest"
    errors = Errors()
    jobs = jobs if jobs is not None else backtest.mail_jobs([str(root)], errors)
    return backtest.run(jobs, backtest.Settings(str(root / "tree")), processes=processes, errors=errors)


def _by_id(data):
    return {c["id"].split("-", 1)[0]: c for c in data["cases"]}


def test_reversed_patch_undoes_the_patch(fixtures):
    (patch,) = parse_inputs([str(fixtures / "backtest" / "fixes" / "0001-mm-demo-check-the-mapped-pte.patch")]
                            ).patches.values()
    fixed = (fixtures / "backtest" / "tree" / "mm" / "walk_demo.c").read_text()
    before, *_ = apply_file(fixed, reversed_patch(patch).files[0])
    assert "if (!pte)\n\t\treturn 0;\n\tfor" not in before and before.count("\n") == fixed.count("\n") - 2
    again, *_ = apply_file(before, patch.files[0])
    assert again == fixed


def test_fixture_fixes_forward_and_reversed(fixtures):
    data = _run(fixtures)
    cases = _by_id(data)
    assert {k: c["apply"]["status"] for k, c in cases.items()} == {
        "0001": "in-tree", "0002": "in-tree", "0003": "not-in-tree", "0004": "does-not-apply"}
    # the NULL check brought back out: the pte rule notices; going forward, the fix is clean
    assert cases["0001"]["noticed"] == ["mm/pte-offset-map-may-fail"]
    assert cases["0001"]["forward"] == [] and cases["0001"]["noise"] == []
    assert cases["0002"]["noticed"] == [] and cases["0002"]["reversed"] == []
    assert cases["0003"]["reversed"] == []  # not in the tree: linted forward only
    assert any("neither reverse-applies" in e["message"] for e in cases["0004"]["errors"])
    assert cases["0001"]["category"] == "pagetable" and cases["0001"]["category_source"] == "index"
    assert cases["0004"]["category_source"] == "derived"
    s = data["stats"]
    assert (s["cases"], s["reverse_applicable"], s["noticed"], s["recall"], s["noise_cases"]) == (4, 2, 1, 0.5, 0)
    rule = data["by_rule"]["mm/pte-offset-map-may-fail"]
    assert rule["noticed"] == ["0001-mm-demo-check-the-mapped-pte"] and rule["noise_cases"] == 0


def test_parallel_run_gives_the_same_scores(fixtures):
    one, two = _run(fixtures), _run(fixtures, processes=2)
    strip = ("seconds", "rule_seconds", "errors")
    assert [{k: v for k, v in c.items() if k not in strip} for c in one["cases"]] == \
           [{k: v for k, v in c.items() if k not in strip} for c in two["cases"]]
    assert one["by_category"] == two["by_category"]


def test_derived_categories():
    assert backtest.derive_category("mm/hugetlb: fix a race", ["mm/hugetlb.c"]) == "hugetlb"
    assert backtest.derive_category("mm: fix a leak", ["mm/memory-failure.c"]) == "memory-failure"
    assert backtest.derive_category("mm: fix a leak", ["mm/foo.c"], ["zap_pte_range"]) == "zap"
    assert backtest.derive_category("mm: fix a leak", ["mm/foo.c"]) == "other"


def test_command_outputs(fixtures, tmp_path, capsys):
    root = fixtures / "backtest"
    out = tmp_path / "bt.json"
    assert main(["backtest", str(root), "--tree", str(root / "tree"), "-j", "1", "-o", str(out), "-q"]) == 0
    data = json.loads(out.read_text())
    for key in ("version", "errors", "cases", "by_rule", "by_category", "stats", "noticed"):
        assert key in data
    for key in ("id", "subject", "category", "apply", "forward", "reversed", "noise", "noticed"):
        assert key in data["cases"][0]
    html = tmp_path / "bt.html"
    assert main(["backtest", str(root), "--tree", str(root / "tree"), "-j", "1", "-o", str(html), "-q"]) == 0
    page = html.read_text()
    assert "1 of 2 bugs noticed" in page and "mm/pte-offset-map-may-fail" in page and "<script" not in page
    assert main(["backtest", str(root), "--tree", str(root / "tree"), "-j", "1"]) == 0
    text = capsys.readouterr().out
    assert "recall: 1 of 2 bugs noticed" in text and "0001-mm-demo-check-the-mapped-pte" in text
    assert main(["backtest", "--tree", str(root / "tree")]) == 2  # neither mails nor --git-range


def _git_history(fixtures, tmp_path):
    """A culprit that maps a pte table without checking, its fix (with a Fixes: tag), and an unrelated commit."""
    repo = pygit2.init_repository(str(tmp_path / "linux"))
    sig = pygit2.Signature("A", "a@example.org", 1740000000, 0)  # 2025: pte_offset_map() can fail
    fixed = (fixtures / "backtest" / "tree" / "mm" / "walk_demo.c").read_text()
    buggy = fixed.replace("\tif (!pte)\n\t\treturn 0;\n\tfor", "\tfor")
    empty = fixed[:fixed.index("static int demo_count_young")]

    def commit(text, parents, message, name="walk_demo.c"):
        mm = repo.TreeBuilder()
        mm.insert(name, repo.create_blob(text.encode()), pygit2.enums.FileMode.BLOB)
        top = repo.TreeBuilder()
        top.insert("mm", mm.write(), pygit2.enums.FileMode.TREE)
        return repo.create_commit("HEAD", sig, sig, message, top.write(), parents)

    base = commit(empty, [], "mm/demo: start\n")
    culprit = commit(buggy, [base], "mm/demo: count young ptes\n\nReclaim wants to know how many ptes of a range are young.\n\nSigned-off-by: A <a@example.org>\n")
    fix = commit(fixed, [culprit], "mm/demo: check the mapped pte table\n\npte_offset_map_lock() returns NULL when the pmd "
                 "changed under us; demo_count_young() then dereferenced it.\n\n"
                 f"Fixes: {str(culprit)[:12]} (\"mm/demo: count young ptes\")\nSigned-off-by: A <a@example.org>\n")
    commit(fixed + "\n", [fix], "mm/demo: a blank line\n\nSigned-off-by: A <a@example.org>\n")
    return repo, base, culprit, fix


def test_git_history_fixes_and_culprits(fixtures, tmp_path):
    repo, base, culprit, fix = _git_history(fixtures, tmp_path)
    errors = Errors()
    jobs = backtest.git_jobs(str(tmp_path / "linux"), f"{base}..HEAD", errors)
    assert [j.commit for j in jobs] == [str(fix)]  # only the commit with a Fixes: tag
    data = backtest.run(jobs, backtest.Settings(str(tmp_path / "linux")), errors=errors)
    (case,) = data["cases"]
    assert case["noticed"] == ["mm/pte-offset-map-may-fail"] and case["noise"] == []
    (found,) = case["culprits"]
    assert found["id"] == str(culprit)[:12] and found["subject"] == "mm/demo: count young ptes"
    assert [f["rule"] for f in found["findings"]] == ["mm/pte-offset-map-may-fail"]


# --- real fixes: a few stable 6.12.y mm fixes on Debian's 6.12 tree -----------------------

CORPUS_CASES = {
    # a fix that reverse-applies (INDEX.json says so too)
    "6.12.19__mm-fix-finish_fault-handling-for-large-folios": "in-tree",
    "6.12.5__mm-gup-handle-null-pages-in-unpin_user_pages": "in-tree",
    # later 6.12.y changes touched the same lines: it fits neither way
    "6.12.19__mm-abort-vma_modify-on-merge-out-of-memory-failure": "does-not-apply",
}


def test_backtest_on_real_stable_fixes(corpus, linux_6_12):
    folder = corpus / "stable-mm-6.12"
    errors = Errors()
    jobs = [j for j in backtest.mail_jobs([str(folder)], errors) if j.id in CORPUS_CASES]
    assert len(jobs) == len(CORPUS_CASES) and not errors
    data = backtest.run(jobs, backtest.Settings(str(linux_6_12)), processes=1, errors=errors)
    index = {e["file"].rsplit("/", 1)[-1][:-6]: e for e in json.loads((folder / "INDEX.json").read_text())}
    for case in data["cases"]:
        assert case["apply"]["status"] == CORPUS_CASES[case["id"]]
        assert (case["apply"]["status"] == "in-tree") == index[case["id"]]["reverse_applies_to_debian_6_12"]
        assert case["category"] == index[case["id"]]["category"]
        # a merged fix draws no error or warning from an mm rule going forward
        assert not [r for r in case["noise"] if r.startswith("mm/")]
    assert data["stats"]["reverse_applicable"] == 2


def test_backtest_on_clean_61_series_is_quiet(corpus, linux_6_1):
    """Merged upstream work backported to 6.1: not in the tree, linted forward; no rule may object.

    Left out: mm/pvmw-pte-not-present's finding in folio_referenced_one(), which the vma_has_recency
    patch touches: 6.1 code with no pte_present() test that mainline later added (a true issue in the
    code the patch edits, not one the patch brings)."""
    errors = Errors()
    jobs = backtest.mail_jobs([str(corpus / "mm-patches-6.1" / "series-b")], errors)
    settings = backtest.Settings(str(linux_6_1), ignore=["mm/pvmw-pte-not-present"])
    data = backtest.run(jobs, settings, processes=1, errors=errors)
    states = {c["id"][:11]: c["apply"]["status"] for c in data["cases"]}
    assert states["020-v6.3-22"] == "already-in-tree"  # the README: already in 6.1.192
    assert sum(s == "not-in-tree" for s in states.values()) == 10
    assert data["stats"]["noise_findings"] == 0 and data["stats"]["reverse_applicable"] == 0
