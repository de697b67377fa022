"""Quote handling shared by the web-capture readers.

Mail clients mark quoted text with `>` per level and introduce it with an
attribution ("On <date>, <name> wrote:"). From those two signals a reply's
text is cut into nested quoted messages (`quoted_nodes`), and each quoted
message is matched against the messages a page holds (`match_score`), so a
reply's parent can be found where the page does not say it, and messages
known only from quotes can be rebuilt.

Dates in attributions come in many client-specific shapes (mutt, Gmail,
Apple Mail, KMail, Thunderbird in several locales); `parse_stamp` reads
them into a `Stamp`, which also says how precise the date is and whether
its time zone is known. Everything here is pure and linear in its input.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Optional

from ..mail import strip_via

# --- dates ------------------------------------------------------------------

MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
MONTHS.update({"sept": 9, "june": 6, "july": 7, "march": 3, "april": 4})

ZONES = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120,
    "MET": 60, "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180, "IST": 330, "SGT": 480, "HKT": 480,
    "AWST": 480, "CST": -360, "CDT": -300, "EST": -300, "EDT": -240, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600, "JST": 540, "KST": 540,
    "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
}

_TIME = r"(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2}))?"
_AMPM = r"(?:\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?))?"
_TZ = r"(?:\s*\(?(?P<tz>[+-]\d{2}:?\d{2}|(?-i:(?:UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?|[A-Z]{2,5}))\)?(?![\w]))?"
_WD = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_MON = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_AT = r",?\s+(?:at\s+|um\s+|à\s+)?"
_DATE_SHAPES = [
    # mutt, Gmail, Apple Mail: "Tue, Jun 22, 2021 at 10:47:11PM +1000", "Nov 7, 2022, at 8:17 AM"
    re.compile(_WD + _MON + r"\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})" + "(?:" + _AT + _TIME + _AMPM + _TZ + ")?",
               re.I),
    # RFC 2822, KMail: "Fri, 6 Mar 2020 14:25:37 +0100", "Tuesday, 22 June 2021 10:40:37 AM AEST"
    re.compile(_WD + r"(?P<day>\d{1,2})\.?\s+" + _MON + r",?\s+(?P<year>\d{4})" + "(?:" + _AT + _TIME + _AMPM + _TZ
               + ")?", re.I),
    # ISO: "2021-10-01 7:48 a.m.", "2020-04-15 23:34:01 +0200"
    re.compile(r"(?P<year>\d{4})-(?P<m2>\d{1,2})-(?P<day>\d{1,2})(?:(?:,?\s+|T)(?:at\s+)?" + _TIME + _AMPM + _TZ
               + ")?", re.I),
    # Thunderbird in many locales: "3/6/20 5:25 AM", "07.11.22 20:03", "7/11/2022, 20:03"
    re.compile(r"(?P<n1>\d{1,2})(?P<sep>[./])(?P<n2>\d{1,2})(?P=sep)(?P<y2>\d{4}|\d{2})(?!\d)(?:" + _AT + _TIME + _AMPM + _TZ
               + ")?", re.I),
]


@dataclass(frozen=True)
class Stamp:
    """A date as a page or an attribution gives it.

    `dt` is aware when the time zone is known, naive otherwise (its wall
    clock then is the writer's, zone unknown). `precision` is "second",
    "minute" or "day". `alternatives` hold other readings of an ambiguous
    numeric date (3/6/20: March 6 or June 3).
    """
    dt: datetime
    precision: str
    tz_known: bool
    alternatives: tuple = ()

    def aware(self) -> Optional[datetime]:
        return self.dt if self.tz_known else None

    def describe(self) -> str:
        if self.precision == "day":
            return self.dt.date().isoformat()
        text = self.dt.isoformat()
        return text if self.tz_known else text + " (time zone unknown)"


def _tz_minutes(tz: Optional[str]) -> Optional[int]:
    if not tz:
        return None
    tz = tz.strip("()")
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", tz)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return sign * (int(m.group(2)) * 60 + int(m.group(3)))
    m = re.fullmatch(r"(?:UTC|GMT)([+-])(\d{1,2})(?::?(\d{2}))?", tz)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return sign * (int(m.group(2)) * 60 + int(m.group(3) or 0))
    return ZONES.get(tz.upper())


def _hour(hh: int, ampm: Optional[str]) -> int:
    if not ampm:
        return hh
    pm = ampm.lower().startswith("p")
    if hh == 12:
        return 12 if pm else 0
    return hh + 12 if pm else hh


def _year(y: str) -> int:
    n = int(y)
    return n + 2000 if n < 100 else n


def _build(year: int, month: int, day: int, g: dict) -> Optional[tuple[datetime, str, bool]]:
    try:
        if g.get("hh") is None:
            return datetime(year, month, day), "day", False
        dt = datetime(year, month, day, _hour(int(g["hh"]), g.get("ampm")), int(g["mi"]), int(g.get("ss") or 0))
    except ValueError:
        return None
    precision = "second" if g.get("ss") else "minute"
    minutes = _tz_minutes(g.get("tz"))
    if minutes is not None:
        return dt.replace(tzinfo=timezone(timedelta(minutes=minutes))), precision, True
    return dt, precision, False


def parse_stamp(text: str) -> tuple[Optional[Stamp], int]:
    """Read a date at the start of `text`: (Stamp or None, characters used)."""
    for shape in _DATE_SHAPES:
        m = shape.match(text)
        if not m:
            continue
        g = m.groupdict()
        readings: list[tuple[int, int, int]] = []
        if g.get("mon"):
            readings.append((int(g["year"]), MONTHS[g["mon"].lower()[:4] if g["mon"].lower()[:4] == "sept"
                                                      else g["mon"].lower()[:3]], int(g["day"])))
        elif g.get("m2"):
            readings.append((int(g["year"]), int(g["m2"]), int(g["day"])))
        else:
            n1, n2, y = int(g["n1"]), int(g["n2"]), _year(g["y2"])
            if g["sep"] == ".":        # d.m.y (German, Czech, Russian, ...)
                readings += [(y, n2, n1), (y, n1, n2)]
            else:                      # m/d/y first (US), d/m/y second
                readings += [(y, n1, n2), (y, n2, n1)]
        built = [b for b in (_build(y, mo, d, g) for y, mo, d in readings) if b is not None]
        if not built:
            continue
        dt, precision, tz_known = built[0]
        alts = tuple(b[0] for b in built[1:] if b[0] != dt)
        return Stamp(dt, precision, tz_known, alts), m.end()
    return None, 0


def stamp_from_datetime(dt: Optional[datetime], precision: str = "second") -> Optional[Stamp]:
    if dt is None:
        return None
    return Stamp(dt, precision, dt.tzinfo is not None)


def _naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc).replace(tzinfo=None) if dt.tzinfo else dt


def _day_match(a: datetime, b: datetime) -> bool:
    return abs((_naive_utc(a).date() - _naive_utc(b).date()).days) <= 1


def stamps_match(a: Optional[Stamp], b: Optional[Stamp], tolerance: timedelta = timedelta(minutes=10)) -> bool:
    """Can `a` and `b` be the same moment, as far as their precision tells?

    Two known zones: within `tolerance` (Gmail shows when it received a
    mail, not its Date header). A day-only date: within a day either way
    (archives show days in their own zone). A wall clock with unknown zone:
    a whole or half-hour offset away, within a few minutes.
    """
    if a is None or b is None:
        return True
    for adt in (a.dt, *a.alternatives):
        for bdt in (b.dt, *b.alternatives):
            if _one_match(adt, a, bdt, b, tolerance):
                return True
    return False


def _one_match(adt: datetime, a: Stamp, bdt: datetime, b: Stamp, tolerance: timedelta) -> bool:
    if a.precision == "day" or b.precision == "day":
        return _day_match(adt, bdt)
    if a.tz_known and b.tz_known:
        return abs(adt - bdt) <= tolerance
    delta = (_naive_utc(adt) - _naive_utc(bdt)).total_seconds()
    if abs(delta) > 26 * 3600:
        return False
    rest = delta % 1800
    slack = 180 if (a.tz_known or b.tz_known) else 240
    return min(rest, 1800 - rest) <= slack


def more_precise(a: Optional[Stamp], b: Optional[Stamp]) -> Optional[Stamp]:
    """The better of two stamps for the same moment (known zone, then finer precision)."""
    if a is None or b is None:
        return a or b
    rank = {"day": 0, "minute": 1, "second": 2}

    def key(s: Stamp) -> tuple:
        return (s.precision != "day", s.tz_known, rank[s.precision])
    return a if key(a) >= key(b) else b


# --- people -----------------------------------------------------------------

_OBFUSCATED = re.compile(r"@x{3,}(?:\.x+)*$|@\.\.\.$|\.\.\.@", re.I)


@lru_cache(maxsize=65536)
def norm_name(name: str) -> str:
    """Comparable form of a person's name: accents, case, punctuation and order folded."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = strip_via(text.strip())[0]
    if text.count(",") == 1 and "@" not in text:  # "Hansen, Dave"
        last, first = (p.strip() for p in text.split(","))
        text = f"{first} {last}"
    text = re.sub(r"\([^)]*\)", " ", text)
    return " ".join(re.sub(r"[^\w@.+-]+", " ", text.lower()).split())


def clean_email(email: str) -> str:
    email = (email or "").strip().strip("<>").lower()
    if not email or "@" not in email or _OBFUSCATED.search(email):
        return ""
    return email


def same_person(name_a: str, email_a: str, name_b: str, email_b: str) -> bool:
    ea, eb = clean_email(email_a), clean_email(email_b)
    if ea and eb:
        return ea == eb or (norm_name(name_a) == norm_name(name_b) != "")
    na, nb = norm_name(name_a), norm_name(name_b)
    if na and nb and na == nb:
        return True
    # one side only has an address: "david@redhat.com wrote:"
    for n, e in ((na, eb), (nb, ea)):
        if n and e and n == e:
            return True
    return False


# --- quote levels -----------------------------------------------------------

_PREFIX = re.compile(r"^((?:>(?: (?=>))?)+) ?")


@dataclass
class QLine:
    depth: int
    text: str        # the line without its quote marks
    index: int       # 0-based line number in the body


# Real threads nest quotes a dozen levels at most; deeper ">" runs are hostile or garbage
# (and would make the nesting work quadratic), so they are read as text beyond this depth.
MAX_QUOTE_DEPTH = 32


def quote_depth(line: str) -> tuple[int, str]:
    """(depth, text) for one line: "> > +foo" -> (2, "+foo"), ">>  x" -> (2, " x")."""
    m = _PREFIX.match(line)
    if not m:
        return 0, line
    depth = m.group(1).count(">")
    if depth > MAX_QUOTE_DEPTH:
        return 0, line
    return depth, line[m.end():]


def quote_lines(body: str) -> list[QLine]:
    out = []
    for i, line in enumerate(body.split("\n")):
        d, text = quote_depth(line)
        out.append(QLine(d, text, i))
    return out


# --- attributions -----------------------------------------------------------

_WROTE = re.compile(r"^(?:On|Le|Am|El|Il|Em|Op|Dne|W dniu)\s+(?P<body>.+?)\s*,?\s*(?:wrote|writes|said|a écrit|schrieb|"
                    r"escribió|ha scritto|escreveu|schreef|napsal|napisał)\s*:\s*$", re.I | re.S)
_NAME_WROTE = re.compile(r"^(?P<body>[^\s>][^:]{1,120}?)\s+(?:wrote|writes)\s*:\s*$", re.I)
_QUOTING = re.compile(r"^Quoting (?P<body>.+?)(?:\s*\((?P<date>[^)]*)\))?:?\s*$", re.I)
_ADDR = re.compile(r"<?\b([\w.+-]+@[\w.-]+)>?")


@dataclass(frozen=True)
class Attribution:
    name: str
    email: str
    stamp: Optional[Stamp]
    text: str            # the attribution as written (one line, joined when it was folded)


def _split_name(rest: str) -> tuple[str, str]:
    rest = rest.strip().strip(",").strip()
    rest = re.sub(r"^(?:at\s+)", "", rest)
    m = _ADDR.search(rest)
    email = clean_email(m.group(1)) if m else ""
    name = (rest[: m.start()] + rest[m.end():]) if m else rest
    name = strip_via(name.strip().strip(",").strip().strip('"').strip())[0]
    name = name.strip("'\" ")
    if not name and m:
        name = m.group(1)
    return name, email


def parse_attribution(text: str) -> Optional[Attribution]:
    """The author and date of an "On <date>, <name> wrote:" line (or a variant); None if it is not one."""
    text = " ".join(text.split())
    if len(text) > 300:
        return None
    m = _WROTE.match(text)
    if m:
        body = m.group("body")
        stamp, used = parse_stamp(body)
        if stamp is not None:
            name, email = _split_name(body[used:])
        else:  # "On Mon, 7 Nov 2022 somebody wrote" without a readable date: take the name after the last comma
            head, _, tail = body.rpartition(",")
            name, email = _split_name(tail if head else body)
        if not name or len(name) > 100:
            return None
        return Attribution(name, email, stamp, text)
    m = _QUOTING.match(text)
    if m:
        name, email = _split_name(m.group("body"))
        stamp = parse_stamp(m.group("date"))[0] if m.group("date") else None
        return Attribution(name, email, stamp, text) if name else None
    m = _NAME_WROTE.match(text)
    if m and not re.search(r"\b(?:I|you|he|she|we|they|who|which|that|it)\b", m.group("body"), re.I):
        name, email = _split_name(m.group("body"))
        if name and len(name.split()) <= 6:
            return Attribution(name, email, None, text)
    return None


_ATT_START = re.compile(r"^(?:On|Le|Am|El|Il|Em|Op|Dne|W dniu|Quoting)\s")
_ATT_END = re.compile(r"(?:wrote|writes|said|écrit|schrieb|escribió|scritto|escreveu|schreef|napsal|napisał)\s*:\s*$"
                      r"|^Quoting ", re.I)


def find_attribution(lines: list[QLine], i: int) -> tuple[Optional[Attribution], int]:
    """An attribution starting at lines[i] (same depth, folded over up to 3 lines): (it, lines used)."""
    depth = lines[i].depth
    text = lines[i].text.strip()
    if not text or not (text.endswith(":") or _ATT_START.match(text)):
        return None, 0
    for used in range(1, 4):
        if used > 1:
            j = i + used - 1
            if j >= len(lines) or lines[j].depth != depth or not lines[j].text.strip():
                break
            text += " " + lines[j].text.strip()
        if _ATT_END.search(text):
            att = parse_attribution(text)
            return (att, used) if att else (None, 0)
        if used == 1 and not _ATT_START.match(text):
            break
    return None, 0


# --- quoted messages inside a reply -----------------------------------------

@dataclass
class QuotedNode:
    """A message quoted at `depth` inside a reply, with its attribution (if any).

    `lines` are the lines of the reply at this depth or deeper, in order,
    with their depth made relative to this node. `inner` is the node this
    one quoted in turn (its parent in the conversation), when known.
    """
    depth: int
    attribution: Optional[Attribution]
    lines: list = field(default_factory=list)    # [QLine] (relative depth)
    inner: Optional["QuotedNode"] = None
    first_line: int = 0

    def own_text(self) -> list[str]:
        """Lines written by the quoted author (not their own quotes, not attributions)."""
        skip = set()
        i = 0
        while i < len(self.lines):
            if self.lines[i].depth == 0:
                att, used = find_attribution(self.lines, i)
                if att:
                    skip.update(range(i, i + used))
                    i += used
                    continue
            i += 1
        return [ql.text for j, ql in enumerate(self.lines) if ql.depth == 0 and j not in skip]

    def body(self) -> str:
        out = []
        for ql in self.lines:
            out.append((">" * ql.depth + " " + ql.text) if ql.depth else ql.text)
        while out and not out[-1].strip():
            out.pop()
        while out and not out[0].strip():
            out.pop(0)
        return "\n".join(out) + "\n" if out else ""


def quoted_nodes(lines: list[QLine]) -> tuple[list[QuotedNode], list[Attribution]]:
    """Cut a reply's lines into quoted messages.

    Returns (nodes, attributions at depth 0). A line at depth d belongs to
    the open node of every depth 1..d. An attribution at depth k opens a new
    node at depth k+1; the node open at depth k quoted it (its `inner`).
    Nodes without an attribution are kept (their text still identifies
    them) with `attribution` None.
    """
    nodes: list[QuotedNode] = []
    open_at: dict[int, QuotedNode] = {}
    top: list[Attribution] = []
    pending: dict[int, Attribution] = {}
    i = 0
    while i < len(lines):
        ql = lines[i]
        att, used = find_attribution(lines, i)
        if att is not None:
            pending[ql.depth + 1] = att
            if ql.depth == 0:
                top.append(att)
        else:
            used = 1
        for k in range(1, ql.depth + 1):
            node = open_at.get(k)
            if node is None or (k in pending and node.attribution is not pending[k]):
                node = QuotedNode(k, pending.get(k), first_line=ql.index)
                open_at[k] = node
                nodes.append(node)
                for deeper in [d for d in open_at if d > k]:
                    del open_at[deeper]
                outer = open_at.get(k - 1)
                if outer is not None and outer.inner is None:
                    outer.inner = node
            for j in range(i, i + used):
                node.lines.append(QLine(lines[j].depth - k, lines[j].text, lines[j].index))
        i += used
    return nodes, top


def depth_one(nodes: Iterable[QuotedNode]) -> list[QuotedNode]:
    return [n for n in nodes if n.depth == 1]


# --- matching a quoted message to a message on the page ----------------------

_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """Text with all white space removed and case folded: wraps and lost indentation do not matter."""
    return _WS.sub("", text).lower()


def own_lines(body: str) -> list[str]:
    """A message's own (unquoted) lines."""
    return [ql.text for ql in quote_lines(body) if ql.depth == 0]


def match_score(quoted: list[str], candidate_text: str, sample: int = 40) -> Optional[float]:
    """Share of the quoted lines (long enough to mean something) found in the candidate's text.

    `candidate_text` is `squash()`ed own text of the candidate. None when the
    quote has no line long enough to tell.
    """
    found = match_count(quoted, candidate_text, sample)
    return None if found is None else found[0] / found[1]


def probes_of(quoted: list[str], sample: int = 40) -> list[str]:
    """The quoted lines worth looking for (squashed, long enough to mean something), at most `sample`."""
    out = []
    for q in quoted:
        sq = squash(q)
        if len(sq) >= 12:
            out.append(sq)
            if len(out) >= sample:
                break
    return out


def match_count(quoted: list[str], candidate_text: str, sample: int = 40,
                probes: Optional[list[str]] = None) -> Optional[tuple[int, int]]:
    """(quoted lines found in the candidate's text, quoted lines tried); None when none is long enough."""
    probes = probes_of(quoted, sample) if probes is None else probes
    if not probes:
        return None
    return sum(1 for p in probes if p in candidate_text), len(probes)


def mutt_stamp(msgid: str) -> Optional[datetime]:
    """The UTC time mutt, git send-email and others encode in a Message-ID (<20210930003652.GH...@host>)."""
    m = re.match(r"<(\d{14})[.-]", msgid or "")
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def day_stamp(d: date) -> Stamp:
    return Stamp(datetime(d.year, d.month, d.day), "day", False)


def rejoin_quote_wraps(body: str, width: int = 72) -> tuple[str, int]:
    """Join the tails of quoted lines an archive wrapped onto an unquoted line of their own.

    "> @@ -781,6 ... struct \\nmm_struct *src_mm," -> one quoted line. Only a
    non-blank, unquoted line right after a quoted line that ends with a
    space and was long enough to be wrapped is joined.
    """
    lines = body.split("\n")
    out: list[str] = []
    joined = 0
    for line in lines:
        if out and line.strip() and not line.startswith(">"):
            prev = out[-1]
            d, _ = quote_depth(prev)
            first = line.split()[0]
            if d and prev.endswith(" ") and len(prev) + len(first) + 1 >= width:
                out[-1] = prev + line
                joined += 1
                continue
        out.append(line)
    return "\n".join(out), joined
