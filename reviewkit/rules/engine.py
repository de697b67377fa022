"""Run rules over a parsed, analysed input: diff-scoped findings, resolved findings, waivers.

By default a finding is kept only when the patch introduces it: it touches a
line the patch adds, spans a place where it removed lines, or is found in the
function after the patch and not before it (`--filter added`); `function` keeps everything inside touched functions and
`all` keeps everything. Function rules also run on the pre-image: what they
find there on removed lines and no longer find after the patch is "resolved".
Tree rules report what a registry change makes wrong elsewhere, so their
findings are never filtered. A rule that raises becomes an entry in `errors`.
"""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Optional, Union

from ..code import memo
from ..code.analysis import Analysis
from ..code.changes import FunctionChange, failed_hunk_functions
from ..model import FILTERS, SEVERITY_RANK, Errors, Finding  # noqa: F401 (also rules.engine's names)
from ..pipeline import Parsed
from ..source.trees import NoTree, OverlayTree
from .context import Context, function_text, patch_lines
from .loader import LoadedRule
from .waivers import Waiver, apply_waivers, trailer_waivers


@dataclass
class LintResult:
    findings: list = field(default_factory=list)   # new findings (waived ones have .waived set)
    resolved: list = field(default_factory=list)   # present before the patch, gone after it
    stats: dict = field(default_factory=dict)
    # patch msgid -> what the rules could read of it: {"tree_rules": ran|skipped, "hunk_only_functions": [...],
    # "dropped": n findings from code a failed hunk touches, "note": ...}
    coverage: dict = field(default_factory=dict)

    @property
    def active(self) -> list:
        return [f for f in self.findings if not f.waived]


class Services:
    """Expensive things rules may ask for, built once and only when asked."""

    def __init__(self, analysis: Analysis, errors: Errors):
        self.analysis = analysis
        self.errors = errors
        self._index: dict = {}
        self._registry: dict = {}
        self.overlays: dict = {}   # patch msgid -> OverlayTree of the tree after that patch
        self.before: dict = {}     # patch msgid -> OverlayTree of the tree before it (earlier patches applied)

    def index(self, ctx: Context):
        tree = ctx.tree or NoTree()
        if id(tree) not in self._index:
            from ..code.diskcache import enabled
            from ..code.index import ParseCache, build_index
            try:
                cache = ParseCache() if tree.kind != "none" and enabled() else None
            except OSError:
                cache = None
            self._index[id(tree)] = build_index(tree, cache=cache)
        return self._index[id(tree)]

    def registry(self, ctx: Context, side: str, sites: bool = False):
        """The entry-kind registry of the tree before this patch (the earlier patches of its series
        applied), or after it. Dispatch sites are scanned only when asked (it costs a
        pass over mm/); without a tree the built-in fallback table is used."""
        from ..code import registry as reg
        base = ctx.tree or NoTree()
        states = self.before if side == "before" else self.overlays
        tree = base if ctx.patch is None else states.get(ctx.patch.message.msgid, base)
        if tree is not base and not (set(tree.files) & set(reg.PREDICATE_SOURCES)):
            tree = base  # the kinds come from headers this series has not touched (yet)
        key = (id(tree), sites)
        if key not in self._registry:
            if tree.kind == "none":
                self._registry[key] = reg.default_registry()
            else:
                self._registry[key] = reg.cached_registry(tree, folders=reg.DEFAULT_FOLDERS if sites else ())
        return self._registry[key]


def _where(ctx: Context) -> str:
    parts = [ctx.patch.message.msgid if ctx.patch else f"series {ctx.series_index}"]
    if ctx.function is not None:
        parts.append(f"{ctx.function.path}:{ctx.function.name}")
    return " ".join(parts)


def _run(rule: LoadedRule, ctx: Context, errors: Errors, timings: dict) -> list[Finding]:
    start = time.perf_counter()
    try:
        found = [f for f in (rule.check(ctx) or ()) if f is not None]
    except Exception as exc:  # a broken rule is reported, the others go on
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        errors.add(f"rule {rule.id}", _where(ctx),
                   f"the rule failed ({type(exc).__name__}: {exc} at {tb.filename.rsplit('/', 1)[-1]}:{tb.lineno}); "
                   "its findings here are missing")
        found = []
    timings[rule.id] = timings.get(rule.id, 0.0) + time.perf_counter() - start
    return found


def _in_change(f: Finding, lines: frozenset) -> bool:
    if f.line is None:
        return False
    end = f.end_line or f.line
    return any(f.line <= ln <= end for ln in lines)


