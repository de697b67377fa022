"""Registries derived from a tree (reviewkit.code.registry) — mm-rules.md §4.A-4.C.

Unit tests run on the small trees in fixtures/code/ (written for these tests,
in the idioms of swap.h/swapops.h/leafops.h). Integration tests run on the
Debian 6.1.192 / 6.12.117 trees and assert the §4 tables, with the
corrections listed (and explained) next to them; they skip without the trees.
"""
from __future__ import annotations

import shutil

import pytest

from reviewkit.code import registry as rg
from reviewkit.code.cparse import parse_source
from reviewkit.source.trees import DirTree, NoTree

from .conftest import FIXTURES

SWP_TREE = FIXTURES / "code" / "swp-tree"
LEAF_TREE = FIXTURES / "code" / "leaf-tree"

MIGRATION = {"SWP_MIGRATION_READ", "SWP_MIGRATION_WRITE"}
DEVICE_PRIVATE = {"SWP_DEVICE_READ", "SWP_DEVICE_WRITE"}
PFN = MIGRATION | DEVICE_PRIVATE | {"SWP_DEVICE_EXCLUSIVE", "SWP_HWPOISON"}


@pytest.fixture(scope="module")
def swp() -> rg.Registry:
    return rg.build_registry(DirTree(str(SWP_TREE)))


@pytest.fixture(scope="module")
def leaf() -> rg.Registry:
    return rg.build_registry(DirTree(str(LEAF_TREE)))


def sites(reg: rg.Registry) -> dict:
    return {(s.path, s.function): s for s in reg.dispatch_sites}


# ---------------------------------------------------------------- 4.A on fixtures

def test_kinds_in_source_order_without_shift_and_num_helpers(swp):
    assert list(swp.kinds) == ["SWP_QUARANTINE", "SWP_PTE_MARKER", "SWP_DEVICE_WRITE", "SWP_DEVICE_READ",
                               "SWP_DEVICE_EXCLUSIVE", "SWP_MIGRATION_READ", "SWP_MIGRATION_WRITE",
                               "SWP_HWPOISON"]
    assert swp.extractor_block().splitlines()[1] == \
        "MARKERS: PTE_MARKER_UFFD_WP=BIT(0) PTE_MARKER_POISONED=BIT(1) PTE_MARKER_GUARD=BIT(2)"
    assert swp.marker_mask == "PTE_MARKER_MASK"


def test_kind_configs_and_families(swp):
    k = swp.kinds
    assert k["SWP_QUARANTINE"].config is None
    assert k["SWP_PTE_MARKER"].config == "CONFIG_PTE_MARKER"
    assert k["SWP_DEVICE_EXCLUSIVE"].config == "CONFIG_DEVICE_PRIVATE"  # from #if IS_ENABLED(...)
    assert (k["SWP_PTE_MARKER"].path, k["SWP_PTE_MARKER"].line) == ("include/linux/swap.h", 18)
    assert {n: v.family for n, v in k.items()} == {
        "SWP_QUARANTINE": "quarantine", "SWP_PTE_MARKER": "marker", "SWP_DEVICE_WRITE": "device_private",
        "SWP_DEVICE_READ": "device_private", "SWP_DEVICE_EXCLUSIVE": "device_exclusive",
        "SWP_MIGRATION_READ": "migration", "SWP_MIGRATION_WRITE": "migration", "SWP_HWPOISON": "hwpoison"}


def test_config_of_else_arm_is_negated():
    src = b"#ifndef CONFIG_A\n#define SWP_X (MAX_SWAPFILES + 1)\n#else\n#define SWP_Y (MAX_SWAPFILES + 2)\n#endif\n"
    kinds, _, _ = rg.extract_kinds([parse_source("include/linux/swap.h", src)])
    assert kinds["SWP_X"].config == "!CONFIG_A"
    assert kinds["SWP_Y"].config == "CONFIG_A"


def test_version_hints(swp, leaf):
    assert swp.version_hints["version"] == "6.99.0"
    assert swp.version_hints["naming"] == "swp_entry" and leaf.version_hints["naming"] == "softleaf"
    assert swp.version_hints["marker_type_conditional"] is True
    assert swp.version_hints["device_exclusive_types"] == 1


# ---------------------------------------------------------------- 4.B on fixtures

@pytest.mark.parametrize("name, kinds", [
    ("is_device_private_entry", DEVICE_PRIVATE),            # local `type` variable, ||
    ("is_migration_entry", MIGRATION),                      # unlikely(a || b), #else stub ignored
    ("is_writable_migration_entry", {"SWP_MIGRATION_WRITE"}),
    ("is_hwpoison_entry", {"SWP_HWPOISON"}),                # if (...) return true;
    ("is_quarantine_entry", {"SWP_QUARANTINE"}),
    ("non_swap_entry", PFN | {"SWP_QUARANTINE", "SWP_PTE_MARKER"}),  # >= MAX_SWAPFILES
    ("is_swap_pte", PFN | {"SWP_QUARANTINE", "SWP_PTE_MARKER", "SWAPFILE"}),  # !none && !present
    ("is_pte_marker_entry", {"SWP_PTE_MARKER"}),
    ("pte_marker_get", {"SWP_PTE_MARKER"}),                 # & PTE_MARKER_MASK
    ("is_pte_marker", {"SWP_PTE_MARKER"}),
    ("is_guard_swp_entry", {"PTE_MARKER_GUARD"}),           # type && bit
    ("pte_none_mostly", {"NONE", "SWP_PTE_MARKER"}),
    ("is_pfn_swap_entry", PFN),                             # || of predicates
    ("is_pmd_migration_entry", MIGRATION),                  # guard, decode, return pred(entry)
    ("pte_marker_entry_uffd_wp", {"PTE_MARKER_UFFD_WP"}),   # #ifdef inside the body
    ("pte_marker_uffd_wp", {"PTE_MARKER_UFFD_WP"}),
    ("pte_swp_uffd_wp_any", {"PTE_MARKER_UFFD_WP"}),        # the swap bit is not a kind
    ("is_hugetlb_entry_migration", MIGRATION),              # if/else return true/false in mm/hugetlb.c
])
def test_predicates(swp, name, kinds):
    assert swp.predicates[name] == kinds


