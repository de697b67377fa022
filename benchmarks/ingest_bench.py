#!/usr/bin/env python3
"""Mail ingest throughput and memory: reviewkit vs Python's `mailbox` + `email`.

Run on demand (not part of the test suite):

    .venv/bin/python benchmarks/ingest_bench.py [--messages 5000,20000] [--repeat 3] [--json FILE]

Inputs are built in a temp dir from the real lore threads in
../shared/corpus/lore-threads: one mboxrd file and one public-inbox v1
archive per size. Every measurement runs in a fresh interpreter so its peak
RSS belongs to that measurement alone.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / ".." / "shared" / "corpus"
LORE = CORPUS / "lore-threads"

SEPARATOR = b"From mboxrd@z Thu Jan  1 00:00:00 1970\n"
_SPLIT = re.compile(rb"^From mboxrd@z [^\n]*\n", re.M)
_MBOXRD_UNESCAPE = re.compile(rb"(?m)^>(>*From )")
_ID_HEADERS = (b"message-id", b"in-reply-to", b"references")
_ID_LOCAL = re.compile(rb"<([^<>@\s]+)@")

# The headers the baseline reads; the reviewkit workloads touch the matching
# Message fields so both sides do comparable work per message.
BASELINE_HEADERS = ("Message-ID", "Subject", "From", "Date", "In-Reply-To", "References")

# tool -> the input it reads. Ratios are all against the mbox baseline of the
# same size (Python has no public-inbox reader to compare with).
TOOLS = {
    "baseline": "mbox",
    "reviewkit-ingest": "mbox",
    "reviewkit-parse": "mbox",
    "reviewkit-ingest-pi": "public-inbox",
}


# --- workloads (run in the child) --------------------------------------------

def work_baseline(path: str) -> int:
    import email
    import email.policy
    import mailbox
    box = mailbox.mbox(path, factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default),
                       create=False)
    n = 0
    for msg in box:
        for name in BASELINE_HEADERS:
            str(msg.get(name, ""))
        n += 1
    box.close()
    return n


def work_reviewkit_ingest(path: str) -> int:
    from reviewkit.ingest import read_inputs
    from reviewkit.model import Errors
    n = 0
    for m in read_inputs([path], Errors()):
        m.msgid, m.subject, m.sender, m.date, m.in_reply_to, m.references  # noqa: B018 - same fields as baseline
        n += 1
    return n


def work_reviewkit_parse(path: str) -> int:
    from reviewkit.pipeline import parse_inputs
    p = parse_inputs([path])
    # messages *read*: dedupe may collapse repeats that the corpus itself holds
    return p.stats["messages_read"]


WORKLOADS = {
    "baseline": work_baseline,
    "reviewkit-ingest": work_reviewkit_ingest,
    "reviewkit-ingest-pi": work_reviewkit_ingest,
    "reviewkit-parse": work_reviewkit_parse,
}


def _rss_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MiB.

    Not ru_maxrss: Linux carries the parent's peak into a child across
    fork+exec, so a child started by this (large) parent would report the
    parent's peak, not its own. VmHWM belongs to the child's own address space.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(tool: str, path: str) -> None:
    """Import everything first, so the memory delta is the workload's own."""
    import email.policy  # noqa: F401
    import mailbox  # noqa: F401
    import pygit2  # noqa: F401
    import reviewkit.ingest  # noqa: F401
    import reviewkit.pipeline  # noqa: F401
    rss0 = _rss_mib("VmRSS")
    t0 = time.perf_counter()
    n = WORKLOADS[tool](path)
    seconds = time.perf_counter() - t0
    print(json.dumps({"messages": n, "seconds": seconds, "mem_mib": _rss_mib("VmHWM") - rss0}))


def measure(tool: str, path: Path, repeat: int) -> dict:
    """Best time over `repeat` fresh children; memory is the largest delta seen."""
    runs = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, __file__, "--child", tool, str(path)], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"FAIL: {tool} on {path.name} exited {proc.returncode}:\n{proc.stderr}")
        runs.append(json.loads(proc.stdout.splitlines()[-1]))
    counts = {r["messages"] for r in runs}
    if len(counts) != 1:
        raise SystemExit(f"FAIL: {tool} on {path.name} saw different message counts across runs: {sorted(counts)}")
    return {"messages": runs[0]["messages"], "seconds": min(r["seconds"] for r in runs),
            "mem_mib": max(r["mem_mib"] for r in runs)}


# --- inputs ------------------------------------------------------------------

def load_corpus() -> list[bytes]:
    """Every message of every lore mbox, as stored (mboxrd-escaped)."""
    mails = []
    for f in sorted(LORE.rglob("*.mbox")):
        mails.extend(c for c in _SPLIT.split(f.read_bytes()) if c.strip())
    return mails


def with_copy_ids(mail: bytes, copy: int) -> bytes:
    """Append `.copyN` to the local part of every id in the id headers.

    In-Reply-To and References are rewritten too, so each copy is its own set
    of threads; otherwise every copy's replies would hang off copy 0.
    """
    head, sep, body = mail.partition(b"\n\n")
    lines, current = head.split(b"\n"), b""
    for i, line in enumerate(lines):
        if line[:1] not in (b" ", b"\t"):
            current = line.split(b":", 1)[0].strip().lower()
        if current in _ID_HEADERS:
            lines[i] = _ID_LOCAL.sub(rb"<\1.copy%d@" % copy, line)
    return b"\n".join(lines) + sep + body


