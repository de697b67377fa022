"""Reading every clean mail source into Messages."""
from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess

import pygit2
import pytest

from reviewkit.ingest import read_inputs
from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs


def read(*paths, **kw):
    errors = Errors()
    return list(read_inputs([str(p) for p in paths], errors, **kw)), errors


def test_mboxrd_series_is_read_in_order(fixtures):
    msgs, errors = read(fixtures / "mail" / "mm-swap-series.mbox")
    assert not errors
    assert [m.msgid for m in msgs][:3] == [
        "<20230306090000.1000-1-ada@example.org>",
        "<20230306090000.1000-2-ada@example.org>",
        "<20230306090000.1000-3-ada@example.org>",
    ]
    assert len(msgs) == 7
    first = msgs[0]
    assert first.sender.email == "ada@example.org"
    assert first.date.isoformat() == "2023-03-06T10:00:00+01:00"
    assert first.source.where == "message 1 at byte 0"


def test_mboxrd_from_quoting_is_undone(fixtures):
    msgs, _ = read(fixtures / "mail" / "mm-swap-series.mbox")
    ada = next(m for m in msgs if m.msgid.startswith("<3a9b1c2d"))
    assert "\nFrom a quick look the rest is fine?" in ada.body


def test_gzip_mbox_reads_like_plain(fixtures, tmp_path):
    raw = (fixtures / "mail" / "mm-swap-series.mbox").read_bytes()
    gz = tmp_path / "t.mbox.gz"
    gz.write_bytes(gzip.compress(raw))
    plain, _ = read(fixtures / "mail" / "mm-swap-series.mbox")
    zipped, errors = read(gz)
    assert not errors
    assert [m.msgid for m in zipped] == [m.msgid for m in plain]
    assert zipped[1].body == plain[1].body


def test_truncated_gzip_keeps_what_was_read(fixtures, tmp_path):
    data = gzip.compress((fixtures / "mail" / "mm-swap-series.mbox").read_bytes())
    cut = tmp_path / "cut.mbox.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    msgs, errors = read(cut)
    assert 0 < len(msgs) < 7
    assert any("ends early" in e.message for e in errors)


def test_maildir(fixtures, tmp_path):
    src, _ = read(fixtures / "patches" / "swapcache-v2")
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    for i, p in enumerate(sorted((fixtures / "patches" / "swapcache-v2").iterdir())):
        body = p.read_bytes().split(b"\n", 1)[1]  # maildir files carry no mbox From line
        shutil.copy(p, tmp_path / "cur" / f"{1678000000 + i}.M{i}P1.host:2,S")
        (tmp_path / "cur" / f"{1678000000 + i}.M{i}P1.host:2,S").write_bytes(body)
    msgs, errors = read(tmp_path)
    assert not errors
    assert [m.msgid for m in msgs] == [m.msgid for m in src]


def test_format_patch_directory_and_single_file(fixtures):
    d = fixtures / "patches" / "swapcache-v2"
    msgs, errors = read(d)
    assert not errors
    assert [m.subject for m in msgs] == [
        "[PATCH v2 0/2] mm/swap: count swap cache hits per memcg",
        "[PATCH v2 1/2] mm/swap: add swapcache_hit counter",
        "[PATCH v2 2/2] mm/memcontrol: report swapcache_hit in memory.stat",
    ]
    one, _ = read(d / "0001-mm-swap-add-swapcache_hit-counter.patch")
    assert one[0].msgid == msgs[1].msgid


def test_stdin(fixtures):
    raw = (fixtures / "mail" / "mm-swap-series.mbox").read_bytes()
    msgs, errors = read("-", stdin=io.BytesIO(raw))
    assert len(msgs) == 7 and not errors
    assert msgs[0].source.input == "<stdin>"


def test_bare_git_diff_is_a_patch(tmp_path):
    p = tmp_path / "fix.diff"
    p.write_text("diff --git a/mm/util.c b/mm/util.c\n--- a/mm/util.c\n+++ b/mm/util.c\n@@ -1 +1 @@\n-a\n+b\n")
    parsed = parse_inputs([str(p)])
    assert list(parsed.kinds.values()) == ["patch"]
    (patch,) = parsed.patches.values()
    assert [f.path for f in patch.files] == ["mm/util.c"]


def _public_inbox(tmp_path, raws):
    repo = pygit2.init_repository(str(tmp_path / "inbox"), bare=True)
    sig = pygit2.Signature("archiver", "a@example.org", 1678000000, 0)
    parents = []
    for raw in raws:
        tb = repo.TreeBuilder()
        tb.insert("m", repo.create_blob(raw), pygit2.enums.FileMode.BLOB)
        cid = repo.create_commit("refs/heads/master", sig, sig, "msg", tb.write(), parents)
        parents = [cid]
    return tmp_path / "inbox"


