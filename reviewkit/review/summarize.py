"""summarize(parsed) -> Summary: the review state of every series in the input, across versions."""
from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Optional

from ..model import Patch
from ..pipeline import Parsed
from ..trailers import parse_followup_trailers
from . import actions, questions
from .anchors import PatchIndex, anchor_from_quote
from .context import Context, is_bot
from ..maintainers import Maintainers
from .model import (ActionItem, Anchor, Comment, Outcome, PatchLink, PatchSummary, Question, Quote, SeriesSummary,
                    Summary, Verdict, Where, Why)
from .text import norm, own_text, shorten
from .events import reply_events, tree_notice
from .verdicts import formal_verdicts, informal_verdicts, participants, trailers_for_patch
from .versions import (changelog, clear_cache, code_outcome, link_series, match_patches, norm_title, patch_id,
                       patch_link)

CREDITED = ("changes-requested", "nack", "build-failure", "test-failure")  # events a changelog may credit as fixed
INHERIT_DEPTH = 4      # how far up a sub-thread a reply's quote is looked for in anchored mails
MIN_INHERIT_QUOTE = 20  # characters of quoted text needed to inherit an anchor


class _Run:
    def __init__(self, parsed: Parsed, maintainers: Optional[Maintainers]):
        self.parsed = parsed
        self.ctx = Context(parsed)
        self.maintainers = maintainers
        self.pids = {mid: patch_id(p) for mid, p in parsed.patches.items()}
        self.links, self.histories, self.next = link_series(parsed.series, parsed.patches, self.pids)
        self.history_of = {i: h.index for h in self.histories for i in h.series}
        self._indexes: dict[str, PatchIndex] = {}
        self._matches: dict[tuple, dict] = {}
        self._links: dict[tuple, PatchLink] = {}
        self.anchored: dict[str, list] = {}   # msgid -> [(normalized own text, Anchor)]
        self.notices = self.tree_notices()

    def index(self, msgid: str) -> Optional[PatchIndex]:
        p = self.parsed.patches.get(msgid)
        if p is None or not p.files:
            return None
        idx = self._indexes.get(msgid)
        if idx is None:
            idx = self._indexes[msgid] = PatchIndex(p)
        return idx

    def matches(self, old: int, new: int) -> dict:
        """new patch msgid -> (old msgid, old counter, how, score)."""
        key = (old, new)
        if key not in self._matches:
            s = self.parsed.series
            self._matches[key] = match_patches(s[old], s[new], self.parsed.patches, self.pids)
        return self._matches[key]

    def link_between(self, old: Patch, new: Patch) -> PatchLink:
        """How `new` differs from `old` (any two versions, not only consecutive ones)."""
        key = (old.message.msgid, new.message.msgid)
        link = self._links.get(key)
        if link is None:
            link = self._links[key] = patch_link(old, new, None, "outcome", 0.0, self.pids)
        return link

    def label(self, series: int, msgid: str) -> str:
        s = self.parsed.series[series]
        c = self.ctx.counter_of.get(msgid)
        title = self.parsed.patches[msgid].subject.title if msgid in self.parsed.patches else ""
        return f"v{s.version} {c}/{s.total or len(s.patches)} \"{shorten(title, 70)}\""

    # -- one reply ----------------------------------------------------------------------------

    def inherited(self, msgid: str, quote) -> Optional[Anchor]:
        if quote is None:
            return None
        lp = norm(quote.last_paragraph())
        if len(lp) < MIN_INHERIT_QUOTE:
            return None
        for depth, anc in enumerate(self.ctx.ancestors(msgid)):
            if depth >= INHERIT_DEPTH:
                break
            for text, anchor in self.anchored.get(anc, ()):
                if lp in text:
                    return Anchor(**{**anchor.__dict__, "inherited_from": anc})
        return None

    def reply(self, msgid: str, series: int, out: dict) -> None:
        ctx = self.ctx
        m = ctx.by_id[msgid]
        role = ctx.role(m.sender, series)
        where = ctx.where(msgid)
        patch = ctx.patch_of.get(msgid)
        idx = self.index(patch) if patch else None
        body = ctx.body(msgid)
        formal_keys = {(t.key, ctx.people.key(t.person)) for t in _reply_trailers(self.parsed, msgid)}
        person = ctx.people.person(ctx.people.key(m.sender), m.sender)
        state: dict = {}
        for pair in body.pairs:
            anchor = idx.anchor(pair.quote) if idx is not None and pair.quote is not None else None
            rule = "comment/text-under-quoted-diff"
            if anchor is None and patch and pair.quote is not None:
                anchor = anchor_from_quote(pair.quote, patch)
                rule = "comment/text-under-quoted-hunk-header"
            if anchor is None:
                anchor = self.inherited(msgid, pair.quote)
                rule = "comment/continues-anchored-discussion"
            text = own_text(pair.own, 800)
            if anchor is not None and text:
                self.anchored.setdefault(msgid, []).append((norm(own_text(pair.own, 1 << 30)), anchor))
                first = text.split("\n", 1)[0]
                detail = (f"{anchor.matched} quoted diff lines match {anchor.path}" if rule.endswith("diff") else
                          "placed by the quoted @@ header; the patch in the input lacks those lines"
                          if rule.endswith("header") else f"quotes {anchor.inherited_from}, which is anchored there")
                out["comments"].append(Comment(where, person, role, anchor, text, Why(rule, first, detail)))
            out["drafts"].extend(questions.detect(ctx, msgid, pair.own, pair.quote, anchor, where, role))
            quoted = actions.quoted_point(ctx, msgid, pair.quote)
            if quoted is not None and ctx.same(quoted.person, m.sender):
                quoted = None
            out["actions"].extend(actions.detect(ctx, msgid, pair.own, pair.quote, anchor, where, role, quoted, state))
            out["informal"].extend(informal_verdicts(ctx, msgid, pair.own, formal_keys, _quoted_reply(quoted)))
        out["events"].extend(reply_events(ctx, msgid, [p.own for p in body.pairs], role))

    # -- one series ---------------------------------------------------------------------------

    def series(self, i: int) -> SeriesSummary:
        ctx, parsed = self.ctx, self.parsed
        s = parsed.series[i]
        link = self.links.get(i)
        prev_matches = self.matches(link.previous, i) if link else {}
        found = {"comments": [], "drafts": [], "actions": [], "informal": [], "events": []}
        replies = ctx.replies(i)
        for r in replies:
            self.reply(r, i, found)
        qs = questions.resolve(ctx, found["drafts"], i)
        roles = None
        if self.maintainers is not None:
            paths = {f.path for mid in s.patches if mid in parsed.patches for f in parsed.patches[mid].files}
            roles = self.maintainers.roles(paths)
        cover_log = changelog(ctx.by_id[s.cover].body, s.cover, "cover", s.version) if s.cover else ()
        events = [self.with_role(v, i, roles) for v in found["events"] + self.notices.get(i, [])]
        events += self.version_events(i)
        informal = [self.with_role(v, i, roles) for v in found["informal"]]
        acting = frozenset(ctx.people.key(v.person) for v in events
                           if v.kind in ("applied", "dropped") and v.role == "maintainer")
        prev_missing = self.previous_missing(i)
        patches, all_trailers = [], []
        for counter, mid in zip(s.counters, s.patches):
            p = parsed.patches.get(mid)
            if p is None:
                continue
            pm = prev_matches.get(mid)
            prev_patch = parsed.patches.get(pm[0]) if pm else None
            trailers = trailers_for_patch(ctx, i, p, prev_patch, prev_missing)
            all_trailers.extend(trailers)
            plink = None
            if link is not None or prev_missing:
                how = pm[2] if pm else ("missing" if prev_missing else "new")
                plink = patch_link(prev_patch, p, pm[1] if pm else None, how, pm[3] if pm else 0.0, self.pids)
            mine = [r for r in replies if ctx.patch_of.get(r) == mid]
            verdicts = ([self.with_role(v, i, roles) for v in formal_verdicts(ctx, trailers)]
                        + [v for v in informal + events if v.where.patch == mid or v.scope == "series"])
            patches.append(PatchSummary(
                msgid=mid, counter=counter, title=p.subject.title, author=p.author, version=s.version, series=i,
                participants=participants(ctx, i, [mid] + mine, trailers, roles, acting),
                trailers=tuple(trailers), verdicts=tuple(verdicts),
                comments=tuple(c for c in found["comments"] if c.where.patch == mid),
                questions=tuple(q for q in qs if q.where.patch == mid),
                actions=tuple(a for a in found["actions"] if a.where.patch == mid),
                changelog=changelog(p.notes, mid, "patch", s.version), link=plink, replies=len(mine),
                thread=self.thread(mid, set(mine))))
        verdicts = [self.with_role(v, i, roles) for v in formal_verdicts(ctx, all_trailers)] + informal + events
        verdicts.sort(key=lambda v: (v.scope != "series", ctx.counter_of.get(v.where.patch) or 0))
        msgs = ([s.cover] if s.cover else []) + list(s.patches) + replies
        dropped = ()
        if link is not None and not s.missing:  # an incomplete version may hold the patch in its missing part
            carried = {v[0] for v in prev_matches.values()}
            ps = parsed.series[link.previous]
            dropped = tuple((mid, c, t) for mid, c, t in zip(ps.patches, ps.counters, ps.patch_titles)
                            if mid not in carried)
        return SeriesSummary(
            index=i, version=s.version, rfc=s.is_rfc, resend=s.is_resend, title=s.title, sender=s.sender,
            date=s.date, cover=s.cover, total=s.total, missing=s.missing, history=self.history_of.get(i, 0),
            previous=link, next=self.next.get(i),
            participants=participants(ctx, i, msgs, all_trailers, roles, acting),
            trailers=tuple(all_trailers), verdicts=tuple(_dedupe_verdicts(verdicts)),
            comments=tuple(found["comments"]), questions=tuple(qs), actions=tuple(found["actions"]),
            changelog=cover_log + tuple(e for p in patches for e in p.changelog),
            patches=tuple(patches), dropped_patches=dropped, messages=len(msgs),
            thread=self.thread(s.cover, {r for r in replies if ctx.patch_of.get(r) is None}) if s.cover else
            tuple((r, self.parsed.parent.get(r), 0) for r in replies if ctx.patch_of.get(r) is None))

    def thread(self, root: str, members: set) -> tuple:
        """(msgid, parent, depth) of `members` as a lore thread view nests them under `root`, oldest first."""
        out: list = []
        seen = {root}
        # depth first with an explicit stack: a hostile thread can nest deeper than Python recurses
        stack = [(root, 0, iter(self.ctx.children.get(root, ())))]
        while stack:
            node, depth, kids = stack[-1]
            kid = next(kids, None)
            if kid is None:
                stack.pop()
                continue
            if kid in seen:
                continue
            seen.add(kid)
            if kid in members:
                out.append((kid, node, depth))
                depth += 1
            stack.append((kid, depth, iter(self.ctx.children.get(kid, ()))))
        placed = {m for m, *_ in out}
        out += [(m, self.parsed.parent.get(m), 0) for m in sorted(members - placed)]  # parent not in the input
        return tuple(out)

    # -- events from the version links ----------------------------------------------------------

    def with_role(self, v: Verdict, i: int, roles: Optional[dict]) -> Verdict:
        """The sender's role: maintainer from MAINTAINERS (--tree), else as the thread shows it; someone
        who applies or drops the patch in their tree acts as its maintainer."""
        role = v.role or self.ctx.role(v.person, i)
        role = self.role_of(v.person, role, roles)
        if v.kind in ("applied", "dropped") and role == "reviewer":
            role = "maintainer"
        return replace(v, role=role)

    def role_of(self, person, role: str, roles: Optional[dict]) -> str:
        if roles and role != "bot":
            for email in self.ctx.people.emails(self.ctx.people.key(person)) or [person.email]:
                if (roles.get(email) or {}).get("maintainer"):
                    return "maintainer"
        return role

    def tree_notices(self) -> dict:
        """series index -> events from the -mm tree's notices, each on the patch whose title it names
        (the latest version posted before the notice)."""
        parsed, out = self.parsed, {}
        by_title: dict = {}
        for i, s in enumerate(parsed.series):
            for mid, title in zip(s.patches, s.patch_titles):
                by_title.setdefault(norm_title(title), []).append((i, mid))
        for m in parsed.messages:
            if m.msgid in self.ctx.series_of or "patch titled" not in (m.body or ""):
                continue
            hit = tree_notice(m.body)
            if hit is None:
                continue
            kind, title, tree, sentence = hit
            cands = [(i, mid) for i, mid in by_title.get(norm_title(title), ())
                     if not (m.date and parsed.series[i].date and parsed.series[i].date > m.date)]
            if not cands:
                continue
            i, mid = max(cands, key=lambda c: (parsed.series[c[0]].date.timestamp() if parsed.series[c[0]].date
                                               else 0.0, c[0]))
            s = parsed.series[i]
            where = Where(m.msgid, i, s.version, mid, self.ctx.counter_of.get(mid), m.date)
            who = self.ctx.people.person(self.ctx.people.key(m.sender), m.sender)
            out.setdefault(i, []).append(Verdict(kind, False, who, where, "patch",
                                                 Why("event/tree-notice", sentence, f"the -mm tree's notice on \"{title}\""),
                                                 role="maintainer", tree=tree))
        return out

    def first_mail(self, i: int) -> Optional[str]:
        s = self.parsed.series[i]
        return s.cover or (s.patches[0] if s.patches else None)

    def previous_missing(self, i: int) -> bool:
        """A later version whose predecessor is absent from the input, or only partly there."""
        s = self.parsed.series[i]
        link = self.links.get(i)
        if link is None:
            return s.version > 1
        return bool(self.parsed.series[link.previous].missing)

    def version_events(self, i: int) -> list:
        """superseded (a later version follows) and dropped (a patch the complete next version lacks)."""
        j = self.next.get(i)
        first = self.first_mail(i)
        if j is None or first is None:
            return []
        s, sj = self.parsed.series[i], self.parsed.series[j]
        nxt = self.first_mail(j)
        label = ("RFC " if sj.is_rfc else "") + f"v{sj.version}"
        date = f", posted {sj.date:%Y-%m-%d}" if sj.date else ""
        author = self.ctx.people.person(self.ctx.people.key(sj.sender), sj.sender)
        out = [Verdict("superseded", False, author, self.ctx.where(first), "series",
                       Why("event/superseded", f"{label}{date}: \"{sj.title}\"", f"{label} follows this version"),
                       role="author", next=nxt)]
        if sj.missing:
            return out
        carried = {old for old, *_rest in self.matches(i, j).values()}
        for mid, title in zip(s.patches, s.patch_titles):
            if mid not in carried and mid in self.ctx.series_of:
                out.append(Verdict("dropped", False, author, self.ctx.where(mid), "patch",
                                   Why("event/not-in-next-version", title, f"{label} has no patch matching it"),
                                   role="author", next=nxt))
        return out

    def credit(self, i: int, person, summaries: list) -> Optional[Outcome]:
        """The next version's changelog names `person` ("as Ken asked", "reported by the kernel test
        robot"): evidence that it acted on what they said."""
        j = self.next.get(i)
        if j is None or person is None:
            return None
        sj = self.parsed.series[j]
        if is_bot(person):
            names = {"robot", "lkp", "syzbot", "kbuild"}
        else:
            names = {w for w in re.split(r"[\s,]+", _display_name(person)) if len(w) >= 3 and w[:1].isupper()}
        if not names:
            return None
        rx = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\b", re.I if is_bot(person) else 0)
        for e in summaries[j].changelog:
            if e.to_version != sj.version:
                continue
            for item in e.items:
                if rx.search(item):
                    return Outcome("addressed", j, sj.version, e.msgid,
                                   f"v{sj.version} changelog credits them: \"{shorten(item, 160)}\"")
        return None

    # -- what the next version did ------------------------------------------------------------

    def target(self, i: int, version: Optional[int]) -> Optional[int]:
        nxt = self.next.get(i)
        if version is None or nxt is None:
            return nxt
        h = self.histories[self.history_of[i]].series
        later = h[h.index(i) + 1:]
        for j in later:
            if self.parsed.series[j].version == version:
                return j
        return nxt

    def outcome(self, i: int, patch: Optional[str], anchor: Optional[Anchor], idents: tuple,
                target_version: Optional[int], summaries: list) -> Optional[Outcome]:
        j = self.target(i, target_version)
        if j is None:
            return None
        parsed = self.parsed
        sj = parsed.series[j]
        m = self.matches(i, j)
        back = {old: new for new, (old, *_rest) in m.items()}
        new_patches = [(self.label(j, mid), parsed.patches[mid]) for mid in sj.patches
                       if mid not in m and mid in parsed.patches]
        old = parsed.patches.get(patch) if patch else None
        new = parsed.patches.get(back.get(patch)) if patch and back.get(patch) else None
        label = self.label(j, new.message.msgid) if new else f"v{sj.version}"
        link = self.link_between(old, new) if old is not None and new is not None else None
        if link is not None:  # a path the item names is now changed by the patch: the most direct evidence
            for f in link.files:
                if f.status in ("added", "changed") and f.path in idents:
                    return Outcome("addressed", j, sj.version, new.message.msgid,
                                   f"{label} now changes {f.path}, which the item names")
        if anchor is not None and old is not None:
            others = [(self.label(j, mid), parsed.patches[mid]) for mid in sj.patches
                      if mid in parsed.patches and (new is None or mid != new.message.msgid)]
            return code_outcome(anchor, old, new, j, sj.version, label, new_patches, others)
        # a name the commented patch already adds is no sign that the next version did anything about it
        known = _added_text(old) if old is not None else ""
        named = idents
        idents = tuple(x for x in idents if len(x) >= 4 and x not in known)
        if idents:
            for lab, p in new_patches:
                for x in idents:
                    if x in p.subject.title:
                        return Outcome("addressed", j, sj.version, p.message.msgid,
                                       f"{lab} is new in v{sj.version} and names {x}")
            for e in summaries[j].changelog:
                if e.to_version != sj.version:
                    continue
                for item in e.items:
                    for x in idents:
                        if x in item:
                            return Outcome("addressed", j, sj.version, e.msgid,
                                           f"v{sj.version} changelog: \"{shorten(item, 160)}\"")
            # lines the next version adds: the interdiff of the commented patch, or whole new patches
            sources = [(label, new, link)] if new is not None else []
            sources += [(lab, p, None) for lab, p in new_patches]
            for lab, p, lk in sources:
                for path, line in _added_lines(p, lk):
                    for x in idents:
                        if x in line:
                            return Outcome("addressed", j, sj.version, p.message.msgid,
                                           f"{lab} adds lines naming {x} in {path}")
        if link is not None and link.identical and not link.log_changed:
            return Outcome("not-addressed", j, sj.version, new.message.msgid,
                           f"{label} is the same patch (same diff and commit message)")
        if idents:
            why = f"v{sj.version} does not name {', '.join(idents[:4])} in a new patch, its changelog or added lines"
        elif any(len(x) >= 4 for x in named):
            why = "the names in the item are already in the commented patch: nothing to look for"
        else:
            why = "the item quotes no code and names no identifier to look for"
        return Outcome("unclear", j, sj.version, new.message.msgid if new else None, why)


