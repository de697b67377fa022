"""No loss on the fast paths of a summary-only parse (`parse` without --tree, whole archives):

- a patch read for its summary (one pass over plain git diffs, unidiff's metadata-only pass
  for the rest) has the same files, paths, modes, hunks and line counts, and the same errors,
  as the full parse summarised, on every mail of the corpus;
- headers read in one pass equal headers read value by value;
- an archive read by worker processes parses exactly as one read in this process, and as
  the full parse of the same archive.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from reviewkit import archive, patches
from reviewkit.ingest import read_inputs
from reviewkit.ingest.mail import _raw_headers_each, raw_headers, split_head_body
from reviewkit.model import Errors, Hunk, Patch
from reviewkit.patches import SummaryLines, parse_patch
from reviewkit.pipeline import parse_inputs
from reviewkit.render.data import parse_data
from tests.test_stream import build_public_inbox, cli, from_jsonl, full_json


def corpus_files(corpus: Path) -> list[Path]:
    """Every mail-holding file of the corpus (expected-output files are not mail)."""
    skip = re.compile(r"(\.json|\.verify|-ref-[\w-]+\.txt|README.*|/(info|msg|patch)\d+[\w.-]*)$")
    return sorted(p for p in corpus.rglob("*") if p.is_file() and not skip.search(str(p)))


def summarised(p: Patch) -> Patch:
    """The full parse reduced to what a summary keeps."""
    files = tuple(replace(f, hunks=tuple(
        Hunk(h.old_start, h.old_len, h.new_start, h.new_len, h.section,
             SummaryLines(sum(ln.kind == "+" for ln in h.lines), sum(ln.kind == "-" for ln in h.lines)))
        for h in f.hunks)) for f in p.files)
    return replace(p, files=files)


def test_summary_patches_equal_the_full_parse_on_every_corpus_mail(corpus, monkeypatch):
    mails = patched = 0
    fast_files = []
    real_summary_file = patches._summary_file

    def counting(chunk):
        fd = real_summary_file(chunk)
        fast_files.append(fd is not None)
        return fd

    monkeypatch.setattr(patches, "_summary_file", counting)
    for path in corpus_files(corpus):
        for m in read_inputs([str(path)], Errors()):
            mails += 1
            full_errors, fast_errors, unidiff_errors = Errors(), Errors(), Errors()
            full = parse_patch(m, full_errors)
            fast = parse_patch(m, fast_errors, summary=True)
            with monkeypatch.context() as only_unidiff:  # the other summary path: unidiff metadata-only
                only_unidiff.setattr(patches, "_summary_file", lambda chunk: None)
                slow = parse_patch(m, unidiff_errors, summary=True)
            assert (full is None) == (fast is None) == (slow is None), m.source
            assert full_errors == fast_errors == unidiff_errors, m.source
            if full is None:
                continue
            patched += 1
            assert fast == summarised(full), m.source
            assert slow == summarised(full), m.source
    assert mails > 800 and patched > 400
    # both paths were taken: plain git diffs in one pass, and the rest (binary, renames without
    # hunks are fine; non-git and quoted paths are not) through unidiff
    assert sum(fast_files) > 800 and fast_files.count(False) > 100


@pytest.mark.parametrize("head", [
    b"From: A <a@x>\nSubject: one\n two\n\tthree\nX-Y:  z  ",
    b"From: A <a@x>\r\nSubject: folded\r\n over\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r",
    b"not a header\n continued\nFrom: b@x\n \nTo: c@x",
    b" leading fold\nSubject: s\n",
    b"From: caf\xe9 <a@x>\nSubject: latin-1 in one value\n",
    b"From: \xc3\xa9 <a@x>\nSubject: utf-8\n folded \xc3\xa9",
])
def test_headers_read_in_one_pass_equal_value_by_value(head):
    assert raw_headers(head) == _raw_headers_each(head)


def test_corpus_headers_read_in_one_pass_equal_value_by_value(corpus):
    heads = 0
    for path in corpus_files(corpus):
        for chunk in re.split(rb"(?m)^From [^\n]*\n", path.read_bytes()):
            head, _ = split_head_body(chunk)
            heads += 1
            assert raw_headers(head) == _raw_headers_each(head), path
    assert heads > 1000


def _lore_mails(corpus) -> list[bytes]:
    mails = []
    for f in sorted((corpus / "lore-threads").rglob("*.mbox")):
        for chunk in re.split(rb"(?m)^From mboxrd@z [^\n]*\n", f.read_bytes()):
            if chunk.strip():
                mails.append(re.sub(rb"(?m)^>(>*From )", rb"\1", chunk).rstrip(b"\n") + b"\n")
    return mails


def test_archive_read_by_workers_parses_as_in_one_process(corpus, tmp_path, monkeypatch):
    build_public_inbox(tmp_path, _lore_mails(corpus))
    full = full_json([str(tmp_path)])  # every body kept, no workers
    monkeypatch.setattr(archive, "PARALLEL_FROM", 0)
    monkeypatch.setattr(archive, "CHUNK", 37)  # many chunks: their order must not matter
    monkeypatch.setenv("REVIEWKIT_JOBS", "2")
    by_workers = json.loads(cli("--format", "json", str(tmp_path)))
    assert by_workers == full
    assert from_jsonl(cli("--format", "jsonl", str(tmp_path))) == full
    monkeypatch.setenv("REVIEWKIT_JOBS", "1")
    assert json.loads(cli("--format", "json", str(tmp_path))) == full
    assert full["stats"]["messages_read"] > 400 and full["series"]


def test_archive_messages_read_their_bodies_back_from_git(corpus, tmp_path, monkeypatch):
    """A body asked for after a worker read the mail (replies' text, a duplicate's comparison)
    is read again from the archive, and equals the body the mail has when read whole."""
    mails = _lore_mails(corpus)[:60]
    build_public_inbox(tmp_path, mails)
    monkeypatch.setattr(archive, "PARALLEL_FROM", 0)
    monkeypatch.setenv("REVIEWKIT_JOBS", "2")
    parsed = parse_inputs([str(tmp_path)], summary_only=True)
    whole = {m.msgid: m.body for m in parse_inputs([str(tmp_path)]).messages}
    assert len(parsed.messages) == len(whole) > 50
    for m in parsed.messages:
        assert "_body" not in m.__dict__  # nothing decoded is held
        assert m.body == whole[m.msgid]
    assert parse_data(parsed)["stats"] == parse_data(parse_inputs([str(tmp_path)]))["stats"]