def test_helpers_take_the_kinds_they_assert(swp):
    assert swp.predicates["swp_offset_pfn"] == PFN               # VM_BUG_ON(!is_pfn_swap_entry())
    assert swp.predicates["pfn_swap_entry_to_page"] == PFN       # calls swp_offset_pfn; BUG_ON(a && b) ignored
    assert swp.predicates["pfn_swap_entry_pfn"] == PFN           # macro alias of a helper
    assert swp.predicates["swap_run_length"] == {"SWAPFILE"}     # !is_swap_pte and non_swap_entry asserted
    assert swp.predicates["swap_duplicate"] == {"SWAPFILE"}      # the swap-count API of swap.h
    assert swp.predicates["__swap_count"] == {"SWAPFILE"}        # its "#define ... is_pfn_swap_entry(e)" stub ignored
    assert "swap_free" not in swp.predicates
    assert {"swp_offset_pfn", "pfn_swap_entry_to_page", "swap_run_length", "swap_duplicate"} <= swp.helpers
    assert "is_pfn_swap_entry" not in swp.helpers


def test_not_predicates(swp):
    for name in ("swp_type", "swp_offset", "swp_entry", "pte_to_swp_entry", "make_pte_marker", "is_special_pte"):
        assert name not in swp.predicates


def test_constructors(swp):
    assert swp.constructors == {
        "make_device_private_entry": DEVICE_PRIVATE,         # kind chosen by a ?: argument
        "make_device_exclusive_entry": {"SWP_DEVICE_EXCLUSIVE"},
        "make_readable_migration_entry": {"SWP_MIGRATION_READ"},
        "make_writable_migration_entry": {"SWP_MIGRATION_WRITE"},
        "make_migration_entry_aged": MIGRATION,             # keeps its input's kind: the #ifdef's kinds
        "make_quarantine_entry": {"SWP_QUARANTINE"},
        "make_pte_marker_entry": {"SWP_PTE_MARKER"},
        "make_pte_marker": {"SWP_PTE_MARKER"},               # a pte built from a constructor
        "make_guard_swp_entry": {"PTE_MARKER_GUARD"},        # a marker-bit argument narrows the kind
    }


def test_decoders_encoders_and_level_decoders(swp):
    assert swp.decoders == {"pte_to_swp_entry", "pmd_to_swp_entry", "entry_of_pte"}
    assert swp.encoders == {"swp_entry_to_pte"}
    assert swp.level_decoders == {"is_pmd_migration_entry", "is_hugetlb_entry_migration"}
    assert swp.locations["is_migration_entry"] == ("include/linux/swapops.h", 97)  # the real one, not the stub


def test_families_of_predicates(swp):
    assert swp.family_of("is_pfn_swap_entry") == {"pfn_generic"}
    assert swp.family_of("swp_offset_pfn") == {"pfn_generic"}
    assert swp.family_of("non_swap_entry") == {"swapfile"}
    assert swp.family_of("is_swap_pte") == {"swapfile"}
    assert swp.family_of("pte_none_mostly") == {"marker"}
    assert swp.family_of("is_guard_swp_entry") == {"marker"}
    assert swp.family_of("is_quarantine_entry") == {"quarantine"}
    assert swp.family_of("no_such_function") == frozenset()
    assert swp.kinds_in("migration") == MIGRATION
    assert swp.kinds_in("marker") == {"SWP_PTE_MARKER", "PTE_MARKER_UFFD_WP", "PTE_MARKER_POISONED",
                                      "PTE_MARKER_GUARD"}
    assert swp.kinds_in("swapfile") == {"SWAPFILE"}


# ---------------------------------------------------------------- 4.C on fixtures

def test_dispatch_sites(swp):
    got = {k: s.predicates for k, s in sites(swp).items()}
    assert got == {
        ("mm/memory.c", "copy_nonpresent_entry"): (
            "is_device_private_entry", "is_migration_entry", "is_pte_marker_entry", "non_swap_entry",
            "pfn_swap_entry_to_page", "swap_duplicate"),
        ("mm/memory.c", "zap_nonpresent_entry"): (  # decodes through the entry_of_pte alias
            "is_guard_swp_entry", "is_quarantine_entry", "pte_marker_entry_uffd_wp"),
        ("mm/memory.c", "handle_pmd_fault"): ("is_pmd_migration_entry",),
        ("mm/memory.c", "poison_check"): ("is_hwpoison_entry", "is_swap_pte"),
        ("mm/memory.c", "after_the_label"): ("is_device_exclusive_entry", "swp_offset_pfn"),
        ("mm/hugetlb.c", "is_hugetlb_entry_migration"): ("is_migration_entry",),
        ("mm/hugetlb.c", "hugetlb_change_protection"): ("is_hugetlb_entry_migration", "is_pte_marker"),
        ("mm/internal.h", "swap_run_length"): ("is_swap_pte", "non_swap_entry"),
        ("fs/proc/task_mmu.c", "report_pte"): (
            "is_pfn_swap_entry", "is_swap_pte", "non_swap_entry", "pfn_swap_entry_pfn"),
        ("include/linux/swapops.h", "is_pte_marker"): ("is_pte_marker_entry", "is_swap_pte"),
        ("include/linux/swapops.h", "is_pmd_migration_entry"): ("is_migration_entry",),
        ("include/linux/userfaultfd_k.h", "pte_marker_uffd_wp"): ("is_swap_pte", "pte_marker_entry_uffd_wp"),
    }
    # not sites: no decode (is_special_pte, count_swap_run), no kind test (entry_offset),
    # a pte-level shortcut only (vmf_orig_uffd_wp), __init self-test code (mm/selftest.c)


