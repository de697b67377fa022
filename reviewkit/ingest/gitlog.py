"""`git show` / `git log -p` output -> one format-patch mail per commit.

    commit 1a2b3c...  (HEAD -> main)
    Author: Ada Lovelace <ada@example.org>
    Date:   Wed Dec 2 16:28:10 2026 +0000

        mm/gup: the subject is the message's first line

        The log, indented four spaces, with its trailers.

        Signed-off-by: Ada Lovelace <ada@example.org>
    ---                                   (with --stat)
     mm/gup.c | 2 +-
    diff --git a/mm/gup.c b/mm/gup.c
    ...

Each commit becomes the mail `git format-patch` would have written for it
(From, Date, Subject, the log, `---`, the diff), so it is read like any
other patch. Several commits (`git log -p`, newest first) come out oldest
first and numbered [PATCH n/m], as a revision range does. Merge commits are
skipped with an error entry, as format-patch skips them.
"""
from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Iterator, Optional

from ..model import Errors

_COMMIT = re.compile(r"^commit ([0-9a-f]{40}|[0-9a-f]{64})(?: \(.*\))?$")
_START = re.compile(rb"^commit (?:[0-9a-f]{40}|[0-9a-f]{64})(?: \([^\n]*\))?\r?\n(?:Merge: [^\n]*\n)?Author: ")
_FIELD = re.compile(r"^([A-Za-z]+):\s*(.*)$")


def looks_like_git_log(raw: bytes) -> bool:
    return _START.match(raw) is not None


def _rfc2822(date: str) -> Optional[str]:
    """git's default date ("Wed Dec 2 16:28:10 2026 +0000") or --date=iso, as a mail Date."""
    for parse in (parsedate_to_datetime, datetime.fromisoformat):
        try:
            dt = parse(date.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        if dt is not None and dt.tzinfo is not None:
            return format_datetime(dt)
    return None


def _commits(text: str) -> list[list[str]]:
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines)
              if _COMMIT.match(line) and i + 1 < len(lines) and lines[i + 1].startswith(("Author:", "Merge:"))]
    return [lines[a:b] for a, b in zip(starts, starts[1:] + [len(lines)])]


def _mail(block: list[str], number: int, total: int) -> tuple[str, bytes]:
    """(sha, format-patch mail bytes) for one commit's lines."""
    sha = _COMMIT.match(block[0]).group(1)
    fields: dict[str, str] = {}
    i = 1
    while i < len(block) and block[i].strip():
        m = _FIELD.match(block[i])
        if m:
            fields.setdefault(m.group(1).lower(), m.group(2).strip())
        i += 1
    while i < len(block) and not block[i].strip():
        i += 1
    message: list[str] = []
    while i < len(block) and (block[i].startswith("    ") or not block[i].strip()):
        message.append(block[i][4:])
        i += 1
    while message and not message[-1].strip():
        message.pop()
    rest = block[i:]
    if rest and rest[0] == "---":
        rest = rest[1:]
    summary = message[0].strip() if message else ""
    log = "\n".join(message[1:]).strip("\n")
    marker = "[PATCH]" if total == 1 else f"[PATCH {number}/{total}]"
    date = _rfc2822(fields.get("authordate") or fields.get("date") or "")
    text = (f"From {sha} Mon Sep 17 00:00:00 2001\n"
            f"From: {fields.get('author', '')}\n"
            + (f"Date: {date}\n" if date else "")
            + f"Subject: {marker} {summary}\n"
            f"Message-Id: <{sha}@git>\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n"
            + (f"{log}\n" if log else "")
            + "---\n" + "\n".join(rest).rstrip("\n") + "\n")
    return sha, text.encode("utf-8", "surrogateescape")


def split_git_log(raw: bytes, name: str, where: str, errors: Errors) -> Iterator[tuple[str, bytes]]:
    """(where, mail bytes) per commit, oldest first."""
    text = raw.decode("utf-8", "surrogateescape").replace("\r\n", "\n")
    blocks = _commits(text)
    mails = []
    for block in reversed(blocks):  # git log lists the newest first
        sha = _COMMIT.match(block[0]).group(1)
        if any(line.startswith("Merge:") for line in block[1:3]):
            errors.add(name, f"{where} commit {sha[:12]}".strip(), "merge commit skipped (as git format-patch does)")
            continue
        mails.append(block)
    for n, block in enumerate(mails, 1):
        sha, mail = _mail(block, n, len(mails))
        yield f"{where} commit {sha[:12]}".strip(), mail
