"""Rebuild who replied to whom from quotes, and the messages known only from quotes.

For each message on a page whose parent the page does not show, the
message its reply quotes at depth 1 is found: same person as the
attribution names, a compatible date, and the quoted lines found in the
candidate's own text. When no message on the page is that one, it is
rebuilt from the quote as a quoted-only entry (author and date from the
attribution, body from the quoted lines) and the same is done for what it
quoted in turn, so a single reply that quotes four earlier messages yields
those four, in order.

Entries are visited oldest first; candidates are looked up by person, so
the work is linear in the number of messages times the few candidates each
person has at a compatible date.
"""
from __future__ import annotations

import re
from datetime import timedelta, timezone
from typing import Optional

from ...model import Person
from .entries import Entry
from .quoting import (Attribution, QuotedNode, Stamp, depth_one, match_count, more_precise, mutt_stamp, norm_name,
                      own_lines, probes_of, quote_lines, quoted_nodes, same_person, squash, stamps_match)

# a quoted text must be found this well in a candidate to be that message
MIN_SCORE = 0.5
MIN_SCORE_ANONYMOUS = 0.8
_SLACK = timedelta(minutes=10)
MAX_CANDIDATES = 60
MAX_DEPTH = 40   # quoted messages rebuilt from one reply, at most