def test_dispatch_site_details(swp):
    copy = sites(swp)[("mm/memory.c", "copy_nonpresent_entry")]
    assert copy.families == ("device_private", "marker", "migration", "pfn_generic", "swapfile")
    assert copy.decoders == ("pte_to_swp_entry",)
    assert copy.role == "copy" and copy.line == 4 and copy.end_line == 24 and copy.health == 1.0
    assert "SWAPFILE" in copy.kinds and "SWP_DEVICE_READ" in copy.kinds
    zap = sites(swp)[("mm/memory.c", "zap_nonpresent_entry")]
    assert zap.families == ("marker", "quarantine") and zap.role == "zap"
    assert zap.kinds == {"SWP_QUARANTINE", "PTE_MARKER_UFFD_WP", "PTE_MARKER_GUARD"}
    assert [s.function for s in swp.sites_testing("quarantine")] == ["zap_nonpresent_entry"]


def test_pte_shortcuts_widen_the_scan():
    wide = rg.build_registry(DirTree(str(SWP_TREE)), pte_shortcuts=True)
    extra = set(sites(wide)) - set(sites(rg.build_registry(DirTree(str(SWP_TREE)))))
    assert extra == {("mm/memory.c", "vmf_orig_uffd_wp"), ("include/linux/swapops.h", "pte_none_mostly"),
                     ("include/linux/userfaultfd_k.h", "pte_swp_uffd_wp_any")}


def test_folders_limit_the_scan():
    reg = rg.build_registry(DirTree(str(SWP_TREE)), folders=("fs/proc",))
    assert [s.function for s in reg.dispatch_sites] == ["report_pte"]


def test_label_before_preprocessor_line_is_neutralised():
    """normalize.py turns `label:` right before `#endif` into `label;` (same length), so
    tree-sitter does not swallow the rest of the file (6.12 mm/madvise.c)."""
    from reviewkit.code.normalize import normalize
    src = b"\tif (x)\n\t\tgoto out;\nout:\n#endif\n\tdefault:\n#endif\nkeep: y();\n"
    out = normalize(src)
    assert len(out) == len(src) and out.count(b"\n") == src.count(b"\n")
    assert b"\nout;\n" in out and b"default:" in out and b"keep:" in out


@pytest.mark.parametrize("name, role", [
    ("copy_nonpresent_pte", "copy"), ("copy_pte_marker", "copy"), ("zap_nonpresent_ptes", "zap"),
    ("madvise_free_huge_pmd", "zap"), ("ptep_zap_swap_entry", "zap"), ("change_pte_range", "protect"),
    ("hugetlb_change_protection", "protect"), ("make_uffd_wp_huge_pte", "protect"), ("do_swap_page", "fault"),
    ("handle_pte_marker", "fault"), ("__handle_mm_fault", "fault"), ("check_pte", "rmap_walk"),
    ("page_vma_mapped_walk", "rmap_walk"), ("try_to_unmap_one", "rmap_walk"),
    ("remove_migration_pmd", "rmap_walk"), ("move_ptes", "move"), ("move_pages_huge_pmd", "move"),
    ("hmm_vma_walk_pmd", "report"), ("pagemap_thp_category", "report"), ("mincore_pte_range", "report"),
    ("queue_folios_hugetlb", "report"), ("mc_handle_swap_pte", "report"), ("check_hwpoisoned_entry", "report"),
    ("migrate_vma_collect_pmd", "report"), ("page_table_check_pte_flags", None),
])
def test_roles_follow_mm_rules_families(name, role):
    assert rg.role_of(name) == role


def test_a_patched_tree_gets_a_new_kind(tmp_path):
    """What R1 relies on: add a type and its predicate, and the registry follows the tree."""
    root = tmp_path / "tree"
    shutil.copytree(SWP_TREE, root)
    swap_h = root / "include/linux/swap.h"
    swap_h.write_text(swap_h.read_text().replace(
        "#else\n#define SWP_DEVICE_NUM 0",
        "#define SWP_MIGRATION_DEVICE_READ (MAX_SWAPFILES+SWP_HWPOISON_NUM+SWP_MIGRATION_NUM+3)\n"
        "#else\n#define SWP_DEVICE_NUM 0"))
    swapops_h = root / "include/linux/swapops.h"
    swapops_h.write_text(swapops_h.read_text().replace(
        "static inline int non_swap_entry", "static inline bool is_device_migration_entry(swp_entry_t e)\n"
        "{\n\treturn swp_type(e) == SWP_MIGRATION_DEVICE_READ;\n}\n\nstatic inline int non_swap_entry"))
    reg = rg.build_registry(DirTree(str(root)))
    new = "SWP_MIGRATION_DEVICE_READ"  # as proposed on the list (mm-rules §4.A), not merged
    assert reg.kinds[new].family == "migration" and reg.kinds[new].config == "CONFIG_DEVICE_PRIVATE"
    assert reg.predicates["is_device_migration_entry"] == {new}
    assert new in reg.predicates["non_swap_entry"]
    assert new not in reg.predicates["is_migration_entry"]  # not wired into the family test: R1's cue


# ---------------------------------------------------------------- mainline-style (leafops.h) fixture

def test_softleaf_types_and_map(leaf):
    assert leaf.softleaf_types[:2] == ("SOFTLEAF_NONE", "SOFTLEAF_SWAP")
    assert leaf.softleaf_types[-1] == "SOFTLEAF_MARKER" and len(leaf.softleaf_types) == 9
    assert leaf.softleaf_map == {  # from the switch in softleaf_type(), #ifdef'd cases included
        "SWP_MIGRATION_READ": "SOFTLEAF_MIGRATION_READ", "SWP_MIGRATION_WRITE": "SOFTLEAF_MIGRATION_WRITE",
        "SWP_DEVICE_READ": "SOFTLEAF_DEVICE_PRIVATE_READ", "SWP_DEVICE_WRITE": "SOFTLEAF_DEVICE_PRIVATE_WRITE",
        "SWP_DEVICE_EXCLUSIVE": "SOFTLEAF_DEVICE_EXCLUSIVE", "SWP_HWPOISON": "SOFTLEAF_HWPOISON",
        "SWP_PTE_MARKER": "SOFTLEAF_MARKER"}


