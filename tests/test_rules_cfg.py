"""The rule families written on the control-flow layer, on real inputs:

- whole Linux 6.12 files (every function analysed as new code): where they fire, and where they
  stay silent (the reference idioms of the tree);
- real stable-queue fixes from ../shared/corpus/stable-mm-6.12, reversed in memory (the bug
  brought back) and linted on the fixed 6.12 tree: the rule notices the bug;
- the documented lock order parsed from the tree itself.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from reviewkit.code.analysis import analyse
from reviewkit.code.lockorder import documented_order, lock_class, parse_order
from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs
from reviewkit.rules.engine import lint
from reviewkit.rules.loader import load_rules

from .conftest import kernel_tree
from .test_rules_pte import _lint_source


def _lint(rule_ids, mail_text: str, tree: Path):
    with tempfile.TemporaryDirectory() as tmp:
        mail = Path(tmp) / "f.patch"
        mail.write_text(mail_text)
        errors = Errors()
        parsed = parse_inputs([str(mail)], errors)
        analysis = analyse(parsed, str(tree), errors=errors)
        rules = [r for r in load_rules() if r.id in rule_ids]
        result = lint(parsed, analysis, rules, errors, filter="added")
    rule_errors = [e for e in errors if str(getattr(e, "input", "")).startswith("rule ")]
    assert not rule_errors, rule_errors
    return result.findings


def _whole_file(rule_id: str, path: str, tree: Path):
    """Findings of one rule on a whole file of the tree, analysed as a patch adding it."""
    return _lint_source(rule_id, (tree / path).read_text(errors="replace"), path, tree)


@pytest.fixture(scope="module")
def k612():
    return kernel_tree("6.12")


# --- whole 6.12 files ----------------------------------------------------------------------------

def test_pvmw_rule_finds_the_walkers_upstream_fixed_for_device_exclusive_entries(k612):
    """6.12's rmap walkers that use the pte page_vma_mapped_walk() stops at without pte_present():
    the functions upstream's "mm: fixes for device-exclusive entries" series changed."""
    found = set()
    for path in ("mm/rmap.c", "mm/ksm.c", "mm/page_idle.c"):
        found |= {f.function for f in _whole_file("mm/pvmw-pte-not-present", path, k612)}
    assert found == {"folio_referenced_one", "page_vma_mkclean_one", "try_to_migrate_one", "write_protect_page",
                     "page_idle_clear_pte_refs_one"}


def test_nolock_rule_finds_collapse_pte_mapped_thp_only(k612):
    """khugepaged's collapse_pte_mapped_thp() clears ptes of a table mapped with
    pte_offset_map_nolock() without a pmd_same() recheck (upstream converted it to
    pte_offset_map_rw_nolock() + pmd_same() in 6.13); mremap's move_ptes() runs under the mmap
    lock held for write by its in-file caller chain; the fault path re-checks pte_same()."""
    found = [f.function for f in _whole_file("mm/pte-nolock-recheck", "mm/khugepaged.c", k612)]
    assert found == ["collapse_pte_mapped_thp"]
    for path in ("mm/mremap.c", "mm/memory.c", "mm/userfaultfd.c"):
        assert _whole_file("mm/pte-nolock-recheck", path, k612) == []


@pytest.mark.parametrize("rule_id, path", [
    ("mm/pmd-entry-not-present", "mm/userfaultfd.c"),
    ("mm/pmd-entry-not-present", "mm/memory.c"),
    ("mm/pmd-entry-not-present", "mm/rmap.c"),
    ("mm/folio-unlock-unpaired", "mm/shmem.c"),
    ("mm/folio-unlock-unpaired", "mm/filemap.c"),
    ("mm/lock-order", "mm/memory.c"),
    ("mm/lock-order", "mm/swapfile.c"),
    ("mm/kmap-local-lifo", "mm/userfaultfd.c"),
    ("mm/kmap-local-lifo", "mm/zsmalloc.c"),
])
def test_reference_code_of_6_12_stays_silent(k612, rule_id, path):
    found = _whole_file(rule_id, path, k612)
    assert not found, [(f.line, f.function, f.message[:100]) for f in found]


# --- real fixes brought back ----------------------------------------------------------------------

def _reversed(diff: str) -> str:
    out = []
    for ln in diff.split("\n"):
        m = re.match(r"^@@ -(\d+(?:,\d+)?) \+(\d+(?:,\d+)?) @@(.*)$", ln)
        if m:
            out.append(f"@@ -{m.group(2)} +{m.group(1)} @@{m.group(3)}")
        elif ln.startswith(("--- ", "+++ ")):
            out.append(ln)
        elif ln.startswith("+"):
            out.append("-" + ln[1:])
        elif ln.startswith("-"):
            out.append("+" + ln[1:])
        else:
            out.append(ln)
    return "\n".join(out)


