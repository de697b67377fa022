"""Extra tests for the pte rules (R3, R4, R9, R13, R14) and reviewkit.rules.lib.pte.

- lib helpers on small snippets;
- R9's kernel-version decision from a tree;
- full-function mode on real 6.12 files (when the tree is in .cache/kernels): the reference idioms
  of mm-rules.md stay silent, and each rule fires once the idiom is broken by deleting a line.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from reviewkit.code.analysis import analyse
from reviewkit.code.cparse import parse_source
from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs
from reviewkit.rules.engine import lint
from reviewkit.rules.fixtures import c_fixture_patch
from reviewkit.rules.lib import pte as P
from reviewkit.rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[1]
K612 = ROOT / ".cache/kernels/linux-source-6.12"
needs_612 = pytest.mark.skipif(not (K612 / "mm/memory.c").is_file(), reason="no 6.12 tree in .cache/kernels")


def _body(src: str, name: str):
    pf = parse_source("mm/t.c", src.encode())
    fn = next(f for f in pf.functions if f.name == name)
    return pf, P.body(fn.node)


def _call(body, name, nth=0):
    return P.calls(body, {name})[nth]


# --- lib ------------------------------------------------------------------------------------

def test_assigned_to_follows_chains_declarations_and_fields():
    _pf, b = _body("void f(void){ pte_t *s, *p; s = p = pte_offset_map(pmd, a); pte_t *q = pte_offset_map(pmd, a);"
                   " vmf->pte = pte_offset_map(pmd, a); }", "f")
    assert P.assigned_to(_call(b, "pte_offset_map", 0)) == ["p", "s"]
    assert P.assigned_to(_call(b, "pte_offset_map", 1)) == ["q"]
    assert P.assigned_to(_call(b, "pte_offset_map", 2)) == ["vmf->pte"]


def test_same_path_tells_branches_apart():
    _pf, b = _body("void f(void){ if (x) { a(); } else { b(); } c(); switch (y) { case 1: d(); break; case 2: e(); } }", "f")
    a, bb, c, d, e = (_call(b, n) for n in "abcde")
    assert not P.same_path(a, bb, b)
    assert P.same_path(a, c, b) and P.same_path(bb, c, b)
    assert not P.same_path(d, e, b)


def test_known_not_present_reads_branches_and_early_exits():
    src = """void f(void){
        if (pte_present(pte)) { g1(); continue; }
        g2();
        if (is_swap_pte(pte)) g3();
    }
    void h(void){
        if (!pte_none(pte)) g4();
        if (likely(pte_present(pte))) g5(); else g6();
        if (is_migration_entry(entry)) g7();
    }"""
    pf = parse_source("mm/t.c", src.encode())
    got = {}
    for fn in pf.functions:
        b = P.body(fn.node)
        for c in P.calls(b):
            if P.call_name(c).startswith("g"):
                got[P.call_name(c)] = P.known_not_present(c, b)
    assert got == {"g1": False, "g2": True, "g3": True, "g4": False, "g5": False, "g6": True, "g7": True}


def test_falls_through_to_stops_at_a_block_that_leaves():
    _pf, b = _body("void f(void){ if (x) { lock(); return; } if (y) { lock2(); } start(); }", "f")
    assert not P.falls_through_to(_call(b, "lock"), _call(b, "start"), b)
    assert P.falls_through_to(_call(b, "lock2"), _call(b, "start"), b)


def test_restored_in_place_accepts_aging_only():
    src = """void f(void){
        e = ptep_get_and_clear(mm, a, p); e = pte_mkold(e); set_pte_at(mm, a, p, e);
        w = ptep_get_and_clear(mm, a, q); w = pte_wrprotect(w); set_pte_at(mm, a, q, w);
    }"""
    _pf, b = _body(src, "f")
    assert P.restored_in_place(b, _call(b, "ptep_get_and_clear", 0))
    assert not P.restored_in_place(b, _call(b, "ptep_get_and_clear", 1))


def test_called_only_where_follows_callers_and_ops_structs():
    src = """static void leaf(void) { x(); }
    static void drop(void) { y(); }
    static void guarded(void) { if (!userfaultfd_wp(vma)) drop(); }
    static int cb(void) { leaf(); return 0; }
    static const struct mm_walk_ops ops = { .pte_entry = cb };
    void walker(void) { walk_page_range(mm, s, e, &ops, NULL); }"""
    pf = parse_source("mm/t.c", src.encode())
    assert {f.name for f, _n in P.callers_in_file(pf, "cb")} == {"walker"}
    assert [f.name for f in P.in_file_ancestors(pf, "leaf")] == ["cb", "walker"]
    under_uffd = lambda node, body: P.guarded_by(node, body, lambda c, _t: "userfaultfd_wp" in P.text(c))  # noqa: E731
    assert P.called_only_where(pf, "drop", under_uffd) is True
    assert P.called_only_where(pf, "leaf", under_uffd) is False    # cb calls it unguarded
    assert P.called_only_where(pf, "guarded", under_uffd) is False  # nobody calls it: unknown


# --- running a rule on a file ------------------------------------------------------------------

def _rule(rule_id):
    return next(r for r in load_rules(select=[rule_id]) if r.id == rule_id)


def _lint_source(rule_id: str, source: str, path: str, tree=None):
    """Findings of one rule on `source` analysed as a patch adding `path` (every function is new)."""
    with tempfile.TemporaryDirectory() as tmp:
        mail = Path(tmp) / "f.patch"
        mail.write_text(c_fixture_patch(source, path))
        errors = Errors()
        parsed = parse_inputs([str(mail)], errors)
        analysis = analyse(parsed, None, errors=errors)
        if tree is not None:
            from reviewkit.source.trees import DirTree
            for k in list(analysis.trees):
                analysis.trees[k] = DirTree(str(tree))
        result = lint(parsed, analysis, [_rule(rule_id)], errors, filter="added")
    assert not [e for e in errors if e.input.startswith("rule ")], errors  # a rule that failed is no silence
    return [f for f in result.findings if f.rule == rule_id]


# --- R9: which kernel ---------------------------------------------------------------------------

R9_CODE = """static int f(struct mm_struct *mm, pmd_t *pmd, unsigned long addr)
{
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	pte_t *new = pte_alloc_map_lock(mm, pmd, addr, &ptl);

	set_pte_at(mm, addr, new, ptep_get(pte));
	return 0;
}
"""


def _tree_with_mm_h(tmp: Path, text: str) -> Path:
    (tmp / "include/linux").mkdir(parents=True)
    (tmp / "include/linux/mm.h").write_text(text)
    return tmp


def test_r9_on_a_6_1_style_tree_checks_only_the_allocating_calls(tmp_path):
    tree = _tree_with_mm_h(tmp_path, "#define pte_offset_map_lock(mm, pmd, address, ptlp) \\\n"
                                     "({ pte_t *__pte = pte_offset_map(pmd, address); __pte; })\n")
    found = _lint_source("mm/pte-offset-map-may-fail", R9_CODE, "mm/t.c", tree)
    assert [f.line for f in found] == [5]
    assert "-ENOMEM" in found[0].message and "every kernel version" in found[0].message


def test_r9_on_a_6_5_style_tree_checks_every_map_call(tmp_path):
    tree = _tree_with_mm_h(tmp_path, "pte_t *__pte_offset_map(pmd_t *pmd, unsigned long addr, pmd_t *pmdvalp);\n")
    found = _lint_source("mm/pte-offset-map-may-fail", R9_CODE, "mm/t.c", tree)
    assert sorted(f.line for f in found) == [4, 5]
    assert all("this tree's include/linux/mm.h" in f.message and f.confidence == "high" for f in found)


def test_r9_without_a_tree_assumes_mainline_and_says_so():
    found = _lint_source("mm/pte-offset-map-may-fail", R9_CODE, "mm/t.c")  # the fixture mail is from 2025
    assert sorted(f.line for f in found) == [4, 5]
    assert all("assuming mainline semantics" in f.message for f in found)


def test_r9_without_a_tree_trusts_the_date_of_an_old_patch():
    """Mailed before v6.5, a patch targets a kernel whose pte_offset_map() cannot fail: only the
    allocating call is checked (the 2021 device-exclusive series is such a case)."""
    old = c_fixture_patch(R9_CODE, "mm/t.c").replace("Mon, 06 Oct 2025", "Fri, 26 Mar 2021")
    with tempfile.TemporaryDirectory() as tmp:
        mail = Path(tmp) / "f.patch"
        mail.write_text(old)
        errors = Errors()
        parsed = parse_inputs([str(mail)], errors)
        result = lint(parsed, analyse(parsed, None, errors=errors), [_rule("mm/pte-offset-map-may-fail")], errors)
    assert [f.line for f in result.findings] == [5]


# --- real 6.12 code: reference idioms silent, broken idioms reported ------------------------------

REFERENCE_FILES = {
    "mm/swp-pte-bit-preservation": ["mm/memory.c", "mm/mprotect.c", "mm/rmap.c", "mm/migrate.c",
                                    "mm/migrate_device.c", "mm/huge_memory.c", "mm/hugetlb.c", "mm/swapfile.c"],
    "mm/uffd-wp-marker-on-file-zap": ["mm/memory.c", "mm/rmap.c", "mm/mremap.c", "mm/mprotect.c", "mm/hugetlb.c",
                                      "mm/userfaultfd.c", "fs/hugetlbfs/inode.c"],
    "mm/pte-offset-map-may-fail": ["mm/memory.c", "mm/madvise.c", "mm/huge_memory.c", "mm/mprotect.c",
                                   "mm/mremap.c", "mm/mincore.c"],
    "mm/tlb-flush-after-pte-clear": ["mm/memory.c", "mm/mremap.c", "mm/mprotect.c", "mm/rmap.c",
                                     "mm/migrate_device.c", "mm/userfaultfd.c", "mm/khugepaged.c", "mm/damon/vaddr.c"],
    "mm/mmu-notifier-bracket": ["mm/memory.c", "mm/rmap.c", "mm/khugepaged.c", "mm/mapping_dirty_helpers.c",
                                "mm/madvise.c", "mm/oom_kill.c", "mm/huge_memory.c"],
}
CASES = [(rule, path) for rule, paths in REFERENCE_FILES.items() for path in paths]


@needs_612
@pytest.mark.parametrize("rule_id, path", CASES, ids=[f"{r}:{p}" for r, p in CASES])
def test_reference_idioms_of_6_12_stay_silent(rule_id, path):
    source = (K612 / path).read_text(errors="replace")
    found = _lint_source(rule_id, source, path, K612)
    assert not found, [(f.line, f.function, f.message[:120]) for f in found]


# How to break each idiom, by line patterns inside one function (API names, no kernel text):
# ("delete", pattern, n) drops n lines from the first line matching pattern;
# ("move_after", pattern, anchor) moves the first line matching pattern below the first matching anchor.
BREAKS = [
    ("mm/swp-pte-bit-preservation", "mm/memory.c", "copy_nonpresent_pte",
     ("delete", r"if \(pte_swp_uffd_wp\(orig_pte\)\)", 2), "uffd-wp"),          # migration arm
    ("mm/uffd-wp-marker-on-file-zap", "mm/memory.c", "zap_present_ptes",
     ("delete", r"if \(userfaultfd_pte_wp\(", 3), "ptep_get_and_clear_full"),
    ("mm/pte-offset-map-may-fail", "mm/mprotect.c", "change_pte_range",
     ("delete", r"^\s*if \(!pte\)$", 2), "pte_offset_map_lock"),
    ("mm/tlb-flush-after-pte-clear", "mm/mremap.c", "move_ptes",
     ("delete", r"^\s*if \(force_flush\)$", 2), "page-table lock is dropped"),
    ("mm/mmu-notifier-bracket", "mm/khugepaged.c", "collapse_huge_page",
     ("move_after", r"mmu_notifier_invalidate_range_start\(", r"= pmd_lock\("), "still held"),
]


def _break(source: str, path: str, function: str, edit) -> str:
    import re
    pf = parse_source(path, source.encode())
    fn = next(f for f in pf.functions if f.name == function)
    lines = source.split("\n")
    span = range(fn.start_line - 1, fn.end_line)
    first = lambda pattern: next(i for i in span if re.search(pattern, lines[i]))  # noqa: E731
    op, pattern, arg = edit
    at = first(pattern)
    if op == "delete":
        del lines[at:at + arg]
    else:
        moved = lines.pop(at)
        lines.insert(first(arg) + 1, moved)
    return "\n".join(lines)


@needs_612
@pytest.mark.parametrize("rule_id, path, function, edit, expect", BREAKS, ids=[b[0] for b in BREAKS])
def test_breaking_a_reference_idiom_is_reported(rule_id, path, function, edit, expect):
    source = (K612 / path).read_text(errors="replace")
    found = _lint_source(rule_id, _break(source, path, function, edit), path, K612)
    mine = [f for f in found if f.function == function]
    assert mine and any(expect in f.message for f in mine), [(f.function, f.message[:100]) for f in found]
    assert len(found) == len(mine), "only the broken function may be reported"


# --- hunks only: what a rule may still say about a function the patch does not show whole ---------

HUNK_ONLY = """From: Fixture Author <fixture@example.org>
Subject: [PATCH] mm/foo: peek at ptes
Date: Mon, 06 Nov 2023 10:00:00 +0000
Message-Id: <pte-rules-hunk-only@example.org>