class History:
    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self.weak: set[int] = set()           # matched by subject and date only
        self.offsets: dict[str, int] = {}     # writer -> UTC offset (minutes) of the dates their client writes
        self._own: dict[int, str] = {}
        self._by_person: dict[str, list[int]] = {}
        self._by_day: dict[tuple, list[int]] = {}
        self.nodes: dict[int, list[QuotedNode]] = {}
        for i, e in enumerate(entries):
            self._index(i)

    def _index(self, i: int) -> None:
        e = self.entries[i]
        day = _day(e.stamp)
        for key in (norm_name(e.author.name), e.author.email.lower()):
            if key:
                self._by_person.setdefault(key, []).append(i)
                self._by_day.setdefault((key, day), []).append(i)

    def own_text(self, i: int) -> str:
        if i not in self._own:
            self._own[i] = squash("\n".join(own_lines(self.entries[i].body)))
        return self._own[i]

    def nodes_of(self, i: int) -> list[QuotedNode]:
        if i not in self.nodes:
            self.nodes[i] = quoted_nodes(quote_lines(self.entries[i].body))[0]
        return self.nodes[i]

    # --- candidates ---------------------------------------------------------

    def _people(self, att: Attribution) -> list[int]:
        """The same person's entries, at a date near the attribution's (a day each way, and undated ones)."""
        found: list[int] = []
        day = _day(att.stamp)
        for key in (norm_name(att.name), att.email.lower()):
            if not key:
                continue
            if day is None:
                found += self._by_person.get(key, [])
                continue
            for d in {day + k for k in range(-2, 3)} | {_day(Stamp(a, "day", False)) for a in att.stamp.alternatives}:
                found += self._by_day.get((key, d), [])
            found += self._by_day.get((key, None), [])
        out = []
        for i in dict.fromkeys(found):
            a = self.entries[i].author
            if same_person(att.name, att.email, a.name, a.email):
                out.append(i)
        return out

    def _is_ancestor_or_self(self, i: int, of: int) -> bool:
        seen = set()
        node: Optional[int] = of
        while node is not None and node not in seen:
            if node == i:
                return True
            seen.add(node)
            node = self.entries[node].parent
        return False

    def _distance(self, i: int, quoter: int) -> float:
        a, b = self.entries[i].stamp, self.entries[quoter].stamp
        if a is None or b is None:
            return float(abs(i - quoter)) * 1e9
        da = a.dt if a.dt.tzinfo else a.dt.replace(tzinfo=timezone.utc)
        db = b.dt if b.dt.tzinfo else b.dt.replace(tzinfo=timezone.utc)
        return abs((da - db).total_seconds())

    def _not_later(self, i: int, quoter: int) -> bool:
        a, b = self.entries[i].stamp, self.entries[quoter].stamp
        if a is None or b is None or not (a.tz_known and b.tz_known) or "day" in (a.precision, b.precision):
            return True
        return a.dt <= b.dt + _SLACK

    def match(self, node: QuotedNode, quoter: int) -> Optional[int]:
        """The entry `node` (quoted by entry `quoter`) is, if any."""
        att = node.attribution
        quoted = node.own_text()
        if att is not None:
            cands = [i for i in self._people(att)
                     if i != quoter and stamps_match(att.stamp, self.entries[i].stamp)
                     and self._not_later(i, quoter) and not self._is_ancestor_or_self(quoter, i)]
            threshold = MIN_SCORE
        else:
            near = range(max(0, quoter - 200), min(len(self.entries), quoter + 200))  # pages are in time order
            cands = [i for i in near
                     if i != quoter and not self.entries[i].quoted_only and self._not_later(i, quoter)
                     and not self._is_ancestor_or_self(quoter, i)]
            threshold = MIN_SCORE_ANONYMOUS
        best, best_score = None, -1.0
        unverifiable = []
        probes = probes_of(quoted)
        if len(cands) > MAX_CANDIDATES:   # a huge page: the same person's messages nearest in time
            cands = sorted(cands, key=lambda i: self._distance(i, quoter))[:MAX_CANDIDATES]
        for i in cands:
            counted = match_count(quoted, self.own_text(i), probes=probes)
            if counted is None:
                unverifiable.append(i)
                continue
            found, tried = counted
            s = found / tried
            # a page's copy may be cut short (archives truncate long mails): several quoted lines
            # found in the same person's message at a compatible date are enough
            ok = s >= threshold or (att is not None and found >= 3 and s >= 0.15)
            if ok and s > best_score:
                best, best_score = i, s
        if best is not None:
            return best
        if att is not None and att.stamp is not None and len(unverifiable) == 1 and len(cands) == 1:
            return unverifiable[0]
        original = self._same_subject_original(cands, quoter)
        if original is not None:
            self.weak.add(original)
            return original
        return None

    def _same_subject_original(self, cands: list[int], quoter: int) -> Optional[int]:
        """The one candidate that started the thread the quoter answers (same title, not a reply).

        Used when the quoted text is not in the candidate, as when the page's copy of a patch is cut
        off before the hunk the reply quotes."""
        q = self.entries[quoter]
        if q.subject_synthetic or not q.subject:
            return None
        title = _title(q.subject)
        found = [i for i in cands if not self.entries[i].quoted_only and not self.entries[i].subject_synthetic
                 and not _RE.match(self.entries[i].subject) and _title(self.entries[i].subject) == title]
        return found[0] if len(found) == 1 else None

    # --- rebuilding ----------------------------------------------------------

    def resolve(self, node: QuotedNode, quoter: int, depth_in_quoter: int, fallback: Optional[int]) -> Optional[int]:
        """The entry for a quoted message: an existing one, or a new quoted-only entry."""
        found = self.match(node, quoter)
        att = node.attribution
        if found is not None:
            self._learn(found, att, node, quoter)
            return found
        if att is None:
            return None
        q = self.entries[quoter]
        root = self.entries[self._root(quoter)]
        e = Entry(
            author=Person(att.name, att.email), stamp=_reading_before(att.stamp, q.stamp), subject=q.subject,
            body=node.body(), where=f"quoted in {root.where}, depth {depth_in_quoter}",
            quoted_only=True, quoted_in=[quoter],
            notes={"subject_source": "taken from the message quoting it (not in the quote)",
                   "attribution": att.text},
            date_source="attribution" if att.stamp else "",
        )
        e.msgid = self._known_msgid(quoter, depth_in_quoter, att.stamp)
        self.entries.append(e)
        idx = len(self.entries) - 1
        self._index(idx)
        inner = node.inner
        if inner is not None and depth_in_quoter >= MAX_DEPTH:
            e.notes["quoted_history_cut"] = f"quotes nested deeper than {MAX_DEPTH} levels are not rebuilt"
        elif inner is not None:
            parent = self.resolve(inner, idx, depth_in_quoter + 1, fallback)
            if parent is not None:
                e.parent, e.parent_source = parent, "attribution"
        if e.parent is None and fallback is not None and fallback != idx:
            e.parent, e.parent_source = fallback, "assumed: the page's first message"
        return idx

    def _root(self, i: int) -> int:
        """The real message a quoted-only entry was rebuilt from."""
        seen = set()
        while self.entries[i].quoted_only and self.entries[i].quoted_in and i not in seen:
            seen.add(i)
            i = self.entries[i].quoted_in[0]
        return i

    def _known_msgid(self, quoter: int, depth: int, stamp: Optional[Stamp]) -> Optional[str]:
        """A real Message-ID for a quoted message, when the quoting mail's headers name it for sure."""
        root = self.entries[self._root(quoter)]
        d = depth   # counted from the real message that holds the quote
        if d == 1 and root.parent_msgid and root.parent is None:
            return root.parent_msgid
        refs = list(root.references)
        if stamp is not None and stamp.tz_known and len(refs) >= d:
            ref = refs[-d]
            t = mutt_stamp(ref)
            if t is not None and abs(t - stamp.dt.astimezone(timezone.utc)) <= _SLACK:
                return ref
        return None

    def _learn(self, i: int, att: Optional[Attribution], node: QuotedNode, quoter: int) -> None:
        """What a quote tells about a message found on the page: a finer date, an address, a fuller text."""
        e = self.entries[i]
        if att is not None and att.stamp is not None and not att.stamp.tz_known and e.stamp is not None and \
                e.stamp.tz_known and e.stamp.precision != "day" and att.stamp.precision != "day":
            # the quoting writer's client shows times in its own zone: learn which
            delta = (att.stamp.dt - e.stamp.dt.astimezone(timezone.utc).replace(tzinfo=None)).total_seconds()
            self.offsets.setdefault(norm_name(self.entries[quoter].author.name), int(round(delta / 900.0)) * 15)
        if att is not None and att.stamp is not None and not att.stamp.tz_known and \
                (e.stamp is None or e.stamp.precision == "day"):
            # a wall-clock time in an unknown zone: usable once the quoting writer's zone is known
            e.notes.setdefault("_naive", []).append((att.stamp, quoter))
        elif att is not None and att.stamp is not None:
            better = more_precise(e.stamp, att.stamp)
            if better is not e.stamp:
                e.stamp = better
                e.date_source = f"attribution in {self.entries[quoter].where}"
            if att.email and not e.author.email:
                e.author = Person(e.author.name, att.email)
                e.notes["email_source"] = "attribution"
        if e.quoted_only:
            if quoter not in e.quoted_in:
                e.quoted_in.append(quoter)
            body = node.body()
            if len(body) > len(e.body):
                e.body = body
                self._own.pop(i, None)


