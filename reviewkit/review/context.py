"""What every review stage needs from a Parsed: who is who, which mail discusses
which patch of which series, parsed reply bodies (cached), thread navigation."""
from __future__ import annotations

import re
from collections import Counter, deque
from typing import Optional

from ..model import Message, Person
from ..pipeline import Parsed
from .model import Where
from .text import Body, parse_body

_BOT_EMAILS = frozenset({"lkp@intel.com", "noreply@kernel.org", "patchwork-bot@kernel.org", "bot@kernelci.org",
                         "syzbot@syzkaller.appspotmail.com"})
_BOT_NAME = re.compile(r"\b(?:robot|bot|syzbot|kernelci|patchwork)\b", re.I)
# "syzbot+...", "patchwork-bot+netdevbpf", "kernelci-bot", "noreply": bot is a word of the local part
_BOT_LOCAL = re.compile(r"^(?:syzbot|[\w.]+[-_.]bot|bot[-_.][\w.-]+|bot|noreply|no-reply)(?:\+.*)?$", re.I)


def is_bot(person: Optional[Person]) -> bool:
    if person is None:
        return False
    email = (person.email or "").lower()
    if email in _BOT_EMAILS:
        return True
    local = email.split("@", 1)[0]
    return bool(_BOT_LOCAL.match(local)) or bool(_BOT_NAME.search(person.name or ""))


def _norm_name(name: str) -> str:
    name = re.sub(r"\s*\(.*?\)\s*", " ", name or "")  # "Matthew Wilcox (Oracle)"
    name = re.sub(r"\s+via\s+\S+$", "", name)
    return " ".join(name.lower().replace('"', "").split())


class People:
    """One key per person: addresses are merged when the full name (two words or more) is the same."""

    def __init__(self) -> None:
        self._by_email: dict[str, str] = {}
        self._by_name: dict[str, str] = {}
        self._names: dict[str, Counter] = {}
        self._emails: dict[str, list] = {}

    def key(self, person: Optional[Person]) -> str:
        if person is None:
            return ""
        email = (person.email or "").lower()
        name = _norm_name(person.name)
        key = self._by_email.get(email) if email else None
        if key is None and len(name.split()) >= 2:
            key = self._by_name.get(name)
        if key is None:
            key = email or name
        if email:
            self._by_email.setdefault(email, key)
            if email not in self._emails.setdefault(key, []):
                self._emails[key].append(email)
        if len(name.split()) >= 2:
            self._by_name.setdefault(name, key)
        if person.name:
            self._names.setdefault(key, Counter())[person.name.strip()] += 1
        return key

    def emails(self, key: str) -> list:
        return list(self._emails.get(key, []))

    def person(self, key: str, fallback: Optional[Person] = None) -> Person:
        names = self._names.get(key)
        name = names.most_common(1)[0][0] if names else (fallback.name if fallback else "")
        emails = self._emails.get(key)
        email = emails[0] if emails else (fallback.email if fallback else key)
        return Person(name, email)


class Context:
    def __init__(self, parsed: Parsed):
        self.parsed = parsed
        self.people = People()
        self._bodies: dict[str, Body] = {}
        self._replies: Optional[dict[int, list[str]]] = None
        self.by_id: dict[str, Message] = {m.msgid: m for m in parsed.messages}
        self.children: dict[str, list[str]] = {}
        for mid, parent in parsed.parent.items():
            if parent is not None:
                self.children.setdefault(parent, []).append(mid)
        for kids in self.children.values():
            kids.sort(key=lambda k: (self.by_id[k].date.timestamp() if self.by_id[k].date else 0))
        for m in parsed.messages:  # register every sender first, so names merge the same way each run
            self.people.key(m.sender)
        # which series and patch each mail belongs to
        self.series_of: dict[str, int] = {}
        self.patch_of: dict[str, Optional[str]] = {}
        self.counter_of: dict[str, Optional[int]] = {}
        members: dict[str, tuple[int, Optional[str]]] = {}
        for i, s in enumerate(parsed.series):
            if s.cover:
                members[s.cover] = (i, None)
            for c, mid in zip(s.counters, s.patches):
                members[mid] = (i, mid)
                self.counter_of[mid] = c
        for mid, (i, patch) in members.items():
            self.series_of[mid] = i
            self.patch_of[mid] = patch
        for i, s in enumerate(parsed.series):
            for root, replies in s.followups.items():
                for r in replies:
                    if r not in self.series_of:
                        self.series_of[r] = i
                        self.patch_of[r] = members.get(root, (i, None))[1]
        for m in parsed.messages:  # replies whose parent is missing: their References name the series
            if m.msgid in self.series_of:
                continue
            for ref in reversed((*m.references, m.in_reply_to or "")):
                if ref in members:
                    self.series_of[m.msgid], self.patch_of[m.msgid] = members[ref]
                    break
        self.authors: dict[int, set] = {}
        for i, s in enumerate(parsed.series):
            keys = {self.people.key(s.sender)}
            for mid in s.patches:
                p = parsed.patches.get(mid)
                if p is not None:
                    keys.add(self.people.key(p.author))
                keys.add(self.people.key(self.by_id[mid].sender))
            if s.cover:
                keys.add(self.people.key(self.by_id[s.cover].sender))
            self.authors[i] = keys

    def body(self, msgid: str) -> Body:
        b = self._bodies.get(msgid)
        if b is None:
            b = parse_body(self.by_id[msgid].body)
            self._bodies[msgid] = b
        return b

    def where(self, msgid: str) -> Where:
        i = self.series_of[msgid]
        patch = self.patch_of.get(msgid)
        return Where(msgid, i, self.parsed.series[i].version, patch, self.counter_of.get(patch) if patch else None,
                     self.by_id[msgid].date)

    def replies(self, series: int) -> list[str]:
        """Reply mails of a series, in thread order (cover's first, then each patch's)."""
        if self._replies is None:
            self._replies = {}
            for m in self.parsed.messages:
                i = self.series_of.get(m.msgid)
                if i is not None and self.parsed.kinds.get(m.msgid) not in ("patch", "cover"):
                    self._replies.setdefault(i, []).append(m.msgid)
            self._thread_pos = {mid: k for t in self.parsed.threads for k, mid in enumerate(t.messages)}
        s = self.parsed.series[series]
        out = []
        for root in ([s.cover] if s.cover else []) + list(s.patches):
            # thread order: a reply comes after the mail it answers
            out.extend(sorted((r for r in s.followups.get(root, ()) if self.series_of.get(r) == series),
                              key=lambda r: self._thread_pos.get(r, 0)))
        listed = set(out)
        return out + [r for r in self._replies.get(series, []) if r not in listed]

    def role(self, person: Optional[Person], series: int) -> str:
        if is_bot(person):
            return "bot"
        return "author" if self.people.key(person) in self.authors.get(series, set()) else "reviewer"

    def same(self, a: Optional[Person], b: Optional[Person]) -> bool:
        return a is not None and b is not None and self.people.key(a) == self.people.key(b)

    def ancestors(self, msgid: str):
        seen = {msgid}
        node = self.parsed.parent.get(msgid)
        while node is not None and node not in seen:
            seen.add(node)
            yield node
            node = self.parsed.parent.get(node)

    def descendants(self, msgid: str) -> list[str]:
        out, queue, seen = [], deque(self.children.get(msgid, [])), {msgid}
        while queue:
            node = queue.popleft()
            if node in seen:
                continue
            seen.add(node)
            out.append(node)
            queue.extend(self.children.get(node, []))
        return out
