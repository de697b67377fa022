"""Kernel-style review replies: one plain-text mail per patch with findings, as an mbox.

Each reply answers the patch mail (In-Reply-To, References, "Re: " subject,
To the author, Cc everyone the patch went to) and reads the way reviews do
on the lists:

    Hi Ann,

    reviewkit has 1 warning on this patch:           <- the short version first
      mm/evil.c:14: BUG_ON() crashes the kernel ... [mm/no-new-bug-on]

    base:      directory ~/linux
    status:    applied with 1 hunk moved (up to 3 lines)
    reproduce: reviewkit lint series.mbox --tree ~/linux

    On Tue, Jan 02, 2024 at 10:00:01AM +0000, Ann wrote:
    > @@ -10,6 +10,7 @@ int f(void)
    > +	BUG_ON(x);                                  <- the patch's own lines and numbers

    BUG_ON() crashes the kernel ...                   <- the comment under the line
    [mm/no-new-bug-on, warning, id 627fd656bb41a2ef]

    --
    reviewkit 0.1.0 (automated review); to silence one: Reviewkit-Waive: ID why

Findings carry tree line numbers; when a patch applied at an offset those
differ from the diff's, so a finding is placed by its `patch_line` when it has
one, else by the line of the hunk that shows its code. No HTML, no Markdown,
no Date or Message-ID (git send-email adds them). The headers and the body
encoding are made by `mail.py` (safe against hostile mail data).

    reviewkit lint series.mbox --tree ~/linux --format email -o review.mbox
    git send-email review.mbox

Needs the Report (`report_data`): the patches' headers and diffs.
"""
from __future__ import annotations

import shlex
import textwrap
from datetime import datetime
from typing import Optional

from .b4check import LEVEL
from .fmt import count, counts_text, plain_text, snippet_line, where
from .mail import PLACEHOLDER_FROM, Parent, mbox, one_line, reply

CONTEXT = 3          # lines quoted above the first line of a finding
LOG_LINES = 6        # lines of the commit message quoted for a commit-message finding
WIDTH = 72
# what wrote the mail, and the trailer that silences a finding (rules/waivers.py)
FOOTER = "reviewkit {version} (automated review); to silence one: Reviewkit-Waive: ID why"


