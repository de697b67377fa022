"""What a page reader recovers per message, and how that becomes `Message`s.

Readers fill `Entry`s (author, date, subject, body, where on the page, and
the reply structure when the page shows it). `to_messages` turns them into
`Message`s exactly like clean mail: a Message-ID (the page's, or a stable
synthetic one), `in_reply_to` = the rebuilt parent, `references` = its
ancestors, and `capture` notes saying how each field was recovered and
what the page did not have.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Optional

from ...model import Message, Person, Source
from ..mail import synthetic_msgid
from .quoting import Stamp


@dataclass
class Entry:
    author: Person
    stamp: Optional[Stamp]
    subject: str
    body: str
    where: str                          # position in the page ("message 3 at line 57")
    msgid: Optional[str] = None         # the page's Message-ID, when it shows one
    parent: Optional[int] = None        # index of the parent entry
    parent_source: str = ""             # how the parent was found (index, attribution, header, ...)
    parent_msgid: Optional[str] = None  # In-Reply-To text when the parent is not on the page
    references: tuple = ()              # References text, when the page shows it
    headers: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)   # capture notes, JSON-ready
    quoted_only: bool = False
    fallback_parent: Optional[int] = None       # parent to assume when nothing else tells (patchwork)
    repairs: list = field(default_factory=list)
    quoted_diffs: list = field(default_factory=list)
    quoted_in: list = field(default_factory=list)  # entries whose quotes this one was rebuilt from
    structural: bool = False            # the page itself says who the parent is
    date_source: str = ""
    subject_synthetic: bool = False     # the page does not show this message's own subject


def stamp_datetime(stamp: Optional[Stamp]) -> Optional[datetime]:
    """An aware datetime for the model: day-only dates at noon UTC, unknown zones read as UTC
    (the capture notes say which)."""
    if stamp is None:
        return None
    dt = stamp.dt
    if stamp.precision == "day":
        return datetime(dt.year, dt.month, dt.day, 12, 0, tzinfo=timezone.utc)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


def _date_notes(e: Entry) -> dict:
    if e.stamp is None:
        return {"date_precision": None}
    notes = {"date_precision": e.stamp.precision, "timezone_known": e.stamp.tz_known}
    if e.stamp.precision == "day":
        notes["date_shown"] = e.stamp.dt.date().isoformat()
    elif not e.stamp.tz_known:
        notes["date_shown"] = e.stamp.dt.isoformat() + " (local time, zone unknown; read as UTC)"
    if e.date_source:
        notes["date_source"] = e.date_source
    return notes


def assign_ids(entries: list[Entry], fmt: str) -> list[str]:
    """Message-IDs: the page's, else synthetic and stable (same page text, same ids)."""
    ids: list[str] = []
    seen: set[str] = set()
    for e in entries:
        mid = e.msgid
        if not mid:
            key = "\0".join((fmt, e.author.name, e.author.email, e.stamp.describe() if e.stamp else "",
                             e.subject, e.body if not e.quoted_only else e.body[:4000],
                             "quoted" if e.quoted_only else ""))
            mid = synthetic_msgid(key.encode("utf-8", "surrogatepass"))
        base, n = mid, 1
        while mid in seen:
            n += 1
            mid = synthetic_msgid(f"{base}#{n}".encode())
        seen.add(mid)
        ids.append(mid)
    return ids


def _ancestors(entries: list[Entry], ids: list[str], i: int) -> tuple:
    """References: as the page shows them, else what the topmost known ancestor referenced, then the
    ancestors rebuilt from the page."""
    own = entries[i]
    if own.references:
        parent = ids[own.parent] if own.parent is not None else own.parent_msgid
        return tuple(dict.fromkeys([*own.references, *([parent] if parent else [])]))
    chain: list[str] = []
    seen = {i}
    top = i
    node = entries[i].parent
    while node is not None and node not in seen:
        seen.add(node)
        chain.append(ids[node])
        top = node
        node = entries[node].parent
    t = entries[top]
    outside = list(t.references) or ([t.parent_msgid] if t.parent_msgid else [])
    return tuple(dict.fromkeys([*outside, *reversed(chain)]))


def to_messages(entries: list[Entry], fmt: str, name: str) -> list[Message]:
    ids = assign_ids(entries, fmt)
    out = []
    for i, e in enumerate(entries):
        irt = ids[e.parent] if e.parent is not None else e.parent_msgid
        notes = {"format": fmt, **_date_notes(e), **e.notes}
        if e.parent is not None or e.parent_msgid:
            notes["parent_source"] = e.parent_source or "page"
        elif "parent_source" not in notes:
            notes["parent_source"] = None
        if e.quoted_in:
            notes["quoted_in"] = [ids[j] for j in e.quoted_in]
        if not e.msgid:
            notes["msgid"] = "synthetic (the page shows no Message-ID)"
        missing = list(notes.get("missing") or [])
        if not e.author.email:
            missing.append("email address")
        if e.stamp is None:
            missing.append("date")
        if missing:
            notes["missing"] = list(dict.fromkeys(missing))
        headers = [("From", str(e.author)), ("Subject", e.subject)]
        if e.stamp is not None:
            headers.append(("Date", e.stamp.describe()))
        headers += [h for h in e.headers if h[0].lower() not in ("from", "subject", "date")]
        qdiffs = tuple(_fill_quoted_from(q, entries, ids, i) for q in e.quoted_diffs)
        out.append(Message(
            msgid=ids[i], subject=e.subject, sender=e.author, date=stamp_datetime(e.stamp),
            in_reply_to=irt, references=_ancestors(entries, ids, i), headers=tuple(headers),
            source=Source(name, e.where), body_loader=(lambda b=e.body: b), synthetic_id=not e.msgid,
            quoted_only=e.quoted_only, repairs=tuple(e.repairs), quoted_diffs=qdiffs,
            capture=tuple(notes.items()),
        ))
    return out


def _fill_quoted_from(q, entries: list[Entry], ids: list[str], i: int):
    parent = entries[i].parent
    return replace(q, quoted_from=ids[parent] if parent is not None else (entries[i].parent_msgid or ""))
