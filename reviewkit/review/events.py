"""Events that decide where a series stands, found in replies from people and bots.

Each is a Verdict (model.py) with the mail that shows it, who sent it and why:

- `applied`: someone other than the author says they applied / queued / picked up the patch
  ("Applied to mm-unstable, thanks", "Thanks, applied.", "I'll fold in this fix"); the tree or
  branch named after "to"/"into" is kept. Conditionals ("once applied", "if applied") and
  tool chatter ("If your patch is applied to the wrong git tree") are not events.
- `dropped`: "I've dropped it from mm-unstable", "dropped this for now"; from the author,
  "please ignore" / "please drop this patch".
- `build-failure` / `test-failure`: a bot's report (kernel test robot's "build test ERROR",
  compiler `error:` lines; syzbot / "BUG:" / "KASAN" / a regression report), or a person's
  reply holding a compiler error line (`file.c:12:3: error: ...`, `undefined reference to`).
- `changes-requested`: a reviewer's or maintainer's objection to the design or the approach:
  "the wrong approach/place/idea", "misplaced", "an abuse of", "I don't like", "not like
  this", "revert this patch". Sentences that put the point out of the series' scope are not.

Superseded and dropped-between-versions events come from the version links (summarize.py).
"""
from __future__ import annotations

import re
from typing import Optional

from .context import Context, is_bot
from .model import Verdict, Why
from .text import Block, is_closing, sentences

_APPLIED = re.compile(
    r"^(?:(?:ok|okay|great|nice|very nice|good|thanks|thank you|thx|cool)[,.!]*\s+)*(?:and\s+)?(?:now\s+)?"
    r"(?:I(?:'ve| have)?\s+(?:now\s+)?)?(?:applied|queued(?: up)?|picked(?: it| this| them| these)? up|"
    r"(?:pushed|merged|taken|added)(?=\s+(?:it|this|them|these|the (?:series|patch(?:es|set)?)|your patch)\b))\b"
    r"(?!\s+(?:on top|cleanly|fine))", re.I)
_THANKS_APPLIED = re.compile(r"^(?:thanks|thank you)[,!.]*\s+(?:both\s+)?(?:applied|queued|picked up)\b", re.I)
_FOLD = re.compile(r"\bI(?:'ll| will|'ve| have)\s+(?:fold(?:ed)?|squash(?:ed)?)\s+(?:in\s+)?(?:this|that|the|your)\b",
                   re.I)
_TREE = re.compile(r"\b(?:to|into|in|on|from)\s+(?:the\s+)?(?:(?:my|our)\s+)?([\w][\w./+-]*[\w])(?:\s+(?:branch|tree))?",
                   re.I)
_NOT_TREE = frozenset("the this that my our a it them patch patches series mainline tree it's his her".split())
_CONDITIONAL = re.compile(r"\b(?:once|if|when|unless|before|after|until|whether|could|would|should|can|might|"
                          r"wrong git tree)\b", re.I)
_DROPPED = re.compile(r"\bI(?:'ve| have)?\s+(?:now\s+)?dropped\b|\b(?:dropped|removed)\s+(?:it|this|these|them|the patch|"
                      r"the series)\s+from\b|\bI(?:'ll| will) drop (?:it|this|these|them|the patch)\b", re.I)
_WITHDRAWN = re.compile(r"\bplease (?:ignore|disregard)\b(?:\s+(?:this|it|that))?|"
                        r"\bplease drop (?:this|it|that|the (?:last |first )?patch|patch)\b", re.I)
_BOT_BUILD = re.compile(r"build test (?:ERROR|WARNING)|\berror:|compiler (?:error|warning)s?|build (?:error|failure)s?",
                        re.I)
_BOT_TEST = re.compile(r"\bBUG:|\bKASAN\b|\bWARNING: CPU|Oops|regression|syzbot (?:found|has found)|"
                       r"\btest(?:s)? fail", re.I)
_COMPILER_LINE = re.compile(r"^\s*(?:[\w./-]+\.(?:c|h|S|rs):\d+(?::\d+)?:\s+(?:fatal\s+)?error:|"
                            r".*\bundefined reference to\b|make(?:\[\d+\])?: \*\*\* )")
_OBJECTION = re.compile(
    r"\b(?:the\s+)?(?:wrong|(?:really |very )?odd) (?:approach|place|spot|layer|idea|tool|direction|interface|abstraction|"
    r"level)\b|"
    r"\bmisplaced\b|\b(?:an?|is|this is)\s+abuse of\b|\bI (?:really |much |also )*(?:don't|do not) (?:much |really )?like\b|"
    r"\bnot like this\b|\bnot (?:super[- ]?|very |at all |too )?happy (?:about|with) (?:this|that|it)\b|\brevert (?:this|the|it)\b|\bseems (?:unsafe|broken|wrong)\b|\b(?:this|that) is (?:unsafe|broken|wrong)\b|\bdon't think this is the right\b",
    re.I)
