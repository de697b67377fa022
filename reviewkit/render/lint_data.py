"""Lint results as plain data: the JSON contract of `reviewkit lint` (add keys, never rename)."""
from __future__ import annotations

from typing import Optional

from .. import __version__
from ..model import Finding
from .fmt import where


def finding_data(f: Finding) -> dict:
    d = {"rule": f.rule, "severity": f.severity, "message": f.message, "path": f.path, "line": f.line,
         "function": f.function, "patch": f.patch, "fingerprint": f.fingerprint, "end_line": f.end_line,
         "side": f.side, "snippet": f.snippet, "suggestion": f.suggestion, "confidence": f.confidence,
         "related": [{"path": p, "line": ln, "note": n} for p, ln, n in f.related],
         "patch_line": f.patch_line}
    if f.waived:
        d["waived"] = f.waived
    return d


def base_data(tree, requested) -> dict:
    """Which tree a series was applied to, and whether it is the base the series asked for."""
    commit = str(tree.commit.id) if getattr(tree, "commit", None) is not None else None
    return {"tree": tree.kind, "requested": requested, "commit": commit, "how": getattr(tree, "how", None),
            "matches": (commit.startswith(requested.lower()) if commit and requested else None)}


def apply_data(analysis, series_of: dict, msgid: str, coverage: Optional[dict] = None) -> dict:
    """`patches[msgid].apply`: how the patch applied to the tree (see PatchImages.summary), the base it
    was applied at, and what the rules could not read from the tree (`analysis`, filled by the engine)."""
    images = analysis.images.get(msgid)
    si = series_of.get(msgid)
    tree = analysis.trees.get(si)
    if images is None or tree is None:
        return {"status": "no-tree" if tree is None or tree.kind == "none" else "failed", "hunks": 0,
                "failed_hunks": [], "already_applied_hunks": 0, "placements": [],
                "summary": "not analysed", "base": None}
    out = {**images.summary(), "base": base_data(tree, analysis.bases.get(si))}
    if coverage:
        out["analysis"] = {k: coverage[k] for k in ("tree_rules", "hunk_only_functions", "dropped")}
        out["analysis"]["note"] = _analysis_note(coverage)
    return out


def _analysis_note(c: dict) -> str:
    """What the rules could not read from the tree, in a sentence ("" when they read it all)."""
    parts = []
    fns = c["hunk_only_functions"]
    if fns:
        # a fragment whose function header is not in the hunk has no name
        names = ", ".join(f"{f['function']}()" if f["function"] else "code whose function the hunk does not show"
                          for f in fns[:4]) + (f" and {len(fns) - 4} more" if len(fns) > 4 else "")
        parts.append(f"{names} read from the hunks alone (a hunk that touches {'it' if len(fns) == 1 else 'them'}"
                     " did not apply)")
    if c["tree_rules"] == "skipped":
        parts.append("tree rules skipped (the series does not apply whole to this tree)")
    if c["dropped"]:
        parts.append(f"{c['dropped']} tree-rule finding{'s' if c['dropped'] != 1 else ''} dropped: "
                     "in code a hunk of the series changes but that did not apply")
    return "; ".join(parts)


# statuses under which the rules did not see the whole patch in the tree
UNANALYSED = ("partial", "failed", "already-applied")


def lint_data(parsed, result, rules, subjects=None, analysis=None) -> dict:
    """The lint JSON; with `analysis` each patch also says how it applied (`apply`), and `tree` how the
    tree was chosen."""
    series_of = {mid: si for si, s in enumerate(parsed.series) for mid in s.patches}
    patches = {}
    for m in parsed.messages:
        if m.msgid in parsed.patches:
            p = parsed.patches[m.msgid]
            patches[m.msgid] = {"subject": m.subject, "author": str(p.author),
                                # added for the renderers (SARIF, Markdown, b4): where the patch came from
                                "title": p.subject.title, "version": p.subject.version,
                                "counter": p.subject.counter, "total": p.subject.total,
                                "source": {"input": m.source.input, "where": m.source.where}}
            if analysis is not None:
                patches[m.msgid]["apply"] = apply_data(analysis, series_of, m.msgid,
                                                       getattr(result, "coverage", {}).get(m.msgid))
    data = {
        "version": __version__,
        "command": "lint",
        "inputs": parsed.inputs,
        "errors": [e.as_dict() for e in parsed.errors],
        "findings": [finding_data(f) for f in result.findings if not f.waived],
        "waived": [finding_data(f) for f in result.findings if f.waived],
        "resolved": [finding_data(f) for f in result.resolved],
        "patches": patches,
        "rules": [{"id": r.id, "severity": r.meta.severity, "scope": r.meta.scope, "summary": r.meta.summary,
                   "doc": r.doc} for r in rules],
        "stats": result.stats,
    }
    if analysis is not None:
        data["tree"] = {"notes": analysis.notes,
                        "sources": sorted({t.description for t in analysis.trees.values()})}
    return data


