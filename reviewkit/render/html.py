"""The HTML report: one self-contained page per run (CSS and script inline, nothing fetched).

For each series: an overview (patches, version, trailers, finding counts),
the thread summary when there is one, then every patch with its commit
message and its diff, syntax-highlighted (Pygments), with each finding
shown under the lines it concerns; resolved and waived findings, the
problems met reading the input, and the rules' documentation.

Like coverage.py's HTML report, this module turns the Report into view data
and the Jinja2 templates only loop over it and print it (autoescape on: no
value from a mail reaches the page unescaped). A Content-Security-Policy
allows only the page's own script, by hash.
"""
from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .fmt import counts_text, plural, where
from .lint_data import UNANALYSED, coverage_text, finding_where, not_whole

TEMPLATES = Path(__file__).resolve().parent / "templates"
SEVERITIES = ("error", "warning", "note")
OPEN_LINES = 600         # a clean patch's files start expanded when the patch is this small
TRAILER_ABBREV = {"Reviewed-by": "R-b", "Acked-by": "A-b", "Tested-by": "T-b", "Signed-off-by": "S-o-b",
                  "Reported-by": "Rep-b", "Suggested-by": "Sug-b", "Co-developed-by": "Co-dev", "Fixes": "Fixes"}
REVIEW_TRAILERS = ("Reviewed-by", "Acked-by", "Tested-by", "Nacked-by")


# -- syntax highlighting -------------------------------------------------------------------------

def _token_classes():
    from pygments.token import Comment, Keyword, Name, Number, Operator, String
    return [(Comment.PreprocFile, "s"), (Comment.Preproc, "pp"), (Comment, "c"), (Keyword.Type, "t"),
            (Keyword, "k"), (Operator.Word, "k"), (Name.Builtin, "t"), (Name.Function, "f"), (Name.Label, "l"),
            (String, "s"), (Number, "m")]


_MACRO = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")


@lru_cache(maxsize=64)
def _lexer(ext: str):
    try:
        from pygments.lexers import get_lexer_for_filename
        from pygments.util import ClassNotFound
    except ImportError:  # highlighting is a nicety: without Pygments the diff is plain
        return None
    try:
        return get_lexer_for_filename(f"x{ext}", stripnl=False, stripall=False, ensurenl=False)
    except ClassNotFound:
        return None


@lru_cache(maxsize=4096)
def _class_of(ttype) -> str:
    from pygments.token import Name
    for base, cls in _token_classes():
        if ttype in base:
            return cls
    return "" if ttype not in Name else "n"


def _tokenize(lexer, lines: list) -> list:
    """[[(class, text), ...] per line] for lines lexed as one piece of code."""
    out: list = [[]]
    for ttype, value in lexer.get_tokens("\n".join(lines)):
        cls = _class_of(ttype)
        if cls == "n":
            cls = "mac" if _MACRO.match(value) else ""
        for i, part in enumerate(value.split("\n")):
            if i:
                out.append([])
            if part:
                row = out[-1]
                if row and row[-1][0] == cls:
                    row[-1] = (cls, row[-1][1] + part)
                else:
                    row.append((cls, part))
    while len(out) < len(lines):
        out.append([])
    return out[:len(lines)]


# Pygments' C lexer backtracks badly on very long lines (a 200 kB line of spaces takes minutes):
# hunks with a line longer than this are shown plain.
MAX_HIGHLIGHT_LINE = 2000


def highlight_hunk(path: str, lines: list) -> list:
    """Segments for each diff line: the new side (context and added lines) and the old side (context and
    removed lines) are lexed separately, so a comment or string opened on one side does not leak."""
    lexer = _lexer(Path(path).suffix.lower()) if path else None
    if lexer is None or any(len(ln["text"]) > MAX_HIGHLIGHT_LINE for ln in lines):
        return [[("", ln["text"])] if ln["text"] else [] for ln in lines]
    new_idx = [i for i, ln in enumerate(lines) if ln["kind"] in " +"]
    old_idx = [i for i, ln in enumerate(lines) if ln["kind"] == "-"]
    old_ctx = [i for i, ln in enumerate(lines) if ln["kind"] in " -"]
    segs: list = [[] for _ in lines]
    for i, row in zip(new_idx, _tokenize(lexer, [lines[i]["text"] for i in new_idx])):
        segs[i] = row
    old_rows = dict(zip(old_ctx, _tokenize(lexer, [lines[i]["text"] for i in old_ctx])))
    for i in old_idx:
        segs[i] = old_rows[i]
    return segs


