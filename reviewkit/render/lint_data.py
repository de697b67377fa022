"""Lint results as plain data: the JSON contract of `reviewkit lint` (add keys, never rename)."""
from __future__ import annotations

from .. import __version__
from ..model import Finding


def finding_data(f: Finding) -> dict:
    d = {"rule": f.rule, "severity": f.severity, "message": f.message, "path": f.path, "line": f.line,
         "function": f.function, "patch": f.patch, "fingerprint": f.fingerprint, "end_line": f.end_line,
         "side": f.side, "snippet": f.snippet, "suggestion": f.suggestion, "confidence": f.confidence,
         "related": [{"path": p, "line": ln, "note": n} for p, ln, n in f.related]}
    if f.waived:
        d["waived"] = f.waived
    return d


def lint_data(parsed, result, rules, subjects=None) -> dict:
    patches = {}
    for m in parsed.messages:
        if m.msgid in parsed.patches:
            p = parsed.patches[m.msgid]
            patches[m.msgid] = {"subject": m.subject, "author": str(p.author),
                                # added for the renderers (SARIF, Markdown, b4): where the patch came from
                                "title": p.subject.title, "version": p.subject.version,
                                "counter": p.subject.counter, "total": p.subject.total,
                                "source": {"input": m.source.input, "where": m.source.where}}
    return {
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
