"""`reviewkit bot` on a public-inbox archive that grows in steps (fixtures/bot/step1..3.mbox):

step 1: series A v1 (cover + 1/2 of 2) and series B (one patch that does not apply to the tree)
step 2: A v1 2/2, a review reply, series C (cover + 2 patches), A v2 (threaded to the v1 cover)
step 3: an identical resend of B, a Reviewed-by reply to A v2, another bot's mail

Four series versions to review (A v1, A v2, B, C); the resend is not reviewed again.
"""
from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

from reviewkit.bot.archive import append
from reviewkit.cli import main
from reviewkit.ingest.mbox import split_mbox

ROOT = Path(__file__).resolve().parents[1]
STEPS = ROOT / "fixtures" / "bot"
TREE = ROOT / "fixtures" / "example" / "tree"
A1 = "<20230501090000.1-0-ada@example.org>"
A2 = "<20230508090000.2-0-ada@example.org>"
B = "<20230502130000.77-1-charles@example.com>"
B_RESEND = "<20230509130000.91-1-charles@example.com>"
C = "<cover.1683140000.git.dorothy@example.net>"


def mails(step: int) -> list:
    with open(STEPS / f"step{step}.mbox", "rb") as fh:
        return [raw for i, _, raw in split_mbox(fh) if i >= 0]


def grow(archive: Path, step: int, layout: str = "v2") -> None:
    append(str(archive), mails(step), layout=layout)


def bot(tmp: Path, *extra: str, db: str = "") -> int:
    return main(["bot", "--source", str(tmp / "archive"), "--tree", str(TREE), "--db", db or str(tmp / "bot.sqlite"),
                 "--once", *extra])


def posted(maildir: Path) -> list:
    out = []
    for sub in ("new", "cur"):
        for name in sorted(os.listdir(maildir / sub)) if (maildir / sub).is_dir() else []:
            with open(maildir / sub / name, "rb") as fh:
                out.append(email.message_from_binary_file(fh, policy=email.policy.default))
    return out


