"""The thread-summary issue's acceptance items, measured on the real corpus (../shared/corpus).

Skips when the corpus is absent. The expectations come from the raw mails,
their `.index.json` files and SEED_CROSSWALK.json, not from our own output.
"""
from __future__ import annotations

import json
from email.utils import parseaddr
from functools import lru_cache

import pytest

from reviewkit.pipeline import parse_inputs
from reviewkit.review import summarize

from tests.conftest import CORPUS

LORE = CORPUS / "lore-threads"
DEVICE_EXCLUSIVE = [LORE / "device-exclusive-series" / f"device-exclusive-v{n}.mbox" for n in range(1, 12)]
FOLL_FORCE_RFC = LORE / "foll-force-removal" / "foll-force-rfc-v1-of19.mbox"
FOLL_FORCE_V1 = LORE / "foll-force-removal" / "foll-force-v1-of20.mbox"
INACCESSIBLE_V4 = LORE / "inaccessible-pages-series" / "inaccessible-v4-of2.mbox"
TRAILER_FIELDS = {"reviewed_by": "Reviewed-by", "acked_by": "Acked-by", "tested_by": "Tested-by"}


@lru_cache(maxsize=None)
def _summary(*paths):
    return summarize(parse_inputs([str(p) for p in paths]))


def _crosswalk() -> dict:
    return json.loads((LORE / "SEED_CROSSWALK.json").read_text())


def _by_version(summary):
    return {(s.version, s.rfc): s for s in summary.series}


# -- device-exclusive v1..v11 ---------------------------------------------------------------------

def test_device_exclusive_versions_linked_in_order(corpus):
    s = _summary(*reversed(DEVICE_EXCLUSIVE))  # input order must not matter
    (h,) = s.histories
    versions = [s.series[i].version for i in h.series]
    assert versions == list(range(1, 12))
    for older, newer in zip(h.series, h.series[1:]):
        assert s.series[newer].previous.previous == older and s.series[older].next == newer


def test_device_exclusive_trailers_per_version_match_the_raw_mails(corpus):
    """Every mail's Reviewed-by/Acked-by/Tested-by, as the corpus index lists them: in a patch they are
    the version's trailers as posted; in a reply they are trailers given on that version."""
    s = _summary(*reversed(DEVICE_EXCLUSIVE))
    posted, given = {}, {}
    for series in s.series:
        for p in series.patches:
            for t in p.trailers:
                if t.key not in TRAILER_FIELDS.values():
                    continue
                assert t.version == series.version
                if t.source == "log" and t.status != "dropped":
                    posted.setdefault(p.msgid, set()).add((t.key, t.person.email))
                elif t.status == "given" and not t.bot:
                    given.setdefault(t.msgid, set()).add((t.key, t.person.email))
    checked = with_trailers = 0
    for path in DEVICE_EXCLUSIVE:
        for e in json.loads(path.with_name(path.name + ".index.json").read_text())["messages"]:
            expected = {(key, parseaddr(v)[1].lower()) for field, key in TRAILER_FIELDS.items() for v in e[field]}
            got = (given if e["is_reply"] else posted).get(e["msgid"], set())
            assert got == expected, e["msgid"]
            checked += 1
            with_trailers += bool(expected)
    assert checked == 269 and with_trailers > 60


def test_device_exclusive_trailer_history(corpus):
    s = _by_version(_summary(*reversed(DEVICE_EXCLUSIVE)))
    # v3 2/8: Jason and Christoph reviewed it in replies; v4 carries both, picked up from those replies
    v4 = {(t.key, t.person.name): t.status for t in s[(4, False)].patches[1].trailers}
    assert v4[("Reviewed-by", "Jason Gunthorpe")] == "picked-up"
    assert v4[("Reviewed-by", "Christoph Hellwig")] == "picked-up"
    v5 = {(t.key, t.person.name): t.status for t in s[(5, False)].patches[1].trailers}
    assert v5[("Reviewed-by", "Jason Gunthorpe")] == "carried"
    # the kernel test robot's "Reported-by" on v2 is a suggestion, not a review
    robot = [t for t in s[(2, False)].patches[0].trailers if t.person.email == "lkp@intel.com"]
    assert robot and all(t.bot for t in robot)


