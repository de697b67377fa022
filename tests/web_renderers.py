"""Render clean mail the way web archives show it, to measure what survives a round trip.

Test helpers only: each function takes reviewkit `Message`s (read from real
mboxes) and returns the text a user would get by saving the archive's page
as text. They follow the archives' own templates (public-inbox's View.pm for
lore, patchwork's submission.html, mail-archive.com's thread view, lore's
raw view and spinics' MHonArc page with newlines collapsed), including the
damage each does: lore hides addresses and Message-IDs, patchwork flattens
comments, mail-archive strips leading white space, wraps long lines and
cuts long messages, the collapsed dumps lose every newline.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses
from typing import Optional

from reviewkit.model import Message
from reviewkit.subject import parse_subject

# --- shared ------------------------------------------------------------------------


def names(value: Optional[str]) -> str:
    """Display names of an address list, as public-inbox's Address::names gives them."""
    out = []
    for name, addr in getaddresses([value or ""]):
        out.append(name or addr.split("@")[0])
    return ", ".join(n for n in out if n)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc)


def children_of(msgs: list[Message], parent: dict) -> dict:
    ids = {m.msgid for m in msgs}
    kids: dict = {}
    for m in msgs:
        p = parent.get(m.msgid)
        kids.setdefault(p if p in ids else None, []).append(m)
    for v in kids.values():
        v.sort(key=lambda m: (utc(m.date) if m.date else datetime.min.replace(tzinfo=timezone.utc)))
    return kids


def walk(kids: dict) -> list[tuple[int, Message, int]]:
    """(level, message, index among siblings) depth first."""
    out = []
    stack = [(0, m, i) for i, m in reversed(list(enumerate(kids.get(None, []))))]
    while stack:
        level, m, i = stack.pop()
        out.append((level, m, i))
        stack += [(level + 1, c, j) for j, c in reversed(list(enumerate(kids.get(m.msgid, []))))]
    return out


# --- lore (public-inbox) ----------------------------------------------------------------

def fmt_ts(dt: datetime) -> str:
    d = utc(dt)
    return d.strftime("%Y-%m-%d ") + f"{d.hour:2d}:{d.minute:02d}"


def _subject_normalized(s: str) -> str:
    return re.sub(r"^\s*(?:re:\s*)+", "", s, flags=re.I).strip()


def _dedupe_subject(prev: list, subj: list) -> str:
    prev, subj = list(prev), list(subj)
    popped_p, popped_c, omit = [], [], None
    while prev and subj and subj[-1] == prev[-1]:
        popped_p.append(prev.pop())
        popped_c.append(subj.pop())
        omit = '" '
    if subj and re.match(r"^re:\s*", subj[-1], re.I):
        subj.pop()
    if len(popped_c) == 1:
        omit = None
        subj += popped_c
    return " ".join(subj), omit or ""


