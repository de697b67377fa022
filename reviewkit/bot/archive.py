"""Write mail into a public-inbox archive the way public-inbox does (one commit per message, the raw mail
in blob `m`, a straight first-parent history), for replaying a list into a fresh archive: the bot's
tests and benchmark, or trying the bot on mbox files (`python -m reviewkit.bot.archive DIR FILE...`).
"""
from __future__ import annotations

import os
import sys
import time
from typing import Iterable

import pygit2

from ..ingest.mail import parse_message
from ..model import Errors, Source


def _repo(archive: str, layout: str, epoch: int) -> pygit2.Repository:
    path = os.path.join(archive, "git", f"{epoch}.git") if layout == "v2" else archive
    if os.path.isdir(os.path.join(path, "objects")):
        return pygit2.Repository(path)
    os.makedirs(path, exist_ok=True)
    return pygit2.init_repository(path, bare=True)


def append(archive: str, mails: Iterable[bytes], layout: str = "v2", epoch: int = 0) -> int:
    """Commit each mail on top of the epoch's history; returns how many were written."""
    repo = _repo(archive, layout, epoch)
    ref = "refs/heads/master"
    parent = None if repo.head_is_unborn else repo.head.target
    n = 0
    for raw in mails:
        m = parse_message(raw, Source("archive", str(n)), Errors())
        name = (m.sender.name or m.sender.email or "unknown") if m else "unknown"
        email = (m.sender.email or "unknown@localhost") if m else "unknown@localhost"
        now = int(time.time())
        author = pygit2.Signature(name, email, int(m.date.timestamp()) if m and m.date else now, 0)
        committer = pygit2.Signature("reviewkit", "reviewkit@localhost", now, 0)
        builder = repo.TreeBuilder()
        builder.insert("m", repo.create_blob(raw), pygit2.enums.FileMode.BLOB)
        parent = repo.create_commit(None, author, committer, (m.subject if m else "") or "(no subject)",
                                    builder.write(), [parent] if parent else [])
        n += 1
    if parent is not None:
        repo.references.create(ref, parent, force=True)
        if repo.head_is_unborn:
            repo.set_head(ref)
    return n


def main(argv: list) -> int:
    if len(argv) < 2:
        print("usage: python -m reviewkit.bot.archive ARCHIVE_DIR MBOX...", file=sys.stderr)
        return 2
    from ..ingest.mbox import split_mbox
    total = 0
    for path in argv[1:]:
        with open(path, "rb") as fh:
            total += append(argv[0], (raw for i, _, raw in split_mbox(fh) if i >= 0))
    print(f"{total} mails appended to {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
