"""Lint benchmark: the full rule pack against scripts/checkpatch.pl on the same real patches, same run.

    .venv/bin/python benchmarks/lint_bench.py [--tree .cache/kernels/linux-source-6.1] [--repeat 3]
    .venv/bin/python benchmarks/lint_bench.py --detail [--series DIR]   # the older, finer table below

Default: issue 14's bars, every row a whole process as a user runs it, bytecode and reviewkit's
cache warm (one untimed run of each first), best of --repeat round-robin rounds:
- start-up: `python3 -c pass` vs `reviewkit --help` and `reviewkit lint` of a one-line patch
  (written here) without a tree;
- one real mm patch (the first of mm-patches-6.1/series-a): `reviewkit lint --tree`, with and
  without checkpatch, vs `checkpatch.pl --no-tree` on it (bars: 1.0x without, 1.15x with);
- the 19 patches of series-a: `reviewkit lint --tree` with and without checkpatch vs one
  `checkpatch.pl --no-tree` invocation over all 19 (bar: 0.4x without);
- checkpatch merged also against what lint merges: checkpatch.pl in tree mode from the tree's top
  (it asks get_maintainer.pl about every touched file, so it costs far more than --no-tree);
- every lint row again "(served)": with `reviewkit serve` running, the same command is answered by
  the server (the rows without it set REVIEWKIT_SERVER=0). The server is started once and stopped at
  the end; the run fails if it did not answer.

--detail:

- reviewkit: `parse_inputs` + `analyse` (series applied to the tree) + `load_rules` (the whole
  built-in pack) + `lint`, each measurement in a fresh interpreter: "workload" is perf_counter
  around those four calls, "process" the child's wall time (Python start and imports included,
  as `reviewkit lint` costs). Cold: an empty parse cache (fresh XDG_CACHE_HOME); warm: the same
  cache again.
- checkpatch.pl from the same tree, on the same .patch files, tree mode (from the tree's top,
  as people run it): one perl process per patch, one after the other; all patches in one
  invocation; and, for reference, one process per patch with --no-tree.
- reviewkit's checkpatch integration (`reviewkit.rules.checkpatch.checkpatch_findings`: one perl process).
Times are the best of --repeat rounds; each round runs every measurement once (round-robin), so a
change in machine load hits all rows alike. Aim: the full lint no slower than checkpatch one process
per patch.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERIES = ROOT.parent / "shared" / "corpus" / "mm-patches-6.1" / "series-b"
CHECKPATCH_ARGS = ["--quiet", "--terse", "--show-types", "--no-summary", "--no-color"]

# Runs in a fresh interpreter: the four calls of a lint, timed from inside.
CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from reviewkit.code.analysis import analyse
from reviewkit.pipeline import parse_inputs
from reviewkit.rules.engine import lint
from reviewkit.rules.loader import load_rules
t = time.perf_counter()
parsed = parse_inputs([sys.argv[2]])
analysis = analyse(parsed, sys.argv[3])
rules = load_rules()
result = lint(parsed, analysis, rules)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "patches": len(parsed.patches), "rules": len(rules),
                  "findings": len(result.active), "errors": len(parsed.errors)}))
"""

