"""Shared test fixtures: where the real third-party corpus and our fixtures live."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture
def corpus() -> Path:
    """../shared/corpus, or skip: a plain clone elsewhere has no corpus."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent (real third-party data is not in this repository)")
    return CORPUS


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
