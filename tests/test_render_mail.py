"""Reply mails as the lists receive them: parsed back with Python's `email` (transfer encoding, folding,
quoting), the patch's own line numbers when it applied at an offset, From, nothing sent when there is
nothing to say, and no header injection from hostile mail data (issue 16) in any header we write."""
from __future__ import annotations

import base64
import email
import email.policy
import json
import shutil
import subprocess
import sys

import pytest

from reviewkit.render import email_reply, mail

from tests.conftest import ROOT
from tests.test_render_golden import build_report, fixture_report, in_repo

ALLOWED = {"from", "to", "cc", "subject", "in-reply-to", "references", "x-reviewkit-findings", "mime-version",
           "content-type", "content-transfer-encoding"}


def run(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd or ROOT, env=env)


def messages(box: str) -> list:
    """The mbox split and parsed the strict way (policy.default), plus each one's raw header block."""
    parts = [p for p in box.split(mail.UNIXFROM + "\n") if p]
    return [(email.message_from_bytes(p.encode("utf-8"), policy=email.policy.default), p.split("\n\n", 1)[0])
            for p in parts]


def assert_clean_headers(msg, head: str) -> None:
    names = [k.lower() for k in msg.keys()]
    assert set(names) <= ALLOWED, names                              # no Bcc, no X-Injected
    assert len(names) == len(set(names)), names                      # each header once
    unfolded = head.replace("\n ", " ").replace("\n\t", " ").split("\n")
    assert len(unfolded) == len(names)                               # one line per header once unfolded
    for line in head.split("\n"):
        assert len(line) <= 78 or " " not in line.split(": ", 1)[-1].strip(), line  # folded where it can be
    for value in msg.values():
        assert "\r" not in str(value) and "\n" not in str(value)


# -- transfer encoding, folding, quoting ------------------------------------------------------------

def test_our_non_ascii_text_goes_8bit_never_base64():
    data = fixture_report("bug-on")
    data["findings"][0]["message"] += " … ü"
    box = email_reply.render(data)
    ((msg, head),) = messages(box)
    assert msg["Content-Transfer-Encoding"] == "8bit" and msg.get_content_charset() == "utf-8"
    assert "… ü" in box                                               # raw in the mail, as the lists read it
    assert "… ü" in msg.get_content()
    assert_clean_headers(msg, head)


def test_a_line_too_long_for_smtp_goes_quoted_printable():
    data = fixture_report("bug-on")
    data["findings"][0]["related"] = [{"path": "mm/x.c", "line": 1, "note": "x" * 1200}]
    box = email_reply.render(data)
    ((msg, _),) = messages(box)
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert max(len(ln) for ln in box.split("\n")) <= 78
    assert "x" * 1200 in msg.get_content()


def test_recipients_folded_deduplicated_and_not_the_sender():
    data = fixture_report("hostile")
    patch = data["report"]["patches"][0]
    people = [[f"Person Number {i}", f"p{i}@example.org"] for i in range(40)]
    patch["mail"]["cc"] = people + [["Again", "P3@Example.org"], ["Me", "me@example.org"]]
    box = email_reply.render(data, sender=mail.parse_sender("Me Myself <me@example.org>"))
    msg, head = messages(box)[0]
    cc = [a.addr_spec.lower() for a in msg["Cc"].addresses]
    assert cc == ["linux-mm@kvack.org"] + [f"p{i}@example.org" for i in range(40)]
    assert str(msg["From"]) == "Me Myself <me@example.org>"
    assert max(len(ln) for ln in head.split("\n")) <= 78 and head.count("\n ") > 10
    assert_clean_headers(msg, head)


def test_the_patch_author_is_copied_when_someone_else_sent_it():
    data = fixture_report("hostile")
    data["report"]["patches"][0]["author"] = {"name": "Real Author", "email": "real@example.org"}
    msg = messages(email_reply.render(data))[0][0]
    assert [a.addr_spec for a in msg["To"].addresses] == ["evil@example.org"]       # the sender
    assert "real@example.org" in [a.addr_spec for a in msg["Cc"].addresses]
    assert msg.get_content().startswith("Hi Real,")


def test_no_markdown_and_a_one_line_footer():
    data = fixture_report("bug-on")
    ((msg, _),) = messages(email_reply.render(data))
    body = msg.get_content()
    assert "`" not in body and "**" not in body
    signature = body.split("\n-- \n", 1)[1].strip().split("\n")
    assert len(signature) == 1 and "reviewkit" in signature[0] and "Reviewkit-Waive:" in signature[0]
    assert f"id {data['findings'][0]['fingerprint']}" in body        # what to put in the waiver


# -- the patch's own line numbers -------------------------------------------------------------------