def _day(stamp: Optional[Stamp]) -> Optional[int]:
    """Day number of a stamp (UTC when its zone is known), for looking up candidates near it."""
    if stamp is None:
        return None
    dt = stamp.dt.astimezone(timezone.utc) if stamp.tz_known else stamp.dt
    return dt.toordinal()


def _reading_before(stamp: Optional[Stamp], later: Optional[Stamp]) -> Optional[Stamp]:
    """Of an ambiguous numeric date's readings (3/6: March 6 or June 3), the one closest before `later`
    (a quote is older than the mail quoting it)."""
    if stamp is None or not stamp.alternatives or later is None:
        return stamp
    ref = later.dt.replace(tzinfo=None) if not later.tz_known else \
        later.dt.astimezone(timezone.utc).replace(tzinfo=None)
    readings = [stamp.dt, *stamp.alternatives]
    before = [d for d in readings if (d.replace(tzinfo=None) if d.tzinfo else d) <= ref + timedelta(days=1)]
    pick = max(before, key=lambda d: d.replace(tzinfo=None)) if before else stamp.dt
    return Stamp(pick, stamp.precision, stamp.tz_known, tuple(d for d in readings if d != pick))


def recover(entries: list[Entry]) -> None:
    """Fill parents from quotes and add quoted-only entries (in place)."""
    h = History(entries)
    real = [i for i, e in enumerate(entries) if not e.quoted_only]
    order = sorted(real, key=lambda i: _chrono_key(entries[i], i))
    for i in order:
        e = entries[i]
        if e.structural and e.parent is not None:
            node = _first_attributed(h.nodes_of(i))
            if node is not None and node.attribution is not None:
                p = entries[e.parent]
                if same_person(node.attribution.name, node.attribution.email, p.author.name, p.author.email) and \
                        stamps_match(node.attribution.stamp, p.stamp):
                    h._learn(e.parent, node.attribution, node, i)
            continue
        node = _first_attributed(h.nodes_of(i))
        parent = None
        if node is not None:
            parent = h.resolve(node, i, 1, e.fallback_parent)
        if parent is not None and parent != i:
            e.parent = parent
            e.parent_source = ("attribution and subject (the quoted text is not in the page's copy)"
                               if parent in h.weak else "attribution" if node.attribution else "quoted text")
        elif e.parent is None and e.fallback_parent is not None and e.fallback_parent != i:
            e.parent, e.parent_source = e.fallback_parent, "assumed: the page's first message"
    _by_subject(entries)
    _zones(h)
    _emails(entries)


