"""Questions reviewers asked, and whether anyone answered them in the thread.

A question is a sentence of a reviewer's own text (not quoted, not code)
that ends with `?`; consecutive question sentences of one paragraph make one
question. Left out, for precision (each with its rule): confirmation tags
("Right?", "Correct?"), one- or two-word questions unless they are the whole
reply to a quote ("Why?"), and rhetorical lead-ins the asker answers
themselves ("Why do I care?" followed by more paragraphs).

Answered: a later mail in the sub-thread, from someone other than the asker,
quotes the question as the last paragraph of a quote block and writes
something after it that is more than a closing remark ("feel free to ask",
"thanks"). A direct reply that quotes nothing (or top-posts) answers every
question of the mail it replies to. When the asker quotes their own question
again (and writes "Did you manage to look at this?" or "no response on
this"), that is a ping: the question stays open, and a question asked in the
ping is folded into the first one. Others who mention a distinctive term of
an open question without answering it are listed as mentions.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Optional

from .actions import QUESTION_FORM, REQUEST_RULES
from .context import Context, is_bot
from .model import Anchor, Question, Reply, Where, Why
from .text import Block, is_question, norm, own_text, sentences, shorten, substantive

_TAG = re.compile(r"^(?:right|correct|no|yes|ok|okay|agreed|true|huh|hm+|eh|or not|isn't it|no\?|yes or no|"
                  r"or|anyone|thoughts|comments|ideas|opinions|objections|makes sense)\W*$", re.I)
_RHETORICAL = re.compile(r"^(?:so\s+)?(?:why do i care|so what|guess what|why does (?:this|that|it) matter|"
                         r"what does (?:this|that) mean|you know what|why\?|how so)\b", re.I)
_ASKS_FOR = [rx for rule, rx in REQUEST_RULES if rule in QUESTION_FORM and rule not in ("request/why-not",
                                                                                          "request/we-had-better")]
_MUSING = re.compile(r"^(?:so\s+|and\s+|but\s+)?I (?:wonder|guess|suppose)\b|^what do you think\b|"
                     r"^(?:any )?thoughts\b|^would (?:that|this|it) (?:be )?(?:much |a lot |any )?"
                     r"(?:cleaner|simpler|better|easier|nicer|work)\b", re.I)
_SED = re.compile(r"^s/[^/]+/[^/]*/")
_WORD = re.compile(r"[A-Za-z_][\w-]*")
_STOP = frozenset("""a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
during each even ever every few for from further get gets got had hadn't has hasn't have haven't having he her here
how i if in into is isn't it it's its itself just let like make makes many may me might more most much must my no
nor not now of off on once one only or other our out over own page pages patch patches point really same see seems
should shouldn't so some something still such than that the their them then there these they thing things think
this those though through to too under until up us use used using very want was wasn't way we were weren't what
when where which while who whom why will with without work works would wouldn't yes yet you your actually already
anyway case code does done else fine good here kernel maybe need needed needs problem right sure sense since
thanks time true understand well whether""".split())


@dataclass
class Draft:
    question: Question
    sentences: list           # normalized sentences of the question
    quote_para: str = ""      # normalized last paragraph of the quote it answers (for pings)
    follows: Optional[int] = None


def detect(ctx: Context, msgid: str, block: Block, quote: Optional[Block], anchor: Optional[Anchor],
           where: Where, role: str) -> list[Draft]:
    """Questions in one own-text block of a reviewer's reply."""
    sender = ctx.by_id[msgid].sender
    if role in ("author", "bot") or not _to_author(ctx, msgid):
        return []
    sents = sentences(block)
    out: list[Draft] = []
    group: list = []

    def flush() -> None:
        if not group:
            return
        texts = [s.text for s in group]
        first = group[0]
        words = sum(len(t.split()) for t in texts)
        text = " ".join(texts)
        rule = "question/ends-with-question-mark"
        if words <= 2 and all(_TAG.match(t) for t in texts):
            group.clear()
            return  # a confirmation tag ("Right?"): the statement before it is the point
        if any(rx.search(text) for rx in _ASKS_FOR):
            group.clear()
            return  # "Can we please have a nice overview?": a request in question form (actions.py lists it)
        if _SED.match(texts[0]):
            group.clear()
            return  # "s/too/to/?" proposes a fix: it is a request, not a question
        if words <= 2:
            if not (first.first and group[-1].last and quote is not None):
                group.clear()
                return
            paras = quote.paragraphs()
            context = shorten(" ".join(ln.text.strip() for ln in paras[-1][-2:]), 160) if paras else ""
            text = f"{text} (about: \"{context}\")"
            rule = "question/short-reply-to-quote"
        if _MUSING.match(texts[0]) or text.rstrip().endswith("??") or _to_someone_else(ctx, msgid, texts[0]):
            group.clear()
            return  # "I wonder if it was missed?", "Why would DAX want this??": thinking aloud, not asking
        if _RHETORICAL.match(texts[0]) and len(group) == 1 and words <= 5 and first.paragraphs_after >= 1:
            group.clear()
            return  # "Why do I care?" and the asker's own answer follows
        out.append(Draft(
            Question(where, ctx.people.person(ctx.people.key(sender), sender), role, text,
                     Why(rule, " ".join(texts), "a reviewer's sentence ending with '?'"), anchor=anchor),
            [norm(t) for t in texts],
            quote.trailing_norm() if quote is not None else ""))
        group.clear()

    for k, s in enumerate(sents):
        if is_question(s.text):
            if group and group[-1].paragraph != s.paragraph:
                flush()
            group.append(s)
        else:
            lead_in = bool(group) and s.paragraph == group[-1].paragraph and s.text.rstrip().endswith(":")
            before = len(out)
            flush()
            if lead_in and len(out) > before:
                # "But what about X? In other words our use case is like the following:" -- the question
                # goes on through the rest of the block; a reply quoting any of it answers it
                out[-1].sentences.extend(norm(x.text) for x in sents[k:] if len(x.text.split()) >= 4)
    flush()
    return out


