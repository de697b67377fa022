"""The parsed model as plain data (dicts, lists, strings): what every format renders.

The keys below are the JSON contract of ARCHITECTURE.md; add fields freely,
never rename or remove one.
"""
from __future__ import annotations

from typing import Optional

from .. import __version__
from ..model import FileDiff, Message, Patch, Person, Series, Subject, Thread, Trailer
from ..pipeline import Parsed


def person(p: Optional[Person]) -> Optional[dict]:
    return None if p is None else {"name": p.name, "email": p.email}


def iso(dt) -> Optional[str]:
    return dt.isoformat() if dt is not None else None


def subject_data(s: Subject) -> dict:
    return {"title": s.title, "prefixes": list(s.prefixes), "version": s.version, "counter": s.counter,
            "total": s.total, "is_reply": s.is_reply, "rfc": s.is_rfc, "resend": s.is_resend,
            "list_tags": list(s.list_tags)}


def message_data(m: Message, kind: str, subject: Subject, quoted_diffs: Optional[list] = None) -> dict:
    d = {
        "msgid": m.msgid, "subject": m.subject, "from": person(m.sender), "date": iso(m.date),
        "in_reply_to": m.in_reply_to, "references": list(m.references), "kind": kind,
        "parsed_subject": subject_data(subject), "synthetic_id": m.synthetic_id,
        "source": {"input": m.source.input, "where": m.source.where},
    }
    if m.capture:  # read from a web capture: how each field was recovered, what the page lacked
        d["capture"] = dict(m.capture)
        d["quoted_only"] = m.quoted_only
    if m.repairs:
        d["repairs"] = [r.as_dict() for r in m.repairs]
    if quoted_diffs:
        d["quoted_diffs"] = [{**q.as_dict(), "files": [file_data(f) for f in files]} for q, files in quoted_diffs]
    return d


def trailer_data(t: Trailer) -> dict:
    d = {"key": t.key, "value": t.value, "person": person(t.person)}
    if t.comment:
        d["comment"] = t.comment
    if t.msgid:
        d["msgid"] = t.msgid
        d["given_by"] = person(t.given_by)
        d["mismatch"] = t.mismatch
    return d


def file_data(f: FileDiff) -> dict:
    return {"old_path": f.old_path, "new_path": f.new_path, "path": f.path, "status": f.status,
            "binary": f.binary, "added": f.added, "removed": f.removed,
            "hunks": [{"old": [h.old_start, h.old_len], "new": [h.new_start, h.new_len], "section": h.section}
                      for h in f.hunks]}


def patch_data(p: Patch) -> dict:
    return {
        "msgid": p.message.msgid, "title": p.subject.title, "author": person(p.author),
        "trailers": [trailer_data(t) for t in p.trailers],
        "followup_trailers": [trailer_data(t) for t in p.followup_trailers],
        "files": [file_data(f) for f in p.files], "diffstat": [list(d) for d in p.diffstat],
        "base_commit": p.base_commit, "prerequisite_patch_ids": list(p.prerequisites),
        "pull_url": p.pull_url, "notes": p.notes,
        # a patch rebuilt from a damaged web capture says so: what was repaired, how sure, what is lost
        "repairs": [r.as_dict() for r in p.repairs], "damaged": bool(p.repairs),
    }


def thread_data(t: Thread) -> dict:
    return {"root": t.root, "messages": list(t.messages), "parent": dict(t.parent)}


def series_data(s: Series, index: int) -> dict:
    return {
        "index": index, "version": s.version, "total": s.total, "title": s.title, "sender": person(s.sender),
        "date": iso(s.date), "cover": s.cover, "patches": list(s.patches), "counters": list(s.counters),
        "complete": s.complete, "missing": list(s.missing), "previous_version": s.previous,
        "followups": {k: list(v) for k, v in s.followups.items()}, "rfc": s.is_rfc, "resend": s.is_resend,
    }


def parse_data(parsed: Parsed, lazy: bool = False) -> dict:
    """`lazy`: the long lists are generators, made as they are written (a whole archive's
    dicts are never all held at once)."""
    seq = iter if lazy else list
    return {
        "version": __version__,
        "command": "parse",
        "inputs": parsed.inputs,
        "errors": [e.as_dict() for e in parsed.errors],
        "messages": seq(message_data(m, parsed.kinds[m.msgid], parsed.subjects[m.msgid],
                                     parsed.quoted_diffs.get(m.msgid)) for m in parsed.messages),
        "threads": seq(thread_data(t) for t in parsed.threads),
        "series": seq(series_data(s, i) for i, s in enumerate(parsed.series)),
        "patches": seq(patch_data(parsed.patches[m.msgid]) for m in parsed.messages if m.msgid in parsed.patches),
        "stats": parsed.stats,
    }
