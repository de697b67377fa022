"""The bot against real services started by the tests, on this machine only (127.0.0.1 or a unix socket):
PostgreSQL (Debian's postgresql: two bot processes sharing one queue), an SMTP server (aiosmtpd), and
public-inbox-httpd serving an archive imported with public-inbox-mda (the HTTP source). Each skips
cleanly when its package is absent.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from reviewkit.cli import main

from .test_bot import A1, A2, B, C, ROOT, TREE, by_key, grow, mails, posted, run_bot_process, status


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- PostgreSQL ----------------------------------------------------------------------------------

def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'reviewkit[bot]')")
    return Path(found[-1]).parent


def _as_postgres_user(cmd: list) -> list:
    """initdb refuses to run as root: run the server as nobody then."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "nobody", "--", *cmd]


@pytest.fixture(scope="module")
def postgres():
    bin_dir = _pg_bin()
    root = tempfile.mkdtemp(prefix="reviewkit-pg-", dir="/tmp")
    os.chmod(root, 0o755)
    data, sock = os.path.join(root, "data"), os.path.join(root, "sock")
    os.makedirs(sock)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for p in (root, sock):
            os.chown(p, nobody.pw_uid, nobody.pw_gid)
    run = lambda *cmd: subprocess.run(_as_postgres_user(list(cmd)), check=True, capture_output=True, timeout=120)
    try:
        run(str(bin_dir / "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        run(str(bin_dir / "pg_ctl"), "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
            f"-k {sock} -c listen_addresses='' -c fsync=off", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a private PostgreSQL: {exc.stderr.decode()[-200:]}")
    try:
        yield f"postgresql://postgres@/postgres?host={sock}"
    finally:
        subprocess.run(_as_postgres_user([str(bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _fresh_db(url: str, name: str) -> str:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.replace("/postgres?", f"/{name}?")


def test_two_bot_processes_on_one_postgresql_review_each_version_once(tmp_path, capsys, postgres):
    db = _fresh_db(postgres, "two_workers")
    md = tmp_path / "md"
    for step in (1, 2, 3):
        grow(tmp_path / "archive", step)
    procs = [run_bot_process(tmp_path, md, {}, db=db, wait=False) for _ in range(2)]
    logs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        logs.append(err.decode())
    reviewed = [line for log in logs for line in log.splitlines() if '"event": "series reviewed"' in line]
    assert len(reviewed) == 4
    assert sorted(m["In-Reply-To"] for m in posted(md)) == sorted([A1, A2, B, C])
    st = status(tmp_path, capsys, db=db)
    assert st["counts"]["done"] == 4 and st["counts"]["duplicate"] == 1 and st["counts"]["posts"] == 4
    assert all(s["attempts"] == 0 and s["takeovers"] == 0 for s in st["series"])
    # both again: nothing more
    for p in [run_bot_process(tmp_path, md, {}, db=db, wait=False) for _ in range(2)]:
        p.communicate(timeout=120)
        assert p.returncode == 0
    assert len(posted(md)) == 4


def test_postgresql_kill_9_then_restart(tmp_path, capsys, postgres):
    db = _fresh_db(postgres, "kill9")
    md = tmp_path / "md"
    for step in (1, 2):
        grow(tmp_path / "archive", step)
    code, _, err = run_bot_process(tmp_path, md, {"REVIEWKIT_BOT_CRASH_AT": "sent:3"}, db=db)
    assert code == -9, err
    code, _, err = run_bot_process(tmp_path, md, {}, db=db)
    assert code == 0, err
    assert sorted(m["In-Reply-To"] for m in posted(md)) == sorted([A1, A2, B, C])
    assert status(tmp_path, capsys, db=db)["counts"]["posts"] == 4


# -- SMTP ----------------------------------------------------------------------------------------

@pytest.fixture
def smtp_server():
    controller_mod = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed")

    class Inbox:
        def __init__(self) -> None:
            self.got = []

        async def handle_DATA(self, server, session, envelope):
            self.got.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            return "250 OK"

    inbox = Inbox()
    port = free_port()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def test_smtp_posting_to_a_real_server(tmp_path, capsys, smtp_server):
    inbox, url = smtp_server
    grow(tmp_path / "archive", 1)
    grow(tmp_path / "archive", 2)
    assert main(["bot", "--source", str(tmp_path / "archive"), "--tree", str(TREE), "--db", str(tmp_path / "db"),
                 "--post", url, "--post", f"maildir:{tmp_path / 'md'}", "--from", "CI <ci@example.org>",
                 "--once"]) == 0
    assert len(inbox.got) == 4 and len(posted(tmp_path / "md")) == 4
    import email
    import email.policy
    by = {}
    for sender, rcpts, data in inbox.got:
        assert sender == "ci@example.org"
        m = email.message_from_bytes(data, policy=email.policy.default)
        by[m["In-Reply-To"]] = (rcpts, m, data)
    rcpts, m, data = by[A1]
    assert sorted(rcpts) == ["ada@example.org", "akpm@example.org", "linux-mm@kvack.org"]
    assert b"Content-Transfer-Encoding: 8bit" in data and b"base64" not in data.lower()
    assert "BUG_ON() crashes the kernel" in m.get_content()
    # a rerun sends nothing
    assert main(["bot", "--source", str(tmp_path / "archive"), "--db", str(tmp_path / "db"), "--post", url,
                 "--once"]) == 0
    assert len(inbox.got) == 4


def test_smtp_send_cut_by_kill_9_is_not_repeated(tmp_path, capsys, smtp_server):
    """SMTP cannot be asked whether it has a mail: after a crash during a send, at most once, and said."""
    inbox, url = smtp_server
    grow(tmp_path / "archive", 1)
    cmd = [sys.executable, "-m", "reviewkit", "bot", "--source", str(tmp_path / "archive"), "--tree", str(TREE),
           "--db", str(tmp_path / "db"), "--post", url, "--once", "--no-checkpatch"]
    first = subprocess.run(cmd, env={**os.environ, "REVIEWKIT_BOT_CRASH_AT": "sent:1"}, capture_output=True,
                           cwd=str(ROOT), timeout=120)
    assert first.returncode == -9
    assert len(inbox.got) == 1
    assert subprocess.run(cmd, capture_output=True, cwd=str(ROOT), timeout=120).returncode == 0
    assert len(inbox.got) == 1  # B only: A v1 waits for its 2/2
    st = by_key(status(tmp_path, capsys, db=str(tmp_path / "db")))
    post = st[B]["posted"][0]
    assert post["state"] == "unconfirmed" and "at most once" in post["note"]


# -- public-inbox over HTTP ----------------------------------------------------------------------

@pytest.fixture
def public_inbox(tmp_path):
    for tool in ("public-inbox-init", "public-inbox-mda", "public-inbox-httpd"):
        if not shutil.which(tool):
            pytest.skip("public-inbox is not installed (Debian: apt-get install public-inbox)")
    port = free_port()
    home = tmp_path / "pi"
    home.mkdir()
    env = {**os.environ, "PI_CONFIG": str(home / "config"), "HOME": str(home)}
    url = f"http://127.0.0.1:{port}/test/"
    subprocess.run(["public-inbox-init", "-V2", "test", str(home / "inbox"), url, "test@example.org"],
                   env=env, check=True, capture_output=True, timeout=60)
    subprocess.run(["git", "config", "-f", str(home / "config"), "publicinboxmda.spamcheck", "none"],
                   env=env, check=True, timeout=60)

    def deliver(step: int) -> None:
        for raw in mails(step):
            subprocess.run(["public-inbox-mda", "--no-precheck"], input=raw, check=True, capture_output=True,
                           env={**env, "ORIGINAL_RECIPIENT": "test@example.org"}, timeout=60)

    httpd = subprocess.Popen(["public-inbox-httpd", "-W0", "-l", f"127.0.0.1:{port}"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url, deliver
    finally:
        httpd.kill()
        httpd.wait(timeout=30)


def test_http_source_against_public_inbox_httpd(tmp_path, capsys, public_inbox):
    url, deliver = public_inbox
    md = tmp_path / "md"
    args = ["bot", "--source", url, "--tree", str(TREE), "--db", str(tmp_path / "db"), "--post", f"maildir:{md}",
            "--settle", "3600", "--once"]
    deliver(1)
    assert main(args) == 0
    assert [m["In-Reply-To"] for m in posted(md)] == [B]
    deliver(2)
    deliver(3)
    assert main(args) == 0
    assert main(args) == 0
    assert sorted(m["In-Reply-To"] for m in posted(md)) == sorted([A1, A2, B, C])
    st = status(tmp_path, capsys, db=str(tmp_path / "db"))
    assert st["counts"]["done"] == 4 and st["counts"]["duplicate"] == 1
    # whole threads came as t.mbox.gz: the replies are there too
    assert st["counts"]["messages"]["reply"] == 2 and st["counts"]["messages"]["bot"] == 1
    # a search instead of the feed (read as ?q=...&x=A): only the series it finds
    md2 = tmp_path / "md2"
    assert main(["bot", "--source", url + "?q=s:hwpoison", "--tree", str(TREE), "--db", str(tmp_path / "db2"),
                 "--post", f"maildir:{md2}", "--once"]) == 0
    assert [m["In-Reply-To"] for m in posted(md2)] == [C]
