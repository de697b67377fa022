"""Patchwork patch and cover-letter pages, saved as text.

    mbox series                          (buttons)
    [RFC,00/19] mm/gup: remove ...       (the submission's name)
    Message ID  20221107161740.144456-1-david@redhat.com
    State / Delegated to / Headers show / Series <name> | expand / ...
    Message  (cover)  or  Commit Message  (patch)
    <submitter> Nov. 7, 2022, 4:17 p.m. UTC
    <content>
    Comments
    <name> Nov. 7, 2022, 7:03 p.m. UTC | #1
    <content>
    ...
    Patch                                 (patch pages: the diff)

Comments are flat, in date order, and a comment on another patch of the
series can show on the cover's page: the reply tree is rebuilt from quote
attributions (history.py); a comment that quotes nothing is taken as a
reply to the submission. If the headers were expanded ("Headers hide"),
the submission's full headers are read from them.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

from ...model import Person
from ..mail import _parse_date, parse_person, raw_headers
from .entries import Entry
from .quoting import MONTHS, Stamp, stamp_from_datetime

FORMAT = "patchwork"
_MON = r"(?:Jan|Feb|March|April|May|June|July|Aug|Sept|Oct|Nov|Dec|Mar|Apr|Jun|Jul|Sep)\.?"
_DJANGO = _MON + r" \d{1,2}, \d{4}, (?:\d{1,2}(?::\d{2})? [ap]\.m\.|noon|midnight)"
_ISO = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?"
_WHEN = r"(?P<date>" + _DJANGO + "|" + _ISO + r") UTC"
_COMMENT = re.compile(r"^(?P<name>.+?)\s+(?:-\s+)?" + _WHEN + r"\s*\|\s*#(?P<n>\d+)\s*$")
_SUBMITTER = re.compile(r"^(?P<name>.+?)\s+(?:-\s+)?" + _WHEN + r"\s*$")
_MSGID = re.compile(r"^Message[ -]ID:?\s+<?(?P<mid>[^<>\s]+)>?")
_ROW = re.compile(r"^(?P<key>State|Delegated to|Headers|Series|Commit|Archived|Related|Submitter|Tags|Checks|"
                  r"Show|Context|Check)\b:?\s*(?P<value>.*)$")


def parse_when(text: str) -> Optional[Stamp]:
    """Django's "Nov. 7, 2022, 7:03 p.m." (or ISO) in UTC -> Stamp."""
    text = text.strip()
    try:
        if re.match(r"\d{4}-", text):
            fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
            dt = datetime.strptime(text, fmt)
            return Stamp(dt.replace(tzinfo=timezone.utc), "second" if text.count(":") == 2 else "minute", True)
        m = re.match(r"(\w+)\.? (\d{1,2}), (\d{4}), (?:(\d{1,2})(?::(\d{2}))? ([ap])\.m\.|(noon)|(midnight))", text)
        if not m:
            return None
        mon = MONTHS[m.group(1).lower()[:4] if m.group(1).lower().startswith("sept") else m.group(1).lower()[:3]]
        if m.group(7):
            hh, mi = 12, 0
        elif m.group(8):
            hh, mi = 0, 0
        else:
            hh, mi = int(m.group(4)) % 12 + (12 if m.group(6) == "p" else 0), int(m.group(5) or 0)
        dt = datetime(int(m.group(3)), mon, int(m.group(2)), hh, mi, tzinfo=timezone.utc)
        return Stamp(dt, "minute", True)
    except (ValueError, KeyError):
        return None


def _title(lines: list[str], msgid_at: int) -> str:
    for j in range(msgid_at - 1, -1, -1):
        line = lines[j].strip()
        if line and line.lower() not in ("mbox series", "mbox", "series", "mbox | series") and \
                not line.lower().startswith(("mbox", "patchwork", "login", "register", "mail settings")):
            return line
    return ""


def _split_sections(lines: list[str], start: int) -> tuple[Optional[int], Optional[int], list[int], Optional[int]]:
    """(submission heading, submitter line, comment lines, 'Patch' heading) indices."""
    head = sub = patch = None
    comments = []
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if head is None and line in ("Message", "Commit Message"):
            head = i
            continue
        if head is not None and sub is None and _SUBMITTER.match(lines[i]) and not _COMMENT.match(lines[i]):
            sub = i
            continue
        if _COMMENT.match(lines[i]) and sub is not None:
            comments.append(i)
            continue
        if line == "Patch" and sub is not None and _diff_follows(lines, i):
            patch = i
    return head, sub, comments, patch


def _diff_follows(lines: list[str], i: int) -> bool:
    for j in range(i + 1, min(i + 6, len(lines))):
        if lines[j].strip():
            return lines[j].startswith(("diff --git ", "--- ", "Index: "))
    return False


def _trim(block: list[str]) -> list[str]:
    while block and not block[-1].strip():
        block.pop()
    while block and not block[0].strip():
        block.pop(0)
    return block


