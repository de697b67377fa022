"""The bot's cycle: ingest new mail -> plan the series versions that are ready -> claim one -> review
-> post it exactly once -> publish. Every step leaves the store consistent, so a process killed at any
moment and started again (or another worker taking over its claim) loses nothing and repeats no post.

- A series version is ready when complete (every patch of N/M, or a single patch), or when nothing of it
  has landed for `settle` seconds (then reviewed with what arrived, and the review says so).
- Its key is the Message-ID of its cover letter (or first patch); its identity is its version plus the
  patch-ids of its diffs: a resend of an identical version is recorded as a duplicate, not reviewed.
- Replies and the bot's own mails are never candidates; patches arriving after their series version was
  reviewed are attached to it (logged), not reviewed as a new series.
- Posting: a post row is "posting" before the send and "posted" after; a restart that finds "posting"
  asks the destination whether the mail (by its deterministic Message-ID) is there before resending.
"""
from __future__ import annotations

import json
import os
from email import message_from_bytes
import signal
import smtplib
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Optional

from .. import __version__
from . import store as store_mod
from ..render.mail import Parent
from .posters import compose, recipients
from .review import identity, parse_mails, patch_id, review, review_message_id

CRASH_ENV = "REVIEWKIT_BOT_CRASH_AT"  # fault injection for the crash tests: "STAGE[:N]" -> kill -9 there


@dataclass
class Config:
    tree: Optional[str] = None
    settle: float = 600.0
    sender: str = "reviewkit bot <reviewkit-bot@localhost>"
    posters: list = field(default_factory=list)
    site: Optional[object] = None          # site.Site
    site_url: Optional[str] = None
    checkpatch: bool = True
    waivers: Optional[str] = None
    lease: float = 1800.0


def iso(t: Optional[float]) -> Optional[str]:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds") if t else None


def make_logger(fmt: str = "text", stream=None) -> Callable[..., None]:
    """log(level, event, **fields): one line on stderr, JSON when fmt == "json"."""
    def log(level: str, event: str, **fields) -> None:
        out = stream or sys.stderr
        if fmt == "json":
            out.write(json.dumps({"ts": iso(time.time()), "level": level, "event": event, **fields},
                                 ensure_ascii=False, default=str) + "\n")
        else:
            extra = " ".join(f"{k}={v}" for k, v in fields.items())
            out.write(f"reviewkit bot: {level}: {event}{' ' + extra if extra else ''}\n")
        out.flush()
    return log


class _Crash:
    """Kill this process with SIGKILL at a named point (test hook: CRASH_ENV="sent:2" = the second send)."""

    def __init__(self) -> None:
        spec = os.environ.get(CRASH_ENV, "")
        self.stage, _, n = spec.partition(":")
        self.n = int(n or 1)
        self.seen = 0

    def __call__(self, stage: str) -> None:
        if stage == self.stage:
            self.seen += 1
            if self.seen == self.n:
                os.kill(os.getpid(), signal.SIGKILL)


def _alive_here(host: str):
    def is_stale(claimed_by: Optional[str]) -> bool:
        """A claim by a process on this host that no longer exists is stale at once."""
        h, _, pid = (claimed_by or "").rpartition(":")
        if h != host or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return is_stale


