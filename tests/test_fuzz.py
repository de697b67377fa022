"""A fixed-seed sample of benchmarks/fuzz.py: mutated corpus mails through every stage and renderer.

The full run (100,000 inputs, per-input time and memory) is `python benchmarks/fuzz.py`; this keeps
CI honest about the same operators: no exception escapes, no mail is lost.
"""
from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = 240
SEED = 20261202


def _fuzz():
    spec = importlib.util.spec_from_file_location("reviewkit_fuzz", ROOT / "benchmarks" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def fuzz():
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent (the fuzz seeds are real third-party mail)")
    module = _fuzz()
    return module, module.load_seeds(CORPUS)


def test_every_operator_is_in_the_sample(fuzz):
    module, seeds = fuzz
    used = Counter(op for i in range(SAMPLE) for op in module.generate(seeds, SEED, i)[1])
    assert set(module.OPERATORS) - {"deep-thread"} <= set(used)


def test_generation_is_reproducible(fuzz):
    module, seeds = fuzz
    assert module.generate(seeds, SEED, 7) == module.generate(seeds, SEED, 7)


def test_sample_runs_clean(fuzz):
    module, seeds = fuzz
    failures, lost = [], []
    for index in range(SAMPLE):
        data, ops, written = module.generate(seeds, SEED, index)
        # the HTML page is the slowest renderer: every fourth input is enough to keep it honest
        skip = () if index % 4 == 0 else ("html",)
        try:
            result = module.run_stages(data, skip=skip)
        except module.StageError as exc:
            failures.append((index, ops, module.describe(exc.stage, exc.exc)))
            continue
        if module.lost_mails(result["parsed"], data, written):
            lost.append((index, ops))
    assert failures == []
    assert lost == []
