"""No loss from the speed work, on every real input we have: what lint (and backtest) find with every
fast path on equals what they find with every fast path off (the reference: each file version parsed
afresh, no persistent cache, every rule on every function with nothing shared between rules, no
rule-file memo, MAINTAINERS searched section by section, normalize's line-anchored regexes).

The fast paths each have a test of their own that pins them to their reference; this one checks the
whole pipeline end to end on the corpus, where an interaction would show."""
from __future__ import annotations

import contextlib
import json

import pytest

from reviewkit import cli
from reviewkit.code import cparse
from reviewkit.code import normalize as norm
from reviewkit.maintainers import Maintainers
from reviewkit.rules import loader


@contextlib.contextmanager
def reference(monkeypatch):
    with monkeypatch.context() as m:
        m.setenv("REVIEWKIT_NO_CACHE", "1")
        m.setenv("REVIEWKIT_NO_PREFILTER", "1")  # every rule on every function, no shared per-node work
        m.setattr(cparse, "PARSED_KEPT", 0)
        cparse._PARSED.clear()
        m.setattr(loader, "_LOADED", {})
        m.setattr(loader, "load_file", loader._load_file)
        m.setattr(Maintainers, "_candidates", lambda self, path: self.sections)
        m.setattr(norm, "_labels_before_preproc",
                  lambda source: (x.start(1) for x in norm._LABEL_BEFORE_PREPROC.finditer(source)))
        m.setattr(norm, "_toplevel_calls", lambda source: ((x.start(), x.end(), x.group(1))
                                                           for x in norm._TOPLEVEL_CALL.finditer(source)))
        yield
    cparse._PARSED.clear()


def _json(tmp_path, name, *argv) -> dict:
    out = tmp_path / f"{name}.json"
    assert cli.main([*argv, "--format", "json", "-o", str(out)]) in (0, 1, 4)
    return _untimed(json.loads(out.read_text()))


TIMINGS = {"seconds", "seconds_by_rule", "rule_seconds"}  # the only things allowed to differ


def _untimed(data):
    if isinstance(data, dict):
        return {k: _untimed(v) for k, v in data.items() if k not in TIMINGS}
    if isinstance(data, list):
        return [_untimed(v) for v in data]
    return data


def _both(tmp_path, monkeypatch, *argv) -> tuple[dict, dict]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("REVIEWKIT_NO_CACHE", raising=False)
    _json(tmp_path, "warm-up", *argv)  # fill the persistent caches, so the fast run reads them
    fast = _json(tmp_path, "fast", *argv)
    with reference(monkeypatch):
        slow = _json(tmp_path, "reference", *argv)
    return fast, slow


LINT = ("lint", "--filter", "all", "--no-checkpatch", "--fail-on", "never")


@pytest.mark.parametrize("series", ["series-a", "series-b"])
def test_mm_series_on_the_6_1_tree(series, corpus, linux_6_1, tmp_path, monkeypatch):
    fast, slow = _both(tmp_path, monkeypatch, *LINT, str(corpus / "mm-patches-6.1" / series),
                       "--tree", str(linux_6_1))
    assert fast == slow and fast["patches"]


def test_stable_fixes_forward_on_the_6_12_tree(corpus, linux_6_12, tmp_path, monkeypatch):
    fast, slow = _both(tmp_path, monkeypatch, *LINT, str(corpus / "stable-mm-6.12" / "patches"),
                       "--tree", str(linux_6_12))
    assert fast == slow and len(fast["patches"]) >= 60  # merged fixes: findings would be noise


def test_stable_fixes_reversed_backtest(corpus, linux_6_12, tmp_path, monkeypatch):
    """The bugs brought back: where the rules do find things."""
    fast, slow = _both(tmp_path, monkeypatch, "backtest", "-j", "1", "-q", "--tree", str(linux_6_12),
                       str(corpus / "stable-mm-6.12" / "patches"))
    assert fast == slow
    assert "noticed" in json.dumps(fast)


def test_lore_threads_without_a_tree(corpus, tmp_path, monkeypatch):
    threads = sorted(str(p) for p in (corpus / "lore-threads").rglob("*.mbox"))
    assert len(threads) >= 15
    fast, slow = _both(tmp_path, monkeypatch, *LINT, *threads)
    assert fast == slow and len(fast["patches"]) > 100
