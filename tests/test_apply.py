"""Applying series in memory: offsets, fuzz, already applied, failures, no tree."""
from __future__ import annotations

import pygit2
import pytest

from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs
from reviewkit.source.apply import apply_series
from reviewkit.source.trees import DirTree, GitTree, NoTree, open_tree


def _series(path):
    parsed = parse_inputs([str(path)])
    (s,) = parsed.series
    return [parsed.patches[m] for m in s.patches]


def _hunks(images):
    return {f.path: [(h.status, h.offset, h.fuzz) for h in f.hunks] for f in images.files}


def test_offsets_fuzz_and_a_failing_hunk(fixtures):
    errors = Errors()
    p1, p2, p3 = apply_series(DirTree(str(fixtures / "tree")), _series(fixtures / "tree-patches"), errors)
    assert _hunks(p1) == {"mm/demo_swap.c": [("offset", 2, 0)]}
    assert _hunks(p2) == {"mm/demo_swap.c": [("fuzz", 0, 1), ("offset", 2, 0)],
                          "include/linux/demo.h": [("applied", 0, 0)]}
    # patch 3 sees the file as patches 1 and 2 left it
    assert p3.status == "partial"
    assert [h.status for h in p3.files[0].hunks] == ["failed", "applied", "offset"]
    (err,) = errors
    assert err.where == "0003-fails-and-removes.patch <tree-3@example.org>"
    assert "hunk 1 (@@ -10,7 +10,7 @@) does not apply: context not found" in err.message
    after = p3.files[0].after
    assert "demo_account" not in after and "demo_reset" in after and "WARN_ON_ONCE(item->count < 0)" in after
    assert "min_t(int, max_t(int, (x), (lo)), (hi))" in after


def test_images_and_changed_lines(fixtures):
    (p1, *_) = apply_series(DirTree(str(fixtures / "tree")), _series(fixtures / "tree-patches"), Errors())
    f = p1.files[0]
    before, after = f.before.split("\n"), f.after.split("\n")
    assert f.changed_before == frozenset()
    assert [after[n - 1].strip() for n in sorted(f.changed_after)] == [
        "else if (WARN_ON_ONCE(item->count < 0))", "item->count = 0;"]
    assert len(after) == len(before) + 2
    # the user's files are untouched
    assert "WARN_ON_ONCE" not in (fixtures / "tree" / "mm" / "demo_swap.c").read_text()


def test_already_applied_patch_is_recognised(fixtures, tmp_path):
    patches = _series(fixtures / "tree-patches")
    first = apply_series(DirTree(str(fixtures / "tree")), patches[:1], Errors())[0]
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "demo_swap.c").write_text(first.files[0].after)
    errors = Errors()
    (again,) = apply_series(DirTree(str(tmp_path)), patches[:1], errors)
    assert again.status == "already-applied" and not errors


def test_no_tree_rebuilds_from_hunks(fixtures):
    (p1, p2, p3) = apply_series(NoTree(), _series(fixtures / "tree-patches"), Errors())
    assert {f.status for f in p1.files} == {"hunks-only"} and p1.status == "hunks-only"
    lines = p1.files[0].after.split("\n")
    assert lines[34].strip() == "list_for_each_entry(item, head, node) {"  # line 35, as the hunk says


def test_missing_file_is_reported(fixtures, tmp_path):
    errors = Errors()
    (p1, *_) = apply_series(DirTree(str(tmp_path)), _series(fixtures / "tree-patches"), errors)
    assert p1.files[0].status == "missing"
    assert "not in directory" in errors[0].message


def test_git_tree_at_base_commit(fixtures, tmp_path):
    repo = pygit2.init_repository(str(tmp_path / "linux"))
    sig = pygit2.Signature("A", "a@example.org", 1678000000, 0)

    def commit(text, parents):
        mm = repo.TreeBuilder()
        mm.insert("demo_swap.c", repo.create_blob(text.encode()), pygit2.enums.FileMode.BLOB)
        top = repo.TreeBuilder()
        top.insert("mm", mm.write(), pygit2.enums.FileMode.TREE)
        return repo.create_commit("HEAD", sig, sig, "c", top.write(), parents)

    original = (fixtures / "tree" / "mm" / "demo_swap.c").read_text()
    base = commit(original, [])
    commit(original.replace("demo_walk", "demo_walk_renamed"), [base])  # HEAD no longer matches
    tree, notes = open_tree(str(tmp_path / "linux"), base_commit=str(base))
    assert isinstance(tree, GitTree) and "base-commit" in tree.description
    (p1,) = apply_series(tree, _series(fixtures / "tree-patches")[:1], Errors())
    assert p1.status == "applied"
    head, notes = open_tree(str(tmp_path / "linux"), base_commit="0" * 40)
    assert "HEAD" in head.description and any("not in" in n for n in notes)


def test_tree_paths_stay_inside(fixtures, tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "secret").write_text("x")
    (tmp_path / "t" / "link").symlink_to(tmp_path / "secret")
    tree = DirTree(str(tmp_path / "t"))
    assert tree.read("../secret") is None and tree.read("link") is None and tree.read("/etc/passwd") is None


# --- real patches on a real tree (mm-patches-6.1/README.md says what GNU patch does) -------

@pytest.mark.parametrize("series, expected", [
    ("series-b", {21: "fuzz", 22: "already-applied"}),
    ("series-a", {1: "fuzz", 2: "already-applied", 18: "partial"}),
])
def test_mm_patches_on_6_1(corpus, linux_6_1, series, expected):
    parsed = parse_inputs([str(corpus / "mm-patches-6.1" / series)])
    (s,) = parsed.series
    errors = Errors()
    results = apply_series(DirTree(str(linux_6_1)), [parsed.patches[m] for m in s.patches], errors)
    for counter, images in zip(s.counters, results):
        hunk_states = {h.status for f in images.files for h in f.hunks}
        want = expected.get(counter, "applied")
        if want == "fuzz":
            assert images.status == "applied" and "fuzz" in hunk_states and max(
                h.fuzz for f in images.files for h in f.hunks) == 2, counter
        elif want == "applied":
            assert images.status == "applied" and hunk_states <= {"applied", "offset"}, counter
        else:
            assert images.status == want, counter
    failed = [e.message for e in errors]
    if series == "series-a":  # 18: hunks 1-2 of mm/vmscan.c, and nothing else
        assert len(failed) == 2 and all(m.startswith("mm/vmscan.c: hunk ") for m in failed)
        assert {m.split(" (")[0] for m in failed} == {"mm/vmscan.c: hunk 1", "mm/vmscan.c: hunk 2"}
    else:
        assert failed == []