class Bot:
    def __init__(self, store, source, cfg: Config, log: Callable[..., None]) -> None:
        self.store, self.source, self.cfg, self.log = store, source, cfg, log
        self.host = socket.gethostname()
        self.worker = f"{self.host}:{os.getpid()}"
        self.is_stale = _alive_here(self.host)
        self.crash = _Crash()
        self.domain = sender_domain(cfg.sender)
        self.reviewed = 0

    # -- one cycle
    def cycle(self) -> dict:
        stats = {"new_messages": 0, "queued": 0, "reviewed": 0, "posted": 0, "failed": 0}
        self.reviewed = 0
        if self._sends():
            self.store.requeue_previewed()
        if self.source is not None:
            stats["new_messages"] = self.source.poll(self.store, self.log)
        stats["queued"] = self.plan()
        tried: set = set()
        while True:
            # a series whose post failed is tried again next cycle, not in a loop now
            s = self.store.claim(self.worker, self.cfg.lease, self.is_stale, frozenset(tried))
            if s is None:
                break
            tried.add(s["key"])
            outcome = self.process(s)
            stats[outcome] = stats.get(outcome, 0) + 1
        stats["reviewed"] = self.reviewed
        if self.cfg.site is not None:
            self.cfg.site.publish_all(self.store, status(self.store))
        return stats

    # -- planning
    def plan(self) -> int:
        rows = self.store.unplanned()
        if not rows:
            return 0
        landed = {m: ld for m, ld, _ in rows}
        # the planned patches and covers these mails refer to are read too: a late patch then groups
        # with its own series (and a v2 threaded to a v1 does not group with the v1's late patch)
        refs = sorted({r for _, _, raw in rows for r in _refs(raw)} - set(landed))
        context = self.store.planned_mails(refs)
        parsed = parse_mails([raw for _, _, raw in context] + [raw for _, _, raw in rows], "unplanned mail")
        owners = self.store.assigned([m for m, _, _ in context])
        now = time.time()
        queued = 0
        # a mail that looked like a patch but is in no series (no diff: a truncated or text-only "patch")
        grouped = {m for s in parsed.series for m in ([s.cover] if s.cover else []) + list(s.patches)}
        strays = [m for m in landed if m not in grouped and now - landed[m] >= self.cfg.settle]
        if strays:
            self.store.assign(strays, "none")
            self.log("info", "mails with a patch subject but no series, not reviewed", msgids=strays)
        for s in parsed.series:
            members = ([s.cover] if s.cover else []) + [m for m in s.patches if m in parsed.patches]
            new = [m for m in members if m in landed]
            if not new:
                continue
            owner = next((owners[m][0] for m in members if m in owners), None)
            if owner is not None:
                self.store.assign(new, owner)
                self.log("info", "patches arrived after their series version was planned; not reviewed again",
                         series=owner, msgids=new)
                continue
            last = max((landed.get(m, now) for m in members), default=now)
            settled = now - last >= self.cfg.settle
            if not s.patches:  # a cover letter whose patches have not come (yet)
                if settled and s.cover:
                    self.store.assign([s.cover], "none")
                    self.log("info", "cover letter without patches, not reviewed", msgid=s.cover, title=s.title)
                continue
            complete = s.total is not None and not s.missing
            if not complete and not settled:
                continue
            anchor = s.cover or s.patches[0]
            ident = identity(s.version, [patch_id(parsed.patches[m].files) for m in s.patches])
            row = {"key": anchor, "identity": ident, "title": s.title, "version": s.version,
                   "sender": str(s.sender), "patches": len(s.patches), "total": s.total, "complete": int(complete),
                   "msgids": json.dumps(members), "landed": last, "queued": now}
            state = self.store.add_series(row)
            if state:
                queued += state == "queued"
                self.log("info", "series queued" if state == "queued" else "identical resend, not reviewed again",
                         series=anchor, title=s.title, version=s.version, patches=len(s.patches), total=s.total,
                         complete=complete)
        return queued

    # -- one series version
    def process(self, s: dict) -> str:
        key = s["key"]
        if not s["result"]:
            if s["takeovers"] > store_mod.MAX_TAKEOVERS:
                reason = f"the worker reviewing it died {s['takeovers']} times (killed, out of memory, ...)"
                self.store.finish(key, self.worker, "failed", reason)
                self.log("error", "series failed", series=key, reason=reason)
                return "failed"
            if s.get("previous_claim"):
                self.log("info", "taking over a claim", series=key, previous=s["previous_claim"])
            outcome, message_id = self._review(s)
            if outcome != "reviewed":
                return outcome
            self.reviewed += 1
            s = {**s, "message_id": message_id}
        return self._post(key, s["message_id"])

    def _review(self, s: dict) -> tuple:
        key = s["key"]
        msgids = json.loads(s["msgids"]) if isinstance(s["msgids"], str) else s["msgids"]
        mails = self.store.thread_mails(msgids, msgids)
        started = time.time()
        try:
            rev = review([raw for _, raw in mails], key, f"series {key}", self.cfg.tree, self.cfg.checkpatch,
                         self.cfg.waivers)
            if rev is None:
                self.store.finish(key, self.worker, "failed", "its mails no longer form a series")
                return "failed", None
            notes = self._notes(s, rev)
            parent = Parent.from_message(message_from_bytes(dict(mails)[key]))
            mid = review_message_id(key, s["identity"], self.domain)
            report_url = self.cfg.site.url_for(s, self.cfg.site_url) if self.cfg.site and self.cfg.site_url else None
            raw = compose(rev, parent, self.cfg.sender, mid, notes, report_url, errors=rev.data["errors"])
        except Exception as exc:  # a bug met on one series must not stop the bot; retried, then a failure
            reason = f"{type(exc).__name__}: {exc}"
            attempts = s["attempts"] + 1
            self.log("error", "review raised", series=key, attempt=attempts, reason=reason)
            if attempts >= store_mod.MAX_ATTEMPTS:
                self.store.finish(key, self.worker, "failed", reason, attempts=attempts)
                return "failed", None
            self.store.release(key, self.worker, reason, attempts)
            return "retry", None
        result = self._result(s, rev, notes)
        artifacts = {"report.html": rev.html, "reply.eml": raw, **{f"b4/{n}": t for n, t in rev.b4.items()}}
        if not self.store.save_review(key, self.worker, result, mid, artifacts):
            self.log("warning", "claim lost while reviewing; another worker has it", series=key)
            return "lost", None
        self.log("info", "series reviewed", series=key, title=s["title"], version=s["version"],
                 findings=result["counts"], apply=result["apply"]["status"], seconds=round(time.time() - started, 2))
        self.crash("reviewed")
        return "reviewed", mid

    def _notes(self, s: dict, rev) -> list:
        series = rev.data["report"]["series"][rev.series]
        notes = []
        if series["missing"]:
            missing = ", ".join(f"{n}/{series['total']}" for n in series["missing"])
            notes.append(f"This series was incomplete when reviewed: patch(es) {missing} had not arrived "
                         f"{int(self.cfg.settle)} seconds after the last one did; these comments cover the rest.")
        return notes

    def _result(self, s: dict, rev, notes: list) -> dict:
        data = rev.data
        series = data["report"]["series"][rev.series]
        patches = [data["report"]["patches"][n] for n in series["patches"]]
        return {
            "counts": {k: sum(p["counts"][k] for p in patches) for k in ("error", "warning", "note")},
            "apply": rev.apply, "complete": not series["missing"], "missing": series["missing"],
            "notes": notes, "tree": (data.get("tree") or {}).get("sources", []),
            "errors": len(data["errors"]), "rules": len(data.get("rules", [])),
            "patches": [{"msgid": p["msgid"], "subject": p["subject"], "counter": p["counter"],
                         "counts": p["counts"], "apply": rev.apply["patches"][p["msgid"]]["status"]}
                        for p in patches],
        }

    def _post(self, key: str, message_id: str) -> str:
        raw = self.store.artifact(key, "reply.eml")
        rcpts = recipients(raw)
        failed = []
        for poster in self.cfg.posters:
            state = self.store.post_state(key, poster.dest)
            if state in ("posted", "unconfirmed"):
                continue
            if state == "posting":  # a send was under way when a worker died
                found = poster.has(message_id)
                if found:
                    self.store.set_post(key, poster.dest, message_id, "posted",
                                        "found at the destination after a restart; not sent again")
                    self.log("info", "post found after a restart", series=key, destination=poster.dest)
                    continue
                if found is None:
                    self.store.set_post(key, poster.dest, message_id, "unconfirmed",
                                        "the worker died while sending; the destination cannot be asked, "
                                        "so it is not resent (at most once)")
                    self.log("warning", "post unconfirmed after a crash; not resent", series=key,
                             destination=poster.dest)
                    continue
            if not self.store.renew(key, self.worker):  # our lease ran out and another worker took over
                self.log("warning", "claim lost before posting; the new owner posts", series=key)
                return "lost"
            self.store.set_post(key, poster.dest, message_id, "posting")
            self.crash("posting")
            try:
                poster.send(raw, self.cfg.sender, rcpts)
            except (OSError, smtplib.SMTPException) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                self.store.set_post(key, poster.dest, message_id, "failed", reason)
                self.log("error", "post failed; retried next cycle", series=key, destination=poster.dest,
                         reason=reason)
                failed.append(reason)
                continue
            self.crash("sent")
            self.store.set_post(key, poster.dest, message_id, "posted")
            self.log("info", "posted", series=key, destination=poster.dest, message_id=message_id)
        if failed:
            self.store.release(key, self.worker, "; ".join(failed), 0)
            return "retry"
        # a dry run only previews: a later run with a real --post still sends the saved review
        self.store.finish(key, self.worker, "done" if self._sends() else "previewed")
        return "posted"

    def _sends(self) -> bool:
        return any(p.dest != "dry-run" for p in self.cfg.posters)

    # -- the loop
    def run(self, once: bool, interval: float, max_cycles: Optional[int] = None) -> None:
        cycles = 0
        while True:
            started = time.time()
            try:
                stats = self.cycle()
                self.log("info", "cycle done", seconds=round(time.time() - started, 2), **stats)
            except Exception as exc:  # e.g. the database or the source went away: try again next time
                if once:
                    raise
                self.log("error", "cycle failed; retried after the interval", reason=f"{type(exc).__name__}: {exc}")
            cycles += 1
            if once or (max_cycles is not None and cycles >= max_cycles):
                return
            time.sleep(max(0.0, interval - (time.time() - started)))


