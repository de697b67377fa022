"""The Report as plain data: lint data plus what the HTML report and email replies need.

`report_data(parsed, lint)` returns the lint data (the JSON contract,
unchanged) with one more key, "report": the series, each patch's mail
headers, commit log, trailers and diff (hunks and lines), every finding
placed on the diff line it concerns, and the thread summary when one is
given. Renderers read only this dict; nothing here formats anything.

Findings are referred to by their index in `lint["findings"]` (and resolved
ones by their index in `lint["resolved"]`).
"""
from __future__ import annotations

import os
from typing import Optional

from ..model import Patch
from ..pipeline import Parsed
from .data import iso, person

SEVERITIES = ("error", "warning", "note")
COVER_CHARS = 20000  # a cover letter longer than this is cut in the report (the mail has it all)


def counts(findings: list) -> dict:
    return {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}


def _raw(m, name: str) -> Optional[str]:
    return next((v for k, v in m.headers if k.lower() == name.lower()), None)


def _addresses(value: Optional[str]) -> list:
    """Header addresses as [name, email] pairs (To/Cc of the patch mail, for reply-all). `value`
    is the raw header: addresses are split before names are decoded, so an encoded name cannot
    smuggle in an address or a comma."""
    from email.utils import getaddresses

    from ..ingest.mail import decode_words
    if not value:
        return []
    return [[decode_words(name), addr] for name, addr in getaddresses([" ".join(value.split())]) if addr]


def _line_key(f: dict) -> tuple:
    return (f["path"], f["side"], f["line"])


def _place(patch: Patch, items: list, key: str) -> dict:
    """Where each finding (index, finding) of this patch sits in its diff: {(file, hunk, line): [index...]}.

    A finding goes under the last diff line of its range (like a review comment); the other lines of the
    range are marked. A finding whose lines are not in the diff is not placed.
    """
    placed: dict = {}
    marks: dict = {}
    for i, f in items:
        if not f["path"] or not f["line"]:
            continue
        before = f.get("side") == "before"
        # the diff numbers lines as the patch does: where it applied at an offset, the tree's differ
        first = f.get("patch_line") or f["line"]
        last = first + max(0, (f.get("end_line") or f["line"]) - f["line"])
        spots = []
        for fi, fd in enumerate(patch.files):
            if (fd.old_path if before else fd.new_path) != f["path"]:
                continue
            for hi, h in enumerate(fd.hunks):
                for li, ln in enumerate(h.lines):
                    n = ln.old_line if before else ln.new_line
                    if n is not None and first <= n <= last and ln.kind in ("-" if before else "+", " "):
                        spots.append((fi, hi, li))
        if not spots:
            continue
        placed.setdefault(spots[-1], []).append(i)
        for spot in spots:
            marks.setdefault(spot, set()).add(f["severity"] if key == "findings" else "resolved")
    return {"at": placed, "marks": marks}


def _hunk_states(apply: Optional[dict]) -> dict:
    """{(path, hunk number): {"status", "reason"}} for the hunks that did not apply plainly."""
    if not apply:
        return {}
    out = {(h["file"], h["hunk"]): {"status": "failed", "reason": h["reason"]} for h in apply["failed_hunks"]}
    for p in apply["placements"]:
        how = f"fuzz {p['fuzz']}" if p["fuzz"] else ""
        if p["offset"]:
            how = ", ".join(filter(None, (how, f"{p['offset']:+d} lines")))
        out[(p["file"], p["hunk"])] = {"status": p["status"], "reason": f"placed at line {p['line']} ({how})"}
    return out


def _file_data(patch: Patch, fi: int, fd, found: dict, resolved: dict, states: dict) -> dict:
    hunks = []
    for hi, h in enumerate(fd.hunks):
        lines = []
        for li, ln in enumerate(h.lines):
            spot = (fi, hi, li)
            marks = sorted(found["marks"].get(spot, set()) | resolved["marks"].get(spot, set()))
            lines.append({"kind": ln.kind, "old": ln.old_line, "new": ln.new_line, "text": ln.text,
                          "findings": found["at"].get(spot, []), "resolved": resolved["at"].get(spot, []),
                          "marks": marks})
        header = f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@"
        hunks.append({"header": header, "section": h.section, "old_start": h.old_start, "old_len": h.old_len,
                      "new_start": h.new_start, "new_len": h.new_len, "lines": lines,
                      "no_newline_old": h.no_newline_old, "no_newline_new": h.no_newline_new,
                      "apply": states.get((fd.path, hi + 1))})
    return {"path": fd.path, "old_path": fd.old_path, "new_path": fd.new_path, "status": fd.status,
            "binary": fd.binary, "added": fd.added, "removed": fd.removed, "similarity": fd.similarity,
            "hunks": hunks}


def _trailer(t) -> dict:
    return {"key": t.key, "value": t.value, "person": person(t.person), "msgid": t.msgid or None,
            "given_by": person(t.given_by), "mismatch": t.mismatch}