def _to_author(ctx: Context, msgid: str) -> bool:
    """The mail answers the patch, the cover, the author or the asker's own mail (a ping): a question
    in it is for the author. Questions in a reply to another reviewer are their side discussion."""
    parent = ctx.parsed.parent.get(msgid)
    if parent is None or ctx.parsed.kinds.get(parent) in ("patch", "cover") or parent not in ctx.by_id:
        return True
    if _greets_author(ctx, msgid):
        return True
    asked = ctx.by_id[parent].sender
    return ctx.same(asked, ctx.by_id[msgid].sender) or ctx.role(asked, ctx.series_of.get(msgid, 0)) == "author"


_GREETING = re.compile(r"^(?:hi|hello|hey|dear)\b[^.!?]{0,60}$", re.I)


def _author_first_names(ctx: Context, msgid: str) -> set:
    i = ctx.series_of.get(msgid)
    return {ctx.people.person(k).name.split()[0].lower() for k in ctx.authors.get(i, ()) if ctx.people.person(k).name}


def _first_names(ctx: Context) -> set:
    """First names of everyone who wrote in the input ("Hans, do you ...?" names one of them)."""
    names = ctx.__dict__.get("_first_names")
    if names is None:
        names = ctx.__dict__["_first_names"] = {m.sender.name.split()[0].lower() for m in ctx.parsed.messages
                                                if m.sender and m.sender.name and m.sender.name.split()}
    return names


def _greets_author(ctx: Context, msgid: str) -> bool:
    """"Hi Tomasz, David,": the mail speaks to the author too."""
    firsts = _author_first_names(ctx, msgid)
    for pair in ctx.body(msgid).pairs:
        for ln in pair.own.lines:
            if ln.text.strip():
                line = ln.text.strip()
                return bool(_GREETING.match(line)) and any(re.search(rf"\b{re.escape(f)}\b", line.lower())
                                                            for f in firsts)
    return False


def _to_someone_else(ctx: Context, msgid: str, text: str) -> bool:
    """"+Hans Verkuil +Marek do you remember ...?", "Hans, do you ...?": asked of someone named, not the author."""
    m = re.match(r"^(?:[+@]([A-Z]\w+)|([A-Z][a-z]+),\s)", text)
    if not m:
        return False
    name = (m.group(1) or m.group(2)).lower()
    return name in _first_names(ctx) and name not in _author_first_names(ctx, msgid) and (m.group(1) is not None or name not in _STOP)


def _contains(paragraph: str, sents: list) -> bool:
    for s in sents:
        if not s:
            continue
        if s in paragraph:
            return True
        words = s.split()
        if len(words) >= 8 and (" ".join(words[:6]) in paragraph or " ".join(words[-6:]) in paragraph):
            return True
    return False


