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
