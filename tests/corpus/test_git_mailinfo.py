"""git's own mail samples against our parse: t5100 (mailsplit/mailinfo), t4013
(format-patch output), t4256 (format=flowed) and t4258 (quoted CR).

Expectations: ../shared/corpus/git/EXPECTATIONS.json and the expected-output
files git ships beside its inputs (`info<N>`, `msg<N>`, `patch<N>`, ...).
`git mailinfo` is run per message, whatever the message is, so these tests
call `parse_patch` on every message rather than looking only at the ones the
pipeline classifies as patches.
"""
from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import Optional

import pytest

from reviewkit.ingest import read_inputs
from reviewkit.model import Errors, Message, Patch
from reviewkit.ingest.mail import parse_person
from reviewkit.patches import parse_patch, split_inbody_headers
from reviewkit.pipeline import Parsed, parse_inputs
from reviewkit.subject import parse_subject

from tests.conftest import CORPUS  # noqa: E402
GIT = CORPUS / "git"
T5100 = GIT / "t5100"


def _expectations() -> dict:
    path = GIT / "EXPECTATIONS.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _params(values: list) -> list:
    """Parameters read from the corpus at collection time; one placeholder
    when it is absent, so the `corpus` fixture skips with its reason."""
    return values or [pytest.param(None, id="corpus-absent")]


