"""Where new mail comes from: a public-inbox archive on disk, or a public-inbox web endpoint.

Each poll reads only what is new and hands it to the store together with the
position reached, in one transaction, so a crash never loses or skips mail:
- on disk (v1 bare repository or v2 `git/N.git` epochs): the commits after the
  last one seen, per epoch (`git fetch` first when the epoch has a remote);
- over HTTP (a lore list URL such as https://lore.kernel.org/linux-mm/): the
  Atom feed `new.atom` (or a search, `URL?q=QUERY` read as `&x=A`), and for each
  message not yet known its whole thread as `/<msgid>/t.mbox.gz`.
"""
from __future__ import annotations

import gzip
import io
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from typing import Callable, Optional

import pygit2

from .. import __version__
from ..ingest.gitsrc import _epochs, is_public_inbox
from ..ingest.mail import parse_message
from ..ingest.mbox import split_mbox
from ..model import Errors, Source
from ..subject import parse_subject

BATCH = 500                 # mails per transaction while catching up
MAX_DOWNLOAD = 64 << 20     # a thread mbox larger than this is refused
BOT_HEADER = "X-Reviewkit-Bot"
_PATCHISH = ("PATCH", "RFC")

Log = Callable[..., None]


def _has_diff(raw: bytes) -> bool:
    """A diff in a mail whose subject does not say [PATCH] (the parser decides whether it is a patch)."""
    return b"\ndiff --git " in raw or b"\n+++ b/" in raw


def mail_facts(raw: bytes, where: str, bot_from: str = "") -> Optional[tuple]:
    """(msgid, kind, root) of one mail, or None when it is not a mail. kind: 'candidate' (a patch or
    cover letter by its subject, or a new mail with a diff), 'reply', 'bot' (ours, or from the bot's address), 'other'."""
    errors = Errors()
    m = parse_message(raw, Source(where, where), errors)
    if m is None:
        return None
    root = m.references[0] if m.references else (m.in_reply_to or m.msgid)
    if any(k.lower() == BOT_HEADER.lower() for k, _ in m.headers) or (
            bot_from and m.sender.email.lower() == bot_from.lower()):
        return m.msgid, "bot", root
    s = parse_subject(m.subject)
    if s.is_reply:
        kind = "reply"
    elif any(p.upper().startswith(_PATCHISH) for p in s.prefixes) or _has_diff(raw):
        kind = "candidate"
    else:
        kind = "reply" if m.in_reply_to else "other"
    return m.msgid, kind, root


class ArchiveSource:
    """A public-inbox archive on disk (what `public-inbox-clone`/`git clone --mirror` keep up to date)."""

    def __init__(self, path: str, bot_from: str = "") -> None:
        self.path = os.path.abspath(path)
        self.name = f"archive:{self.path}"
        self.bot_from = bot_from

    def check(self) -> Optional[str]:
        if not os.path.isdir(self.path) or not is_public_inbox(self.path):
            return f"{self.path} is not a public-inbox archive (a v1 bare repository or a v2 folder with git/N.git)"
        return None

    def poll(self, store, log: Log) -> int:
        added = 0
        for epoch in _epochs(self.path):
            name = os.path.basename(epoch)
            try:
                repo = pygit2.Repository(epoch)
            except (pygit2.GitError, KeyError) as exc:
                log("warning", "epoch unreadable", epoch=epoch, reason=str(exc))
                continue
            if repo.remotes:
                self._fetch(epoch, log)
            if repo.head_is_unborn:
                continue
            added += self._read_epoch(repo, name, store, log)
        return added

    def _fetch(self, epoch: str, log: Log) -> None:
        try:
            subprocess.run(["git", f"--git-dir={epoch}", "fetch", "--quiet"], check=True, timeout=600,
                           capture_output=True)
        except (OSError, subprocess.SubprocessError) as exc:
            err = getattr(exc, "stderr", b"") or b""
            log("warning", "git fetch failed; reading what is there", epoch=epoch,
                reason=(err.decode("utf-8", "replace").strip() or str(exc))[:300])

    def _read_epoch(self, repo: pygit2.Repository, name: str, store, log: Log) -> int:
        last = store.cursor_pos(self.name, name)
        head = repo.head.target
        if last == str(head):
            return 0
        ids = []  # an archive is a straight line: walk first parents back to where we were
        commit = repo[head]
        while True:
            if str(commit.id) == last:
                break
            ids.append(commit.id)
            if not commit.parent_ids:
                if last:
                    log("warning", "last seen commit is gone (history rewritten): rereading the epoch",
                        epoch=name, commit=last)
                break
            commit = repo[commit.parent_ids[0]]
        ids.reverse()
        added = 0
        for start in range(0, len(ids), BATCH):
            rows = []
            for oid in ids[start:start + BATCH]:
                c = repo[oid]
                if "m" not in c.tree:
                    continue  # a deletion ("d") or an unrelated commit
                raw = c.tree["m"].data
                facts = mail_facts(raw, f"{name} commit {str(oid)[:12]}", self.bot_from)
                if facts:
                    rows.append((*facts, float(c.commit_time), raw))
            added += store.add_messages(self.name, name, str(ids[min(start + BATCH, len(ids)) - 1]), rows)
        return added


