"""Score `reviewkit summarize` against the hand-labelled golden corpus in tests/golden/summaries/.

    .venv/bin/python benchmarks/summary_score.py [--json FILE] [--family NAME]

Each golden file lists, for one thread family, the events and claims a maintainer would list
(msgid, kind, who, what was asked, whether and where it was addressed), the patch links across
versions (`links`: new patch -> previous patch, "new" or "missing"), the version order and the
claims the tool must not make (`not_events`).

- **Recall** per kind: a labelled event is found when the summary has a claim of that kind on the
  same message (a request may also be found as a changes-requested verdict and the other way
  round; a question or request with a `match` word must be the sentence holding that word).
- **Precision** per kind: every claim of a kind in `complete_kinds` (verdicts and events, labelled
  exhaustively) is right only if a labelled event of that kind is on that message; question,
  request and out-of-scope claims are scored only on mails the label file lists as `reviewed` or
  where it labels something. An "addressed"/"not-addressed" outcome is a claim too (right when
  the label says "yes"/"no"), so is a question's answered/open status, each labelled link and the
  version order.
- Time: `summarize` of the 11-version device-exclusive thread, best of 3, beside parsing the same
  mails in the same run (the baseline); the aim is under 2 s.

Golden files of the corpus families name inputs under ../shared/corpus/lore-threads (skipped when
it is absent); `fixture-*` files name inputs under fixtures/review/.
"""
from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reviewkit.pipeline import parse_inputs  # noqa: E402
from reviewkit.render.summary_data import summary_data  # noqa: E402
from reviewkit.review import summarize  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "summaries"
LORE = ROOT.parent / "shared" / "corpus" / "lore-threads"
FIXTURES = ROOT / "fixtures" / "review"
PROSE_KINDS = ("question", "request", "out-of-scope")
SAME = {"request": {"request", "changes-requested"}, "changes-requested": {"changes-requested", "request"}}


def inputs_of(gold: dict) -> list[str] | None:
    base = FIXTURES if gold["family"].startswith("fixture-") else LORE
    if not base.is_dir():
        return None
    return sorted(p for pattern in gold["inputs"] for p in glob.glob(str(base / pattern)))


def claims(data: dict) -> list[dict]:
    """Every claim the summary makes that the golden corpus can check: (msgid, kind, text, extra)."""
    out, seen = [], set()

    def add(msgid, kind, text="", **extra):
        key = (msgid, kind, text[:80])
        if key not in seen:
            seen.add(key)
            out.append({"msgid": msgid, "kind": kind, "text": text, **extra})

    for s in data["series"]:
        lists = [s["verdicts"]] + [p["verdicts"] for p in s["patches"]]
        for vs in lists:
            for v in vs:
                add(v["where"]["msgid"], v["kind"], v["why"]["text"],
                    outcome=(v.get("next_version") or {}).get("status"))
        for q in s["questions"]:
            add(q["where"]["msgid"], "question", q["text"], status=q["status"])
        for a in s["action_items"]:
            if a["kind"] not in ("request", "remark"):
                continue
            kind = "out-of-scope" if a.get("scope") == "out-of-scope" else a["kind"]
            add(a["where"]["msgid"], kind, a["text"], outcome=(a.get("next_version") or {}).get("status"))
    return out


def _matches(event: dict, claim: dict) -> bool:
    """`kinds` in a label lists other kinds that are right too: "Should we drop this put_page()?" is
    as much a question as a request."""
    allowed = set(SAME.get(event["kind"], {event["kind"]})) | set(event.get("kinds", ()))
    if claim["msgid"] != event["msgid"] or claim["kind"] not in allowed:
        return False
    word = event.get("match")
    return not word or claim["kind"] not in PROSE_KINDS or word.lower() in claim["text"].lower()


def score(gold: dict, data: dict) -> dict:
    cs = claims(data)
    events = gold["events"]
    complete = set(gold.get("complete_kinds", ()))
    reviewed = set(gold.get("reviewed", ()))
    wrong_keys = {(n["msgid"], n["kind"]) for n in gold.get("not_events", ())}
    recall: dict = defaultdict(lambda: [0, 0])
    precision: dict = defaultdict(lambda: [0, 0])
    misses, errors = [], []
    for e in events:
        found = any(_matches(e, c) for c in cs)
        recall[e["kind"]][0] += found
        recall[e["kind"]][1] += 1
        if not found:
            misses.append(e)
    for c in cs:
        k = c["kind"]
        if (c["msgid"], k) in wrong_keys:
            ok = False
        elif k in complete or c["msgid"] in reviewed:
            ok = any(_matches(e, c) for e in events)
        else:
            continue
        precision[k][0] += ok
        precision[k][1] += 1
        if not ok:
            errors.append(c)
        # the claim's outcome is a claim of its own
        ev = next((e for e in events if _matches(e, c)), None)
        status = c.get("outcome")
        if ev is not None and status in ("addressed", "not-addressed") and ev.get("addressed") in ("yes", "no",
                                                                                                   "unknown"):
            right = (status == "addressed") == (ev["addressed"] == "yes") and ev["addressed"] != "unknown"
            precision["addressed"][0] += right
            precision["addressed"][1] += 1
            if not right:
                errors.append({**c, "kind": "addressed", "label": ev["addressed"]})
        if ev is not None and k == "question" and ev.get("status"):
            right = c.get("status") == ev["status"]
            precision["question-status"][0] += right
            precision["question-status"][1] += 1
            if not right:
                errors.append({**c, "kind": "question-status", "label": ev["status"]})
    # links across versions
    plinks = {p["msgid"]: p["versions"]["previous"] for s in data["series"] for p in s["patches"]}
    for new, old in gold.get("links", {}).items():
        link = plinks.get(new)
        got = None if link is None else (link["how"] if link["how"] in ("new", "missing") else link["previous"])
        if got is None and new in plinks:
            got = "missing" if old == "missing" and _series_previous_missing(data, new) else None
        right = got == old
        precision["link"][0] += right
        precision["link"][1] += 1
        if not right:
            errors.append({"msgid": new, "kind": "link", "label": old, "text": str(got)})
    if gold.get("versions"):
        got = [h["versions"] for h in data["histories"]]
        right = gold["versions"] in got
        precision["version-order"][0] += right
        precision["version-order"][1] += 1
        if not right:
            errors.append({"msgid": "", "kind": "version-order", "label": gold["versions"], "text": str(got)})
    return {"recall": {k: tuple(v) for k, v in recall.items()}, "precision": {k: tuple(v) for k, v in precision.items()},
            "misses": misses, "errors": errors}