class _Lore:
    def __init__(self, msgs: list[Message], parent: dict):
        self.msgs = msgs
        self.kids = children_of(msgs, parent)
        self.order = walk(self.kids)
        self.rows: dict = {}
        self.overview: list[str] = []
        prev: list = []
        for level, m, _ in self.order:
            subj = _subject_normalized(m.subject).split(" ")
            shown, omit = _dedupe_subject(prev, subj)
            prev = subj
            d = fmt_ts(m.date) + " " + ("  " * (level - 1) if level else "") + ("` " if level else "")
            frm = names(m.header("From")) or m.sender.name
            row = d + (f"{shown} {omit}{frm}" if shown else frm)
            self.rows[m.msgid] = (row, d + frm, level)
            self.overview.append(row)
        self.level = {m.msgid: level for level, m, _ in self.order}
        self.parent = {m.msgid: p for p, ks in self.kids.items() for m in ks}
        self.total = len(msgs)

    def index_lite(self, m: Message) -> list[str]:
        out = []
        p = self.parent.get(m.msgid)
        siblings = self.kids.get(p, [])
        idx = siblings.index(m)
        level = self.level[m.msgid]
        if p is not None:
            out.append("  " + self.rows[p][0])
            if idx > 2:
                out.append(" " * 19 + "  " * (level - 1) + "` " + f"({idx - 1} preceding siblings ...)")
            elif idx == 2:
                out.append("  " + self.rows[siblings[0].msgid][0])
            if idx > 0:
                out.append("  " + self.rows[siblings[idx - 1].msgid][0])
        out.append("@ " + self.rows[m.msgid][1])
        kids = self.kids.get(m.msgid, [])
        if kids:
            out.append("  " + self.rows[kids[0].msgid][0])
            if len(kids) > 2:
                out.append(" " * 19 + "  " * level + "` " + f"({len(kids) - 1} more replies)")
            elif len(kids) == 2:
                out.append("  " + self.rows[kids[1].msgid][0])
        if p is not None and idx + 1 < len(siblings):
            out.append("  " + self.rows[siblings[idx + 1].msgid][0])
            rest = len(siblings) - 1 - idx
            if rest > 2:
                out.append(" " * 19 + "  " * (level - 1) + "` " + f"({rest - 1} subsequent siblings)")
            elif rest == 2:
                out.append("  " + self.rows[siblings[idx + 2].msgid][0])
        ns = len(siblings) - 1 if p is not None else 0
        sib = "0 siblings" if ns == 0 else ("1 sibling" if ns == 1 else f"{ns} siblings")
        rep = "0 replies" if not kids else ("1 reply" if len(kids) == 1 else f"{len(kids)} replies")
        out.append(f"  {sib}, {rep}; {self.total}+ messages in thread")
        return out

    def entry(self, m: Message) -> str:
        lines = [f"* {m.subject}", *self.index_lite(m),
                 f"From: {names(m.header('From')) or m.sender.name} @ {fmt_ts(m.date)} UTC (permalink / raw)"]
        to, cc = names(m.header("To")), names(m.header("Cc"))
        if len(to) + len(cc) > 72:
            if to:
                lines.append("  To: " + _fold(to))
            if cc:
                lines.append("  Cc: " + _fold(cc))
        elif to or cc:
            lines.append("  To: " + to + (f"; +Cc: {cc}" if cc and to else "") if to else "  Cc: " + cc)
        body = m.body if m.body.endswith("\n") else m.body + "\n"
        related = " related" if "\ndiff --git " in "\n" + body else ""
        return "\n".join(lines) + "\n\n" + body + f"\n^ permalink raw reply{related}\t[flat|nested] " \
            f"{self.total}+ messages in thread\n"

    def footer(self) -> str:
        last = max(utc(m.date) for m in self.msgs)
        return (f"end of thread, other threads:[~{fmt_ts(last)} UTC | newest]\n\n"
                f"Thread overview: {self.total}+ messages (download: mbox.gz / follow: Atom feed)\n"
                "-- links below jump to the message on this page --\n" + "\n".join(self.overview) +
                "\n\nThis is a public inbox, see mirroring instructions\n")


def _fold(text: str, cols: int = 64) -> str:
    out, line = [], ""
    for part in text.split(", "):
        if line and len(line) + len(part) + 2 > cols:
            out.append(line + ",")
            line = part
        else:
            line = f"{line}, {part}" if line else part
    out.append(line)
    return "\n\t".join(out)


def lore_flat(msgs: list[Message], parent: dict) -> str:
    """lore's flat thread view (/T/): messages in date order, each with its place in the thread."""
    lore = _Lore(msgs, parent)
    ordered = sorted(msgs, key=lambda m: utc(m.date))
    return "All of lore.kernel.org\n help / color / mirror / Atom feed\n" + \
        "\n".join(lore.entry(m) for m in ordered) + "\n" + lore.footer()


def lore_nested(msgs: list[Message], parent: dict) -> str:
    """lore's nested view (/t/): the same entries in thread order."""
    lore = _Lore(msgs, parent)
    return "All of lore.kernel.org\n help / color / mirror / Atom feed\n" + \
        "\n".join(lore.entry(m) for _, m, _ in lore.order) + "\n" + lore.footer()


# --- patchwork ------------------------------------------------------------------

_AP_MONTHS = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."]


def django_date(dt: datetime) -> str:
    d = utc(dt)
    if d.hour == 0 and d.minute == 0:
        t = "midnight"
    elif d.hour == 12 and d.minute == 0:
        t = "noon"
    else:
        h = d.hour % 12 or 12
        t = f"{h}" + (f":{d.minute:02d}" if d.minute else "") + (" a.m." if d.hour < 12 else " p.m.")
    return f"{_AP_MONTHS[d.month - 1]} {d.day}, {d.year}, {t}"


def pw_name(subject: str) -> str:
    s = parse_subject(subject)
    keep = [p for p in s.prefixes if p.upper() != "PATCH"]
    return (f"[{','.join(keep)}] " if keep else "") + s.title


