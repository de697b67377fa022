"""Apply status as data: every patch says how it applied, in the lint data all renderers read."""
from __future__ import annotations

import json

from reviewkit.cli import main


def _lint_json(capsys, *args) -> dict:
    main(["lint", *args, "--format", "json", "--no-checkpatch", "--fail-on", "never"])
    return json.loads(capsys.readouterr().out)


def test_each_patch_says_how_it_applied(fixtures, capsys):
    data = _lint_json(capsys, str(fixtures / "tree-patches"), "--tree", str(fixtures / "tree"))
    got = {p["counter"]: p["apply"] for p in data["patches"].values()}
    assert [got[n]["status"] for n in (1, 2, 3)] == ["offset", "fuzz", "partial"]
    assert got[3]["hunks"] == 3
    (failed,) = got[3]["failed_hunks"]
    assert failed["file"] == "mm/demo_swap.c" and failed["hunk"] == 1
    assert failed["reason"].startswith("context not found")
    assert got[3]["summary"] == "partly applied: 1 of 3 hunks failed in mm/demo_swap.c"
    assert got[2]["placements"][0] == {"file": "mm/demo_swap.c", "hunk": 1, "status": "fuzz", "offset": 0,
                                       "fuzz": 1, "line": 25}
    assert got[1]["base"]["tree"] == "dir"


def test_without_a_tree_every_patch_is_no_tree(fixtures, capsys):
    data = _lint_json(capsys, str(fixtures / "tree-patches"))
    assert {p["apply"]["status"] for p in data["patches"].values()} == {"no-tree"}


def test_nothing_is_drawn_from_half_applied_code(fixtures, capsys):
    """Patch 1's first hunk adds the pte_present() branch that flushes; on this tree it does not apply,
    so the pte_clear() its second hunk adds looks like an unflushed present-pte clear. The function is
    read from the hunks alone instead, and the patch says so."""
    data = _lint_json(capsys, str(fixtures / "partial-series"), "--tree", str(fixtures / "partial-tree"))
    by_counter = {p["counter"]: p["apply"] for p in data["patches"].values()}
    assert [by_counter[n]["status"] for n in (1, 2, 3)] == ["partial", "offset", "failed"]
    assert not [f for f in data["findings"] if f["severity"] in ("error", "warning")]
    first = by_counter[1]["analysis"]
    assert first["hunk_only_functions"][0]["function"] == "demo_zap_pte"
    assert first["tree_rules"] == "skipped" and "read from the hunks alone" in first["note"]
    assert data["stats"]["coverage"]["by_status"] == {"failed": 1, "offset": 1, "partial": 1}
    assert any("not a git repository: base 5eed" in n for n in data["tree"]["notes"])


def test_the_same_series_on_its_own_base_is_analysed_whole(fixtures, capsys, tmp_path):
    """On the tree it was written for (the fixture tree with the two lines it expects) every patch applies
    and every function is read from the tree: the fallback is not a blanket."""
    src = (fixtures / "partial-tree" / "mm" / "demo_zap.c").read_text()
    base = src.replace("\tpte = ptep_get(ptep);\n\n\tif (pte_none(pte))\n",
                       "\tpte = ptep_get_lockless(ptep);\n\n\tif (pte_none(pte) || pte_special(pte))\n")
    base = base.replace("return mm->demo_zaps;", "return READ_ONCE(mm->demo_zaps);")
    assert base != src
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "demo_zap.c").write_text(base)
    data = _lint_json(capsys, str(fixtures / "partial-series"), "--tree", str(tmp_path))
    applies = [p["apply"] for p in data["patches"].values()]
    assert {a["status"] for a in applies} == {"applied"}
    assert all(not a["analysis"]["hunk_only_functions"] and a["analysis"]["tree_rules"] == "ran" for a in applies)


def test_findings_carry_the_patch_line(fixtures, capsys, tmp_path):
    """On a tree where mm/memory.c has three more lines at the top, the example series applies 3 lines
    lower than its headers say: each finding keeps the tree line and gives the line the diff shows."""
    import shutil
    shutil.copytree(fixtures / "example" / "tree", tmp_path / "tree")
    memory = tmp_path / "tree" / "mm" / "memory.c"
    memory.write_text("// one\n// two\n// three\n" + memory.read_text())
    series = str(fixtures / "example" / "device-exclusive-series.mbox")
    plain = _lint_json(capsys, series, "--tree", str(fixtures / "example" / "tree"))
    moved = _lint_json(capsys, series, "--tree", str(tmp_path / "tree"))
    assert "offset" in {p["apply"]["status"] for p in moved["patches"].values()}
    in_patch = [f for f in plain["findings"] if f["patch_line"] is not None]
    assert in_patch and all(f["patch_line"] == f["line"] for f in in_patch)
    shifted = {(f["rule"], f["patch_line"]): f["line"] for f in moved["findings"] if f["patch_line"] is not None}
    assert shifted == {(f["rule"], f["line"]): f["line"] + 3 for f in in_patch}