# -- rule documentation ---------------------------------------------------------------------------

_INLINE = re.compile(r"(\*\*[^*]+\*\*|`[^`]+`)")


def _inline(text: str) -> list:
    parts = []
    for piece in _INLINE.split(text):
        if not piece:
            continue
        if piece.startswith("**") and piece.endswith("**") and len(piece) > 4:
            parts.append({"t": piece[2:-2], "c": "b"})
        elif piece.startswith("`") and piece.endswith("`") and len(piece) > 2:
            parts.append({"t": piece[1:-1], "c": "code"})
        else:
            parts.append({"t": piece, "c": ""})
    return parts


def doc_blocks(doc: str) -> list:
    """A rule's docstring as paragraphs (with **bold** and `code`) and indented code blocks."""
    blocks = []
    for chunk in re.split(r"\n\s*\n", doc.strip()):
        lines = chunk.split("\n")
        if all(ln.startswith("    ") or not ln.strip() for ln in lines):
            if blocks and blocks[-1]["kind"] == "pre":  # code blocks separated by a blank line stay one
                blocks[-1]["text"] += "\n\n" + "\n".join(ln[4:] for ln in lines)
            else:
                blocks.append({"kind": "pre", "text": "\n".join(ln[4:] for ln in lines)})
        else:
            blocks.append({"kind": "p", "parts": _inline(" ".join(ln.strip() for ln in lines))})
    return blocks


# -- view data ------------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _finding_view(f: dict, fid: str, rules: dict, patch_anchor: Optional[str], kind: str = "finding",
                  snippet: bool = False) -> dict:
    rule = rules.get(f["rule"], {})
    return {"rule_doc": rule.get("blocks", []), "show_snippet": snippet and bool(f.get("snippet")),
        "id": fid, "kind": kind, "severity": f["severity"], "message": f["message"], "rule": f["rule"],
        "rule_anchor": "rule-" + _slug(f["rule"]), "rule_summary": rule.get("summary", ""),
        "where": finding_where(f), "function": f.get("function"), "suggestion": f.get("suggestion", ""),
        "suggestion_parts": _inline(f.get("suggestion", "")), "message_parts": _inline(f["message"]),
        "related": [{"where": where(r), "note": r.get("note", "")} for r in f.get("related") or []],
        "low": f.get("confidence") == "low", "fingerprint": f["fingerprint"], "snippet": f.get("snippet", ""),
        "side": "removed line" if f.get("side") == "before" else "", "waived": f.get("waived", ""),
        "patch_anchor": patch_anchor,
    }


def _trailer_chips(p: dict) -> list:
    given: dict = {}
    for t in p["trailers"] + p["followup_trailers"]:
        if t["key"] in REVIEW_TRAILERS:
            given.setdefault(t["key"], set()).add(((t["person"] or {}).get("email") or t["value"]).lower())
    return [{"key": TRAILER_ABBREV.get(k, k), "title": k, "n": len(v)} for k, v in sorted(given.items())]


def _trailers(p: dict) -> list:
    out = [{"key": t["key"], "value": t["value"], "from": "commit", "mismatch": False} for t in p["trailers"]]
    for t in p["followup_trailers"]:
        by = (t.get("given_by") or {}).get("name") or (t.get("given_by") or {}).get("email") or ""
        out.append({"key": t["key"], "value": t["value"], "from": f"reply by {by}" if by else "reply",
                    "mismatch": t.get("mismatch", False)})
    return out


