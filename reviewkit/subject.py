"""Subject lines: reply markers, [PATCH ...] prefixes, versions, counters.

Small pure functions, compatible with patchwork's parser (`clean_subject`,
`split_prefixes`, `parse_series_marker`, `parse_version`) and tested against
its expectations, plus what kernel lists add: list tags such as
`[Nouveau] `, `PATCHv2`, `RFC`/`RESEND`, hg's `0 of 2`.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Optional

from .model import Subject

_REPLY = re.compile(r"^\s*(?:(?:re|aw|sv|fwd?)\s*(?:\[\d+\])?\s*[:\s]\s*)+", re.I)
_REPLY_ONLY = re.compile(r"^\s*(?:re|aw|sv)\s*(?:\[\d+\])?\s*[:\s]", re.I)
# the same, matched at a position (pattern.match(s, pos): "^" would not match there)
_REPLY_AT = re.compile(_REPLY.pattern[1:], re.I)
_REPLY_ONLY_AT = re.compile(_REPLY_ONLY.pattern[1:], re.I)
_PREFIX = re.compile(r"\[([^\]]*)\]\s*")  # matched at a position: no copy of the rest per group
_SPLIT = re.compile(r"[,\s]+")
_WS = re.compile(r"\s+")
# At most 18 digits: int() refuses 4,300 and more (series.py bounds the totals it enumerates)
_MARKER_EXACT = re.compile(r"^([0-9]{1,18})(?:/| of )([0-9]{1,18})$")
_MARKER_GLUED = re.compile(r"[^0-9]([0-9]{1,18})(?:/| of )([0-9]{1,18})$")
_VERSION = re.compile(r"^(?:[a-z]*PATCH)?[vV](\d{1,18})(?:\.\d+)?$", re.I)
_VERSION_GLUED = re.compile(r"^[vV](\d{1,18})(?:\.\d+)?PATCH", re.I)
_VERSION_IN_NAME = re.compile(r"\([vV](\d{1,18})\)")
_OF = re.compile(r"(?<!\d)(\d+)\s+of\s+(\d+)", re.I)  # (?<!\d): linear on long digit runs
# Bracket groups that belong to the patch marker, not to a mailing list.
_PATCHY = re.compile(r"(patch|rfc|resend|^v\d|(?<!\d)\d+/\d+|(?<!\d)\d+ of \d+|pull|git)", re.I)


def normalise_space(text: str) -> str:
    return _WS.sub(" ", text).strip()


def is_reply_subject(subject: str) -> bool:
    return bool(_REPLY_ONLY.match(subject))


def split_prefixes(prefix: str) -> list[str]:
    return [p for p in _SPLIT.split(prefix) if p]


def clean_subject(subject: str, drop_prefixes: Iterable[str] = ()) -> tuple[str, list[str]]:
    """Patchwork's name for a subject: reply markers and PATCH dropped,
    other bracketed prefixes kept in front as `[A,B] name`."""
    drop = {p.lower() for p in drop_prefixes} | {"patch"}
    subject = normalise_space(_REPLY.sub(" ", subject, count=1))
    prefixes: list[str] = []
    at = 0
    m = _PREFIX.match(subject)
    while m:
        prefixes += [p for p in split_prefixes(m.group(1)) if p.lower() not in drop]
        at = m.end()
        m = _PREFIX.match(subject, at)
    subject = normalise_space(subject[at:])
    if prefixes:
        subject = "[%s] %s" % (",".join(prefixes), subject)
    return subject, prefixes


def parse_series_marker(prefixes: Iterable[str]) -> Optional[tuple[int, int]]:
    prefixes = list(prefixes)
    for regex in (_MARKER_EXACT, _MARKER_GLUED):
        for p in prefixes:
            m = regex.match(p) if regex is _MARKER_EXACT else regex.search(p)
            if m:
                return int(m.group(1)), int(m.group(2))
    return None


def parse_version(name: str, prefixes: Iterable[str]) -> int:
    for p in prefixes:
        m = _VERSION.match(p) or _VERSION_GLUED.match(p)
        if m:
            return int(m.group(1))
    m = _VERSION_IN_NAME.search(name)
    return int(m.group(1)) if m else 1


@lru_cache(maxsize=8192)
def parse_subject(raw: str) -> Subject:
    """Everything the pipeline needs from a subject line."""
    text = normalise_space(raw)
    is_reply = is_reply_subject(text)
    rest = normalise_space(_REPLY.sub(" ", text, count=1)) if is_reply or _REPLY.match(text) else text
    groups: list[str] = []
    at = 0
    m = _PREFIX.match(rest)
    while m:
        groups.append(m.group(1))
        at = m.end()
        m = _PREFIX.match(rest, at)
        # a reply marker can sit between list tag and prefix: "[Nouveau] Re: [PATCH]"
        if not m and _REPLY_ONLY_AT.match(rest, at):
            is_reply = True
            at = _REPLY_AT.match(rest, at).end()
            m = _PREFIX.match(rest, at)
    rest = rest[at:]
    # Leading single-word groups before the first patch-like group are list tags.
    list_tags: list[str] = []
    if any(_PATCHY.search(g) for g in groups):
        while groups and not _PATCHY.search(groups[0]):
            list_tags.append(groups.pop(0).strip())
    prefixes: list[str] = []
    for g in groups:
        prefixes += split_prefixes(_OF.sub(r"\1/\2", g))
    marker = parse_series_marker(prefixes)
    title = normalise_space(rest)
    upper = {p.upper() for p in prefixes}
    return Subject(
        raw=raw,
        title=title,
        prefixes=tuple(prefixes),
        version=parse_version(title, prefixes),
        counter=marker[0] if marker else None,
        total=marker[1] if marker else None,
        is_reply=is_reply,
        is_rfc=any(p.upper().startswith("RFC") for p in prefixes) or "RFC" in upper,
        is_resend="RESEND" in upper,
        list_tags=tuple(list_tags),
    )
