"""Trailers given, verdicts and participants.

Trailers per version: those in a patch as posted (its commit log) are
"carried" when the same person gave the same trailer on the previous
version's patch (in its log), "picked-up" when it was given in a reply to the
previous version, else "new". Trailers given in replies to this version are
"given". What the previous version had and this one lost is "dropped".
Trailers a bot asks for ("kindly add following tag ... Reported-by: kernel
test robot") are kept but flagged `bot`: nobody reviewed anything.

Verdicts: formal ones are trailers given in replies (Acked-by -> ack,
Reviewed-by -> review, Tested-by -> test, Nacked-by -> nack); informal ones
come from the prose of a reply by someone other than the author: an "Ack"
("So an enthusiastic Ack from me."), a "NAK", or "LGTM" without a "but".
They are flagged `formal: false`, with the sentence.
"""
from __future__ import annotations

import re
from typing import Optional

from ..model import Patch, Person, Trailer
from .context import Context, is_bot
from .model import Participant, TrailerGiven, Verdict, Where, Why
from .text import Block, sentences

TRACKED = ("Reviewed-by", "Acked-by", "Tested-by", "Nacked-by", "Reported-by", "Suggested-by",
           "Reported-and-tested-by")
VERDICT_OF = {"Reviewed-by": "review", "Acked-by": "ack", "Tested-by": "test", "Nacked-by": "nack",
              "Reported-and-tested-by": "test"}

_ACK = re.compile(r"(?<![\w-])ack (?:for|on) (?:merging|taking|this|the|it|going)\b|(?<![\w-])(?:ACK|Ack|ACKed|Acked)(?![\w-])|(?<![\w-])(?:my|an?|full|enthusiastic|big|strong)\s+ack(?![\w-])|^ack[.!]?$")
_NACK = re.compile(r"(?<![\w-])(?:NAK|NACK|Nak|Nack|NAKed|NACKed|Nacked|Naked-by)(?![\w-])|(?<![\w-])(?:my|a)\s+nack(?![\w-])")
_MY_TAG = re.compile(r"(?<![\w-])my\s+(Acked-by|Reviewed-by|Tested-by|ack|review|R-b|A-b|T-b)(?![\w-])", re.I)
_LGTM = re.compile(r"(?<![\w-])(?:LGTM|looks good to me)(?![\w-])", re.I)
_NEGATED = re.compile(r"(?:\bnot|\bno|n't|\bwithout|\byour|\bhis|\bher|\btheir|'s|\bneed|\bneeds|\bwait(?:ing)? for|"
                      r"\bget|\bgot|\bwant|\bask(?:ing)? for|\bcollect)\s+(?:\w+\s+){0,2}$", re.I)
_SOMEONE_ELSES = re.compile(r"^\W*(?:from|by)\s+(?!me\b|myself\b)\w+", re.I)  # "an Ack from Andrew would help"
_BUT = re.compile(r"\b(?:but|except|apart from|other than|however|once|if)\b", re.I)


def _tkey(ctx: Context, t: Trailer) -> tuple:
    return (t.key, ctx.people.key(t.person) if t.person else t.value.lower())


def _usable(t: Trailer) -> bool:
    return t.key in TRACKED


