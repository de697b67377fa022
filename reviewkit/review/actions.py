"""Action items: what reviewers asked for and what people said they would do.

Requests come from reviewers' own sentences, commitments from anyone's
(usually the author's). Each rule below is one regular expression over a
sentence; the first that matches names the item's rule. Questions ending in
`?` are not commitments; conditional or hypothetical phrasing ("I could
just ...") is left out on purpose: a maintainer should be able to trust the
list.

A commitment that answers a quoted paragraph by someone else ("Good idea;
I'll include a patch in v1." under Christoph's "we should also rename it to
FOLL_PTRACE") records that paragraph as what it responds to, and the code
names of both ("FOLL_PTRACE") are what a later version is checked for.
"""
from __future__ import annotations

import re
from typing import Optional

from .context import Context
from .events import out_of_scope
from .model import ActionItem, Anchor, Quote, Where, Why
from .text import Block, identifiers, is_question, shorten, sentences

# "that" only at the start of a clause: "a fix that needs to be backported" is not a request
_SUBJ = r"(?:you|we|this(?: [\w-]+)?|(?:^|(?<=[,;:] ))that|it|these|those|there|the [\w-]+|[\w-]+\(\)|[\w-]+_[\w-]+|(?-i:[A-Z]{2,}\w*))"
_FINE = (r"(?:fine|ok|okay|safe|good|enough|correct|possible|able|the case|true|harmless|rare|unlikely|sufficient|"
         r"covered|handled|ready|there|done|no problem|a problem|an issue|obvious|easy|trivial|similar|ignored)")

_ADVERB = r"always|normally|usually|already|typically|generally|now|still|then|definitely|certainly|probably"
# what "X should <verb>" says about the world rather than asks of the author
_NOT_REQUEST = (r"work|happen|matter|have no|not matter|hit|trigger|never|fail|see|all|land|apply|go|merge|compile|"
                r"build|boot|pass|cover|fix|solve|help|suffice|result|cause|get|look|behave|catch|stay|remain|end up|"
                r"only|hold|contain|point|return|run|come|take care|know|already")
_HEDGE = re.compile(r"\bI (?:guess|suppose|assume|hope|believe)\b|\bin theory\b", re.I)
_MAYBE = re.compile(r"^(?:\W*)(?:so\s+|then\s+)?(?:maybe|perhaps|probably)\b", re.I)
_QUOTED = re.compile(r"\"[^\"]{3,}\"|“[^”]{3,}”")