_NEGATED = re.compile(r"\b(?:not|isn't|wasn't|no)\s+(?:\w+\s+){0,2}$", re.I)
_OUT_OF_SCOPE = re.compile(
    r"\bnot (?:really )?(?:something )?for this (?:series|patch(?:set)?)\b|\bout of (?:the )?scope\b|"
    r"\boutside (?:the )?scope\b|\b(?:not|isn't) (?:really )?(?:something )?(?:for )?this (?:series|patch) to fix\b|"
    r"\bas a (?:separate|follow-?up) (?:patch|series)\b|\bcan be (?:done|fixed|addressed) (?:later|separately)\b|"
    r"\b(?:separate|unrelated) (?:issue|problem)\b|\bsome ?day\b|\bon top of this (?:patch|series)\b|"
    r"\bin a (?:separate |later )?follow-?up\b|\bfuture work\b", re.I)


# The -mm tree's notices (a mail of their own, not a reply): "The patch titled / Subject: X / has been
# added to the -mm mm-unstable branch", "The quilt patch titled ... has been removed from the -mm tree ...
# This patch was dropped because it was merged into the mm-stable branch" (or "folded into", or "an
# updated version will be issued", "it was withdrawn").
_NOTICE = re.compile(r"The (?:quilt )?patch titled\s*\n\s*Subject:\s*(?P<title>.+?)\s*\n\s*has been "
                     r"(?P<what>added to|removed from) the -mm (?P<where>[\w.+-]+ branch|tree)", re.I)
_DROPPED_BECAUSE = re.compile(r"This patch was dropped because (?P<why>[^\n]+(?:\n(?!\n)[^\n]+)*)", re.I)
_MERGED_INTO = re.compile(r"(?:merged|folded) into (?:the )?([\w.+-]+)", re.I)


def tree_notice(body: str) -> Optional[tuple]:
    """(kind, patch title, tree, the notice's sentence) of a -mm tree notice, else None."""
    m = _NOTICE.search(body or "")
    if not m:
        return None
    title = " ".join(m.group("title").split())
    if m.group("what").lower().startswith("added"):
        tree = m.group("where").split()[0] if m.group("where").lower().endswith("branch") else "-mm"
        return "applied", title, tree, f"added to the -mm {m.group('where')}"
    why = _DROPPED_BECAUSE.search(body)
    reason = " ".join(why.group("why").split()) if why else ""
    merged = _MERGED_INTO.search(reason)
    if merged and "updated version" not in reason:
        return "applied", title, merged.group(1), f"removed from the -mm tree: {reason}"
    return "dropped", title, "-mm", f"removed from the -mm tree{': ' + reason if reason else ''}"


def out_of_scope(text: str) -> bool:
    return bool(_OUT_OF_SCOPE.search(text))


def _tree(text: str, start: int) -> str:
    for m in _TREE.finditer(text, start):
        name = m.group(1)
        if name.lower() in _NOT_TREE or len(name) < 3:
            continue
        return name
    return ""


def reply_events(ctx: Context, msgid: str, blocks: list, role: str) -> list[Verdict]:
    """Events in one reply: `blocks` are its own-text Blocks, in order."""
    m = ctx.by_id[msgid]
    who = ctx.people.person(ctx.people.key(m.sender), m.sender)
    where = ctx.where(msgid)
    scope = "series" if where.patch is None else "patch"
    out: list[Verdict] = []

    def add(kind: str, rule: str, text: str, detail: str, tree: str = "") -> None:
        if any(v.kind == kind for v in out):
            return
        out.append(Verdict(kind, False, who, where, scope, Why(rule, text, detail), role=role, tree=tree))

    if role == "bot":
        raw = m.body
        if _BOT_BUILD.search(raw):
            first = next((ln.strip() for ln in raw.split("\n") if re.search(r"\berror:|build test", ln)), "")
            add("build-failure", "event/bot-build-report", first[:200], f"a build report from {who.name or who.email}")
        elif _BOT_TEST.search(raw):
            first = next((ln.strip() for ln in raw.split("\n") if _BOT_TEST.search(ln)), "")
            add("test-failure", "event/bot-test-report", first[:200], f"a test report from {who.name or who.email}")
        return out
    for block in blocks:
        if role != "author":
            for ln in block.lines:
                if ln.depth == 0 and _COMPILER_LINE.match(ln.text):
                    add("build-failure", "event/compiler-error-pasted", ln.text.strip()[:200],
                        "a reply holds a compiler error")
                    break
        for s in sentences(block):
            text = s.text
            if is_closing(text) and not _THANKS_APPLIED.match(text):
                continue
            if role != "author":
                hit = _APPLIED.match(text) or _THANKS_APPLIED.match(text)
                if hit and not _CONDITIONAL.search(text[: hit.end() + 40]) and "?" not in text:
                    add("applied", "event/applied", text, "the sender says they applied it", _tree(text, hit.end()))
                    continue
                hit = _FOLD.search(text)
                if hit and "?" not in text:
                    add("applied", "event/folds-in-fix", text, "the sender folds the fix into the patch they carry")
                    continue
                hit = _DROPPED.search(text)
                if hit and not _CONDITIONAL.search(text[: hit.start()]):
                    add("dropped", "event/dropped", text, "the sender dropped it", _tree(text, hit.end()))
                    continue
                hit = _OBJECTION.search(text)
                if hit and not _NEGATED.search(text[: hit.start()]) and not out_of_scope(text):
                    add("changes-requested", "event/objection", text, "an objection to the approach")
            elif _WITHDRAWN.search(text):
                add("dropped", "event/author-withdraws", text, "the author withdraws it")
    return out