class HttpSource:
    """A public-inbox web endpoint: new messages from its Atom feed, whole threads as t.mbox.gz."""

    def __init__(self, url: str, bot_from: str = "", timeout: float = 30) -> None:
        parts = urllib.parse.urlsplit(url)
        self.query = urllib.parse.parse_qs(parts.query).get("q", [None])[0]
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        self.base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.name = f"http:{self.base}" + (f"?q={self.query}" if self.query else "")
        self.bot_from = bot_from
        self.timeout = timeout

    def check(self) -> Optional[str]:
        return None

    def feed_url(self) -> str:
        if self.query:
            return self.base + "?" + urllib.parse.urlencode({"q": self.query, "x": "A"})
        return self.base + "new.atom"

    def _get(self, url: str) -> bytes:
        req = urllib.request.Request(url, headers={"User-Agent": f"reviewkit-bot/{__version__}"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (http(s) only: see open_source)
            data = resp.read(MAX_DOWNLOAD + 1)
        if len(data) > MAX_DOWNLOAD:
            raise ValueError(f"{url}: more than {MAX_DOWNLOAD} bytes")
        return data

    def entries(self) -> list:
        """(msgid, updated) of the feed's entries, oldest first."""
        root = ET.fromstring(self._get(self.feed_url()))
        ns = {"a": "http://www.w3.org/2005/Atom"}
        out = []
        for entry in root.findall("a:entry", ns):
            link = entry.find("a:link", ns)
            href = link.get("href", "") if link is not None else ""
            msgid = urllib.parse.unquote(urllib.parse.urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1])
            if msgid:
                out.append((f"<{msgid}>", (entry.findtext("a:updated", "", ns) or "")))
        return sorted(out, key=lambda e: e[1])

    def thread(self, msgid: str) -> list:
        """Raw mails of the whole thread holding msgid."""
        url = self.base + urllib.parse.quote(msgid.strip("<>"), safe="@!$&'()*+,;=:") + "/t.mbox.gz"
        data = self._get(url)
        if data[:2] == b"\x1f\x8b":
            data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(MAX_DOWNLOAD + 1)
        return [raw for index, _, raw in split_mbox(io.BytesIO(data)) if index >= 0]

    def poll(self, store, log: Log) -> int:
        try:
            entries = self.entries()
        except (OSError, ValueError, ET.ParseError, urllib.error.URLError) as exc:
            log("warning", "feed unreadable", url=self.feed_url(), reason=str(exc))
            return 0
        known = store.known([m for m, _ in entries])
        if entries and not known and store.cursor_pos(self.name, "feed"):
            log("warning", "every entry of the feed is new: more mail may have come than the feed shows; "
                "poll more often, or follow a mirror of the archive instead", url=self.feed_url())
        added = 0
        for msgid, updated in entries:
            if msgid in known:
                continue
            try:
                mails = self.thread(msgid)
            except (OSError, ValueError, EOFError, urllib.error.URLError) as exc:
                log("warning", "thread unreadable; retried on the next poll", msgid=msgid, reason=str(exc))
                continue
            now = time.time()
            rows = []
            for n, raw in enumerate(mails):
                facts = mail_facts(raw, f"{msgid} t.mbox.gz message {n}", self.bot_from)
                if facts and facts[0] not in known:
                    known.add(facts[0])
                    rows.append((*facts, now, raw))
            added += store.add_messages(self.name, "feed", updated, rows)
            known.add(msgid)
        return added


def open_source(spec: str, bot_from: str = ""):
    if spec.startswith(("http://", "https://")):
        return HttpSource(spec, bot_from)
    return ArchiveSource(spec, bot_from)