def lint(parsed: Parsed, analysis: Analysis, rules: Iterable[LoadedRule], errors: Optional[Errors] = None,
         filter: str = "added", waivers: Iterable[Waiver] = (),
         extra: Union[dict, Callable[[], dict], None] = None) -> LintResult:
    """Run the rules; `extra` adds findings made elsewhere (checkpatch.pl), per patch msgid, so that
    waivers and counts treat them like the rules' own. A callable `extra` is called once, after every
    rule has run: checkpatch.pl, running in its own process, is waited for only then."""
    errors = errors if errors is not None else parsed.errors
    # REVIEWKIT_NO_PREFILTER=1: every rule runs on every function and computes everything itself
    # (no Rule.needs pre-filter, no shared per-node work): what the no-loss test compares against
    memo.ENABLED = os.environ.get("REVIEWKIT_NO_PREFILTER", "") in ("", "0")
    rules = list(rules)
    by_scope = {s: [r for r in rules if r.meta.scope == s] for s in ("series", "patch", "function", "tree")}
    services = Services(analysis, errors)
    result = LintResult()
    timings: dict[str, float] = {}
    waivers = list(waivers)
    ordered: list = []  # series findings, and (msgid, patch, findings) of each patch to finish
    for si, series in enumerate(parsed.series):
        for rule in by_scope["series"]:
            ctx = Context(rule.meta, parsed, analysis, series, services=services, series_index=si)
            ordered.extend(_run(rule, ctx, errors, timings))
        overlay = OverlayTree(analysis.trees.get(si) or NoTree())
        failed_code = _failed_code(analysis, series.patches)
        fitting = True  # the series so far applied whole: the tree is the code it was written for
        for mid in series.patches:
            patch = parsed.patches.get(mid)
            if patch is None:
                continue
            images = analysis.images.get(mid)
            status = images.summary()["status"] if images is not None else "no-tree"
            fitting = fitting and status not in ("partial", "failed")
            services.before[mid] = overlay
            if images is not None:
                overlay = overlay.with_images(images)
            services.overlays[mid] = overlay
            cover = result.coverage[mid] = {"status": status, "tree_rules": "ran", "hunk_only_functions": [],
                                            "dropped": 0}
            new: list[Finding] = []
            for rule in by_scope["patch"]:
                ctx = Context(rule.meta, parsed, analysis, series, patch, services=services, series_index=si)
                new.extend(_run(rule, ctx, errors, timings))
            if fitting:
                for rule in by_scope["tree"]:
                    ctx = Context(rule.meta, parsed, analysis, series, patch, services=services, series_index=si)
                    for f in _run(rule, ctx, errors, timings):
                        if (f.path, f.function) in failed_code:
                            cover["dropped"] += 1  # the series changes that code in a hunk that did not apply
                        else:
                            new.append(_at_patch_line(f, images))
            elif by_scope["tree"]:
                cover["tree_rules"] = "skipped"
            for fchange in analysis.changes.get(mid, []):
                for name, why in fchange.hunk_only.items():
                    cover["hunk_only_functions"].append({"path": fchange.images.path, "function": name, "why": why})
                for func in fchange.functions:
                    after, resolved = _function_rules(by_scope["function"], parsed, analysis, series, si, patch,
                                                      fchange, func, services, errors, timings, filter,
                                                      strict=not fitting)
                    new.extend(_at_patch_line(f, images, func.source == "hunks") for f in after)
                    result.resolved.extend(_at_patch_line(f, images, func.source == "hunks") for f in resolved)
            ordered.append((mid, patch, new))  # finished below, once `extra` is known
    extra = (extra() if callable(extra) else extra) or {}
    done: list[Finding] = []
    for item in ordered:  # in order: a series' findings, then each of its patches'
        if isinstance(item, Finding):
            done.append(item)
            continue
        mid, patch, new = item
        new.extend(extra.get(mid, ()))
        done.extend(apply_waivers(_dedupe(new), waivers + trailer_waivers(patch), _source_lines(analysis, mid)))
    result.findings = done
    result.stats = {
        "rules": len(rules),
        "findings": len([f for f in result.findings if not f.waived]),
        "waived": len([f for f in result.findings if f.waived]),
        "resolved": len(result.resolved),
        "by_rule": _count(result.findings),
        "seconds_by_rule": {k: round(v, 4) for k, v in sorted(timings.items())},
        "coverage": _coverage(rules, result.coverage),
    }
    return result