@lru_cache(maxsize=None)
def _parse(path: str) -> Parsed:
    return parse_inputs([path])


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def _norm(text: str) -> str:
    """Trailing whitespace of each line and blank lines at both ends do not count."""
    lines = [ln.rstrip() for ln in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _read_info(path: Path) -> dict:
    info = {}
    for line in _text(path).split("\n"):
        if ": " in line:
            key, value = line.split(": ", 1)
            info[key] = value
    return info


def _patch_of(msg: Message) -> Optional[Patch]:
    return parse_patch(msg, Errors())


def assert_info(msg: Message, patch: Optional[Patch], expected: dict, check_date: bool = True) -> None:
    """Compare with git's `info` file. git takes in-body From/Subject only when the
    mail carries a patch; so do we (parse_patch returns None without a diff).
    git prints the address as Author when there is no name; Person keeps the
    name empty and shows the address in its place (Person.__str__)."""
    person = patch.author if patch else msg.sender
    subject = patch.subject.title if patch else parse_subject(msg.subject).title
    got = {"Author": person.name or person.email, "Email": person.email, "Subject": subject}
    assert got == {key: expected.get(key, "") for key in got}
    if check_date:
        assert msg.date == parsedate_to_datetime(expected["Date"])


def assert_patch_part(patch: Optional[Patch], expected: str) -> None:
    """Compare with git's `patch` file: everything from the `---` line on.

    The text between `---` and the diff is our `notes` (without the `---`
    line). git's diff part goes on to the end of the mail, keeping the `-- `
    signature and any list footer; our `Patch.diff` ends with the last hunk.
    So git's diff text must start with ours, and what is left must be blank
    or a signature block.
    """
    if not expected:
        assert patch is None
        return
    assert patch is not None
    start = re.search(r"^diff ", expected, re.M)
    assert start is not None, "git's patch file has no diff line"
    pre, diff = expected[: start.start()], expected[start.start():]
    pre_lines = pre.split("\n")
    if pre_lines[0].rstrip() == "---":
        pre_lines = pre_lines[1:]
    assert _norm(patch.notes) == _norm("\n".join(pre_lines))
    assert diff[: len(patch.diff)] == patch.diff
    rest = diff[len(patch.diff):].lstrip("\n")
    assert rest == "" or rest.startswith("-- \n"), f"git's patch goes on after our diff with {rest[:80]!r}"


# --- mailsplit -------------------------------------------------------------

MAILSPLIT = sorted(_expectations().get("t5100", {}).get("mailsplit", {}).items())


@pytest.mark.parametrize("name_count", _params(MAILSPLIT), ids=lambda nc: nc[0].split()[0] if nc else "")
def test_mailsplit_count(corpus, name_count):
    name, count = name_count
    errors = Errors()
    messages = list(read_inputs([str(T5100 / name.split()[0])], errors))
    assert len(messages) == count
    assert list(errors) == []


# --- mailinfo on the 18 messages of sample.mbox ------------------------------

# Where our model deliberately differs from git's default output, the
# comparison uses the git option variant whose output our model gives.
VARIANTS = {
    # The in-body "From: bogosity" block is not followed by a blank line. git
    # takes it anyway and ends up with an empty author and an empty log;
    # split_inbody_headers deliberately ignores an unterminated in-body header
    # block, so the mail's sender stays the author and the lines stay in the
    # log: git's --no-inbody-headers output.
    15: {"info": "--no-inbody-headers", "msg": "--no-inbody-headers", "patch": "--no-inbody-headers"},
    # "Date: bogus" in the body is consumed as git does (msg0016 matches), but a
    # Patch has no author-date field: the date we carry is the mail's Date,
    # which is what git reports with --no-inbody-headers.
    16: {"info": "--no-inbody-headers"},
}


def _expected_file(kind: str, number: int) -> Path:
    return T5100 / f"{kind}{number:04d}{VARIANTS.get(number, {}).get(kind, '')}"


def _sample_message(number: int) -> Message:
    return _parse(str(T5100 / "sample.mbox")).messages[number - 1]


SAMPLE = pytest.mark.parametrize("number", range(1, 19), ids=lambda n: f"{n:04d}")


@SAMPLE
def test_sample_info(corpus, number):
    msg = _sample_message(number)
    assert_info(msg, _patch_of(msg), _read_info(_expected_file("info", number)))


@SAMPLE
def test_sample_msg(corpus, number):
    msg = _sample_message(number)
    patch = _patch_of(msg)
    expected = _text(_expected_file("msg", number))
    if patch is None and number == 8:
        # 0008 has no diff but starts with in-body From:/Subject: lines, which
        # git strips from its msg. A mail without a diff is not a commit for
        # us: its body is kept as written, in-body header lines included.
        expected = "From: A U Thor <a.u.thor@example.com>\nSubject: [PATCH] another patch\n" + expected
    assert _norm(patch.log if patch else msg.body) == _norm(expected)


@SAMPLE
def test_sample_patch(corpus, number):
    msg = _sample_message(number)
    assert_patch_part(_patch_of(msg), _text(_expected_file("patch", number)))


# --- single-mail t5100 cases --------------------------------------------------

@pytest.mark.parametrize("name", ["info-from", "comment", "quoted-string"])
def test_single_mail_info(corpus, name):
    parsed = _parse(str(T5100 / f"{name}.in"))
    assert len(parsed.messages) == 1
    msg = parsed.messages[0]
    assert_info(msg, _patch_of(msg), _read_info(T5100 / f"{name}.expect"))


def test_embedded_format_patch_headers(corpus):
    """embed-from.in carries a `>From <sha>` line and in-body headers, but no diff:
    we only apply in-body headers to mails with a patch (like 0008 above), so the
    in-body header split is checked directly. The in-body Date is not kept (a
    Patch has no author date)."""
    (msg,) = _parse(str(T5100 / "embed-from.in")).messages
    expected = _read_info(T5100 / "embed-from.expect")
    inbody, rest = split_inbody_headers(msg.body)
    author = parse_person(inbody["From"])
    assert (author.name, author.email) == (expected["Author"], expected["Email"])
    assert parse_subject(inbody["Subject"]).title == expected["Subject"]
    assert rest.strip().startswith("patch body")


def test_quoted_from_msg(corpus):
    """A `>From ` line in a plain mbox (not mboxrd) stays quoted, as git keeps it."""
    (msg,) = _parse(str(T5100 / "quoted-from.in")).messages
    assert _patch_of(msg) is None
    body_above_separator = msg.body.split("\n---\n")[0]
    assert _norm(body_above_separator) == _norm(_text(T5100 / "quoted-from.expect"))


def test_nul_in_base64_patch(corpus):
    (msg,) = _parse(str(T5100 / "nul-b64.in")).messages
    assert_patch_part(_patch_of(msg), _text(T5100 / "nul-b64.expect"))


# --- RFC 2047 --------------------------------------------------------------

@pytest.mark.parametrize("number", range(1, 12), ids=lambda n: f"{n:04d}")
def test_rfc2047_info(corpus, number):
    parsed = _parse(str(T5100 / "rfc2047-samples.mbox"))
    msg = parsed.messages[number - 1]
    expected = _read_info(T5100 / f"rfc2047-info-{number:04d}")
    got = {"Author": msg.sender.name or msg.sender.email, "Email": msg.sender.email,
           "Subject": parse_subject(msg.subject).title}
    assert got == {key: expected.get(key, "") for key in got}


# --- mboxrd ---------------------------------------------------------------------

@pytest.mark.parametrize("number", [1, 2])
def test_mboxrd_unescaping(corpus, number):
    msg = _parse(str(T5100 / "sample.mboxrd")).messages[number - 1]
    assert _norm(msg.body) == _norm(_text(T5100 / f"{number:04d}mboxrd"))


# --- quoted CR (t5100 quoted-cr.mbox) ----------------------------------------------

def _quoted_cr(text: str) -> str:
    """git's test data marks CRs as %%: drop a line-final %% (the CR of a CRLF
    line end), turn the others into CR."""
    return re.sub(r"%%$", "", text, flags=re.M).replace("%%", "\r")


@pytest.mark.parametrize("number", [1, 2])
def test_quoted_cr(corpus, number):
    """Message 1 has a bare CR inside a line; message 2 is the same mail with
    CRLF line ends inside the base64. git keeps those CRs by default and strips
    them with --quoted-cr=strip; we always turn CRLF into LF in a decoded body,
    so both messages must give the expectation of message 1 (bare CR kept)."""
    msg = _parse(str(T5100 / "quoted-cr.mbox")).messages[number - 1]
    patch = _patch_of(msg)
    assert_info(msg, patch, _read_info(T5100 / "quoted-cr-info"))
    assert patch is not None
    assert _norm(patch.log) == _norm(_quoted_cr(_text(T5100 / "quoted-cr-msg")))
    assert_patch_part(patch, _quoted_cr(_text(T5100 / "quoted-cr-patch")))


# --- t4013: git format-patch --stdout ---------------------------------------------

T4013 = sorted(_expectations().get("t4013_format_patch", {}).get("files", {}).items())


def _strip_transcript(raw: bytes) -> bytes:
    """Drop the `$ git format-patch ...` first line and the closing `$` line."""
    lines = raw.split(b"\n")
    assert lines[0].startswith(b"$ git format-patch")
    while lines and lines[-1] == b"":
        lines.pop()
    assert lines[-1] == b"$"
    return b"\n".join(lines[1:-1]) + b"\n"


@pytest.mark.parametrize("name_exp", _params(T4013), ids=lambda ne: ne[0].replace("diff.format-patch_", "") if ne else "")
def test_format_patch_output(corpus, tmp_path, name_exp):
    name, exp = name_exp
    mbox = tmp_path / "stdout.mbox"
    mbox.write_bytes(_strip_transcript((GIT / "t4013-format-patch" / name).read_bytes()))
    parsed = parse_inputs([str(mbox)])
    assert list(parsed.errors) == []
    assert len(parsed.messages) == exp["messages"]
    assert [m.subject for m in parsed.messages] == exp["subjects"]
    assert sum(len(p.files) for p in parsed.patches.values()) == exp["diff_git_headers"]
    total = max((parse_subject(s).total or 0 for s in exp["subjects"]), default=0)
    if total:
        (series,) = [s for s in parsed.series if s.patches]
        assert series.counters == tuple(range(1, total + 1))
        assert series.complete


def test_format_patch_cover_letter_heads_its_series(corpus, tmp_path):
    """Not in EXPECTATIONS, but what the file is: `git format-patch --cover-letter -n`
    output of one range is one series, the 0/2 cover letter and its 1/2, 2/2.
    There are no Message-IDs (no --thread), and the cover's From is the
    committer (C O Mitter) while each patch's From is its author (A U Thor)."""
    name = "diff.format-patch_--stdout_--cover-letter_-n_initial..main^"
    mbox = tmp_path / "stdout.mbox"
    mbox.write_bytes(_strip_transcript((GIT / "t4013-format-patch" / name).read_bytes()))
    parsed = parse_inputs([str(mbox)])
    cover = parsed.messages[0].msgid
    assert parsed.kinds[cover] == "cover"
    (series,) = parsed.series
    assert series.cover == cover
    assert series.counters == (1, 2)


# --- t4256: format=flowed patch ----------------------------------------------------

def test_format_flowed_patch(corpus):
    """Thunderbird sent this patch format=flowed: long lines soft-broken, context
    lines space-stuffed. Unflowed correctly, every hunk's line counts fit its
    header (no recount error) and the totals match the diffstat's 62/2."""
    parsed = _parse(str(GIT / "t4256" / "patch"))
    assert list(parsed.errors) == []
    (patch,) = parsed.patches.values()
    assert patch.log == ""
    (fd,) = patch.files
    assert (fd.path, fd.status, fd.added, fd.removed) == ("mailinfo.c", "modified", 62, 2)
    assert [(h.old_start, h.old_len, h.new_start, h.new_len) for h in fd.hunks] == [
        (237, 11, 237, 22), (964, 6, 975, 52), (1012, 7, 1069, 7), (1022, 13, 1079, 16)]
    # the first hunk header was soft-broken after "const char "
    assert fd.hunks[0].section == "static int slurp_attr(const char *line, const char *name, struct strbuf *attr)"
    # space-stuffed context line "  \treturn 1;" is unstuffed to " \treturn 1;"
    assert (fd.hunks[0].lines[0].kind, fd.hunks[0].lines[0].text) == (" ", "\treturn 1;")


# --- t4258: quoted CRLF in a base64 body ---------------------------------------------

def test_quoted_crlf_base64(corpus):
    """git am warns "quoted CRLF detected" and applies with --quoted-cr=strip; we
    decode CRLF to LF, which is that strip, without a warning."""
    parsed = _parse(str(GIT / "t4258" / "mbox"))
    (patch,) = parsed.patches.values()
    assert patch.log == "This is commit message."
    (fd,) = patch.files
    assert fd.path == "text"
    assert [(ln.kind, ln.text) for h in fd.hunks for ln in h.lines] == [("-", "one"), ("+", "two")]
    assert "\r" not in patch.log + patch.notes + patch.diff