def _series_previous_missing(data: dict, patch: str) -> bool:
    for s in data["series"]:
        if any(p["msgid"] == patch for p in s["patches"]):
            return (s["versions"].get("previous") or {}).get("how") == "missing"
    return False


def total(results: list[dict], part: str) -> tuple[int, int]:
    ok = sum(v[0] for r in results for v in r[part].values())
    n = sum(v[1] for r in results for v in r[part].values())
    return ok, n


def per_kind(results: list[dict], part: str) -> dict:
    out: dict = defaultdict(lambda: [0, 0])
    for r in results:
        for k, (ok, n) in r[part].items():
            out[k][0] += ok
            out[k][1] += n
    return {k: tuple(v) for k, v in sorted(out.items())}


def run(families: list[str] | None = None) -> dict:
    results, skipped = {}, []
    for path in sorted(GOLDEN.glob("*.json")):
        gold = json.loads(path.read_text())
        if families and gold["family"] not in families:
            continue
        inputs = inputs_of(gold)
        if not inputs:
            skipped.append(gold["family"])
            continue
        data = summary_data(summarize(parse_inputs(inputs)))
        results[gold["family"]] = score(gold, data)
    rs = list(results.values())
    return {"families": results, "skipped": skipped, "recall": total(rs, "recall"),
            "precision": total(rs, "precision"), "recall_by_kind": per_kind(rs, "recall"),
            "precision_by_kind": per_kind(rs, "precision")}


def timing(repeat: int = 3) -> dict | None:
    """Best-of-`repeat` seconds of parsing the 11 device-exclusive mboxes (the baseline, same run) and of
    summarizing them; the aim is summarize under 2 s."""
    files = sorted(glob.glob(str(LORE / "device-exclusive-series" / "*.mbox")))
    if not files:
        return None
    best_parse = best_sum = None
    for _ in range(repeat):
        t = time.perf_counter()
        parsed = parse_inputs(files)
        took_parse = time.perf_counter() - t
        t = time.perf_counter()
        summarize(parsed)
        took_sum = time.perf_counter() - t
        best_parse = took_parse if best_parse is None else min(best_parse, took_parse)
        best_sum = took_sum if best_sum is None else min(best_sum, took_sum)
    return {"parse_seconds": round(best_parse, 3), "summarize_seconds": round(best_sum, 3),
            "summarize_vs_parse": round(best_sum / best_parse, 2) if best_parse else None}


def pct(pair) -> str:
    ok, n = pair
    return f"{ok}/{n} ({100 * ok / n:.1f}%)" if n else "-"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json")
    ap.add_argument("--family", action="append")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)
    res = run(args.family)
    if res["skipped"]:
        print("skipped (inputs absent):", ", ".join(res["skipped"]))
    print(f"claims right: {pct(res['precision'])}; labelled events found: {pct(res['recall'])}")
    kinds = sorted(set(res["recall_by_kind"]) | set(res["precision_by_kind"]))
    print(f"{'kind':<20}{'precision':>20}{'recall':>20}")
    for k in kinds:
        print(f"{k:<20}{pct(res['precision_by_kind'].get(k, (0, 0))):>20}{pct(res['recall_by_kind'].get(k, (0, 0))):>20}")
    if args.verbose:
        for fam, r in res["families"].items():
            for m in r["misses"]:
                print(f"MISS  {fam} {m['kind']:<18} {m['msgid']} ({m['what']})")
            for e in r["errors"]:
                print(f"WRONG {fam} {e['kind']:<18} {e['msgid']} {e.get('label', '')} :: {e['text'][:100]}")
    t = timing()
    if t is not None:
        res["device_exclusive"] = t
        print(f"device-exclusive v1..v11 (269 mails): summarize {t['summarize_seconds']:.2f} s (aim < 2 s); "
              f"parse {t['parse_seconds']:.2f} s (baseline, same run); ratio {t['summarize_vs_parse']}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=list))
    return 0


if __name__ == "__main__":
    sys.exit(main())