def _display_name(person) -> str:
    name = re.sub(r"\s*\(.*?\)\s*|\s+via\s+\S+$", " ", person.name or "")
    return name.strip()


def _added_text(p: Patch) -> str:
    return p.subject.title + "\n" + "\n".join(ln.text for fd in p.files for h in fd.hunks for ln in h.lines
                                             if ln.kind == "+")


def _added_lines(p: Patch, link: Optional[PatchLink]):
    """(path, line) a version adds: its interdiff's new lines, or every added line of a new patch."""
    if link is not None:
        for f in link.files:
            for ln in f.lines:
                if ln.startswith("+"):
                    yield f.path, ln
        return
    for fd in p.files:
        for h in fd.hunks:
            for ln in h.lines:
                if ln.kind == "+":
                    yield fd.path, ln.text


def _quoted_reply(quoted: Optional[Quote]) -> bool:
    """The own text answers someone's reply (a side point), not the patch or cover itself."""
    return quoted is not None and quoted.msgid is not None


def _reply_trailers(parsed: Parsed, msgid: str) -> list:
    m = parsed.message(msgid)
    return [t for t in parse_followup_trailers(m.body, m.msgid, m.sender) if t.person is not None]


def _dedupe_verdicts(verdicts: list) -> list:
    seen, out = set(), []
    for v in verdicts:
        k = (v.kind, v.formal, v.person.email, v.where.msgid, v.where.patch if v.scope == "patch" else None)
        if k in seen:
            continue
        seen.add(k)
        out.append(v)
    return out


