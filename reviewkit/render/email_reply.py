"""Kernel-style review replies: one plain-text mail per patch with findings, as an mbox.

Each reply answers the patch mail (In-Reply-To, References, "Re: " subject,
To the author, Cc everyone the patch went to), quotes only the hunk lines a
finding is about (with "> ", "[...]" where lines are trimmed) and puts the
comment inline under them, the way reviewers reply on the lists. No HTML,
no Date or Message-ID (git send-email adds them), 8-bit UTF-8 text.

    reviewkit lint series.mbox --tree ~/linux --format email -o review.mbox
    git send-email --from "You <you@example.org>" review.mbox

Needs the Report (`report_data`): the patches' headers and diffs.
"""
from __future__ import annotations

import email.policy
import textwrap
from datetime import datetime
from email.generator import Generator
from email.message import EmailMessage
from email.utils import formataddr
from io import StringIO
from typing import Optional

from .fmt import where

CONTEXT = 3          # lines quoted above the first line of a finding
LOG_LINES = 6        # lines of the commit message quoted for a commit-message finding
WIDTH = 72
POLICY = email.policy.default.clone(max_line_length=998, linesep="\n")  # headers unfolded: a folded Subject reads back with a leading space
UNIXFROM = "From reviewkit Thu Jan  1 00:00:00 1970"