REQUEST_RULES = [
    ("request/needs-to", re.compile(rf"\b{_SUBJ}\s+(?:really\s+|also\s+|still\s+|probably\s+|then\s+)?"
                                    rf"(?:would\s+|will\s+)?needs?\s+to\b",
                                    re.I)),
    ("request/should", re.compile(
        rf"\b{_SUBJ}\s+(?:should|must|shouldn't|mustn't|should not|must not)\s+"
        rf"(?:also\s+|probably\s+|really\s+|just\s+|then\s+|rather\s+|instead\s+|still\s+)?"
        rf"(?!be\s+{_FINE}\b|be\s*[<>=!]|(?:{_ADVERB})\s+be\b|(?:{_NOT_REQUEST})\b)\w+",
        re.I)),
    ("request/please", re.compile(
        r"(?:^|[,;:]\s*)(?:please|pls)\s+(?!(?:feel|let me|see|find|note|ignore|excuse|forgive|disregard|keep me|cc|"
        r"also cc|refer|read|correct me|don't hesitate)\b)\w+", re.I)),
    ("request/suggest", re.compile(
        r"\b(?:I'd|I would)\s+(?:really\s+)?(?:suggest|prefer|rather|recommend|like to see|like you to)\b|"
        r"\bI (?:suggest|recommend|propose)\b|\bmy suggestion\b|^suggestion:|\b(?:also )?suggest to\b", re.I)),
    ("request/why-not", re.compile(r"^(?:so\s+|but\s+|and\s+)?why not\b.*\?$", re.I)),
    ("request/could-you", re.compile(
        r"\b(?:can|could|would) you (?:please )?(?:also )?(?:add|split|rename|drop|remove|move|update|fix|document|"
        r"send|rebase|test|use|make|change|check|look|convert|squash|fold|merge|resend|respin|include|mention|note|"
        r"describe|expand|separate|reorder|rework|simplify)\b", re.I)),
    ("request/better-to", re.compile(
        r"\b(?:it would be|it'd be|it's|it is|that would be|that'd be) (?:much |a lot |probably |really )?"
        r"(?:better|nicer|nice|good|great|cleaner|simpler|preferable|safer|more readable) (?:to|if)\b|"
        r"\byou(?:'d| would) be better (?:off|protected|served)\b|\b(?:is|that's|that is) (?:vastly |much |far |way )?"
        r"preferable to\b", re.I)),
    ("request/wonder-if", re.compile(rf"\bI wonder (?:if|whether) {_SUBJ}?\s*[\w/.-]* ?(?:can|could|should|would)\b",
                                     re.I)),
    ("request/i-would-verb", re.compile(
        r"^(?:so\s+|also\s+|but\s+)?I(?:'d| would) (?:also |probably |just )?(?:capitali[sz]e|rename|use|add|drop|remove|split|"
        r"move|say|write|call|reword|mention|document|squash|fold|reorder|spell|put|keep)\b", re.I)),
    ("request/subject", re.compile(r"^(?:subject|title)\s*:\s*\S", re.I)),
    ("request/can-we-have", re.compile(r"\bcan (?:we|I|you) (?:please )?(?:have|get|see)\b.*\?$", re.I)),
    ("request/would-it-be-easier", re.compile(
        r"^(?:might|would|wouldn't|could) it be (?:easier|better|simpler|cleaner|nicer|less confusing)\b.*\?$", re.I)),
    ("request/dont", re.compile(r"^(?:please\s+)?(?:don't|do not|never) (?:use|add|call|do|take|hold|return|introduce|"
                                r"export|rely|change|touch|open-code|duplicate)\b", re.I)),
    ("request/sed", re.compile(r"^s/[^/]+/[^/]*/g?\s*[.?]?$")),
    ("request/can-be-dropped", re.compile(rf"\b{_SUBJ}\s+(?:can|could)\s+(?:even\s+|just\s+|simply\s+|also\s+)?be\s+"
                                          r"(?:dropped|removed|simplified|killed|folded|merged|kept|moved)\b", re.I)),
    ("request/we-can", re.compile(r"^(?:then\s+)?(?:imho\s+|so\s+)?(?:we|you) (?:can|could) (?:just |simply |even |also )?"
                                  r"(?:drop|remove|use|return|kill|skip|avoid|keep|move|merge|fold|reuse)\b", re.I)),
    ("request/how-about", re.compile(r"^(?:so\s+|then\s+)?how about\b", re.I)),
    ("request/we-had-better", re.compile(r"\bwe(?:'d| had) better\b|\(maybe we should\?\)", re.I)),
    ("request/simplify", re.compile(r"^(?:this|that|it|the [\w-]+) (?:can|could) be (?:simplified|written|shortened)\b",
                                    re.I)),
    ("request/maybe-question", re.compile(r"^(?:so\s+)?(?:maybe|perhaps) (?:just |we could |you could )?"
                                          r"(?:replace|use|add|drop|remove|move|rename|split|make|call|pass|open[- ]code)\b"
                                          r".*\?$", re.I)),
    ("request/should-it-move", re.compile(r"^should (?:the |this |we )?\S+ (?:go|move|be moved|live|be folded|be split)"
                                          r" (?:into|to|in)\b.*\?$", re.I)),
    ("request/nit", re.compile(r"^nit(?:pick)?\s*[:,-]", re.I)),
]

_NOT_AFTER_WILL = (r"(?!(?:be|have|need|rely|assume|say|admit|leave|let|bet|wait|defer|guess|take your word|stop|shut|"
                   r"go with|reply|respond|comment|answer|explain|keep|not|never|probably not|likely)\b)")
COMMITMENT_RULES = [
    ("commitment/i-will", re.compile(
        rf"\bI(?:'ll|’ll| will| shall)\s+(?:also\s+|then\s+|probably\s+|definitely\s+|just\s+|certainly\s+)?"
        rf"{_NOT_AFTER_WILL}\w+", re.I)),
    ("commitment/going-to", re.compile(rf"\bI(?:'m|’m| am) (?:going to|gonna)\s+{_NOT_AFTER_WILL}\w+", re.I)),
    ("commitment/i-should", re.compile(
        r"(?<!\bif )(?<!whether )\bI should (?:also |probably |really |just )?(?:add|fix|change|update|remove|drop|rename|move|send|"
        r"include|split|document|make|use|rework|check|handle|convert|clean|rebase|respin|mention|improve)\b", re.I)),
    ("commitment/will-do", re.compile(
        r"^(?:(?:ok|okay|sure|right|agreed|yes|yep|yeah|ack|good (?:idea|point|catch)|thanks|thank you)[,.!;:]*\s+)*"
        r"(?:I\s+)?will (?:do|fix|change|update|add|remove|drop|rename|move|send|include|split|document|rework|"
        r"address|squash|fold|respin|repost|resend)\b", re.I)),
    ("commitment/fixed-for-next", re.compile(
        r"\b(?:fixed|done|changed|updated|added|removed|dropped|reworded|squashed|folded) "
        r"(?:that |this |it )?(?:locally|in v\d+|for v\d+|in the next (?:version|revision|spin|iteration)|"
        r"for the next (?:version|revision|spin|iteration))\b", re.I)),
    ("commitment/agreement", re.compile(
        r"^(?:good (?:idea|point|catch|suggestion)|agreed|makes sense|sounds good|fair (?:enough|point)|"
        r"you're right|you are right)\b", re.I)),
]

# requests that are phrased as questions ("Can we please have ...?", "Maybe just replace X with Y?")
QUESTION_FORM = ("request/why-not", "request/could-you", "request/sed", "request/can-we-have",
                 "request/would-it-be-easier", "request/maybe-question", "request/should-it-move", "request/how-about",
                 "request/we-had-better")