def patchwork_page(sub: Message, comments: list[Message], diff_at: Optional[int] = None,
                   series: str = "") -> str:
    """A patchwork patch (or cover letter) page: the submission, its comments flattened in date order,
    and for a patch the diff under 'Patch'."""
    body = sub.body
    lines = body.split("\n")
    content, diff = (lines, []) if diff_at is None else (lines[:diff_at], lines[diff_at:])
    out = ["mbox series", "", pw_name(sub.subject), "", f"Message ID {sub.msgid.strip('<>')}"]
    if diff_at is not None:
        out.append("State New")
    out.append("Headers show")
    if series:
        out.append(f"Series {series} | expand")
    out += ["", "Commit Message" if diff_at is not None else "Message", "",
            f"{sub.sender.name or sub.sender.email} {django_date(sub.date)} UTC",
            "\n".join(content).rstrip("\n")]
    for n, c in enumerate(sorted(comments, key=lambda m: utc(m.date)), 1):
        if n == 1:
            out += ["", "Comments", ""]
        out.append(f"{c.sender.name or c.sender.email} {django_date(c.date)} UTC | #{n}")
        out.append(c.body.rstrip("\n"))
    if diff:
        out += ["", "Patch", "", "\n".join(diff).rstrip("\n")]
    return "\n".join(out) + "\n"


# --- mail-archive.com ---------------------------------------------------------------

ARCHIVE_ZONE = timezone(timedelta(hours=-7))   # the archive shows days in a US zone
_ANGLE = re.compile(r"\s*<[^<>\s]+@[^<>\s]+>")


def mail_archive_body(body: str, width: int = 80, max_lines: int = 150) -> tuple[str, bool]:
    """Strip addresses and leading white space, turn tabs into spaces, wrap at `width`, and cut a long
    patch short (as the seed page's patch is cut mid-file)."""
    if "\ndiff --git " not in "\n" + body:
        max_lines = 1 << 30
    out = []
    for line in body.rstrip("\n").split("\n"):
        line = _ANGLE.sub(" ", line).lstrip().replace("\t", " ")
        while len(line) > width:
            cut = line.rfind(" ", 0, width)
            if cut <= 0:
                break
            out.append(line[: cut + 1])
            line = line[cut + 1:]
        out.append(line)
    cut = len(out) > max_lines
    return "\n".join(out[:max_lines]), cut


def mail_archive(msgs: list[Message], max_lines: int = 150) -> str:
    """mail-archive.com's thread view: newest first, subject, blank, 'YYYY-MM-DD Thread Name', body."""
    blocks = []
    for m in sorted(msgs, key=lambda m: utc(m.date), reverse=True):
        day = m.date.astimezone(ARCHIVE_ZONE).date().isoformat()
        text, _ = mail_archive_body(m.body, max_lines=max_lines)
        blocks.append(f"{m.subject}\n\n{day} Thread {m.sender.name or m.sender.email.split('@')[0]}\n{text}\n")
    return "\n\n".join(blocks)


# --- collapsed dumps ------------------------------------------------------------------

_MSGID_HEADER = re.compile(r"^(message-id|in-reply-to|references)\s*:", re.I)


def collapse(text: str) -> str:
    return " ".join(text.split())


def lore_raw_collapsed(raw: bytes) -> str:
    """lore's raw view of one message with every newline collapsed and <address> tags stripped."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    kept = []
    for line in re.split(r"\n(?![ \t])", head):
        kept.append(line if _MSGID_HEADER.match(line) else re.sub(r"<[^<>\s]*@[^<>\s]*>", "", line))
    body = re.sub(r"<[^<>\s]*@[^<>\s]*>", "", body)
    return collapse("From mboxrd@z Thu Jan  1 00:00:00 1970\n" + "\n".join(kept) + "\n\n" + body)


def _obfuscate(text: str) -> str:
    return re.sub(r"\b([\w.+-]+)@[\w.-]+\.\w+", r"\1@xxxxxxxxxx", text)


def spinics(m: Message, with_headers: bool = True) -> str:
    """A spinics.net (MHonArc) message page, newlines collapsed, addresses obfuscated."""
    parts = []
    if with_headers:
        parts.append(f"Subject: {m.subject}")
        parts.append(f"From: {_obfuscate(m.header('From') or str(m.sender))}")
        parts.append(f"Date: {m.header('Date')}")
        if m.header("Cc"):
            parts.append(f"Cc: {_obfuscate(m.header('Cc'))}")
        if m.in_reply_to:
            parts.append(f"In-reply-to: {m.in_reply_to}")
        if m.references:
            parts.append("References: " + " ".join(m.references))
        parts.append("")
    parts.append(_obfuscate(m.body))
    return collapse("\n".join(parts))
