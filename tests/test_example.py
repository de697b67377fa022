"""The README's main job: the bundled example gives the findings a reviewer would."""
from __future__ import annotations

import json
import subprocess
import sys


def test_bundled_example(fixtures, tmp_path):
    series = fixtures / "example" / "device-exclusive-series.mbox"
    tree = fixtures / "example" / "tree"
    r = subprocess.run([sys.executable, "-m", "reviewkit", "lint", str(series), "--tree", str(tree), "--format",
                        "json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr  # errors found
    data = json.loads(r.stdout)
    got = sorted((f["rule"], f["path"], f["function"], f["severity"]) for f in data["findings"])
    assert got == [
        ("mm/fork-pinned-page-copy", "mm/memory.c", "copy_nonpresent_pte", "error"),
        ("mm/no-new-bug-on", "mm/memory.c", "copy_nonpresent_pte", "warning"),
        ("mm/swp-entry-kind-exhaustive", "mm/memory.c", "do_swap_page_demo", "note"),
        ("mm/swp-entry-kind-exhaustive", "mm/memory.c", "zap_nonpresent_pte", "error"),
        ("mm/swp-pte-bit-preservation", "mm/memory.c", "copy_nonpresent_pte", "error"),
    ]
    out = tmp_path / "example.html"
    r = subprocess.run([sys.executable, "-m", "reviewkit", "report", str(series), "--tree", str(tree), "-o", str(out),
                        "--fail-on", "never"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    page = out.read_text()
    assert "mm/fork-pinned-page-copy" in page and "Why not restore the pte" in page
