#!/usr/bin/env python3
"""Whole public-inbox archive -> threads and series: `reviewkit parse` vs stdlib `email`.

Run on demand (not part of the test suite):

    .venv/bin/python benchmarks/archive_bench.py [--messages 60000] [--archive DIR] [--before CHECKOUT] [--repeat N]

Builds a public-inbox v1 archive of --messages real-shaped mails (the lore threads of
../shared/corpus with fresh message ids per copy, see ingest_bench.py), or reads --archive
(e.g. a real list's archive). In the same run, each in a fresh interpreter:

- blobs:    reading every mail blob from git (pygit2), nothing else
- stdlib:   the same blobs through `email.message_from_bytes(policy=default)`, headers read
- json / jsonl: `reviewkit parse ARCHIVE --format json|jsonl -o FILE` (threads, series, patches)
- before:   the same json run with another checkout's code (--before), e.g. main

Time is wall clock of the work; memory is the child's VmHWM (peak RSS, whole process), and
"worker" the peak RSS of the largest worker process it started (parse reads archives with one
worker per core: the run's total is at most peak + workers x worker peak).
The progress line is captured once from a jsonl run whose stderr is a pseudo-terminal.
"""
from __future__ import annotations

import argparse
import json
import os
import pty
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_bench import _MBOXRD_UNESCAPE, LORE, load_corpus, progress, with_copy_ids  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HEADERS = ("Message-ID", "Subject", "From", "Date", "In-Reply-To", "References")