def build_mbox(path: Path, mails: list[bytes]) -> None:
    with open(path, "wb") as out:
        for mail in mails:
            out.write(SEPARATOR)
            out.write(mail if mail.endswith(b"\n\n") else mail.rstrip(b"\n") + b"\n\n")


def build_public_inbox(path: Path, mails: list[bytes]) -> None:
    """public-inbox v1: a bare repo, one commit per mail, the raw mail in blob `m`."""
    import pygit2
    repo = pygit2.init_repository(str(path), bare=True)
    sig = pygit2.Signature("bench", "bench@example.invalid", 0, 0)
    parents: list = []
    for i, mail in enumerate(mails, 1):
        # the blob holds the mail as received: undo mboxrd quoting and the separator's blank line
        raw = _MBOXRD_UNESCAPE.sub(rb"\1", mail).rstrip(b"\n") + b"\n"
        tb = repo.TreeBuilder()
        tb.insert("m", repo.create_blob(raw), pygit2.enums.FileMode.BLOB)
        # no ref update per commit (that would rewrite the ref file 20k times); set it once below
        parents = [repo.create_commit(None, sig, sig, f"msg {i}", tb.write(), parents)]
        if i % 2500 == 0:
            progress(f"  {path.name}: {i}/{len(mails)} commits")
    repo.references.create("refs/heads/master", parents[0], force=True)
    repo.set_head("refs/heads/master")


def build_inputs(tmp: Path, sizes: list[int]) -> dict[int, dict[str, Path]]:
    corpus = load_corpus()
    progress(f"corpus: {len(corpus)} messages from {LORE.resolve()}")
    inputs = {}
    for n in sizes:
        mails = [with_copy_ids(corpus[i % len(corpus)], i // len(corpus)) for i in range(n)]
        mbox, pi = tmp / f"bench-{n}.mbox", tmp / f"bench-{n}.git"
        build_mbox(mbox, mails)
        progress(f"built {mbox.name} ({mbox.stat().st_size >> 20} MiB); building {pi.name}")
        build_public_inbox(pi, mails)
        inputs[n] = {"mbox": mbox, "public-inbox": pi}
    return inputs


# --- main --------------------------------------------------------------------

def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def print_table(rows: list[dict]) -> None:
    header = ("input", "tool", "messages", "seconds", "msg/s", "vs baseline", "peak mem delta MiB")
    cells = [header] + [(r["input"], r["tool"], str(r["messages"]), f"{r['seconds']:.2f}",
                         f"{r['msg_per_s']:,.0f}", f"{r['ratio']:.2f}x",
                         f"{r['mem_mib']:.1f}" + (" (holds all, by design)" if r["tool"] == "reviewkit-parse" else ""))
                        for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for k, c in enumerate(cells):
        print("  ".join(v.ljust(w) if i < 2 else v.rjust(w) if i < 6 else v for i, (v, w) in enumerate(zip(c, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", default="5000,20000", help="input sizes, comma separated (default 5000,20000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best time is kept (default 3)")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    ap.add_argument("--child", nargs=2, metavar=("TOOL", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if not LORE.is_dir():
        print(f"skipped: corpus not found at {os.path.normpath(CORPUS)} (../shared/corpus beside the repo)")
        return 0
    sizes = [int(s) for s in args.messages.split(",") if s.strip()]

    tmp = Path(tempfile.mkdtemp(prefix="reviewkit-bench-"))
    try:
        inputs = build_inputs(tmp, sizes)
        rows = []
        for n in sizes:
            results = {}
            for tool, kind in TOOLS.items():
                progress(f"measuring {tool} on {kind} {n} ({args.repeat}x)")
                results[tool] = measure(tool, inputs[n][kind], args.repeat)
            counts = {tool: r["messages"] for tool, r in results.items()}
            if set(counts.values()) != {n}:
                raise SystemExit(f"FAIL: message counts differ for {n} messages: {counts}")
            base_rate = n / results["baseline"]["seconds"]
            for tool, r in results.items():
                rate = r["messages"] / r["seconds"]
                rows.append({"input": f"{TOOLS[tool]} {n}", "tool": tool, **r,
                             "msg_per_s": rate, "ratio": rate / base_rate})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print_table(rows)
    ingest = {r["input"]: r for r in rows if r["tool"] == "reviewkit-ingest"}
    fast = all(r["ratio"] >= 3 for r in rows if r["tool"].startswith("reviewkit-ingest"))
    mems = [r["mem_mib"] for r in ingest.values()]
    # "flat": within 2 MiB or 25%, whichever is larger (allocator noise is ~1 MiB)
    flat = "needs two sizes" if len(mems) < 2 else \
        "holds" if max(mems) - min(mems) <= max(2.0, 0.25 * min(mems)) else "DOES NOT hold"
    print(f"\naim: reviewkit ingest >= 3x baseline msg/s: {'holds' if fast else 'DOES NOT hold'}")
    print(f"aim: mbox ingest memory flat across sizes: {', '.join(f'{m:.1f}' for m in mems)} MiB ({flat})")
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": sizes, "repeat": args.repeat, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