# --- wording every renderer shares (plain strings, no markup) ---------------------------------

def not_plainly_applied(data: dict) -> list:
    """[(msgid, patch dict, apply dict)] for each patch whose tree did not take it as written (offset,
    fuzz, partial, failed, already there) or that the rules could not read whole; no-tree patches
    only when the run had no tree at all is said once, in the tree notes."""
    out = []
    for mid, p in data.get("patches", {}).items():
        a = p.get("apply")
        if a and (a["status"] not in ("applied", "no-tree") or (a.get("analysis") or {}).get("note")):
            out.append((mid, p, a))
    return out


def unanalysed(data: dict) -> list:
    """Msgids of the patches the rules could not see whole in the tree (UNANALYSED statuses)."""
    return [m for m, p in data.get("patches", {}).items() if (p.get("apply") or {}).get("status") in UNANALYSED]


def not_whole(data: dict) -> str:
    """`2 of 3 patches not analysed whole`, or "" when the rules saw every patch in the tree."""
    patches = data.get("patches", {})
    k = sum(1 for p in patches.values() if (p.get("apply") or {}).get("status") in UNANALYSED
            or ((p.get("apply") or {}).get("analysis") or {}).get("note"))
    return f"{k} of {_n(len(patches), 'patch')} not analysed whole" if k else ""


def finding_where(f: dict) -> str:
    """file:line as the patch's diff numbers it, with the tree's line when the hunk applied elsewhere."""
    if f.get("path") and f.get("line") and f.get("patch_line") and f["patch_line"] != f["line"]:
        return f"{f['path']}:{f['patch_line']} (tree line {f['line']})"
    return where(f)


def _n(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else ("es" if word.endswith("ch") else "s"))


def coverage_text(data: dict) -> str:
    """How many rules ran on what: `16 rules on 3 patches`, or with the patches the tree could not show
    whole: `16 rules on 2 patches; 1 patch that did not apply: 4 patch-hygiene rules and 11 function
    rules on its hunks alone`."""
    stats = data.get("stats", {})
    cov = stats.get("coverage")
    rules = stats.get("rules", 0)
    if not cov:
        return _n(rules, "rule")
    scope = cov["rules_by_scope"]
    groups: dict = {"full": 0, "failed": 0, "already-applied": 0, "partly": 0}
    hunk_only = 0
    for p in data.get("patches", {}).values():
        a = p.get("apply") or {}
        status, an = a.get("status"), a.get("analysis") or {}
        if status in ("failed", "already-applied"):
            groups[status] += 1
        elif status == "partial" or an.get("note"):
            groups["partly"] += 1
            hunk_only += len(an.get("hunk_only_functions", ()))
        else:
            groups["full"] += 1
    text = _n(rules, "rule") + (f" on {_n(groups['full'], 'patch')}" if groups["full"] else "")
    if groups["partly"]:
        how = [f"{_n(hunk_only, 'function')} read from the hunks alone"] if hunk_only else []
        if scope["tree"]:
            how.append("tree rules skipped")
        text += f"; {_n(groups['partly'], 'patch')} not analysed whole ({', '.join(how)})"
    if groups["failed"]:
        k = groups["failed"]
        text += (f"; {_n(k, 'patch')} that did not apply: {_n(scope['patch'], 'patch-hygiene rule')} and "
                 f"{_n(scope['function'], 'function rule')} on {'its' if k == 1 else 'their'} hunks alone")
    if groups["already-applied"]:
        text += (f"; {_n(groups['already-applied'], 'patch')} already in the tree: "
                 f"only the {_n(scope['patch'], 'patch-hygiene rule')}")
    return text
