"""lore.kernel.org (public-inbox) pages saved as text: thread views (flat and nested) and permalinks.

A thread view shows each message as

    * <subject>
      <parent line>                       \
    @ <date> <indent>` <author>            > the message's place in the thread
      <reply lines>                       /
      N siblings, M replies; K+ messages in thread
    From: <names> @ <date> UTC (permalink / raw)
      To: <names>
      Cc: <names>

    <body, exactly as sent>

    ^ permalink raw reply [flat|nested] K+ messages in thread

and ends with a "Thread overview" listing every message, indented by
depth. Message-IDs and addresses are not shown (except for messages the
archive lacks: `[not found] <msgid>`). The reply structure is taken from the
overview (each message matched to its line by date, author and subject),
else from the lines above `@`, else from quote attributions.

A permalink page shows one message with its headers (`Message-ID: <...> (raw)`).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

from ...model import Person
from ..mail import _parse_date, decode_words, parse_person
from .entries import Entry
from .quoting import Stamp, stamp_from_datetime

FORMAT = "lore"
_DATE = r"\d{4}-\d{2}-\d{2} [ \d]\d:\d{2}"
_FROM = re.compile(r"^From: (?P<name>.*?) @ (?P<date>" + _DATE + r") UTC \(permalink / raw\)\s*$")
_PERMALINK = re.compile(r"^\^ permalink raw reply")
_ROW = re.compile(r"^(?P<date>" + _DATE + r") (?P<indent>(?:  )*)(?P<tick>` )?(?P<rest>.*?)\s*$")
_GHOST = re.compile(r"^ {5}\[not found\] (?P<indent>(?:  )*)(?P<tick>` )?<(?P<mid>[^<>\s]+)>\s*$")
_AT = re.compile(r"^@ (?P<date>" + _DATE + r") (?P<indent>(?:  )*)(?P<tick>` )?(?P<rest>.*?)\s*$")
_LITE = re.compile(r"^  (?:" + _DATE + r" |\s{17,}` \(|\d+ siblings?, \d+ repl|\s+\[not found\] )")
_COUNT = re.compile(r"(\d+)\+? messages in thread")
_OVERVIEW = re.compile(r"^Thread overview: (?:(\d+)\+ messages|\(only message\))")
_SUBJ_NORM = re.compile(r"^\s*(?:(?:re|aw|sv|fwd?)\s*:\s*)+", re.I)


def _stamp(text: str) -> Optional[Stamp]:
    try:
        dt = datetime.strptime(" ".join(text.split()), "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return Stamp(dt, "minute", True)


def _level(indent: str, tick: Optional[str]) -> int:
    return len(indent) // 2 + 1 if tick else 0


class Row:
    def __init__(self, level: int, date: str, rest: str, mid: Optional[str] = None):
        self.level, self.date, self.rest, self.mid = level, " ".join(date.split()), rest, mid
        self.parent: Optional[int] = None
        self.entry: Optional[int] = None


def parse_overview(lines: list[str]) -> tuple[list[Row], Optional[int]]:
    """The thread overview rows (in thread order, with parents) and the message count it states."""
    start = None
    count = None
    for i in range(len(lines) - 1, -1, -1):
        m = _OVERVIEW.match(lines[i])
        if m:
            start, count = i, (int(m.group(1)) if m.group(1) else 1)
            break
    if start is None:
        return [], None
    rows: list[Row] = []
    for line in lines[start + 1:]:
        if line.startswith("-- links below") or line.strip().startswith("-- strict thread") or \
                line.strip().startswith("-- use mbox.gz"):
            continue
        m = _ROW.match(line)
        g = _GHOST.match(line)
        if m:
            rows.append(Row(_level(m.group("indent"), m.group("tick")), m.group("date"), m.group("rest")))
        elif g:
            rows.append(Row(_level(g.group("indent"), g.group("tick")), "", "", "<" + g.group("mid") + ">"))
        elif not line.strip():
            if rows:
                break
        else:
            break
    stack: list[int] = []
    for i, r in enumerate(rows):
        del stack[r.level:]
        r.parent = stack[-1] if stack and r.level > 0 else None
        stack.append(i)
    return rows, count


def _norm_subject(s: str) -> str:
    return " ".join(_SUBJ_NORM.sub("", s).split())


def _row_fits(row: Row, e: Entry, level: Optional[int]) -> bool:
    if row.mid is not None or row.entry is not None or row.date != e.notes.get("_date"):
        return False
    if level is not None and row.level != level:
        return False
    name = e.author.name
    if not row.rest.endswith(name):
        return False
    shown = row.rest[: len(row.rest) - len(name)].strip()
    if not shown:
        return True
    shown = shown.split(' "')[0].rstrip('"').strip()
    return _norm_subject(e.subject).startswith(shown) or shown in _norm_subject(e.subject)


def _message_starts(lines: list[str]) -> list[tuple[int, int]]:
    """(subject line, From line) of every message block."""
    out = []
    for i, line in enumerate(lines):
        if not line.startswith("From: ") or not _FROM.match(line):
            continue
        j = i - 1
        while j >= 0 and (_LITE.match(lines[j]) or _AT.match(lines[j])):
            j -= 1
        if j >= 0 and lines[j].startswith("* "):
            out.append((j, i))
    return out


def _headers_end(lines: list[str], i: int) -> tuple[int, list]:
    """Skip the To/Cc lines after From; (index of the first body line, headers)."""
    headers = []
    j = i + 1
    while j < len(lines) and (lines[j].startswith(("  To: ", "  Cc: ", "\t")) or
                              (lines[j].startswith("In-Reply-To: ") and headers is not None)):
        line = lines[j]
        if line.startswith("\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
        elif line.startswith("  To: "):
            to, _, cc = line[6:].partition("; +Cc: ")
            headers.append(("To", to.strip()))
            if cc:
                headers.append(("Cc", cc.strip()))
        elif line.startswith("  Cc: "):
            headers.append(("Cc", line[6:].strip()))
        elif line.startswith("In-Reply-To: "):
            headers.append(("In-Reply-To", line[13:].strip()))
        j += 1
    if j < len(lines) and not lines[j].strip():
        j += 1
    return j, headers


def read(text: str, name: str) -> tuple[list[Entry], list[str]]:
    lines = text.split("\n")
    starts = _message_starts(lines)
    if not starts:
        return read_permalink(lines, name)
    problems: list[str] = []
    rows, stated = parse_overview(lines)
    entries: list[Entry] = []
    levels: list[Optional[int]] = []
    lite_parent: list[Optional[str]] = []
    for k, (s, f) in enumerate(starts):
        nxt = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        m = _FROM.match(lines[f])
        body_start, headers = _headers_end(lines, f)
        end = body_start
        found_end = False
        while end < nxt:
            if _PERMALINK.match(lines[end]):
                found_end = True
                break
            if _OVERVIEW.match(lines[end]) or lines[end].startswith(("end of thread, other threads",
                                                                         "only message in thread")):
                break
            end += 1
        body_lines = lines[body_start:end]
        if found_end and body_lines and not body_lines[-1].strip():
            body_lines.pop()
        if not found_end:
            problems.append(f"message {k + 1} at line {s + 1}: no '^ permalink raw reply' line after it; "
                            "its text may run into what follows or be cut off")
        at = next((_AT.match(lines[x]) for x in range(s + 1, f) if _AT.match(lines[x])), None)
        levels.append(_level(at.group("indent"), at.group("tick")) if at else None)
        parent_line = lines[s + 1][2:] if s + 1 < f and lines[s + 1].startswith("  ") and \
            _ROW.match(lines[s + 1][2:]) else None
        lite_parent.append(parent_line if at and at.group("tick") else None)
        irt = next((v for h, v in headers if h == "In-Reply-To"), None)
        e = Entry(author=Person(m.group("name").strip(), ""), stamp=_stamp(m.group("date")),
                  subject=lines[s][2:].strip(), body="\n".join(body_lines) + "\n",
                  where=f"message {k + 1} at line {s + 1}", headers=[h for h in headers if h[0] != "In-Reply-To"],
                  notes={"_date": " ".join(m.group("date").split()), "missing": ["Message-ID"]},
                  date_source="archive (UTC, minute)")
        if irt:
            e.parent_msgid = irt if irt.startswith("<") else f"<{irt}>"
            e.parent_source = "In-Reply-To shown on the page"
        entries.append(e)
    _link(entries, rows, levels, lite_parent, problems)
    for e in entries:
        e.notes.pop("_date", None)
    if stated is not None and stated > len(entries):
        ghosts = [r.mid for r in rows if r.mid]
        problems.append(f"the page says {stated}+ messages in the thread; {len(entries)} are on it"
                        + (f" (not in the archive: {', '.join(ghosts)})" if ghosts else ""))
    if not rows:
        problems.append("no thread overview on the page: reply structure rebuilt from the lines above '@' "
                        "and from quotes")
    return entries, problems


def _link(entries: list[Entry], rows: list[Row], levels: list, lite_parent: list, problems: list) -> None:
    by_date: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_date.setdefault(r.date, []).append(i)
    for k, e in enumerate(entries):
        hit = next((i for i in by_date.get(e.notes.get("_date"), []) if _row_fits(rows[i], e, levels[k])), None)
        if hit is not None:
            rows[hit].entry = k
    for i, r in enumerate(rows):
        if r.entry is None:
            continue
        e = entries[r.entry]
        p = r.parent
        if p is None:
            e.structural = True  # a root
            continue
        if rows[p].entry is not None:
            e.parent, e.parent_source, e.structural = rows[p].entry, "thread overview", True
        elif rows[p].mid:
            e.parent_msgid, e.parent_source = rows[p].mid, "thread overview ([not found] in the archive)"
            e.structural = True
    unplaced = [k for k, e in enumerate(entries) if not e.structural and e.parent is None and not e.parent_msgid]
    entries_by_date: dict[str, list[int]] = {}
    for j, other in enumerate(entries):
        entries_by_date.setdefault(other.notes.get("_date"), []).append(j)
    for k in unplaced:
        line = lite_parent[k]
        if line is None:
            continue
        m = _ROW.match(line)
        date = " ".join(m.group("date").split())
        for j in entries_by_date.get(date, []):
            other = entries[j]
            if j != k and m.group("rest").endswith(other.author.name):
                entries[k].parent, entries[k].parent_source, entries[k].structural = j, "index above '@'", True
                break
    if rows and any(r.entry is None and r.mid is None for r in rows):
        problems.append(f"{sum(1 for r in rows if r.entry is None and r.mid is None)} thread overview line(s) "
                        "matched no message on the page")


# --- permalink pages ---------------------------------------------------------

_PL_HEADER = re.compile(r"^(From|To|Cc|Subject|Date|Message-ID|In-Reply-To|References|X-Alt-Message-ID): ?(.*)$")


def read_permalink(lines: list[str], name: str) -> tuple[list[Entry], list[str]]:
    """A single-message lore page: headers (with Message-ID), body, thread overview."""
    start = next((i for i, ln in enumerate(lines[:200]) if ln.startswith("Message-ID: <") and "(raw)" in ln), None)
    if start is None:
        return [], ["no messages found: neither '* subject' + 'From: ... (permalink / raw)' blocks "
                    "nor a permalink header"]
    top = start
    while top > 0 and _PL_HEADER.match(lines[top - 1]) or (top > 0 and lines[top - 1].startswith(("\t", " "))
                                                            and lines[top - 1].strip()):
        top -= 1
    headers: list[tuple[str, str]] = []
    j = top
    while j < len(lines) and lines[j].strip():
        m = _PL_HEADER.match(lines[j])
        if m:
            headers.append((m.group(1), m.group(2).replace("[thread overview]", "").replace("(raw)", "").strip()))
        elif headers and lines[j][:1] in ("\t", " "):
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + lines[j].strip())
        j += 1
    end = j + 1
    while end < len(lines) and not re.match(r"^(?:next|prev|\s{4,})\s.*\b(?:reply|parent)\b", lines[end]) \
            and not _OVERVIEW.match(lines[end]) and "other threads:[" not in lines[end]:
        end += 1
    h = {k.lower(): v for k, v in headers}
    body_lines = lines[j + 1:end]
    while body_lines and not body_lines[-1].strip():
        body_lines.pop()
    dt = _parse_date(h.get("date"))
    refs = tuple(re.findall(r"<[^<>\s]+>", h.get("references", "")))
    irt = (re.findall(r"<[^<>\s]+>", h.get("in-reply-to", "")) or [None])[-1]
    mid = (re.findall(r"<[^<>\s]+>", h.get("message-id", "")) or [None])[0]
    e = Entry(author=parse_person(h.get("from", "")), stamp=stamp_from_datetime(dt),
              subject=decode_words(h.get("subject", "")), body="\n".join(body_lines) + "\n",
              where=f"permalink at line {top + 1}", msgid=mid, parent_msgid=irt, references=refs,
              headers=[(k, v) for k, v in headers if k.lower() in ("to", "cc")],
              parent_source="In-Reply-To" if irt else "", date_source="Date header")
    if irt:
        e.structural = True
    return [e], []
