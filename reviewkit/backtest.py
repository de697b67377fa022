"""Backtest: run the rule pack over real fixes and measure noise and recall.

For each fix (a patch mail whose change is in `--tree`, or a commit with a
`Fixes:` tag in a git history):

- forward: the fix linted on the tree as it was before it (the fix reverse-applied
  in memory); a merged fix should draw no error or warning: anything found is noise;
- reversed: the fix undone, linted on the tree that has it: the bug brought back;
  a finding at warning or above from an mm rule means the bug was noticed;
- culprit (git histories): the commit the `Fixes:` tag names, linted on its parent.

A fix that is not in the tree (it applies forward) is linted forward on the tree
as it is (noise only); one that fits neither way is reported, not linted.

Cases run in parallel (one process per core); each worker opens the tree and
loads the rules once. Results are plain data (`run()` returns the JSON of
`reviewkit backtest --format json`).
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Optional

from . import __version__
from .code.analysis import analyse
from .ingest import MAIL_SUFFIXES
from .model import Errors
from .pipeline import Parsed, parse_inputs
from .render.lint_data import finding_data
from .rules.engine import SEVERITY_RANK, lint
from .rules.loader import load_rules
from .source.apply import PatchImages, apply_series, reversed_patch
from .source.trees import OverlayTree, SourceTree, open_tree

# A fix's bug counts as noticed when the reversed diff draws one of these.
NOTICE_PREFIX = "mm/"
NOISE_PREFIXES = ("mm/", "patch/")
LINTED = ("in-tree", "not-in-tree")  # apply states whose forward findings count as noise
_CALLED = re.compile(r"(\w+)\s*\(")  # the function a hunk header names
_FIXES = re.compile(r"^Fixes:\s*([0-9a-fA-F]{7,40})", re.M)

# Bug category derived from a fix when the corpus gives none: the first match wins,
# subject before files before the functions the hunks name.
CATEGORIES = (
    ("memory-failure", r"memory[-_ ]failure|hwpoison|poison"),
    ("hugetlb", r"hugetlb"),
    ("uffd", r"userfaultfd|uffd"),
    ("ksm", r"\bksm\b|/ksm\.c"),
    ("memcg", r"memcg|memcontrol"),
    ("gup", r"\bgup\b|/gup\.c|pin_user|get_user_pages"),
    ("swap", r"swap|shmem|zswap"),
    ("thp", r"\bthp\b|huge_memory|khugepaged|large folio|mthp"),
    ("migration", r"migrat|mempolicy|compaction"),
    ("mprotect", r"mprotect"),
    ("madvise", r"madvise"),
    ("rmap", r"rmap|page_vma_mapped"),
    ("zap", r"\bzap|unmap"),
    ("pagetable", r"page[- ]?table|pgtable|\bptes?\b|\bpmds?\b|/memory\.c|pagewalk"),
)


def derive_category(subject: str, files: Iterable[str], functions: Iterable[str] = ()) -> str:
    for text in (subject.lower(), " ".join(files).lower(), " ".join(functions).lower()):
        for name, pattern in CATEGORIES:
            if re.search(pattern, text):
                return name
    return "other"


@dataclass
class Job:
    """One unit of work: the mails of one series (usually a single fix), or one commit."""
    id: str
    files: list = field(default_factory=list)      # mail files, in series order
    commit: Optional[str] = None                    # git mode: the fix commit id
    index: dict = field(default_factory=dict)       # file -> INDEX.json entry


@dataclass
class Settings:
    tree: str
    base: Optional[str] = None
    rule_dirs: list = field(default_factory=list)
    select: list = field(default_factory=list)
    ignore: list = field(default_factory=list)


# ----------------------------------------------------------------------------- finding the cases

def _index(folder: str) -> dict:
    """INDEX.json beside the mails (stable-mm-6.12 style), keyed by absolute file path."""
    path = os.path.join(folder, "INDEX.json")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        entries = json.load(fh)
    return {os.path.normpath(os.path.join(folder, e["file"])): e for e in entries
            if isinstance(e, dict) and e.get("file")}


def mail_jobs(inputs: list, errors: Errors) -> list[Job]:
    """Jobs for folders (and files) of fix mails: one per series as `reviewkit parse` groups them,
    per folder that holds mails (a corpus may keep its series in sub-folders)."""
    jobs: list[Job] = []
    for top in inputs:
        if not os.path.exists(top):
            errors.add(top, "", "no such file or directory")
            continue
        index = _index(top) if os.path.isdir(top) else {}
        groups = _mail_groups(top)
        if not groups:
            errors.add(top, "", "no mail files found")
        for folder in groups:
            # a folder is read as `reviewkit parse` reads it: its files are one batch of series
            parsed = parse_inputs([folder], errors)
            for series in parsed.series:
                paths = [_mail_file(parsed.message(m).source) for m in series.patches if m in parsed.patches]
                if paths:
                    jobs.append(Job(_case_id(paths[0]), paths, index={p: index[p] for p in paths if p in index}))
    return jobs


def _mail_groups(top: str) -> list[str]:
    """The input itself if a file, else every folder under it that holds mail files."""
    if os.path.isfile(top):
        return [top]
    return [dirpath for dirpath, dirnames, filenames in sorted(os.walk(top))
            if any(n.lower().endswith(MAIL_SUFFIXES) for n in filenames)]


def _mail_file(source) -> str:
    """The file a message came from (a folder's messages say which file in `where`)."""
    if os.path.isdir(source.input):
        return os.path.normpath(os.path.join(source.input, source.where.split(": ", 1)[0]))
    return os.path.normpath(source.input)


def _case_id(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def git_jobs(repo_dir: str, spec: str, errors: Errors, area: str = "mm/") -> list[Job]:
    """Jobs for the commits of `spec` that carry a Fixes: tag and touch `area`."""
    import pygit2
    from .ingest.gitsrc import open_repository
    repo = open_repository(repo_dir)
    if repo is None:
        errors.add(repo_dir, "", "not a git repository")
        return []
    left, _, right = spec.partition("..")
    try:
        tip = repo.revparse_single(right or "HEAD").peel(pygit2.Commit)
        base = repo.revparse_single(left).peel(pygit2.Commit) if left else None
    except (KeyError, ValueError, pygit2.GitError) as exc:
        errors.add(spec, repo_dir, f"unknown revision ({exc})")
        return []
    walker = repo.walk(tip.id, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    if base is not None:
        walker.hide(base.id)
    jobs = []
    for commit in walker:
        if len(commit.parents) != 1 or not _FIXES.search(commit.message):
            continue
        diff = repo.diff(commit.parents[0], commit)
        if any((d.new_file.path or d.old_file.path).startswith(area) for d in diff.deltas):
            jobs.append(Job(str(commit.id)[:12], commit=str(commit.id)))
    return jobs


# ----------------------------------------------------------------------------- one case

_WORKER: dict = {}


def _setup(settings: Settings) -> None:
    """Per process: the tree opened and the rules loaded once."""
    errors = Errors()
    _WORKER["settings"] = settings
    _WORKER["rules"] = load_rules(settings.rule_dirs, errors, select=settings.select, ignore=settings.ignore)
    _WORKER["rule_errors"] = [e.as_dict() for e in errors]
    _WORKER["scope"] = {r.id: r.meta.scope for r in _WORKER["rules"]}
    _WORKER["tree"], _ = open_tree(settings.tree, settings.base)


def _lint(parsed: Parsed, tree: SourceTree, errors: Errors) -> dict:
    """msgid -> active findings, for the patches of `parsed` applied to `tree`."""
    analysis = analyse(parsed, None, errors=errors, tree=tree)
    result = lint(parsed, analysis, _WORKER["rules"], errors)
    spent = _WORKER.setdefault("rule_seconds", {})
    for rid, sec in result.stats.get("seconds_by_rule", {}).items():
        spent[rid] = spent.get(rid, 0.0) + sec
    out: dict = {}
    for f in result.active:
        out.setdefault(f.patch, []).append(f)
    return out


def _apply_detail(images: PatchImages) -> dict:
    """How a patch applied: status (applied | offset | fuzz | partial | failed | already-applied),
    hunk count and the hunks that failed. A case's `apply` carries it with `status` replaced by
    the case's state (in-tree | not-in-tree | already-in-tree | does-not-apply) and the applier's
    status kept as `how`."""
    hunks = [(f.path, h) for f in images.files for h in f.hunks]
    failed = [{"file": p, "hunk": h.number, "reason": h.message} for p, h in hunks if h.status == "failed"]
    status = images.status
    if status == "applied":
        kinds = {h.status for _, h in hunks}
        status = "fuzz" if "fuzz" in kinds else "offset" if "offset" in kinds else "applied"
    return {"status": status, "hunks": len(hunks), "failed_hunks": failed}


def _fits(detail: dict) -> bool:
    return detail["status"] in ("applied", "offset", "fuzz")


def _reversed_parsed(parsed: Parsed) -> Parsed:
    """The same series undone: every patch reversed, last patch first."""
    patches = {m: reversed_patch(p) for m, p in parsed.patches.items()}
    series = [replace(s, patches=tuple(reversed(s.patches)), counters=tuple(reversed(s.counters)))
              for s in parsed.series]
    return replace(parsed, patches=patches, series=series, errors=Errors())


def run_job(job: Job) -> list[dict]:
    """Every case (patch) of one job, as plain data. Never raises: a failure is the case's error."""
    start = time.perf_counter()
    errors = Errors()
    _WORKER["rule_seconds"] = {}
    try:
        if job.commit:
            cases = _commit_cases(job, errors)
        else:
            cases = _mail_cases(job, errors)
    except Exception as exc:  # one broken case must not end the run
        cases = [_case(job.id, job.id, (job.files or [job.commit])[0], "other", "derived", [], [],
                       {"status": "error", "hunks": 0, "failed_hunks": []})]
        errors.add(job.id, "", f"backtest failed ({type(exc).__name__}: {exc})")
    seconds = round(time.perf_counter() - start, 3)
    for c in cases:
        c["errors"] = [e.as_dict() for e in errors]
        c["seconds"] = round(seconds / len(cases), 3)
        c["rule_seconds"] = {k: round(v / len(cases), 4) for k, v in sorted(_WORKER["rule_seconds"].items())}
    return cases


def _mail_cases(job: Job, errors: Errors) -> list[dict]:
    tree: SourceTree = _WORKER["tree"]
    parsed = parse_inputs(job.files, errors)
    if not parsed.series:
        return []
    # the job's mails are one series, in the order its folder gave them
    order = {os.path.normpath(f): i for i, f in enumerate(job.files)}
    mids = sorted(parsed.patches, key=lambda m: order.get(_mail_file(parsed.message(m).source), len(order)))
    series = replace(parsed.series[0], patches=tuple(mids), counters=tuple(range(1, len(mids) + 1)))
    parsed = replace(parsed, series=[series])
    undo = _reversed_parsed(parsed)
    # the fix undone on the tree: if every patch fits, the tree has the fix
    undone = apply_series(tree, [undo.patches[m] for m in reversed(mids)], Errors())
    rev_detail = {im.patch.message.msgid: _apply_detail(im) for im in undone}
    if all(_fits(d) for d in rev_detail.values()):
        before = OverlayTree(tree)
        for im in undone:
            before = before.with_images(im)
        forward = _lint(parsed, before, errors)
        backward = _lint(undo, tree, Errors())
        state = {m: ("in-tree", rev_detail[m]) for m in mids}
    else:
        done = {im.patch.message.msgid: _apply_detail(im)
                for im in apply_series(tree, [parsed.patches[m] for m in mids], Errors())}
        state = {m: ("not-in-tree" if _fits(done[m]) else "already-in-tree"
                     if done[m]["status"] == "already-applied" else "does-not-apply", done[m]) for m in mids}
        # not in the tree: the fix linted forward on it as it is (noise only)
        forward = _lint(parsed, tree, errors) if any(st == "not-in-tree" for st, _ in state.values()) else {}
        backward = {}
        for m in mids:
            if state[m][0] == "does-not-apply":
                errors.add(job.id, m, "the fix neither reverse-applies to the tree nor applies to it")
    cases = []
    for m in mids:
        patch = parsed.patches[m]
        source = _mail_file(parsed.message(m).source)
        entry = job.index.get(source, {})
        status, detail = state[m]
        cases.append(_case(_case_id(source), patch.subject.title, source, *_category(entry, patch, parsed, m),
                           [fd.path for fd in patch.files], _fixes(patch), {**detail, "status": status, "how": detail["status"]},
                           forward.get(m, []), backward.get(m, []), entry))
    return cases


def _category(entry: dict, patch, parsed: Parsed, mid: str) -> tuple:
    if entry.get("category"):
        return entry["category"], "index"
    sections = [m.group(1) for fd in patch.files for h in fd.hunks for m in [_CALLED.search(h.section)] if m]
    return derive_category(patch.subject.title, [fd.path for fd in patch.files], sections), "derived"


def _fixes(patch) -> list[str]:
    return [t.value for t in patch.trailers if t.key == "Fixes"]


def _commit_cases(job: Job, errors: Errors) -> list[dict]:
    """A fix commit: forward on its parent, reversed on itself, and its culprit on the culprit's parent."""
    import pygit2
    from .source.trees import GitTree
    tree = _WORKER["tree"]
    repo = tree.repo
    commit = repo[job.commit]
    parsed = _parse_commit(repo, commit, errors)
    mid = next(iter(parsed.patches))
    patch = parsed.patches[mid]
    fixed = GitTree(repo, commit, "the fix")
    forward = _lint(parsed, GitTree(repo, commit.parents[0], "before the fix"), errors).get(mid, [])
    backward = _lint(_reversed_parsed(parsed), fixed, Errors()).get(mid, [])
    culprits = []
    for sha in _FIXES.findall(patch.log):
        try:
            culprit = repo.revparse_single(sha).peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError):
            culprits.append({"id": sha, "found": False, "findings": []})
            continue
        found = []
        if culprit.parents:
            cp = _parse_commit(repo, culprit, Errors())
            found = [finding_data(f) for fs in _lint(cp, GitTree(repo, culprit.parents[0], "culprit parent"),
                                                       Errors()).values() for f in fs]
        culprits.append({"id": str(culprit.id)[:12], "found": True,
                         "subject": culprit.message.split("\n", 1)[0], "findings": found})
    category, how = _category({}, patch, parsed, mid)
    case = _case(job.id, patch.subject.title, f"commit {job.commit}", category, how,
                 [fd.path for fd in patch.files], _fixes(patch),
                 {"status": "in-tree", "hunks": sum(len(fd.hunks) for fd in patch.files), "failed_hunks": []},
                 forward, backward)
    case["culprits"] = culprits
    return [case]


def _parse_commit(repo, commit, errors: Errors) -> Parsed:
    from .ingest.gitsrc import format_patch
    raw = format_patch(repo, commit, 1, 1)
    return parse_inputs(["-"], errors, stdin=io.BytesIO(raw))


def _case(cid, subject, source, category, category_source, files, fixes, apply, forward=(), backward=(),
          entry=None) -> dict:
    scope = _WORKER.get("scope", {})
    fwd = [finding_data(f) for f in forward]
    # the commit message is the same either way: reversed, only code rules speak
    rev = [finding_data(f) for f in backward if scope.get(f.rule) not in ("patch", "series")]
    case = {"id": cid, "subject": subject, "source": source, "category": category,
            "category_source": category_source, "files": files, "fixes": fixes, "apply": apply,
            "forward": fwd, "reversed": rev,
            "noise": sorted({f["rule"] for f in fwd if _at_least_warning(f) and f["rule"].startswith(NOISE_PREFIXES)
                             and apply["status"] in LINTED}),
            "noticed": sorted({f["rule"] for f in rev if _at_least_warning(f) and f["rule"].startswith(NOTICE_PREFIX)})}
    if entry and "reverse_applies_to_debian_6_12" in entry:
        case["index_reverse_applies"] = entry["reverse_applies_to_debian_6_12"]
    return case


def _at_least_warning(f: dict) -> bool:
    return SEVERITY_RANK.get(f["severity"], 0) >= SEVERITY_RANK["warning"]


# ----------------------------------------------------------------------------- the run

def run(jobs: list[Job], settings: Settings, processes: int = 1,
        progress: Optional[Callable[[int, int], None]] = None, errors: Optional[Errors] = None) -> dict:
    """Run every job (in `processes` worker processes) and score the cases."""
    errors = errors if errors is not None else Errors()
    start = time.perf_counter()
    cases: list[dict] = []
    if progress:
        progress(0, len(jobs))
    if processes > 1 and len(jobs) > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(min(processes, len(jobs)), _setup, (settings,)) as pool:
            for done, found in enumerate(pool.imap(run_job, jobs), 1):
                cases.extend(found)
                if progress:
                    progress(done, len(jobs))
    else:
        _setup(settings)
        for done, job in enumerate(jobs, 1):
            cases.extend(run_job(job))
            if progress:
                progress(done, len(jobs))
    if "rules" not in _WORKER:
        _setup(settings)
    rules = _WORKER["rules"]
    data = {"version": __version__, "command": "backtest", "tree": settings.tree,
            "errors": [e.as_dict() for e in errors] + _WORKER["rule_errors"],
            "rules": [{"id": r.id, "severity": r.meta.severity, "scope": r.meta.scope} for r in rules],
            "cases": cases}
    data.update(score(cases, [r.id for r in rules]))
    data["stats"]["seconds"] = round(time.perf_counter() - start, 2)
    spent: dict = {}
    for c in cases:
        for rid, sec in c.get("rule_seconds", {}).items():
            spent[rid] = spent.get(rid, 0.0) + sec
    data["stats"]["seconds_by_rule"] = {k: round(v, 2) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    data["stats"]["processes"] = processes
    return data


def score(cases: list[dict], rule_ids: list[str]) -> dict:
    """Counts per rule and per bug category. A case is reverse-applicable when the tree has the fix
    (it was linted both ways); recall = noticed / reverse-applicable."""
    by_rule = {r: {"forward_cases": 0, "forward_findings": 0, "noise_cases": 0, "reversed_cases": 0,
                   "reversed_findings": 0, "noticed_cases": 0, "noticed": []} for r in rule_ids}
    by_cat: dict = {}
    for c in cases:
        applicable = c["apply"]["status"] == "in-tree"
        cat = by_cat.setdefault(c["category"], {"cases": 0, "reverse_applicable": 0, "noticed": 0,
                                                "noted_only": 0, "silent": 0, "noise_cases": 0})
        cat["cases"] += 1
        cat["noise_cases"] += bool(c["noise"])
        for key, findings in (("forward", c["forward"]), ("reversed", c["reversed"])):
            for rid in {f["rule"] for f in findings}:
                row = by_rule.setdefault(rid, {"forward_cases": 0, "forward_findings": 0, "noise_cases": 0,
                                               "reversed_cases": 0, "reversed_findings": 0, "noticed_cases": 0,
                                               "noticed": []})
                row[f"{key}_cases"] += 1
                row[f"{key}_findings"] += sum(1 for f in findings if f["rule"] == rid)
        for rid in c["noise"]:
            by_rule[rid]["noise_cases"] += 1
        for rid in c["noticed"]:
            by_rule[rid]["noticed_cases"] += 1
            by_rule[rid]["noticed"].append(c["id"])
        if applicable:
            cat["reverse_applicable"] += 1
            mm = [f for f in c["reversed"] if f["rule"].startswith(NOTICE_PREFIX)]
            if c["noticed"]:
                cat["noticed"] += 1
            elif mm:
                cat["noted_only"] += 1
            else:
                cat["silent"] += 1
    for cat in by_cat.values():
        cat["recall"] = _ratio(cat["noticed"], cat["reverse_applicable"])
    applicable = [c for c in cases if c["apply"]["status"] == "in-tree"]
    noticed = [c for c in applicable if c["noticed"]]
    totals = {"cases": len(cases), "reverse_applicable": len(applicable),
              "not_in_tree": sum(1 for c in cases if c["apply"]["status"] == "not-in-tree"),
              "already_in_tree": sum(1 for c in cases if c["apply"]["status"] == "already-in-tree"),
              "not_applicable": sum(1 for c in cases if c["apply"]["status"] in ("does-not-apply", "error")),
              "noticed": len(noticed), "recall": _ratio(len(noticed), len(applicable)),
              "silent": sum(1 for c in applicable if not any(f["rule"].startswith(NOTICE_PREFIX)
                                                             for f in c["reversed"])),
              "noise_cases": sum(1 for c in cases if c["noise"]),
              "noise_findings": sum(1 for c in cases for f in c["forward"]
                                    if _at_least_warning(f) and f["rule"].startswith(NOISE_PREFIXES))}
    return {"stats": totals, "by_rule": dict(sorted(by_rule.items())), "by_category": dict(sorted(by_cat.items())),
            "noticed": [{"id": c["id"], "subject": c["subject"], "category": c["category"], "rules": c["noticed"]}
                        for c in noticed]}


def _ratio(a: int, b: int) -> Optional[float]:
    return round(a / b, 3) if b else None


def progress_bar(stream=None) -> Optional[Callable[[int, int], None]]:
    """A one-line bar on stderr when a person is watching it, else nothing."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        stream.write(f"\rbacktest [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            stream.write("\n")
        stream.flush()
    return show
