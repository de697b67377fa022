"""One series version through the lint/report pipeline: what `reviewkit report` does for a file.

The series' mails (and the replies already in its thread, for the summary) are
written to a temporary mbox and read by `lint_input`, exactly as `reviewkit
lint`/`report` read a file; the tree is `--tree`, read at the series'
`base-commit:` when it is a git repository that has it (in memory: the user's
checkout is never touched).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Optional

from .. import __version__
from ..commands.lint import lint_input
from ..render import b4check, html
from ..render.report_data import report_data, thread_summary

_FROM_QUOTE = re.compile(rb"(?m)^(>*From )")


def parse_mails(mails: list, label: str):
    """parse_inputs() over raw mails, read as an mbox (errors name `label`)."""
    from ..pipeline import parse_inputs
    with tempfile.TemporaryDirectory(prefix="reviewkit-bot-") as tmp:
        path = os.path.join(tmp, "mails.mbox")
        with open(path, "wb") as fh:
            fh.write(mboxrd(mails))
        parsed = parse_inputs([path])
    return parsed


def patch_id(files) -> str:
    """A content id of a patch's diff that ignores line numbers and whitespace (like `git patch-id
    --stable`), so a resend of the same code gets the same id."""
    h = hashlib.sha1()
    for fd in files:
        h.update(f"{fd.old_path}\0{fd.new_path}\0".encode())
        for hunk in fd.hunks:
            for ln in hunk.lines:
                if ln.kind != " ":
                    h.update(ln.kind.encode() + "".join(ln.text.split()).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def identity(version: int, patch_ids: list) -> str:
    """Same version, same diffs: a resend of the same series version."""
    return hashlib.sha256(f"v{version}\n".encode() + "\n".join(patch_ids).encode()).hexdigest()


def review_message_id(key: str, ident: str, domain: str) -> str:
    """The reply's Message-ID: the same for the same series version and reviewkit version, so a resend
    after a crash can be recognised at the destination."""
    digest = hashlib.sha256(f"{key}\n{ident}\n{__version__}".encode()).hexdigest()[:32]
    return f"<reviewkit-{digest}@{domain}>"


def mboxrd(mails: list) -> bytes:
    out = []
    for raw in mails:
        body = _FROM_QUOTE.sub(rb">\1", raw.replace(b"\r\n", b"\n"))
        out.append(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + body + (b"" if body.endswith(b"\n") else b"\n")
                   + b"\n")
    return b"".join(out)


@dataclass
class Review:
    data: dict          # report data (lint data + "report"), as `reviewkit report` renders it
    series: int         # index of the reviewed series in data["report"]["series"]
    html: str
    b4: dict            # "<counter or n>.json" -> b4 check JSON of that patch
    apply: dict         # {"status": ..., "patches": {msgid: status}, "notes": [...]}


def _apply_status(data: dict, msgids: list) -> dict:
    """The series' apply status from its patches' (`patches[msgid].apply` of the lint data)."""
    per = {}
    for mid in msgids:
        a = (data["patches"].get(mid) or {}).get("apply") or {}
        problems = [f"{h['file']} hunk {h['hunk']}: {h['reason']}" for h in a.get("failed_hunks") or []]
        per[mid] = {"status": a.get("status", "no-tree"), "summary": a.get("summary", ""), "problems": problems}
    states = {p["status"] for p in per.values()}
    status = ("failed" if states == {"failed"} else "partial" if states & {"failed", "partial"}
              else "already-applied" if states == {"already-applied"} else states.pop() if len(states) == 1
              else "applied")
    return {"status": status, "patches": per, "notes": (data.get("tree") or {}).get("notes", [])}


def review(mails: list, anchor: str, label: str, tree: Optional[str], checkpatch: bool = True,
           config: Optional[str] = None) -> Optional[Review]:
    """Review the series version whose cover (or first patch) is `anchor`; None when the mails hold
    no such series (then there is nothing to review)."""
    with tempfile.TemporaryDirectory(prefix="reviewkit-bot-") as tmp:
        path = os.path.join(tmp, "series.mbox")
        with open(path, "wb") as fh:
            fh.write(mboxrd(mails))
        args = argparse.Namespace(inputs=[path], tree=tree, base=None, fail_on="never", filter="added",
                                  config=config, checkpatch=checkpatch, rules=[], select=[], ignore=[],
                                  input_format="auto", quiet=True, output=None)
        parsed, result, data = lint_input(args)
    for e in data["errors"]:  # the temporary file means nothing to a reader: name the series
        if e["input"] == path:
            e["input"] = label
    data["inputs"] = [label]
    index = next((i for i, s in enumerate(parsed.series) if s.cover == anchor or anchor in s.patches), None)
    if result is None or index is None:
        return None
    summary = thread_summary(parsed, data["errors"])
    rdata = report_data(parsed, data, summary)
    rseries = next(s for s in rdata["report"]["series"] if s["index"] == index)
    patches = [rdata["report"]["patches"][n] for n in rseries["patches"]]
    b4 = {}
    for n, p in enumerate(patches, 1):
        mid = p["msgid"]
        one = {**data, "findings": [f for f in data["findings"] if f["patch"] == mid],
               "resolved": [f for f in data["resolved"] if f["patch"] == mid],
               "waived": [f for f in data.get("waived", []) if f["patch"] == mid],
               "patches": {mid: data["patches"][mid]},
               "errors": [e for e in data["errors"] if mid in (e.get("where") or "")]}
        b4[f"{p['counter'] or n:04d}.json"] = b4check.render(one)
    series_pos = rdata["report"]["series"].index(rseries)
    return Review(rdata, series_pos, html.render(rdata), b4, _apply_status(data, [p["msgid"] for p in patches]))