def trailers_for_patch(ctx: Context, series: int, patch: Patch, prev: Optional[Patch],
                       prev_missing: bool = False) -> list[TrailerGiven]:
    """`prev_missing`: the previous version is not (wholly) in the input, so a trailer without a
    predecessor to compare with is "unknown", not "new"."""
    s = ctx.parsed.series[series]
    counter = ctx.counter_of.get(patch.message.msgid)
    mid = patch.message.msgid
    out: list[TrailerGiven] = []
    prev_log = {_tkey(ctx, t): t for t in prev.trailers if _usable(t)} if prev else {}
    prev_given = {_tkey(ctx, t): t for t in prev.followup_trailers
                  if _usable(t) and not t.mismatch and not is_bot(t.given_by)} if prev else {}
    now_log = set()
    for t in patch.trailers:
        if not _usable(t):
            continue
        k = _tkey(ctx, t)
        now_log.add(k)
        if k in prev_log:
            status, why = "carried", "also in the previous version's patch"
        elif k in prev_given:
            status, why = "picked-up", f"given in a reply to the previous version ({prev_given[k].msgid})"
        elif prev is None and prev_missing:
            status, why = "unknown", "the previous version is not in the input: carried or new cannot be told"
        else:
            status, why = "new", "first seen in this version's patch" if prev else "in the patch as posted"
        out.append(TrailerGiven(t.key, t.person, s.version, series, mid, counter, "log", status, mid, why=why,
                                value=t.value))
    seen_reply = set()
    for t in patch.followup_trailers:
        if not _usable(t):
            continue
        source = "cover-reply" if ctx.patch_of.get(t.msgid) is None else "reply"
        k = (_tkey(ctx, t), t.msgid)
        if k in seen_reply:
            continue
        seen_reply.add(k)
        bot = is_bot(t.given_by)
        why = ("a bot's suggested tag, not a review" if bot else
               "names someone other than the sender" if t.mismatch else
               "given on the cover letter: applies to every patch" if source == "cover-reply" else "given in a reply")
        out.append(TrailerGiven(t.key, t.person, s.version, series, mid, counter, source, "given", t.msgid,
                                given_by=t.given_by, mismatch=t.mismatch, bot=bot, why=why, value=t.value))
    if prev is not None:
        for k, t in list(prev_log.items()) + [(k, t) for k, t in prev_given.items() if k not in prev_log]:
            if k in now_log:
                continue
            where = "its patch" if k in prev_log else f"a reply ({t.msgid})"
            out.append(TrailerGiven(t.key, t.person, s.version, series, mid, counter, "log", "dropped",
                                    t.msgid or prev.message.msgid, given_by=t.given_by, value=t.value,
                                    why=f"the previous version had it in {where}; this version's patch does not"))
    return out


def formal_verdicts(ctx: Context, trailers: list[TrailerGiven]) -> list[Verdict]:
    out = []
    seen = set()
    for t in trailers:
        if t.status != "given" or t.bot or t.mismatch or t.key not in VERDICT_OF or t.person is None:
            continue
        scope = "series" if t.source == "cover-reply" else "patch"
        k = (t.key, ctx.people.key(t.person), t.msgid)
        if scope == "series" and k in seen:
            continue
        seen.add(k)
        where = ctx.where(t.msgid) if t.msgid in ctx.series_of else Where(t.msgid, t.series, t.version, t.patch,
                                                                          t.counter)
        out.append(Verdict(VERDICT_OF[t.key], True, ctx.people.person(ctx.people.key(t.person), t.person), where,
                           scope, Why(f"verdict/trailer-{t.key.lower()}", f"{t.key}: {t.person}",
                                      "a trailer given in a reply")))
    return out


def informal_verdicts(ctx: Context, msgid: str, block: Block, formal_keys: set, side: bool = False) -> list[Verdict]:
    """Acks, NAKs and LGTMs in the prose of a reply, without the formal trailer.

    `side`: the block answers a quoted reply, not the patch: "Ack." / "Looks good" there agree
    with that point, so only an explicit offer of a tag ("feel free to add my Acked-by") or a
    NAK counts. A sender who gives a formal trailer in the same mail gets no informal verdict."""
    m = ctx.by_id[msgid]
    i = ctx.series_of[msgid]
    if is_bot(m.sender) or ctx.role(m.sender, i) == "author":
        return []
    who = ctx.people.key(m.sender)
    has_formal = any(k == who for _key, k in formal_keys)
    out = [] if has_formal else _indented_trailers(ctx, msgid, block, who)
    if out:
        return out
    for s in sentences(block):
        text = s.text
        for kind, rx, rule in (("nack", _NACK, "verdict/nak-in-prose"), ("tag", _MY_TAG, "verdict/offers-my-tag"),
                               ("ack", _ACK, "verdict/ack-in-prose"), ("review", _LGTM, "verdict/lgtm-in-prose")):
            hit = rx.search(text)
            if not hit or _NEGATED.search(text[: hit.start()]) or _SOMEONE_ELSES.match(text[hit.end():]):
                continue
            if side and kind in ("ack", "review"):
                continue
            if has_formal and kind == "review":
                continue  # "Looks good to me:" above the sender's own trailer
            if kind == "tag":
                word = hit.group(1).lower()
                kind = "review" if word.startswith(("rev", "r-")) else "test" if word.startswith(("test", "t-")) else "ack"
            if kind == "review" and _BUT.search(text):
                continue
            formal = {"ack": "Acked-by", "nack": "Nacked-by", "review": "Reviewed-by", "test": "Tested-by"}[kind]
            if (formal, who) in formal_keys:
                continue
            scope = "series" if ctx.patch_of.get(msgid) is None else "patch"
            out.append(Verdict(kind, False, ctx.people.person(who, m.sender), ctx.where(msgid), scope,
                               Why(rule, text, f"an informal {kind} without a {formal} trailer")))
            break
    return out


