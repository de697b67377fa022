"""Acceptance: the five seed pages (../shared/seeds) against SEED_CROSSWALK.json and the raw threads."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests import web_seeds as S

UTC = timezone.utc


@pytest.fixture
def seeds(corpus):
    if not S.SEEDS.is_dir():
        pytest.skip("../shared/seeds is absent (the seed pages are not in this repository)")
    return S.SEEDS


def real(p):
    return [m for m in p.messages if not m.quoted_only]


def test_000_mail_archive_thread(seeds):
    r = S.check("000")
    assert (r["messages"], r["matched"], r["authors"], r["dates"]) == (10, 10, 10, 10) == (r["expected"],) * 4
    assert r["edges"] == r["edges_ok"] == 9 and r["quoted_only"] == 0
    p = S.parsed_seed(S.seed_name("000"))
    (patch,) = p.patches.values()
    assert [f.path for f in patch.files] == ["Documentation/vm/hmm.rst", "drivers/gpu/drm/nouveau/nouveau_svm.c"]
    assert any(r.kind == "truncated" and r.confidence == "lost" for r in patch.repairs)
    assert any("diffstat lists 13 files, 2 present" in e.message for e in p.errors)
    # nine dates come back exact from the quotes; the newest message keeps the archive's day
    precise = [m for m in real(p) if dict(m.capture)["date_precision"] != "day"]
    assert len(precise) == 9
    # Jason's reply quotes the copy_nonpresent_pte() hunk: a diff of mm/memory.c
    quoting = [(m, q, files) for m in real(p) for q, files in p.quoted_diffs.get(m.msgid, [])
               if any(f.path == "mm/memory.c" for f in files)]
    first = min(quoting, key=lambda t: t[0].date)
    m, q, files = first
    assert m.date.astimezone(UTC) == datetime(2021, 3, 30, 19, 32, 34, tzinfo=UTC)
    (hunk,) = files[0].hunks
    assert hunk.old_start == 781 and hunk.section.startswith("copy_nonpresent_pte(struct mm_struct *dst_mm, "
                                                              "struct mm_struct *src_mm,")
    assert any("is_device_exclusive_entry(entry)" in ln.text for ln in hunk.lines if ln.kind == "+")
    assert q.quoted_from == patch.message.msgid


def test_001_single_reply_yields_its_quoted_history(seeds):
    cw = S.crosswalk()[S.seed_name("001")]["message"]
    p = S.parsed_seed(S.seed_name("001"))
    (top,) = real(p)
    assert top.sender.name == cw["from"]
    assert top.date is None and "2021-06-22T12:47:11+00:00" in dict(top.capture)["date_bound"]
    chain, m = [], top
    while (pid := p.parent.get(m.msgid)) is not None:
        m = p.message(pid)
        chain.append((m.sender.name, m.date.astimezone(UTC), m.quoted_only))
    assert chain == [("Alistair Popple", datetime(2021, 6, 22, 12, 47, 11, tzinfo=UTC), True),
                     ("Peter Xu", datetime(2021, 6, 22, 0, 40, 37, tzinfo=UTC), True),
                     ("Alistair Popple", datetime(2021, 6, 21, 8, 41, 17, tzinfo=UTC), True),
                     ("Peter Xu", datetime(2021, 5, 27, 20, 22, 14, tzinfo=UTC), True)]
    (thread,) = p.threads
    assert [p.message(x).sender.name for x in thread.messages][0] == "Peter Xu"   # oldest first: the patch
    # the patch, quoted four levels deep, comes back as diffs of its files
    paths = {f.path for lst in p.quoted_diffs.values() for _, files in lst for f in files}
    assert {"include/linux/mm.h", "include/linux/mm_inline.h", "mm/memory.c"} <= paths


def test_002_patchwork_cover_page(seeds):
    cw = S.crosswalk()[S.seed_name("002")]
    p = S.parsed_seed(S.seed_name("002"))
    cover, *comments = real(p)
    assert cover.msgid == cw["cover_msgid"] and p.kinds[cover.msgid] == "cover"
    mapping = S.match(p.messages, S.parsed_raw(cw["raw"]).messages)
    got = [(f"#{dict(c.capture)['patchwork_comment']}", c.sender.name, mapping[c.msgid].msgid,
            c.date.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")) for c in comments]
    assert got == [tuple(x[:4]) for x in cw["expected_comments_in_order"]]
    r = S.check("002")
    assert r["edges"] == r["edges_ok"] == 8
    # comment #1 answers 05/19, which the page only shows quoted: rebuilt, and it is the real 05/19
    nadav = comments[0]
    rebuilt = p.message(p.parent[nadav.msgid])
    assert rebuilt.quoted_only and mapping[rebuilt.msgid].msgid == "<20221107161740.144456-6-david@redhat.com>"
    # Linus's reply is not on the page either; #4 and #5 both answer it, and both quotes make one message
    linus = [m for m in p.messages if m.quoted_only and m.sender.name == "Linus Torvalds"]
    assert len(linus) == 1 and linus[0].date.astimezone(UTC) == datetime(2022, 11, 7, 17, 27, 23, tzinfo=UTC)
    assert [p.parent[c.msgid] for c in comments[3:5]] == [linus[0].msgid] * 2


def test_003_collapsed_raw_message(seeds):
    cw = S.crosswalk()[S.seed_name("003")]
    p = S.parsed_seed(S.seed_name("003"))
    (msg,) = real(p)
    assert (msg.msgid, msg.subject, msg.in_reply_to) == (cw["msgid"], cw["subject"], cw["in_reply_to"])
    assert msg.sender.name == "Logan Gunthorpe" and msg.references[0] == cw["series_cover"]
    assert msg.date == datetime(2021, 10, 1, 17, 1, 49, tzinfo=UTC)
    quoted = p.message(msg.in_reply_to)
    assert quoted.quoted_only and quoted.sender.name == "Jason Gunthorpe"
    assert quoted.date.astimezone(UTC) == datetime(2021, 10, 1, 13, 48, tzinfo=UTC)
    older = p.message(p.parent[quoted.msgid])
    assert older.msgid == "<20210930003652.GH3544071@ziepe.ca>"   # the References entry whose time it is
    assert S.check("003")["edges_ok"] == 2


def test_004_lore_thread_page(seeds):
    r = S.check("004")
    assert (r["messages"], r["matched"], r["authors"], r["dates"]) == (23, 23, 23, 23) == (r["expected"],) * 4
    assert r["edges"] == r["edges_ok"] == 22 and r["quoted_only"] == 0
    p = S.parsed_seed(S.seed_name("004"))
    cover = real(p)[0]
    assert "* changed WARN_ON into VM_BUG_ON_PAGE as per review," in cover.body
    assert len(p.patches) == 2 and all(not x.repairs for x in p.patches.values())
    files = [f for x in p.patches.values() for f in x.files]
    assert [f.path for f in files] == ["mm/gup.c", "include/linux/gfp.h", "mm/gup.c", "mm/page-writeback.c"]
    assert all(f.hunks for f in files)
    assert not [e for e in p.errors if "hunk" in e.message or "not understood" in e.message]
    (series,) = p.series
    assert series.complete and series.cover == cover.msgid
