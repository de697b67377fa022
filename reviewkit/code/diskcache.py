"""A small persistent cache of derived data (pickles) under `$XDG_CACHE_HOME/reviewkit`.

Keys are content hashes (plus reviewkit's and the format's version), so an entry never goes stale:
a changed input is a different key. Two runs may share the folder: an entry is written to a
temporary file and renamed into place (readers see the old entry, the new one, or none), and an
entry that cannot be read is a miss. The folder is kept under a size limit by dropping the least
recently used entries. `REVIEWKIT_NO_CACHE=1` (what `--no-cache` sets) turns it off.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from typing import Any, Optional

from .. import __version__

NO_CACHE_ENV = "REVIEWKIT_NO_CACHE"
LIMIT_BYTES = 64 * 1024 * 1024  # per cache (folder)


def cache_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "reviewkit")


def enabled() -> bool:
    return not os.environ.get(NO_CACHE_ENV)


class DiskCache:
    """name: a folder under the cache root; version: the format of what is stored (bump it when the
    pickled classes change)."""

    def __init__(self, name: str, version: int, limit: int = LIMIT_BYTES):
        self.folder = os.path.join(cache_root(), f"{name}-v{version}")
        self.salt = f"{__version__}\0{version}\0".encode()
        self.limit = limit

    def _path(self, key: bytes) -> str:
        return os.path.join(self.folder, hashlib.sha1(self.salt + key).hexdigest() + ".pickle")

    def get(self, key: bytes) -> Optional[Any]:
        if not enabled():
            return None
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                value = pickle.load(f)
            os.utime(path)  # recently used: trimmed last
            return value
        except Exception:  # absent, half-written by a crashed run, from another version: a miss
            return None

    def put(self, key: bytes, value: Any) -> None:
        if not enabled():
            return
        try:
            os.makedirs(self.folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._path(key))
            self._trim()
        except OSError:  # a read-only or full disk: run without the cache
            pass

    def _trim(self) -> None:
        entries = []
        for entry in os.scandir(self.folder):
            try:
                st = entry.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.limit:
                break
            try:
                os.unlink(path)  # another run may have removed it already
            except OSError:
                pass
            total -= size
