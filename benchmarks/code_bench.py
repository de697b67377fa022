"""Code-model benchmark: index a real kernel tree cold and warm, and build FunctionChanges per patch.

    .venv/bin/python benchmarks/code_bench.py [--tree .cache/kernels/linux-source-6.1] [--repeat 3]

- cold index: mm/*.c + include/linux/*.h (about 1,500 files, 15 MB in 6.1) into an
  empty cache, parsed on every core; warm: the same again with the cache filled.
- baseline, same run and files: Universal Ctags (`ctags --fields=+ne`), which
  finds functions and their extents without building a syntax tree.
- per patch: apply + parse + FunctionChanges for each patch of
  ../shared/corpus/mm-patches-6.1/series-b against the tree, and without a tree.
Aims: cold < 2 s, warm < 0.2 s on a 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reviewkit.code.analysis import analyse  # noqa: E402
from reviewkit.code.index import ParseCache, build_index  # noqa: E402
from reviewkit.pipeline import parse_inputs  # noqa: E402
from reviewkit.source.trees import DirTree  # noqa: E402


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", default=str(ROOT / ".cache" / "kernels" / "linux-source-6.1"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tree_dir = Path(args.tree)
    if not (tree_dir / "mm" / "memory.c").is_file():
        print(f"skipped: no kernel tree at {tree_dir} (see .ci/run, or pass --tree)")
        return 0
    tree = DirTree(str(tree_dir))
    paths = sorted(p for p in tree.walk("mm") if p.count("/") == 1 and p.endswith(".c"))
    paths += sorted(p for p in tree.walk("include/linux") if p.count("/") == 2 and p.endswith(".h"))
    size = sum((tree_dir / p).stat().st_size for p in paths)
    print(f"tree {tree_dir}: {len(paths)} files, {size / 1e6:.1f} MB, {os.cpu_count()} cores")
    tmp = Path(tempfile.mkdtemp())
    try:
        def cold():
            db = tmp / f"cold-{time.perf_counter_ns()}.sqlite"
            return build_index(tree, cache=ParseCache(str(db)), paths=paths)
        t_cold, index = best(cold, args.repeat)
        warm_cache = ParseCache(str(tmp / "warm.sqlite"))
        build_index(tree, cache=warm_cache, paths=paths)
        t_warm, warm = best(lambda: build_index(tree, cache=warm_cache, paths=paths), args.repeat)
        assert warm.stats["parsed"] == 0, warm.stats
        t_ctags = None
        if shutil.which("ctags"):
            t_ctags, _ = best(lambda: subprocess.run(
                ["ctags", "--fields=+ne", "--kinds-C=f", "-o", str(tmp / "tags"), *paths], cwd=tree_dir,
                check=True), args.repeat)
        n_funcs = index.stats["functions"]
        print(f"{'what':<34}{'seconds':>9}{'vs ctags':>10}")
        print(f"{'cold index (' + str(n_funcs) + ' functions)':<34}{t_cold:>9.3f}"
              + (f"{t_ctags / t_cold:>9.2f}x" if t_ctags else ""))
        print(f"{'warm index (nothing re-parsed)':<34}{t_warm:>9.3f}" + (f"{t_ctags / t_warm:>9.2f}x" if t_ctags else ""))
        if t_ctags:
            print(f"{'baseline: ctags, same files':<34}{t_ctags:>9.3f}{1:>9.2f}x")
        print(f"aim cold < 2 s: {'holds' if t_cold < 2 else 'DOES NOT hold'}; "
              f"aim warm < 0.2 s: {'holds' if t_warm < 0.2 else 'DOES NOT hold'}")
        series = ROOT.parent / "shared" / "corpus" / "mm-patches-6.1" / "series-b"
        if series.is_dir():
            parsed = parse_inputs([str(series)])
            n = len(parsed.patches)
            t_tree, _ = best(lambda: analyse(parsed, str(tree_dir)), args.repeat)
            t_none, _ = best(lambda: analyse(parsed, None), args.repeat)
            print(f"FunctionChanges per patch ({n} patches of series-b): "
                  f"{1000 * t_tree / n:.1f} ms with the tree, {1000 * t_none / n:.1f} ms from hunks alone")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
