"""The bot's state: SQLite (one machine) or PostgreSQL (several workers sharing one queue).

Tables:
- cursors:   source, epoch -> last commit (or feed position) read, so a poll reads only new mail
- messages:  every mail read (raw bytes), its kind, thread root, when it landed, and the series
             version it was assigned to (NULL while not yet planned)
- series:    one row per series version (key = the Message-ID of its cover letter, or of its first
             patch), its state (queued -> claimed -> done; duplicate; failed), the claim and the result
- artifacts: what a review produced (HTML report, b4 checks, the reply mail), zlib-compressed
- posts:     one row per (series version, destination): "posting" before sending, "posted" after

Every change that must survive a crash is one transaction. SQL is written with `?`
placeholders and translated for psycopg.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import zlib
from contextlib import contextmanager
from typing import Iterable, Iterator, Optional

SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (
    source TEXT NOT NULL, epoch TEXT NOT NULL, pos TEXT NOT NULL, PRIMARY KEY (source, epoch));
CREATE TABLE IF NOT EXISTS messages (
    msgid TEXT PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL, root TEXT,
    landed DOUBLE PRECISION NOT NULL, seen DOUBLE PRECISION NOT NULL, series TEXT, raw {blob} NOT NULL{seq});
CREATE INDEX IF NOT EXISTS messages_unplanned ON messages (kind, series);
CREATE INDEX IF NOT EXISTS messages_root ON messages (root);
CREATE TABLE IF NOT EXISTS series (
    key TEXT PRIMARY KEY, identity TEXT NOT NULL, title TEXT NOT NULL, version INTEGER NOT NULL,
    sender TEXT NOT NULL, patches INTEGER NOT NULL, total INTEGER, complete INTEGER NOT NULL,
    msgids TEXT NOT NULL, landed DOUBLE PRECISION NOT NULL, queued DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL, duplicate_of TEXT, claimed_by TEXT, claimed_at DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0, takeovers INTEGER NOT NULL DEFAULT 0, reviewed_at DOUBLE PRECISION,
    done_at DOUBLE PRECISION, message_id TEXT, result TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS series_state ON series (state);
CREATE INDEX IF NOT EXISTS series_identity ON series (identity);
CREATE TABLE IF NOT EXISTS artifacts (
    series TEXT NOT NULL, name TEXT NOT NULL, data {blob} NOT NULL, PRIMARY KEY (series, name));
CREATE TABLE IF NOT EXISTS posts (
    series TEXT NOT NULL, dest TEXT NOT NULL, message_id TEXT NOT NULL, state TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL, note TEXT, PRIMARY KEY (series, dest));
"""

SERIES_COLUMNS = ("key", "identity", "title", "version", "sender", "patches", "total", "complete", "msgids",
                  "landed", "queued", "state", "duplicate_of", "claimed_by", "claimed_at", "attempts",
                  "takeovers",                   "reviewed_at", "done_at", "message_id", "result", "error")
CLAIM_WINDOW = 256  # rows looked at per claim: live claims of other workers are skipped in it
MAX_ATTEMPTS = 3    # a review that raised this often is a failure with its reason, not retried forever
MAX_TAKEOVERS = 10  # a series whose worker died this often while reviewing it (killed, out of memory, ...)


def default_db() -> str:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "reviewkit", "bot.sqlite")


def open_store(url: Optional[str]) -> "Store":
    """`postgresql://...` (or postgres://) -> PostgreSQL; anything else is a SQLite file path
    (`sqlite:///path` or a plain path); None -> the default file under the user's state directory."""
    url = url or default_db()
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url.startswith("sqlite://"):
        url = url[len("sqlite://"):]
    return SqliteStore(url)


class StoreError(Exception):
    """The database could not be opened or used (a usage problem, said in one line)."""