def _expanded_headers(lines: list[str], start: int, stop: int) -> list[tuple[str, str]]:
    """A block of raw mail headers shown on the page ("Headers hide"), if any."""
    for i in range(start, stop):
        if re.match(r"^(Return-Path|Received|From|Message-I[dD]|Date|Subject): ", lines[i]):
            j = i
            while j < stop and lines[j].strip():
                j += 1
            block = "\n".join(lines[i:j]).encode("utf-8", "surrogateescape")
            found = raw_headers(block)
            if sum(1 for k, _ in found if k.lower() in ("from", "date", "subject", "message-id")) >= 2:
                return found
    return []


def read(text: str, name: str) -> tuple[list[Entry], list[str]]:
    lines = text.split("\n")
    problems: list[str] = []
    mid_at = next((i for i, ln in enumerate(lines) if _MSGID.match(ln)), None)
    if mid_at is None:
        return [], ["no 'Message ID' line: not a patchwork patch page"]
    msgid = "<" + _MSGID.match(lines[mid_at]).group("mid") + ">"
    title = _title(lines, mid_at)
    head, sub, comments, patch = _split_sections(lines, mid_at + 1)
    if sub is None:
        return [], ["no submitter/date line under 'Message' / 'Commit Message'"]
    notes: dict = {"missing": []}
    unknown = []
    for i in range(mid_at + 1, head if head is not None else sub):
        m = _ROW.match(lines[i].strip())
        if m:
            notes[f"patchwork_{m.group('key').lower().replace(' ', '_')}"] = m.group("value").replace("| expand",
                                                                                                      "").strip()
        elif lines[i].strip() and not re.match(r"^(Return-Path|Received|[\w-]+): ", lines[i]):
            unknown.append(lines[i].strip())
    if unknown:
        problems.append(f"{len(unknown)} line(s) of the patch page's table not understood; kept as notes: "
                        + "; ".join(u[:60] for u in unknown[:5]))
        notes["unknown_fields"] = unknown[:20]
    sm = _SUBMITTER.match(lines[sub])
    end = comments[0] if comments else (patch if patch is not None else len(lines))
    end = _strip_heading(lines, sub + 1, end, "Comments")
    content = _trim(lines[sub + 1:end])
    diff: list[str] = []
    if patch is not None:
        stop = _strip_heading(lines, patch + 1, len(lines), "Comments")
        diff = _trim(lines[patch + 1:stop])
    body = "\n".join(content) + "\n"
    if diff:
        body = body + ("\n" if content else "") + "\n".join(diff) + "\n"
    headers = _expanded_headers(lines, mid_at + 1, sub)
    hd = {k.lower(): v for k, v in headers}
    author = parse_person(hd["from"]) if "from" in hd else Person(sm.group("name").strip(), "")
    stamp = stamp_from_datetime(_parse_date(hd.get("date"))) if "date" in hd else parse_when(sm.group("date"))
    sub_entry = Entry(author=author, stamp=stamp, subject=hd.get("subject") or title, body=body,
                      where=f"submission at line {sub + 1}", msgid=msgid, notes=notes,
                      date_source="Date header" if "date" in hd else "patchwork (UTC, minute)")
    if "in-reply-to" in hd:
        sub_entry.parent_msgid = (re.findall(r"<[^<>\s]+>", hd["in-reply-to"]) or [None])[-1]
        sub_entry.references = tuple(re.findall(r"<[^<>\s]+>", hd.get("references", "")))
        sub_entry.parent_source = "In-Reply-To header shown on the page"
        sub_entry.structural = True
    if not headers:
        notes["missing"] += ["email address", "In-Reply-To/References (headers not expanded)"]
    entries = [sub_entry]
    bounds = comments + [patch if patch is not None and patch > (comments[-1] if comments else 0) else len(lines)]
    for k, c in enumerate(comments):
        cm = _COMMENT.match(lines[c])
        stop = _strip_heading(lines, c + 1, bounds[k + 1], "Patch")
        block = _trim(lines[c + 1:stop])
        entries.append(Entry(
            author=Person(cm.group("name").strip(), ""), stamp=parse_when(cm.group("date")),
            subject="Re: " + (hd.get("subject") or title), body="\n".join(block) + "\n",
            where=f"comment #{cm.group('n')} at line {c + 1}", fallback_parent=0, subject_synthetic=True,
            notes={"patchwork_comment": int(cm.group("n")), "missing": ["Message-ID", "email address", "subject"]},
            date_source="patchwork (UTC, minute)",
        ))
    if not notes["missing"]:
        del notes["missing"]
    problems += _series_gaps(title, body)
    return entries, problems


def _strip_heading(lines: list[str], start: int, stop: int, heading: str) -> int:
    """End of a block that is followed by a section heading such as 'Comments'."""
    for j in range(stop - 1, start - 1, -1):
        if lines[j].strip() == heading:
            return j
        if lines[j].strip():
            break
    return stop


def _series_gaps(title: str, body: str) -> list[str]:
    m = re.search(r"(\d+)/(\d+)\]", title)
    if not m or int(m.group(1)) != 0:
        return []
    total = int(m.group(2))
    return [f"cover letter of a {total}-patch series: the patches are not on this page "
            "(patchwork shows each on its own page)"]
