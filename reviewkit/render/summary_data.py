"""A review Summary as plain data (dicts, lists, strings): what every summary format renders.

The keys of ARCHITECTURE.md's `summarize` contract are here, per series and
per patch: "participants", "trailers", "open_questions", "action_items",
"verdicts", "versions". Add fields freely, never rename or remove one. The
HTML report's summary section is meant to be a template over this dict.
"""
from __future__ import annotations

from typing import Optional

from .. import __version__
from ..review.model import (ActionItem, Anchor, ChangelogEntry, Comment, FileInterdiff, History, Outcome,
                            Participant, PatchLink, PatchSummary, Question, Quote, Reply, SeriesSummary, Summary,
                            TrailerGiven, Verdict, Where, Why)
from .data import iso, person


def why_data(w: Why) -> dict:
    return {"rule": w.rule, "text": w.text, "detail": w.detail}


def where_data(w: Where) -> dict:
    return {"msgid": w.msgid, "series": w.series, "version": w.version, "patch": w.patch, "counter": w.counter,
            "date": iso(w.date)}


def anchor_data(a: Optional[Anchor]) -> Optional[dict]:
    if a is None:
        return None
    return {"patch": a.patch, "path": a.path, "line": a.line, "side": a.side, "function": a.function,
            "hunk": a.hunk, "quoted": list(a.quoted), "matched": a.matched, "inherited_from": a.inherited_from,
            "verified": a.verified}


def outcome_data(o: Optional[Outcome]) -> Optional[dict]:
    if o is None:
        return None
    return {"status": o.status, "series": o.series, "version": o.version, "patch": o.patch, "why": o.why}


def participant_data(p: Participant) -> dict:
    return {"name": p.person.name, "email": p.person.email, "roles": list(p.roles), "messages": p.messages,
            "trailers_given": p.trailers, "maintainer_of": list(p.maintainer_of),
            "listed_reviewer_of": list(p.listed_reviewer_of)}


def trailer_data(t: TrailerGiven) -> dict:
    return {"key": t.key, "person": person(t.person), "version": t.version, "series": t.series, "patch": t.patch,
            "counter": t.counter, "source": t.source, "status": t.status, "msgid": t.msgid,
            "given_by": person(t.given_by), "mismatch": t.mismatch, "bot": t.bot, "why": t.why, "value": t.value}


def verdict_data(v: Verdict) -> dict:
    return {"kind": v.kind, "formal": v.formal, "person": person(v.person), "where": where_data(v.where),
            "version": v.where.version, "scope": v.scope, "why": why_data(v.why), "msgid": v.where.msgid,
            "role": v.role, "tree": v.tree, "next": v.next, "next_version": outcome_data(v.outcome)}


def reply_data(r: Reply) -> dict:
    return {"msgid": r.msgid, "person": person(r.person), "text": r.text, "rule": r.rule, "date": iso(r.date)}


def question_data(q: Question) -> dict:
    return {"where": where_data(q.where), "asker": person(q.asker), "role": q.role, "text": q.text,
            "status": q.status, "anchor": anchor_data(q.anchor), "why": why_data(q.why),
            "answers": [reply_data(r) for r in q.answers], "pings": [reply_data(r) for r in q.pings],
            "mentions": [reply_data(r) for r in q.mentions], "notes": list(q.notes),
            "next_version": outcome_data(q.outcome)}


def quote_data(q: Optional[Quote]) -> Optional[dict]:
    if q is None:
        return None
    return {"person": person(q.person), "text": q.text, "msgid": q.msgid}


def action_data(a: ActionItem) -> dict:
    return {"kind": a.kind, "where": where_data(a.where), "who": person(a.who), "role": a.role, "text": a.text,
            "why": why_data(a.why), "anchor": anchor_data(a.anchor), "responds_to": quote_data(a.responds_to),
            "target_version": a.target_version, "identifiers": list(a.identifiers), "scope": a.scope,
            "next_version": outcome_data(a.outcome)}


def comment_data(c: Comment) -> dict:
    return {"where": where_data(c.where), "author": person(c.author), "role": c.role,
            "anchor": anchor_data(c.anchor), "text": c.text, "why": why_data(c.why),
            "next_version": outcome_data(c.outcome)}


def changelog_data(e: ChangelogEntry) -> dict:
    return {"from": e.from_version, "to": e.to_version, "items": list(e.items), "msgid": e.msgid,
            "source": e.source}


