"""Round trip: real mail -> an archive's page (tests/web_renderers.py) -> reviewkit -> what survived.

`measure(corpus)` renders every thread of ../shared/corpus/lore-threads the
way each archive shows it, reads the pages back and counts, per format, how
many messages, authors, dates, reply edges and diff lines (byte-exact) come
back. Run it directly for the table:

    .venv/bin/python -m tests.web_survival [--limit N]
"""
from __future__ import annotations

import difflib
import sys
import tempfile
from collections import defaultdict
from datetime import timedelta, timezone
from pathlib import Path
from typing import Callable, Optional

from reviewkit.ingest.mail import parse_message
from reviewkit.ingest.mbox import split_mbox
from reviewkit.ingest.web.quoting import norm_name
from reviewkit.ingest.web.repair import repair_diff
from reviewkit.model import Errors, Message, Source
from reviewkit.patches import find_diff_start
from reviewkit.pipeline import Parsed, parse_inputs

from tests import web_renderers as R

FORMATS = ("lore-flat", "lore-nested", "patchwork", "mail-archive", "collapsed-raw", "collapsed-spinics")
KEYS = ("pages", "messages", "found", "authors", "dates", "edges", "edges_ok", "diff_lines", "diff_exact", "crashed")


class Page:
    def __init__(self, fmt: str, text: str, msgs: list[Message], parent: dict, date_precision: str):
        self.fmt, self.text, self.msgs, self.parent, self.precision = fmt, text, msgs, parent, date_precision


def _raw_by_id(path: Path) -> dict[str, bytes]:
    out = {}
    with open(path, "rb") as fh:
        for index, _, raw in split_mbox(fh):
            if index < 0 or not raw.strip():
                continue
            m = parse_message(raw, Source(str(path), ""), Errors())
            if m is not None:
                out.setdefault(m.msgid, raw)
    return out


def pages_for(mbox: Path, truth: Parsed) -> list[Page]:
    """Every page each archive would have for this mbox's threads."""
    by_id = {m.msgid: m for m in truth.messages if m.date is not None}
    raw = _raw_by_id(mbox)
    pages: list[Page] = []
    for t in truth.threads:
        msgs = [by_id[x] for x in t.messages if x in by_id]
        if not msgs:
            continue
        parent = {k: v for k, v in t.parent.items() if k in by_id}
        flat = R.lore_flat(msgs, parent)
        lore = R._Lore(msgs, parent)
        pages.append(Page("lore-flat", flat, sorted(msgs, key=lambda m: R.utc(m.date)), parent, "minute"))
        pages.append(Page("lore-nested", R.lore_nested(msgs, parent), [m for _, m, _ in lore.order], parent,
                          "minute"))
        ma = sorted(msgs, key=lambda m: R.utc(m.date), reverse=True)
        pages.append(Page("mail-archive", R.mail_archive(msgs), ma, parent, "day"))
    for s in truth.series:
        for mid in ([s.cover] if s.cover else []) + list(s.patches):
            sub = by_id.get(mid)
            if sub is None:
                continue
            comments = [by_id[c] for c in s.followups.get(mid, ()) if c in by_id]
            diff_at = find_diff_start(sub.body.split("\n")) if mid in truth.patches else None
            text = R.patchwork_page(sub, comments, diff_at, s.title)
            ordered = [sub] + sorted(comments, key=lambda m: R.utc(m.date))
            parent = {c.msgid: truth.parent.get(c.msgid) for c in comments}
            pages.append(Page("patchwork", text, ordered, parent, "minute"))
    for m in by_id.values():
        if m.msgid in raw:
            pages.append(Page("collapsed-raw", R.lore_raw_collapsed(raw[m.msgid]), [m], {}, "second"))
        pages.append(Page("collapsed-spinics", R.spinics(m), [m], {}, "second"))
    return pages


def _same_author(ours: Message, truth: Message) -> bool:
    want = {norm_name(truth.sender.name), norm_name(R.names(truth.header("From")))}
    return norm_name(ours.sender.name) in want or (bool(ours.sender.email) and ours.sender.email == truth.sender.email)