_INDENTED = re.compile(r"^\s+(Reviewed-by|Acked-by|Tested-by):\s+(.*\S)")
_CONDITIONAL = re.compile(r"\b(?:assuming|if|once|provided|with (?:that|this|these) (?:fixed|addressed|changed))\b", re.I)


def _indented_trailers(ctx: Context, msgid: str, block: Block, who: str) -> list[Verdict]:
    """"you can add:\n\n    Reviewed-by: Me <me@x>": a tag offered in prose, indented so tools skip it.
    Offered for an updated patch ("Assuming that's acceptable, you can add ... to the updated patch")
    it is not a verdict on this one."""
    lines = block.lines
    for k, ln in enumerate(lines):
        hit = _INDENTED.match(ln.text) if ln.depth == 0 else None
        if not hit:
            continue
        before = " ".join(x.text for x in lines[max(0, k - 4):k] if x.depth == 0)
        after = " ".join(x.text for x in lines[k + 1:k + 3] if x.depth == 0)
        if _CONDITIONAL.search(before) or re.search(r"\b(?:updated|next|new) (?:patch|version)\b", after):
            return []
        if who not in ctx.people.key(_person_of(hit.group(2))) and ctx.people.key(_person_of(hit.group(2))) != who:
            continue
        kind = VERDICT_OF[hit.group(1)]
        m = ctx.by_id[msgid]
        scope = "series" if ctx.patch_of.get(msgid) is None else "patch"
        return [Verdict(kind, False, ctx.people.person(who, m.sender), ctx.where(msgid), scope,
                        Why("verdict/indented-trailer", ln.text.strip(), "a tag offered in prose, indented"))]
    return []


def _person_of(value: str) -> Person:
    from email.utils import parseaddr
    name, email = parseaddr(value)
    return Person(name, email)


def participants(ctx: Context, series: int, msgids: list[str], trailers: list[TrailerGiven],
                 maintainer_roles: Optional[dict], acting: frozenset = frozenset()) -> tuple:
    """`acting`: identity keys of people who applied or dropped a patch here: maintainers of the tree
    it went to, whether or not MAINTAINERS lists them."""
    counts: dict[str, int] = {}
    tcounts: dict[str, int] = {}
    first: dict[str, Person] = {}
    for mid in msgids:
        p = ctx.by_id[mid].sender
        k = ctx.people.key(p)
        counts[k] = counts.get(k, 0) + 1
        first.setdefault(k, p)
    for t in trailers:
        if t.status == "given" and not t.mismatch and t.given_by is not None:
            k = ctx.people.key(t.given_by)
            tcounts[k] = tcounts.get(k, 0) + 1
            first.setdefault(k, t.given_by)
    out = []
    authors = ctx.authors.get(series, set())
    for k in sorted(first, key=lambda k: (k not in authors, -counts.get(k, 0), k)):
        person = ctx.people.person(k, first[k])
        roles = []
        if is_bot(person):
            roles.append("bot")
        elif k in authors:
            roles.append("author")
        else:
            roles.append("reviewer")
        m_of: list = []
        r_of: list = []
        if maintainer_roles:
            for email in ctx.people.emails(k) or [person.email]:
                r = maintainer_roles.get(email)
                if r:
                    m_of += [x for x in r["maintainer"] if x not in m_of]
                    r_of += [x for x in r["reviewer"] if x not in r_of]
            if m_of:
                roles.append("maintainer")
        if k in acting and "maintainer" not in roles:
            roles.append("maintainer")
        out.append(Participant(person, k, tuple(roles), counts.get(k, 0), tcounts.get(k, 0), tuple(m_of),
                               tuple(r_of)))
    return tuple(out)