def _patch_data(parsed: Parsed, msgid: str, n: int, series: Optional[int], lint: dict) -> dict:
    p = parsed.patches[msgid]
    m = p.message
    mine = [(i, f) for i, f in enumerate(lint["findings"]) if f["patch"] == msgid]
    gone = [(i, f) for i, f in enumerate(lint["resolved"]) if f["patch"] == msgid]
    found, resolved = _place(p, mine, "findings"), _place(p, gone, "resolved")
    placed = {i for ids in found["at"].values() for i in ids}
    placed_resolved = {i for ids in resolved["at"].values() for i in ids}
    apply = lint.get("patches", {}).get(msgid, {}).get("apply")
    states = _hunk_states(apply)
    return {
        "msgid": msgid, "anchor": f"p{n}", "number": n, "series": series,
        "subject": m.subject, "title": p.subject.title, "version": p.subject.version,
        "counter": p.subject.counter, "total": p.subject.total,
        "author": person(p.author), "date": iso(m.date),
        "mail": {"from": person(m.sender), "to": _addresses(_raw(m, "To")), "cc": _addresses(_raw(m, "Cc")),
                 "references": list(m.references), "in_reply_to": m.in_reply_to, "date": iso(m.date),
                 "synthetic_id": m.synthetic_id},
        "log": p.log, "notes": p.notes, "base_commit": p.base_commit,
        "trailers": [_trailer(t) for t in p.trailers],
        "followup_trailers": [_trailer(t) for t in p.followup_trailers],
        "files": [_file_data(p, fi, fd, found, resolved, states) for fi, fd in enumerate(p.files)],
        "apply": apply,
        "findings": [i for i, _ in mine], "unplaced": [i for i, _ in mine if i not in placed],
        "resolved": [i for i, _ in gone], "unplaced_resolved": [i for i, _ in gone if i not in placed_resolved],
        "counts": counts([f for _, f in mine]), "damaged": bool(p.repairs),
        "added": sum(fd.added for fd in p.files), "removed": sum(fd.removed for fd in p.files),
    }


def _series_data(parsed: Parsed, index: Optional[int], msgids: list, anchors: dict, lint: dict) -> dict:
    s = parsed.series[index] if index is not None else None
    cover = None
    if s is not None and s.cover:
        cm = parsed.message(s.cover)
        body = cm.body
        cover = {"msgid": cm.msgid, "subject": cm.subject, "from": person(cm.sender), "date": iso(cm.date),
                 "body": body[:COVER_CHARS], "cut": len(body) > COVER_CHARS}
    mine = [f for f in lint["findings"] if f["patch"] in set(msgids)]
    series_level = [i for i, f in enumerate(lint["findings"])
                    if f["patch"] is not None and s is not None and f["patch"] == s.cover]
    return {
        "index": index, "anchor": f"s{index}" if index is not None else "s-other",
        "title": s.title if s else "Patches outside any series",
        "version": s.version if s else None, "total": s.total if s else None,
        "rfc": s.is_rfc if s else False, "resend": s.is_resend if s else False,
        "sender": person(s.sender) if s else None, "date": iso(s.date) if s else None,
        "cover": cover, "missing": list(s.missing) if s else [], "complete": s.complete if s else True,
        "previous": s.previous if s else None,
        "patches": [anchors[m] for m in msgids],
        "findings": series_level, "counts": counts(mine),
        "resolved": sum(1 for f in lint["resolved"] if f["patch"] in set(msgids)),
    }


def report_title(parsed: Parsed) -> str:
    if len(parsed.series) == 1:
        s = parsed.series[0]
        return f"{s.title} ({'RFC ' if s.is_rfc else ''}v{s.version})"
    if parsed.series:
        return f"{len(parsed.series)} series"
    return ", ".join(os.path.basename(i.rstrip("/")) or i for i in parsed.inputs) or "no input"


def report_data(parsed: Parsed, lint: dict, summary: Optional[dict] = None) -> dict:
    """`lint` is `lint_data(...)` of the same run; `summary` is `summary_data(...)` or None."""
    order: list = []       # (series index or None, [patch msgids])
    seen: set = set()
    for i, s in enumerate(parsed.series):
        mids = [m for m in s.patches if m in parsed.patches and m not in seen]
        seen.update(mids)
        order.append((i, mids))
    rest = [m.msgid for m in parsed.messages if m.msgid in parsed.patches and m.msgid not in seen]
    if rest:
        order.append((None, rest))
    patches, anchors = [], {}
    for si, mids in order:
        for mid in mids:
            anchors[mid] = len(patches)
            patches.append(_patch_data(parsed, mid, len(patches), si, lint))
    series = [_series_data(parsed, si, mids, anchors, lint) for si, mids in order]
    known = set(anchors) | {s["cover"]["msgid"] for s in series if s["cover"]}
    loose = [i for i, f in enumerate(lint["findings"]) if f["patch"] not in known]
    return {**lint, "report": {
        "title": report_title(parsed), "series": series, "patches": patches,
        "loose_findings": loose, "counts": counts(lint["findings"]), "summary": summary,
        "messages": len(parsed.messages),
    }}


def thread_summary(parsed: Parsed, errors: list) -> Optional[dict]:
    """The thread summary as plain data, or None: no messages, or the summarizer failed (then an entry
    is appended to `errors`, the lint data's list of {"input", "where", "message"})."""
    if not parsed.messages:
        return None
    try:
        from ..review import summarize
        from .summary_data import summary_data
        return summary_data(summarize(parsed), bodies=True)
    except Exception as exc:  # the summary is a bonus: a bug there must not lose the lint report
        errors.append({"input": ", ".join(parsed.inputs), "where": "thread summary",
                       "message": f"not available ({type(exc).__name__}: {exc})"})
        return None