def test_device_exclusive_v7_comments_anchored_to_copy_nonpresent_pte(corpus):
    s = _by_version(_summary(*reversed(DEVICE_EXCLUSIVE)))
    v7 = s[(7, False)]
    patch = next(p for p in v7.patches if p.counter == 5)
    assert patch.msgid == "<20210326000805.2518-6-apopple@nvidia.com>"
    by_mail = {c.where.msgid: c for c in patch.comments}
    jason = by_mail["<20210330193234.GA2356281@nvidia.com>"]
    assert (jason.anchor.path, jason.anchor.function) == ("mm/memory.c", "copy_nonpresent_pte")
    assert jason.anchor.inherited_from is None and jason.why.rule == "comment/text-under-quoted-diff"
    assert jason.text.startswith("This needs to have the same logic as we now have in copy_present_page().")
    assert jason.author.name == "Jason Gunthorpe"
    # the seed 000 thread: every reply in it is discussion of that code
    seed = _crosswalk()["000_bc677a85f16b70fb.txt"]
    replies = [m for m in seed["expected_msgids"] if m != patch.msgid]
    assert len(replies) == 9
    for msgid in replies:
        c = by_mail[msgid]
        assert (c.anchor.path, c.anchor.function) == ("mm/memory.c", "copy_nonpresent_pte"), msgid
    # the request in it is an action item at that place
    request = next(a for a in v7.actions if a.text.startswith("This needs to have the same logic"))
    assert request.kind == "request" and request.anchor.function == "copy_nonpresent_pte"


def test_device_exclusive_v8_changes_that_code(corpus):
    s = _by_version(_summary(*reversed(DEVICE_EXCLUSIVE)))
    patch = next(p for p in s[(7, False)].patches if p.counter == 5)
    v8_patch = next(p for p in s[(8, False)].patches if p.counter == 5)
    assert v8_patch.link.previous == patch.msgid
    memory = next(f for f in v8_patch.link.files if f.path == "mm/memory.c")
    assert memory.status == "changed" and "copy_nonpresent_pte" in memory.functions
    for c in patch.comments:
        if c.anchor.function == "copy_nonpresent_pte":
            assert c.outcome.status == "addressed" and c.outcome.version == 8, c.where.msgid
            assert c.outcome.patch == v8_patch.msgid and "copy_nonpresent_pte()" in c.outcome.why
    assert any("Remove device exclusive entries on fork" in item for e in s[(8, False)].changelog
               if e.to_version == 8 for item in e.items)


# -- FOLL_FORCE RFC and v1 ------------------------------------------------------------------------

def test_foll_force_rfc_and_v1_linked(corpus):
    s = _summary(FOLL_FORCE_V1, FOLL_FORCE_RFC)
    (h,) = s.histories
    rfc, v1 = (s.series[i] for i in h.series)
    assert (rfc.rfc, rfc.version, v1.rfc, v1.version) == (True, 1, False, 1)
    assert v1.previous.previous == rfc.index and "patch-id" in v1.previous.how
    new = [p for p in v1.patches if p.link.previous is None]
    assert [p.title for p in new] == ["mm: rename FOLL_FORCE to FOLL_PTRACE"]


