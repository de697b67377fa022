"""Threads, series, follow-ups and versions on our own fixtures."""
from __future__ import annotations

from reviewkit.pipeline import parse_inputs


def test_series_with_replies_and_followup_trailers(fixtures):
    p = parse_inputs([str(fixtures / "mail" / "mm-swap-series.mbox")])
    assert p.stats["kinds"] == {"patch": 2, "cover": 1, "reply": 4, "other": 0}
    (s,) = p.series
    assert (s.version, s.total, s.complete, s.cover) == (1, 2, True, "<20230306090000.1000-1-ada@example.org>")
    assert s.title == "mm/swap: count swap cache hits per memcg"
    p1, p2 = (p.patches[m] for m in s.patches)
    # Grace's reply to 1/2 and Ada's answer hang under 1/2
    assert s.followups[p1.message.msgid] == ("<ZAbCdEf123@grace-laptop>",
                                             "<3a9b1c2d-0e4f-4a5b-8c6d-7e8f9a0b1c2d@example.org>")
    # the cover's Reviewed-by applies to both; the DMARC-rewritten Acked-by resolves to the real person
    assert [(t.key, t.person.email) for t in p1.followup_trailers] == [("Reviewed-by", "grace@example.com")]
    assert [(t.key, t.person.email, t.mismatch) for t in p2.followup_trailers] == [
        ("Reviewed-by", "grace@example.com", False), ("Acked-by", "linus@example.net", False)]
    assert p2.base_commit == "c9c3395d5e3dcc6daee66c6908354d47bf98cb0c"
    (thread,) = p.threads
    assert thread.root == s.cover and len(thread.messages) == 7


def test_dmarc_via_list_sender(fixtures):
    p = parse_inputs([str(fixtures / "mail" / "mm-swap-series.mbox")])
    m = p.message("<87a5b6c7d8.fsf@example.net>")
    assert (m.sender.name, m.sender.email) == ("Linus Example", "linus@example.net")


def test_two_versions_are_kept_apart_and_linked(fixtures):
    p = parse_inputs([str(fixtures / "mail" / "mm-swap-series.mbox"), str(fixtures / "patches" / "swapcache-v2")])
    assert [(s.version, len(s.patches)) for s in p.series] == [(1, 2), (2, 2)]
    assert p.series[1].previous == 0 and p.series[0].previous is None
    v2 = p.patches[p.series[1].patches[1]]
    assert v2.prerequisites == ("8d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e",)
    assert v2.notes.startswith(" mm/memcontrol.c | 1 +")
    assert v2.diffstat == (("mm/memcontrol.c", "1"),)


def test_duplicates_collapse(fixtures):
    path = str(fixtures / "mail" / "mm-swap-series.mbox")
    p = parse_inputs([path, path])
    assert p.stats["messages_read"] == 14 and p.stats["messages"] == 7
    assert p.stats["duplicates_collapsed"] == 7


def test_encodings(fixtures):
    p = parse_inputs([str(fixtures / "mail" / "encodings.mbox")])
    b64 = p.message("<b64-patch@example.de>")
    assert b64.sender.name == "Zoë Müller"
    assert b64.subject == "[linux-mm] [PATCH] mm/page_alloc: fix counter in foo() – again"
    assert p.subjects[b64.msgid].list_tags == ("linux-mm",)
    assert "noticed by Jérôme" in b64.body
    qp = p.message("<qp-reply@example.fr>")
    assert qp.sender.name == "Jérôme Example"
    assert "mit einem weichen Umbruch versehen wird, damit sie kürzer" in qp.body
    flowed = p.message("<flowed-reply@example.com>").body
    assert "soft breaks, and the two halves of this sentence must come back as one line.\n" in flowed
    html = p.message("<html-only@example.com>").body
    assert "Looks fine to me & works." in html and "alert" not in html and "color" not in html
    patch = p.patches[b64.msgid]
    # trailers: the HTML and flowed replies count; the QP reply names someone else
    given = [(t.key, t.person.email, t.mismatch) for t in patch.followup_trailers]
    assert ("Reviewed-by", "zoe@example.de", True) in given
    assert ("Tested-by", "flow@example.com", False) in given and ("Acked-by", "html@example.com", False) in given
    attached = p.patches["<attached-patch@example.com>"]
    assert [f.path for f in attached.files] == ["mm/page_alloc.c"]
    assert attached.trailers[0].key == "Signed-off-by"
    assert p.stats["duplicates_collapsed"] == 1


def test_reference_loop_is_cut(tmp_path):
    mail = ("From: A <a@example.com>\nSubject: Re: loop\nMessage-ID: <{me}>\nIn-Reply-To: <{other}>\n"
            "Date: Mon, 06 Mar 2023 10:00:0{n} +0000\n\nbody\n")
    (tmp_path / "a.eml").write_text(mail.format(me="a@x", other="b@x", n=0))
    (tmp_path / "b.eml").write_text(mail.format(me="b@x", other="a@x", n=1))
    p = parse_inputs([str(tmp_path)])
    (t,) = p.threads
    assert sorted(t.messages) == ["<a@x>", "<b@x>"]
    assert list(t.parent.values()).count(None) == 1


def test_orphans_sharing_a_missing_root_share_a_thread(tmp_path):
    mail = ("From: A <a@example.com>\nSubject: Re: [PATCH 1/3] x\nMessage-ID: <{me}>\nIn-Reply-To: <gone@x>\n"
            "References: <cover@x> <gone@x>\n\nbody\n")
    (tmp_path / "a.eml").write_text(mail.format(me="a@x"))
    (tmp_path / "b.eml").write_text(mail.format(me="b@x"))
    p = parse_inputs([str(tmp_path)])
    assert len(p.threads) == 1