def _file_view(fd: dict, p: dict, data: dict, fids: dict, rules: dict, open_files: bool) -> dict:
    hunks = []
    n_findings = 0
    worst = 2
    for h in fd["hunks"]:
        segs = highlight_hunk(fd["path"], h["lines"])
        rows = []
        for ln, seg in zip(h["lines"], segs):
            notes = [_finding_view(data["findings"][i], fids[("f", i)], rules, p["anchor"]) for i in ln["findings"]]
            notes += [_finding_view(data["resolved"][i], fids[("r", i)], rules, p["anchor"], "resolved")
                      for i in ln["resolved"]]
            n_findings += len(ln["findings"])
            worst = min([worst] + [SEVERITIES.index(data["findings"][i]["severity"]) for i in ln["findings"]])
            cls = {"+": "add", "-": "del", " ": "ctx"}.get(ln["kind"], "ctx")
            marks = " ".join(f"m-{m}" for m in ln["marks"])
            rows.append({"cls": f"{cls} {marks}".strip(), "old": ln["old"] or "", "new": ln["new"] or "",
                         "sign": ln["kind"], "segs": seg, "notes": notes})
        hunks.append({"header": h["header"], "section": h["section"], "rows": rows,
                      "no_newline": h["no_newline_old"] or h["no_newline_new"], "apply": _hunk_badge(h)})
    status = {"added": "new file", "deleted": "deleted", "renamed": "renamed", "copied": "copied",
              "mode": "mode change"}.get(fd["status"], "")
    return {"path": fd["path"], "old_path": fd["old_path"] if fd["status"] in ("renamed", "copied") else None,
            "status": status, "added": fd["added"], "removed": fd["removed"], "binary": fd["binary"],
            "hunks": hunks, "findings": n_findings, "worst": SEVERITIES[worst], "open": open_files or n_findings > 0}


# a short badge per apply status; None: nothing to show (applied where the header says)
APPLY_BADGES = {"partial": "partly applied", "failed": "not applied", "already-applied": "already in tree",
                "fuzz": "fuzz", "offset": "offset", "no-tree": None, "applied": None}


def _apply_view(p: dict) -> dict:
    """The patch's apply badge: its label, the sentence behind it, and whether the rules saw it whole."""
    a = p.get("apply")
    if not a:
        return {"status": "", "label": None, "summary": "", "note": "", "whole": True}
    note = (a.get("analysis") or {}).get("note", "")
    return {"status": a["status"], "label": APPLY_BADGES.get(a["status"], a["status"]) or ("partly analysed" if note else None),
            "summary": a["summary"], "note": note, "whole": a["status"] not in UNANALYSED and not note}


def _hunk_badge(h: dict) -> Optional[dict]:
    a = h.get("apply")
    if not a:
        return None
    return {"status": a["status"], "label": "did not apply" if a["status"] == "failed" else a["status"],
            "reason": a["reason"]}


def _patch_view(p: dict, data: dict, fids: dict, rules: dict) -> dict:
    c = p["counts"]
    size = sum(len(h["lines"]) for fd in p["files"] for h in fd["hunks"])
    has = bool(p["findings"] or p["resolved"]) or not _apply_view(p)["whole"]
    author = p["author"] or {}
    return {
        "anchor": p["anchor"], "msgid": p["msgid"], "subject": p["subject"], "title": p["title"],
        "label": f"{p['counter']}/{p['total'] or '?'}" if p["counter"] else "", "version": p["version"],
        "author": author.get("name") or author.get("email") or "", "email": author.get("email") or "",
        "date": (p["date"] or "")[:10], "log": p["log"].rstrip(), "notes": p["notes"].strip(),
        "trailers": _trailers(p), "chips": _trailer_chips(p),
        "counts": [{"sev": s, "n": c[s]} for s in SEVERITIES if c[s]], "n_findings": len(p["findings"]),
        "n_resolved": len(p["resolved"]), "open": has,
        "added": p["added"], "removed": p["removed"], "damaged": p["damaged"],
        "unplaced": [_finding_view(data["findings"][i], fids[("f", i)], rules, p["anchor"], snippet=True)
                     for i in p["unplaced"]],
        "unplaced_resolved": [_finding_view(data["resolved"][i], fids[("r", i)], rules, p["anchor"], "resolved",
                                            snippet=True) for i in p["unplaced_resolved"]],
        "files": [_file_view(fd, p, data, fids, rules, has or size <= OPEN_LINES) for fd in p["files"]],
        "apply": _apply_view(p),
    }


def _person(d: Optional[dict]) -> str:
    d = d or {}
    return d.get("name") or d.get("email") or "?"