def interdiff_data(f: FileInterdiff) -> dict:
    return {"path": f.path, "status": f.status, "functions": list(f.functions), "added": f.added,
            "removed": f.removed, "lines": list(f.lines)}


def link_data(link: Optional[PatchLink]) -> Optional[dict]:
    if link is None:
        return None
    return {"previous": link.previous, "previous_counter": link.previous_counter, "how": link.how,
            "score": link.score, "identical": link.identical, "log_changed": link.log_changed,
            "interdiff": [interdiff_data(f) for f in link.files]}


# What decides where a series or patch stands, most decisive first.
_STATUS = [("applied", "applied{tree} by {who}{on}"), ("dropped", "dropped{tree} by {who}{on}"),
           ("nack", "NAK by {who}{on}"), ("changes-requested", "changes requested by {who}{on}"),
           ("build-failure", "build failure reported by {who}{on}"),
           ("test-failure", "test failure reported by {who}{on}"), ("superseded", "superseded by {next}"),
           ("review", "reviewed by {who}{on}"), ("ack", "acked by {who}{on}"), ("test", "tested by {who}{on}")]
_PREP = {"applied": " to", "dropped": " from"}


def status_line(verdicts: list, versions: dict | None = None, total: Optional[int] = None) -> str:
    """"applied to mm-unstable by Andrew Morton; ..." from a series' or patch's verdict dicts.
    With `total` (a series' line), events on single patches name them ("on 2/3")."""
    parts = []
    order = list(_STATUS)
    last = {k: max((v["where"].get("date") or "" for v in verdicts if v["kind"] == k), default="")
            for k in ("applied", "dropped")}
    whole = total is None or any(v["kind"] == "dropped" and v["scope"] == "series" for v in verdicts)
    if whole and last["dropped"] > last["applied"]:  # dropped after it was applied: where it stands now
        order[0], order[1] = order[1], order[0]
    nxt = (versions or {}).get("next") or {}
    for kind, fmt in order:
        vs = [v for v in verdicts if v["kind"] == kind and v["why"]["rule"] != "event/not-in-next-version"]
        # on a series' line, what was said of the whole series and what of single patches are told apart
        groups = ([vs] if total is None else [[v for v in vs if v["scope"] == "series"],
                                              [v for v in vs if v["scope"] == "patch"]])
        said = set()
        for g in groups:
            if not g:
                continue
            key = (frozenset((v["person"] or {}).get("email") for v in g), frozenset(v["tree"] for v in g if v.get("tree")))
            if any(key[0] <= k[0] and key[1] <= k[1] for k in said):
                continue  # the same people said it of the whole series already
            said.add(key)
            names = ", ".join(dict.fromkeys((v["person"] or {}).get("name") or (v["person"] or {}).get("email")
                                            or "?" for v in g))
            trees = list(dict.fromkeys(v["tree"] for v in g if v.get("tree")))
            on = ""
            if total is not None and g[0]["scope"] == "patch":
                labels = list(dict.fromkeys(f"{v['where']['counter']}/{total}" for v in g if v["where"].get("counter")))
                on = " on " + ", ".join(labels) if labels else ""
            parts.append(fmt.format(who=names, tree=f"{_PREP.get(kind, ' to')} {', '.join(trees)}" if trees else "",
                                    on=on, next=f"v{nxt['version']}" if nxt else "a later version"))
            if kind == "superseded":
                break
    return "; ".join(parts) if parts else "no verdict yet"


def clip_distinct(titles: list, width: int) -> list:
    """Titles shortened to about `width` characters, never to the same string for different titles:
    the middle goes first ("example for future ... : error cases"), and a title whose short form
    still collides with another's is kept whole."""
    def clip(t: str) -> str:
        if len(t) <= width:
            return t
        tail = width // 3
        return t[: width - tail - 5].rstrip() + " ... " + t[-tail:].lstrip()
    short = [clip(t) for t in titles]
    seen: dict = {}
    for t, c in zip(titles, short):
        seen.setdefault(c, set()).add(t)
    return [c if len(seen[c]) == 1 else t for t, c in zip(titles, short)]


MAX_BODY = 40000  # characters of one mail shown in a thread view


