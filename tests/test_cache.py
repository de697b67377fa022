"""No loss from the speed work: the same findings with the persistent cache cold, warm and off, with
each file version parsed once per run or every time, and checkpatch's reports the same whether one
perl process checks the whole series or one process each patch."""
from __future__ import annotations

import json
import shutil

import pytest

from reviewkit import cli
from reviewkit.code import cparse
from reviewkit.rules import checkpatch as cp


def run_json(tmp_path, name, command, *args) -> dict:
    out = tmp_path / f"{name}.json"
    extra = ["--fail-on", "never", "--allow-unapplied"] if command == "lint" else []
    assert cli.main([command, *args, "--format", "json", "-o", str(out), *extra]) == 0
    data = json.loads(out.read_text())
    data["stats"].pop("seconds_by_rule", None)  # timings: the only thing allowed to differ
    return data


def _cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("REVIEWKIT_NO_CACHE", raising=False)


def _three_ways(tmp_path, monkeypatch, command, inputs, no_cache=("--no-cache",)) -> list:
    """The output with the cache cold, warm, and off with every file version parsed afresh (as
    before parses were shared: the in-process memo kept empty)."""
    cold = run_json(tmp_path, "cold", command, *inputs)
    warm = run_json(tmp_path, "warm", command, *inputs)
    with monkeypatch.context() as m:
        m.setattr(cparse, "PARSED_KEPT", 0)
        cparse._PARSED.clear()
        fresh = run_json(tmp_path, "fresh", command, *inputs, *no_cache)
    return [cold, warm, fresh]


@pytest.mark.parametrize("series", ["series-a", "series-b"])
def test_series_equal_with_the_cache_cold_warm_and_off(series, corpus, linux_6_1, tmp_path, monkeypatch):
    _cache_home(tmp_path, monkeypatch)
    inputs = [str(corpus / "mm-patches-6.1" / series), "--tree", str(linux_6_1)]
    cold, warm, fresh = _three_ways(tmp_path, monkeypatch, "lint", inputs + ["--no-checkpatch", "--filter", "all"])
    assert warm == cold and fresh == cold and cold["patches"]
    cold, warm, fresh = _three_ways(tmp_path, monkeypatch, "parse", inputs, no_cache=())
    assert len(cold["functions"]) > 50  # the functions each patch touches, before and after
    assert warm == cold and fresh == cold


def test_findings_equal_with_the_cache_cold_warm_and_off(fixtures, tmp_path, monkeypatch):
    _cache_home(tmp_path, monkeypatch)
    example = fixtures / "example"
    inputs = [str(example / "device-exclusive-series.mbox"), "--tree", str(example / "tree")]
    cold, warm, fresh = _three_ways(tmp_path, monkeypatch, "lint", inputs)
    assert cold["findings"] and warm == cold and fresh == cold


def test_lore_threads_without_a_tree_equal_with_and_without_the_cache(corpus, tmp_path, monkeypatch):
    _cache_home(tmp_path, monkeypatch)
    folder = corpus / "lore-threads" / "device-exclusive-series"
    inputs = [str(folder / "device-exclusive-v1.mbox"), str(folder / "device-exclusive-v11.mbox")]
    cold, warm, fresh = _three_ways(tmp_path, monkeypatch, "lint", inputs + ["--filter", "all"])
    assert cold["patches"] and warm == cold and fresh == cold


def test_registry_cache_written_once_and_read_back(corpus, linux_6_1, tmp_path, monkeypatch):
    """A patch to the swap-entry headers makes the tree rules scan mm/ for dispatch sites: the
    registry is stored under $XDG_CACHE_HOME/reviewkit and a second run reads it."""
    from reviewkit.code import registry
    from reviewkit.source.trees import open_tree
    _cache_home(tmp_path, monkeypatch)
    tree, _ = open_tree(str(linux_6_1))
    built = registry.cached_registry(tree)
    stored = list((tmp_path / "xdg" / "reviewkit").glob("registry-v*/*.pickle"))
    assert len(stored) == 1
    monkeypatch.setattr(registry, "build_registry", lambda *a, **k: pytest.fail("rebuilt despite the cache"))
    again = registry.cached_registry(tree)
    assert again == built and len(again.dispatch_sites) > 10
    monkeypatch.setenv("REVIEWKIT_NO_CACHE", "1")
    with pytest.raises(pytest.fail.Exception):
        registry.cached_registry(tree)  # --no-cache: built, not read


def test_one_checkpatch_process_reports_as_one_per_patch(corpus, linux_6_1):
    """checkpatch over the whole series in one process, reports attributed by file, says per patch
    exactly what a run on that patch alone says."""
    if not (linux_6_1 / cp.SCRIPT).is_file() or shutil.which("perl") is None:
        pytest.skip("no scripts/checkpatch.pl in the 6.1 tree, or no perl")
    from reviewkit.pipeline import parse_inputs
    from reviewkit.source.trees import open_tree
    parsed = parse_inputs([str(corpus / "mm-patches-6.1" / "series-a")])
    patches = [parsed.patches[m] for s in parsed.series for m in s.patches if m in parsed.patches]
    assert len(patches) == 19
    running = cp.start(parsed, open_tree(str(linux_6_1))[0])
    ((root, together, _, run),) = running.runs
    reports, problem = run.wait()
    assert not problem and together == patches
    alone = [cp.run_checkpatch(str(linux_6_1), cp.mail_text(p.message)[0])[0] for p in patches]
    shutil.rmtree(running.folder)
    assert reports == alone and sum(map(len, alone)) > 0
