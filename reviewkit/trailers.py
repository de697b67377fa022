"""Trailers: `Key: value` lines in commit messages and in review replies.

In a commit message the trailers are the last paragraph (git's rule), with
continuation lines (indented, or a wrapped `<address>`) and `[...]` notes
allowed. In a reply, a reviewer gives trailers on unquoted lines anywhere
above the signature; only person trailers with an address, `Fixes:` and
`Link:` count there, as b4 does.
"""
from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Optional

from .model import Person, Trailer

PERSON_KEYS = ("Signed-off-by", "Reviewed-by", "Acked-by", "Tested-by", "Reported-by", "Suggested-by",
               "Co-developed-by", "Nacked-by", "Reported-and-tested-by", "Debugged-by", "Originally-by",
               "Requested-by", "Cc")
UTILITY_KEYS = ("Fixes", "Link", "Closes", "Message-ID", "Change-Id", "Bug", "Depends-on", "Based-on",
                "Reviewkit-Waive")
_CANON = {k.lower(): k for k in PERSON_KEYS + UTILITY_KEYS}
# Trailers a reviewer gives to a patch in a reply (b4 collects these).
FOLLOWUP_KEYS = frozenset(k.lower() for k in ("Reviewed-by", "Acked-by", "Tested-by", "Reported-by",
                                               "Suggested-by", "Nacked-by", "Signed-off-by",
                                               "Co-developed-by", "Fixes", "Link", "Closes",
                                               "Reported-and-tested-by"))

# what a line giving a follow-up trailer holds (parse_followup_trailers decides)
_FOLLOWUP_COLON = tuple(sorted({("-by" if k.endswith("-by") else k) + ":" for k in FOLLOWUP_KEYS}))
# linear on hostile lines: no lazy group before a whitespace run, no address start inside a word
_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*):[ \t]*(\S(?:.*\S)?)\s*$")
_EMAIL = re.compile(r"<?(?<![^\s<>@\"])([^\s<>@\"]+@[^\s<>]+?)>?(?=\s|$|[>,;])")
_FIXES = re.compile(r"^([0-9a-f]{12,64})\b", re.I)
_MAILTO = re.compile(r"<mailto:[^<>]*>>")
# a maintainer's note folded into the trailers: "[akpm@linux-foundation.org: fix typo]",
# "[akpm@linux-foundation.org fix whitespace]", "[ surenb: resolved merged conflict ... ]" (may wrap
# over lines); or a footnote the message refers to: "[1] https://lore.kernel.org/..."
_NOTE_START = re.compile(r"^\[(?:\s*[\w.+-]+@[\w.-]+[:\s]|\s*[\w.+-]+:\s)")
_FOOTNOTE = re.compile(r"^\[\d+\]\s")
_COMMENT = re.compile(r"(?<!\s)\s+(#.*|\[[^\]]*\])$")


def canonical_key(key: str) -> str:
    return _CANON.get(key.lower(), key[:1].upper() + key[1:])


def is_person_key(key: str) -> bool:
    lk = key.lower()
    return lk.endswith("-by") or lk == "cc"


def is_trailer_key(key: str) -> bool:
    return key.lower() in _CANON or is_person_key(key)


def parse_person_value(value: str) -> Optional[Person]:
    """`Name <addr>`, `Name (Org) <addr>`, `"Doe, Jane" <addr>`, bare `addr`."""
    m = re.search(r"<([^<>\s@]+@[^<>\s]+)>", value)
    if m:
        name = value[: m.start()].strip().strip('"').strip()
        return Person(name, m.group(1).lower())
    name, addr = parseaddr(value)
    if addr and "@" in addr:
        return Person(name.strip(), addr.lower())
    return None


def _make(key: str, value: str, line: int, msgid: str = "", given_by: Optional[Person] = None) -> Trailer:
    key = canonical_key(key)
    value = _MAILTO.sub(">", value)  # Outlook's "<addr<mailto:addr>>"
    comment = ""
    cm = _COMMENT.search(value)
    if cm and not (key == "Fixes" and cm.group(1).startswith("(")):
        comment, value = cm.group(1), value[: cm.start()].rstrip()
    person = parse_person_value(value) if is_person_key(key) else None
    return Trailer(key=key, value=value, person=person, line=line, comment=comment, msgid=msgid, given_by=given_by)