def test_softleaf_predicates_map_back_to_swp_kinds(leaf):
    p = leaf.predicates
    assert p["softleaf_is_swap"] == {"SWAPFILE"}
    assert p["softleaf_is_migration"] == MIGRATION                       # switch with fall-through cases
    assert p["softleaf_is_device_private"] == DEVICE_PRIVATE
    assert p["softleaf_is_device_exclusive"] == {"SWP_DEVICE_EXCLUSIVE"}
    assert p["softleaf_is_marker"] == p["softleaf_to_marker"] == {"SWP_PTE_MARKER"}
    assert p["softleaf_is_guard_marker"] == {"PTE_MARKER_GUARD"}
    assert p["softleaf_has_pfn"] == PFN                                  # chain of if (...) return true;
    assert p["softleaf_to_pfn"] == PFN and "softleaf_to_pfn" in leaf.helpers
    assert p["is_migration_entry"] == MIGRATION                          # both spellings coexist
    assert leaf.decoders == {"softleaf_from_pte", "softleaf_from_pmd", "pte_to_swp_entry"}
    assert leaf.level_decoders == {"pmd_is_migration_entry"}


def test_softleaf_sites(leaf):
    got = sites(leaf)
    assert set(got) == {("mm/memory.c", "zap_nonpresent_ptes"), ("mm/memory.c", "pmd_needs_wait"),
                        ("include/linux/leafops.h", "pmd_is_migration_entry")}
    zap = got[("mm/memory.c", "zap_nonpresent_ptes")]
    assert zap.families == ("device_exclusive", "device_private", "marker", "migration", "pfn_generic", "swapfile")
    assert zap.decoders == ("softleaf_from_pte",)


# ---------------------------------------------------------------- fallback

def test_default_registry_is_a_6_12_table():
    reg = rg.default_registry()
    assert reg.extractor_block() == (
        "TYPES: SWP_PTE_MARKER SWP_DEVICE_WRITE SWP_DEVICE_READ SWP_DEVICE_EXCLUSIVE_WRITE "
        "SWP_DEVICE_EXCLUSIVE_READ SWP_MIGRATION_READ SWP_MIGRATION_READ_EXCLUSIVE SWP_MIGRATION_WRITE "
        "SWP_HWPOISON\nMARKERS: PTE_MARKER_UFFD_WP=BIT(0) PTE_MARKER_POISONED=BIT(1)")
    assert reg.dispatch_sites == []
    assert reg.family_of("is_pfn_swap_entry") == {"pfn_generic"}
    assert reg.family_of("non_swap_entry") == {"swapfile"}
    assert reg.family_of("is_writable_device_exclusive_entry") == {"device_exclusive"}
    assert reg.version_hints["source"].startswith("fallback")


def test_registry_for_falls_back_without_a_tree(swp):
    assert rg.registry_for(None).version_hints["source"].startswith("fallback")
    assert rg.registry_for(NoTree()).version_hints["source"].startswith("fallback")
    assert rg.registry_for(DirTree(str(SWP_TREE))).kinds == swp.kinds


# ---------------------------------------------------------------- integration: Debian 6.1.192 / 6.12.117

DOC_VERSION_6_12 = "6.12.117"  # the release whose line numbers mm-rules.md §4 quotes


def _same_place(reg, got_line: int, doc_line: int) -> bool:
    """Line numbers are exact on the release the doc was written against; Debian's
    later point releases shift them, so there the place must only be near."""
    if reg.version_hints.get("version") == DOC_VERSION_6_12:
        return got_line == doc_line
    return abs(got_line - doc_line) <= 200

@pytest.fixture(scope="module")
def reg_6_1(linux_6_1) -> rg.Registry:
    return rg.build_registry(DirTree(str(linux_6_1)))


@pytest.fixture(scope="module")
def reg_6_12(linux_6_12) -> rg.Registry:
    return rg.build_registry(DirTree(str(linux_6_12)))


def test_extractor_6_1(reg_6_1):  # §4.A "Extractor" block
    assert reg_6_1.extractor_block() == (
        "TYPES: SWP_SWAPIN_ERROR SWP_PTE_MARKER SWP_DEVICE_WRITE SWP_DEVICE_READ SWP_DEVICE_EXCLUSIVE_WRITE "
        "SWP_DEVICE_EXCLUSIVE_READ SWP_MIGRATION_READ SWP_MIGRATION_READ_EXCLUSIVE SWP_MIGRATION_WRITE "
        "SWP_HWPOISON\nMARKERS: PTE_MARKER_UFFD_WP=BIT(0)")
    assert reg_6_1.kinds["SWP_PTE_MARKER"].config == "CONFIG_PTE_MARKER"  # "only with CONFIG_PTE_MARKER"
    assert reg_6_1.kinds["SWP_SWAPIN_ERROR"].config is None
    assert reg_6_1.kinds["SWP_SWAPIN_ERROR"].family == "swapin_error"
    assert reg_6_1.version_hints["version"].startswith("6.1.")


def test_extractor_6_12(reg_6_12):
    assert reg_6_12.extractor_block() == (
        "TYPES: SWP_PTE_MARKER SWP_DEVICE_WRITE SWP_DEVICE_READ SWP_DEVICE_EXCLUSIVE_WRITE "
        "SWP_DEVICE_EXCLUSIVE_READ SWP_MIGRATION_READ SWP_MIGRATION_READ_EXCLUSIVE SWP_MIGRATION_WRITE "
        "SWP_HWPOISON\nMARKERS: PTE_MARKER_UFFD_WP=BIT(0) PTE_MARKER_POISONED=BIT(1)")
    assert reg_6_12.kinds["SWP_PTE_MARKER"].config is None  # unconditional in 6.12
    assert reg_6_12.kinds["SWP_HWPOISON"].config == "CONFIG_MEMORY_FAILURE"
    assert all(k.path == "include/linux/swap.h" and 40 <= k.line <= 121 for k in reg_6_12.kinds.values())
    assert reg_6_12.version_hints["softleaf_transitional"] is True  # Debian's softleaf_from_pte backport


