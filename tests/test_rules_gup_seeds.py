"""The GUP rules on real threads: what the seed reviews fixed shows as resolved, and nothing else fires.

Seeds (mm-rules.md §0): S4 = Claudio Imbrenda's "add callbacks for inaccessible pages" (patch 1/2
replaces `put_page(head)` after a FOLL_PIN-capable grab in gup_pte_range()); S2 = David Hildenbrand's
"mm/gup: remove FOLL_FORCE usage from drivers". Runs the public command, as a CI bot would.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

RULES = ("mm/gup-pin-release-pairing", "mm/gupfast-recheck-after-ref", "mm/foll-force-scope",
         "mm/arch-make-accessible-before-io")
LORE = "lore-threads"

# the driver users S2 removes (mm-rules.md R11 "Removed driver users")
S2_DRIVERS = {
    "drivers/infiniband/hw/qib/qib_user_pages.c", "drivers/infiniband/hw/usnic/usnic_uiom.c",
    "drivers/infiniband/sw/siw/siw_mem.c", "drivers/infiniband/core/umem.c",
    "drivers/media/v4l2-core/videobuf-dma-sg.c", "drivers/media/common/videobuf2/frame_vector.c",
    "drivers/media/pci/ivtv/ivtv-yuv.c", "drivers/media/pci/ivtv/ivtv-udma.c",
    "drivers/misc/habanalabs/common/memory.c", "drivers/gpu/drm/etnaviv/etnaviv_gem.c",
    "drivers/gpu/drm/exynos/exynos_drm_g2d.c",
}
# kvm-s390 protvirt patch 01 (v2, v3, v4) adds `put_page(head)` where the hook fails in gup_pte_range():
# the very bug S4 then fixes, so the rule is right to flag it
PROTVIRT_PATCH01 = {"<20200214222658.12946-40-borntraeger@de.ibm.com>",
                    "<20200220104020.5343-2-borntraeger@de.ibm.com>",
                    "<20200224114107.4646-2-borntraeger@de.ibm.com>"}


def lint(*inputs, tree=None) -> dict:
    args = [sys.executable, "-m", "reviewkit", "lint", *map(str, inputs), "--format", "json"]
    for rule in RULES:
        args += ["--select", rule]
    if tree is not None:
        args += ["--tree", str(tree)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert r.returncode in (0, 1, 4), r.stderr  # 4: a patch did not apply whole (old series on a newer tree)
    data = json.loads(r.stdout)
    assert not [e for e in data["errors"] if e["input"].startswith("rule ")], data["errors"]  # no rule crashed
    return data


def test_seed_004_put_page_after_pin_is_resolved(corpus):
    data = lint(corpus / LORE / "inaccessible-pages-series" / "inaccessible-v4-of2.mbox")
    resolved = [f for f in data["resolved"] if f["rule"] == "mm/gup-pin-release-pairing"]
    assert [(f["path"], f["function"], f["line"], f["patch"]) for f in resolved] == [
        ("mm/gup.c", "gup_pte_range", 2137, "<20200306132537.783769-2-imbrenda@linux.ibm.com>")]
    assert "put_page" in resolved[0]["message"] and resolved[0]["severity"] == "error"
    assert data["findings"] == []


@pytest.mark.parametrize("mbox", ["foll-force-rfc-v1-of19.mbox", "foll-force-v1-of20.mbox"])
def test_seed_002_foll_force_removals_are_resolved(corpus, mbox):
    data = lint(corpus / LORE / "foll-force-removal" / mbox)
    resolved = [f for f in data["resolved"] if f["rule"] == "mm/foll-force-scope"]
    assert {f["path"] for f in resolved} == S2_DRIVERS
    assert all(f["severity"] == "error" for f in resolved)
    # ivtv-yuv.c drops it twice; v1's rename to FOLL_PTRACE (20/20) is not a fix and is not listed
    assert len(resolved) == 12
    assert data["findings"] == []


def test_protvirt_put_page_after_grab_is_flagged(corpus):
    data = lint(corpus / LORE / "inaccessible-pages-series" / "kvm-s390-protvirt-patch01-v4-of36.mbox")
    assert [(f["rule"], f["path"], f["function"], f["line"]) for f in data["findings"]] == [
        ("mm/gup-pin-release-pairing", "mm/gup.c", "gup_pte_range", 1928)]


def test_lore_threads_no_other_findings(corpus):
    data = lint(*sorted((corpus / LORE).glob("*/*.mbox")))
    assert {f["patch"] for f in data["findings"]} == PROTVIRT_PATCH01
    assert {f["rule"] for f in data["findings"]} == {"mm/gup-pin-release-pairing"}


@pytest.mark.parametrize("series", ["series-a", "series-b"])
def test_mm_6_1_series_are_clean(corpus, linux_6_1, series):
    data = lint(corpus / "mm-patches-6.1" / series, tree=linux_6_1)
    assert data["findings"] == [] and data["resolved"] == []
