"""The review as a kernel-style reply mail, and where it goes: a maildir, an SMTP server, or stdout.

One reply per series version, to its cover letter (or its first patch when it
has none): To the author, Cc everyone the mail went to, In-Reply-To and
References so that it threads, and for each patch with findings the hunk lines
they concern quoted with the comment under them. Plain text, 8bit (quoted-
printable only when a line is too long for 8bit), never base64. Its Message-ID
is deterministic (see review.review_message_id), which is what makes posting
checkable after a crash: a maildir is searched for it before a resend.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import smtplib
import sys
import urllib.parse
from datetime import datetime, timezone
from email.utils import format_datetime, getaddresses
from typing import Optional

from .. import __version__
from ..render.email_reply import FOOTER, patch_body, wrap
from ..render.fmt import counts_text, plural
from ..render.mail import Parent, as_text, reply
from .sources import BOT_HEADER


FAILED_HUNKS_SHOWN = 3  # per patch in the mail; the HTML report has every one


def _apply_lines(applied: dict) -> list:
    """How a patch applied, when not plainly (status, failed hunks, what the rules could not read)."""
    if applied.get("status") in (None, "applied", "no-tree"):
        return []
    out = wrap(applied.get("summary") or applied["status"], " " * 10, "status:   ")
    failed = applied.get("failed_hunks") or []
    for h in failed[:FAILED_HUNKS_SHOWN]:
        out += wrap(f"{h['file']} hunk {h['hunk']}: {h['reason']}", " " * 10, " " * 10)
    if len(failed) > FAILED_HUNKS_SHOWN:
        out += wrap(f"and {len(failed) - FAILED_HUNKS_SHOWN} more hunks (the report lists them all)",
                     " " * 10, " " * 10)
    if (applied.get("analysis") or {}).get("note"):
        out += wrap(applied["analysis"]["note"], " " * 10, "note:     ")
    return out


def _patch_section(patch: dict, data: dict, rules: dict, reproduce: str) -> list:
    """One patch's part of the series reply: what `reviewkit lint --format email` writes to the patch
    (findings in short, base, how it applied, each finding under the lines it is about) without its
    greeting and signature; for a patch without findings only how it applied, when not plainly."""
    label = f"[PATCH {patch['counter']}/{patch['total']}] " if patch.get("counter") else ""
    head = ["", f"On {label}{patch['title']}:", ""]
    if patch["findings"]:
        text = patch_body(patch, data, rules, reproduce).rstrip("\n")
        return head + text[:text.rindex("\n-- \n")].split("\n")[2:]
    status = _apply_lines((data.get("patches", {}).get(patch["msgid"]) or {}).get("apply") or {})
    return head + status if status else []


def body(rev, notes: list, report_url: Optional[str] = None) -> str:
    """The reply's text: what was reviewed and how, then the findings per patch."""
    data = rev.data
    series = data["report"]["series"][rev.series]
    patches = [data["report"]["patches"][n] for n in series["patches"]]
    rules = {r["id"]: r for r in data.get("rules", [])}
    name = ((series.get("sender") or {}).get("name") or "").split()
    findings = [data["findings"][i] for p in patches for i in p["findings"]]
    c = {s: sum(1 for f in findings if f["severity"] == s) for s in ("error", "warning", "note")}
    trees = "; ".join((data.get("tree") or {}).get("sources", [])) or "no source tree (hunks only)"
    out = [f"Hi {name[0]}," if name and "@" not in name[0] else "Hi,", ""]
    out += wrap(f"reviewkit {__version__} reviewed v{series['version']} of this series "
                 f"({plural(len(patches), 'patch', 'patches')}) against {trees}: "
                 f"{counts_text(c, zero='no findings')}.")
    for note in notes:
        out += [""] + wrap(note)
    # the series as anyone can fetch it from the list and check it again
    anchor = series["cover"]["msgid"] if series.get("cover") else patches[0]["msgid"]
    reproduce = f"b4 am -o - {shlex.quote(anchor.strip('<>'))} | reviewkit lint - --tree TREE"
    states = {rev.apply["patches"][p["msgid"]]["status"] for p in patches}
    if states == {"failed"}:  # one paragraph instead of a status block per patch
        first = next((pr for p in patches for pr in rev.apply["patches"][p["msgid"]]["problems"]), "")
        out += [""] + wrap(f"None of the patches applies to this tree, so only the hunks themselves were "
                            f"checked. The first hunk that failed: {first}. (A base-commit: line, as "
                            f"git format-patch --base writes it, lets a git tree be read at the right base.)")
        for p in patches:
            out += _patch_section(p, data, rules, reproduce) if p["findings"] else []
    else:
        for p in patches:
            out += _patch_section(p, data, rules, reproduce)
    if report_url:
        out += ["", f"The full report: {report_url}"]
    out += ["", "-- ", FOOTER.format(version=__version__)]
    text = "\n".join(out)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"


