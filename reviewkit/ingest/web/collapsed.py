"""Text dumps with every newline collapsed into a space.

Two shapes occur: a raw message (lore's "raw" view, an mbox) whose
headers, body and all run together on one line, and a message as a list
archive shows it (spinics, MHonArc: `Subject:`/`From:`/`Date:` labels, or
only the body). What can be rebuilt:

- headers: each known header name followed by ": " starts a header; where
  the last one ends and the body starts is decided by the shape of that
  header's value (a Date is a date, List-ID one `<...>`, and so on);
- quoted lines: every quoted line began with its quote marks, so a run of
  `>` marks starts a new line, and its length is the quote depth (a run
  that is a blank quoted line followed by the next one is split again);
- the signature (`-- Name`), and diff file/hunk headers, start lines.

The unquoted prose keeps its words but not its line breaks, and white space
inside lines is collapsed, so diffs quoted this way lose their indentation
(repair.py marks it). An unquoted diff cannot be rebuilt line by line.
"""
from __future__ import annotations

import re
from datetime import timezone
from functools import lru_cache
from typing import Optional

from ...model import Person
from ..mail import _parse_date, decode_words, parse_person
from .entries import Entry
from .quoting import find_attribution, quote_lines, stamp_from_datetime

FORMAT = "collapsed"
WHITESPACE = "collapsed"

_FROM_LINE = re.compile(r"^From \S+ +\w{3} \w{3} +\d{1,2} \d{1,2}:\d{2}:\d{2} \d{4}\s+")
_KNOWN = frozenset("""return-path received from to cc bcc subject date message-id in-reply-to references reply-to
sender mime-version content-type content-transfer-encoding content-disposition content-language
content-description content-id user-agent organization precedence delivered-to importance priority
thread-topic thread-index authentication-results received-spf dmarc-filter errors-to mail-followup-to
mail-reply-to openpgp autocrypt followup-to newsgroups keywords comments in-reply-to""".split())
_PREFIXES = ("x-", "list-", "arc-", "dkim-", "content-", "resent-", "authentication-", "received-", "accept-",
             "disposition-", "original-", "auto-", "mail-")
_CAND = re.compile(r"(?:^|(?<=\s))([A-Za-z][A-Za-z0-9-]{0,60}):(?=\s|$)")
_MSGID_HEADERS = ("message-id", "in-reply-to", "references")
_RFC_DATE = re.compile(r"\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?"
                       r"(?:\s*[+-]\d{4}|\s+[A-Z]{1,5})?(?:\s*\([A-Za-z ]+\))?")
# how far a header's value may run (characters) when the next header is its end
_MAX_VALUE = {"subject": 500, "from": 400, "sender": 400, "reply-to": 600, "date": 80, "message-id": 300,
              "in-reply-to": 600, "mime-version": 40, "content-transfer-encoding": 40, "precedence": 40,
              "autocrypt": 16000, "openpgp": 2000}
# the shape of a value when it is the last header (the body follows it)
_LAST_VALUE = {
    "date": _RFC_DATE,
    "message-id": re.compile(r"\s*(?:<[^<>\s]*>|[^\s<>]+@[^\s<>]+)?"),
    "in-reply-to": re.compile(r"\s*(?:<[^<>\s]*>\s*)*"),
    "references": re.compile(r"\s*(?:<[^<>\s]*>\s*)*"),
    "list-id": re.compile(r"\s*(?:(?:\"[^\"]*\"|[^\s<>\"]+(?: [^\s<>\"]+){0,6})?\s*<[^<>\s]*>)?"),
    "mime-version": re.compile(r"\s*\d\.\d(?:\s*\([^)]*\))?"),
    "content-type": re.compile(r"\s*[\w.+-]+/[\w.+-]+(?:\s*;\s*[\w-]+=(?:\"[^\"]*\"|[^\s;]+))*"),
    "content-transfer-encoding": re.compile(r"\s*[\w-]+"),
    "precedence": re.compile(r"\s*\S+"),
    "x-loop": re.compile(r"\s*\S+"),
    "x-mailing-list": re.compile(r"\s*(?:<[^<>\s]*>|\S+)"),
    "content-language": re.compile(r"\s*[\w-]+"),
    "user-agent": re.compile(r"\s*(?:[\w.+-]+/[\w.+-]+(?: \([^)]*\))?\s*)+"),
    "sender": re.compile(r"\s*(?:\"[^\"]*\"\s*)?(?:<[^<>\s]*>|[^\s<>]+@[^\s<>]+)?"),
}
_BODY_START = re.compile(r"(?:On|Le|Am) .{5,200}? (?:wrote|writes|a écrit|schrieb):|(?:^|\s)>\s|Hi |Hello |Hey |Dear ")


