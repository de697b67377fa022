"""Real list archives (lore mboxrd exports) against their `.index.json`.

Each `<name>.mbox` under ../shared/corpus/lore-threads has an index beside it
listing every mail: msgid, In-Reply-To, raw subject (list tags such as
`[Nouveau] ` kept), sender, files touched by an unquoted diff, and the
trailers in it ("Name <email>").
"""
from __future__ import annotations

import json
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path

import pytest

from reviewkit.ingest.mail import decode_words
from reviewkit.model import Errors
from reviewkit.patches import parse_patch
from reviewkit.pipeline import Parsed, parse_inputs
from reviewkit.trailers import parse_followup_trailers

from tests.conftest import CORPUS  # noqa: E402
LORE = CORPUS / "lore-threads"
MBOXES = sorted(p.relative_to(LORE).as_posix() for p in LORE.glob("*/*.mbox")) if LORE.is_dir() else []
PARAMS = MBOXES or [pytest.param(None, id="corpus-absent")]

TRAILER_FIELDS = {"reviewed_by": "Reviewed-by", "acked_by": "Acked-by", "tested_by": "Tested-by",
                  "signed_off_by": "Signed-off-by"}

# A merge-conflict resolution posted as a `diff --cc` (combined diff). The
# index has has_unquoted_diff false (it counts `diff --git` only) yet lists
# the file. Our model deliberately takes any unquoted diff as a diff, so the
# mail is a patch, and does not parse combined diffs: the file is skipped with
# an error entry saying so, leaving no FileDiff.
COMBINED_DIFF = {"<1da2ebcf-59bd-65a1-222a-26af953ac7c5@de.ibm.com>"}


@lru_cache(maxsize=None)
def _parse(rel: str) -> Parsed:
    return parse_inputs([str(LORE / rel)])


def _index(rel: str) -> list[dict]:
    return json.loads((LORE / f"{rel}.index.json").read_text())["messages"]


def _emails(entries: list[str]) -> list[str]:
    return [parseaddr(entry)[1].lower() for entry in entries]


@pytest.mark.parametrize("rel", PARAMS)
def test_every_message_found(corpus, rel):
    parsed = _parse(rel)
    index = _index(rel)
    assert len(parsed.messages) == len(index)
    assert sorted(m.msgid for m in parsed.messages) == sorted(e["msgid"] for e in index)


@pytest.mark.parametrize("rel", PARAMS)
def test_headers(corpus, rel):
    parsed = _parse(rel)
    for entry in _index(rel):
        msg = parsed.message(entry["msgid"])
        assert (msg.in_reply_to or "") == entry["in_reply_to"], entry["msgid"]
        assert msg.subject == entry["subject"], entry["msgid"]


@pytest.mark.parametrize("rel", PARAMS)
def test_sender(corpus, rel):
    """Senders as in the index, except DMARC rewrites ("John Hubbard via iommu
    <iommu@lists...>"): we deliberately resolve those to the Reply-To person."""
    parsed = _parse(rel)
    for entry in _index(rel):
        msg = parsed.message(entry["msgid"])
        name, email = parseaddr(decode_words(entry["from_"]))
        if name.endswith(" via iommu"):
            reply_to_name, reply_to = parseaddr(decode_words(msg.header("Reply-To", "")))
            assert (msg.sender.name, msg.sender.email) == (name[: -len(" via iommu")], reply_to.lower()), entry["msgid"]
            assert msg.sender.email != email.lower()
        else:
            assert msg.sender.email == email.lower(), entry["msgid"]


@pytest.mark.parametrize("rel", PARAMS)
def test_kinds(corpus, rel):
    """`is_reply` is a `Re:` subject; a reply stays a reply even when it carries
    a diff (a reviewer's fixup). A mail with an unquoted diff that is not a
    reply is a patch; a mail without one is not."""
    parsed = _parse(rel)
    for entry in _index(rel):
        mid = entry["msgid"]
        kind = parsed.kinds[mid]
        assert parsed.subjects[mid].is_reply == entry["is_reply"], mid
        if entry["is_reply"]:
            assert kind == "reply", mid
        elif entry["has_unquoted_diff"] or mid in COMBINED_DIFF:
            assert kind == "patch", mid
        else:
            assert kind != "patch", mid


@pytest.mark.parametrize("rel", PARAMS)
def test_files(corpus, rel):
    """Paths from the `diff --git a/X b/Y` lines: Y, i.e. FileDiff.path (the new
    path, the old one for a deletion). Replies with a diff are parsed too."""
    parsed = _parse(rel)
    for entry in _index(rel):
        mid = entry["msgid"]
        if mid in COMBINED_DIFF:
            assert parsed.patches[mid].files == ()
            assert any(mid in err.where and "combined diff" in err.message for err in parsed.errors)
        elif entry["has_unquoted_diff"]:
            patch = parse_patch(parsed.message(mid), Errors())
            assert patch is not None, mid
            assert sorted({fd.path for fd in patch.files}) == sorted(entry["files"]), mid


@pytest.mark.parametrize("rel", PARAMS)
def test_trailers(corpus, rel):
    """Trailers of a patch are those of its commit log; those of any other
    mail are the ones its sender gave (parse_followup_trailers)."""
    parsed = _parse(rel)
    for entry in _index(rel):
        mid = entry["msgid"]
        msg = parsed.message(mid)
        patch = parsed.patches.get(mid)
        if patch is not None:
            trailers = patch.trailers
        else:
            trailers = parse_followup_trailers(msg.body, mid, msg.sender)
        for field, key in TRAILER_FIELDS.items():
            got = [t.person.email for t in trailers if t.key == key and t.person]
            assert got == _emails(entry[field]), (mid, key)
        assert [t.value for t in trailers if t.key == "Fixes"] == entry["fixes"], mid


# --- all eleven versions of "Device exclusive memory access" together ------------------

def test_device_exclusive_versions(corpus):
    folder = LORE / "device-exclusive-series"
    files = sorted(folder.glob("device-exclusive-v*.mbox"), key=lambda p: int(p.stem.split("-v")[-1]))
    assert len(files) == 11
    parsed = parse_inputs([str(p) for p in files])
    assert len(parsed.messages) == sum(len(_index(p.relative_to(LORE).as_posix())) for p in files)
    assert sorted(s.version for s in parsed.series) == list(range(1, 12))
    by_version = {s.version: (i, s) for i, s in enumerate(parsed.series)}
    for version, path in enumerate(files, 1):
        index = _index(path.relative_to(LORE).as_posix())
        posted = {e["msgid"] for e in index if e["has_unquoted_diff"] and not e["is_reply"]}
        _, series = by_version[version]
        assert set(series.patches) == posted, version
        assert series.complete, version
        assert series.cover is not None and parsed.subjects[series.cover].counter == 0, version
        if version > 1:
            prev_index, prev = by_version[version - 1]
            assert prev.title == series.title
            assert series.previous == prev_index, version
        else:
            assert series.previous is None