def compose(rev, parent: Parent, sender: str, message_id: str, notes: list,
            report_url: Optional[str] = None, errors: Optional[list] = None) -> bytes:
    """The reply to `parent` (the cover letter, or the first patch), as the bytes to deliver."""
    msg = reply(parent, body(rev, notes, report_url), sender, errors=errors,
                extra_headers=[("Date", format_datetime(datetime.now(timezone.utc))), ("Message-ID", message_id),
                               (BOT_HEADER, __version__)])
    return as_text(msg).encode("utf-8")


def recipients(raw: bytes) -> list:
    from email import message_from_bytes
    msg = message_from_bytes(raw)
    return [a for _, a in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", [])) if a]


def _file_name(message_id: str) -> str:
    return "reviewkit." + hashlib.sha256(message_id.encode()).hexdigest()[:32]


class MaildirPoster:
    """Deliver into a maildir (tmp/ then rename into new/): the file name comes from the Message-ID,
    so whether a review is there can be checked, even after a mail reader moved it to cur/."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(os.path.expanduser(path))
        self.dest = f"maildir:{self.path}"
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.path, sub), exist_ok=True)

    def has(self, message_id: str) -> Optional[bool]:
        name = _file_name(message_id)
        for sub in ("new", "cur"):
            if any(f.split(":", 1)[0] == name for f in os.listdir(os.path.join(self.path, sub))):
                return True
        return False

    def send(self, raw: bytes, sender: str, rcpts: list) -> None:
        name = _file_name(raw_message_id(raw))
        tmp = os.path.join(self.path, "tmp", name)
        with open(tmp, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, os.path.join(self.path, "new", name))
        dirfd = os.open(os.path.join(self.path, "new"), os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)


class SmtpPoster:
    """Send over SMTP. An SMTP server cannot be asked whether it already has a mail: a send cut short
    by a crash is not repeated (at most once), and the post says so."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "localhost", parts.port or 25
        self.dest = f"smtp://{self.host}:{self.port}"

    def has(self, message_id: str) -> Optional[bool]:
        return None  # unknowable

    def send(self, raw: bytes, sender: str, rcpts: list) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=60) as smtp:
            smtp.sendmail(getaddresses([sender])[0][1], rcpts, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


class PrintPoster:
    """Dry run: print what would be posted."""

    dest = "dry-run"

    def has(self, message_id: str) -> Optional[bool]:
        return False

    def send(self, raw: bytes, sender: str, rcpts: list) -> None:
        sys.stdout.write(f"--- would post to {', '.join(rcpts)}:\n")
        sys.stdout.write(raw.decode("utf-8", "replace"))
        sys.stdout.write("\n")
        sys.stdout.flush()


def raw_message_id(raw: bytes) -> str:
    head = raw.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    for line in head.split("\n"):
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip()
    return ""


def open_poster(spec: str):
    if spec.startswith("maildir:"):
        return MaildirPoster(spec[len("maildir:"):])
    if spec.startswith("smtp://"):
        return SmtpPoster(spec)
    raise ValueError(f"--post {spec}: give maildir:DIR or smtp://HOST:PORT")