def _summary_view(summary: Optional[dict], anchors: dict) -> list:
    """The thread summary (summary_data) per series: what the HTML shows of it."""
    if not summary:
        return []
    out = []
    for s in summary.get("series", []):
        def where_of(w: dict, anchor: Optional[dict] = None) -> dict:
            label = f"{w['counter']}/{s.get('total') or '?'}" if w.get("counter") else "series"
            if anchor and anchor.get("path"):
                label += f" {anchor['path']}" + (f":{anchor['line']}" if anchor.get("line") else "")
            return {"label": label, "href": anchors.get(w.get("patch") or w.get("msgid") or "", "")}
        trailers = s.get("trailers", [])
        keys: dict = {}
        for t in trailers:
            keys[t["key"]] = keys.get(t["key"], 0) + 1
        verdicts = [v for v in s.get("verdicts", []) if v["kind"] not in EVENT_KINDS or v["kind"] == "nack"]
        kinds: dict = {}
        for x in verdicts:
            kinds[x["kind"]] = kinds.get(x["kind"], 0) + 1
        threads = [{"label": "cover letter" if s.get("cover") else "replies to the series", "title": s["title"],
                    "href": anchors.get(s.get("cover") or "", ""), "n": len(s.get("thread", [])), "status": "",
                    "mails": _mail_tree(s.get("thread", []))}] if s.get("thread") else []
        threads += [{"label": f"{p['counter']}/{s.get('total') or '?'}" if p.get("counter") else "patch",
                     "title": p["title"], "href": anchors.get(p["msgid"], ""), "n": len(p.get("thread", [])),
                     "status": p.get("status", ""), "mails": _mail_tree(p.get("thread", []))}
                    for p in s.get("patches", []) if p.get("thread")]
        in_view = {m["msgid"] for t in [s] + list(s.get("patches", [])) for m in t.get("thread", [])}
        out.append({
            "status": s.get("status", ""),
            "events": [{"kind": v["kind"], "person": _person(v["person"]), "role": v.get("role") or "",
                        "text": v["why"]["text"], "tree": v.get("tree") or "",
                        "then": (v.get("next_version") or {}).get("why", ""),
                        "where": where_of(v["where"]),
                        "mail": "#" + mail_anchor(v["where"]["msgid"]) if v["where"]["msgid"] in in_view else ""}
                       for v in s.get("verdicts", []) if v["kind"] in EVENT_KINDS],
            "threads": threads,
            "open": len(summary.get("series", [])) == 1,
            "trailer_counts": ", ".join(f"{n} {k}" for k, n in sorted(keys.items())),
            "verdict_counts": ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())),
            "short_lists": len(trailers) <= 8 and len(verdicts) <= 8,
            "title": s["title"], "version": s["version"], "rfc": s.get("rfc"), "messages": s.get("messages", 0),
            "participants": [{"name": x["name"] or x["email"], "roles": ", ".join(x["roles"]),
                              "messages": x["messages"]} for x in s.get("participants", [])],
            "verdicts": [{"kind": v["kind"], "person": _person(v["person"]), "formal": v["formal"],
                          "version": v["version"], "where": where_of(v["where"])} for v in s.get("verdicts", [])
                         if v["kind"] not in EVENT_KINDS or v["kind"] == "nack"],
            "trailers": [{"key": t["key"], "person": _person(t["person"]), "version": t["version"],
                          "status": t["status"], "where": where_of({"counter": t.get("counter"), "patch": t.get("patch")})}
                         for t in s.get("trailers", [])],
            "open_questions": [{"asker": _person(q["asker"]), "text": q["text"],
                                "where": where_of(q["where"], q.get("anchor"))} for q in s.get("open_questions", [])],
            "answered": len(s.get("questions", [])) - len(s.get("open_questions", [])),
            "actions": [{"kind": a["kind"], "who": _person(a["who"]), "text": a["text"],
                         "status": (a.get("next_version") or {}).get("status") or "",
                         "where": where_of(a["where"], a.get("anchor"))} for a in s.get("action_items", [])],
            "changelog": [{"from": e["from"], "to": e["to"], "entries": e["items"]}
                          for e in s.get("versions", {}).get("changelog", [])],
            "previous": (s.get("versions", {}).get("previous") or {}).get("version"),
            "next": (s.get("versions", {}).get("next") or {}).get("version"),
            # the series' list already holds its patches' comments
            "comments": len(s.get("comments", [])),
        })
    return out


EVENT_KINDS = ("applied", "dropped", "nack", "changes-requested", "build-failure", "test-failure", "superseded")


def mail_anchor(msgid: str) -> str:
    return "m-" + hashlib.sha1(msgid.encode("utf-8", "replace")).hexdigest()[:12]


