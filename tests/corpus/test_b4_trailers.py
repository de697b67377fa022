"""b4's trailer samples against our trailer parsing and follow-up collection.

Expectations: ../shared/corpus/b4/EXPECTATIONS.json and b4's byte-exact
expected outputs beside the inputs (`-ref-<reference>.txt` git-am-ready
mboxes, `.verify` git-log dumps). b4 writes whole mboxes; our model gives
trailers, so the comparison is on trailers: what b4 added to a patch's
commit message must be what we collected from the replies.
"""
from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from reviewkit.model import Errors, Patch, Person
from reviewkit.patches import parse_patch
from reviewkit.pipeline import Parsed, parse_inputs
from reviewkit.trailers import parse_followup_trailers, parse_log_trailers

from tests.conftest import CORPUS  # noqa: E402
B4 = CORPUS / "b4"

# b4's test configuration signs as this user when a case asks for `addmysob`
# (and `b4 shazam` always does); that trailer comes from no reply.
MY_SOB = ("Signed-off-by", "Test Override <test-override@example.com>")


def _expectations() -> dict:
    path = B4 / "EXPECTATIONS.json"
    return json.loads(path.read_text()) if path.is_file() else {}


EXPECT = _expectations()


def _params(values: list) -> list:
    """Parameters read from the corpus at collection time; one placeholder
    when it is absent, so the `corpus` fixture skips with its reason."""
    return values or [pytest.param(None, id="corpus-absent")]


@lru_cache(maxsize=None)
def _parse(name: str) -> Parsed:
    return parse_inputs([str(B4 / name)])


def _pairs(trailers) -> Counter:
    return Counter((t.key, t.value) for t in trailers)


def _collected(patch: Patch) -> Counter:
    """Follow-up trailers b4 would add: not mismatched, not already in the patch."""
    own = _pairs(patch.trailers)
    return Counter((t.key, t.value) for t in patch.followup_trailers
                   if not t.mismatch and (t.key, t.value) not in own)


# --- parse_trailers --------------------------------------------------------------

PARSE_CASES = sorted((k, v) for k, v in EXPECT.get("parse_trailers", {}).items() if not k.startswith("_"))


@pytest.mark.parametrize("name_exp", _params(PARSE_CASES), ids=lambda ne: ne[0] if ne else "")
def test_parse_trailers(corpus, name_exp):
    name, expected = name_exp
    (msg,) = _parse(name).messages
    patch = parse_patch(msg, Errors())
    got = [("person" if t.person else "utility", t.key, t.value, t.comment)
           for t in parse_log_trailers(patch.log)]
    assert got == [(kind, key, value, (extinfo or "").strip()) for kind, key, value, extinfo in expected]


# --- fixes_trailer_validation ------------------------------------------------------

FIXES_CASES = EXPECT.get("fixes_trailer_validation", {}).get("cases", [])


@pytest.mark.parametrize("body_expected", _params(FIXES_CASES),
                         ids=lambda be: be[0].strip().split("\n")[-1][:40] if be else "")
def test_fixes_trailer_validation(corpus, body_expected):
    body, expected = body_expected
    trailers = parse_followup_trailers(body, "<reply@example.com>", Person("Foo Bar", "foo@example.com"))
    assert [t.value for t in trailers if t.key == "Fixes"] == expected


# --- followup_trailers, reference "defaults" -----------------------------------------

FOLLOWUP_CASES = [(source, amargs) for source, _serargs, amargs, reference, _config
                  in EXPECT.get("followup_trailers", {}).get("cases", []) if reference == "defaults"]

# Where our model deliberately differs from b4's default output:
# msgid -> trailers b4 added that we do not collect, and why.
NOT_COLLECTED = {
    # partial-reroll: v3 of patch 2/2 alone, in reply to v2 2/2. b4 builds the
    # v3 series from v2's 1/2 plus v3's 2/2 under v2's cover letter, so the
    # Reviewed-by given on that cover lands on v3 2/2 too. Our Series is one
    # version: v3 is its own series (missing 1/2, `previous` pointing at v2),
    # and cover trailers go only to the patches of the cover's own series.
    # test_partial_reroll_is_a_separate_series checks that structure.
    "<patch-v3-2-message@example.com>": Counter({
        ("Reviewed-by", "Coverletter Reviewer1 <followup-reviewer1@example.com>"): 1}),
}


@pytest.mark.parametrize("source_amargs", _params(FOLLOWUP_CASES), ids=lambda sa: sa[0] if sa else "")
def test_followup_trailers_defaults(corpus, source_amargs):
    source, amargs = source_amargs
    parsed = _parse(f"trailers-followup-{source}.mbox")
    reference = _parse(f"trailers-followup-{source}-ref-defaults.txt")
    assert reference.patches, "the reference holds the git-am-ready patches"
    for msgid, ref_patch in reference.patches.items():
        patch = parsed.patches[msgid]
        added = _pairs(ref_patch.trailers) - _pairs(patch.trailers)
        if amargs.get("addmysob"):
            added -= Counter([MY_SOB])
        added -= NOT_COLLECTED.get(msgid, Counter())
        assert sorted(_collected(patch).elements()) == sorted(added.elements()), msgid