def _by_subject(entries: list[Entry]) -> None:
    """A reply that quotes nothing answers the one message on the page that started its subject."""
    originals: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        if not e.quoted_only and not e.subject_synthetic and e.subject and not _RE.match(e.subject):
            originals.setdefault(_title(e.subject), []).append(i)
    for i, e in enumerate(entries):
        if e.parent is not None or e.parent_msgid or e.quoted_only or e.subject_synthetic or not _RE.match(e.subject):
            continue
        found = originals.get(_title(e.subject), [])
        if len(found) == 1 and found[0] != i:
            e.parent, e.parent_source = found[0], "subject (the reply quotes nothing that names its parent)"


def _zones(h: History) -> None:
    """Give quoted-only messages whose attribution has no time zone the zone of the quoting writer's client.

    Thunderbird, Gmail and Apple Mail show the quoted time in the reader's zone without naming it; the
    zone is known when the quoting mail has a Date header, or from another of that writer's quotes
    that matched a message with a known time."""
    entries = h.entries
    for e in entries:
        if e.stamp is not None and e.stamp.tz_known and e.date_source == "Date header":
            h.offsets.setdefault(norm_name(e.author.name), int(e.stamp.dt.utcoffset().total_seconds() // 60))
    for e in entries:
        for stamp, quoter in e.notes.pop("_naive", []):
            off = h.offsets.get(norm_name(entries[quoter].author.name))
            if off is None or (e.stamp is not None and e.stamp.precision != "day"):
                continue
            dated = Stamp(stamp.dt.replace(tzinfo=timezone(timedelta(minutes=off))), stamp.precision, True)
            if e.stamp is None or stamps_match(e.stamp, dated):
                e.stamp = dated
                e.date_source = (f"attribution in {entries[quoter].where}, in the time zone of "
                                 f"{entries[quoter].author.name}'s mail client (UTC{_fmt(off)})")
    for e in entries:
        s = e.stamp
        if not e.quoted_only or s is None or s.tz_known or s.precision == "day" or not e.quoted_in:
            continue
        quoter = entries[e.quoted_in[0]]
        off = h.offsets.get(norm_name(quoter.author.name))
        if off is None:
            continue
        zone = timezone(timedelta(minutes=off))
        e.stamp = Stamp(s.dt.replace(tzinfo=zone), s.precision, True)
        e.date_source = f"attribution, in the time zone of {quoter.author.name}'s mail client (UTC{_fmt(off)})"


def _fmt(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _emails(entries: list[Entry]) -> None:
    """A name shown without address gets the address the page gives that name elsewhere (if only one)."""
    known: dict[str, set] = {}
    for e in entries:
        if e.author.email:
            known.setdefault(norm_name(e.author.name), set()).add(e.author.email)
    for e in entries:
        if not e.author.email:
            found = known.get(norm_name(e.author.name), set())
            if len(found) == 1:
                e.author = Person(e.author.name, next(iter(found)))
                e.notes["email_source"] = "the same name's address elsewhere on the page"


def _first_attributed(nodes: list[QuotedNode]) -> Optional[QuotedNode]:
    top = depth_one(nodes)
    for n in top:
        if n.attribution is not None:
            return n
    return top[0] if top else None


_RE = re.compile(r"^\s*(?:(?:re|aw|sv|fwd?)\s*:\s*)+", re.I)


def _title(subject: str) -> str:
    return " ".join(_RE.sub("", subject).split()).lower()


def _chrono_key(e: Entry, i: int) -> tuple:
    s = e.stamp
    if s is None:
        return (1, 0.0, i)
    dt = s.dt if s.tz_known else s.dt.replace(tzinfo=timezone.utc)
    return (0, dt.timestamp(), i)