def _vm(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def _blobs(path: str):
    from reviewkit.ingest.gitsrc import read_public_inbox
    from reviewkit.model import Errors
    for _, raw, _ in read_public_inbox(path, Errors()):
        yield raw


def work_blobs(path: str, out: str) -> int:
    return sum(1 for _ in _blobs(path))


def work_stdlib(path: str, out: str) -> int:
    import email
    import email.policy
    n = 0
    for raw in _blobs(path):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        for name in HEADERS:
            str(msg.get(name, ""))
        n += 1
    return n


def _parse(fmt: str):
    def work(path: str, out_name: str) -> int:
        from reviewkit.cli import main
        out = Path(out_name)
        rc = main(["parse", "--format", fmt, path, "-o", str(out)])
        if rc:
            raise SystemExit(f"reviewkit parse exited {rc}")
        # the count from the output's end (stats come last), without loading it into this process
        with open(out, "rb") as f:
            f.seek(max(0, out.stat().st_size - 65536))
            tail = f.read().decode("utf-8", "replace")
        if fmt == "jsonl":
            return json.loads(tail.splitlines()[-1])["stats"]["messages_read"]
        return json.loads(tail[tail.rindex('"stats": '):].split(": ", 1)[1][:-2])["messages_read"]
    return work


WORK = {"blobs": work_blobs, "stdlib": work_stdlib, "json": _parse("json"), "jsonl": _parse("jsonl"),
        "before": _parse("json")}


def child(tool: str, path: str, out: str) -> None:
    t0 = time.perf_counter()
    n = WORK[tool](path, out)
    import resource
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker process
    print(json.dumps({"messages": n, "seconds": time.perf_counter() - t0, "peak_mib": _vm("VmHWM"),
                      "worker_peak_mib": workers}))


def measure(tool: str, archive: Path, tmp: Path, code: Path, tty: bool = False) -> dict:
    out = tmp / f"out-{tool}.json"
    cmd = [sys.executable, __file__, "--child", tool, str(archive), str(out)]
    env = {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{REPO / 'benchmarks'}"}
    if not tty:
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        err = proc.stderr
    else:  # stderr on a pseudo-terminal, read as it comes (a full pty buffer would stall the child)
        master, slave = pty.openpty()
        seen: list[bytes] = []
        reader = threading.Thread(target=_drain, args=(master, seen))
        reader.start()
        proc = subprocess.run(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        reader.join()
        os.close(master)
        err = b"".join(seen).decode("utf-8", "replace")
    if proc.returncode:
        raise SystemExit(f"FAIL: {tool} exited {proc.returncode}:\n{err[-3000:]}")
    result = json.loads(proc.stdout.splitlines()[-1])
    result["output_mib"] = out.stat().st_size / 2**20 if out.exists() else 0.0
    if tty:
        updates = [u.strip() for u in err.replace("\n", "\r").split("\r") if "msg/s" in u]
        result["progress"] = {"updates": len(updates), "first": updates[:1], "last": updates[-1:]}
    out.unlink(missing_ok=True)
    return result


def _drain(fd: int, into: list) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.append(chunk)


def build(tmp: Path, count: int) -> Path:
    corpus = load_corpus()
    progress(f"corpus: {len(corpus)} messages from {LORE.resolve()}; building {count} mails")
    mails = [with_copy_ids(corpus[i % len(corpus)], i // len(corpus)) for i in range(count)]
    path = tmp / f"archive-{count}.git"
    fast_import(path, mails)
    return path


def fast_import(path: Path, mails: list[bytes]) -> None:
    """public-inbox v1 as `git fast-import` writes it: packed, as a served archive is (public-inbox
    repacks), one commit per mail holding it in blob `m` (mboxrd quoting undone)."""
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    proc = subprocess.Popen(["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    for i, mail in enumerate(mails, 1):
        raw = _MBOXRD_UNESCAPE.sub(rb"\1", mail).rstrip(b"\n") + b"\n"
        proc.stdin.write(b"blob\nmark :%d\ndata %d\n%s\n" % (i, len(raw), raw))
        proc.stdin.write(b"commit refs/heads/master\ncommitter bench <bench@example.invalid> 0 +0000\n"
                         b"data 0\ndeleteall\nM 100644 :%d m\n\n" % i)
    proc.stdin.close()
    if proc.wait():
        raise SystemExit("FAIL: git fast-import")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=60000, help="mails in the built archive (default 60000)")
    ap.add_argument("--archive", metavar="DIR", help="read this public-inbox archive instead of building one")
    ap.add_argument("--before", metavar="CHECKOUT", help="also time `parse --format json` with this checkout's code")
    ap.add_argument("--tools", default="blobs,stdlib,jsonl,json", help="what to run (default blobs,stdlib,jsonl,json)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each tool N times and keep its fastest run (the machine is shared; default 1)")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if not args.archive and not LORE.is_dir():
        print(f"skipped: corpus not found at {LORE}")
        return 0
    with tempfile.TemporaryDirectory(prefix="reviewkit-archive-bench-") as name:
        tmp = Path(name)
        archive = Path(args.archive).resolve() if args.archive else build(tmp, args.messages)
        tools = [t for t in args.tools.split(",") if t]
        if args.before:
            tools.append("before")
        rows = {}
        for tool in tools:
            progress(f"measuring {tool}")
            code = Path(args.before).resolve() if tool == "before" else REPO
            runs = [measure(tool, archive, tmp, code, tty=(tool == "jsonl")) for _ in range(max(1, args.repeat))]
            rows[tool] = min(runs, key=lambda r: r["seconds"])
            rows[tool]["peak_mib"] = max(r["peak_mib"] for r in runs)
            rows[tool]["worker_peak_mib"] = max(r["worker_peak_mib"] for r in runs)
            progress(f"  {rows[tool]}")
    base = rows.get("stdlib")
    print(f"{'work':8} {'messages':>9} {'seconds':>8} {'msg/s':>8} {'vs stdlib':>9} {'peak MiB':>9} "
          f"{'worker MiB':>10}")
    for tool, r in rows.items():
        ratio = f"{base['seconds'] / r['seconds']:.2f}x" if base else "-"
        print(f"{tool:8} {r['messages']:>9} {r['seconds']:>8.1f} {r['messages'] / r['seconds']:>8,.0f} "
              f"{ratio:>9} {r['peak_mib']:>9.0f} {r.get('worker_peak_mib', 0):>10.0f}")
    if "jsonl" in rows and "progress" in rows["jsonl"]:
        p = rows["jsonl"]["progress"]
        print(f"progress on a terminal: {p['updates']} updates; first {p['first']}; last {p['last']}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
