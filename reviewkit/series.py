"""Messages -> Series: kinds, grouping per version, follow-ups, missing patches.

Grouping follows patchwork's rules, because its corpus encodes years of
real-list edge cases: a patch or cover joins the series that one of its
References (nearest first) already belongs to, else a series with the same
sender, version and total within 12 hours; it starts a new series when
neither exists or when its number is already taken there (a resend or a
new revision threaded to the old one).
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import replace
from datetime import timedelta
from typing import Optional

from .model import Errors, Message, Patch, Series, Subject
from .subject import parse_subject
from .trailers import parse_followup_trailers

WINDOW = timedelta(hours=12)
# A subject may claim any total ("[PATCH 0/22222222222]"); missing patches are listed up to this.
MAX_TOTAL = 5000


def classify(msg: Message, subject: Subject, patch: Optional[Patch]) -> str:
    """patch | cover | reply | other | quoted (known only from quotes in another message)."""
    if msg.quoted_only:
        return "quoted"
    has_diff = patch is not None and bool(patch.files or patch.pull_url or patch.diff)
    # an in-body "Subject: [PATCH] ..." makes a "Re:" mail a patch, as for git am
    if has_diff and not patch.subject.is_reply and patch.subject.raw != msg.subject:
        return "patch"
    if subject.is_reply:
        return "reply"
    if has_diff:
        return "patch"
    if subject.counter == 0:
        return "cover"
    if subject.counter:
        return "other"  # says it is patch n/m but carries no diff (see parse_inputs' error)
    if msg.in_reply_to or msg.references:
        return "reply"
    return "other"


def find_naked_covers(messages: list[Message], subjects: dict[str, Subject], kinds: dict[str, str]) -> None:
    """A mail with no [PATCH 0/n] marker is still the cover when the sender's
    own patches answer it directly (b4's "naked cover"); a bug report that
    someone else's patch answers is not."""
    by_id = {m.msgid: m for m in messages}
    for m in messages:
        if kinds[m.msgid] != "patch" or m.in_reply_to not in by_id:
            continue
        parent = by_id[m.in_reply_to]
        if (kinds[parent.msgid] == "other" and parent.sender.email == m.sender.email
                and not subjects[parent.msgid].is_reply and subjects[parent.msgid].counter is None):
            kinds[parent.msgid] = "cover"


class _Building:
    def __init__(self, msg: Message, subject: Subject, total: Optional[int]):
        self.input = msg.source.input
        self.threaded = bool(msg.in_reply_to or msg.references)
        self.version = subject.version
        self.total = total
        self.sender = msg.sender
        self.date = msg.date
        self.cover: Optional[str] = None
        self.cover_title: Optional[str] = None
        self.numbers: dict[int, str] = {}
        self.titles: dict[int, str] = {}
        self.rfc = subject.is_rfc
        self.resend = subject.is_resend


def group_series(messages: list[Message], subjects: dict[str, Subject], kinds: dict[str, str],
                 parent: dict[str, Optional[str]], patches: dict[str, Patch],
                 errors: Optional[Errors] = None) -> list[Series]:
    building: list[_Building] = []
    ref_index: dict[str, int] = {}
    by_marker: dict[tuple, list[int]] = {}  # (version, total) -> series being built, oldest first
    for msg in messages:
        kind = kinds[msg.msgid]
        if kind not in ("patch", "cover"):
            continue
        s = subjects[msg.msgid]
        x, n = s.counter, s.total
        found: Optional[int] = None
        if n is not None:
            for ref in (msg.msgid, msg.in_reply_to, *reversed(msg.references)):
                if ref and ref in ref_index:
                    found = ref_index[ref]
                    break
            if found is None:
                found = _by_markers(building, by_marker.get((s.version, s.total), ()), msg)
        elif kind == "patch" and msg.in_reply_to in ref_index and building[ref_index[msg.in_reply_to]].total is None \
                and building[ref_index[msg.in_reply_to]].cover:
            found = ref_index[msg.in_reply_to]  # an unnumbered patch answering a naked cover
            x = max(building[found].numbers, default=0) + 1
        else:  # unnumbered: a single patch, or a naked cover (its total comes from its patches)
            x, n = (1, 1) if kind == "patch" else (0, None)
        if kind == "cover":
            x = 0
        taken = found is not None and (x in building[found].numbers or (x == 0 and building[found].cover))
        if found is None or taken:
            building.append(_Building(msg, s, n))
            found = len(building) - 1
            by_marker.setdefault((s.version, n), []).append(found)
            for ref in (*msg.references, msg.in_reply_to):
                if ref:
                    ref_index.setdefault(ref, found)
        ref_index[msg.msgid] = found
        b = building[found]
        if kind == "cover":
            b.cover, b.cover_title = msg.msgid, s.title
        else:
            b.numbers[x] = msg.msgid
            b.titles[x] = s.title
        if msg.date and (b.date is None or msg.date < b.date):
            b.date = msg.date
    followups = _followups(messages, kinds, parent)
    out = []
    for b in building:
        nums = sorted(b.numbers)
        total = b.total if b.total is not None or not b.cover else len(nums)
        if total and total > MAX_TOTAL:
            if errors is not None:
                where = b.cover or (b.numbers[nums[0]] if nums else "")
                errors.add(b.input, where, f"the subject says the series has {total:,} patches (more than "
                                           f"{MAX_TOTAL:,}); its missing patches are not listed")
            missing = ()
        else:
            missing = tuple(i for i in range(1, (total or 0) + 1) if i not in b.numbers)
        members = [b.cover] if b.cover else []
        members += [b.numbers[i] for i in nums]
        title = b.cover_title or (b.titles[nums[0]] if nums else "")
        out.append(Series(
            version=b.version, total=total, title=title, sender=b.sender, cover=b.cover,
            patches=tuple(b.numbers[i] for i in nums), counters=tuple(nums),
            followups={m: followups.get(m, ()) for m in members}, missing=missing, date=b.date,
            patch_titles=tuple(b.titles[i] for i in nums),
            is_rfc=b.rfc, is_resend=b.resend,
        ))
    out.sort(key=lambda s: (s.date is None, s.date.timestamp() if s.date else 0))
    return link_versions(out)


def _by_markers(building: list[_Building], candidates, msg: Message) -> Optional[int]:
    """The newest series with the same version and total (`candidates`) that this mail joins."""
    for i in reversed(candidates):
        b = building[i]
        # Unthreaded mails of one input (`git format-patch --cover-letter --stdout`, which
        # sends the cover as the committer and the patches as their authors, a directory
        # of format-patch files, a git range) are one batch whatever their senders and dates
        same_batch = b.input == msg.source.input and not b.threaded and not (msg.in_reply_to or msg.references)
        if same_batch:
            return i
        if b.sender.email != msg.sender.email:
            continue
        if b.date is None or msg.date is None or abs(msg.date - b.date) <= WINDOW:
            return i
    return None


def _followups(messages: list[Message], kinds: dict[str, str], parent: dict) -> dict[str, tuple]:
    """Reply msgids under each patch or cover (nearest patch/cover ancestor)."""
    owner: dict[str, Optional[str]] = {}  # msgid -> its nearest patch/cover ancestor, once found

    def nearest(msgid: str) -> Optional[str]:
        path, node, seen = [], parent.get(msgid), set()
        while node is not None and node not in owner and node not in seen:
            if kinds.get(node) in ("patch", "cover"):
                break
            seen.add(node)
            path.append(node)
            node = parent.get(node)
        found = owner.get(node) if node in owner else (node if kinds.get(node) in ("patch", "cover") else None)
        for p in path:
            owner[p] = found
        return found

    out: dict[str, list[str]] = {}
    for msg in messages:
        if kinds[msg.msgid] in ("patch", "cover"):
            continue
        node = nearest(msg.msgid)
        if node is not None:
            out.setdefault(node, []).append(msg.msgid)
    return {k: tuple(v) for k, v in out.items()}


def link_versions(series: list[Series]) -> list[Series]:
    """Point each series at the previous version of the same work in this input: the latest
    earlier version (or the RFC the same version number grew out of) by the same sender with the
    same title or a patch title in common; the first such series on a tie. Indexed by sender and
    title, so thousands of series cost a sort, not a comparison of every pair."""
    first: dict[tuple, dict[tuple, int]] = {}  # (sender, title key) -> {(version, rank): first index}
    for j, o in enumerate(series):
        for key in _work_keys(o):
            first.setdefault((o.sender.email, key), {}).setdefault(_rank(o), j)
    index = {k: sorted((*rank, j) for rank, j in v.items()) for k, v in first.items()}
    out = list(series)
    for i, s in enumerate(series):
        best: Optional[tuple] = None  # (version, -index)
        for key in _work_keys(s):
            entries = index[(s.sender.email, key)]
            end = bisect_left(entries, (*_rank(s), -1))  # entries before `end` are earlier versions
            if not end:
                continue
            version = entries[end - 1][0]
            j = min(e[2] for e in entries[max(0, end - 2):end] if e[0] == version)
            if best is None or (version, -j) > best:
                best = (version, -j)
        if best is not None:
            out[i] = replace(s, previous=-best[1])
    return out


def _rank(s: Series) -> tuple:
    """Earlier versions rank lower; an RFC ranks below the same version number without RFC."""
    return (s.version, 0 if s.is_rfc else 1)


def _norm_title(title: str) -> str:
    return " ".join(title.lower().split())


def _work_keys(s: Series) -> set:
    """What makes two series the same work: the title, or any patch title."""
    keys = {("patch", _norm_title(t)) for t in s.patch_titles}
    if s.title:
        keys.add(("title", _norm_title(s.title)))
    return keys


def attach_followup_trailers(series: list[Series], messages: dict[str, Message], patches: dict[str, Patch],
                             parent: dict, replies: Optional[dict[str, tuple]] = None) -> dict[str, Patch]:
    """Trailers given in replies: to the patch replied to; on the cover, to every patch.
    `replies` (msgid -> trailers its body gives, read beforehand) stands for every body when given."""
    children: dict[str, list[str]] = {}
    for mid, p in parent.items():
        if p is not None:
            children.setdefault(p, []).append(mid)

    def subtree(root: str) -> list[str]:
        out, stack, seen = [], list(children.get(root, [])), set()
        while stack:
            node = stack.pop()
            if node in seen or node in patches:
                continue
            seen.add(node)
            out.append(node)
            stack.extend(children.get(node, []))
        return out

    def given(root: str) -> tuple:
        found = []
        for mid in subtree(root):
            if replies is not None:
                found.extend(replies.get(mid, ()))
                continue
            m = messages[mid]
            found.extend(parse_followup_trailers(m.body, m.msgid, m.sender))
        return tuple(found)

    updated = dict(patches)
    for s in series:
        from_cover = given(s.cover) if s.cover else ()
        for mid in s.patches:
            p = updated.get(mid)
            if p is None:
                continue
            extra = from_cover + given(mid)
            if extra:
                updated[mid] = replace(p, followup_trailers=extra)
    return updated


def subjects_for(messages: list[Message]) -> dict[str, Subject]:
    return {m.msgid: parse_subject(m.subject) for m in messages}