# §4.B, 6.12.117: predicate -> (where, families)
B_6_12 = {
    "non_swap_entry": ("include/linux/swapops.h", 615, {"swapfile"}),
    "is_migration_entry": ("include/linux/swapops.h", 256, {"migration"}),
    "is_writable_migration_entry": ("include/linux/swapops.h", 263, {"migration"}),
    "is_readable_migration_entry": ("include/linux/swapops.h", 268, {"migration"}),
    "is_readable_exclusive_migration_entry": ("include/linux/swapops.h", 273, {"migration"}),
    "is_device_private_entry": ("include/linux/swapops.h", 182, {"device_private"}),
    "is_writable_device_private_entry": ("include/linux/swapops.h", 188, {"device_private"}),
    "is_device_exclusive_entry": ("include/linux/swapops.h", 203, {"device_exclusive"}),
    "is_writable_device_exclusive_entry": ("include/linux/swapops.h", 209, {"device_exclusive"}),
    "is_hwpoison_entry": ("include/linux/swapops.h", 408, {"hwpoison"}),
    "is_pte_marker_entry": ("include/linux/swapops.h", 442, {"marker"}),
    "is_pte_marker": ("include/linux/swapops.h", 452, {"marker"}),
    "pte_marker_get": ("include/linux/swapops.h", 447, {"marker"}),
    "is_poisoned_swp_entry": ("include/linux/swapops.h", 467, {"marker"}),
    "pte_marker_entry_uffd_wp": ("include/linux/userfaultfd_k.h", 442, {"marker"}),
    "pte_marker_uffd_wp": ("include/linux/userfaultfd_k.h", 452, {"marker"}),
    "pte_swp_uffd_wp_any": ("include/linux/userfaultfd_k.h", 472, {"marker"}),
    "is_pfn_swap_entry": ("include/linux/swapops.h", 534, {"pfn_generic"}),
    "pte_none_mostly": ("include/linux/swapops.h", 486, {"marker"}),
    "is_pmd_migration_entry": ("include/linux/swapops.h", 574, {"migration"}),
    "is_hugetlb_entry_migration": ("mm/hugetlb.c", 5213, {"migration"}),
    "is_hugetlb_entry_hwpoisoned": ("mm/hugetlb.c", 5226, {"hwpoison"}),
}


@pytest.mark.parametrize("name", sorted(B_6_12))
def test_predicates_6_12(reg_6_12, linux_6_12, name):
    path, line, families = B_6_12[name]
    got_path, got_line = reg_6_12.locations[name]
    assert got_path == path and _same_place(reg_6_12, got_line, line), (got_path, got_line)
    assert name in (linux_6_12 / got_path).read_text().splitlines()[got_line - 1]
    assert reg_6_12.family_of(name) == families


def test_predicate_kinds_6_12(reg_6_12):
    p = reg_6_12.predicates
    assert p["is_migration_entry"] == {"SWP_MIGRATION_READ", "SWP_MIGRATION_READ_EXCLUSIVE", "SWP_MIGRATION_WRITE"}
    assert p["is_poisoned_swp_entry"] == {"PTE_MARKER_POISONED"}        # "marker with POISONED"
    assert p["pte_marker_entry_uffd_wp"] == {"PTE_MARKER_UFFD_WP"}
    assert p["pte_none_mostly"] == {"NONE", "SWP_PTE_MARKER"}            # "none ∪ any marker"
    assert p["is_pfn_swap_entry"] == p["swp_offset_pfn"] == p["pfn_swap_entry_folio"]
    assert len(p["is_pfn_swap_entry"]) == 8 and "SWP_PTE_MARKER" not in p["is_pfn_swap_entry"]
    assert p["non_swap_entry"] == set(reg_6_12.kinds)                   # every type but genuine swap
    for name in ("is_swapin_error_entry", "is_migration_entry_young", "is_swap_pmd"):
        assert name not in p


def test_constructors_6_12(reg_6_12):  # §4.B "Constructors (6.12.117)"
    assert set(reg_6_12.constructors) == {
        "make_readable_migration_entry", "make_readable_exclusive_migration_entry",
        "make_writable_migration_entry", "make_migration_entry_young", "make_migration_entry_dirty",
        "make_readable_device_private_entry", "make_writable_device_private_entry",
        "make_readable_device_exclusive_entry", "make_writable_device_exclusive_entry", "make_hwpoison_entry",
        "make_pte_marker_entry", "make_pte_marker", "make_poisoned_swp_entry"}
    assert reg_6_12.constructors["make_poisoned_swp_entry"] == {"PTE_MARKER_POISONED"}
    assert reg_6_12.decoders == {"pte_to_swp_entry", "pmd_to_swp_entry", "softleaf_from_pte"}
    assert reg_6_12.encoders == {"swp_entry_to_pte", "swp_entry_to_pmd"}


def test_6_1_swapin_error_kind(reg_6_1):
    assert reg_6_1.predicates["is_swapin_error_entry"] == {"SWP_SWAPIN_ERROR"}
    assert reg_6_1.constructors["make_swapin_error_entry"] == {"SWP_SWAPIN_ERROR"}
    assert "is_poisoned_swp_entry" not in reg_6_1.predicates
    # 6.1's "#define free_swap_and_cache(e) is_pfn_swap_entry(e)" (!CONFIG_SWAP) stays a swap helper
    assert reg_6_1.predicates["free_swap_and_cache"] == {"SWAPFILE"}