def _same_date(ours: Message, truth: Message, precision: str) -> bool:
    if ours.date is None:
        return False
    a, b = ours.date.astimezone(timezone.utc), truth.date.astimezone(timezone.utc)
    if precision == "day" and dict(ours.capture).get("date_precision") == "day":
        return a.date() == b.astimezone(R.ARCHIVE_ZONE).date()
    if precision == "second":
        return abs(a - b) <= timedelta(seconds=1)
    return abs(a - b) < timedelta(minutes=1) and a.replace(second=0) == b.replace(second=0, microsecond=0)


def _diff_score(truth: Parsed, ours: Parsed, m: Message, mine: Optional[Message]) -> tuple[int, int]:
    p = truth.patches.get(m.msgid)
    if p is None or not p.diff:
        return 0, 0
    want = p.diff.rstrip("\n").split("\n")
    got_patch = ours.patches.get(mine.msgid) if mine is not None else None
    got = got_patch.diff.rstrip("\n").split("\n") if got_patch and got_patch.diff else []
    sm = difflib.SequenceMatcher(None, want, got, autojunk=False)
    return len(want), sum(b.size for b in sm.get_matching_blocks())


def score_page(page: Page, truth: Parsed, workdir: Path) -> dict:
    counts = dict.fromkeys(KEYS, 0)
    counts["pages"] = 1
    counts["messages"] = len(page.msgs)
    path = workdir / "page.txt"
    path.write_text(page.text, encoding="utf-8")
    try:
        ours = parse_inputs([str(path)])
    except Exception:  # a crash is a failure to measure, counted as such
        counts["crashed"] = 1
        return counts
    real = [m for m in ours.messages if not m.quoted_only]
    counts["found"] = min(len(real), len(page.msgs))
    mapping: dict[str, Message] = {}
    if len(real) == len(page.msgs):
        mapping = {t.msgid: o for t, o in zip(page.msgs, real)}
    else:
        free = list(real)
        for t in page.msgs:
            hit = next((o for o in free if _same_author(o, t) and _same_date(o, t, page.precision)), None)
            if hit is not None:
                free.remove(hit)
                mapping[t.msgid] = hit
    back = {o.msgid: t for t, o in mapping.items()}  # our msgid -> truth msgid
    for t in page.msgs:
        o = mapping.get(t.msgid)
        counts["authors"] += bool(o is not None and _same_author(o, t))
        counts["dates"] += bool(o is not None and _same_date(o, t, page.precision))
        want = page.parent.get(t.msgid)
        if page.fmt.startswith("collapsed") and t.in_reply_to:
            # a page of one message: its In-Reply-To is the edge (when the page still shows it)
            counts["edges"] += 1
            counts["edges_ok"] += o is not None and o.in_reply_to == t.in_reply_to
        elif want is not None and want in {x.msgid for x in page.msgs}:
            counts["edges"] += 1
            got = ours.parent.get(o.msgid) if o is not None else None
            got_truth = back.get(got)
            counts["edges_ok"] += got_truth == want
        n, ok = _diff_score(truth, ours, t, o)
        counts["diff_lines"] += n
        counts["diff_exact"] += ok
    return counts


def measure(corpus: Path, limit: Optional[int] = None, formats=FORMATS,
            progress: Optional[Callable[[str], None]] = None) -> dict:
    totals = {f: dict.fromkeys(KEYS, 0) for f in formats}
    with tempfile.TemporaryDirectory() as tmp:
        for mbox in sorted((corpus / "lore-threads").glob("*/*.mbox")):
            truth = parse_inputs([str(mbox)])
            per_format: dict = defaultdict(int)
            for page in pages_for(mbox, truth):
                if page.fmt not in formats or (limit is not None and per_format[page.fmt] >= limit):
                    continue
                per_format[page.fmt] += 1
                for k, v in score_page(page, truth, Path(tmp)).items():
                    totals[page.fmt][k] += v
            if progress:
                progress(mbox.name)
    return totals


def rates(t: dict) -> dict:
    def r(a: str, b: str) -> Optional[float]:
        return round(t[a] / t[b], 3) if t[b] else None
    return {"pages": t["pages"], "messages": t["messages"], "found": r("found", "messages"),
            "authors": r("authors", "messages"), "dates": r("dates", "messages"),
            "reply_edges": r("edges_ok", "edges"), "edges": t["edges"],
            "diff_lines_exact": r("diff_exact", "diff_lines"), "diff_lines": t["diff_lines"],
            "crashed": t["crashed"]}