def test_foll_force_acks(corpus):
    s = _by_version(_summary(FOLL_FORCE_V1, FOLL_FORCE_RFC))
    rfc = {(v.kind, v.person.name, v.formal, v.scope, v.where.counter) for v in s[(1, True)].verdicts}
    assert ("ack", "Linus Torvalds", False, "series", None) in rfc      # "So an enthusiastic Ack from me."
    assert ("ack", "Oded Gabbay", True, "patch", 19) in rfc
    assert ("test", "Leon Romanovsky", True, "patch", 10) in rfc
    linus = next(v for v in s[(1, True)].verdicts if v.person.name == "Linus Torvalds")
    assert linus.why.text == "So an enthusiastic Ack from me." and linus.why.rule == "verdict/ack-in-prose"
    v1 = {(v.kind, v.person.name, v.where.counter) for v in s[(1, False)].verdicts if v.formal}
    expected = set()
    for e in json.loads(FOLL_FORCE_V1.with_name(FOLL_FORCE_V1.name + ".index.json").read_text())["messages"]:
        if not e["is_reply"] or e["msgid"] == "<81fb0fa3-2e06-b765-56ac-a7d981194e59@redhat.com>":
            continue  # the author re-posting a patch with its trailers gives no verdict
        sender = parseaddr(e["from_"])[0]
        counter = int(e["subject"].split("/")[0].rsplit(" ", 1)[1])
        for field, kind in (("reviewed_by", "review"), ("acked_by", "ack"), ("tested_by", "test")):
            expected |= {(kind, sender, counter) for _ in e[field]}
    assert v1 == expected and len(v1) == 19


def test_foll_ptrace_suggestion_and_commitment_linked_to_v1(corpus):
    s = _by_version(_summary(FOLL_FORCE_V1, FOLL_FORCE_RFC))
    rfc, v1 = s[(1, True)], s[(1, False)]
    rename = next(p for p in v1.patches if p.title == "mm: rename FOLL_FORCE to FOLL_PTRACE")
    request = next(a for a in rfc.actions if a.kind == "request" and "FOLL_PTRACE" in a.text)
    assert request.who.name == "Christoph Hellwig" and request.why.rule == "request/should"
    assert request.where.msgid == "<Y3HaGbPcGfTxlLPZ@infradead.org>"
    commit = next(a for a in rfc.actions if a.kind == "commitment" and "include a patch in v1" in a.text)
    assert commit.who.name == "David Hildenbrand" and commit.where.msgid == "<f233f77b-a065-37aa-e2fb-5b92899dd13b@redhat.com>"
    assert commit.target_version == 1 and commit.responds_to.person.name == "Christoph Hellwig"
    assert "FOLL_PTRACE" in commit.identifiers
    for item in (request, commit):
        assert item.outcome.status == "addressed" and item.outcome.series == v1.index
        assert item.outcome.patch == rename.msgid and "FOLL_PTRACE" in item.outcome.why


# -- inaccessible pages v4 ------------------------------------------------------------------------

def test_inaccessible_v4_open_questions(corpus):
    (v4,) = _summary(INACCESSIBLE_V4).series
    open_q = {q.text: q for q in v4.open_questions}
    sendfile = open_q["How does sendfile work?"]
    zswap = open_q["Would zswap need this hook?"]
    assert sendfile.asker.name == zswap.asker.name == "Dave Hansen"
    assert sendfile.where.msgid == "<396a4ece-ec66-d023-2c7e-f09f84b358bc@intel.com>"
    assert zswap.where.msgid == "<93dc9885-adb4-8b9d-a62a-e40301053551@intel.com>"
    # Dave asked again twice; nobody answered under the quoted question
    assert len(sendfile.pings) == 2
    assert all(p.person.name == "Dave Hansen" for p in sendfile.pings)
    assert any(m.person.name == "Christian Borntraeger" for m in sendfile.mentions)
    assert any("closing remark" in n for n in zswap.notes)
    # precision: what was answered on the list is not open
    answered = {q.text for q in v4.questions if q.status == "answered"}
    assert "Could you explain a bit why the function can't fail?" in answered
    assert "Where is the arch_make_page_accessible() in this case on the ramfs page?" in answered
    assert all(not q.answers for q in v4.open_questions)
    assert all(q.role == "reviewer" for q in v4.questions)


# -- seeds 002 and 004, via their raw threads -----------------------------------------------------