# §4.C as printed: (path, function) -> (line, families, predicates)
DOC_SITES_6_12 = {
    ("fs/proc/task_mmu.c", "smaps_pte_entry"): (
        805, "device_private pfn_generic swapfile",
        "is_device_private_entry is_pfn_swap_entry is_swap_pte non_swap_entry pfn_swap_entry_to_page "
        "swp_swapcount",
    ),
    ("fs/proc/task_mmu.c", "smaps_pmd_entry"): (
        853, "pfn_generic",
        "is_pfn_swap_entry pfn_swap_entry_to_page",
    ),
    ("fs/proc/task_mmu.c", "smaps_hugetlb_range"): (
        1019, "pfn_generic swapfile",
        "is_pfn_swap_entry is_swap_pte pfn_swap_entry_folio",
    ),
    ("fs/proc/task_mmu.c", "clear_soft_dirty_pmd"): (
        1438, "migration",
        "is_migration_entry",
    ),
    ("fs/proc/task_mmu.c", "pte_to_pagemap_entry"): (
        1713, "marker pfn_generic swapfile",
        "is_pfn_swap_entry is_swap_pte pfn_swap_entry_to_page pte_marker_entry_uffd_wp swp_offset_pfn",
    ),
    ("fs/proc/task_mmu.c", "pagemap_pmd_range"): (
        1770, "migration pfn_generic",
        "is_pfn_swap_entry is_pmd_migration_entry pfn_swap_entry_to_page swp_offset_pfn",
    ),
    ("fs/proc/task_mmu.c", "pagemap_page_category"): (
        2100, "pfn_generic swapfile",
        "is_pfn_swap_entry is_swap_pte pfn_swap_entry_folio",
    ),
    ("fs/proc/task_mmu.c", "pagemap_thp_category"): (
        2175, "pfn_generic",
        "is_pfn_swap_entry pfn_swap_entry_folio",
    ),
    ("fs/proc/task_mmu.c", "make_uffd_wp_pmd"): (
        2221, "migration",
        "is_migration_entry",
    ),
    ("fs/proc/task_mmu.c", "make_uffd_wp_huge_pte"): (
        2268, "hwpoison marker migration",
        "is_hugetlb_entry_hwpoisoned is_hugetlb_entry_migration is_pte_marker",
    ),
    ("include/linux/swapops.h", "is_pte_marker"): (
        452, "marker swapfile",
        "is_pte_marker_entry is_swap_pte",
    ),
    ("include/linux/swapops.h", "is_pmd_migration_entry"): (
        574, "migration",
        "is_migration_entry",
    ),
    ("include/linux/userfaultfd_k.h", "pte_marker_uffd_wp"): (
        452, "marker swapfile",
        "is_swap_pte pte_marker_entry_uffd_wp",
    ),
    ("mm/hmm.c", "hmm_vma_handle_pte"): (
        223, "device_exclusive device_private marker migration pfn_generic swapfile",
        "is_device_exclusive_entry is_device_private_entry is_migration_entry "
        "is_writable_device_private_entry non_swap_entry pfn_swap_entry_to_page pte_none_mostly "
        "swp_offset_pfn",
    ),
    ("mm/hmm.c", "hmm_vma_walk_pmd"): (
        320, "migration",
        "is_pmd_migration_entry",
    ),
    ("mm/huge_memory.c", "copy_huge_pmd"): (
        1618, "migration",
        "is_pmd_migration_entry is_readable_migration_entry",
    ),
    ("mm/huge_memory.c", "madvise_free_huge_pmd"): (
        2016, "migration",
        "is_pmd_migration_entry",
    ),
    ("mm/huge_memory.c", "zap_huge_pmd"): (
        2095, "migration pfn_generic",
        "is_pmd_migration_entry pfn_swap_entry_folio",
    ),
    ("mm/huge_memory.c", "move_soft_dirty_pmd"): (
        2179, "migration",
        "is_pmd_migration_entry",
    ),
    ("mm/huge_memory.c", "change_huge_pmd"): (
        2260, "migration pfn_generic",
        "is_pmd_migration_entry is_writable_migration_entry pfn_swap_entry_folio",
    ),
    ("mm/huge_memory.c", "move_pages_huge_pmd"): (
        2446, "migration",
        "is_pmd_migration_entry",
    ),
    ("mm/huge_memory.c", "__split_huge_pmd_locked"): (
        2716, "migration pfn_generic",
        "is_pmd_migration_entry is_readable_exclusive_migration_entry is_writable_migration_entry "
        "pfn_swap_entry_folio pfn_swap_entry_to_page",
    ),
    ("mm/huge_memory.c", "split_huge_pmd_locked"): (
        2938, "migration",
        "is_pmd_migration_entry",
    ),
    ("mm/huge_memory.c", "remove_migration_pmd"): (
        4314, "migration",
        "is_readable_migration_entry is_writable_migration_entry",
    ),
    ("mm/hugetlb.c", "is_hugetlb_entry_migration"): (
        5213, "migration",
        "is_migration_entry",
    ),
    ("mm/hugetlb.c", "is_hugetlb_entry_hwpoisoned"): (
        5226, "hwpoison",
        "is_hwpoison_entry",
    ),
    ("mm/hugetlb.c", "copy_hugetlb_page_range"): (
        5254, "hwpoison marker migration",
        "is_hugetlb_entry_hwpoisoned is_hugetlb_entry_migration is_pte_marker "
        "is_readable_migration_entry",
    ),
    ("mm/hugetlb.c", "hugetlb_fault"): (
        6362, "hwpoison marker migration",
        "huge_pte_none_mostly is_hugetlb_entry_hwpoisoned is_hugetlb_entry_migration is_pte_marker "
        "pte_marker_get",
    ),
    ("mm/hugetlb.c", "hugetlb_change_protection"): (
        6806, "hwpoison marker migration pfn_generic",
        "is_hugetlb_entry_hwpoisoned is_hugetlb_entry_migration is_pte_marker "
        "is_writable_migration_entry pfn_swap_entry_to_page",
    ),
    ("mm/internal.h", "swap_pte_batch"): (
        316, "swapfile",
        "is_swap_pte non_swap_entry",
    ),
    ("mm/madvise.c", "swapin_walk_pmd_entry"): (
        179, "swapfile",
        "is_swap_pte non_swap_entry",
    ),
    ("mm/madvise.c", "madvise_free_pte_range"): (
        650, "hwpoison marker swapfile",
        "free_swap_and_cache_nr is_hwpoison_entry is_poisoned_swp_entry non_swap_entry swap_pte_batch",
    ),
    ("mm/memcontrol-v1.c", "mc_handle_swap_pte"): (
        684, "device_private pfn_generic swapfile",
        "is_device_private_entry non_swap_entry pfn_swap_entry_to_page",
    ),
    ("mm/memcontrol-v1.c", "get_mctgt_type_thp"): (
        975, "migration",
        "is_pmd_migration_entry",
    ),
    ("mm/memory-failure.c", "check_hwpoisoned_entry"): (
        753, "hwpoison pfn_generic",
        "is_hwpoison_entry swp_offset_pfn",
    ),
    ("mm/memory.c", "restore_exclusive_pte"): (
        721, "device_exclusive",
        "is_writable_device_exclusive_entry",
    ),
    ("mm/memory.c", "try_restore_exclusive_pte"): (
        770, "pfn_generic",
        "pfn_swap_entry_to_page",
    ),
    ("mm/memory.c", "copy_nonpresent_pte"): (
        792, "device_exclusive device_private marker migration pfn_generic swapfile",
        "is_device_exclusive_entry is_device_private_entry is_migration_entry is_pte_marker_entry "
        "is_readable_migration_entry is_writable_device_private_entry non_swap_entry "
        "pfn_swap_entry_folio pfn_swap_entry_to_page swap_duplicate",
    ),
    ("mm/memory.c", "zap_pte_range"): (
        1582, "device_exclusive device_private hwpoison marker migration pfn_generic swapfile",
        "free_swap_and_cache_nr is_device_exclusive_entry is_device_private_entry is_hwpoison_entry "
        "is_migration_entry is_poisoned_swp_entry non_swap_entry pfn_swap_entry_folio "
        "pfn_swap_entry_to_page pte_marker_entry_uffd_wp swap_pte_batch",
    ),
    ("mm/memory.c", "handle_pte_marker"): (
        3985, "marker",
        "pte_marker_entry_uffd_wp pte_marker_get",
    ),
    ("mm/memory.c", "can_swapin_thp"): (
        4054, "swapfile",
        "swap_pte_batch",
    ),
    ("mm/memory.c", "do_swap_page"): (
        4201, "device_exclusive device_private hwpoison marker migration pfn_generic swapfile",
        "__swap_count is_device_exclusive_entry is_device_private_entry is_hwpoison_entry "
        "is_migration_entry is_pte_marker_entry non_swap_entry pfn_swap_entry_to_page swap_pte_batch",
    ),
    ("mm/memory.c", "__handle_mm_fault"): (
        5840, "migration",
        "is_pmd_migration_entry",
    ),
    ("mm/mempolicy.c", "queue_folios_pmd"): (
        503, "migration",
        "is_pmd_migration_entry",
    ),
    ("mm/mempolicy.c", "queue_folios_pte_range"): (
        535, "migration",
        "is_migration_entry",
    ),
    ("mm/mempolicy.c", "queue_folios_hugetlb"): (
        615, "migration",
        "is_hugetlb_entry_migration",
    ),
    ("mm/migrate.c", "remove_migration_pte"): (
        288, "migration",
        "is_readable_migration_entry is_writable_migration_entry",
    ),
    ("mm/migrate.c", "migration_entry_wait"): (
        426, "migration swapfile",
        "is_migration_entry is_swap_pte",
    ),
    ("mm/migrate.c", "migration_entry_wait_huge"): (
        461, "migration",
        "is_hugetlb_entry_migration",
    ),
    ("mm/migrate.c", "pmd_migration_entry_wait"): (
        487, "migration",
        "is_pmd_migration_entry",
    ),
    ("mm/migrate_device.c", "migrate_vma_collect_pmd"): (
        57, "device_private pfn_generic",
        "is_device_private_entry is_writable_device_private_entry pfn_swap_entry_to_page",
    ),
    ("mm/mincore.c", "mincore_pte_range"): (
        100, "marker swapfile",
        "non_swap_entry pte_none_mostly",
    ),
    ("mm/mprotect.c", "change_pte_range"): (
        86, "device_exclusive device_private marker migration pfn_generic swapfile",
        "is_poisoned_swp_entry is_pte_marker_entry is_swap_pte is_writable_device_exclusive_entry "
        "is_writable_device_private_entry is_writable_migration_entry pfn_swap_entry_folio",
    ),
    ("mm/page_table_check.c", "page_table_check_pte_flags"): (
        215, "swapfile",
        "is_swap_pte",
    ),
    ("mm/page_vma_mapped.c", "map_pte"): (
        16, "device_exclusive device_private swapfile",
        "is_device_exclusive_entry is_device_private_entry is_swap_pte",
    ),
    ("mm/page_vma_mapped.c", "check_pte"): (
        97, "device_exclusive device_private migration pfn_generic swapfile",
        "is_device_exclusive_entry is_device_private_entry is_migration_entry is_swap_pte "
        "swp_offset_pfn",
    ),
    ("mm/page_vma_mapped.c", "page_vma_mapped_walk"): (
        184, "migration pfn_generic",
        "is_migration_entry is_pmd_migration_entry swp_offset_pfn",
    ),
    ("mm/pagewalk.c", "folio_walk_start"): (
        772, "migration pfn_generic",
        "is_migration_entry is_pmd_migration_entry pfn_swap_entry_to_page",
    ),
    ("mm/rmap.c", "try_to_unmap_one"): (
        1642, "pfn_generic swapfile",
        "softleaf_to_pfn swap_duplicate",
    ),
    ("mm/rmap.c", "try_to_migrate_one"): (
        2034, "device_private",
        "is_writable_device_private_entry",
    ),
    ("mm/swap_state.c", "swap_vma_readahead"): (
        799, "swapfile",
        "is_swap_pte non_swap_entry",
    ),
    ("mm/swapfile.c", "unuse_pte_range"): (
        2181, "swapfile",
        "is_swap_pte",
    ),
    ("mm/userfaultfd.c", "move_pages_pte"): (
        1172, "migration swapfile",
        "is_migration_entry non_swap_entry",
    ),
}