def wrap(text: str, indent: str = "", first: Optional[str] = None) -> list:
    return textwrap.wrap(" ".join(plain_text(text).split()), WIDTH, initial_indent=indent if first is None else first,
                         subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [indent.rstrip()]


def _comment(f: dict, rules: dict) -> list:
    low = " (low confidence: the code did not parse cleanly)" if f.get("confidence") == "low" else ""
    out = wrap(f"{f['message']}{low}.".replace("..", "."))
    summary = rules.get(f["rule"], {}).get("summary")
    if summary and summary.lower() not in f["message"].lower():
        out += wrap(f"(The rule: {summary}.)".replace("..", "."))
    if f.get("suggestion"):
        out += [""] + wrap(f"Suggested fix: {f['suggestion']}")
    for r in f.get("related") or []:
        out += wrap(f"See also {where(r)}: {r.get('note') or ''}")
    out.append(f"[{f['rule']}, {f['severity']}, id {f['fingerprint']}]")
    return out


def _attribution(patch: dict) -> str:
    name = one_line((patch["author"] or {}).get("name") or (patch["author"] or {}).get("email")) or "you"
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


# -- where each finding goes in the patch ------------------------------------------------------------

def _number(ln: dict, before: bool) -> Optional[int]:
    return ln["old"] if before else ln["new"]


def _file_lines(patch: dict, f: dict):
    """(spot, line) for every diff line of the finding's file on its side: spot = (file, hunk, line)."""
    before = f.get("side") == "before"
    kinds = ("-", " ") if before else ("+", " ")
    for fi, fd in enumerate(patch["files"]):
        if (fd["old_path"] if before else fd["new_path"]) != f["path"]:
            continue
        for hi, h in enumerate(fd["hunks"]):
            for li, ln in enumerate(h["lines"]):
                if ln["kind"] in kinds and _number(ln, before) is not None:
                    yield (fi, hi, li), ln


def _locate(patch: dict, f: dict, placed_at: Optional[tuple]) -> Optional[tuple]:
    """(spot, first patch line) of a finding: by its patch_line; else where report_data put it (its
    line number equals a diff line's) when that line shows its code; else the diff line nearest to
    its tree line that shows its code (the patch applied at an offset). None: not in the diff."""
    if not f.get("path") or not f.get("line"):
        return None
    before = f.get("side") == "before"
    lines = list(_file_lines(patch, f))
    span = max(f["line"], f.get("end_line") or f["line"]) - f["line"]
    by_number = {_number(ln, before): spot for spot, ln in lines}
    if f.get("patch_line"):
        first = f["patch_line"]
        spot = by_number.get(first + span) or by_number.get(first)
        return (spot, first) if spot else None
    code = snippet_line(f)
    if placed_at is not None and (not code or any(code in ln["text"] for _, ln in lines
                                                  if f["line"] <= _number(ln, before) <= f["line"] + span)):
        return placed_at, f["line"]
    if not code:
        return None
    shows = [(abs(_number(ln, before) - f["line"]), _number(ln, before)) for _, ln in lines if code in ln["text"]]
    if not shows:
        return None
    first = min(shows)[1]
    return by_number.get(first + span) or by_number[first], first


def _placements(patch: dict, findings: list) -> tuple:
    """({spot: [finding index]}, {finding index: first patch line}, [unplaced indices])."""
    placed_at = {}
    for fi, fd in enumerate(patch["files"]):
        for hi, h in enumerate(fd["hunks"]):
            for li, ln in enumerate(h["lines"]):
                for n in ln["findings"]:
                    placed_at[n] = (fi, hi, li)
    spots: dict = {}
    first: dict = {}
    unplaced = []
    for n in patch["findings"]:
        f = findings[n]
        if not f.get("path"):
            continue
        got = _locate(patch, f, placed_at.get(n))
        if got is None:
            unplaced.append(n)
            continue
        spots.setdefault(got[0], []).append(n)
        first[n] = got[1]
    return spots, first, unplaced


# -- the body ----------------------------------------------------------------------------------------

def _diff_part(patch: dict, findings: list, rules: dict, spots: dict, first: dict) -> list:
    """The quoted hunks with comments under the lines they concern, in diff order."""
    out: list = []
    for fi, fd in enumerate(patch["files"]):
        file_started = False
        for hi, h in enumerate(fd["hunks"]):
            lines = h["lines"]
            hits = [li for li in range(len(lines)) if (fi, hi, li) in spots]
            if not hits:
                continue
            if not file_started:
                out += [_quote(x) for x in _file_header(fd)]
                file_started = True
            out.append(_quote(f"{h['header']}{(' ' + h['section']) if h['section'] else ''}"))
            shown = -1  # last line index quoted in this hunk
            for i in hits:
                items = [findings[n] for n in spots[(fi, hi, i)]]
                start_at = min(_range_start(lines, i, f, first[n]) for n, f in zip(spots[(fi, hi, i)], items))
                start = max(shown + 1, start_at - CONTEXT)
                if start > shown + 1:
                    out.append("> [...]")
                out += [_quote(ln["kind"] + ln["text"]) for ln in lines[start:i + 1]]
                shown = i
                for f in items:
                    out += [""] + _comment(f, rules) + [""]
            if shown < len(lines) - 1:
                out.append("> [...]")
    return out


def _range_start(lines: list, end: int, f: dict, first_line: int) -> int:
    """Index of the first diff line of finding f (which starts at patch line first_line), placed at `end`."""
    before = f.get("side") == "before"
    for i in range(end, -1, -1):
        n = _number(lines[i], before)
        if n is not None and n <= first_line:
            return i
    return end


def _log_part(patch: dict, items: list, rules: dict) -> list:
    """The commit message lines the findings are about (the line showing a finding's snippet, else
    the end of the message), each comment under its line."""
    log = [ln.rstrip() for ln in patch["log"].rstrip().split("\n")]
    at: dict = {}
    for f in items:
        code = snippet_line(f)
        hit = next((i for i in range(len(log) - 1, -1, -1) if code and code in log[i]), len(log) - 1)
        at.setdefault(hit, []).append(f)
    out: list = []
    shown = -1
    for i in sorted(at):
        start = max(shown + 1, i - (LOG_LINES - 1 if i == len(log) - 1 else CONTEXT))
        if start > shown + 1:
            out.append("> [...]")
        out += [_quote(ln) for ln in log[start:i + 1]]
        shown = i
        for f in at[i]:
            out += [""] + _comment(f, rules) + [""]
    if shown < len(log) - 1:
        out.append("> [...]")
    return out


def _tldr(patch: dict, findings: list, first: dict) -> list:
    mine = [findings[i] for i in patch["findings"]]
    out = [f"reviewkit has {counts_text(count(mine))} on this patch:"]
    for n in patch["findings"]:
        f = findings[n]
        at = f"{f['path']}:{first[n]}" if n in first else where(f)
        out += wrap(f"{at}: {LEVEL[f['severity']]}: {f['message']} [{f['rule']}]", indent="    ", first="  ")
    return out


def _context(patch: dict, data: dict, reproduce: Optional[str]) -> list:
    """The base/applied/reproduce lines: what the patch was checked against, how it applied, what the
    rules could not see, and how to run the same check."""
    tree = data.get("tree") or {}
    sources = [s for s in tree.get("sources") or [] if s != "no source tree"]
    pad = " " * 11
    out = wrap("; ".join(sources) if sources else "none: checked from the hunks alone (no --tree)", pad,
                "base:      ")
    applied = patch.get("apply") or (data.get("patches", {}).get(patch["msgid"]) or {}).get("apply") or {}
    if applied.get("status") not in (None, "no-tree"):
        out += wrap(applied.get("summary") or applied["status"], pad, "status:    ")
        for h in applied.get("failed_hunks") or []:
            out += wrap(f"{h['file']} hunk {h['hunk']}: {h['reason']}", pad, "           ")
        if (applied.get("analysis") or {}).get("note"):
            out += wrap(applied["analysis"]["note"], pad, "note:      ")
    else:  # no apply data: the run's errors that name this patch (a hunk that did not apply)
        for e in data.get("errors") or []:
            if patch["msgid"] in (e.get("where") or ""):
                out += wrap(e["message"], pad, "note:      ")
    if reproduce is None:
        reproduce = shlex.join(["reviewkit", "lint", *data.get("inputs", [])]) + (" --tree TREE" if sources else "")
    out += wrap(reproduce, pad, "reproduce: ")
    return out


def _greeting(patch: dict) -> str:
    name = one_line((patch["author"] or {}).get("name"))
    first = name.split()[0].strip(",\"'") if name and "@" not in name.split()[0] else ""
    return f"Hi {first}," if first else "Hi,"


def patch_body(patch: dict, data: dict, rules: dict, reproduce: Optional[str]) -> str:
    """The reply text for one patch (greeting, findings in short, base/status lines, quoted hunks with the
    comments under them); the bot joins these into one reply per series."""
    findings = data["findings"]
    spots, first, unplaced = _placements(patch, findings)
    log_items = [findings[i] for i in patch["findings"] if not findings[i]["path"]]
    out = [_greeting(patch), ""] + _tldr(patch, findings, first) + [""] + _context(patch, data, reproduce)
    out += ["", _attribution(patch)]
    if log_items:
        out += _log_part(patch, log_items, rules)
    out += _diff_part(patch, findings, rules, spots, first)
    if unplaced:
        out += ["", "Not in the quoted hunks:", ""]
        for n in unplaced:
            f = findings[n]
            fn = f" in {f['function']}()" if f.get("function") else ""
            out += [f"{where(f)}{fn}:"] + _comment(f, rules) + [""]
    out += ["", "-- ", FOOTER.format(version=data.get("version", ""))]
    text = "\n".join(out)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"


def _parent(patch: dict) -> Parent:
    """The patch mail: To its sender; Cc its To and Cc, and the patch's author when someone else sent it."""
    sender = patch["mail"]["from"] or patch["author"] or {}
    author = patch["author"] or {}
    extra = [(author.get("name") or "", author["email"])] if author.get("email") else []
    return Parent(subject=patch["subject"], msgid=None if patch["mail"].get("synthetic_id") else patch["msgid"],
                  references=patch["mail"]["references"],
                  author=(sender.get("name") or "", sender.get("email") or "") if sender else None,
                  to=[tuple(p) for p in patch["mail"]["to"]], cc=[tuple(p) for p in patch["mail"]["cc"]] + extra)


def replies(data: dict, sender: str = PLACEHOLDER_FROM, reproduce: Optional[str] = None) -> list:
    """One reply per patch with findings; recipients that cannot be written go to data["errors"]."""
    rules = {r["id"]: r for r in data.get("rules", [])}
    errors = data.setdefault("errors", [])
    return [reply(_parent(p), patch_body(p, data, rules, reproduce), sender, errors=errors,
                  extra_headers=[("X-Reviewkit-Findings", str(len(p["findings"])))])
            for p in data["report"]["patches"] if p["findings"]]


def render(data: dict, sender: str = PLACEHOLDER_FROM, reproduce: Optional[str] = None) -> str:
    """All replies as one mbox ("" when there is nothing to say)."""
    return mbox(replies(data, sender, reproduce))