def resolve(ctx: Context, drafts: list[Draft], series: int) -> list[Question]:
    """Set each question's status from the replies under it; fold follow-ups into the first asking."""
    # a question asked while quoting an earlier question of the same asker re-asks it
    terms = _term_frequency(ctx, series)
    by_asker: dict[str, list[int]] = {}
    for i, d in enumerate(drafts):
        k = ctx.people.key(d.question.asker)
        if d.quote_para:
            for j in reversed(by_asker.get(k, [])):
                if _contains(d.quote_para, drafts[j].sentences) and _same_subject(d, drafts[j], terms):
                    d.follows = drafts[j].follows if drafts[j].follows is not None else j
                    break
        by_asker.setdefault(k, []).append(i)
    resolved: list[Optional[Question]] = []
    for d in drafts:
        resolved.append(_resolve_one(ctx, d, terms))
    # fold follow-ups
    for i, d in enumerate(drafts):
        if d.follows is None or resolved[d.follows] is None:
            continue
        first, again = resolved[d.follows], resolved[i]
        ping = Reply(again.where.msgid, again.asker, again.text, "ping/asker-asks-again", again.where.date)
        answers = first.answers + tuple(a for a in again.answers if a.msgid not in {x.msgid for x in first.answers})
        pings = first.pings + (ping,) + again.pings
        resolved[d.follows] = replace(first, answers=answers, pings=_uniq(pings),
                                      mentions=first.mentions,
                                      notes=tuple(dict.fromkeys(first.notes + again.notes)),
                                      status="answered" if answers else "open")
        resolved[i] = None
    return [q for q in resolved if q is not None]


_PING = re.compile(r"\b(?:did you (?:manage|get a chance|have a chance|have time|get around)|any (?:update|news|progress)|"
                   r"ping\b|gentle ping|still waiting|no (?:response|answer|reply))", re.I)


def _same_subject(again: Draft, first: Draft, terms: Counter) -> bool:
    """A question asked while quoting one's own earlier question re-asks it only when
    it says so ("Did you manage to ...") or shares a distinctive term with it."""
    if _PING.search(again.question.text):
        return True
    return bool(_rare_terms(again.question.text, terms) & _rare_terms(first.question.text, terms))


def _rare_terms(text: str, terms: Counter) -> set:
    return {t for t in _terms(text) if terms.get(t, 0) <= 3}


def _uniq(replies: tuple) -> tuple:
    seen, out = set(), []
    for r in replies:
        if r.msgid not in seen:
            seen.add(r.msgid)
            out.append(r)
    return tuple(out)


def _resolve_one(ctx: Context, d: Draft, terms: Counter) -> Question:
    q = d.question
    asker = q.asker
    answers, pings, notes, mentions = [], [], [], []
    for r in ctx.descendants(q.where.msgid):
        m = ctx.by_id[r]
        if is_bot(m.sender):
            continue
        same = ctx.same(m.sender, asker)
        body = ctx.body(r)
        person = ctx.people.person(ctx.people.key(m.sender), m.sender)
        hit = False
        for pair in body.pairs:
            if pair.quote is None:
                continue
            if not _contains(pair.quote.trailing_norm(), d.sentences):
                continue
            hit = True
            if same:
                if substantive(pair.own):
                    pings.append(Reply(r, person, own_text(pair.own, 300), "ping/asker-quotes-own-question", m.date))
            elif substantive(pair.own):
                answers.append(Reply(r, person, own_text(pair.own, 400), "answer/text-after-quoted-question",
                                     m.date))
            else:
                said = shorten(" ".join(ln.text.strip() for ln in pair.own.lines if ln.text.strip()), 120)
                notes.append(f"{person.name or person.email} quoted it and wrote only a closing remark "
                             f"(\"{said}\")")
        if hit or same:
            continue
        if ctx.parsed.parent.get(r) == q.where.msgid and (not body.has_quotes or body.top_posted):
            texts = [own_text(p.own, 400) for p in body.pairs if substantive(p.own)]
            if texts:
                answers.append(Reply(r, person, texts[0], "answer/direct-reply-without-quoting", m.date))
    if not answers:
        mentions = _mentions(ctx, d, terms)
    return replace(q, status="answered" if answers else "open", answers=tuple(answers), pings=tuple(pings),
                   notes=tuple(notes), mentions=tuple(mentions))


def _terms(text: str) -> set:
    return {w.lower() for w in _WORD.findall(text) if len(w) >= 4 and w.lower() not in _STOP}


def _term_frequency(ctx: Context, series: int) -> Counter:
    """In how many mails of the series each term appears in someone's own text."""
    c: Counter = Counter()
    for r in ctx.replies(series):
        seen = set()
        for pair in ctx.body(r).pairs:
            for s in sentences(pair.own):
                seen |= _terms(s.text)
        c.update(seen)
    return c


def _mentions(ctx: Context, d: Draft, terms: Counter) -> list[Reply]:
    q = d.question
    rare = _rare_terms(q.text, terms)
    if not rare:
        return []
    out = []
    for r in ctx.descendants(q.where.msgid):
        m = ctx.by_id[r]
        if is_bot(m.sender) or ctx.same(m.sender, q.asker):
            continue
        for pair in ctx.body(r).pairs:
            found = None
            for s in sentences(pair.own):
                if _terms(s.text) & rare:
                    found = s.text
                    break
            if found:
                person = ctx.people.person(ctx.people.key(m.sender), m.sender)
                out.append(Reply(r, person, shorten(found, 300), "mention/shares-a-rare-term", m.date))
                break
    return out