def test_seed_002_summary_from_its_raw_thread(corpus):
    seed = _crosswalk()["002_d62e86f8d00dc5e5.txt"]
    (rfc,) = _summary(LORE / seed["raw"]).series
    assert rfc.cover == seed["cover_msgid"]
    people = {p.person.name for p in rfc.participants}
    assert {c[1] for c in seed["expected_comments_in_order"]} <= people
    assert "Linus Torvalds" in people  # in the raw thread though not on the patchwork page
    assert any(v.person.name == "Linus Torvalds" and v.kind == "ack" and not v.formal for v in rfc.verdicts)
    commit = next(a for a in rfc.actions if "include a patch in v1" in a.text)
    assert commit.where.msgid == seed["expected_comments_in_order"][-1][2]
    assert commit.target_version == 1 and commit.outcome is None  # v1 is not in this input
    assert any(a.kind == "request" and "FOLL_PTRACE" in a.text for a in rfc.actions)


def test_seed_004_summary_from_its_raw_thread(corpus):
    seed = _crosswalk()["004_31c49bdea173ffed.txt"]
    (v4,) = _summary(LORE / seed["raw"]).series
    assert v4.cover == seed["cover_msgid"] and v4.messages == seed["expected_message_count"]
    opened = {q.text for q in v4.open_questions}
    assert {"How does sendfile work?", "Would zswap need this hook?"} <= opened


@pytest.mark.parametrize("name", ["foll-force-removal", "inaccessible-pages-series", "p2pdma-pci-mmap-p2pmem"])
def test_every_corpus_thread_summarizes(corpus, name):
    paths = sorted((LORE / name).glob("*.mbox"))
    s = _summary(*paths)
    assert s.series and all(x.history < len(s.histories) for x in s.series)
    for series in s.series:
        for q in series.open_questions:
            assert q.text.rstrip(" )\"'*_").endswith("?") or "(about:" in q.text


# -- the seed pages themselves (web captures), when ingest can read them ---------------------------

SEEDS = CORPUS.parent / "seeds"


def _seed_summary(name: str):
    path = SEEDS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    parsed = parse_inputs([str(path)])
    if not parsed.messages:
        pytest.skip(f"{name}: this build cannot read web captures yet ({len(parsed.errors)} errors)")
    return summarize(parsed)


def test_seed_000_capture_anchors_to_copy_nonpresent_pte(corpus):
    (v7,) = _seed_summary("000_bc677a85f16b70fb.txt").series
    (patch,) = v7.patches
    assert patch.counter == 5 and len(patch.comments) == 10
    for c in patch.comments:
        assert (c.anchor.path, c.anchor.function) == ("mm/memory.c", "copy_nonpresent_pte")
    # the capture's copy of the patch lacks mm/memory.c: placed from the quoted @@ header, and said so
    first = next(c for c in patch.comments if c.text.startswith("This needs to have the same logic"))
    assert not first.anchor.verified and first.why.rule == "comment/text-under-quoted-hunk-header"
    assert first.anchor.line == 804  # the line the raw thread's verified anchor has


def test_seed_002_capture(corpus):
    (rfc,) = _seed_summary("002_d62e86f8d00dc5e5.txt").series
    assert any(v.person.name == "Linus Torvalds" and v.kind == "ack" and not v.formal for v in rfc.verdicts)
    assert any(a.kind == "request" and a.who.name == "Christoph Hellwig" and "FOLL_PTRACE" in a.text
               for a in rfc.actions)
    commit = next(a for a in rfc.actions if "include a patch in v1" in a.text)
    assert commit.who.name == "David Hildenbrand" and commit.target_version == 1


def test_seed_004_capture(corpus):
    (v4,) = _seed_summary("004_31c49bdea173ffed.txt").series
    opened = {q.text: q.asker.name for q in v4.open_questions}
    assert opened["How does sendfile work?"] == "Dave Hansen"
    assert opened["Would zswap need this hook?"] == "Dave Hansen"