@pytest.fixture
def shifted_tree(tmp_path):
    """The no-new-bug-on fixture tree with 7 lines added above the code: the patch applies at offset 7."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "rules/mm/no-new-bug-on.tree", tree)
    path = tree / "mm" / "demo_rmap.c"
    path.write_text("/* a */\n" * 7 + path.read_text())
    return tree


@pytest.mark.parametrize("patch_line", [True, False], ids=["patch_line", "by-code"])
def test_finding_quoted_by_the_patch_line_when_the_patch_applied_at_an_offset(shifted_tree, patch_line):
    with in_repo():
        data = build_report(["rules/mm/no-new-bug-on.bad.patch"], str(shifted_tree), summary=False)
    (f,) = data["findings"]
    assert f["line"] == 20                                            # the tree's numbering: 13 + 7
    assert f.get("patch_line") == 13
    if not patch_line:  # without it (older data): the hunk line nearest to the tree line showing the code
        del f["patch_line"]
    ((msg, _),) = messages(email_reply.render(data))
    body = msg.get_content()
    assert "mm/demo_rmap.c:13: WARNING:" in body                      # the TL;DR speaks the patch's numbers
    quoted, comment = body.split("BUG_ON(atomic_read(&page->_mapcount) < 0); /* ruleid: mm/no-new-bug-on */\n", 1)
    assert quoted.endswith("\n> +\t")                                  # quoted as the added line
    assert comment.lstrip().startswith("BUG_ON() crashes the kernel")  # the comment right under it
    assert "Not in the quoted hunks" not in body


def test_patch_line_wins_when_findings_carry_it():
    data = fixture_report("bug-on")
    patch = data["report"]["patches"][0]
    for fd in patch["files"]:                                         # as if report_data had not placed it
        for h in fd["hunks"]:
            for ln in h["lines"]:
                ln["findings"] = []
    data["findings"][0].update(line=113, patch_line=13, snippet="")
    body = messages(email_reply.render(data))[0][0].get_content()
    assert "mm/demo_rmap.c:13: WARNING:" in body and "> +\tBUG_ON(" in body


def test_commit_message_finding_quoted_under_its_line():
    data = fixture_report("hostile")
    patch = data["report"]["patches"][1]
    patch["log"] = "mm: do it\n\nA long story.\nChange-Id: I0123\nMore text.\nLast line.\n"
    (n,) = patch["findings"]
    data["findings"][n]["snippet"] = "Change-Id: I0123"
    body = messages(email_reply.render(data))[1][0].get_content()
    quoted, after = body.split("> Change-Id: I0123\n", 1)
    assert "> A long story." in quoted and after.lstrip().startswith("no Signed-off-by")
    assert "> Last line." not in quoted and after.split("[patch/signed-off-by", 1)[1].count("> [...]") == 1


# -- CLI: From, nothing to say ----------------------------------------------------------------------

def test_cli_from_flag_git_identity_and_placeholder(tmp_path):
    hostile = str(ROOT / "fixtures/render/hostile-series.mbox")
    r = run("lint", hostile, "--format", "email", "--from", "Rév Iewer <rev@example.org>")
    assert r.returncode == 1, r.stderr
    assert all(str(m["From"]) == "Rév Iewer <rev@example.org>" for m, _ in messages(r.stdout))
    assert run("lint", hostile, "--format", "email", "--from", "a@x, b@y").returncode == 2
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    r = run("lint", hostile, "--format", "email", cwd=tmp_path, env=env)
    assert {str(m["From"]) for m, _ in messages(r.stdout)} == {mail.PLACEHOLDER_FROM}
    assert "no --from" in r.stderr
    (home / ".gitconfig").write_text("[user]\n\tname = Git Person\n\temail = git@example.org\n")
    r = run("lint", hostile, "--format", "email", cwd=tmp_path, env=env)
    assert {str(m["From"]) for m, _ in messages(r.stdout)} == {"Git Person <git@example.org>"}
    assert "no --from" not in r.stderr


def test_cli_nothing_to_say_writes_nothing(tmp_path):
    out = tmp_path / "review.mbox"
    r = run("lint", "fixtures/mail/mm-swap-series.mbox", "--format", "email", "-o", str(out))
    assert r.returncode == 0 and not out.exists() and r.stdout == ""
    assert "no mail written" in r.stderr and "wrote" not in r.stderr


# -- header injection (issue 16) ---------------------------------------------------------------------

CRLF_PAYLOAD = b"x\r\nBcc: evil@example.com\r\nX-Injected: 1"


def _b(data: bytes) -> str:
    return "=?utf-8?b?" + base64.b64encode(data).decode() + "?="


def _q(data: bytes) -> str:
    return "=?utf-8?q?" + "".join(f"={c:02X}" for c in data) + "?="


TRICKS = {
    "encoded-crlf": _b(CRLF_PAYLOAD),
    "q-encoded-crlf": _q(CRLF_PAYLOAD),
    "nested": _b(_b(CRLF_PAYLOAD).encode()),               # decodes to an encoded word that holds CR LF
    "nested-q": _q(_q(CRLF_PAYLOAD).encode()),
    "unicode-separators": _b("x\u2028Bcc: evil@example.com\u0085X-Injected: 1".encode()),
}


def _hostile_mail(trick: str) -> bytes:
    """A patch mail (no Signed-off-by: it draws a finding, so a reply is written) with the trick in every
    header we copy into the reply."""
    head = [
        f"From: {trick} <author@example.org>",
        f"To: {trick} <list@example.org>, {trick}",
        f"Cc: \"{trick}\" <cc@example.org>",
        f"Subject: [PATCH] mm: fix {trick}",
        "Date: Tue, 02 Jan 2024 10:00:00 +0000",
        f"Message-ID: <{trick}@example.org>" if "nested" in trick else "Message-ID: <patch@example.org>",
        f"In-Reply-To: {trick}",
        f"References: {trick} <cover@example.org> <{trick}>",
    ]
    body = ["Fix it.", "", "---", "diff --git a/mm/x.c b/mm/x.c", "--- a/mm/x.c", "+++ b/mm/x.c",
            "@@ -1,2 +1,3 @@", " int a;", "+int b;", " int c;", ""]
    return ("\n".join(head) + "\n\n" + "\n".join(body)).encode()


@pytest.mark.parametrize("name", sorted(TRICKS))
def test_no_header_injection_through_lint_email(tmp_path, name):
    trick = TRICKS[name]
    path = tmp_path / "hostile.eml"
    path.write_bytes(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + _hostile_mail(trick))
    r = run("lint", str(path), "--format", "email", "--from", f"{trick} <me@example.org>")
    assert r.returncode == 1, r.stderr
    ((msg, head),) = messages(r.stdout)
    assert_clean_headers(msg, head)
    for strict in (email.policy.default, email.policy.compat32):   # whichever way a reader parses it
        again = email.message_from_bytes(r.stdout.split("\n", 1)[1].encode("utf-8"), policy=strict)
        assert not {"bcc", "x-injected"} & {k.lower() for k in again.keys()}
    assert msg["To"].addresses[0].addr_spec == "author@example.org"
    assert {a.addr_spec for a in msg["Cc"].addresses} == {"list@example.org", "cc@example.org"}
    assert str(msg["From"]).endswith("<me@example.org>") and len(msg["From"].addresses) == 1
    assert msg["Subject"].startswith("Re: [PATCH] mm: fix ")
    for value in (msg["In-Reply-To"], msg["References"]):
        assert value is None or all(i.startswith("<") and i.endswith(">") and "=?" not in i for i in value.split())
    assert "<cover@example.org>" in msg["References"]


@pytest.mark.parametrize("name", sorted(TRICKS))
def test_no_header_injection_through_the_bot_path(name):
    """Parent.from_message + reply: what the bot will call on a mail it received."""
    raw = _hostile_mail(TRICKS[name]).decode()
    parent = mail.Parent.from_message(email.message_from_string(raw, policy=email.policy.compat32))
    errors: list = []
    msg = mail.reply(parent, "Hi,\n\nA comment.\n", sender=mail.parse_sender("Bot <bot@example.org>"),
                     errors=errors)
    ((parsed, head),) = messages(mail.mbox([msg]))
    assert_clean_headers(parsed, head)
    assert parsed["To"].addresses[0].addr_spec == "author@example.org"
    assert "Bcc" not in str(parsed["Subject"]).split("fix", 1)[0]


def test_values_are_decoded_once_and_written_to_decode_to_themselves():
    literal = "=?utf-8?q?not_decoded_again?="
    parent = mail.Parent(subject=f"[PATCH] {literal}", msgid="<a@b>", author=(literal, "a@example.org"))
    ((msg, _),) = messages(mail.mbox([mail.reply(parent, "x")]))
    assert msg["Subject"] == f"Re: [PATCH] {literal}"                # the reader sees our text, not its decoding
    assert msg["To"].addresses[0].display_name == literal


def test_bad_addresses_are_left_out_with_an_error():
    parent = mail.Parent(subject="s", msgid="<a@b>", author=("A", "a@example.org"),
                         cc=[("B", "b@example.org\r\nBcc: e@x"), ("C", "c@@x"), ("D", "d@example.org")])
    errors: list = []
    ((msg, head),) = messages(mail.mbox([mail.reply(parent, "x", errors=errors)]))
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["d@example.org"]
    assert len(errors) == 2 and all("left out" in e["message"] for e in errors)
    assert_clean_headers(msg, head)
    assert mail.message_ids("<ok@x> junk <=?utf-8?q?x?=@y> <a b@c> <fine@y>") == ["<ok@x>", "<fine@y>"]


# -- the web-capture repair gets --tree from the CLI ------------------------------------------------

@pytest.mark.parametrize("command", ["parse", "lint"])
def test_cli_tree_reaches_the_web_capture_repair(command):
    page = "fixtures/web/mail-archive-thread.txt"
    fmt = ["--format", "json"]
    without = run(command, page, *fmt)
    with_tree = run(command, page, "--tree", "fixtures/web/tree", *fmt)
    if command == "parse":
        kinds = [r["kind"] for m in json.loads(with_tree.stdout)["messages"] for r in m.get("repairs") or []]
        assert "restored-from-tree" in kinds
        assert "restored-from-tree" not in without.stdout
    else:  # lint reads through the same path: the repaired context lines apply exactly
        assert "restored-from-tree" in run("parse", page, "--tree", "fixtures/web/tree", *fmt).stdout
        assert with_tree.returncode in (0, 1), with_tree.stderr