def status(tmp: Path, capsys, db: str = "") -> dict:
    capsys.readouterr()
    assert main(["bot", "status", "--db", db or str(tmp / "bot.sqlite"), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def by_key(st: dict) -> dict:
    return {s["key"]: s for s in st["series"]}


def test_growing_archive_one_post_per_series_version(tmp_path, capsys):
    md = tmp_path / "md"
    post = ["--post", f"maildir:{md}", "--settle", "3600", "--site", str(tmp_path / "site")]
    grow(tmp_path / "archive", 1)
    assert bot(tmp_path, *post) == 0
    # B is complete (one patch); A v1 has 1 of 2 patches and waits for the rest
    assert [m["In-Reply-To"] for m in posted(md)] == [B]
    grow(tmp_path / "archive", 2)
    assert bot(tmp_path, *post) == 0
    assert sorted(m["In-Reply-To"] for m in posted(md)) == sorted([A1, A2, B, C])
    grow(tmp_path / "archive", 3)
    assert bot(tmp_path, *post) == 0
    assert bot(tmp_path, *post) == 0  # a rerun finds nothing new
    replies = posted(md)
    assert len(replies) == 4
    assert len({m["Message-ID"] for m in replies}) == 4

    st = status(tmp_path, capsys)
    series = by_key(st)
    assert set(series) == {A1, A2, B, C, B_RESEND}
    assert series[B_RESEND]["state"] == "duplicate" and series[B_RESEND]["duplicate_of"] == B
    assert series[B_RESEND]["posted"] == []
    for key in (A1, A2, B, C):
        s = series[key]
        assert s["state"] == "done" and s["complete"], key
        assert [p["state"] for p in s["posted"]] == ["posted"], key
        assert s["latency_seconds"] is not None and s["latency_seconds"] >= 0
    assert series[A1]["version"] == 1 and series[A2]["version"] == 2
    assert series[A1]["patches"] == 2 and series[C]["patches"] == 2
    # B's hunk is written against another tree: a result with its apply status, not a crash
    assert series[B]["apply"] == "failed" and series[C]["apply"] == "applied"
    assert any(f["key"] == B and f["reason"].startswith("did not apply: mm/memory.c hunk 1: context not found")
               for f in st["failures"])
    assert st["counts"]["done"] == 4 and st["counts"]["duplicate"] == 1 and st["counts"]["posts"] == 4
    assert st["latency_seconds"]["count"] == 4


def test_reply_mail_is_a_kernel_style_reply(tmp_path):
    grow(tmp_path / "archive", 1)
    grow(tmp_path / "archive", 2)
    md = tmp_path / "md"
    assert bot(tmp_path, "--post", f"maildir:{md}", "--from", "Review Bot <bot@ci.example.org>") == 0
    replies = {m["In-Reply-To"]: m for m in posted(md)}
    a1 = replies[A1]
    assert a1["From"] == "Review Bot <bot@ci.example.org>"
    assert a1["To"] == "Ada Lovelace <ada@example.org>"
    assert a1["Cc"] == "linux-mm@kvack.org, Andrew Morton <akpm@example.org>"
    assert a1["Subject"] == "Re: [PATCH 0/2] mm: device-exclusive swap entries"
    assert a1["References"] == A1
    assert a1["Message-ID"].endswith("@ci.example.org>")
    assert a1["Content-Transfer-Encoding"] == "8bit" and not a1.is_multipart()
    text = a1.get_content()
    # the finding is under the quoted hunk line it is about, in the patch's section
    section = text[text.index("On [PATCH 2/2]"):]
    assert "> +\t\tBUG_ON(!PageAnon(page));\n\nBUG_ON() crashes the kernel" in section
    assert "[mm/fork-pinned-page-copy]" in section
    # A v2 is threaded to its own cover, whose References go back to the v1 cover
    assert replies[A2]["References"] == f"{A1} {A2}"
    # C: Cc keeps the encoded name decoded, the author moves to To
    c = replies[C]
    assert c["To"] == "Dorothy Vaughan <dorothy@example.net>"
    assert "José María <jm@example.es>" in c["Cc"]
    # B applies nowhere: one paragraph says so
    b = " ".join(replies[B].get_content().split())
    assert "None of the patches applies to this tree, so only the hunks themselves were checked. The first hunk " \
           "that failed: mm/memory.c hunk 1: context not found" in b
    for m in replies.values():
        raw = m.as_bytes()
        assert b"base64" not in raw.lower()


def test_incomplete_series_reviewed_after_settle_and_said_so(tmp_path, capsys):
    """v1 layout this time. With --settle 0, A v1 is reviewed with its one patch; its 2/2, arriving later,
    is attached to it and not reviewed as a new series."""
    md = tmp_path / "md"
    grow(tmp_path / "archive", 1, layout="v1")
    assert bot(tmp_path, "--post", f"maildir:{md}", "--settle", "0") == 0
    first = {m["In-Reply-To"]: m for m in posted(md)}
    assert set(first) == {A1, B}
    assert "incomplete when reviewed: patch(es) 2/2 had not arrived" in " ".join(first[A1].get_content().split())
    grow(tmp_path / "archive", 2, layout="v1")
    assert bot(tmp_path, "--post", f"maildir:{md}", "--settle", "0") == 0
    assert sorted(m["In-Reply-To"] for m in posted(md)) == sorted([A1, A2, B, C])
    series = by_key(status(tmp_path, capsys))
    assert series[A1]["complete"] is False and series[A1]["patches"] == 1
    assert series[A2]["complete"] is True


def test_bot_mails_and_replies_are_not_reviewed(tmp_path, capsys):
    """The bot's own replies, landing back on the list, are never candidates."""
    md = tmp_path / "md"
    grow(tmp_path / "archive", 1)
    grow(tmp_path / "archive", 2)
    assert bot(tmp_path, "--post", f"maildir:{md}") == 0
    ours = []
    for sub in ("new", "cur"):
        ours += [(md / sub / n).read_bytes() for n in os.listdir(md / sub)]
    append(str(tmp_path / "archive"), ours)
    grow(tmp_path / "archive", 3)
    assert bot(tmp_path, "--post", f"maildir:{md}") == 0
    assert len(posted(md)) == 4
    st = status(tmp_path, capsys)
    assert st["counts"]["messages"]["bot"] == 5  # our four and the other bot's one
    assert st["counts"]["series"] == 5


def test_a_review_that_keeps_raising_is_a_failure_with_its_reason(tmp_path, capsys, monkeypatch):
    """Retried on the next cycles, then recorded as failed (the bot goes on with the other series)."""
    import reviewkit.bot.scheduler as scheduler

    def broken(*args, **kwargs):  # e.g. the tree's disk went away under a running bot
        raise OSError("tree unreadable")
    monkeypatch.setattr(scheduler, "review", broken)
    grow(tmp_path / "archive", 1)
    for _ in range(3):
        assert bot(tmp_path, "--post", f"maildir:{tmp_path / 'md'}") == 0
    st = status(tmp_path, capsys)
    assert [s["state"] for s in st["series"]] == ["failed"]
    assert st["series"][0]["attempts"] == 3 and st["series"][0]["posted"] == []
    assert st["failures"] == [{"key": B, "title": st["series"][0]["title"], "version": 1,
                               "reason": "OSError: tree unreadable"}]
    assert posted(tmp_path / "md") == []


def test_a_patch_subject_without_a_diff_is_planned_once(tmp_path):
    """Not a series: set aside after the settle time instead of being parsed again on every poll."""
    from reviewkit.bot.store import open_store
    text_only = (b"From: Eve <eve@example.org>\nTo: linux-mm@kvack.org\nSubject: [PATCH 1/3] mm: a patch cut short\n"
                 b"Date: Thu, 04 May 2023 10:00:00 +0000\nMessage-Id: <eve-2@example.org>\n\nThe diff was lost.\n")
    append(str(tmp_path / "archive"), [text_only])
    store = open_store(str(tmp_path / "bot.sqlite"))
    assert bot(tmp_path, "--settle", "3600") == 0
    assert [m for m, _, _ in store.unplanned()] == ["<eve-2@example.org>"]  # may still be completed
    assert bot(tmp_path, "--settle", "0") == 0
    assert store.unplanned() == [] and store.all_series() == []


def test_dry_run_prints_and_sends_nothing(tmp_path, capsys):
    grow(tmp_path / "archive", 1)
    capsys.readouterr()
    assert bot(tmp_path) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- would post to charles@example.com, linux-mm@kvack.org:\n")
    assert f"In-Reply-To: {B}" in out
    st = status(tmp_path, capsys)
    assert [p["destination"] for p in by_key(st)[B]["posted"]] == ["dry-run"]
    assert by_key(st)[B]["state"] == "previewed"
    # the preview does not use the series up: a run that posts sends the saved review, once
    maildir = tmp_path / "out"
    assert bot(tmp_path, "--post", f"maildir:{maildir}") == 0
    assert bot(tmp_path, "--post", f"maildir:{maildir}") == 0
    assert [m["In-Reply-To"] for m in posted(maildir)].count(B) == 1
    assert by_key(status(tmp_path, capsys))[B]["state"] == "done"


def test_site_pages_index_and_b4_checks(tmp_path):
    grow(tmp_path / "archive", 1)
    grow(tmp_path / "archive", 2)
    hostile = (b"From: Eve <eve@example.org>\nTo: linux-mm@kvack.org\n"
               b"Subject: [PATCH] mm: <script>alert(1)</script> tidy\nDate: Thu, 04 May 2023 10:00:00 +0000\n"
               b"Message-Id: <eve-1@example.org>\n\nTidy.\n\nSigned-off-by: Eve <eve@example.org>\n---\n"
               b"diff --git a/mm/memory.c b/mm/memory.c\n--- a/mm/memory.c\n+++ b/mm/memory.c\n"
               b"@@ -5,3 +5,4 @@\n  */\n #include <linux/mm.h>\n #include <linux/swapops.h>\n+#include <linux/rmap.h>\n")
    append(str(tmp_path / "archive"), [hostile])
    site = tmp_path / "site"
    assert bot(tmp_path, "--post", f"maildir:{tmp_path / 'md'}", "--site", str(site)) == 0
    index = (site / "index.html").read_text()
    assert "<script>" not in index and "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert index.count("<tr>") == 1 + 5  # header + A v1, A v2, B, C, Eve's
    folders = sorted(p.name for p in (site / "series").iterdir())
    assert len(folders) == 5
    a1 = next(site / "series" / f for f in folders if f.startswith("mm-device-exclusive-swap-entries-v1-"))
    report = (a1 / "report.html").read_text()
    assert "mm/fork-pinned-page-copy" in report and f'href="series/{a1.name}/report.html"' in index
    checks = {p.name: json.loads(p.read_text()) for p in (a1 / "b4").iterdir()}
    assert sorted(checks) == ["0001.json", "0002.json"]
    assert checks["0002.json"][0]["status"] == "fail" and checks["0002.json"][0]["tool"] == "reviewkit"
    assert json.loads((site / "status.json").read_text())["counts"]["done"] == 5


def test_tree_moved_to_base_commit_in_memory(tmp_path, capsys):
    """A git --tree is read at the series' base-commit when it has it; the checkout is not touched."""
    work = tmp_path / "linux"
    repo = pygit2.init_repository(str(work))
    sig = pygit2.Signature("t", "t@example.org", 1700000000, 0)

    def commit(files: dict, parents: list, message: str):
        for path, text in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
        repo.index.add_all()
        repo.index.write()
        return repo.create_commit("HEAD", sig, sig, message, repo.index.write_tree(), parents)

    files = {str(p.relative_to(TREE)): p.read_text() for p in TREE.rglob("*") if p.is_file()}
    base = commit(files, [], "base")
    memory = files["mm/memory.c"].replace("static void zap_nonpresent_pte", "static noinline void zap_nonpresent_pte")
    memory = memory.replace("\t\tput_page(page);\n\t}\n\tpte_clear", "\t\tput_page(page);\n\t\tcount_zap();\n\t}\n\tpte_clear")
    commit({"mm/memory.c": memory}, [base], "later work: C's hunk 2/2 no longer applies here")
    step2 = [raw.replace(b"base-commit: 0123456789abcdef0123456789abcdef01234567", f"base-commit: {base}".encode())
             for raw in mails(2)]
    append(str(tmp_path / "archive"), step2)
    before = (work / "mm" / "memory.c").read_text()
    assert main(["bot", "--source", str(tmp_path / "archive"), "--tree", str(work), "--db", str(tmp_path / "db"),
                 "--post", f"maildir:{tmp_path / 'md'}", "--once", "--no-checkpatch"]) == 0
    series = by_key(status(tmp_path, capsys, db=str(tmp_path / "db")))
    assert series[C]["apply"] == "applied"
    assert (work / "mm" / "memory.c").read_text() == before and str(repo.head.target) != str(base)
    c = [m for m in posted(tmp_path / "md") if m["In-Reply-To"] == C][0]
    assert f"at {str(base)[:12]} (base-commit)" in " ".join(c.get_content().split())


def run_bot_process(tmp: Path, md: Path, env_extra: dict, db: str = "", wait: bool = True):
    cmd = [sys.executable, "-m", "reviewkit", "bot", "--source", str(tmp / "archive"), "--tree", str(TREE),
           "--db", db or str(tmp / "bot.sqlite"), "--post", f"maildir:{md}", "--once", "--no-checkpatch",
           "--log-format", "json"]
    (tmp / "tmp").mkdir(exist_ok=True)  # what a killed process leaves in its temp dir stays in the test's
    env = {**os.environ, "TMPDIR": str(tmp / "tmp"), **env_extra}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT))
    if not wait:
        return proc
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("crash_at", ["reviewed:2", "posting:2", "sent:2", "sent:4"])
def test_kill_9_then_restart_loses_and_duplicates_nothing(tmp_path, capsys, crash_at):
    """kill -9 after a review is saved, after 'posting' is recorded (before the send), after the send
    (before 'posted' is recorded): the restart posts each series version exactly once."""
    md = tmp_path / "md"
    grow(tmp_path / "archive", 1)
    grow(tmp_path / "archive", 2)
    grow(tmp_path / "archive", 3)
    code, _, err = run_bot_process(tmp_path, md, {"REVIEWKIT_BOT_CRASH_AT": crash_at})
    assert code == -9, err
    code, _, err = run_bot_process(tmp_path, md, {})
    assert code == 0, err
    replies = posted(md)
    assert sorted(m["In-Reply-To"] for m in replies) == sorted([A1, A2, B, C])
    st = status(tmp_path, capsys)
    assert st["counts"]["done"] == 4 and st["counts"]["posts"] == 4
    if crash_at.startswith("sent"):
        notes = [p["note"] for s in st["series"] for p in s["posted"] if p["note"]]
        assert notes == ["found at the destination after a restart; not sent again"]


