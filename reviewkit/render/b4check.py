"""b4's external check protocol, and checkpatch-style terse lines.

`b4 review` runs a per-patch (or per-series) check command with one mail on
standard input and reads a JSON list of results from standard output:

    [{"tool": "reviewkit", "status": "pass|warn|fail", "summary": "...", "url": "", "details": "..."}]

(`[]` = nothing to report: a mail without a diff, such as a cover letter.)
Configure it with

    git config b4.review-perpatch-check-cmd "reviewkit lint --format b4 -"

`terse` prints one line per finding the way `checkpatch.pl --terse
--show-types` does (`FILE:LINE: WARNING:TYPE: message`, ERROR/WARNING/CHECK
for error/warning/note), for anything that reads checkpatch output, such as
b4's `prep-perpatch-check-cmd`. b4 counts a line as failed when "ERROR:"
appears anywhere in it and as a warning otherwise, so only error findings
may contain it: in other lines (a message quoting "ERROR:") it is written
"ERROR :". Input problems (a hunk that did not apply) are WARNING lines:
they are about the check, not a fault of the patch.

In the review check JSON, `fail` means an error finding; warnings and notes
(checkpatch's CHECK) are `warn`, as b4 rates checkpatch's own CHECK lines.
"""
from __future__ import annotations

import json

from .fmt import by_patch, count, counts_text, patch_label, plural, where

TOOL = "reviewkit"
LEVEL = {"error": "ERROR", "warning": "WARNING", "note": "CHECK"}


def _one_line(s: str) -> str:
    return " ".join(str(s).split())


def _labelled(where: str, level: str, text: str) -> str:
    """"WHERE: LEVEL:text" on one line, with "ERROR:" nowhere unless it is an error (b4 fails such lines)."""
    line = f"{_one_line(where)}{': ' if where else ''}{level}:{_one_line(text)}"
    return line if level == "ERROR" else line.replace("ERROR:", "ERROR :")


def terse_line(f: dict) -> str:
    where_ = f"{f['path']}:{f['line']}" if f.get("path") and f.get("line") else (f.get("path") or "")
    fn = f" (in {f['function']}())" if f.get("function") else ""
    return _labelled(where_, LEVEL[f["severity"]], f"{f['rule']}: {f['message']}{fn}")


def terse(data: dict) -> str:
    lines = [terse_line(f) for _, _, items in by_patch(data, data["findings"]) for f in items]
    lines += [_labelled(e["input"], "WARNING", f"reviewkit/input: {e['message']}"
                        + (f" ({e['where']})" if e.get("where") else "")) for e in data.get("errors", [])]
    return "".join(line + "\n" for line in lines)


def _details(data: dict) -> str:
    out = []
    groups = by_patch(data, data["findings"])
    for mid, p, items in groups:
        if len(data.get("patches", {})) > 1 or mid not in data.get("patches", {}):
            out.append(f"{patch_label(p, mid or '')}:")
        for f in items:
            out.append(terse_line(f))
            if f.get("snippet") and f.get("path"):
                out += [f"    {ln.rstrip()}" for ln in f["snippet"].rstrip().split("\n")[:4]]
            if f.get("suggestion"):
                out.append(f"    fix: {_one_line(f['suggestion'])}")
            for r in f.get("related") or []:
                out.append(f"    see {where(r)}: {_one_line(r.get('note') or '')}")
    if data.get("resolved"):
        out.append("resolved by this patch: " + "; ".join(
            f"{where(f)}: {_one_line(f['message'])} [{f['rule']}]" for f in data["resolved"]))
    if data.get("waived"):
        out.append("waived: " + "; ".join(f"{f['rule']} at {where(f)} ({_one_line(f['waived'])})"
                                           for f in data["waived"]))
    for e in data.get("errors", []):
        out.append(f"problem: {e['input']}" + (f" ({e['where']})" if e.get("where") else "") + f": {e['message']}")
    if out:
        out.append("reviewkit rules --explain RULE says why a rule matters and how to fix it.")
    return "\n".join(out)


def results(data: dict) -> list:
    c = count(data["findings"])
    if not data.get("patches") and not data["findings"]:
        if data.get("errors"):  # nothing could be checked: say why
            return [{"tool": TOOL, "status": "warn",
                     "summary": f"not checked: {_one_line(data['errors'][0]['message'])}",
                     "url": "", "details": _details(data)}]
        return []  # a mail without a diff (a cover letter, a reply): nothing to report
    status = "fail" if c["error"] else "warn" if c["warning"] or c["note"] else "pass"
    n_rules = data.get("stats", {}).get("rules", len(data.get("rules", [])))
    summary = counts_text(c, zero=f"no findings ({plural(n_rules, 'rule')})")
    if data.get("resolved"):
        summary += f"; {len(data['resolved'])} resolved"
    return [{"tool": TOOL, "status": status, "summary": summary, "url": "", "details": _details(data)}]


def render(data: dict) -> str:
    return json.dumps(results(data), indent=2, ensure_ascii=False) + "\n"
