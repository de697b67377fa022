"""The `reviewkit` command as users and CI bots call it."""
from __future__ import annotations

import json
import subprocess
import sys

from reviewkit.cli import main


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], capture_output=True, text=True,
                          input=stdin, timeout=120)


def test_parse_json_contract(fixtures):
    r = run("parse", str(fixtures / "mail" / "mm-swap-series.mbox"), "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for key in ("version", "errors", "messages", "threads", "series"):
        assert key in data
    m = data["messages"][0]
    assert {"msgid", "subject", "from", "date", "in_reply_to", "references", "kind"} <= set(m)
    assert set(m["from"]) == {"name", "email"}
    assert m["kind"] == "cover" and m["date"] == "2023-03-06T10:00:00+01:00"
    t = data["threads"][0]
    assert set(t) >= {"root", "messages", "parent"} and t["parent"][t["root"]] is None
    s = data["series"][0]
    assert {"version", "total", "cover", "patches", "complete"} <= set(s)
    assert s["complete"] is True and len(s["patches"]) == 2


def test_errors_in_json_and_exit_codes(fixtures, tmp_path):
    r = run("parse", str(fixtures / "bad" / "path-traversal.patch"), "--format", "json")
    assert r.returncode == 0
    (err,) = json.loads(r.stdout)["errors"]
    assert set(err) == {"input", "where", "message"} and "leaves the source tree" in err["message"]
    r = run("parse", str(fixtures / "bad" / "no-headers.eml"), "--format", "json")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert json.loads(r.stdout)["messages"] == []


def test_usage_error_exits_2(capsys):
    try:
        main(["parse"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "usage" in capsys.readouterr().err


def test_text_output_and_file(fixtures, tmp_path):
    out = tmp_path / "reports" / "parse.txt"
    r = run("parse", str(fixtures / "mail" / "mm-swap-series.mbox"), str(fixtures / "patches" / "swapcache-v2"),
            "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert 'series 1: v2 "mm/swap: count swap cache hits per memcg"' in text
    assert "follows series 0" in text
    assert "given in replies: Reviewed-by: Grace Hopper, Acked-by: Linus Example" in text


def test_stdin_dash(fixtures):
    r = run("parse", "-", "--format", "json", stdin=(fixtures / "mail" / "mm-swap-series.mbox").read_text())
    assert r.returncode == 0
    assert len(json.loads(r.stdout)["messages"]) == 7


def test_text_draws_threads_outside_series(tmp_path):
    """A discussion with no patch: who answered whom, in order, indented by depth."""
    mail = ("From: {who} <{addr}>\nSubject: {subj}\nMessage-ID: <{me}>\n{irt}"
            "Date: Mon, 06 Mar 2023 1{n}:00:00 +0000\n\nbody\n")
    (tmp_path / "a.eml").write_text(mail.format(who="Ada", addr="ada@example.org", subj="mm: a question",
                                                me="q@x", irt="", n=0))
    (tmp_path / "b.eml").write_text(mail.format(who="Grace", addr="grace@example.com", subj="Re: mm: a question",
                                                me="r@x", irt="In-Reply-To: <q@x>\n", n=1))
    r = run("parse", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert 'thread "mm: a question":\n  Ada, 2023-03-06 10:00\n    Grace, 2023-03-06 11:00\n' in r.stdout