CHILD_CHECKPATCH = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from reviewkit.code.analysis import analyse
from reviewkit.model import Errors
from reviewkit.pipeline import parse_inputs
from reviewkit.rules.checkpatch import checkpatch_findings
parsed = parse_inputs([sys.argv[2]])
analysis = analyse(parsed, sys.argv[3])
t = time.perf_counter()
found = checkpatch_findings(parsed, analysis, Errors(), jobs=int(sys.argv[4]))
print(json.dumps({"seconds": time.perf_counter() - t, "findings": len(found)}))
"""


def run_child(code: str, series: Path, tree: Path, cache: str, *extra: str) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    done = subprocess.run([sys.executable, "-c", code, str(ROOT), str(series), str(tree), *extra], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def checkpatch(tree: Path, files: list, extra=()) -> None:
    args = ["perl", "scripts/checkpatch.pl", *CHECKPATCH_ARGS, *extra]
    for f in files:
        subprocess.run(args + [str(f)], cwd=tree, capture_output=True)


def wall(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measurements(series: Path, tree: Path, files: list, tmp: str, counts: dict) -> list:
    """Functions that each run one measurement once and return {row name: seconds}."""
    fresh = iter(range(10 ** 6))
    warm = os.path.join(tmp, "warm")
    run_child(CHILD, series, tree, warm)  # fill the warm cache

    def lint(label: str, cache: str) -> dict:
        t = time.perf_counter()
        data = run_child(CHILD, series, tree, cache)
        counts.update(data)
        return {f"reviewkit lint, {label}: workload": data["seconds"],
                f"reviewkit lint, {label}: process": time.perf_counter() - t}

    def integration() -> dict:
        data = run_child(CHILD_CHECKPATCH, series, tree, os.path.join(tmp, "cp"))
        return {"checkpatch integration (one process)": data["seconds"]}

    all_in_one = ["perl", "scripts/checkpatch.pl", *CHECKPATCH_ARGS, *map(str, files)]
    return [
        lambda: lint("warm cache", warm),
        lambda: lint("cold cache", os.path.join(tmp, f"cold{next(fresh)}")),
        lambda: {"checkpatch.pl, one process per patch": wall(lambda: checkpatch(tree, files))},
        lambda: {"checkpatch.pl, all patches in one run": wall(
            lambda: subprocess.run(all_in_one, cwd=tree, capture_output=True))},
        lambda: {"checkpatch.pl --no-tree, one per patch": wall(lambda: checkpatch(tree, files, ["--no-tree"]))},
        integration,
    ]


def best_of(runs: list, repeat: int) -> dict:
    """Round-robin: each repeat runs every measurement once, so a change in machine load hits all alike."""
    best: dict = {}
    for _ in range(repeat):
        for run in runs:
            for name, seconds in run().items():
                best[name] = min(best.get(name, seconds), seconds)
    return best


SERIES_A = ROOT.parent / "shared" / "corpus" / "mm-patches-6.1" / "series-a"
ONE_LINE = """From: Ada Lovelace <ada@example.org>
Subject: [PATCH] mm: fix a comment

Signed-off-by: Ada Lovelace <ada@example.org>
---
diff --git a/mm/memory.c b/mm/memory.c
--- a/mm/memory.c
+++ b/mm/memory.c
@@ -10,3 +10,3 @@
 #include <linux/mm.h>
-/* teh page */
+/* the page */
 #include <linux/swap.h>
