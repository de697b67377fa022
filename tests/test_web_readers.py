"""Saved web pages read back into messages, threads and patches (fixtures/web, written for these tests).

The lore, patchwork and collapsed fixtures are fixtures/mail/mm-swap-series.mbox rendered by
tests/web_renderers.py; the mail-archive one is a patch to fixtures/web/tree/mm/memory.c and two
replies, damaged as mail-archive damages text; lore-hostile.txt is hand-written.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from reviewkit.ingest.web import detect
from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs

UTC = timezone.utc
def web(fixtures, name):
    return fixtures / "web" / name


def parse(path, **kw):
    return parse_inputs([str(path)], **kw)


def real(p):
    return [m for m in p.messages if not m.quoted_only]


def parent_of(p, m):
    pid = p.parent.get(m.msgid)
    return p.message(pid) if pid else None


@pytest.mark.parametrize("name, fmt", [
    ("lore-flat.txt", "lore"), ("lore-nested.txt", "lore"), ("lore-hostile.txt", "lore"), ("lore-permalink.txt", "lore"),
    ("patchwork-patch.txt", "patchwork"), ("mail-archive-thread.txt", "mail-archive"),
    ("lore-raw-collapsed.txt", "collapsed"), ("spinics-collapsed.txt", "collapsed"),
    ("spinics-body-only.txt", "collapsed"),
])
def test_detection(fixtures, name, fmt):
    assert detect(web(fixtures, name).read_text()) == fmt


def test_clean_mail_is_not_taken_for_a_page(fixtures):
    text = (fixtures / "mail" / "mm-swap-series.mbox").read_text()
    assert detect(text) is None
    assert detect((fixtures / "bad" / "no-headers.eml").read_text()) is None


@pytest.mark.parametrize("name", ["lore-flat.txt", "lore-nested.txt"])
def test_lore_thread_page_gives_the_thread_back(fixtures, name):
    p = parse(web(fixtures, name))
    msgs = real(p)
    assert len(msgs) == 7 and not [m for m in p.messages if m.quoted_only]
    by_subject = {(m.subject, m.sender.name): m for m in msgs}
    cover = by_subject[("[PATCH 0/2] mm/swap: count swap cache hits per memcg", "Ada Lovelace")]
    p1 = by_subject[("[PATCH 1/2] mm/swap: add swapcache_hit counter", "Ada Lovelace")]
    grace = by_subject[("Re: [PATCH 1/2] mm/swap: add swapcache_hit counter", "Grace Hopper")]
    ada = by_subject[("Re: [PATCH 1/2] mm/swap: add swapcache_hit counter", "Ada Lovelace")]
    assert cover.date == datetime(2023, 3, 6, 9, 0, tzinfo=UTC)
    assert parent_of(p, p1) is cover and parent_of(p, grace) is p1 and parent_of(p, ada) is grace
    assert dict(grace.capture)["parent_source"] == "thread overview"
    assert grace.date.astimezone(UTC) == datetime(2023, 3, 7, 13, 12, tzinfo=UTC)
    assert p.kinds[cover.msgid] == "cover" and len(p.patches) == 2
    if name == "lore-flat.txt":  # its cover has lore-heading-like changelog bullets: they are body text
        assert "* changed the counter into a vm event" in cover.body
    assert all(m.synthetic_id for m in msgs) and len({m.msgid for m in msgs}) == 7
    assert not [e for e in p.errors if "hunk" in e.message]
    (series,) = p.series
    assert series.complete and series.total == 2


def test_lore_ids_are_stable(fixtures):
    a = [m.msgid for m in parse(web(fixtures, "lore-flat.txt")).messages]
    b = [m.msgid for m in parse(web(fixtures, "lore-flat.txt")).messages]
    assert a == b


def test_patchwork_patch_page(fixtures):
    p = parse(web(fixtures, "patchwork-patch.txt"))
    sub, *comments = real(p)
    assert sub.msgid == "<20230306090000.1000-2-ada@example.org>" and not sub.synthetic_id
    assert sub.subject == "[1/2] mm/swap: add swapcache_hit counter" and p.kinds[sub.msgid] == "patch"
    patch = p.patches[sub.msgid]
    assert [f.path for f in patch.files] == ["include/linux/vm_event_item.h", "mm/swap_state.c"]
    assert patch.repairs == () and [t.key for t in patch.trailers] == ["Signed-off-by"]
    assert [(c.sender.name, c.date) for c in comments] == [
        ("Grace Hopper", datetime(2023, 3, 7, 13, 12, tzinfo=UTC)),
        ("Ada Lovelace", datetime(2023, 3, 7, 14, 30, tzinfo=UTC))]
    grace, ada = comments
    assert parent_of(p, grace) is sub and dict(grace.capture)["parent_source"] == "attribution"
    # "On 07/03/2023 14:12, Grace Hopper wrote:" - a day/month date in the writer's zone
    assert parent_of(p, ada) is grace
    assert dict(ada.capture)["patchwork_comment"] == 2
    # Grace quotes a hunk: it comes out as a diff of mm/swap_state.c
    (qd, files), = p.quoted_diffs[grace.msgid]
    assert files[0].path == "mm/swap_state.c" and qd.quoted_from == sub.msgid


def test_mail_archive_thread_with_damaged_patch(fixtures):
    p = parse(web(fixtures, "mail-archive-thread.txt"))
    reply2, reply1, patch_msg = real(p)     # newest first, as the page shows them
    assert p.kinds[patch_msg.msgid] == "patch"
    assert parent_of(p, reply1) is patch_msg and parent_of(p, reply2) is reply1
    # days only on the page; the quotes give exact times for the two quoted messages
    assert patch_msg.date.astimezone(UTC) == datetime(2023, 4, 3, 1, 8, 2, tzinfo=UTC)
    assert reply1.date.astimezone(UTC) == datetime(2023, 4, 3, 19, 32, 34, tzinfo=UTC)
    assert dict(reply2.capture)["date_precision"] == "day"
    patch = p.patches[patch_msg.msgid]
    assert [f.path for f in patch.files] == ["mm/memory.c"]
    assert [(h.old_len, h.new_len) for h in patch.files[0].hunks] == [(7, 7), (6, 20)]
    assert not [e for e in p.errors if "hunk" in e.message]
    assert {"joined-wrapped-line", "restored-context-marker", "indentation-unverified"} <= \
        {r.kind for r in patch.repairs}
    (qd, files), = p.quoted_diffs[reply1.msgid]
    assert files[0].path == "mm/memory.c" and files[0].hunks[0].old_start == 48
    assert any("series of 4" in e.message for e in p.errors)


def test_mail_archive_patch_repaired_against_a_tree(fixtures):
    tree = fixtures / "web" / "tree"

    def lookup(path):
        f = tree / path
        return f.read_text() if f.is_file() else None
    p = parse(web(fixtures, "mail-archive-thread.txt"), lookup=lookup)
    patch = next(iter(p.patches.values()))
    pre = (tree / "mm" / "memory.c").read_text().split("\n")
    old_side = [ln[1:] for ln in patch.diff.split("\n") if ln[:1] in " -" and not ln.startswith("--- ")]
    assert old_side and all(ln in pre for ln in old_side)          # context and removed lines byte-exact
    assert [r.confidence for r in patch.repairs if r.kind == "restored-from-tree"] == ["exact", "exact"]


def test_collapsed_raw_message(fixtures):
    p = parse(web(fixtures, "lore-raw-collapsed.txt"))
    (msg,) = real(p)
    assert msg.msgid == "<3a9b1c2d-0e4f-4a5b-8c6d-7e8f9a0b1c2d@example.org>"
    assert msg.sender.name == "Ada Lovelace" and msg.in_reply_to == "<ZAbCdEf123@grace-laptop>"
    assert msg.date == datetime(2023, 3, 7, 14, 30, tzinfo=UTC)
    assert msg.body.startswith("On 07/03/2023 14:12, Grace Hopper wrote:\n> This puts a statement")
    (grace,) = [m for m in p.messages if m.quoted_only]
    assert grace.msgid == "<ZAbCdEf123@grace-laptop>"    # its id is the In-Reply-To of the quoting mail
    assert grace.sender.name == "Grace Hopper" and p.kinds[grace.msgid] == "quoted"
    # Thunderbird wrote Grace's time in Ada's zone (her Date header's, +01:00)
    assert grace.date.astimezone(UTC) == datetime(2023, 3, 7, 13, 12, tzinfo=UTC)


def test_spinics_body_only_yields_the_quoted_history(fixtures):
    p = parse(web(fixtures, "spinics-body-only.txt"))
    (top,) = real(p)
    assert top.sender.name == "Linus Example" and top.date is None
    assert "date_bound" in dict(top.capture)
    chain, m = [], top
    while (m := parent_of(p, m)) is not None:
        chain.append((m.sender.name, m.date.astimezone(UTC), p.kinds[m.msgid]))
    assert chain == [("Ada Lovelace", datetime(2023, 3, 8, 8, 14, 2, tzinfo=UTC), "quoted"),
                     ("Grace Hopper", datetime(2023, 3, 7, 13, 12, 40, tzinfo=UTC), "quoted"),
                     ("Ada Lovelace", datetime(2023, 3, 6, 9, 0, 1, tzinfo=UTC), "quoted")]
    grace = parent_of(p, parent_of(p, top))
    (qd, files), = p.quoted_diffs[grace.msgid]
    assert files[0].path == "mm/swap_state.c" and files[0].added == 3


def test_hostile_page_is_text_not_markup(fixtures):
    p = parse(web(fixtures, "lore-hostile.txt"))
    mallory, trent = real(p)
    assert "<script>" in mallory.body and mallory.sender.name.startswith("Mallory <img")
    assert mallory.in_reply_to == "<20230101000000.1-1-someone@example.org>"   # the [not found] parent
    assert parent_of(p, trent) is mallory
    assert any("leaves the source tree" in e.message for e in p.errors)
    assert any("3+ messages" in e.message for e in p.errors)


def test_unknown_page_is_an_error_not_a_crash(tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("Re: something\n\njust some words that are not any archive\n")
    errors = Errors()
    p = parse_inputs([str(page)], errors=errors)
    assert p.messages == [] and "saved web page" in errors[0].message


def test_input_format_overrides_detection(fixtures, tmp_path):
    text = web(fixtures, "lore-flat.txt").read_text()
    page = tmp_path / "page.txt"
    page.write_text(text.split("\n", 2)[2])      # without lore's banner the page is still lore
    assert len(real(parse(page, input_format="lore"))) == 7
    p = parse(page, input_format="mail-archive")
    assert p.messages == [] and any("mail-archive" in e.where for e in p.errors)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], capture_output=True, text=True, timeout=120)


def test_cli_json_shows_capture_repairs_and_quoted_kind(fixtures):
    r = run_cli("parse", str(web(fixtures, "mail-archive-thread.txt")), "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    patch = next(x for x in data["patches"])
    assert patch["damaged"] is True and {"kind", "where", "confidence", "detail"} <= set(patch["repairs"][0])
    reply = next(m for m in data["messages"] if m.get("quoted_diffs"))
    assert reply["quoted_diffs"][0]["files"][0]["path"] == "mm/memory.c"
    assert reply["capture"]["format"] == "mail-archive" and reply["synthetic_id"] is True
    r = run_cli("parse", str(web(fixtures, "spinics-body-only.txt")), "--format", "json",
                "--input-format", "collapsed")
    data = json.loads(r.stdout)
    assert [m["kind"] for m in data["messages"]].count("quoted") == 3
    assert run_cli("parse", str(web(fixtures, "lore-flat.txt")), "--input-format", "nonsense").returncode == 2


def test_lore_permalink_page_keeps_its_headers(fixtures):
    p = parse(web(fixtures, "lore-permalink.txt"))
    (grace,) = real(p)
    assert grace.msgid == "<ZAbCdEf123@grace-laptop>" and not grace.synthetic_id
    assert str(grace.sender) == "Grace Hopper <grace@example.com>"
    assert grace.date == datetime(2023, 3, 7, 13, 12, 40, tzinfo=UTC)
    assert grace.in_reply_to == "<20230306090000.1000-2-ada@example.org>"
    assert grace.body.endswith("-- \nGrace\n") and "other threads" not in grace.body
    (ada,) = [m for m in p.messages if m.quoted_only]
    assert ada.msgid == grace.in_reply_to and ada.date == datetime(2023, 3, 6, 9, 0, 1, tzinfo=UTC)
    # the quoted hunk has no file header and its patch is not on the page: said, not guessed
    assert grace.msgid not in p.quoted_diffs and "quoted_hunks_without_file" in dict(grace.capture)


def test_patchwork_expanded_headers_give_address_date_and_parent(fixtures, tmp_path):
    text = web(fixtures, "patchwork-patch.txt").read_text()
    headers = ("Headers hide\nReturn-Path: <ada@example.org>\nFrom: Ada Lovelace <ada@example.org>\n"
               "Date: Mon, 06 Mar 2023 10:00:01 +0100\nMessage-Id: <20230306090000.1000-2-ada@example.org>\n"
               "In-Reply-To: <20230306090000.1000-1-ada@example.org>\n"
               "References: <20230306090000.1000-1-ada@example.org>\n")
    page = tmp_path / "pw.txt"
    page.write_text(text.replace("Headers show\n", headers))
    p = parse(page)
    sub = real(p)[0]
    assert str(sub.sender) == "Ada Lovelace <ada@example.org>"
    assert sub.date == datetime(2023, 3, 6, 9, 0, 1, tzinfo=UTC)
    assert sub.in_reply_to == "<20230306090000.1000-1-ada@example.org>"


@pytest.mark.parametrize("fmt", ["auto", "lore", "patchwork", "mail-archive", "collapsed"])
def test_any_text_under_any_format_is_read_or_reported(fixtures, tmp_path, fmt):
    """Cut, shuffled and mixed pages: never a crash, never an error hidden as a bug."""
    import random
    rng = random.Random(1234)
    texts = [p.read_text() for p in sorted((fixtures / "web").glob("*.txt"))]
    page = tmp_path / "page.txt"
    for n in range(40):
        text = rng.choice(texts)
        lines = text.split("\n")
        how = n % 4
        if how == 0:
            text = text[: rng.randrange(1, len(text))]
        elif how == 1:
            rng.shuffle(lines)
            text = "\n".join(lines)
        elif how == 2:
            text = "\n".join(lines[: len(lines) // 2] + rng.choice(texts).split("\n"))
        else:
            text = " ".join(text.split())
        page.write_text(text)
        errors = Errors()
        parse_inputs([str(page)], errors=errors, input_format=fmt)
        assert not [e for e in errors if "bug in reviewkit" in e.message], (fmt, n, errors)