def is_header_name(name: str) -> bool:
    n = name.lower()
    return n in _KNOWN or n.startswith(_PREFIXES)


def _value_ok(name: str, value: str) -> bool:
    n = name.lower()
    if len(value) > _MAX_VALUE.get(n, 8000 if n in ("to", "cc", "references") else 4000):
        return False
    shape = _LAST_VALUE.get(n)
    if shape is not None and n not in ("sender", "list-id", "user-agent"):
        m = shape.match(value)
        return m is not None and not value[m.end():].strip()
    return True


def split_headers(text: str) -> tuple[list[tuple[str, str]], int, list[str]]:
    """(headers, index where the body starts, problems) for a collapsed raw message."""
    pos = 0
    m = _FROM_LINE.match(text)
    if m:
        pos = m.end()
    cands = [c for c in _CAND.finditer(text, pos) if is_header_name(c.group(1))]
    if not cands or cands[0].start() > pos + 1:
        return [], pos, []
    headers: list[tuple[str, str]] = []
    problems: list[str] = []
    k = 0
    while k < len(cands):
        cur = cands[k]
        vstart = cur.end()
        nxt = None
        for j in range(k + 1, min(len(cands), k + 60)):
            value = text[vstart:cands[j].start()]
            if not _value_ok(cur.group(1), value):
                if len(value) > 16000:
                    break
                continue
            if _next_plausible(text, cands, j):
                nxt = j
                break
        if nxt is None:
            end, sure = _last_value_end(cur.group(1), text, vstart)
            headers.append((cur.group(1), text[vstart:end].strip()))
            if not sure:
                problems.append(f"where the headers end is a guess (after '{cur.group(1)}:' at character {cur.start()})")
            return headers, end, problems
        headers.append((cur.group(1), text[vstart:cands[nxt].start()].strip()))
        k = nxt
    return headers, len(text), problems


def _next_plausible(text: str, cands: list, j: int) -> bool:
    """Is candidate j a header (its own value fits its shape up to the next candidate)?"""
    name = cands[j].group(1).lower()
    shape = _LAST_VALUE.get(name)
    if shape is None or name in ("sender", "list-id", "user-agent"):
        return True
    m = shape.match(text, cands[j].end())
    return m is not None and m.end() > cands[j].end() or name in ("in-reply-to", "references")


def _last_value_end(name: str, text: str, vstart: int) -> tuple[int, bool]:
    shape = _LAST_VALUE.get(name.lower())
    if shape is not None:
        m = shape.match(text, vstart)
        return (m.end() if m else vstart), True
    m = _BODY_START.search(text, vstart)
    if m:
        return m.start(), False
    return min(len(text), vstart + 200), False


# --- body lines -------------------------------------------------------------------

_RUN = re.compile(r"(?:(?<=\s)|^)(>(?: ?>)*)(?=\s|$)")
_SIG = re.compile(r"\s--\s+(?P<sig>[^>]{1,80}?)\s*$")
_DIFF_TOKENS = re.compile(r"\s(?=diff --git |index [0-9a-f]{7,}\.\.[0-9a-f]{7,}|--- (?:a/|/dev/null)|\+\+\+ b/|"
                          r"@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@)")


@lru_cache(maxsize=64)
def _compositions(d: int, blanks: int = 3) -> list[tuple[int, ...]]:
    """Ways to read a run of d marks: blank quoted lines (up to `blanks`) then the line's own depth."""
    out = [(d,)]
    if blanks:
        for first in range(1, d):
            out += [(first, *rest) for rest in _compositions(d - first, blanks - 1)]
    return out


