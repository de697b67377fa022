"""SARIF 2.1.0 for `reviewkit lint --format sarif`: what GitHub code scanning (and other SARIF viewers) read.

One run; the tool's rules carry their documentation as help (plain text and
Markdown), tags and a precision; each finding is a result with its location
(the post-image line, or the pre-image line for removed code), its snippet
and related locations. Artifact URIs are percent-encoded paths relative to
%SRCROOT% (the top of the kernel tree).

partialFingerprints: the reviewkit fingerprint (rule, file, function, code:
the same alert across versions of a series and line moves) and a hash of the
finding's code line with white space removed, numbered when the same code
occurs again in the file (reviewkitLineHash). GitHub's own
primaryLocationLineHash is a rolling hash over the whole file that the
upload-sarif action computes from the checked-out source when it is absent;
we leave it to the action rather than write a value it would refuse.

GitHub's limits (docs: "SARIF results exceed limits"): at most 25,000
results per run and 1,000 locations per result; beyond them the most severe
results (and the first locations) are kept, and a tool notification says
what was left out. Waived findings are results with an external
suppression; input problems are tool execution notifications. A finding on
the commit message has no file in the tree: it points at the input the
patch was read from (when that is a relative file path) and names the patch
as a logical location.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from urllib.parse import quote

from .fmt import plain_text, snippet_line

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "note": "note"}
FINGERPRINT = "reviewkit/v1"
LINE_HASH = "reviewkitLineHash/v1"
MAX_RESULTS = 25000       # per run (GitHub rejects more)
MAX_LOCATIONS = 1000      # per result, related locations included
MAX_TAGS = 10             # per rule: GitHub shows 10 (accepts 20)
# how often a rule's findings are right, by the kind of rule: text checks on the commit message are exact,
# the mm rules are measured against merged stable fixes (benchmarks/), checkpatch guesses at style
PRECISION = {"patch": "very-high", "mm": "high", "checkpatch": "medium"}
KIND = {"patch": "maintainability", "mm": "correctness", "checkpatch": "style"}
_WS = re.compile(r"\s+")


def _rule_name(rule_id: str) -> str:
    """SARIF's rule `name` is an identifier-like string: "mm/no-new-bug-on" -> "MmNoNewBugOn"."""
    return "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", rule_id) if w)


def _rule(r: dict) -> dict:
    doc = r.get("doc") or r["summary"]
    area = r["id"].split("/", 1)[0]
    tags = sorted({area, r["scope"], KIND.get(area, "reviewkit")})[:MAX_TAGS]
    return {
        "id": r["id"], "name": _rule_name(r["id"]),
        "shortDescription": {"text": r["summary"]},
        "fullDescription": {"text": plain_text(doc.split("\n\n", 1)[0].replace("\n", " "))},
        "help": {"text": plain_text(doc), "markdown": doc},
        "defaultConfiguration": {"level": LEVELS[r["severity"]]},
        "properties": {"tags": tags, "precision": PRECISION.get(area, "medium"), "scope": r["scope"]},
    }


def _uri(path: str) -> dict:
    """A path in the tree as a percent-encoded URI reference relative to %SRCROOT%."""
    return {"uri": quote(path.replace(os.sep, "/").lstrip("/"), safe="/"), "uriBaseId": "%SRCROOT%"}


def _relative_file(path: str) -> bool:
    return bool(path) and not os.path.isabs(path) and ".." not in path.split("/") and os.path.isfile(path)


def _location(f: dict, patches: dict) -> dict:
    if f["path"]:
        phys = {"artifactLocation": _uri(f["path"])}
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
        loc["physicalLocation"] = {"artifactLocation": _uri(source), "region": {"startLine": 1}}
    return loc


def _line_hashes(findings: list) -> list:
    """Per finding: a hash of its code line without white space, ":n" for the n-th same code in the
    file (as GitHub numbers equal line hashes); None when it has no file or code."""
    seen: dict = {}
    out = []
    for f in findings:
        code = _WS.sub("", snippet_line(f))
        if not f.get("path") or not code:
            out.append(None)
            continue
        h = hashlib.sha256(code.encode("utf-8", "replace")).hexdigest()[:16]
        seen[(f["path"], h)] = seen.get((f["path"], h), 0) + 1
        out.append(f"{h}:{seen[(f['path'], h)]}")
    return out


def _result(f: dict, index: dict, patches: dict, line_hash) -> dict:
    text = f["message"] + (f". Fix: {f['suggestion']}" if f.get("suggestion") else "")
    res = {
        "ruleId": f["rule"], "level": LEVELS[f["severity"]], "message": {"text": text},
        "locations": [_location(f, patches)],
        "partialFingerprints": {FINGERPRINT: f["fingerprint"], **({LINE_HASH: line_hash} if line_hash else {})},
        "properties": {"patch": f["patch"], "function": f["function"], "side": f.get("side", "after"),
                       "confidence": f.get("confidence", "high"), "suggestion": f.get("suggestion", "")},
    }
    if f["rule"] in index:
        res["ruleIndex"] = index[f["rule"]]
    if f["patch"] in patches:
        res["properties"]["patch_subject"] = patches[f["patch"]]["subject"]
    related = [{"id": n, "physicalLocation": {"artifactLocation": _uri(r["path"]),
                                              **({"region": {"startLine": r["line"]}} if r["line"] else {})},
                "message": {"text": r["note"]}}
               for n, r in enumerate(f.get("related") or []) if r.get("path")]
    if len(related) > MAX_LOCATIONS - 1:  # the result's own location counts too
        res["properties"]["locations_left_out"] = len(related) - (MAX_LOCATIONS - 1)
        related = related[:MAX_LOCATIONS - 1]
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
    everything = data["findings"] + data.get("waived", [])
    results = [_result(f, index, patches, h) for f, h in zip(everything, _line_hashes(everything))]
    notifications = [{"level": "warning", "message": {"text": f"{e['input']}: {e['where']}: {e['message']}"
                                                      if e.get("where") else f"{e['input']}: {e['message']}"}}
                     for e in data.get("errors", [])]
    results, dropped = _within_limits(results)
    notifications += dropped
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


def _within_limits(results: list) -> tuple:
    """(results GitHub accepts, notifications saying what was left out)."""
    notes = []
    cut = sum(1 for r in results if r["properties"].get("locations_left_out"))
    if cut:
        notes.append({"level": "warning", "message": {"text": f"{cut} results had more than {MAX_LOCATIONS} "
                                                              "locations: only the first are included"}})
    if len(results) > MAX_RESULTS:
        rank = {"error": 0, "warning": 1, "note": 2}
        order = sorted(range(len(results)), key=lambda i: ("suppressions" in results[i], rank[results[i]["level"]], i))
        keep = sorted(order[:MAX_RESULTS])
        notes.append({"level": "warning", "message": {"text": f"{len(results) - MAX_RESULTS} of {len(results)} "
                      f"results left out: GitHub accepts at most {MAX_RESULTS} per run (the most severe are kept)"}})
        results = [results[i] for i in keep]
    return results, notes


def render(data: dict) -> str:
    return json.dumps(sarif(data), indent=2, ensure_ascii=False) + "\n"
