"""Shared test fixtures: where the real third-party corpus and our fixtures live."""
from __future__ import annotations

import os
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


# Real kernel trees for integration tests: `.ci/run` installs Debian's
# linux-source packages and extracts them under .cache/kernels/ (or point
# REVIEWKIT_KERNELS at a folder holding linux-source-6.1/ and linux-source-6.12/).
KERNELS = Path(os.environ.get("REVIEWKIT_KERNELS", ROOT / ".cache" / "kernels"))


def kernel_tree(version: str) -> Path:
    tree = KERNELS / f"linux-source-{version}"
    if not (tree / "mm" / "memory.c").is_file():
        pytest.skip(f"no Linux {version} tree at {tree} (.ci/run extracts it; or set REVIEWKIT_KERNELS)")
    return tree


@pytest.fixture(scope="session")
def linux_6_1() -> Path:
    return kernel_tree("6.1")


@pytest.fixture(scope="session")
def linux_6_12() -> Path:
    return kernel_tree("6.12")