def _reading_cost(parts: tuple, p: int, seen: int, sentence_end: bool, after_att: bool) -> float:
    cost = 0.0
    cur, prev_blank = p, None
    att = after_att
    for k, x in enumerate(parts):
        blank = k < len(parts) - 1
        if x > seen + 1 and not (att and x == cur + 1):
            cost += 6.0                       # deeper than anything opened so far
        if att:
            cost += 0.0 if x == cur + 1 or (blank and x == cur) else 1.5
        elif x < cur:
            cost += 0.4
        elif x > cur:
            # back into a quote already open is cheap; opening a new level less so
            cost += 0.3 * max(0, min(x, seen) - cur) + 1.6 * max(0, x - max(seen, cur))
        if blank:
            cost += 1.5 if prev_blank == x else (0.5 if sentence_end or k else 1.1)
            att = att and x == cur
            prev_blank = x
        else:
            att = False
        seen = max(seen, x)
        cur = x
    return cost


@lru_cache(maxsize=8192)
def _best_reading(d: int, p: int, seen: int, sentence_end: bool, after_att: bool) -> tuple:
    return min(_compositions(d), key=lambda c: (_reading_cost(c, p, seen, sentence_end, after_att), len(c)))


def _depths(runs: list[tuple[int, str]], texts: list[str]) -> list[tuple[int, str]]:
    """Quote depth for each run of `>` marks.

    A blank quoted line followed by the next quoted line collapses into one
    longer run ("> >" = a blank line at depth 1 and a line at depth 1, or a
    line at depth 2). Each run is read the cheapest way: staying at the same
    depth is free, going one level deeper costs a little (nothing right
    after an attribution), going deeper than anything opened so far costs a
    lot, and blank lines are cheap after the end of a sentence.
    """
    out: list[tuple[int, str]] = []
    p = 0
    prev_text = texts[0] if texts else ""
    seen = 0
    for (d, _), text in zip(runs, texts[1:]):
        after_att = bool(re.search(r"(?:wrote|writes|écrit|schrieb)\s*:\s*$", prev_text))
        sentence_end = not prev_text or bool(re.search(r"[.!?:]\)?[\"']?$", prev_text))
        parts = _best_reading(d, p, min(seen, 12), sentence_end, after_att) if p >= 1 and d <= 12 else (d,)
        for x in parts[:-1]:
            out.append((x, ""))
        out.append((parts[-1], text))
        p, prev_text, seen = parts[-1], text, max(seen, *parts)
    return out


_REPLY_AFTER_QUOTE = re.compile(r"(?<=[.!?)])\s+(?=[A-Z][a-z']*\b)")


def _split_reply(text: str, limit: int = 76, last: bool = False) -> tuple[str, str]:
    """A quoted line longer than mail lines are is a quoted line plus the reply written after it.

    Cut after the last sentence end within the first `limit` characters. The
    text after the last quote (`last`) is where a bottom-posted reply and the
    signature are: cut there at the first sentence end.
    """
    if len(text) <= limit and not last:
        return text, ""
    cut = None
    for m in _REPLY_AFTER_QUOTE.finditer(text, 0, len(text) if last else limit):
        cut = m
        if last:
            break
    if cut is None or cut.start() < (2 if last else 8):
        return text, ""
    return text[: cut.start()], text[cut.end():]


def restore_lines(body: str) -> tuple[str, dict]:
    """Rebuild line structure in a collapsed body: one line per quoted line, signature apart."""
    notes: dict = {}
    runs = [(m.group(1).count(">"), m.group(1)) for m in _RUN.finditer(body)]
    pieces = _RUN.split(body)
    texts = [pieces[0]] + [pieces[k] for k in range(2, len(pieces), 2)]
    texts = [t.strip() for t in texts]
    lines: list[str] = []
    split_replies = 0
    if texts[0]:
        lines.extend(_split_unquoted(texts[0]))
    depths = _depths(runs, texts)
    for k, (d, text) in enumerate(depths):
        if d == 0:
            lines.extend(_split_unquoted(text))
            continue
        prefix = ">" * d
        quoted, reply = _split_reply(text, max(60, 78 - 2 * d), last=k == len(depths) - 1)
        for part in _split_diff(quoted):
            lines.append(prefix + (" " + part if part else ""))
        if reply:
            lines += ["", *_split_unquoted(reply)]
            split_replies += 1
    # the last unquoted text holds the signature
    if lines and not lines[-1].startswith(">"):
        m = _SIG.search(" " + lines[-1])
        if m:
            head = (" " + lines[-1])[: m.start()].strip()
            lines[-1:] = ([head] if head else []) + ["-- ", m.group("sig").strip()]
    notes["lines_rebuilt"] = len(lines)
    if split_replies:
        notes["reply_text_split_from_quotes"] = split_replies
    return "\n".join(lines) + "\n", notes