class Store:
    kind = ""
    blob = "BLOB"
    seq = ""          # a column numbering mails in arrival order (SQLite has its rowid)
    order = "rowid"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    # -- the three things a backend provides
    def _execute(self, cur, sql: str, params: tuple = ()):
        raise NotImplementedError

    @contextmanager
    def tx(self, write: bool = True) -> Iterator:
        raise NotImplementedError

    def _claim_select(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        self.conn.close()

    def setup(self) -> None:
        with self.tx() as cur:
            for stmt in SCHEMA.format(blob=self.blob, seq=self.seq).split(";"):
                if stmt.strip():
                    self._execute(cur, stmt)

    def q(self, cur, sql: str, params: Iterable = ()) -> list:
        self._execute(cur, sql, tuple(params))
        return cur.fetchall() if cur.description else []

    # -- cursors
    def cursor_pos(self, source: str, epoch: str) -> Optional[str]:
        with self.tx(write=False) as cur:
            rows = self.q(cur, "SELECT pos FROM cursors WHERE source = ? AND epoch = ?", (source, epoch))
        return rows[0][0] if rows else None

    def add_messages(self, source: str, epoch: str, pos: Optional[str], rows: list) -> int:
        """Store mails and move the cursor in one transaction: a crash keeps both or neither.
        rows: (msgid, kind, root, landed, raw). Returns how many were new."""
        now = time.time()
        added = 0
        with self.tx() as cur:
            for msgid, kind, root, landed, raw in rows:
                self._execute(cur, "INSERT INTO messages (msgid, source, kind, root, landed, seen, series, raw) "
                                   "VALUES (?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT (msgid) DO NOTHING",
                              (msgid, source, kind, root, landed, now, raw))
                added += max(cur.rowcount, 0)
            if pos is not None:
                self._execute(cur, "INSERT INTO cursors (source, epoch, pos) VALUES (?, ?, ?) "
                                   "ON CONFLICT (source, epoch) DO UPDATE SET pos = excluded.pos",
                              (source, epoch, pos))
        return added

    def known(self, msgids: list) -> set:
        if not msgids:
            return set()
        with self.tx(write=False) as cur:
            rows = self.q(cur, f"SELECT msgid FROM messages WHERE msgid IN ({','.join('?' * len(msgids))})",
                          msgids)
        return {r[0] for r in rows}

    # -- planning
    def unplanned(self) -> list:
        """(msgid, landed, raw) of patch and cover mails not yet assigned to a series version."""
        with self.tx(write=False) as cur:
            return [(m, ld, bytes(raw)) for m, ld, raw in self.q(
                cur, "SELECT msgid, landed, raw FROM messages WHERE kind = 'candidate' AND series IS NULL "
                     f"ORDER BY {self.order}")]

    def planned_mails(self, msgids: list) -> list:
        """(msgid, landed, raw) of the patches and covers of the planned series that `msgids` belong to."""
        if not msgids:
            return []
        with self.tx(write=False) as cur:
            return [(m, ld, bytes(raw)) for m, ld, raw in self.q(
                cur, "SELECT msgid, landed, raw FROM messages WHERE kind = 'candidate' AND series IN ("
                     "SELECT series FROM messages WHERE series IS NOT NULL AND series <> 'none' "
                     f"AND msgid IN ({','.join('?' * len(msgids))})) ORDER BY {self.order}", msgids)]

    def assigned(self, msgids: list) -> dict:
        """msgid -> (series key, version) for those of `msgids` that belong to a planned series."""
        if not msgids:
            return {}
        with self.tx(write=False) as cur:
            rows = self.q(cur, "SELECT m.msgid, s.key, s.version FROM messages m JOIN series s ON s.key = m.series "
                               f"WHERE m.msgid IN ({','.join('?' * len(msgids))})", msgids)
        return {m: (k, v) for m, k, v in rows}

    def assign(self, msgids: list, label: str) -> None:
        with self.tx() as cur:
            for m in msgids:
                self._execute(cur, "UPDATE messages SET series = ? WHERE msgid = ? AND series IS NULL", (label, m))

    def add_series(self, row: dict) -> str:
        """Queue a series version (or record it as a duplicate of an earlier one), and assign its mails,
        in one transaction. Returns the state it got ('' when another worker queued it first)."""
        with self.tx() as cur:
            dup = self.q(cur, "SELECT key FROM series WHERE identity = ? AND state <> 'duplicate' AND key <> ? "
                              "ORDER BY queued LIMIT 1", (row["identity"], row["key"]))
            row = {**row, "state": "duplicate" if dup else "queued", "duplicate_of": dup[0][0] if dup else None}
            if row["state"] == "duplicate":
                row["done_at"] = row["queued"]
            cols = [c for c in SERIES_COLUMNS if c in row]
            self._execute(cur, f"INSERT INTO series ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                               "ON CONFLICT (key) DO NOTHING", tuple(row[c] for c in cols))
            if cur.rowcount != 1:
                return ""
            for m in json.loads(row["msgids"]):
                self._execute(cur, "UPDATE messages SET series = ? WHERE msgid = ?", (row["key"], m))
        return row["state"]

    # -- claims
    def claim(self, worker: str, lease: float, is_stale, exclude: frozenset = frozenset()) -> Optional[dict]:
        """Take one series version to work on: queued, or claimed by a worker that is gone (its lease ran
        out, or `is_stale(claimed_by)` says so: a dead process on this host). Atomic across workers."""
        now = time.time()
        with self.tx() as cur:
            for row in self.q(cur, self._claim_select()):
                s = dict(zip(SERIES_COLUMNS, row))
                if s["key"] in exclude:
                    continue
                if s["state"] == "claimed" and s["claimed_at"] >= now - lease and not is_stale(s["claimed_by"]):
                    continue
                takeovers = s["takeovers"] + (s["state"] == "claimed")
                self._execute(cur, "UPDATE series SET state = 'claimed', claimed_by = ?, claimed_at = ?, takeovers = ? "
                                   "WHERE key = ?", (worker, now, takeovers, s["key"]))
                return {**s, "claimed_by": worker, "claimed_at": now, "takeovers": takeovers,
                        "previous_claim": s["claimed_by"] if s["state"] == "claimed" else None}
        return None

    def _update_series(self, key: str, worker: str, **values) -> bool:
        """Update a series row we hold the claim on; False when the claim was lost."""
        cols = list(values)
        with self.tx() as cur:
            self._execute(cur, f"UPDATE series SET {', '.join(c + ' = ?' for c in cols)} "
                               "WHERE key = ? AND claimed_by = ?", (*values.values(), key, worker))
            return cur.rowcount == 1

    def renew(self, key: str, worker: str) -> bool:
        return self._update_series(key, worker, claimed_at=time.time())

    def save_review(self, key: str, worker: str, result: dict, message_id: str, artifacts: dict) -> bool:
        with self.tx() as cur:
            self._execute(cur, "UPDATE series SET result = ?, message_id = ?, reviewed_at = ?, claimed_at = ? "
                               "WHERE key = ? AND claimed_by = ?",
                          (json.dumps(result), message_id, time.time(), time.time(), key, worker))
            if cur.rowcount != 1:
                return False
            for name, data in artifacts.items():
                blob = zlib.compress(data.encode("utf-8") if isinstance(data, str) else data)
                self._execute(cur, "INSERT INTO artifacts (series, name, data) VALUES (?, ?, ?) ON CONFLICT "
                                   "(series, name) DO UPDATE SET data = excluded.data", (key, name, blob))
        return True

    def finish(self, key: str, worker: str, state: str, error: Optional[str] = None, **values) -> bool:
        return self._update_series(key, worker, state=state, done_at=time.time(), error=error, **values)

    def requeue_previewed(self) -> None:
        """Series a dry run reviewed go back to the queue to be posted (their review is kept)."""
        with self.tx() as cur:
            self._execute(cur, "UPDATE series SET state = 'queued', claimed_by = NULL, claimed_at = NULL "
                               "WHERE state = 'previewed'")

    def release(self, key: str, worker: str, error: str, attempts: int) -> bool:
        """Give a claim back after an error (a review is retried until MAX_ATTEMPTS, a post every cycle)."""
        return self._update_series(key, worker, state="queued", claimed_by=None, claimed_at=None, error=error,
                                    attempts=attempts)

    def artifact(self, key: str, name: str) -> Optional[bytes]:
        with self.tx(write=False) as cur:
            rows = self.q(cur, "SELECT data FROM artifacts WHERE series = ? AND name = ?", (key, name))
        return zlib.decompress(bytes(rows[0][0])) if rows else None

    def artifact_names(self, key: str) -> list:
        with self.tx(write=False) as cur:
            return [r[0] for r in self.q(cur, "SELECT name FROM artifacts WHERE series = ? ORDER BY name", (key,))]

    def thread_mails(self, msgids: list, roots: list) -> list:
        """Raw mails of a series version plus the replies already in its thread (for the summary)."""
        with self.tx(write=False) as cur:
            rows = self.q(cur, f"SELECT msgid, raw FROM messages WHERE msgid IN ({','.join('?' * len(msgids))}) "
                               f"OR (kind = 'reply' AND root IN ({','.join('?' * len(roots))})) ORDER BY {self.order}",
                          [*msgids, *roots])
        return [(m, bytes(raw)) for m, raw in rows]

    # -- posts
    def post_state(self, key: str, dest: str) -> Optional[str]:
        with self.tx(write=False) as cur:
            rows = self.q(cur, "SELECT state FROM posts WHERE series = ? AND dest = ?", (key, dest))
        return rows[0][0] if rows else None

    def set_post(self, key: str, dest: str, message_id: str, state: str, note: Optional[str] = None) -> None:
        with self.tx() as cur:
            self._execute(cur, "INSERT INTO posts (series, dest, message_id, state, at, note) VALUES (?, ?, ?, ?, ?, ?) "
                               "ON CONFLICT (series, dest) DO UPDATE SET state = excluded.state, at = excluded.at, "
                               "note = excluded.note", (key, dest, message_id, state, time.time(), note))

    # -- status
    def all_series(self) -> list:
        with self.tx(write=False) as cur:
            rows = self.q(cur, f"SELECT {', '.join(SERIES_COLUMNS)} FROM series ORDER BY queued, key")
            posts = self.q(cur, "SELECT series, dest, message_id, state, at, note FROM posts ORDER BY at")
        by = {}
        for s, dest, mid, state, at, note in posts:
            by.setdefault(s, []).append({"destination": dest, "message_id": mid, "state": state, "at": at,
                                         "note": note})
        out = []
        for r in rows:
            s = dict(zip(SERIES_COLUMNS, r))
            s["msgids"] = json.loads(s["msgids"])
            s["result"] = json.loads(s["result"]) if s["result"] else None
            s["posts"] = by.get(s["key"], [])
            out.append(s)
        return out

    def message_count(self) -> dict:
        with self.tx(write=False) as cur:
            return dict(self.q(cur, "SELECT kind, COUNT(*) FROM messages GROUP BY kind"))


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, path: str) -> None:
        super().__init__()
        self.url = path
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            # autocommit mode: transactions are explicit (BEGIN IMMEDIATE takes the write lock up front,
            # so two processes never both read a queued row and then both claim it)
            self.conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        self.setup()

    def _execute(self, cur, sql: str, params: tuple = ()):
        return cur.execute(sql, params)

    @contextmanager
    def tx(self, write: bool = True) -> Iterator:
        with self._lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def _claim_select(self) -> str:
        return (f"SELECT {', '.join(SERIES_COLUMNS)} FROM series WHERE state = 'queued' OR state = 'claimed' "
                f"ORDER BY queued, key LIMIT {CLAIM_WINDOW}")


class PostgresStore(Store):
    kind = "postgresql"
    blob = "BYTEA"
    seq = ", seq BIGSERIAL"
    order = "seq"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        try:
            import psycopg
        except ImportError:
            raise StoreError("--db postgresql:// needs psycopg: pip install 'reviewkit[bot]'") from None
        try:
            self.conn = psycopg.connect(url, autocommit=False)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {url}: {' '.join(str(exc).split())}") from None
        # two workers creating the schema at once would collide: one at a time
        with self.tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(7271)")
            for stmt in SCHEMA.format(blob=self.blob, seq=self.seq).split(";"):
                if stmt.strip():
                    cur.execute(stmt)

    def setup(self) -> None:  # done in __init__ under the advisory lock
        pass

    def _execute(self, cur, sql: str, params: tuple = ()):
        return cur.execute(sql.replace("?", "%s"), params)

    @contextmanager
    def tx(self, write: bool = True) -> Iterator:
        with self._lock:
            with self.conn.cursor() as cur:
                try:
                    yield cur
                except BaseException:
                    self.conn.rollback()
                    raise
                self.conn.commit()

    def _claim_select(self) -> str:
        # rows another worker is deciding about right now are skipped, not waited for
        return (f"SELECT {', '.join(SERIES_COLUMNS)} FROM series WHERE state = 'queued' "
                f"OR state = 'claimed' ORDER BY queued, key LIMIT {CLAIM_WINDOW} FOR UPDATE SKIP LOCKED")