def table(totals: dict) -> str:
    head = f"{'format':18} {'pages':>5} {'msgs':>5} {'found':>6} {'authors':>7} {'dates':>6} " \
           f"{'edges':>11} {'diff lines exact':>22}"
    out = [head]
    for f, t in totals.items():
        r = rates(t)

        def pct(v):
            return "   -  " if v is None else f"{v * 100:5.1f}%"
        out.append(f"{f:18} {r['pages']:5} {r['messages']:5} {pct(r['found'])} {pct(r['authors']):>7} "
                   f"{pct(r['dates'])} {pct(r['reply_edges'])} of {r['edges']:3} "
                   f"{pct(r['diff_lines_exact'])} of {r['diff_lines']:6}")
    return "\n".join(out)


if __name__ == "__main__":
    from tests.conftest import CORPUS
    lim = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else None
    print(table(measure(CORPUS, lim, progress=lambda n: print(f"  {n}", file=sys.stderr))))


# --- repairing against a source tree ------------------------------------------------------

def tree_lookup(tree: Path) -> Callable[[str], Optional[str]]:
    def lookup(path: str) -> Optional[str]:
        f = tree / path
        try:
            return f.read_text(encoding="utf-8", errors="surrogateescape") if f.is_file() else None
        except OSError:
            return None
    return lookup


def applies_to(diff: str, lookup: Callable[[str], Optional[str]]) -> bool:
    """Does every hunk's old side, as sent, match the tree (so the tree is the patch's base)?"""
    res = repair_diff(diff.split("\n"), "check", lookup)
    return not any(r.kind == "tree-mismatch" for r in res.repairs)


def measure_tree(patch_dir: Path, tree: Path, renderers: Optional[dict] = None) -> dict:
    """Patches that apply to `tree`, rendered by each archive, read back without and with the tree.

    Counts the diff lines that come back byte-exact, all of them and the old side alone (context and
    removed lines: what the tree can restore; added lines' indentation it cannot)."""
    renderers = renderers or {"mail-archive": lambda m: R.mail_archive([m]),
                              "mail-archive, not cut": lambda m: R.mail_archive([m], max_lines=1 << 30),
                              "collapsed-spinics": lambda m: R.spinics(m, with_headers=True)}
    out = {}
    lookup = tree_lookup(tree)
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "page.txt"
        for name, render in renderers.items():
            row = dict.fromkeys(("patches", "lines", "old_lines", "exact", "exact_tree", "old_exact",
                                 "old_exact_tree", "restored_hunks", "tree_mismatch"), 0)
            for patch in sorted(patch_dir.glob("*.patch")):
                truth = parse_inputs([str(patch)])
                msgs = [m for m in truth.messages if m.msgid in truth.patches]
                if not msgs or not applies_to(truth.patches[msgs[0].msgid].diff, lookup):
                    row["skipped"] = row.get("skipped", 0) + 1  # the tree is not this patch's base
                    continue
                m = msgs[0]
                want = truth.patches[m.msgid].diff.rstrip("\n").split("\n")
                old = [ln for ln in want if ln[:1] in (" ", "-") and not ln.startswith("--- ")]
                page_path.write_text(render(m), encoding="utf-8")
                row["patches"] += 1
                row["lines"] += len(want)
                row["old_lines"] += len(old)
                for key, lk in (("exact", None), ("exact_tree", lookup)):
                    got_p = parse_inputs([str(page_path)], lookup=lk)
                    got = next(iter(got_p.patches.values()), None)
                    lines = got.diff.rstrip("\n").split("\n") if got else []
                    sm = difflib.SequenceMatcher(None, want, lines, autojunk=False)
                    row[key] += sum(b.size for b in sm.get_matching_blocks())
                    old_got = [ln for ln in lines if ln[:1] in (" ", "-") and not ln.startswith("--- ")]
                    sm = difflib.SequenceMatcher(None, old, old_got, autojunk=False)
                    row["old_" + key] += sum(b.size for b in sm.get_matching_blocks())
                    if lk is not None and got is not None:
                        row["restored_hunks"] += sum(1 for r in got.repairs if r.kind == "restored-from-tree")
                        row["tree_mismatch"] += sum(1 for r in got.repairs if r.kind == "tree-mismatch")
            out[name] = row
    return out