def _mail_tree(thread: list) -> list:
    """The flat (msgid, parent, depth) list of a thread view as nested nodes, oldest first at each level."""
    nodes, roots = {}, []
    place = {}  # msgid -> (the list it stands in, its nesting level)
    for m in thread:
        node = {"id": mail_anchor(m["msgid"]), "msgid": m["msgid"], "from": _person(m.get("from")),
                "date": (m.get("date") or "")[:16].replace("T", " "), "subject": m.get("subject") or "",
                "body": (m.get("body") or "").rstrip(), "children": []}
        nodes[m["msgid"]] = node
        parent = nodes.get(m.get("parent") or "")
        if parent is None or m.get("depth", 0) <= 0:
            where = (roots, 0)
        elif place[parent["msgid"]][1] + 1 >= MAX_NEST:  # deeper replies go beside their parent, as lore's view does
            where = place[parent["msgid"]]
        else:
            where = (parent["children"], place[parent["msgid"]][1] + 1)
        where[0].append(node)
        place[m["msgid"]] = where
    return roots


MAX_NEST = 32  # levels of nested replies drawn; the template recurses once per level


def view(data: dict) -> dict:
    rep = data["report"]
    rules = {r["id"]: {**r, "blocks": doc_blocks(r.get("doc") or "")} for r in data.get("rules", [])}
    fids = {("f", i): f"f{i}" for i in range(len(data["findings"]))}
    fids.update({("r", i): f"r{i}" for i in range(len(data["resolved"]))})
    patches = [_patch_view(p, data, fids, rules) for p in rep["patches"]]
    by_anchor = {p["anchor"]: p for p in patches}
    anchors = {p["msgid"]: "#" + p["anchor"] for p in rep["patches"]}
    series = []
    for s in rep["series"]:
        c = s["counts"]
        cover = s["cover"]
        series.append({
            "anchor": s["anchor"], "title": s["title"], "version": s["version"], "rfc": s["rfc"],
            "resend": s["resend"], "sender": _person(s["sender"]) if s["sender"] else "",
            "date": (s["date"] or "")[:10], "complete": s["complete"], "missing": s["missing"],
            "total": s["total"], "counts": [{"sev": k, "n": c[k]} for k in SEVERITIES if c[k]],
            "resolved": s["resolved"],
            "cover": {"subject": cover["subject"], "body": cover["body"].rstrip(), "cut": cover["cut"],
                      "msgid": cover["msgid"]} if cover else None,
            "findings": [_finding_view(data["findings"][i], fids[("f", i)], rules, None, snippet=True)
                         for i in s["findings"]],
            "patches": [by_anchor[f"p{n}"] for n in s["patches"]],
        })
    total = rep["counts"]
    rule_views = [{"id": r["id"], "anchor": "rule-" + _slug(r["id"]), "severity": r["severity"],
                   "scope": r["scope"], "summary": r["summary"], "doc": doc_blocks(r.get("doc") or "")}
                  for r in data.get("rules", [])]
    hit = len({f["patch"] for f in data["findings"]})
    return {
        "title": rep["title"], "version": data.get("version", ""), "inputs": data.get("inputs", []),
        "counts": [{"sev": s, "n": total[s]} for s in SEVERITIES],
        "headline": counts_text(total) + (f" in {hit} of {plural(len(patches), 'patch', 'patches')}"
                                          if data["findings"] else f" in {plural(len(patches), 'patch', 'patches')}")
                    + (f"; {not_whole(data)}" if not_whole(data) else ""),
        "n_patches": len(patches), "n_messages": rep["messages"], "n_resolved": len(data["resolved"]),
        "n_waived": len(data.get("waived", [])), "n_rules": len(rule_views),
        "series": series, "summary": _summary_view(rep.get("summary"), anchors),
        "has_summary": rep.get("summary") is not None,
        "loose": [_finding_view(data["findings"][i], fids[("f", i)], rules, None, snippet=True)
                  for i in rep["loose_findings"]],
        "resolved": [_finding_view(f, f"rs{i}", rules, anchors.get(f["patch"] or "", "")[1:] or None,
                                   "resolved", snippet=True) for i, f in enumerate(data["resolved"])],
        "waived": [_finding_view(f, f"w{i}", rules, anchors.get(f["patch"] or "", "")[1:] or None, "waived",
                                 snippet=True) for i, f in enumerate(data.get("waived", []))],
        "errors": data.get("errors", []), "rules": rule_views,
        "tree_notes": (data.get("tree") or {}).get("notes", []),
        "coverage": coverage_text(data),
    }


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env


def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def render(data: dict) -> str:
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'"
    page = _env().get_template("report.html.j2").render(
        v=view(data), css=Markup(_asset("report.css")), script=Markup(script), csp=csp)
    return page if page.endswith("\n") else page + "\n"