# Where the 6.12.117 scan differs from §4.C as printed (the source shows the doc is incomplete):
# - madvise_cold_or_pageout_pte_range calls is_pmd_migration_entry (mm/madvise.c:381-382); the
#   label "regular_folio:" right before "#endif" (:436-437) hides the function from tree-sitter
#   unless it is blanked, which is why the doc calls it "only in 6.1.192".
# - __pte_offset_map tests is_pmd_migration_entry (mm/pgtable-generic.c:294), like __handle_mm_fault.
# - pagemap_page_category calls pte_swp_uffd_wp_any (fs/proc/task_mmu.c:2140) and
#   hugetlb_change_protection calls pte_marker_uffd_wp (mm/hugetlb.c:6902): both are §4.B predicates.
EXTRA_6_12 = {
    ("mm/madvise.c", "madvise_cold_or_pageout_pte_range"): (343, "migration", "is_pmd_migration_entry"),
    ("mm/pgtable-generic.c", "__pte_offset_map"): (282, "migration", "is_pmd_migration_entry"),
}
ADDED_PREDICATES_6_12 = {
    ("fs/proc/task_mmu.c", "pagemap_page_category"): ("pte_swp_uffd_wp_any", "marker"),
    ("mm/hugetlb.c", "hugetlb_change_protection"): ("pte_marker_uffd_wp", "marker"),
}