def _bug_back(corpus: Path, name: str) -> str:
    """The fix's diff reversed, as a patch mail: applied to the fixed tree it brings the bug back."""
    text = (corpus / "stable-mm-6.12" / "patches" / name).read_text(errors="replace")
    diff = text[text.index("\n--- a/") + 1:]
    return ("From: Test <test@example.org>\nSubject: [PATCH] mm: bring a fixed bug back\n"
            f"Message-Id: <reversed-{abs(hash(name))}@example.org>\nDate: Mon, 06 Oct 2025 10:00:00 +0000\n\n"
            "Reverse of a stable fix.\n\nSigned-off-by: Test <test@example.org>\n---\n" + _reversed(diff))


@pytest.mark.parametrize("name, rule_id, function", [
    ("6.12.43__userfaultfd-fix-a-crash-in-uffdio_move-when-pmd-is-a-migration-entry.patch",
     "mm/pmd-entry-not-present", "move_pages"),
    ("6.12.81__mm-memory-fix-pmd-pud-checks-in-follow_pfnmap_start.patch",
     "mm/pmd-entry-not-present", "follow_pfnmap_start"),
    ("6.12.78__mm-shmem-avoid-unpaired-folio_unlock-in-shmem_swapin_folio.patch",
     "mm/folio-unlock-unpaired", "shmem_swapin_folio"),
    ("6.12.46__mm-userfaultfd-fix-kmap_local-lifo-ordering-for-config_highpte.patch",
     "mm/kmap-local-lifo", "move_pages_pte"),
])
def test_reversed_stable_fix_is_noticed(corpus, k612, name, rule_id, function):
    if not (corpus / "stable-mm-6.12" / "patches" / name).is_file():
        pytest.skip(f"{name} is not in the corpus")
    found = [f for f in _lint({rule_id}, _bug_back(corpus, name), k612) if f.rule == rule_id]
    assert [f.function for f in found] and {f.function for f in found} == {function}
    assert all(f.severity == "warning" for f in found)


# --- the documented lock order ----------------------------------------------------------------------

def test_lock_order_comment_parses_into_pairs():
    text = """/*
 * Lock ordering in mm:
 *
 * outer->mmap_lock
 *   folio_lock
 *     ->i_mmap_rwsem	(in some_function,
 *                       in a continuation that names page_table_lock)
 *       anon_vma->rwsem
 *   folio_lock_memcg move_lock
 */"""
    pairs = parse_order(text, "Lock ordering in mm")
    assert ("mmap_lock", "folio_lock") in pairs and ("folio_lock", "anon_vma_lock") in pairs
    assert ("mmap_lock", "anon_vma_lock") in pairs  # transitively
    assert not any("ptl" in p for p in pairs)  # a continuation of a note is not a lock
    assert lock_class("folio_lock_memcg move_lock") is None


def test_documented_order_of_6_12(k612):
    order = documented_order(lambda p: (k612 / p).read_text(errors="replace"))
    assert {("mmap_lock", "folio_lock"), ("folio_lock", "ptl"), ("i_mmap_rwsem", "anon_vma_lock"),
            ("anon_vma_lock", "ptl"), ("i_rwsem", "mmap_lock")} <= order
    # hugetlb documents i_mmap_rwsem before folio_lock, the general tree the opposite: neither is kept
    assert ("folio_lock", "i_mmap_rwsem") not in order and ("i_mmap_rwsem", "folio_lock") not in order
    assert not any((b, a) in order for a, b in order)


# --- noise on real mm patches ------------------------------------------------------------------------

@pytest.mark.parametrize("series", ["series-a", "series-b"])
def test_every_mm_rule_is_silent_on_the_6_1_mm_series(corpus, series):
    """30 real upstream mm patches backported to 6.1 (MGLRU, vma_has_recency), on the 6.1 tree:
    nothing reported and nothing claimed resolved by any mm/ rule (MGLRU rewrites the line with
    folio_referenced_one()'s `pte_young(*pvmw.pte)`, which the patch neither adds nor fixes)."""
    tree = kernel_tree("6.1")
    r = subprocess.run([sys.executable, "-m", "reviewkit", "lint", str(corpus / "mm-patches-6.1" / series), "--tree",
                        str(tree), "--select", "mm/", "--no-checkpatch", "--format", "json", "--fail-on", "never"],
                       capture_output=True, text=True, timeout=600)
    data = json.loads(r.stdout)
    assert not [e for e in data["errors"] if e["input"].startswith("rule ")]
    assert data["findings"] == [] and data["resolved"] == []
