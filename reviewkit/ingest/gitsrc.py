"""Mail from git, read with pygit2 (no checkout, no subprocess).

- public-inbox archives: one commit per message, the raw mail in blob `m`
  (v1: a bare repository; v2: `git/<epoch>.git` repositories).
- revision ranges in a working repository: each commit rendered as
  `git format-patch` would render it, then read like any other mail.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Callable, Iterator, Optional

import pygit2

from ..model import Errors


MAPPED_LIMIT = 64 << 20
WINDOW_SIZE = 16 << 20


def is_public_inbox(path: str) -> bool:
    if os.path.isdir(os.path.join(path, "git")) and any(
            n.endswith(".git") for n in os.listdir(os.path.join(path, "git"))):
        return True
    return os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects"))


def _epochs(path: str) -> list[str]:
    gitdir = os.path.join(path, "git")
    if os.path.isdir(gitdir):
        names = [n for n in os.listdir(gitdir) if n.endswith(".git") and n[:-4].isdigit()]
        return [os.path.join(gitdir, n) for n in sorted(names, key=lambda n: int(n[:-4]))]
    return [path]


def read_public_inbox(path: str, errors: Errors,
                      expect: Optional[Callable[[int], None]] = None) -> Iterator[tuple[str, bytes, Callable[[], bytes]]]:
    """Yield (where, raw mail, reload) for every message, oldest first; `reload()` reads the
    mail again from its blob, so a caller need not keep the bytes. `expect(n)` is told the
    number of messages before the first is read (for a progress ETA).

    libgit2's object cache is off while reading: every object is read once, and
    with the cache on, memory grows with the archive instead of staying flat.
    """
    _bounded_windows()
    try:
        epochs = list(_message_blobs(path, errors))
        if expect is not None:
            expect(sum(len(blobs) for _, _, blobs in epochs))
        for repo, name, blobs in epochs:
            for where, oid in blobs:
                yield f"{name} commit {where}", repo.odb.read(oid)[1], _reader(repo, oid)
    finally:
        pygit2.settings.enable_caching(True)


def _reader(repo: pygit2.Repository, oid: pygit2.Oid) -> Callable[[], bytes]:
    return lambda: repo.odb.read(oid)[1]


def list_public_inbox(path: str, errors: Errors) -> list[tuple[str, str, str]]:
    """Every message's (epoch repository, where, blob id) oldest first, as plain strings that
    another process can read the blobs from (read_blob)."""
    _bounded_windows()
    return [(repo.path, f"{name} commit {where}", str(oid))
            for repo, name, blobs in _message_blobs(path, errors) for where, oid in blobs]


_OPEN: dict[str, pygit2.Repository] = {}  # this process's repositories, by path


def read_blob(repo_path: str, oid: str) -> bytes:
    """A blob's bytes, from a repository opened once per process."""
    repo = _OPEN.get(repo_path)
    if repo is None:
        _bounded_windows()
        repo = _OPEN[repo_path] = pygit2.Repository(repo_path)
    return repo.odb.read(oid)[1]


def _bounded_windows() -> None:
    """Reading an archive once needs few pack windows: map them small, and few at once (libgit2
    maps 1 GiB windows, up to 8 GiB, by default; those pages count as this process's memory)."""
    pygit2.settings.enable_caching(False)
    pygit2.settings.mwindow_size = min(pygit2.settings.mwindow_size, WINDOW_SIZE)
    pygit2.settings.mwindow_mapped_limit = min(pygit2.settings.mwindow_mapped_limit, MAPPED_LIMIT)


def _message_blobs(path: str, errors: Errors) -> Iterator[tuple[pygit2.Repository, str, list]]:
    """Per epoch: (repository, name, [(short commit id, blob id of `m`), ...]) oldest first."""
    for epoch in _epochs(path):
        try:
            repo = pygit2.Repository(epoch)
        except (pygit2.GitError, KeyError) as exc:
            errors.add(path, epoch, f"not a readable git repository ({exc})")
            continue
        if repo.head_is_unborn:
            continue
        # An archive's history is a straight line: walk first parents newest-first
        # (a reverse walk would make libgit2 hold every commit first).
        blobs = []
        commit = repo[repo.head.target]
        while True:
            tree = commit.tree
            if "m" in tree:  # else a deletion ("d") or an unrelated commit
                blobs.append((str(commit.id)[:12], tree["m"].id))
            if not commit.parent_ids:
                break
            commit = repo[commit.parent_ids[0]]
        blobs.reverse()
        yield repo, os.path.basename(epoch), blobs


def looks_like_revision_range(spec: str) -> bool:
    return ".." in spec and not os.path.exists(spec)


def open_repository(where: str) -> Optional[pygit2.Repository]:
    found = pygit2.discover_repository(where)
    return pygit2.Repository(found) if found else None


def _commit_date(commit: pygit2.Commit) -> str:
    sig = commit.author
    tz = timezone(timedelta(minutes=sig.offset))
    return format_datetime(datetime.fromtimestamp(sig.time, tz))


def _commit_diff(repo: pygit2.Repository, commit: pygit2.Commit) -> pygit2.Diff:
    if commit.parents:
        diff = repo.diff(commit.parents[0], commit, context_lines=3)
    else:
        diff = commit.tree.diff_to_tree(swap=True, context_lines=3)
    diff.find_similar()
    return diff


def format_patch(repo: pygit2.Repository, commit: pygit2.Commit, number: int, total: int) -> bytes:
    """Render a commit the way `git format-patch` does (mail headers, log, ---, stat, diff)."""
    summary, _, rest = commit.message.partition("\n")
    marker = "[PATCH]" if total == 1 else f"[PATCH {number}/{total}]"
    diff = _commit_diff(repo, commit)
    stat = diff.stats.format(pygit2.enums.DiffStatsFormat.FULL | pygit2.enums.DiffStatsFormat.INCLUDE_SUMMARY, 80)
    author = commit.author
    text = (
        f"From {commit.id} Mon Sep 17 00:00:00 2001\n"
        f"From: {author.name} <{author.email}>\n"
        f"Date: {_commit_date(commit)}\n"
        f"Subject: {marker} {summary.strip()}\n"
        f"Message-Id: <{commit.id}@git>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        f"{rest.strip(chr(10))}\n"
        "---\n"
        f"{stat}\n"
        f"{diff.patch or ''}"
        "-- \nreviewkit\n"
    )
    return text.encode("utf-8", "surrogateescape")


def read_revision_range(repo: pygit2.Repository, spec: str, errors: Errors) -> Iterator[tuple[str, bytes]]:
    """Yield (where, raw mail) per non-merge commit of `A..B`, oldest first."""
    left, _, right = spec.partition("..")
    try:
        tip = repo.revparse_single(right or "HEAD").peel(pygit2.Commit)
        base = repo.revparse_single(left).peel(pygit2.Commit) if left else None
    except (KeyError, ValueError, pygit2.GitError) as exc:
        errors.add(spec, repo.path, f"unknown revision ({exc}); give a range such as HEAD~3..HEAD")
        return
    walker = repo.walk(tip.id, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    if base is not None:
        walker.hide(base.id)
    commits = []
    for commit in walker:
        if len(commit.parents) > 1:
            errors.add(spec, f"commit {str(commit.id)[:12]}", "merge commit skipped (as git format-patch does)")
            continue
        commits.append(commit)
    for n, commit in enumerate(commits, 1):
        yield f"commit {str(commit.id)[:12]}", format_patch(repo, commit, n, len(commits))