def _coverage(rules: list, per_patch: dict) -> dict:
    """How many rules of each scope ran, and on how many patches the tree could not show the whole patch."""
    statuses = [c["status"] for c in per_patch.values()]
    return {"rules_by_scope": {s: sum(1 for r in rules if r.meta.scope == s) for s in ("patch", "function", "tree", "series")},
            "patches": len(per_patch),
            "by_status": {s: statuses.count(s) for s in sorted(set(statuses))},
            "tree_rules_skipped": sum(1 for c in per_patch.values() if c["tree_rules"] == "skipped"),
            "hunk_only_functions": sum(len(c["hunk_only_functions"]) for c in per_patch.values()),
            "dropped": sum(c["dropped"] for c in per_patch.values())}


def _failed_code(analysis: Analysis, msgids) -> set:
    """(path, function) of every function a hunk of these patches touches that did not apply."""
    out: set = set()
    for mid in msgids:
        images = analysis.images.get(mid)
        for f in (images.files if images is not None else ()):
            out.update((f.path, name) for name in failed_hunk_functions(f))
    return out


def _at_patch_line(f: Finding, images, from_hunks: bool = False) -> Finding:
    """The finding with `patch_line`: its line as the patch's diff numbers it. Code read from the hunks
    alone is numbered so already; a line of a file the patch does not touch has none."""
    if f.line is None or f.patch_line is not None:
        return f
    if from_hunks:
        return replace(f, patch_line=f.line)
    img = next((x for x in (images.files if images is not None else ()) if x.path == f.path), None)
    if img is None:
        return f
    return replace(f, patch_line=img.patch_line(f.line, f.side))


def _function_rules(rules, parsed, analysis, series, si, patch, fchange, func: FunctionChange, services, errors,
                    timings, filter, strict: bool = False):
    """`strict`: the series does not apply whole, so the tree around the patch's lines is not the code it
    was written for (functions may pair up wrongly, e.g. one the patch adds that the tree already has):
    only findings on the lines the patch itself adds or removes are kept."""
    after_all: list[Finding] = []
    before_all: list[Finding] = []
    text = function_text(fchange, func) if memo.ENABLED else None
    for rule in rules:
        if text is not None and rule.meta.needs and not any(n in text for n in rule.meta.needs):
            timings.setdefault(rule.id, 0.0)
            continue  # its trigger is on neither side: it cannot fire here
        for side in ("after", "before"):
            if side == "before" and func.before is None and func.source == "tree":
                continue
            if side == "after" and func.after is None and func.source == "tree":
                continue
            ctx = Context(rule.meta, parsed, analysis, series, patch, fchange, func, side, services, si)
            (after_all if side == "after" else before_all).extend(_run(rule, ctx, errors, timings))
    before_seen = {f.fingerprint for f in before_all}
    if filter == "added":
        # what the patch adds, what its removals leave behind (a deleted re-check spans the gap),
        # and what appears only after it in a function both sides show (the mirror of "resolved")
        touched = func.added_lines | func.removed_at
        compared = func.before is not None and func.after is not None and not strict
        kept = [f for f in after_all if f.side == "before" or _in_change(f, touched)
                or (compared and f.fingerprint not in before_seen)]
    else:
        kept = after_all
    still = {f.fingerprint for f in after_all}
    gone = [f for f in before_all if f.fingerprint not in still and _in_change(f, func.removed_lines)]
    if not gone:  # the common case: no file split per function (quadratic in a patch of 5,000 hunks)
        return kept, []
    # a removed line the patch adds again elsewhere (code moved, not fixed) resolves nothing
    moved_to = patch_lines(patch, "+")
    old_lines = (fchange.images.before or "").split("\n")
    return kept, [f for f in gone if not _moved(f, old_lines, moved_to)]


def _moved(f: Finding, old_lines: list, added: frozenset) -> bool:
    if not f.line or f.line > len(old_lines):
        return False
    text = " ".join(old_lines[f.line - 1].split())
    return bool(text) and text in added


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in findings:
        key = (f.rule, f.path, f.line, f.fingerprint, f.patch)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _count(findings: list[Finding]) -> dict:
    out: dict[str, int] = {}
    for f in findings:
        if not f.waived:
            out[f.rule] = out.get(f.rule, 0) + 1
    return dict(sorted(out.items()))


def _source_lines(analysis: Analysis, mid: str):
    images = analysis.images.get(mid)
    cache: dict = {}

    def lines_for(f: Finding):
        if images is None or f.path is None:
            return None
        if f.path not in cache:
            img = next((x for x in images.files if x.path == f.path), None)
            text = (img.after if f.side == "after" else img.before) if img else None
            cache[f.path] = text.split("\n") if text else None
        return cache[f.path]
    return lines_for


def worst(findings: Iterable[Finding]) -> Optional[str]:
    ranks = [SEVERITY_RANK[f.severity] for f in findings if not f.waived]
    if not ranks:
        return None
    return {v: k for k, v in SEVERITY_RANK.items()}[max(ranks)]
