"""The tree index: every function of the folders rules care about, with the names it calls.

Parsing is cached per file content (git blob id, or the same id computed for
a plain file) in an embedded SQLite store, so a second run over the same tree
re-parses nothing that did not change. A cold build parses in parallel.
"""
from __future__ import annotations

import os
import pickle
import sqlite3
from bisect import bisect_right
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import tree_sitter

from ..source.trees import SourceTree, content_id
from .cparse import CALLS_QUERY, make_parser, parse_source

# Bump when what is stored per file changes (normaliser, extraction), to invalidate old caches.
CACHE_VERSION = 2
DEFAULT_FOLDERS = ("mm", "include/linux")


@dataclass(frozen=True)
class FunctionInfo:
    path: str
    name: str
    kind: str            # function | macro
    start_line: int
    end_line: int
    health: float
    calls: tuple         # names called, in order of first appearance


@dataclass
class TreeIndex:
    files: dict = field(default_factory=dict)        # path -> [FunctionInfo]
    by_name: dict = field(default_factory=dict)      # name -> [FunctionInfo]
    _callers: Optional[dict] = None
    stats: dict = field(default_factory=dict)

    def add(self, path: str, functions: list) -> None:
        self.files[path] = functions
        for f in functions:
            self.by_name.setdefault(f.name, []).append(f)
        self._callers = None

    def functions(self, name: str) -> list:
        return self.by_name.get(name, [])

    def callees(self, name: str) -> set:
        return {c for f in self.functions(name) for c in f.calls}

    def callers(self, name: str) -> list:
        if self._callers is None:
            callers: dict[str, list] = {}
            for funcs in self.files.values():
                for f in funcs:
                    for c in f.calls:
                        callers.setdefault(c, []).append(f)
            self._callers = callers
        return self._callers.get(name, [])


def extract(path: str, source: bytes, parser: Optional[tree_sitter.Parser] = None) -> list:
    """FunctionInfos of one file: functions, macros, and the calls inside each."""
    parsed = parse_source(path, source, parser)
    if not parsed.functions:
        return []
    starts = [f.start_byte for f in parsed.functions]
    calls: list[list[str]] = [[] for _ in parsed.functions]
    for node in tree_sitter.QueryCursor(CALLS_QUERY).captures(parsed.tree.root_node).get("callee", []):
        i = bisect_right(starts, node.start_byte) - 1
        if i >= 0 and node.end_byte <= parsed.functions[i].end_byte:
            calls[i].append(node.text.decode("utf-8", "replace"))
    return [FunctionInfo(path, f.name, f.kind, f.start_line, f.end_line, f.health, tuple(dict.fromkeys(c)))
            for f, c in zip(parsed.functions, calls)]


_worker_parser = None


def _extract_batch(batch: list) -> list:
    global _worker_parser
    if _worker_parser is None:
        _worker_parser = make_parser()
    return [(blob, extract(path, data, _worker_parser)) for path, blob, data in batch]


def default_cache_path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "reviewkit", f"index-v{CACHE_VERSION}.sqlite")


class ParseCache:
    """blob id -> pickled FunctionInfo list, in SQLite."""

    def __init__(self, path: Optional[str] = None):
        self.path = path or default_cache_path()
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("CREATE TABLE IF NOT EXISTS files (blob TEXT PRIMARY KEY, data BLOB)")
        self.db.execute("CREATE TABLE IF NOT EXISTS stats (key TEXT PRIMARY KEY, blob TEXT)")

    def blobs_for_stats(self, keys: list) -> dict:
        out = {}
        for i in range(0, len(keys), 900):
            chunk = keys[i:i + 900]
            q = "SELECT key, blob FROM stats WHERE key IN (%s)" % ",".join("?" * len(chunk))
            out.update(self.db.execute(q, chunk))
        return out

    def remember_stats(self, items: Iterable) -> None:
        self.db.executemany("INSERT OR REPLACE INTO stats VALUES (?, ?)", items)
        self.db.commit()

    def get_many(self, blobs: list) -> dict:
        out = {}
        for i in range(0, len(blobs), 900):  # SQLite's bound-parameter limit
            chunk = blobs[i:i + 900]
            q = "SELECT blob, data FROM files WHERE blob IN (%s)" % ",".join("?" * len(chunk))
            for blob, data in self.db.execute(q, chunk):
                out[blob] = pickle.loads(data)
        return out

    def put_many(self, items: Iterable) -> None:
        self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?)",
                            ((blob, pickle.dumps(funcs, pickle.HIGHEST_PROTOCOL)) for blob, funcs in items))
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def build_index(tree: SourceTree, folders: Iterable[str] = DEFAULT_FOLDERS, cache: Optional[ParseCache] = None,
                workers: Optional[int] = None, progress: Optional[Callable[[int, int], None]] = None,
                paths: Optional[list] = None) -> TreeIndex:
    """Index the C files under `folders` of `tree` (or exactly `paths`), re-parsing only what the cache lacks."""
    if paths is None:
        paths = [p for folder in folders for p in tree.walk(folder)]
    blobs: dict[str, str] = {}
    contents: dict[str, bytes] = {}
    if tree.kind == "git":
        blobs = {p: tree.blob_id(p) for p in paths}
    else:
        keys = {p: tree.stat_key(p) for p in paths}
        known = cache.blobs_for_stats([k for k in keys.values() if k]) if cache else {}
        fresh = []
        for p in paths:
            if keys[p] in known:
                blobs[p] = known[keys[p]]
            else:
                data = tree.read(p) or b""
                contents[p] = data
                blobs[p] = content_id(data)
                if keys[p]:
                    fresh.append((keys[p], blobs[p]))
        if cache and fresh:
            cache.remember_stats(fresh)
    cached = cache.get_many(list(set(blobs.values()))) if cache else {}
    todo = [p for p in paths if blobs[p] not in cached]
    parsed: dict[str, list] = {}
    if todo:
        work = [(p, blobs[p], contents[p] if p in contents else (tree.read(p) or b"")) for p in todo]
        workers = workers or min(os.cpu_count() or 1, 8)
        if workers > 1 and len(work) > 20:
            batches = [work[i::workers * 4] for i in range(workers * 4)]
            with ProcessPoolExecutor(max_workers=workers) as pool:
                done = 0
                for result in pool.map(_extract_batch, batches):
                    parsed.update(result)
                    done += len(result)
                    if progress:
                        progress(done, len(work))
        else:
            parsed.update(_extract_batch(work))
        if cache:
            cache.put_many(parsed.items())
    index = TreeIndex()
    for p in paths:
        funcs = cached.get(blobs[p]) if blobs[p] in cached else parsed.get(blobs[p], [])
        # a cached entry may come from the same content at another path
        if funcs and funcs[0].path != p:
            funcs = [FunctionInfo(p, f.name, f.kind, f.start_line, f.end_line, f.health, f.calls) for f in funcs]
        index.add(p, funcs)
    index.stats = {"files": len(paths), "parsed": len(todo), "cached": len(paths) - len(todo),
                   "functions": sum(len(v) for v in index.files.values())}
    return index