def test_kill_9_at_random_moments(tmp_path, capsys):
    """Killed while running at a few moments (whatever it was doing), restarted each time."""
    import time
    md = tmp_path / "md"
    for step in (1, 2, 3):
        grow(tmp_path / "archive", step)
    for delay in (0.6, 0.9, 1.2):
        proc = run_bot_process(tmp_path, md, {}, wait=False)
        time.sleep(delay)
        proc.kill()
        proc.communicate()
    code, _, err = run_bot_process(tmp_path, md, {})
    assert code == 0, err
    assert sorted(m["In-Reply-To"] for m in posted(md)) == sorted([A1, A2, B, C])
    assert status(tmp_path, capsys)["counts"]["posts"] == 4


def test_a_claim_from_another_host_is_taken_over_only_after_its_lease(tmp_path):
    """A worker on another machine cannot be asked whether it is alive: its claim stands until the lease runs
    out; a dead process on this host is taken over at once."""
    import time

    from reviewkit.bot.scheduler import _alive_here
    from reviewkit.bot.store import open_store
    grow(tmp_path / "archive", 1)
    assert bot(tmp_path, "--post", f"maildir:{tmp_path / 'md'}", "--settle", "3600") == 0
    store = open_store(str(tmp_path / "bot.sqlite"))
    with store.tx() as cur:  # B queued again and claimed by a worker elsewhere, a minute ago
        store.q(cur, "UPDATE series SET state = 'claimed', claimed_by = 'elsewhere:4242', claimed_at = ? "
                     "WHERE key = ?", (time.time() - 60, B))
    stale = _alive_here("thishost")
    assert store.claim("thishost:1", 600, stale) is None
    taken = store.claim("thishost:1", 30, stale)
    assert taken["key"] == B and taken["previous_claim"] == "elsewhere:4242" and taken["takeovers"] == 1
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with store.tx() as cur:
        store.q(cur, "UPDATE series SET claimed_by = ?, claimed_at = ? WHERE key = ?",
                (f"thishost:{dead.stdout.strip()}", time.time(), B))
    assert store.claim("thishost:1", 600, stale)["key"] == B  # its process is gone: at once
