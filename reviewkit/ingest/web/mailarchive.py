"""mail-archive.com thread views, saved as text.

Each message is shown as its subject, a blank line, `YYYY-MM-DD Thread
<Author>`, and the body; newest first. The page has no Message-IDs, no
addresses, only days (in the archive's time zone); it strips the leading
white space of every line and wraps long lines, quotes and diffs included.
Reply structure comes from quote attributions (history.py); dates become
exact where a reply's attribution gives the time; diffs are repaired by
repair.py.
"""
from __future__ import annotations

import re
from datetime import date

from ...model import Person
from .entries import Entry
from .quoting import day_stamp, rejoin_quote_wraps

_THREAD = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) Thread (.+?)\s*$")
FORMAT = "mail-archive"
WHITESPACE = "stripped"


def block_starts(lines: list[str]) -> list[int]:
    """Indices of the subject lines that open a message: subject, blank, date-Thread-author."""
    out = []
    for i in range(len(lines) - 2):
        if lines[i].strip() and not lines[i + 1].strip() and _THREAD.match(lines[i + 2]):
            out.append(i)
    return out


def read(text: str, name: str) -> tuple[list[Entry], list[str]]:
    """(entries, problems) for a mail-archive thread view."""
    lines = text.split("\n")
    starts = block_starts(lines)
    problems: list[str] = []
    if not starts:
        return [], ["no 'YYYY-MM-DD Thread Name' message headings found"]
    if any(ln.strip() for ln in lines[:starts[0]]):
        problems.append(f"{starts[0]} line(s) before the first message are not part of any message; ignored")
    entries = []
    for k, s in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        m = _THREAD.match(lines[s + 2])
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            stamp = day_stamp(day)
        except ValueError:
            stamp = None
            problems.append(f"line {s + 3}: unreadable date {lines[s + 2][:10]!r}")
        body_lines = lines[s + 3:end]
        while body_lines and not body_lines[-1].strip():
            body_lines.pop()
        body, joined = rejoin_quote_wraps("\n".join(body_lines) + "\n")
        notes = {"missing": ["Message-ID", "time of day"]}
        if joined:
            notes["quote_wraps_joined"] = joined
        entries.append(Entry(
            author=Person(m.group(4).strip(), ""), stamp=stamp, subject=lines[s].strip(), body=body,
            where=f"message {k + 1} at line {s + 1}", notes=notes, date_source="archive day",
        ))
    return entries, problems