def _split_unquoted(text: str) -> list[str]:
    """Unquoted text: the attribution ends a line; diff headers start lines."""
    out = []
    m = re.match(r"^((?:On|Le|Am|El) .{5,250}? (?:wrote|writes|a écrit|schrieb):)\s*(.*)$", text, re.S)
    if m:
        out.append(m.group(1))
        text = m.group(2)
    if text:
        out.extend(_split_diff(text))
    return out


def _split_diff(text: str) -> list[str]:
    if "diff --git " not in text and "@@ -" not in text and "+++ b/" not in text:
        return [text]
    return [p.strip() for p in _DIFF_TOKENS.split(text)]


# --- reader ---------------------------------------------------------------------------

def read(text: str, name: str) -> tuple[list[Entry], list[str]]:
    text = text.replace("\r", " ").replace("\n", " ").strip()
    headers, body_at, problems = split_headers(text)
    body, notes = restore_lines(text[body_at:].strip())
    h: dict = {}
    for k, v in headers:
        h.setdefault(k.lower(), v)
    notes["missing"] = ["line breaks of unquoted text", "indentation"]
    author: Person
    if "from" in h:
        author = parse_person(h["from"])
        if author.email and re.search(r"@x{3,}", author.email):
            author = Person(author.name, "")
            notes["missing"].append("email address (obfuscated by the archive)")
    else:
        author = _author_from_signature(body)
        notes["author_source"] = "signature" if author.name else None
        notes["missing"].append("headers (From, Date, Subject, Message-ID)")
        problems.append("no headers in the text: author taken from the signature, date and subject unknown")
    dt = _parse_date(h.get("date"))
    if h.get("date") and dt is None:
        problems.append(f"unreadable Date {h['date'][:60]!r}")
    msgid = (re.findall(r"<[^<>\s]+>", h.get("message-id", "")) or [None])[0]
    irt = (re.findall(r"<[^<>\s]+>", h.get("in-reply-to", "")) or [None])[-1]
    refs = tuple(dict.fromkeys(re.findall(r"<[^<>\s]+>", h.get("references", ""))))
    if irt is None and refs:
        irt = refs[-1]
    kept = [(k, decode_words(v) if k.lower() not in _MSGID_HEADERS else v) for k, v in headers]
    e = Entry(author=author, stamp=stamp_from_datetime(dt), subject=decode_words(h.get("subject", "")),
              body=body, where="collapsed text" + (f", body at character {body_at}" if headers else ""),
              msgid=msgid, parent_msgid=irt, references=refs, headers=kept, notes=notes,
              parent_source="In-Reply-To header" if irt else "", date_source="Date header" if dt else "")
    if e.stamp is None:
        newest = _newest_quoted(body)
        if newest:
            notes["date_bound"] = f"sent after {newest} (its newest quoted message)"
    return [e], problems


def _author_from_signature(body: str) -> Person:
    lines = body.rstrip("\n").split("\n")
    if len(lines) >= 2 and lines[-2] == "-- ":
        name = re.sub(r"\s*<[^>]*>\s*$", "", lines[-1]).strip()
        if 0 < len(name.split()) <= 5:
            return Person(name, "")
    m = re.search(r"(?:Thanks|Regards|Cheers|Best)[,!]?\s+([A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3})\s*$", body.strip())
    return Person(m.group(1), "") if m else Person("", "")


def _newest_quoted(body: str) -> Optional[str]:
    qls = quote_lines(body)
    best = None
    for i in range(len(qls)):
        att, _ = find_attribution(qls, i)
        if att and att.stamp and att.stamp.tz_known:
            if best is None or att.stamp.dt > best.dt:
                best = att.stamp
    return best.dt.astimezone(timezone.utc).isoformat() if best else None


def looks_collapsed(text: str) -> bool:
    """Few line breaks for a lot of text, with mail structure inside."""
    sample = text[:200000]
    n = sum(1 for line in sample.split("\n") if line.strip()) or 1
    first = sample.lstrip().split("\n", 1)[0]
    if len(sample) < 400 or len(sample) / n < 400 or len(first) < 400:
        return False
    return bool(re.search(r"(?:^|\s)(?:From|Subject|Date|Message-ID): |\s>\s|wrote:|Signed-off-by:", sample))