def _wrap(text: str, indent: str = "") -> list:
    return textwrap.wrap(" ".join(text.split()), WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def _comment(f: dict, rules: dict) -> list:
    low = " (low confidence: the code did not parse cleanly)" if f.get("confidence") == "low" else ""
    out = _wrap(f"{f['message']}{low}.".replace("..", "."))
    summary = rules.get(f["rule"], {}).get("summary")
    if summary and summary.lower() not in f["message"].lower():
        out += _wrap(f"(The rule: {summary}.)".replace("..", "."))
    if f.get("suggestion"):
        out += [""] + _wrap(f"Suggested fix: {f['suggestion']}")
    for r in f.get("related") or []:
        out += _wrap(f"See also {where(r)}: {r.get('note') or ''}")
    out.append(f"[{f['rule']}]")
    return out


def _attribution(patch: dict) -> str:
    name = (patch["author"] or {}).get("name") or (patch["author"] or {}).get("email") or "you"
    date = patch["mail"].get("date")
    if not date:
        return f"{name} wrote:"
    d = datetime.fromisoformat(date)
    zone = d.strftime("%z") if d.tzinfo else ""
    return f"On {d.strftime('%a, %b %d, %Y at %I:%M:%S%p')} {zone}, {name} wrote:".replace("  ", " ").replace(
        " ,", ",")


def _quote(line: str) -> str:
    return ">" if not line else f"> {line}"


def _file_header(fd: dict) -> list:
    old = fd["old_path"] or fd["new_path"]
    new = fd["new_path"] or fd["old_path"]
    return [f"diff --git a/{old} b/{new}",
            f"--- {'a/' + fd['old_path'] if fd['old_path'] else '/dev/null'}",
            f"+++ {'b/' + fd['new_path'] if fd['new_path'] else '/dev/null'}"]


def _diff_part(patch: dict, findings: list, rules: dict) -> list:
    """The quoted hunks with comments under the lines they concern, in diff order."""
    out: list = []
    for fd in patch["files"]:
        file_started = False
        for h in fd["hunks"]:
            lines = h["lines"]
            hits = [i for i, ln in enumerate(lines) if ln["findings"]]
            if not hits:
                continue
            if not file_started:
                out += [_quote(x) for x in _file_header(fd)]
                file_started = True
            out.append(_quote(f"{h['header']}{(' ' + h['section']) if h['section'] else ''}"))
            shown = -1  # last line index quoted in this hunk
            for i in hits:
                items = [findings[n] for n in lines[i]["findings"]]
                first = min(_range_start(lines, i, f) for f in items)
                start = max(shown + 1, first - CONTEXT)
                if start > shown + 1:
                    out.append("> [...]")
                out += [_quote(ln["kind"] + ln["text"]) for ln in lines[start:i + 1]]
                shown = i
                for f in items:
                    out += [""] + _comment(f, rules) + [""]
            if shown < len(lines) - 1:
                out.append("> [...]")
    return out


def _range_start(lines: list, end: int, f: dict) -> int:
    """Index of the first diff line of finding f, which is placed at `end`."""
    before = f.get("side") == "before"
    for i in range(end, -1, -1):
        n = lines[i]["old"] if before else lines[i]["new"]
        if n is not None and n <= f["line"]:
            return i
    return end


def _log_part(patch: dict, items: list, rules: dict) -> list:
    log = [ln.rstrip() for ln in patch["log"].rstrip().split("\n")]
    tail = log[-LOG_LINES:]
    out = []
    if len(log) > len(tail):
        out.append("> [...]")
    out += [_quote(ln) for ln in tail]
    for f in items:
        out += [""] + _comment(f, rules) + [""]
    return out


def _body(patch: dict, data: dict, rules: dict) -> str:
    findings = data["findings"]
    mine = [findings[i] for i in patch["findings"]]
    log_items = [f for f in mine if not f["path"]]
    unplaced = [findings[i] for i in patch["unplaced"] if findings[i]["path"]]
    out = ["Hi,", "", _attribution(patch)]
    if log_items:
        out += _log_part(patch, log_items, rules)
    out += _diff_part(patch, findings, rules)
    if unplaced:
        out += ["", "Outside the quoted hunks:", ""]
        for f in unplaced:
            fn = f" in {f['function']}()" if f.get("function") else ""
            out += [f"{where(f)}{fn}:"] + _comment(f, rules) + [""]
    out += [""] + _wrap("These comments come from reviewkit's mm rules; `reviewkit rules --explain RULE` says why "
                        "each rule matters. Please say if one of them is wrong for this patch.")
    out += ["", "-- ", f"reviewkit {data.get('version', '')}"]
    text = "\n".join(out)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"


def _addr(pair) -> Optional[str]:
    if not pair:
        return None
    name, mail = (pair.get("name"), pair.get("email")) if isinstance(pair, dict) else pair
    if not mail:
        return None
    return formataddr((" ".join((name or "").split()), mail))


def _subject(subject: str) -> str:
    s = " ".join(subject.split())
    return s if s.lower().startswith("re:") else f"Re: {s}"


def reply(patch: dict, data: dict, rules: dict) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    author = patch["mail"]["from"] or patch["author"]
    to = [a for a in [_addr(author)] if a]
    seen = {(author or {}).get("email", "").lower()}
    cc = []
    for pair in patch["mail"]["to"] + patch["mail"]["cc"]:  # reply to all, as the lists expect
        if pair[1].lower() not in seen:
            seen.add(pair[1].lower())
            cc.append(_addr(pair))
    if to:
        msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = _subject(patch["subject"])
    if not patch["mail"].get("synthetic_id"):
        msg["In-Reply-To"] = patch["msgid"]
        refs = [r for r in patch["mail"]["references"] if r != patch["msgid"]] + [patch["msgid"]]
        msg["References"] = " ".join(refs)
    body = _body(patch, data, rules)
    long_lines = any(len(ln.encode("utf-8")) > 990 for ln in body.split("\n"))
    msg.set_content(body, charset="utf-8", cte="quoted-printable" if long_lines else "8bit")
    msg["X-Reviewkit-Findings"] = str(len(patch["findings"]))
    return msg


def replies(data: dict) -> list:
    rules = {r["id"]: r for r in data.get("rules", [])}
    return [reply(p, data, rules) for p in data["report"]["patches"] if p["findings"]]


def render(data: dict) -> str:
    """All replies as one mbox (empty when there is nothing to say)."""
    return _mbox(replies(data))


def _mbox(messages: list) -> str:
    chunks = []
    for msg in messages:
        out = StringIO()
        out.write(UNIXFROM + "\n")
        Generator(out, mangle_from_=True, policy=POLICY).flatten(msg, unixfrom=False)
        text = out.getvalue()
        chunks.append(text if text.endswith("\n") else text + "\n")
    return "\n".join(chunks)