_NIT_HEADING = re.compile(r"^(?:nits?|nitpicks?|minor nits?)\s*:?$", re.I)

_TARGET = re.compile(r"\b(?:in|for|with|into)\s+v(\d+)\b", re.I)
_NEXT = re.compile(r"\b(?:next|following)\s+(?:version|revision|spin|iteration|round|respin|series|posting)\b|"
                   r"\bv\+1\b|\bv-next\b", re.I)
_CONDITIONAL = re.compile(r"^(?:if|unless|when|whether|once)\b", re.I)


def target_version(text: str, version: int) -> Optional[int]:
    m = _TARGET.search(text)
    if m:
        return int(m.group(1))
    if _NEXT.search(text):
        return version + 1
    return None


def detect(ctx: Context, msgid: str, block: Block, quote: Optional[Block], anchor: Optional[Anchor],
           where: Where, role: str, quoted_by: Optional[Quote], state: Optional[dict] = None) -> list[ActionItem]:
    """Requests and commitments in one own-text block.

    `state` carries what one block tells the next of the same mail: a "Nits:" heading whose
    nit comes after the quoted code it is about."""
    if role == "bot":
        return []
    sender = ctx.by_id[msgid].sender
    who = ctx.people.person(ctx.people.key(sender), sender)
    out = []
    sents = sentences(block)
    # "It is not really for this series to fix, but ...": the reviewer's points here are for later
    scope = "out-of-scope" if role != "author" and any(out_of_scope(s.text) for s in sents) else "series"
    state = state if state is not None else {}
    after_nit = state.get("nit", False)
    for s in sents:
        text = s.text
        bare = _QUOTED.sub('""', text)  # what someone else said, quoted in the sentence, is not theirs
        item = None
        if role != "author" and after_nit and not is_question(bare):
            # "Nits:" on a line of its own heads the small requests that follow it
            out.append(ActionItem("request", where, who, role, text, Why("request/nit", text, "under a 'Nits:' heading"),
                                  anchor=anchor, identifiers=identifiers(text), scope=scope))
            after_nit = False
            continue
        after_nit = bool(_NIT_HEADING.match(text))
        if after_nit:
            continue
        if scope == "out-of-scope" and out_of_scope(text):
            out.append(ActionItem("remark", where, who, role, text,
                                  Why("remark/out-of-scope", text, "the reviewer puts this outside the series"),
                                  anchor=anchor, scope=scope))
            continue
        if role != "author":
            for rule, rx in REQUEST_RULES:
                if rule == "request/should" and _HEDGE.search(bare):
                    continue
                if is_question(bare) and not (rule in QUESTION_FORM
                                              or (rule == "request/should" and _MAYBE.match(bare))):
                    continue  # "Why do we need to ...?", "Does X need to ...?" ask; they do not request
                if rx.search(bare):
                    item = ActionItem("request", where, who, role, text, Why(rule, text, "a reviewer asks for a change"),
                                      anchor=anchor, identifiers=identifiers(text), scope=scope)
                    break
        if item is None and not is_question(text):
            for rule, rx in COMMITMENT_RULES:
                if not rx.search(bare):
                    continue
                if rule == "commitment/agreement" and (quoted_by is None or role != "author"):
                    break  # agreement counts only as the author's answer to someone's quoted point
                if rule == "commitment/i-will" and _CONDITIONAL.match(text) and not re.search(r",\s*I(?:'ll| will)",
                                                                                              text):
                    break
                idents = identifiers(text) + tuple(x for x in (identifiers(quoted_by.text) if quoted_by else ())
                                                   if x not in identifiers(text))
                item = ActionItem("commitment", where, who, role, text,
                                  Why(rule, text, "says what they will do" if rule != "commitment/agreement"
                                      else "the author agrees with the quoted point"),
                                  anchor=anchor, responds_to=quoted_by,
                                  target_version=target_version(text, where.version), identifiers=idents)
                break
        if item is not None:
            out.append(item)
    state["nit"] = after_nit
    return out


def quoted_point(ctx: Context, msgid: str, quote: Optional[Block]) -> Optional[Quote]:
    """The paragraph a reply answers: the quote block's last paragraph, and whose it is (by quote depth)."""
    if quote is None:
        return None
    paras = quote.paragraphs()
    if not paras:
        return None
    last = paras[-1]
    depth = last[0].depth
    node = msgid
    for _ in range(depth):
        node = ctx.parsed.parent.get(node)
        if node is None:
            break
    if node is not None and ctx.parsed.kinds.get(node) in ("patch", "cover"):
        return None  # the patch or cover itself: not someone's point to agree with
    person = ctx.by_id[node].sender if node in ctx.by_id else None
    text = " ".join(ln.text.strip() for ln in last)
    if text.startswith(("+", "@@", "diff --git")) or not text:
        return None
    return Quote(ctx.people.person(ctx.people.key(person), person) if person else None, shorten(text, 300), node)