def test_partial_reroll_is_a_separate_series(corpus):
    parsed = _parse("trailers-followup-partial-reroll.mbox")
    by_version = {s.version: (i, s) for i, s in enumerate(parsed.series)}
    v2_index, v2 = by_version[2]
    _, v3 = by_version[3]
    assert v2.cover == "<cover-message@example.com>"
    assert v3.patches == ("<patch-v3-2-message@example.com>",)
    assert v3.missing == (1,)
    assert v3.previous == v2_index


# --- naked cover letters -----------------------------------------------------------

NAKED = sorted(EXPECT.get("naked_cover", {}).items())


@pytest.mark.parametrize("name_exp", _params(NAKED), ids=lambda ne: ne[0] if ne else "")
def test_naked_cover(corpus, name_exp):
    """A cover letter without `[PATCH 0/N]`: b4 takes the mail a single patch
    replies to as its cover when the same person sent it."""
    name, expected = name_exp
    parsed = _parse(name)
    (series,) = parsed.series
    if expected["has_cover"]:
        assert series.cover is not None
        assert parsed.message(series.cover).subject == expected["cover_subject"]
    else:
        assert series.cover is None


# --- mismatched trailers -------------------------------------------------------------

MISMATCH = sorted(EXPECT.get("trailer_mismatch", {}).items())


@pytest.mark.parametrize("name_exp", _params(MISMATCH), ids=lambda ne: ne[0] if ne else "")
def test_trailer_mismatch(corpus, name_exp):
    """Only a trailer naming someone other than the reply's sender is a
    mismatch; trailers quoted or indented as a suggestion in a reply
    ("I would suggest this ordering:") are not given by anyone."""
    name, expected = name_exp
    (patch,) = _parse(name).patches.values()
    assert sorted(t.key for t in patch.followup_trailers if t.mismatch) == sorted(expected["trailer_mismatches_names"])
    assert _collected(patch) == Counter()


# --- code-review map ---------------------------------------------------------------

CODEREVIEW = sorted(EXPECT.get("codereview_map", {}).items())


@pytest.mark.parametrize("name_exp", _params(CODEREVIEW), ids=lambda ne: ne[0] if ne else "")
def test_codereview_map(corpus, name_exp):
    name, expected = name_exp
    parsed = _parse(name)
    (series,) = parsed.series
    with_followups = [mid for mid in series.patches if series.followups.get(mid)]
    assert len(with_followups) == expected["patches_with_followups"]
    (parent,) = with_followups
    assert parent == f"<{expected['parent_msgid']}>"
    assert parsed.patches[parent].subject.title == expected["parent_subject"]
    # the series has no cover reply: the parent's follow-up trailers come from its own replies
    assert {t.msgid for t in parsed.patches[parent].followup_trailers} == set(series.followups[parent])


# --- .verify: commit messages after `b4 shazam` / `b4 trailers -u` ------------------------

VERIFY = [
    ("shazam-git1-just-series.mbox", "shazam-git1-just-series-defaults.verify"),
    ("trailers-thread-with-followups.mbox", "trailers-thread-with-followups.verify"),
    ("trailers-thread-with-cover-followup.mbox", "trailers-thread-with-cover-followup.verify"),
]


def _verify_commits(text: str) -> list[tuple[str, str, list[str]]]:
    """(author email, subject, body lines) per commit of a `git log` dump in
    `%ae%n[%ce%n]%s%n%b---` format."""
    commits = []
    for block in text.split("\n---\n"):
        lines = block.strip("\n").split("\n")
        if not lines or not lines[0]:
            continue
        author, rest = lines[0], lines[1:]
        if rest and "@" in rest[0] and " " not in rest[0]:
            rest = rest[1:]  # committer email
        commits.append((author, rest[0], rest[1:]))
    return commits


@pytest.mark.parametrize("mbox_verify", VERIFY, ids=lambda mv: mv[1])
def test_verify_commit_messages(corpus, mbox_verify):
    """Each commit message is our log followed by the trailers b4 added; those
    (but b4's own Signed-off-by) must be the follow-up trailers we collected."""
    mbox, verify = mbox_verify
    parsed = _parse(mbox)
    by_title = {p.subject.title: p for p in parsed.patches.values()}
    commits = _verify_commits((B4 / verify).read_text())
    assert sorted(subject for _, subject, _ in commits) == sorted(by_title)
    for author, subject, body in commits:
        patch = by_title[subject]
        assert patch.author.email == author
        log = patch.log.split("\n")
        assert body[: len(log)] == log, subject
        added = Counter(tuple(line.split(": ", 1)) for line in body[len(log):] if line)
        added -= Counter([MY_SOB])
        assert sorted(_collected(patch).elements()) == sorted(added.elements()), subject