def _refs(raw: bytes) -> list:
    from ..ingest.mail import parse_message
    from ..model import Errors, Source
    m = parse_message(raw, Source("", ""), Errors())
    return [r for r in (m.in_reply_to, *m.references) if r] if m else []


def sender_domain(sender: str) -> str:
    from email.utils import getaddresses
    addr = getaddresses([sender])[0][1]
    return addr.rpartition("@")[2] or "localhost"


def status(store) -> dict:
    """What `reviewkit bot status` prints: every series version, with what was posted, and the totals."""
    series, latencies, failures = [], [], []
    for s in store.all_series():
        r = s["result"] or {}
        posted = [p for p in s["posts"] if p["state"] == "posted"]
        first_post = min((p["at"] for p in posted), default=None)
        latency = round(first_post - s["landed"], 3) if first_post else None
        if latency is not None:
            latencies.append(latency)
        item = {
            "key": s["key"], "title": s["title"], "version": s["version"], "sender": s["sender"],
            "state": s["state"], "complete": bool(s["complete"]), "patches": s["patches"], "total": s["total"],
            "msgids": s["msgids"], "duplicate_of": s["duplicate_of"], "attempts": s["attempts"],
            "takeovers": s["takeovers"],
            "landed": iso(s["landed"]), "queued": iso(s["queued"]), "reviewed": iso(s["reviewed_at"]),
            "done": iso(s["done_at"]), "message_id": s["message_id"],
            "findings": r.get("counts"), "apply": (r.get("apply") or {}).get("status"),
            "apply_problems": [pr for p in ((r.get("apply") or {}).get("patches") or {}).values()
                               for pr in p["problems"]],
            "notes": r.get("notes", []), "worker": s["claimed_by"], "error": s["error"],
            "posted": [{**p, "at": iso(p["at"])} for p in s["posts"]],
            "latency_seconds": latency,
        }
        series.append(item)
        if s["state"] == "failed":
            failures.append({"key": s["key"], "title": s["title"], "version": s["version"],
                             "reason": s["error"] or "unknown"})
        elif item["apply"] in ("failed", "partial"):
            failures.append({"key": s["key"], "title": s["title"], "version": s["version"],
                             "reason": "did not apply: " + "; ".join(item["apply_problems"][:3])})
        for p in s["posts"]:
            if p["state"] in ("failed", "unconfirmed"):
                failures.append({"key": s["key"], "title": s["title"], "version": s["version"],
                                 "reason": f"post to {p['destination']} {p['state']}: {p['note']}"})
    counts = {"series": len(series), "messages": store.message_count()}
    for item in series:
        counts[item["state"]] = counts.get(item["state"], 0) + 1
    counts["posts"] = sum(1 for i in series for p in i["posted"] if p["state"] == "posted")
    lat = sorted(latencies)
    latency = {"count": len(lat)}
    if lat:
        latency.update({"median": lat[len(lat) // 2], "p90": lat[min(len(lat) - 1, int(len(lat) * 0.9))],
                        "max": lat[-1]})
    return {"version": __version__, "errors": [], "series": series, "counts": counts, "latency_seconds": latency,
            "failures": failures}