def thread_data(thread: tuple, mails: dict, bodies: bool) -> list:
    """The replies as a lore thread view lists them: each with its depth under the patch or cover."""
    out = []
    for msgid, parent, depth in thread:
        m = mails.get(msgid)
        d = {"msgid": msgid, "parent": parent, "depth": depth}
        if m is not None:
            d.update({"from": person(m.sender), "date": iso(m.date), "subject": m.subject})
            if bodies:
                body = m.body or ""
                d["body"] = body if len(body) <= MAX_BODY else body[:MAX_BODY] + "\n[... cut: the mail is longer]"
        out.append(d)
    return out


def patch_summary_data(p: PatchSummary, mails: Optional[dict] = None, bodies: bool = False) -> dict:
    verdicts = [verdict_data(v) for v in p.verdicts]
    return {
        # what was said of this patch; of the whole series only where the series went (the series'
        # line has the rest)
        "status": status_line([v for v in verdicts if v["scope"] == "patch" and v["kind"] != "superseded"
                               or v["scope"] == "series" and v["kind"] in ("applied", "dropped")]),
        "msgid": p.msgid, "counter": p.counter, "title": p.title, "author": person(p.author),
        "version": p.version, "series": p.series, "replies": p.replies,
        "participants": [participant_data(x) for x in p.participants],
        "trailers": [trailer_data(t) for t in p.trailers],
        "verdicts": verdicts,
        "questions": [question_data(q) for q in p.questions],
        "open_questions": [question_data(q) for q in p.open_questions],
        "action_items": [action_data(a) for a in p.actions],
        "comments": [comment_data(c) for c in p.comments],
        "versions": {"version": p.version, "previous": link_data(p.link),
                     "changelog": [changelog_data(e) for e in p.changelog]},
        "thread": thread_data(p.thread, mails or {}, bodies),
    }


def series_summary_data(s: SeriesSummary, summary: Summary, bodies: bool = False) -> dict:
    h = summary.histories[s.history] if summary.histories else None
    members = list(h.series) if h else [s.index]
    prev = None
    if s.previous is not None:
        prev = {"series": s.previous.previous, "version": summary.series[s.previous.previous].version,
                "how": list(s.previous.how), "score": s.previous.score}
    nxt = None
    if s.next is not None:
        nxt = {"series": s.next, "version": summary.series[s.next].version}
    verdicts = [verdict_data(v) for v in s.verdicts]
    return {
        "status": status_line(verdicts, {"next": nxt}, s.total or len(s.patches)),
        "index": s.index, "version": s.version, "rfc": s.rfc, "resend": s.resend, "title": s.title,
        "sender": person(s.sender), "date": iso(s.date), "cover": s.cover, "total": s.total,
        "missing": list(s.missing), "complete": not s.missing, "messages": s.messages,
        "participants": [participant_data(x) for x in s.participants],
        "trailers": [trailer_data(t) for t in s.trailers],
        "verdicts": verdicts,
        "questions": [question_data(q) for q in s.questions],
        "open_questions": [question_data(q) for q in s.open_questions],
        "action_items": [action_data(a) for a in s.actions],
        "comments": [comment_data(c) for c in s.comments],
        "versions": {
            "history": s.history, "position": members.index(s.index) + 1 if s.index in members else 1,
            "of": len(members), "previous": prev, "next": nxt,
            "changelog": [changelog_data(e) for e in s.changelog],
            "dropped_patches": [{"msgid": m, "counter": c, "title": t} for m, c, t in s.dropped_patches],
            "new_patches": [p.msgid for p in s.patches if p.link is not None and p.link.previous is None],
        },
        "patches": [patch_summary_data(p, summary.mails, bodies) for p in s.patches],
        "thread": thread_data(s.thread, summary.mails, bodies),
    }


def history_data(h: History, summary: Summary) -> dict:
    return {"index": h.index, "title": h.title, "series": list(h.series),
            "versions": [("RFC " if summary.series[i].rfc else "") + f"v{summary.series[i].version}"
                         for i in h.series]}


def summary_data(summary: Summary, bodies: bool = False) -> dict:
    """`bodies`: each reply of the thread views carries its text (for the HTML page)."""
    return {
        "version": __version__,
        "command": "summarize",
        "inputs": list(summary.inputs),
        "errors": [e.as_dict() for e in summary.errors],
        "histories": [history_data(h, summary) for h in summary.histories],
        "series": [series_summary_data(s, summary, bodies) for s in summary.series],
        "stats": dict(summary.stats),
    }
