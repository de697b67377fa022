"""SARIF 2.1.0 for `reviewkit lint --format sarif`: what GitHub code scanning (and other SARIF viewers) read.

One run; the tool's rules carry their documentation as help text; each
finding is a result with its location (the post-image line, or the
pre-image line for removed code), its snippet, related locations and the
reviewkit fingerprint in partialFingerprints (so alerts stay the same alert
across versions of a series). Waived findings are results with an external
suppression; input problems are tool execution notifications. A finding on
the commit message has no file in the tree: it points at the input the
patch was read from (when that is a relative file path) and names the patch
as a logical location.
"""
from __future__ import annotations

import json
import os
import re

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "note": "note"}
FINGERPRINT = "reviewkit/v1"


def _rule_name(rule_id: str) -> str:
    """SARIF's rule `name` is an identifier-like string: "mm/no-new-bug-on" -> "MmNoNewBugOn"."""
    return "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", rule_id) if w)


def _rule(r: dict) -> dict:
    doc = r.get("doc") or r["summary"]
    return {
        "id": r["id"], "name": _rule_name(r["id"]),
        "shortDescription": {"text": r["summary"]},
        "fullDescription": {"text": doc.split("\n\n", 1)[0].replace("\n", " ")},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": LEVELS[r["severity"]]},
        "properties": {"tags": sorted({r["id"].split("/", 1)[0], r["scope"]}), "scope": r["scope"]},
    }


def _relative_file(path: str) -> bool:
    return bool(path) and not os.path.isabs(path) and ".." not in path.split("/") and os.path.isfile(path)


def _location(f: dict, patches: dict) -> dict:
    if f["path"]:
        phys = {"artifactLocation": {"uri": f["path"], "uriBaseId": "%SRCROOT%"}}
        if f["line"]:
            region = {"startLine": f["line"], "endLine": max(f["line"], f.get("end_line") or f["line"])}
            if f.get("snippet"):
                region["snippet"] = {"text": f["snippet"]}
            phys["region"] = region
        loc = {"physicalLocation": phys}
        if f.get("function"):
            loc["logicalLocations"] = [{"name": f["function"], "kind": "function"}]
        return loc
    patch = patches.get(f["patch"] or "", {})
    loc = {"logicalLocations": [{"name": patch.get("subject") or f["patch"] or "series",
                                 "fullyQualifiedName": f["patch"] or "series", "kind": "module"}],
           "message": {"text": "in the commit message"}}
    source = (patch.get("source") or {}).get("input", "")
    if _relative_file(source):
        loc["physicalLocation"] = {"artifactLocation": {"uri": source.replace(os.sep, "/"),
                                                        "uriBaseId": "%SRCROOT%"},
                                   "region": {"startLine": 1}}
    return loc


def _result(f: dict, index: dict, patches: dict) -> dict:
    text = f["message"] + (f". Fix: {f['suggestion']}" if f.get("suggestion") else "")
    res = {
        "ruleId": f["rule"], "level": LEVELS[f["severity"]], "message": {"text": text},
        "locations": [_location(f, patches)],
        "partialFingerprints": {FINGERPRINT: f["fingerprint"]},
        "properties": {"patch": f["patch"], "function": f["function"], "side": f.get("side", "after"),
                       "confidence": f.get("confidence", "high"), "suggestion": f.get("suggestion", "")},
    }
    if f["rule"] in index:
        res["ruleIndex"] = index[f["rule"]]
    if f["patch"] in patches:
        res["properties"]["patch_subject"] = patches[f["patch"]]["subject"]
    related = [{"id": n, "physicalLocation": {"artifactLocation": {"uri": r["path"], "uriBaseId": "%SRCROOT%"},
                                              **({"region": {"startLine": r["line"]}} if r["line"] else {})},
                "message": {"text": r["note"]}}
               for n, r in enumerate(f.get("related") or []) if r.get("path")]
    if related:
        res["relatedLocations"] = related
    if f.get("waived"):
        res["suppressions"] = [{"kind": "external", "justification": f["waived"]}]
    return res


def sarif(data: dict) -> dict:
    rules = data.get("rules", [])
    index = {r["id"]: i for i, r in enumerate(rules)}
    patches = data.get("patches", {})
    # a finding from a rule that is not in the list (should not happen) still needs a rule entry
    extra = sorted({f["rule"] for f in data["findings"] + data.get("waived", []) if f["rule"] not in index})
    for rid in extra:
        index[rid] = len(rules) + extra.index(rid)
    driver_rules = [_rule(r) for r in rules] + [
        _rule({"id": rid, "summary": rid, "severity": "warning", "scope": "unknown"}) for rid in extra]
    results = [_result(f, index, patches) for f in data["findings"] + data.get("waived", [])]
    notifications = [{"level": "warning", "message": {"text": f"{e['input']}: {e['where']}: {e['message']}"
                                                      if e.get("where") else f"{e['input']}: {e['message']}"}}
                     for e in data.get("errors", [])]
    run = {
        "tool": {"driver": {"name": "reviewkit", "version": data.get("version", ""),
                            "rules": driver_rules}},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "columnKind": "utf16CodeUnits",
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the top of the kernel tree the patches apply to"}}},
        "results": results,
        "properties": {"resolved": len(data.get("resolved", [])),
                       "patches": len(patches), "inputs": data.get("inputs", [])},
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render(data: dict) -> str:
    return json.dumps(sarif(data), indent=2, ensure_ascii=False) + "\n"
