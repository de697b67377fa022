"""Issue acceptance on the seed pages themselves (web captures), not only on their raw threads."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import web_seeds as S


def _lint(prefix: str) -> dict:
    if not S.SEEDS.is_dir():
        pytest.skip("../shared/seeds is absent (the seed pages are not in this repository)")
    page = S.SEEDS / S.seed_name(prefix)
    r = subprocess.run([sys.executable, "-m", "reviewkit", "lint", str(page), "--format", "json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def test_seed_000_quoted_copy_nonpresent_pte_hunk_is_flagged():
    """The mail-archive page cuts the patch after 2 of 13 files; Jason's reply quotes the
    copy_nonpresent_pte() hunk, which is linted as part of the patch."""
    data = _lint("000")
    hits = [f for f in data["findings"] if f["rule"] == "mm/fork-pinned-page-copy"]
    assert [(f["path"], f["function"], f["severity"]) for f in hits] == [
        ("mm/memory.c", "copy_nonpresent_pte", "error")]
    assert "get_page" in hits[0]["snippet"]


def test_seed_004_put_page_after_pin_is_resolved():
    data = _lint("004")
    resolved = [(f["rule"], f["path"], f["function"]) for f in data["resolved"]]
    assert ("mm/gup-pin-release-pairing", "mm/gup.c", "gup_pte_range") in resolved
    assert not [f for f in data["findings"] if f["rule"] == "mm/gup-pin-release-pairing"]