def parse_log_trailers(log: str) -> tuple[Trailer, ...]:
    """Trailers of a commit message (the text above `---`): its last paragraph, and the trailer paragraph
    above it when the last one starts with a backporter's note (`[ hughd: ... ]` after a blank line)."""
    lines = log.rstrip("\n").split("\n")
    end = len(lines)
    found: list[tuple[str, str, int]] = []
    while True:
        while end > 0 and not lines[end - 1].strip():
            end -= 1
        start = end
        while start > 0 and lines[start - 1].strip():
            start -= 1
        block = _block_trailers(lines, start, end)
        if block is None:
            break
        found = block + found
        if start == 0 or not _NOTE_START.match(lines[start].strip()):
            break
        end = start
    return tuple(_make(k, v, n) for k, v, n in found)


def _block_trailers(lines: list, start: int, end: int) -> Optional[list]:
    """The trailers of one paragraph, as (key, value, line); None when it is prose."""
    out: list[tuple[str, str, int]] = []
    note = ""  # inside a maintainer's note: "open" until its closing "]", then "closed"
    for i in range(start, end):
        raw = lines[i]
        stripped = raw.strip()
        if note == "open":
            note = "closed" if stripped.endswith("]") else "open"
            continue  # "[ surenb: resolved merged conflict caused by the difference in\n  ...arguments ]"
        if note == "closed" and raw[:1] in (" ", "\t"):
            continue  # "[jannh@google.com: v2]\n  Link: https://..." : the note's own link, indented
        note = ""
        m = _LINE.match(raw)
        if m and is_trailer_key(m.group(1)):
            out.append((m.group(1), m.group(2), i + 1))
            continue
        if _NOTE_START.match(stripped):
            # "[akpm@linux-foundation.org: fix typo]" is the maintainer's, not the trailer's
            note = "closed" if stripped.endswith("]") else "open"
            continue
        if _FOOTNOTE.match(stripped):
            note = "closed"
            continue
        if out and (raw[:1] in (" ", "\t") or stripped.startswith("<") or stripped.startswith("[")):
            # a wrapped value, an indented note or a "[note]" line belongs to the trailer above
            k, v, n = out[-1]
            out[-1] = (k, v + " " + stripped, n)
            continue
        if not out:
            return None  # prose: no trailers
    return out


def _valid_followup(key: str, value: str) -> bool:
    lk = key.lower()
    if lk == "fixes":
        return bool(_FIXES.match(value))
    if lk in ("link", "closes"):
        return "://" in value or "@" in value
    return parse_person_value(value) is not None


def parse_followup_trailers(body: str, msgid: str = "", sender: Optional[Person] = None) -> tuple[Trailer, ...]:
    """Trailers a reviewer gave in a reply: unquoted lines above the signature."""
    lowered = body.lower()  # most replies give none: not read line by line
    if not any(key in lowered for key in _FOLLOWUP_COLON):
        return ()
    out = []
    for n, raw in enumerate(body.split("\n"), 1):
        if raw.rstrip() in ("--", "-- "):
            break
        if raw[:1] in (">", " ", "\t"):
            continue  # quoted, or indented (an example or a suggestion, not a trailer given)
        m = _LINE.match(raw.rstrip())
        if not m or m.group(1).lower() not in FOLLOWUP_KEYS or not _valid_followup(m.group(1), m.group(2)):
            continue
        t = _make(m.group(1), m.group(2), n, msgid, sender)
        if t.person and sender and sender.email:
            same_mail = t.person.email == sender.email
            same_name = bool(t.person.name) and t.person.name.lower() == sender.name.lower()
            if not (same_mail or same_name):
                t = Trailer(**{**t.__dict__, "mismatch": True})
        out.append(t)
    return tuple(out)
