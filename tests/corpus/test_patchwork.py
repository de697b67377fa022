"""patchwork's own test mails (../shared/corpus/patchwork) against its expectations."""
from __future__ import annotations

import json

import pytest

from reviewkit.ingest import read_inputs
from reviewkit.model import Errors
from reviewkit.patches import parse_patch
from reviewkit.pipeline import parse_inputs
from reviewkit.subject import clean_subject, is_reply_subject, parse_series_marker, parse_version, split_prefixes
from tests.conftest import CORPUS

EXPECT = json.loads((CORPUS / "patchwork" / "EXPECTATIONS.json").read_text()) if CORPUS.is_dir() else {}


def _cases(section):
    return sorted(k for k in EXPECT.get(section, {}) if not k.startswith("_"))


@pytest.mark.parametrize("name", _cases("series"))
def test_series_grouping(corpus, name):
    exp = EXPECT["series"][name]
    p = parse_inputs([str(corpus / "patchwork" / "series" / name)])
    k = p.stats["kinds"]
    assert [k["cover"], k["patch"], k["reply"] + k["other"]] == exp["counts_cover_patch_other"]
    if exp["patches_per_series"] is not None:  # null: patchwork's test does not look
        assert [len(s.patches) for s in p.series] == exp["patches_per_series"]
        covers = [1 if s.cover else 0 for s in p.series]
        assert (covers if any(covers) else None) == exp["covers_per_series"]
    if "received_all" in exp:
        assert p.series[0].complete is exp["received_all"]
    if exp.get("series_name", "").startswith("=="):
        assert p.series[0].title == p.subjects[p.series[0].patches[0]].title
    elif "series_name" in exp:
        assert p.series[0].title == exp["series_name"]


def _one(corpus, name):
    errors = Errors()
    (msg,) = list(read_inputs([str(corpus / "patchwork" / "mail" / name)], errors))
    return msg, parse_patch(msg, errors), errors


@pytest.mark.parametrize("name", _cases("mail"))
def test_mail_content(corpus, name):
    exp = EXPECT["mail"][name]
    msg, patch, _ = _one(corpus, name)
    diff = patch.diff if patch else ""
    if exp.get("diff") is None and "diff" in exp:
        assert not diff
    if exp.get("diff") == "non-empty" or "diff_startswith" in exp:
        assert diff
    if "diff_startswith" in exp:
        assert diff.startswith(exp["diff_startswith"])
    for needle, count in exp.get("diff_count", {}).items():
        assert diff.count(needle) == count, needle
    for needle in exp.get("diff_contains", []):
        assert needle in diff
    if "diff_rstrip_endswith" in exp:
        assert diff.rstrip().endswith(exp["diff_rstrip_endswith"])
    if "message_must_not_end_with" in exp:
        assert not patch.log.rstrip().endswith(exp["message_must_not_end_with"])
    if exp.get("message") == "non-empty":
        assert (patch.log if patch else msg.body).strip()
    if exp.get("pull_url") == "non-empty":
        assert patch.pull_url
    elif "pull_url" in exp:
        assert patch.pull_url == exp["pull_url"]
    if "no_html" in exp:
        assert "<div" not in patch.log and "<div" not in diff
    if "comment_content" in exp:
        assert patch is None and msg.body.strip() and "<div" not in msg.body
    if exp.get("parse_creates_patches") == 1:
        assert patch is not None and patch.files


def test_binary_files_are_marked(corpus):
    _, patch, _ = _one(corpus, "0026-git-add-mixed-binary-text-files.mbox")
    assert [(f.path, f.status, f.binary) for f in patch.files] == [
        ("pixel.bmp", "added", True), ("quit.sh", "added", False)]


def test_rename_and_mode_change(corpus):
    _, patch, _ = _one(corpus, "0008-git-rename.mbox")
    assert {f.status for f in patch.files} == {"renamed"}
    assert all(f.old_path != f.new_path for f in patch.files)
    _, patch, _ = _one(corpus, "0022-git-mode-change.mbox")
    assert [(f.status, f.old_mode, f.new_mode) for f in patch.files] == [("mode", "100644", "100755")]


def test_no_newline_marker(corpus):
    _, patch, _ = _one(corpus, "0011-no-newline-at-end-of-file.mbox")
    assert [h.no_newline_new for f in patch.files for h in f.hunks] == [False, True, True]


@pytest.mark.parametrize("name", sorted(p.name for p in (CORPUS / "patchwork" / "fuzz").glob("*.mbox"))
                         if CORPUS.is_dir() else [])
def test_fuzz_does_not_crash(corpus, name):
    p = parse_inputs([str(corpus / "patchwork" / "fuzz" / name)])
    for m in p.messages:  # every field is usable
        assert isinstance(m.subject, str) and isinstance(m.body, str)
    assert p.messages or p.errors


def test_subject_functions(corpus):
    sp = EXPECT["subject_parsing"]
    for subject, name, prefixes in sp["clean_subject"]:
        assert clean_subject(subject) == (name, prefixes)
    for subject, name, prefixes in sp["clean_subject_with_drop_prefixes_foo"]:
        assert clean_subject(subject, ["foo"]) == (name, prefixes)
    for subject in sp["reply_prefixes_detected"]:
        assert is_reply_subject(subject)
    for prefix, parts in sp["split_prefixes"]:
        assert split_prefixes(prefix) == parts
    for prefixes, marker in sp["series_marker"]:
        got = parse_series_marker(prefixes)
        assert (list(got) if got else None) == marker
    for name, prefixes, version in sp["version"]:
        assert parse_version(name, prefixes) == version
