"""The five seed pages (../shared/seeds) against SEED_CROSSWALK.json and the raw threads it names.

`check(seed)` parses a seed and compares what came back with the raw
messages: which were found, and for each one its author, date and parent.
Run directly for the table: `.venv/bin/python -m tests.web_seeds`.
"""
from __future__ import annotations

import json
from datetime import timedelta, timezone
from functools import lru_cache
from typing import Optional

from reviewkit.ingest.web.quoting import match_count, norm_name, own_lines, squash
from reviewkit.model import Message
from reviewkit.pipeline import Parsed, parse_inputs

from tests.conftest import CORPUS, SHARED

SEEDS = SHARED / "seeds"
LORE = CORPUS / "lore-threads"
UTC = timezone.utc


@lru_cache(maxsize=None)
def crosswalk() -> dict:
    return json.loads((LORE / "SEED_CROSSWALK.json").read_text())


@lru_cache(maxsize=None)
def parsed_seed(name: str) -> Parsed:
    return parse_inputs([str(SEEDS / name)])


@lru_cache(maxsize=None)
def parsed_raw(rel: str) -> Parsed:
    return parse_inputs([str(LORE / rel)])


def seed_name(prefix: str) -> str:
    return next(k for k in crosswalk() if k.startswith(prefix))


def same_author(ours: Message, raw: Message) -> bool:
    return norm_name(ours.sender.name) == norm_name(raw.sender.name)


def date_agrees(ours: Message, raw: Message) -> bool:
    """To the precision the page gives: the second, the minute, or the day (in a US zone)."""
    if ours.date is None:
        return False
    precision = dict(ours.capture).get("date_precision")
    a, b = ours.date.astimezone(UTC), raw.date.astimezone(UTC)
    if precision == "day":
        return any((b + timedelta(hours=h)).date() == a.date() for h in (-10, -7, -4, 0))
    if precision == "second":
        return abs(a - b) <= timedelta(seconds=1)
    return a.replace(second=0) == b.replace(second=0, microsecond=0)


def match(ours: list[Message], raw: list[Message]) -> dict[str, Message]:
    """Each of our messages -> the raw message it is: same author, agreeing date, nearest in time."""
    out: dict[str, Message] = {}
    free = list(raw)
    for o in sorted(ours, key=lambda m: dict(m.capture).get("date_precision") == "day"):
        cands = [r for r in free if same_author(o, r) and date_agrees(o, r)]
        if not cands:
            continue
        lines = own_lines(o.body)

        def key(r: Message) -> tuple:
            found = match_count(lines, squash(r.body)) or (0, 1)
            return (-found[0], abs((r.date - o.date).total_seconds()) if o.date else 0)
        best = min(cands, key=key)   # same minute (a series sent at once): the one whose text it has
        free.remove(best)
        out[o.msgid] = best
    return out


def check(prefix: str, raw_messages: Optional[list[Message]] = None) -> dict:
    """Found / author / date / parent agreement of a seed's messages with the raw thread."""
    name = seed_name(prefix)
    cw = crosswalk()[name]
    p = parsed_seed(name)
    real = [m for m in p.messages if not m.quoted_only]
    quoted = [m for m in p.messages if m.quoted_only]
    if raw_messages is None:
        raw_all = parsed_raw(cw["raw"]).messages
        want = set(cw.get("expected_msgids") or [])
        raw_messages = [m for m in raw_all if m.msgid in want] if want else raw_all
    mapping = match(real + quoted, raw_messages)
    raw_by_id = {m.msgid: m for m in raw_messages}
    edges = ok = 0
    mapped_raw = {r.msgid for r in mapping.values()}
    for o in real + quoted:
        r = mapping.get(o.msgid)
        # an edge the page can show: both ends are messages on it (or rebuilt from its quotes)
        if r is None or r.in_reply_to not in raw_by_id or r.in_reply_to not in mapped_raw:
            continue
        edges += 1
        parent = p.parent.get(o.msgid)
        ok += parent is not None and mapping.get(parent) is not None and mapping[parent].msgid == r.in_reply_to
    mapped_real = [o for o in real if o.msgid in mapping]
    return {
        "seed": name, "format": p.messages[0].capture and dict(p.messages[0].capture)["format"],
        "messages": len(real), "quoted_only": len(quoted), "expected": cw.get("expected_message_count"),
        "matched": len(mapped_real), "quoted_matched": sum(1 for q in quoted if q.msgid in mapping),
        "authors": sum(1 for o in mapped_real if same_author(o, mapping[o.msgid])),
        "dates": sum(1 for o in mapped_real if date_agrees(o, mapping[o.msgid])),
        "edges": edges, "edges_ok": ok, "errors": [e.message for e in p.errors],
    }


def table() -> str:
    rows = [check("000"), check("002"), check("003"), check("004")]
    out = [f"{'seed':26} {'format':13} {'msgs':>4} {'expect':>6} {'matched':>7} {'authors':>7} {'dates':>5} "
           f"{'edges':>7} {'quoted-only (matched to raw)':>30}"]
    for r in rows:
        out.append(f"{r['seed']:26} {r['format']:13} {r['messages']:4} {str(r['expected'] or '-'):>6} "
                   f"{r['matched']:7} {r['authors']:7} {r['dates']:5} {r['edges_ok']:3}/{r['edges']:<3} "
                   f"{r['quoted_only']:>14} ({r['quoted_matched']})")
    return "\n".join(out)


if __name__ == "__main__":
    print(table())