def _split(raw: bytes) -> list[bytes]:
    parts = raw.split(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n")
    return [p.rstrip(b"\n") + b"\n" for p in parts if p.strip()]


def test_public_inbox_v1_and_v2(fixtures, tmp_path):
    raws = _split((fixtures / "mail" / "mm-swap-series.mbox").read_bytes())
    inbox = _public_inbox(tmp_path, raws)
    msgs, errors = read(inbox)
    assert not errors
    assert len(msgs) == 7
    assert msgs[0].msgid == "<20230306090000.1000-1-ada@example.org>"
    assert msgs[0].source.where.startswith("inbox commit ")
    # v2 layout: git/0.git, git/1.git read in epoch order
    v2 = tmp_path / "v2"
    (v2 / "git").mkdir(parents=True)
    shutil.copytree(_public_inbox(tmp_path / "e0", raws[:3]), v2 / "git" / "0.git")
    shutil.copytree(_public_inbox(tmp_path / "e1", raws[3:]), v2 / "git" / "1.git")
    msgs2, errors2 = read(v2)
    assert not errors2
    assert [m.msgid for m in msgs2] == [m.msgid for m in msgs]


def _git_repo(tmp_path):
    repo = pygit2.init_repository(str(tmp_path / "linux"))
    sig = pygit2.Signature("Ada Lovelace", "ada@example.org", 1678000000, 60)
    files = {"mm/swap_state.c": "int a;\nint b;\nint c;\n"}
    parents = []

    def commit(message, changes):
        files.update(changes)
        tb = repo.TreeBuilder()
        mm = repo.TreeBuilder()
        for path, text in files.items():
            mm.insert(path.split("/")[1], repo.create_blob(text.encode()), pygit2.enums.FileMode.BLOB)
        tb.insert("mm", mm.write(), pygit2.enums.FileMode.TREE)
        cid = repo.create_commit("HEAD", sig, sig, message, tb.write(), list(parents))
        parents[:] = [cid]
        return cid

    base = commit("mm: base\n", {})
    commit("mm/swap: count hits\n\nCount them.\n\nSigned-off-by: Ada Lovelace <ada@example.org>\n",
           {"mm/swap_state.c": "int a;\nint b2;\nint c;\n"})
    commit("mm/swap: add a file\n\nSigned-off-by: Ada Lovelace <ada@example.org>\n",
           {"mm/new.c": "int n;\n"})
    return repo, base


def test_git_revision_range(tmp_path):
    repo, base = _git_repo(tmp_path)
    parsed = parse_inputs([f"{str(base)[:12]}..HEAD"], repo_dir=str(tmp_path / "linux"))
    assert not parsed.errors
    subjects = [m.subject for m in parsed.messages]
    assert subjects == ["[PATCH 1/2] mm/swap: count hits", "[PATCH 2/2] mm/swap: add a file"]
    p1, p2 = (parsed.patches[m.msgid] for m in parsed.messages)
    assert p1.author.email == "ada@example.org"
    assert p1.log == "Count them.\n\nSigned-off-by: Ada Lovelace <ada@example.org>"
    assert [(f.path, f.status, f.added, f.removed) for f in p1.files] == [("mm/swap_state.c", "modified", 1, 1)]
    assert [(f.path, f.status) for f in p2.files] == [("mm/new.c", "added")]
    assert len(parsed.series) == 1 and parsed.series[0].complete


def test_unknown_revision_is_an_error_not_a_crash(tmp_path):
    _git_repo(tmp_path)
    parsed = parse_inputs(["nosuchrev..HEAD"], repo_dir=str(tmp_path / "linux"))
    assert not parsed.messages
    assert "unknown revision" in parsed.errors[0].message


@pytest.mark.parametrize("name, expected", [
    ("no-headers.eml", "neither a mail"),
    ("bad-base64.eml", "damaged base64"),
    ("lying-hunk.patch", "its header says 9 / 9. Recounted"),
    ("path-traversal.patch", "leaves the source tree"),
    ("truncated.mbox", "no diff (truncated"),
])
def test_bad_input_is_reported_and_the_rest_goes_on(fixtures, name, expected):
    good = fixtures / "mail" / "mm-swap-series.mbox"
    parsed = parse_inputs([str(fixtures / "bad" / name), str(good)])
    matching = [e for e in parsed.errors if expected in e.message]
    assert matching, parsed.errors
    assert matching[0].input.endswith(name)
    # the good input after the bad one is read in full
    assert {"<20230306090000.1000-1-ada@example.org>", "<ZAcover999@grace-laptop>"} <= {
        m.msgid for m in parsed.messages}


def test_traversal_keeps_the_safe_file(fixtures):
    parsed = parse_inputs([str(fixtures / "bad" / "path-traversal.patch")])
    (patch,) = parsed.patches.values()
    assert [f.path for f in patch.files] == ["mm/util.c"]


def test_lying_hunk_is_recounted(fixtures):
    parsed = parse_inputs([str(fixtures / "bad" / "lying-hunk.patch")])
    (patch,) = parsed.patches.values()
    hunk = patch.files[0].hunks[0]
    assert (hunk.old_len, hunk.new_len) == (6, 6)
    assert [f.path for f in patch.files] == ["mm/vmscan.c", "mm/vmstat.c"]


def test_huge_attachment_is_not_decoded(tmp_path):
    """A 50 MB attachment neither ends the run nor is decoded as text."""
    blob = b"QUFB" * (50 * 1024 * 1024 // 4)
    raw = (b"From: Big <big@example.com>\nSubject: [PATCH] mm: with a core dump\nMessage-ID: <big@example.com>\n"
           b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n"
           b"Content-Type: text/plain\n\nSigned-off-by: Big <big@example.com>\n---\n"
           b"diff --git a/mm/a.c b/mm/a.c\n--- a/mm/a.c\n+++ b/mm/a.c\n@@ -1 +1 @@\n-a\n+b\n--XX\n"
           b"Content-Type: text/plain; name=core.txt\nContent-Transfer-Encoding: base64\n\n"
           + blob + b"\n--XX--\n")
    p = tmp_path / "big.eml"
    p.write_bytes(raw)
    parsed = parse_inputs([str(p)])
    (patch,) = parsed.patches.values()
    assert [f.path for f in patch.files] == ["mm/a.c"]
    assert any("not decoded" in e.message and "MiB" in e.message for e in parsed.errors)


def test_missing_input_is_an_error(tmp_path):
    msgs, errors = read(tmp_path / "nope.mbox")
    assert not msgs
    assert "no such file" in errors[0].message


def test_gzip_on_stdin(fixtures):
    raw = gzip.compress((fixtures / "mail" / "mm-swap-series.mbox").read_bytes())
    msgs, errors = read("-", stdin=io.BytesIO(raw))
    assert len(msgs) == 7 and not errors


def _git_log_repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "mm").mkdir(parents=True)

    def git(*args, date="2023-03-06T10:00:00+01:00", author="Zoë Müller <zoe@example.de>"):
        name, email = author[:-1].split(" <")
        env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": "C",
               "GIT_COMMITTER_EMAIL": "c@example.org", "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True).stdout
    git("init", "-q")
    (repo / "mm" / "a.c").write_text("int a;\n")
    git("add", ".")
    git("commit", "-qm", "base")
    (repo / "mm" / "a.c").write_text("int a;\nint b;\n")
    git("commit", "-qam", "mm/a: add b\n\nBecause b is needed.\n\nSigned-off-by: Zoë Müller <zoe@example.de>\n"
                          "Reviewed-by: Ada <ada@example.org>")
    (repo / "mm" / "a.c").write_text("int a;\nint b;\nint c;\n")
    git("commit", "-qam", "mm/a: add c\n\nSigned-off-by: Ada <ada@example.org>", date="2023-03-07T11:00:00+00:00",
        author="Ada <ada@example.org>")
    return git


def test_git_show_and_git_log_p_are_read_as_patches(tmp_path):
    git = _git_log_repo(tmp_path)
    (tmp_path / "show.txt").write_bytes(git("show", "HEAD~1"))
    (tmp_path / "log.txt").write_bytes(git("log", "-p", "--stat", "-2"))
    show = parse_inputs([str(tmp_path / "show.txt")])
    (p,) = show.patches.values()
    assert p.subject.title == "mm/a: add b" and p.author.name == "Zoë Müller" and p.author.email == "zoe@example.de"
    assert p.message.date.isoformat() == "2023-03-06T10:00:00+01:00"
    assert p.log.startswith("Because b is needed.")
    assert [(t.key, t.person.email) for t in p.trailers] == [("Signed-off-by", "zoe@example.de"),
                                                              ("Reviewed-by", "ada@example.org")]
    assert [(f.path, f.status) for f in p.files] == [("mm/a.c", "modified")]
    log = parse_inputs([str(tmp_path / "log.txt")])
    (s,) = log.series
    titles = [log.patches[m].subject.title for m in s.patches]
    assert titles == ["mm/a: add b", "mm/a: add c"] and s.total == 2 and not s.missing  # oldest first
    second = log.patches[s.patches[1]]
    assert second.author.email == "ada@example.org" and second.diffstat == (("mm/a.c", "1"),)
    assert log.errors == []