def _with_outcomes(run: _Run, summaries: list) -> list:
    out = []
    for ss in summaries:
        i = ss.index

        def act(a: ActionItem) -> ActionItem:
            if a.scope == "out-of-scope":
                return a  # the reviewer put it outside this series: no next version is expected to do it
            if a.kind == "commitment" and a.role != "author":
                return a  # a reviewer's "I'll test it" is not something the next version does
            o = run.outcome(i, a.where.patch or (a.anchor.patch if a.anchor else None), a.anchor, a.identifiers,
                            a.target_version, summaries)
            return replace(a, outcome=o)

        def com(c: Comment) -> Comment:
            return replace(c, outcome=run.outcome(i, c.anchor.patch, c.anchor, (), None, summaries))

        def que(q: Question) -> Question:
            if q.anchor is None:
                return q
            return replace(q, outcome=run.outcome(i, q.anchor.patch, q.anchor, (), None, summaries))

        def ver(v: Verdict) -> Verdict:
            if v.kind not in CREDITED:
                return v
            return replace(v, outcome=run.credit(i, v.person, summaries))

        def act_credit(a: ActionItem) -> ActionItem:
            # the only request of its sender on that patch, which no code or name showed done: does the next
            # version's changelog credit the sender ("as Ken asked")?
            if a.kind != "request" or a.scope == "out-of-scope" or (a.outcome and a.outcome.status != "unclear"):
                return a
            if sum(1 for b in ss.actions if b.kind == "request" and b.where.patch == a.where.patch
                   and run.ctx.same(b.who, a.who)) != 1:
                return a
            return replace(a, outcome=run.credit(i, a.who, summaries) or a.outcome)

        cache_a = {id(a): act_credit(act(a)) for a in ss.actions}
        cache_v = {id(v): ver(v) for v in ss.verdicts}
        for p in ss.patches:
            for v in p.verdicts:
                cache_v.setdefault(id(v), ver(v))
        cache_c = {id(c): com(c) for c in ss.comments}
        cache_q = {id(q): que(q) for q in ss.questions}
        patches = tuple(replace(p, actions=tuple(cache_a.get(id(a), a) for a in p.actions),
                                comments=tuple(cache_c.get(id(c), c) for c in p.comments),
                                questions=tuple(cache_q.get(id(q), q) for q in p.questions),
                                verdicts=tuple(cache_v[id(v)] for v in p.verdicts)) for p in ss.patches)
        out.append(replace(ss, actions=tuple(cache_a[id(a)] for a in ss.actions),
                           comments=tuple(cache_c[id(c)] for c in ss.comments),
                           questions=tuple(cache_q[id(q)] for q in ss.questions), patches=patches,
                           verdicts=tuple(cache_v[id(v)] for v in ss.verdicts)))
    return out


def summarize(parsed: Parsed, tree_maintainers: Optional[Maintainers] = None) -> Summary:
    """The review state of every series in `parsed`.

    `tree_maintainers` is a parsed MAINTAINERS file (see reviewkit.maintainers.read_maintainers);
    with it, participants who maintain a touched path get the "maintainer" role.
    """
    started = time.perf_counter()
    run = _Run(parsed, tree_maintainers)
    try:
        summaries = [run.series(i) for i in range(len(parsed.series))]
        summaries = _with_outcomes(run, summaries)
    finally:
        clear_cache()
    stats = {
        "series": len(summaries), "histories": len(run.histories),
        "questions": sum(len(s.questions) for s in summaries),
        "open_questions": sum(len(s.open_questions) for s in summaries),
        "action_items": sum(len(s.actions) for s in summaries),
        "comments": sum(len(s.comments) for s in summaries),
        "seconds": round(time.perf_counter() - started, 3),
    }
    mails = {m.msgid: m for m in parsed.messages}
    return Summary(list(parsed.inputs), tuple(summaries), tuple(run.histories), list(parsed.errors), stats, mails)