Peek.

Signed-off-by: Fixture Author <fixture@example.org>
---
diff --git a/mm/foo.c b/mm/foo.c
--- a/mm/foo.c
+++ b/mm/foo.c
@@ -100,6 +100,12 @@ static int foo_pte_range(pmd_t *pmd, unsigned long addr, struct mm_walk *walk)
 	spinlock_t *ptl;
 	int ret = 0;
 
+	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
+	entry = ptep_get(pte);
+	young = pte_young(ptep_get(pte_offset_map(pmd, addr)));
+	npte = pte_offset_map_lock(mm, pmd, addr, &ptl);
+	if (!npte)
+		return -EAGAIN;
 	if (ret)
 		goto out;
 	spin_lock(ptl);
@@ -140,5 +146,10 @@ static int foo_split(pmd_t *pmd, unsigned long addr, struct mm_walk *walk)
 	int ret = 0;
 
+	ptl = pmd_lock(mm, pmd);
+	mmu_notifier_invalidate_range_start(&range);
+	set_pte_at(mm, addr, ptep, swp_entry_to_pte(make_readable_migration_entry(swp_offset(entry))));
+	set_pte_at(mm, addr, ptep, swp_entry_to_pte(make_readable_migration_entry(page_to_pfn(page))));
+	ptep_get_and_clear(mm, addr, ptep);
 	if (ret)
 		goto out;
 	spin_unlock(ptl);
-- 
2.39.2
"""


@pytest.mark.parametrize("rule_id, lines", [
    ("mm/pte-offset-map-may-fail", [103, 105]),     # the use follows on visible lines; npte is tested
    ("mm/swp-pte-bit-preservation", [150]),         # swp_offset(entry): rebuilt from an older entry
    ("mm/mmu-notifier-bracket", [149]),             # pmd_lock() then _start() on visible lines
    ("mm/uffd-wp-marker-on-file-zap", []),          # the marker may follow after the hunk
    ("mm/tlb-flush-after-pte-clear", []),           # the pte's presence is decided outside the hunk
])
def test_hunk_fragments_only_yield_what_the_visible_lines_prove(tmp_path, rule_id, lines):
    mail = tmp_path / "hunk.patch"
    mail.write_text(HUNK_ONLY)
    errors = Errors()
    parsed = parse_inputs([str(mail)], errors)
    analysis = analyse(parsed, None, errors=errors)
    result = lint(parsed, analysis, [_rule(rule_id)], errors, filter="added")
    assert not list(errors)
    found = [f for f in result.findings if f.rule == rule_id]
    assert sorted(f.line for f in found) == lines
    assert all(f.confidence == "low" for f in found)