def _expected_sites_6_12() -> dict:
    out = {}
    for key, (line, families, predicates) in {**DOC_SITES_6_12, **EXTRA_6_12}.items():
        fams, preds = set(families.split()), set(predicates.split())
        if key in ADDED_PREDICATES_6_12:
            pred, fam = ADDED_PREDICATES_6_12[key]
            preds.add(pred)
            fams.add(fam)
        out[key] = (line, tuple(sorted(fams)), tuple(sorted(preds)))
    return out


def test_dispatch_sites_6_12(reg_6_12):
    got = {(s.path, s.function): (s.line, s.families, s.predicates) for s in reg_6_12.dispatch_sites}
    expected = _expected_sites_6_12()
    assert set(got) - set(expected) == set()
    assert set(expected) - set(got) == set()
    for key in expected:
        (line, fams, preds), (doc_line, doc_fams, doc_preds) = got[key], expected[key]
        assert (fams, preds) == (doc_fams, doc_preds), key
        assert _same_place(reg_6_12, line, doc_line), (key, line, doc_line)


def test_who_tests_device_exclusive_6_12(reg_6_12):  # §4.C "Who tests what"
    assert {s.function for s in reg_6_12.sites_testing("device_exclusive")} == {
        "hmm_vma_handle_pte", "restore_exclusive_pte", "copy_nonpresent_pte", "zap_pte_range", "do_swap_page",
        "change_pte_range", "map_pte", "check_pte"}
    private_only = {s.function for s in reg_6_12.sites_testing("device_private")} - \
        {s.function for s in reg_6_12.sites_testing("device_exclusive")}
    assert private_only == {"smaps_pte_entry", "mc_handle_swap_pte", "migrate_vma_collect_pmd",
                            "try_to_migrate_one"}


def test_delta_6_1_vs_6_12(reg_6_1, reg_6_12):  # §4.C "6.1.192 vs 6.12.117"
    old = {(s.path, s.function) for s in reg_6_1.dispatch_sites}
    new = {(s.path, s.function) for s in reg_6_12.dispatch_sites}
    assert old - new == {
        ("mm/gup.c", "follow_page_pte"), ("mm/gup.c", "follow_pmd_mask"),
        ("mm/huge_memory.c", "__split_huge_pmd"), ("mm/hugetlb.c", "follow_huge_pmd_pte"),
        ("mm/hugetlb.c", "follow_huge_pud"), ("mm/migrate.c", "__migration_entry_wait"),
        ("mm/migrate.c", "__migration_entry_wait_huge"),
        ("mm/memcontrol.c", "mc_handle_swap_pte"), ("mm/memcontrol.c", "get_mctgt_type_thp"),
        # doc also lists madvise_cold_or_pageout_pte_range: it is in both (see EXTRA_6_12)
    }
    assert new - old == {
        ("fs/proc/task_mmu.c", "make_uffd_wp_huge_pte"), ("fs/proc/task_mmu.c", "make_uffd_wp_pmd"),
        ("fs/proc/task_mmu.c", "pagemap_page_category"), ("fs/proc/task_mmu.c", "pagemap_thp_category"),
        ("mm/huge_memory.c", "move_pages_huge_pmd"), ("mm/userfaultfd.c", "move_pages_pte"),
        ("mm/huge_memory.c", "split_huge_pmd_locked"), ("mm/internal.h", "swap_pte_batch"),
        ("mm/memory.c", "can_swapin_thp"), ("mm/pagewalk.c", "folio_walk_start"),
        # doc: "queue_folios_*"; queue_folios_pmd already tests is_pmd_migration_entry in 6.1.192
        ("mm/mempolicy.c", "queue_folios_pte_range"), ("mm/mempolicy.c", "queue_folios_hugetlb"),
        ("mm/migrate.c", "migration_entry_wait"), ("mm/migrate.c", "migration_entry_wait_huge"),
        ("mm/page_table_check.c", "page_table_check_pte_flags"), ("mm/rmap.c", "try_to_unmap_one"),
        ("mm/memcontrol-v1.c", "mc_handle_swap_pte"), ("mm/memcontrol-v1.c", "get_mctgt_type_thp"),
        ("mm/pgtable-generic.c", "__pte_offset_map"),  # not in the doc's table (see EXTRA_6_12)
    }


def test_fallback_matches_the_6_12_tree(reg_6_12):
    fb = rg.default_registry()
    assert [(k.name, k.family, k.config) for k in fb.kinds.values()] == \
        [(k.name, k.family, k.config) for k in reg_6_12.kinds.values()]
    assert [(m.name, m.bit) for m in fb.markers.values()] == [(m.name, m.bit) for m in reg_6_12.markers.values()]
    assert fb.predicates == reg_6_12.predicates
    assert fb.helpers == reg_6_12.helpers
    assert fb.constructors == reg_6_12.constructors
    assert (fb.decoders, fb.encoders, fb.level_decoders) == \
        (reg_6_12.decoders, reg_6_12.encoders, reg_6_12.level_decoders)
