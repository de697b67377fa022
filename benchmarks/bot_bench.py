"""`reviewkit bot` throughput and latency on a replayed archive.

    .venv/bin/python benchmarks/bot_bench.py [--tree DIR] [--checkpatch] [--latency N] [--json OUT]

1. Replay: the lore threads of ../shared/corpus (all versions, replies included, in Date order) and the
   69 stable-queue mm fixes (each replayed as a `[PATCH]` mail) are written into a fresh public-inbox v2
   archive; one `reviewkit bot --once --settle 0` reviews everything, posting into a maildir and writing
   the site. Series reviewed per minute, wall time.
   Baseline in the same run: one `reviewkit report` over the same inputs and tree (every series in one
   process, no state, no mail, no site): the ratio is what the bot's per-series isolation costs.
2. Latency: a bot loop (`--interval 0.5`) on an empty archive; N series are appended one at a time and the
   time from the commit landing to the reply file appearing in the maildir is measured.

Without ../shared/corpus it prints one `skipped:` line and exits 0.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import re
import statistics
from collections import Counter
import subprocess
import sys
import tempfile
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reviewkit.bot.archive import append  # noqa: E402
from reviewkit.ingest.mbox import split_mbox  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
BIN = [sys.executable, "-m", "reviewkit"]


def _date(raw: bytes) -> float:
    m = re.search(rb"(?mi)^Date:[ \t]*(.+)$", raw.split(b"\n\n", 1)[0])
    try:
        return parsedate_to_datetime(m.group(1).decode("ascii", "replace").strip()).timestamp() if m else 0.0
    except (TypeError, ValueError):
        return 0.0


def corpus_mails(tmp: Path) -> tuple:
    """(mails in Date order, input paths for the baseline); the replayed stable fixes are written to tmp."""
    mails, inputs = [], []
    for path in sorted((CORPUS / "lore-threads").glob("*/*.mbox")):
        inputs.append(str(path))
        with open(path, "rb") as fh:
            mails += [raw for i, _, raw in split_mbox(fh) if i >= 0]
    stable = sorted((CORPUS / "stable-mm-6.12" / "patches").glob("*.patch"))
    for n, path in enumerate(stable):
        raw = path.read_bytes()
        # a stable-queue file is a commit: posted as a one-patch series with a Message-ID of its own
        raw = re.sub(rb"(?m)^Subject: ", b"Subject: [PATCH] ", raw, count=1)
        raw = re.sub(rb"(?m)^From [0-9a-f]{40} .*\n", b"", raw, count=1)
        raw = raw.replace(b"\n\n", f"\nMessage-Id: <stable-{n}@replay.invalid>\n\n".encode(), 1)
        mails.append(raw)
        out = tmp / f"{n:03d}.patch"
        out.write_bytes(raw)
        inputs.append(str(out))
    mails.sort(key=_date)
    return mails, inputs


def replay(mails: list, inputs: list, tree: str, checkpatch: bool, work: Path) -> dict:
    archive = work / "archive"
    append(str(archive), mails)
    cmd = [*BIN, "bot", "--source", str(archive), "--tree", tree, "--db", str(work / "bot.sqlite"),
           "--post", f"maildir:{work / 'md'}", "--site", str(work / "site"), "--once", "--settle", "0",
           "--log-format", "json", "--checkpatch" if checkpatch else "--no-checkpatch"]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, cwd=str(ROOT))
    bot_s = time.perf_counter() - t0
    if run.returncode != 0:
        raise SystemExit(f"bot failed: {run.stderr.decode()[-2000:]}")
    st = json.loads(subprocess.run([*BIN, "bot", "status", "--db", str(work / "bot.sqlite"), "--format", "json"],
                                   capture_output=True, check=True, cwd=str(ROOT)).stdout)
    reviewed = sum(1 for s in st["series"] if s["reviewed"])
    t0 = time.perf_counter()
    base = subprocess.run([*BIN, "report", *inputs, "--tree", tree, "-o", str(work / "baseline.html"), "-q",
                           "--fail-on", "never", "--checkpatch" if checkpatch else "--no-checkpatch"],
                          capture_output=True, cwd=str(ROOT))
    base_s = time.perf_counter() - t0
    if base.returncode not in (0, 1, 4):  # 4: some patch did not apply whole (a result here)
        raise SystemExit(f"baseline failed: {base.stderr.decode()[-2000:]}")
    posts = len(os.listdir(work / "md" / "new"))
    return {"mails": len(mails), "series_reviewed": reviewed, "duplicates": st["counts"].get("duplicate", 0),
            "failed": st["counts"].get("failed", 0), "posts": posts, "bot_seconds": round(bot_s, 2),
            "series_per_minute": round(reviewed / bot_s * 60, 1),
            "apply": dict(sorted(Counter(s["apply"] for s in st["series"] if s["reviewed"]).items())),
            "baseline_report_seconds": round(base_s, 2), "bot_vs_baseline": round(bot_s / base_s, 2)}


def latency(mails: list, tree: str, n: int, work: Path, checkpatch: bool) -> dict:
    """Append whole series one by one to a live bot's archive; time until each reply is in the maildir."""
    from reviewkit.bot.review import parse_mails
    parsed = parse_mails(mails, "corpus")
    # complete series posted as such (a diff inside a "Re:" reply is a reply: the bot does not review it)
    chosen = [s for s in parsed.series if s.patches and s.total is not None and not s.missing
              and not parsed.subjects[(s.cover or s.patches[0])].is_reply][:n]
    archive, md = work / "archive", work / "md"
    append(str(archive), [b"From: x <x@replay.invalid>\nSubject: hello\nMessage-Id: <start@replay.invalid>\n\nhi\n"])
    cmd = [*BIN, "bot", "--source", str(archive), "--tree", tree, "--db", str(work / "bot.sqlite"),
           "--post", f"maildir:{md}", "--interval", "0.5", "--settle", "0",
           "--checkpatch" if checkpatch else "--no-checkpatch"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(ROOT))
    raw_by_id = {}
    for raw in mails:
        m = email.message_from_bytes(raw.split(b"\n\n", 1)[0] + b"\n\n", policy=email.policy.compat32)
        raw_by_id.setdefault((m.get("Message-Id") or "").strip(), raw)
    out = []
    try:
        time.sleep(2)  # started and polling
        for s in chosen:
            members = ([s.cover] if s.cover else []) + list(s.patches)
            before = len(os.listdir(md / "new")) if (md / "new").is_dir() else 0
            landed = time.time()
            append(str(archive), [raw_by_id[m] for m in members if m in raw_by_id])
            deadline = landed + 120
            while time.time() < deadline:
                if (md / "new").is_dir() and len(os.listdir(md / "new")) > before:
                    out.append(time.time() - landed)
                    break
                time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
    return {"series_appended": len(chosen), "series": len(out), "median_seconds": round(statistics.median(out), 2) if out else None,
            "max_seconds": round(max(out), 2) if out else None, "all": [round(x, 2) for x in out]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", default=str(ROOT / ".cache" / "kernels" / "linux-source-6.12"))
    ap.add_argument("--checkpatch", action="store_true", help="also run checkpatch.pl (slower)")
    ap.add_argument("--latency", type=int, default=5, metavar="N", help="series appended one by one (default 5)")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    if not CORPUS.is_dir():
        print("skipped: ../shared/corpus is absent")
        return 0
    if not Path(args.tree, "mm", "memory.c").is_file():
        print(f"skipped: no kernel tree at {args.tree}")
        return 0
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as tmp:
        (Path(tmp) / "stable").mkdir()
        mails, inputs = corpus_mails(Path(tmp) / "stable")
        (Path(tmp) / "replay").mkdir()
        (Path(tmp) / "live").mkdir()
        result = {"replay": replay(mails, inputs, args.tree, args.checkpatch, Path(tmp) / "replay"),
                  "latency": latency(mails, args.tree, args.latency, Path(tmp) / "live", args.checkpatch)}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
