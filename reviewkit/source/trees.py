"""Where code comes from: a git repository (pygit2), a plain directory, or nothing.

Every tree answers the same few questions: the bytes of a path, a stable id
for them (the git blob id, or a content hash), and the paths under a folder.
Paths are repository-relative and must stay inside the tree.
"""
from __future__ import annotations

import functools
import hashlib
import os
from typing import Iterator, Optional

from ..patches import path_is_safe


def content_id(data: bytes) -> str:
    """The id git would give these bytes as a blob, so both kinds of tree share a cache."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class SourceTree:
    kind = "none"
    description = "no source tree"
    # path -> why it could not be read (permissions, I/O): reported as errors, read as absent
    unreadable: dict = {}

    def read(self, path: str) -> Optional[bytes]:
        return None

    def blob_id(self, path: str) -> Optional[str]:
        data = self.read(path)
        return content_id(data) if data is not None else None

    def walk(self, folder: str, suffixes: tuple = (".c", ".h")) -> Iterator[str]:
        return iter(())

    def stat_key(self, path: str) -> Optional[str]:
        return None

    def read_text(self, path: str) -> Optional[str]:
        data = self.read(path)
        return None if data is None else data.decode("utf-8", "surrogateescape")


class NoTree(SourceTree):
    """Work from the hunks alone."""


class DirTree(SourceTree):
    """A plain directory, e.g. an extracted kernel tarball."""

    kind = "dir"

    def __init__(self, root: str):
        self.root = os.path.realpath(root)
        self.description = f"directory {root}"
        self.unreadable = {}

    def _full(self, path: str) -> Optional[str]:
        if not path_is_safe(path):
            return None
        full = os.path.realpath(os.path.join(self.root, path))
        # a symlink inside the tree must not lead out of it
        if full != self.root and not full.startswith(self.root + os.sep):
            return None
        return full

    def read(self, path: str) -> Optional[bytes]:
        full = self._full(path)
        if full is None or not os.path.isfile(full):
            return None
        try:
            with open(full, "rb") as fh:
                return fh.read()
        except OSError as exc:
            self.unreadable[path] = exc.strerror or str(exc)
            return None

    def stat_key(self, path: str) -> Optional[str]:
        """Cheap change detector (size and mtime), so a warm run need not re-read files."""
        full = self._full(path)
        try:
            st = os.stat(full) if full else None
        except OSError:
            return None
        return f"{full}:{st.st_size}:{st.st_mtime_ns}" if st else None

    def walk(self, folder: str, suffixes: tuple = (".c", ".h")) -> Iterator[str]:
        top = self._full(folder) if folder else self.root
        if top is None or not os.path.isdir(top):
            return
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(suffixes):
                    yield os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")


class GitTree(SourceTree):
    """A commit of a git repository, read through pygit2 (no checkout, no work tree)."""

    kind = "git"

    def __init__(self, repo: pygit2.Repository, commit: pygit2.Commit, how: str):
        self.repo = repo
        self.commit = commit
        self.how = how            # --base | base-commit | HEAD: how the commit was chosen
        self.tree = commit.tree
        self.description = f"git {repo.workdir or repo.path} at {str(commit.id)[:12]} ({how})"
        self.unreadable = {}

    def _entry(self, path: str):
        if not path_is_safe(path):
            return None
        try:
            obj = self.tree[path]
        except KeyError:
            return None
        import pygit2  # already loaded: this tree was opened with it
        return obj if obj.type == pygit2.enums.ObjectType.BLOB else None

    def read(self, path: str) -> Optional[bytes]:
        entry = self._entry(path)
        if entry is None:
            return None
        import pygit2
        try:
            return self.repo[entry.id].data
        except (pygit2.GitError, KeyError, OSError) as exc:  # a missing or unreadable object file
            self.unreadable[path] = str(exc)
            return None

    def blob_id(self, path: str) -> Optional[str]:
        entry = self._entry(path)
        return None if entry is None else str(entry.id)

    def walk(self, folder: str, suffixes: tuple = (".c", ".h")) -> Iterator[str]:
        try:
            top = self.tree[folder] if folder else self.tree
        except KeyError:
            return
        import pygit2
        if top.type != pygit2.enums.ObjectType.TREE:
            return
        stack = [(folder.rstrip("/"), top)]
        while stack:
            prefix, tree = stack.pop()
            subdirs = []
            for entry in tree:
                path = f"{prefix}/{entry.name}" if prefix else entry.name
                if entry.type == pygit2.enums.ObjectType.TREE:
                    subdirs.append((path, self.repo[entry.id]))
                elif entry.name.endswith(suffixes):
                    yield path
            stack.extend(reversed(subdirs))


def _repository_at(path: str):
    """The repository whose top is `path` (not one that merely contains it).

    A directory that cannot be a repository's top (no .git, not a bare repository) is answered
    without loading pygit2, which costs more than the rest of a one-patch lint's start-up; that
    test is not cached, so a long-lived process (`reviewkit serve`) sees a repository created later.
    """
    if not (os.path.exists(os.path.join(path, ".git"))
            or (os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects")))):
        return None
    return _open_repository(path)


@functools.lru_cache(maxsize=64)
def _open_repository(path: str):
    """Cached per path: a run opens the same tree once per series, and pygit2 1.21's
    discover_repository() corrupts a reference count on every call that finds nothing
    (about 14,000 calls abort the interpreter)."""
    import pygit2
    try:
        found = pygit2.discover_repository(path)
        if not found:
            return None
        repo = pygit2.Repository(found)
    except (pygit2.GitError, OSError, KeyError):
        return None
    top = repo.workdir or repo.path
    return repo if os.path.realpath(top) == os.path.realpath(path) else None


# What the top of a kernel tree holds; a --tree with none of these is a mistyped path.
KERNEL_TOP = ("Makefile", "Kbuild", "Kconfig", "MAINTAINERS", "mm", "include", "kernel", "arch", "fs", "drivers")
KERNEL_TREE_HINT = ("a kernel tree is a git repository or a directory (such as an extracted tarball) "
                    "with the kernel's top level: Makefile, include/, mm/, ...")


def tree_problem(path: str) -> Optional[str]:
    """Why `path` cannot be used as a --tree (one line), or None when it can."""
    if not os.path.lexists(path):
        return "no such directory"
    if not os.path.isdir(path):
        what = "a file" if os.path.isfile(path) else "not a directory"
        return f"is {what}, not a source tree"
    try:
        top = set(os.listdir(path))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    repo = _repository_at(path)
    if repo is not None:
        import pygit2
        try:
            if repo.head_is_unborn:
                return "is an empty git repository (no commits)"
            top = {entry.name for entry in repo.revparse_single("HEAD").peel(pygit2.Commit).tree}
        except (pygit2.GitError, KeyError, ValueError) as exc:
            return f"is a git repository whose HEAD cannot be read ({exc})"
    if not top & set(KERNEL_TOP):
        return "is not a kernel tree (none of " + ", ".join(KERNEL_TOP[:6]) + ", ... at its top)"
    return None


def open_tree(path: Optional[str], base: Optional[str] = None,
              base_commit: Optional[str] = None) -> tuple[SourceTree, list[str]]:
    """The tree to analyse against, and notes on how it was chosen.

    A git repository is read at `base` when given, else at the series'
    `base-commit:` when the repository has it, else at HEAD.
    """
    if not path:
        return NoTree(), ["no source tree given: working from the hunks alone (--tree DIR for more)"]
    notes: list[str] = []
    repo = _repository_at(path)
    if repo is not None:
        import pygit2
        for rev, how in ((base, "--base"), (base_commit, "base-commit"), ("HEAD", "HEAD")):
            if not rev:
                continue
            try:
                commit = repo.revparse_single(rev).peel(pygit2.Commit)
            except (KeyError, ValueError, pygit2.GitError):
                notes.append(f"{how} {rev} is not in {path}; trying the next candidate")
                continue
            return GitTree(repo, commit, how), notes
        notes.append(f"{path}: the repository has no usable commit; reading it as a directory")
    if not os.path.isdir(path):
        return NoTree(), [f"--tree {path} is not a directory: working from the hunks alone"]
    if base or base_commit:
        notes.append(f"{path} is not a git repository: base {base or base_commit} ignored, files read as they are")
    return DirTree(path), notes


class OverlayTree(SourceTree):
    """A tree with some files replaced: the base tree as the patches applied so far leave it."""

    def __init__(self, base: SourceTree, files: Optional[dict] = None):
        self.base = base
        self.files = dict(files or {})      # path -> text, or None for a deleted file
        self.unreadable = base.unreadable
        self.kind = base.kind
        self.description = base.description + (f" + {len(self.files)} patched files" if self.files else "")

    def with_images(self, images) -> "OverlayTree":
        """A new overlay with a PatchImages' post-images on top (failed files stay as they were)."""
        files = dict(self.files)
        for f in images.files:
            if f.source != "tree" or f.status in ("failed", "binary", "already-applied"):
                continue
            if f.old_path and f.old_path != f.new_path:
                files[f.old_path] = None
            if f.new_path:
                files[f.new_path] = f.after
        return OverlayTree(self.base, files)

    def read(self, path: str) -> Optional[bytes]:
        if path in self.files:
            text = self.files[path]
            return None if text is None else text.encode("utf-8", "surrogateescape")
        return self.base.read(path)

    def blob_id(self, path: str) -> Optional[str]:
        if path in self.files:
            data = self.read(path)
            return content_id(data) if data is not None else None
        return self.base.blob_id(path)

    def stat_key(self, path: str) -> Optional[str]:
        return None if path in self.files else self.base.stat_key(path)

    def walk(self, folder: str, suffixes: tuple = (".c", ".h")) -> Iterator[str]:
        prefix = folder.rstrip("/") + "/" if folder else ""
        seen = set()
        for p in self.base.walk(folder, suffixes):
            seen.add(p)
            if self.files.get(p, "") is not None:
                yield p
        for p, text in sorted(self.files.items()):
            if p not in seen and text is not None and p.startswith(prefix) and p.endswith(suffixes):
                yield p
