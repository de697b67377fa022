"""Messages -> Threads.

Parents come from In-Reply-To, then from References (nearest first). When a
mail has neither, two fallbacks apply: a numbered patch with no headers goes
under its cover letter (same sender, version and total), and a `Re:` goes
under the mail whose subject it answers. Messages whose parent is missing
from the input still share a thread when their References name the same
root. Reference loops (hostile or broken headers) are cut.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Iterable, Optional

from .model import Errors, Message, Thread
from .subject import parse_subject

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def dedupe(messages: Iterable[Message], errors: Optional[Errors] = None) -> tuple[list[Message], int]:
    """Collapse copies of one mail (same Message-ID and content); return (messages, copies dropped).

    A different mail reusing a Message-ID (a broken mailer, or someone hiding a mail behind
    another's id) is kept under a derived id, `<id>#dup2`, and reported in `errors`.
    """
    seen: dict[str, list[Message]] = {}
    out: list[Message] = []
    dropped = 0
    for m in messages:
        copies = seen.setdefault(m.msgid, [])
        if any(_same_mail(c, m) for c in copies):
            dropped += 1
            continue
        if copies:
            first = copies[0]
            derived = f"{m.msgid}#dup{len(copies) + 1}"
            if errors is not None:
                errors.add(m.source.input, m.source.where,
                           f"Message-ID {m.msgid} is also used by a different mail ({first.source}); "
                           f"this one is kept as {derived}")
            copies.append(m)
            m = replace(m, msgid=derived)
            seen.setdefault(derived, []).append(m)
        else:
            copies.append(m)
        out.append(m)
    return out, dropped


def _same_mail(a: Message, b: Message) -> bool:
    """The same mail read twice (two inputs, or a list and a cross-post that appended its footer)."""
    if a.sender.email != b.sender.email or a.date != b.date or a.quoted_only != b.quoted_only:
        return False
    if parse_subject(a.subject).title != parse_subject(b.subject).title:
        return False
    x, y = sorted((a.body.rstrip(), b.body.rstrip()), key=len)
    return x == y or (bool(x) and len(y) - len(x) <= 2048 and y.startswith(x))


def sort_key(m: Message, order: dict) -> tuple:
    return (m.date or _EPOCH, order[m.msgid])


def find_parents(messages: list[Message]) -> dict[str, Optional[str]]:
    by_id = {m.msgid: m for m in messages}
    parent: dict[str, Optional[str]] = {}
    for m in messages:
        p = None
        if m.in_reply_to in by_id and m.in_reply_to != m.msgid:
            p = m.in_reply_to
        else:
            for ref in reversed(m.references):
                if ref in by_id and ref != m.msgid:
                    p = ref
                    break
        parent[m.msgid] = p
    _fallback_parents(messages, parent)
    _break_cycles(parent)
    return parent


def _fallback_parents(messages: list[Message], parent: dict) -> None:
    covers: dict[tuple, list[Message]] = {}
    originals: dict[str, Message] = {}
    for m in messages:
        s = parse_subject(m.subject)
        if s.counter == 0 and not s.is_reply:
            covers.setdefault((s.version, s.total), []).append(m)
        if not s.is_reply:
            originals.setdefault(s.title.lower(), m)
    for m in messages:
        if parent[m.msgid] is not None or m.in_reply_to or m.references:
            continue
        s = parse_subject(m.subject)
        if s.counter and s.total and not s.is_reply:
            # the sender's own cover; else one from the same input (format-patch
            # --cover-letter sends the cover as the committer, patches as authors)
            candidates = covers.get((s.version, s.total), [])
            cover = next((c for c in candidates if c.sender.email == m.sender.email), None) or next(
                (c for c in candidates if c.source.input == m.source.input), None)
            if cover is not None and cover.msgid != m.msgid:
                parent[m.msgid] = cover.msgid
        elif s.is_reply:
            orig = originals.get(s.title.lower())
            if orig is not None and orig.msgid != m.msgid:
                parent[m.msgid] = orig.msgid


def _break_cycles(parent: dict) -> None:
    """Cut each reference loop where it closes; every node is walked once (a hostile chain of
    100,000 replies costs 100,000 steps, not one walk to the root per message)."""
    done: set = set()
    for start in list(parent):
        path: list = []
        on_path: set = set()
        node = start
        while node is not None and node not in done and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = parent.get(node)
        if node is not None and node in on_path:
            parent[path[-1]] = None  # the loop closes here
        done.update(path)


def build_threads(messages: list[Message]) -> tuple[list[Thread], dict[str, Optional[str]]]:
    """Group messages into threads; returns (threads, parent map)."""
    order = {m.msgid: i for i, m in enumerate(messages)}
    parent = find_parents(messages)
    by_id = {m.msgid: m for m in messages}

    # union-find over "same thread": parent links plus a shared first Reference
    root_of: dict[str, str] = {}

    def find(x: str) -> str:
        while root_of.get(x, x) != x:
            root_of[x] = root_of.get(root_of[x], root_of[x])
            x = root_of[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            root_of[ra] = rb

    for m in messages:
        if parent[m.msgid]:
            union(m.msgid, parent[m.msgid])
        elif m.references or m.in_reply_to:
            union(m.msgid, "missing:" + (m.references[0] if m.references else m.in_reply_to))

    groups: dict[str, list[Message]] = {}
    for m in messages:
        groups.setdefault(find(m.msgid), []).append(m)

    children: dict[Optional[str], list[Message]] = {}
    for m in messages:
        children.setdefault(parent[m.msgid], []).append(m)
    for kids in children.values():
        kids.sort(key=lambda k: sort_key(k, order))

    threads = []
    for members in groups.values():
        roots = sorted((m for m in members if parent[m.msgid] is None), key=lambda k: sort_key(k, order))
        ordered: list[str] = []
        stack = list(reversed(roots))
        while stack:
            node = stack.pop()
            ordered.append(node.msgid)
            stack.extend(reversed(children.get(node.msgid, [])))
        threads.append(Thread(root=roots[0].msgid, messages=tuple(ordered),
                              parent={mid: parent[mid] for mid in ordered}))
    threads.sort(key=lambda t: sort_key(by_id[t.root], order))
    return threads, parent
