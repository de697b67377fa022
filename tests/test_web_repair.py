"""Repairing diffs damaged by web archives (reviewkit.ingest.web.repair)."""
from __future__ import annotations

from pathlib import Path

from reviewkit.ingest.web.repair import (extract_quoted_diffs, join_score, repair_diff, repair_patch_body,
                                         restore_from_tree)
from reviewkit.model import Errors
from reviewkit.patches import parse_diff

TREE = Path(__file__).resolve().parents[1] / "fixtures" / "web" / "tree"


def lookup(path: str):
    f = TREE / path
    return f.read_text() if f.is_file() else None


def clean_files(lines: list[str]):
    errors = Errors()
    files, _, _ = parse_diff(lines, 0, "t", "t", errors)
    return files, errors


def kinds(repairs) -> set:
    return {r.kind for r in repairs}


# A hunk of fixtures/web/tree/mm/memory.c as mail-archive shows it: leading white space stripped,
# tabs turned into spaces, the long comment line and the hunk header's section wrapped at 80 columns.
DAMAGED = """diff --git a/mm/memory.c 
b/mm/memory.c
index 3a5705cfc891..33d11527ef77 100644
--- a/mm/memory.c
+++ b/mm/memory.c
@@ -48,6 +48,10 @@ copy_nonpresent_pte(struct mm_struct *dst_mm, struct 
mm_struct *src_mm,
page = pfn_swap_entry_to_page(entry);
get_page(page);
rss[mm_counter(page)]++;
+ } else if (is_device_exclusive_entry(entry)) {
+  /* The device holds the page for itself: the child gets a read-only copy of 
the entry, as the parent keeps. */
+  page = pfn_swap_entry_to_page(entry);
+  get_page(page);
}
set_pte_at(dst_mm, addr, dst_pte, pte);
return 0;
-- 
2.39.2""".split("\n")


def test_counts_decide_wraps_and_lost_context_markers():
    res = repair_diff(DAMAGED, "page")
    assert res.files == ["mm/memory.c"] and not res.truncated
    assert res.lines[0] == "diff --git a/mm/memory.c b/mm/memory.c"
    hunk = res.lines[res.lines.index(next(x for x in res.lines if x.startswith("@@"))):]
    assert hunk[0] == "@@ -48,6 +48,10 @@ copy_nonpresent_pte(struct mm_struct *dst_mm, struct mm_struct *src_mm,"
    assert hunk[1] == " page = pfn_swap_entry_to_page(entry);"          # context marker restored
    assert hunk[5] == "+  /* The device holds the page for itself: the child gets a read-only copy of " \
                      "the entry, as the parent keeps. */"                # wrapped tail joined
    assert hunk[-1] == " return 0;" and res.end == len(DAMAGED) - 2     # the signature is not diff
    files, errors = clean_files(res.lines)
    assert not errors and files[0].hunks[0].old_len == 6 and files[0].added == 4
    assert {"joined-wrapped-line", "restored-context-marker"} <= kinds(res.repairs)
    assert all(r.confidence == "high" for r in res.repairs)


def test_tree_restores_context_exactly_and_says_so():
    res = repair_diff(DAMAGED, "page", lookup)
    body = res.lines[res.lines.index(next(x for x in res.lines if x.startswith("@@"))) + 1:]
    assert body[0] == " \t\tpage = pfn_swap_entry_to_page(entry);"
    assert body[-3:] == [" \t}", " \tset_pte_at(dst_mm, addr, dst_pte, pte);", " \treturn 0;"]
    assert body[3] == "+ } else if (is_device_exclusive_entry(entry)) {"   # added lines: not in the tree
    (r,) = [r for r in res.repairs if r.kind == "restored-from-tree"]
    assert r.confidence == "exact" and "6 context/removed" in r.detail


def test_tree_finds_a_moved_hunk_and_refuses_a_foreign_one():
    res = repair_diff([ln.replace("@@ -48,6 +48,10 @@", "@@ -40,6 +40,10 @@") for ln in DAMAGED], "p", lookup)
    assert "found +8 lines from where the header says" in next(r.detail for r in res.repairs
                                                                if r.kind == "restored-from-tree")
    foreign = [ln.replace("get_page(page);", "put_page(page);") if not ln.startswith("+") else ln for ln in DAMAGED]
    res = repair_diff(foreign, "p", lookup)
    assert "tree-mismatch" in kinds(res.repairs) and "restored-from-tree" not in kinds(res.repairs)


def test_restore_from_tree_needs_every_old_line():
    from reviewkit.ingest.web.repair import _Hunk
    h = _Hunk("@@ -29,2 +29,2 @@", 29, 2, 29, 2, "", [" if (likely(!non_swap_entry(entry))) {", " return -EIO;"])
    assert restore_from_tree(h, lookup("mm/memory.c").split("\n")) is None   # not consecutive in the file


def test_clean_diff_is_left_alone():
    clean = ["diff --git a/x.c b/x.c", "--- a/x.c", "+++ b/x.c", "@@ -1,3 +1,3 @@", " a", "-b", "+c", " d", "", "Thanks"]
    res = repair_diff(clean, "p")
    assert res.lines == clean[:8] and res.repairs == [] and res.end == 8


def test_truncated_patch_is_reported_not_hidden():
    body = "\n".join(["Fix it.", "", "---", " mm/a.c | 3 ++-", " mm/b.c | 2 +-", " 2 files changed, 3 insertions(+), 2 deletions(-)",
                      "", "diff --git a/mm/a.c b/mm/a.c", "--- a/mm/a.c", "+++ b/mm/a.c",
                      "@@ -10,4 +10,5 @@ int a(void)", " x;", "-y;", "+z;"])
    fixed = repair_patch_body(body, "message 1")
    assert any("diffstat lists 2 files, 1 present" in e for e in fixed.errors)
    assert any("missing: mm/b.c" in e for e in fixed.errors)
    lost = [r for r in fixed.repairs if r.confidence == "lost"]
    assert {r.kind for r in lost} == {"truncated"} and len(lost) == 2   # the hunk, and the patch
    assert "@@ -10,2 +10,2 @@ int a(void)" in fixed.body   # recounted to what is there, and said so


def test_quoted_hunks_become_a_diff_of_their_file():
    quoted = ["@@ -48,6 +48,10 @@ copy_nonpresent_pte(struct mm_struct *dst_mm,",
              "\t\tpage = pfn_swap_entry_to_page(entry);",
              "+\t} else if (is_device_exclusive_entry(entry)) {",
              "",
              "Why not share this with the migration case?"]
    (q,) = extract_quoted_diffs(quoted, 7, "reply", None, default_path="mm/memory.c")
    assert q.files == ("mm/memory.c",) and q.line == 7
    assert q.text.split("\n")[:3] == ["--- a/mm/memory.c", "+++ b/mm/memory.c",
                                      "@@ -48,1 +48,2 @@ copy_nonpresent_pte(struct mm_struct *dst_mm,"]
    assert {"restored-file-header", "trimmed-quote", "restored-context-marker"} <= kinds(q.repairs)
    files, errors = clean_files(q.text.split("\n"))
    assert not errors and files[0].path == "mm/memory.c" and files[0].added == 1


def test_join_score_prefers_tails_of_long_lines_ending_in_a_space():
    assert join_score("+ a comment that the archive wrapped at eighty columns, leaving a space ", "behind") > 0.6
    assert join_score("+\treturn 0;", "} else {") < 0.2