"""
# (row, yardstick row, bar or None)
BARS = [
    ("reviewkit --help", "python3 -c pass", None),
    ("reviewkit lint, one-line patch, no tree", "python3 -c pass", None),
    ("lint 1 patch --tree, no checkpatch", "checkpatch.pl --no-tree, 1 patch", 1.0),
    ("lint 1 patch --tree, checkpatch merged", "checkpatch.pl --no-tree, 1 patch", 1.15),
    ("lint 19 patches --tree, no checkpatch", "checkpatch.pl --no-tree, 19 in one run", 0.4),
    ("lint 19 patches --tree, checkpatch merged", "checkpatch.pl --no-tree, 19 in one run", None),
    # what lint merges is checkpatch in tree mode (as people run it from the tree's top): the fair yardstick
    ("lint 1 patch --tree, checkpatch merged", "checkpatch.pl (tree mode), 1 patch", 1.15),
    ("lint 19 patches --tree, checkpatch merged", "checkpatch.pl (tree mode), 19 in one run", 1.15),
]
# the same lint rows with `reviewkit serve` running (the client hands the run to it)
SERVED = " (served)"
BARS += [(name + SERVED, base, bar) for name, base, bar in BARS if name.startswith("lint ")]


def issue_bars(tree: Path, series: Path, repeat: int, src: str = "") -> int:
    files = sorted(series.glob("*.patch"))
    one = files[0]
    rk = [sys.executable, "-m", "reviewkit"]
    lint = rk + ["lint", "--fail-on", "never", "--allow-unapplied", "--format", "json"]
    perl = ["perl", "scripts/checkpatch.pl", "--no-tree"]
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "one-line.patch"
        small.write_text(ONE_LINE)
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "xdg"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # users have bytecode caches: the warm-up run writes them
        if src:  # another checkout's reviewkit (and rules), e.g. the main branch's, for before/after
            env["PYTHONPATH"] = src
        rows = {
            "python3 -c pass": ([sys.executable, "-c", "pass"], None),
            "reviewkit --help": (rk + ["--help"], None),
            "reviewkit lint, one-line patch, no tree": (lint + [str(small)], None),
            "checkpatch.pl --no-tree, 1 patch": (perl + [str(one)], tree),
            "lint 1 patch --tree, no checkpatch": (lint + [str(one), "--tree", str(tree), "--no-checkpatch"], None),
            "lint 1 patch --tree, checkpatch merged": (lint + [str(one), "--tree", str(tree)], None),
            "checkpatch.pl --no-tree, 19 in one run": (perl + [str(f) for f in files], tree),
            "lint 19 patches --tree, no checkpatch": (lint + [str(series), "--tree", str(tree), "--no-checkpatch"],
                                                      None),
            "lint 19 patches --tree, checkpatch merged": (lint + [str(series), "--tree", str(tree)], None),
            "checkpatch.pl (tree mode), 1 patch": (perl[:2] + [str(one)], tree),
            "checkpatch.pl (tree mode), 19 in one run": (perl[:2] + [str(f) for f in files], tree),
        }
        rows.update({name + SERVED: rows[name] for name in list(rows) if name.startswith("lint ")})
        socket_path = os.path.join(tmp, "serve.sock")
        env["REVIEWKIT_SERVER"] = "0"  # rows without SERVED run in their own process

        served_env = dict(env, REVIEWKIT_SOCKET=socket_path)
        served_env.pop("REVIEWKIT_SERVER")

        def timed(name, cmd, cwd) -> float:
            t = time.perf_counter()  # reviewkit runs in tmp: `-m` puts the working directory first on sys.path
            subprocess.run(cmd, cwd=cwd or tmp, env=served_env if name.endswith(SERVED) else env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - t

        server = subprocess.Popen(rk + ["serve", "--idle", "600"], cwd=tmp, env=served_env,
                                  stderr=subprocess.PIPE, text=True)
        try:
            while not os.path.exists(socket_path) and server.poll() is None:
                time.sleep(0.05)
            for name, (cmd, cwd) in rows.items():  # warm: bytecode, the page cache, reviewkit's caches
                timed(name, cmd, cwd)
            best = best_of([lambda n=n, c=c: {n: timed(n, *c)} for n, c in rows.items()], repeat)
        finally:
            subprocess.run(rk + ["serve", "--stop"], cwd=tmp, env=served_env, capture_output=True)
            log = server.communicate(timeout=60)[1]
        if "stopped after" not in log:
            print(f"the server did not answer as expected:\n{log}")
            return 1
    print(f"{one.name} and the {len(files)} patches of {series.name} against {tree.name}, "
          f"{os.cpu_count()} cores, best of {repeat}\n")
    print(f"{'what':<54}{'seconds':>9}   {'vs':<42}{'ratio':>7}  bar")
    for name, base, bar in BARS:
        ratio = best[name] / best[base]
        verdict = "" if bar is None else f"<= {bar}x: {'holds' if ratio <= bar else 'NOT MET'}"
        print(f"{name:<54}{best[name]:>9.3f}   {base:<42}{ratio:>6.2f}x  {verdict}")
    for base in dict.fromkeys(b for _, b, _ in BARS):
        print(f"{base:<54}{best[base]:>9.3f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", default=str(ROOT / ".cache" / "kernels" / "linux-source-6.1"))
    ap.add_argument("--series", default=None, help="default: series-a (bars), series-b (--detail)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--detail", action="store_true", help="the finer table (workload vs process, checkpatch "
                                                          "per patch, cold cache)")
    ap.add_argument("--src", default="", help="run the reviewkit of this checkout instead (e.g. an export of "
                                               "main, to measure before and after in one sitting)")
    args = ap.parse_args()
    args.series = args.series or str(SERIES if args.detail else SERIES_A)
    tree, series = Path(args.tree), Path(args.series)
    if not (tree / "scripts" / "checkpatch.pl").is_file() or not (tree / "mm" / "memory.c").is_file():
        print(f"skipped: no kernel tree with scripts/checkpatch.pl at {tree} (see .ci/run, or pass --tree)")
        return 0
    if not series.is_dir():
        print(f"skipped: no corpus series at {series}")
        return 0
    if shutil.which("perl") is None:
        print("skipped: perl is not installed (checkpatch.pl is the baseline)")
        return 0
    if not args.detail:
        return issue_bars(tree, series, args.repeat, args.src)
    files = sorted(series.glob("*.patch"))
    print(f"{len(files)} patches of {series.name} against {tree.name}, {os.cpu_count()} cores, best of {args.repeat}")
    counts: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        best = best_of(measurements(series, tree, files, tmp, counts), args.repeat)
    print(f"reviewkit: {counts['rules']} rules, {counts['findings']} findings, {counts['errors']} input errors\n")
    base = best["checkpatch.pl, one process per patch"]
    print(f"{'what':<42}{'seconds':>9}{'vs checkpatch per patch':>25}")
    for name, seconds in best.items():
        print(f"{name:<42}{seconds:>9.3f}{seconds / base:>24.2f}x")
    ours = [best["reviewkit lint, warm cache: process"], best["reviewkit lint, cold cache: process"]]
    verdict = "holds" if max(ours) <= base else "DOES NOT hold"
    print(f"\naim: full lint (process, cold and warm) no slower than checkpatch one process per patch: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
