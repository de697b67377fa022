#!/usr/bin/env python3
"""Hostile input: mutate real mails and run every stage on them, in-process.

Run on demand (a small fixed-seed sample runs in CI: tests/test_fuzz.py):

    .venv/bin/python benchmarks/fuzz.py --count 100000 --seed 1 [--jobs 1] [--json FILE]
    .venv/bin/python benchmarks/fuzz.py --replay 1:4711      # one input again, with its traceback
    .venv/bin/python benchmarks/fuzz.py --dump 1:4711 -o x.mbox

Seeds are the mails of ../shared/corpus (lore threads, patchwork, b4, git).
Each input is one to six of them, with one to three mutation operators applied
(broken MIME, bogus charsets and transfer encodings, huge headers, reference
loops, malformed hunks, NUL bytes, truncation, duplicate Message-IDs with
different content, RFC 2047 words hiding CR LF, huge hunk line numbers and
series totals, long lines without their separator, deep threads...). Each
input goes through parse, lint (from the hunks), summarize and every renderer
(json, text, markdown, sarif, b4, html, email), as the commands call them.

Reported: exceptions by place (stage, exception, innermost reviewkit frame),
inputs over 2 s or 200 MB (and over 10 s or 1 GB), mails lost (a mail of the
input neither read nor named in `errors`), and the distributions of time and
memory per input. Each input is generated from (seed, index) alone, so any
finding can be replayed. Memory is the worker's peak RSS while it handles the
input, over its RSS before (VmHWM, reset through /proc/self/clear_refs).
Workers are child processes with a 2 GB address-space limit and a per-input
time limit (killed past --kill seconds), so a runaway input cannot take the
machine down with it.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import re
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / ".." / "shared" / "corpus"
SEED_DIRS = ("lore-threads", "patchwork", "b4", "git")
SEPARATOR = b"From mboxrd@z Thu Jan  1 00:00:00 1970\n"
STAGES = ("parse", "parse-json", "parse-text", "lint", "lint-json", "lint-text", "markdown", "sarif", "b4",
          "terse", "html", "email", "summarize", "summary-json", "summary-text", "summary-markdown")
SLOW_S, BIG_MB = 2.0, 200          # reported
LIMIT_S, LIMIT_MB = 10.0, 1024     # the bar: none may pass these

# --- seeds ----------------------------------------------------------------------------------------


def load_seeds(corpus: Path = CORPUS) -> list[list[bytes]]:
    """Groups of raw mails: one group per mbox (a thread, in archive order) or single-mail file."""
    sys.path.insert(0, str(REPO))
    from reviewkit.ingest.mbox import is_from_line, split_mbox
    groups: list[list[bytes]] = []
    for name in SEED_DIRS:
        for path in sorted((corpus / name).rglob("*")):
            if not path.is_file() or path.suffix in (".json", ".py", ".md") or path.stat().st_size > 8 << 20:
                continue
            data = path.read_bytes()
            if path.suffix == ".gz":
                import gzip
                try:
                    data = gzip.decompress(data)
                except OSError:
                    continue
            first = data.split(b"\n", 1)[0]
            if is_from_line(first):
                mails = [raw for index, _, raw in split_mbox(io.BytesIO(data)) if index >= 0 and raw.strip()]
            else:
                mails = [data]
            mails = [m for m in mails if b":" in m[:2000]]
            if mails:
                groups.append(mails)
    return groups


# --- mutation operators ------------------------------------------------------------------------------
# Each takes (rng, mails) and returns the new list of mails (bytes, headers then body).

def _split(mail: bytes) -> tuple[bytes, bytes, bytes]:
    m = re.search(rb"\r?\n\r?\n", mail)
    if not m:
        return mail, b"\n\n", b""
    return mail[:m.start()], mail[m.start():m.end()], mail[m.end():]


def _set_header(mail: bytes, name: bytes, value: bytes) -> bytes:
    head, sep, body = _split(mail)
    pattern = re.compile(rb"(?im)^" + re.escape(name) + rb":[^\n]*(\n[ \t][^\n]*)*")
    line = name + b": " + value
    if pattern.search(head):
        head = pattern.sub(lambda _: line, head, count=1)
    else:
        head = head + b"\n" + line
    return head + sep + body


def _get_header(mail: bytes, name: bytes) -> Optional[bytes]:
    head = _split(mail)[0]
    m = re.search(rb"(?im)^" + re.escape(name) + rb":[ \t]*([^\n]*)", head)
    return m.group(1).strip() if m else None


def _pick(rng: random.Random, mails: list[bytes]) -> int:
    return rng.randrange(len(mails))


BOGUS_CHARSETS = [b"rot-13", b"hex", b"uu", b"bz2", b"zlib", b"base64", b"utf-7", b"idna", b"punycode", b"utf-16",
                  b"utf-32", b"x-unknown", b"", b"\x00", b'"utf-8', b"unicode_escape", b"raw_unicode_escape",
                  b"quopri", b"mbcs", b"cp65001", b"iso-2022-jp", b"koi8-r", b"x" * 300]
BOGUS_CTE = [b"base64", b"quoted-printable", b"uuencode", b"x-uuencode", b"7bit", b"binary", b"8bit", b"hex",
             b"bz2", b"rot-13", b"", b"\x00", b"base64 base64", b"x-gzip64"]


def op_bogus_charset(rng, mails):
    i = _pick(rng, mails)
    cs = rng.choice(BOGUS_CHARSETS)
    ctype = rng.choice([b"text/plain", b"text/html", b"text/x-patch", b"multipart/mixed; boundary=\"b\""])
    mail = _set_header(mails[i], b"Content-Type", ctype + b"; charset=" + cs)
    if cs == b"utf-7" and rng.random() < 0.7:
        head, sep, body = _split(mail)
        mail = head + sep + b"+2D0- lone +2D3cAA- surrogates +3gA-\n" + body  # lone surrogates when decoded
    if rng.random() < 0.5:  # and in an encoded word
        word = b"=?" + cs + b"?b?" + base64.b64encode("Zoë +2D0- ".encode("utf-8")) + b"?="
        mail = _set_header(mail, rng.choice([b"Subject", b"From"]), word + b" <x@example.org>")
    mails[i] = mail
    return mails


def op_bogus_cte(rng, mails):
    i = _pick(rng, mails)
    mails[i] = _set_header(mails[i], b"Content-Transfer-Encoding", rng.choice(BOGUS_CTE))
    if rng.random() < 0.3:
        head, sep, body = _split(mails[i])
        mails[i] = head + sep + rng.choice([b"=\n=4=ZZ====\n", b"!!!!not base64!!!!\n" * 5, b"begin 644 x\n`\nend\n",
                                            base64.b64encode(body)[: rng.randrange(1, 4096)]])
    return mails


def op_broken_mime(rng, mails):
    i = _pick(rng, mails)
    head, sep, body = _split(mails[i])
    kind = rng.randrange(5)
    if kind == 0:  # boundary never used, or used without end
        head = _set_header(head + sep, b"Content-Type", b'multipart/mixed; boundary="nowhere"')[:-len(sep)]
    elif kind == 1:  # nested too deep
        depth = rng.choice([20, 60, 300, 1200])
        parts = [b"--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n" % (d, d + 1) for d in range(depth)]
        body = b"".join(parts) + b"--b%d\nContent-Type: text/plain\n\n" % depth + body + b"\n"
        head = _set_header(head + sep, b"Content-Type", b'multipart/mixed; boundary="b0"')[:-len(sep)]
    elif kind == 2:  # many parts
        n = rng.choice([100, 1000, 5000])
        body = b"".join(b"--p\nContent-Type: text/plain\n\npart %d\n" % k for k in range(n)) + b"--p--\n"
        head = _set_header(head + sep, b"Content-Type", b'multipart/alternative; boundary="p"')[:-len(sep)]
    elif kind == 3:  # garbage parameters
        head = _set_header(head + sep, b"Content-Type", rng.choice(
            [b"multipart/", b"multipart/mixed; boundary=", b"text/plain; charset", b";;;;", b"multipart/mixed; boundary=\"" + b"-" * 5000,
             b"text/plain; format=flowed; delsp=yes; charset=\x00"]))[:-len(sep)]
    else:  # a part header block that never ends
        body = b"--b\n" + b"X-H: v\n" * rng.choice([10, 5000]) + body
        head = _set_header(head + sep, b"Content-Type", b'multipart/mixed; boundary="b"')[:-len(sep)]
    mails[i] = head + sep + body
    return mails


def op_huge_header(rng, mails):
    i = _pick(rng, mails)
    n = rng.choice([5000, 40000, 80000, 200000])
    kind = rng.randrange(6)
    if kind == 0:
        mails[i] = _set_header(mails[i], b"From", b"x" * n)  # no @: the bare-address pattern's worst case
    elif kind == 1:
        mails[i] = _set_header(mails[i], b"Subject", rng.choice([b"[", b"[]", b"Re: ", b"1", b" 1", b"[a] Re: "]) * (n // 4))
    elif kind == 2:
        mails[i] = _set_header(mails[i], b"References", b" ".join(b"<r%d@x>" % k for k in range(n // 8)))
    elif kind == 3:
        head, sep, body = _split(mails[i])
        mails[i] = head + b"\n" + b"\n".join(b"X-Junk-%d: v" % k for k in range(n // 10)) + sep + body
    elif kind == 4:
        mails[i] = _set_header(mails[i], b"From", b"<" + b"@" * n + b"\x01")
    else:
        mails[i] = _set_header(mails[i], b"From", (b"a b via " * (n // 8)) + b"\t")
    return mails


def op_reference_loop(rng, mails):
    ids = [_get_header(m, b"Message-ID") or b"<m%d@fuzz>" % k for k, m in enumerate(mails)]
    for k in range(len(mails)):
        mails[k] = _set_header(mails[k], b"Message-ID", ids[k])
        nxt = ids[(k + 1) % len(ids)]
        mails[k] = _set_header(mails[k], b"In-Reply-To", nxt)
        if rng.random() < 0.5:
            mails[k] = _set_header(mails[k], b"References", b" ".join([ids[k], nxt] + ids[: rng.randrange(len(ids))]))
    return mails


def op_deep_thread(rng, mails):
    """A long chain of replies (depth), or many replies to one mail (fan-out)."""
    root = mails[0]
    rid = _get_header(root, b"Message-ID") or b"<root@fuzz>"
    root = _set_header(root, b"Message-ID", rid)
    n = rng.choice([500, 3000])
    chain = rng.random() < 0.5
    out = [root]
    parent = rid
    for k in range(n):
        mid = b"<deep%d@fuzz>" % k
        out.append(b"From: R%d <r%d@example.org>\nSubject: Re: x\nMessage-ID: %s\nIn-Reply-To: %s\n\n> q\nReviewed-by: R <r@example.org>\n"
                   % (k % 7, k % 7, mid, parent))
        if chain:
            parent = mid
    return out + mails[1:]


_HUNK = re.compile(rb"(?m)^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def op_malformed_hunks(rng, mails):
    i = _pick(rng, mails)
    mail = mails[i]
    hunks = list(_HUNK.finditer(mail))
    if not hunks:
        return op_truncate(rng, mails)
    h = rng.choice(hunks)
    kind = rng.randrange(6)
    if kind == 0:
        new = b"@@ -%d,%d +%d,%d @@" % (rng.randrange(0, 99), rng.randrange(0, 99), rng.randrange(0, 99), rng.randrange(0, 99))
    elif kind == 1:
        new = b"@@ -1,3 +1 @@ @@ @@"
    elif kind == 2:
        new = b"@@ -" + b"9" * rng.choice([12, 5000]) + b",3 +1,3 @@"
    elif kind == 3:
        new = h.group(0) + b"\n" + b"+x\n" * rng.choice([10, 20000])
    elif kind == 4:  # lines of the hunk lose their marker
        start = h.end()
        chunk = mail[start:start + 2000].replace(b"\n ", b"\n").replace(b"\n+", b"\n")
        mails[i] = mail[:start] + chunk + mail[start + 2000:]
        return mails
    else:  # many tiny hunks
        new = b"\n".join(b"@@ -%d,1 +%d,1 @@\n-a\n+b" % (k * 3 + 1, k * 3 + 1) for k in range(rng.choice([100, 25000])))
    mails[i] = mail[:h.start()] + new + mail[h.end():]
    return mails


def op_huge_hunk_line(rng, mails):
    i = _pick(rng, mails)
    mail = mails[i]
    n = rng.choice([b"1000000000", b"2147483648", b"999999", b"4000000"])
    if _HUNK.search(mail):
        mails[i] = _HUNK.sub(lambda m: b"@@ -" + n + b",3 +" + n + b",4 @@", mail, count=1)
    else:
        mails[i] = mail + (b"\n---\ndiff --git a/mm/x.c b/mm/x.c\n--- a/mm/x.c\n+++ b/mm/x.c\n@@ -" + n + b",3 +" + n
                           + b",4 @@ f\n a\n+b\n c\n d\n")
    return mails


def op_huge_series_total(rng, mails):
    i = _pick(rng, mails)
    total = rng.choice([b"22222222222", b"99999", b"1" * 5000, b"0", b"4294967296"])
    counter = rng.choice([b"0", b"1", b"3", total])
    subject = (_get_header(mails[i], b"Subject") or b"x").split(b"]")[-1]
    mails[i] = _set_header(mails[i], b"Subject", b"[PATCH v" + rng.choice([b"2", b"9" * 5000]) + b" " + counter
                           + b"/" + total + b"]" + subject)
    return mails


def op_nul_bytes(rng, mails):
    i = _pick(rng, mails)
    mail = bytearray(mails[i])
    for _ in range(rng.randrange(1, 20)):
        at = rng.randrange(len(mail) + 1)
        mail[at:at] = b"\x00" * rng.choice([1, 1, 100])
    mails[i] = bytes(mail)
    return mails


def op_truncate(rng, mails):
    i = _pick(rng, mails)
    mails[i] = mails[i][: rng.randrange(len(mails[i]) + 1)]
    return mails


def op_duplicate_msgid(rng, mails):
    i = _pick(rng, mails)
    mid = _get_header(mails[i], b"Message-ID") or b"<dup@fuzz>"
    mails[i] = _set_header(mails[i], b"Message-ID", mid)
    other = bytearray(rng.choice(mails))
    if other:
        at = rng.randrange(len(other))
        other[at:at] = b"\ndifferent content %d\n" % rng.randrange(1000)
    mails.append(_set_header(bytes(other), b"Message-ID", mid))
    if rng.random() < 0.3:
        mails.append(mails[i])  # an identical copy too: collapsed, counted
    return mails


def _b(text: str) -> bytes:
    return base64.b64encode(text.encode())


def op_encoded_word(rng, mails):
    """RFC 2047 words that decode to another encoded word holding CR LF (header injection tries)."""
    i = _pick(rng, mails)
    inner = "=?utf-8?q?x=0D=0ABcc:_evil@example.com=0D=0AX-Injected:_1?="
    word = rng.choice([b"=?utf-8?b?" + _b(inner) + b"?=", b"=?utf-8?q?a=0D=0ABcc:_evil@example.com?=",
                       b"=?utf-8?b?" + _b("x\r\nBcc: evil@example.com") + b"?=", b"=?utf-8?q?=00=0A?=" * 50])
    where = rng.choice([b"Subject", b"Message-ID", b"References", b"In-Reply-To", b"From"])
    value = word if where in (b"Subject", b"From") else rng.choice([b"<" + word + b"@x>", word, b"<a@b> " + word])
    mails[i] = _set_header(mails[i], where, value)
    return mails


def op_long_line(rng, mails):
    """A very long line where a separator is expected (diffstat, trailers, quotes, From)."""
    i = _pick(rng, mails)
    head, sep, body = _split(mails[i])
    n = rng.choice([10000, 40000, 100000])
    line = rng.choice([b"ad" * (n // 2), b"a" * n + b" |", b"Signed-off-by: " + b"a" * n, b">" * n, b" " * n + b"x",
                       b"mm/" + b"a/" * (n // 2), b"[" * n, b"1 " * (n // 2) + b"of", b"@" * n, b"<" * n,
                       b"=?utf-8?q?" * (n // 10), b"Link: https://" + b"a" * n, b"base-commit: " + b"0" * n,
                       b"On " + b"Mon, " * (n // 5) + b"wrote:", b"- " * (n // 2), b"\t \r" * (n // 3)])
    lines = body.split(b"\n")
    at = rng.randrange(len(lines) + 1)
    if b"\n---\n" in body and rng.random() < 0.5:
        at = body[: body.index(b"\n---\n")].count(b"\n") + 2  # in the notes, where the diffstat is
    lines[at:at] = [line]
    mails[i] = head + sep + b"\n".join(lines)
    return mails


def op_byte_flip(rng, mails):
    i = _pick(rng, mails)
    mail = bytearray(mails[i])
    for _ in range(rng.randrange(1, 30)):
        if mail:
            mail[rng.randrange(len(mail))] = rng.randrange(256)
    mails[i] = bytes(mail)
    return mails


def op_splice(rng, mails):
    """Lines of one mail moved into another (a diff in the headers, headers in the diff...)."""
    a, b = _pick(rng, mails), _pick(rng, mails)
    la, lb = mails[a].split(b"\n"), mails[b].split(b"\n")
    s = rng.randrange(len(lb))
    chunk = lb[s:s + rng.randrange(1, 60)]
    at = rng.randrange(len(la) + 1)
    la[at:at] = chunk
    mails[a] = b"\n".join(la)
    return mails


OPERATORS: dict[str, Callable] = {
    "bogus-charset": op_bogus_charset, "bogus-cte": op_bogus_cte, "broken-mime": op_broken_mime,
    "huge-header": op_huge_header, "reference-loop": op_reference_loop, "deep-thread": op_deep_thread,
    "malformed-hunks": op_malformed_hunks, "huge-hunk-line": op_huge_hunk_line,
    "huge-series-total": op_huge_series_total, "nul-bytes": op_nul_bytes, "truncate": op_truncate,
    "duplicate-msgid": op_duplicate_msgid, "encoded-word": op_encoded_word, "long-line": op_long_line,
    "byte-flip": op_byte_flip, "splice": op_splice,
}
RARE = {"deep-thread"}  # costly; a few percent of inputs is enough


def generate(seeds: list[list[bytes]], seed: int, index: int) -> tuple[bytes, list[str], int]:
    """Input number `index` of run `seed`: (bytes, operators applied, number of mails written)."""
    rng = random.Random(f"{seed}:{index}")
    group = rng.choice(seeds)
    if len(group) > 1 and rng.random() < 0.4:
        start = rng.randrange(len(group))
        mails = list(group[start:start + rng.randrange(2, 7)])
    else:
        mails = [rng.choice(group)]
    names = [n for n in OPERATORS if n not in RARE]
    applied = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        name = "deep-thread" if rng.random() < 0.01 else rng.choice(names)
        mails = OPERATORS[name](rng, mails) or mails
        applied.append(name)
    if len(mails) == 1 and rng.random() < 0.5:
        return mails[0], applied, 1
    # mboxrd, as lore writes it: ">From " quoting of body lines
    body = b"".join(SEPARATOR + re.sub(rb"(?m)^(>*From )", rb">\1", m).rstrip(b"\n") + b"\n\n" for m in mails)
    return body, applied, len(mails)


# --- running every stage -------------------------------------------------------------------------------

class StageError(Exception):
    def __init__(self, stage: str, exc: BaseException):
        super().__init__(stage)
        self.stage, self.exc = stage, exc


_RULES: list = []


def rules():
    if not _RULES:
        from reviewkit.rules.loader import load_rules
        _RULES.extend(load_rules())
    return _RULES


def run_stages(data: bytes, skip: tuple = ()) -> dict:
    """Everything the commands do with one input, in-process, without a tree. Returns the parse
    result and per-stage seconds; raises StageError (stage, exception) on the first failure."""
    from reviewkit.code.analysis import analyse
    from reviewkit.pipeline import parse_inputs
    from reviewkit.render import b4check, email_reply, html, lint_text, markdown, parse_text, sarif
    from reviewkit.render import json as json_render
    from reviewkit.render import summary_markdown, summary_text
    from reviewkit.render.code_data import code_data
    from reviewkit.render.data import parse_data
    from reviewkit.render.lint_data import lint_data
    from reviewkit.render.report_data import report_data, thread_summary
    from reviewkit.render.summary_data import summary_data
    from reviewkit.review import summarize
    from reviewkit.rules.engine import lint

    times: dict = {}
    state: dict = {}

    def stage(name: str, fn: Callable):
        if name in skip:
            return None
        t0 = time.perf_counter()
        try:
            out = fn()
            if isinstance(out, str):
                out.encode("utf-8", "replace")  # what write_output does
        except Exception as exc:
            raise StageError(name, exc) from exc
        finally:
            times[name] = time.perf_counter() - t0
        return out

    parsed = stage("parse", lambda: parse_inputs(["-"], stdin=io.BytesIO(data)))
    state["parsed"] = parsed
    pdata = stage("parse-json", lambda: parse_data(parsed))
    stage("parse-json", lambda: json.dumps(pdata, indent=2, ensure_ascii=False))
    stage("parse-text", lambda: parse_text.render({**pdata, "errors": []}))
    if parsed.messages:
        analysis = stage("lint", lambda: analyse(parsed, None))
        result = stage("lint", lambda: lint(parsed, analysis, rules(), parsed.errors))
        ldata = stage("lint-json", lambda: lint_data(parsed, result, rules()))
        stage("lint-json", lambda: json_render.render(ldata))
        stage("lint-json", lambda: json.dumps(code_data(analysis), ensure_ascii=False))
        stage("lint-text", lambda: lint_text.render({**ldata, "errors": []}))
        stage("markdown", lambda: markdown.render(ldata))
        stage("sarif", lambda: sarif.render(ldata))
        stage("b4", lambda: b4check.render(ldata))
        stage("terse", lambda: b4check.terse(ldata))
        summary = stage("html", lambda: thread_summary(parsed, ldata["errors"]))
        stage("html", lambda: html.render(report_data(parsed, ldata, summary)))
        stage("email", lambda: email_reply.render(report_data(parsed, ldata, None)))
        sdata = stage("summarize", lambda: summary_data(summarize(parsed)))
        stage("summary-json", lambda: json.dumps(sdata, indent=2, ensure_ascii=False))
        stage("summary-text", lambda: summary_text.render({**sdata, "errors": []}))
        stage("summary-markdown", lambda: summary_markdown.render(sdata))
    return {"parsed": parsed, "times": times}


_WHERE = re.compile(r"^message (\d+) at byte")


def lost_mails(parsed, data: bytes, written: int) -> int:
    """Mails of the input neither read nor named in `errors`.

    An mbox's mails are numbered by the separators reviewkit's splitter sees (a mutation may add
    or remove some); every number must be a message read or the `where` of an error entry.
    """
    from reviewkit.ingest.mbox import is_from_line
    first = data.lstrip(b"\r\n \t").split(b"\n", 1)[0] + b"\n"
    if is_from_line(first) and len(first) < 400:
        expected = sum(1 for line in io.BytesIO(data) if line.startswith(b"From ") and is_from_line(line))
        seen = set()
        for m in parsed.messages:
            mm = _WHERE.match(m.source.where)
            if mm:
                seen.add(int(mm.group(1)))
        for e in parsed.errors:
            mm = _WHERE.match(e.where)
            if mm:
                seen.add(int(mm.group(1)))
        # copies of one mail collapse into the first (counted in stats), the rest must be seen
        lost = max(0, sum(1 for k in range(1, expected + 1) if k not in seen) - parsed.stats["duplicates_collapsed"])
    else:
        lost = 0 if (parsed.messages or parsed.errors) else 1
    # deduplication accounts for every message it does not keep
    st = parsed.stats
    lost += max(0, st["messages_read"] - st["messages"] - st["duplicates_collapsed"])
    return lost


# --- memory ------------------------------------------------------------------------------------------------

def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def measure(data: bytes, written: int) -> dict:
    """Run one input; its time, its memory over the RSS before it, and what went wrong."""
    can_peak = reset_peak()
    before = _status_kb("VmRSS:")
    t0 = time.perf_counter()
    out: dict = {"error": None, "lost": 0}
    try:
        res = run_stages(data)
        out["lost"] = lost_mails(res["parsed"], data, written)
        out["times"] = res["times"]
    except StageError as se:
        out["error"] = describe(se.stage, se.exc)
    except MemoryError:
        out["error"] = {"stage": "?", "type": "MemoryError", "place": "?", "message": ""}
    out["seconds"] = time.perf_counter() - t0
    out["mb"] = (_status_kb("VmHWM:") - before) / 1024 if can_peak else None
    return out


def describe(stage: str, exc: BaseException) -> dict:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/reviewkit/" in f.filename and "benchmarks" not in f.filename]
    f = (ours or frames)[-1] if (ours or frames) else None
    place = f"{os.path.relpath(f.filename, REPO)}:{f.lineno} {f.name}" if f else "?"
    return {"stage": stage, "type": type(exc).__name__, "place": place, "message": str(exc)[:200]}


# --- the run ---------------------------------------------------------------------------------------------------

def _worker(conn, seed: int, limit_mb: int) -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
    seeds = load_seeds()
    rules()
    while True:
        index = conn.recv()
        if index is None:
            return
        data, ops, written = generate(seeds, seed, index)
        result = measure(data, written)
        result.update(index=index, ops=ops, size=len(data))
        result.pop("times", None)
        conn.send(result)


def run(count: int, seed: int, jobs: int = 1, kill_s: float = 60.0, limit_mb: int = 2048,
        start: int = 0, progress: bool = True, raw: Optional[str] = None) -> dict:
    """Run inputs start..start+count of `seed`; `raw` gets one JSON line per input (to merge runs)."""
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    results: list = []
    pending = list(range(start, start + count))[::-1]
    workers: list = []  # [process, conn, index or None, started]

    def spawn():
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_worker, args=(child, seed, limit_mb), daemon=True)
        p.start()
        return [p, parent, None, 0.0]

    raw_file = open(raw, "a") if raw else None
    workers = [spawn() for _ in range(jobs)]
    t_start = time.time()
    done = 0
    while pending or any(w[2] is not None for w in workers):
        for k, w in enumerate(workers):
            if w[2] is None and pending:
                w[2], w[3] = pending.pop(), time.time()
                w[1].send(w[2])
        for k, w in enumerate(workers):
            if w[2] is None:
                continue
            if w[1].poll(0.01):
                try:
                    results.append(w[1].recv())
                except EOFError:  # the worker died (interpreter abort)
                    results.append({"index": w[2], "error": {"stage": "?", "type": "worker died", "place": "?",
                                                             "message": f"exit code {w[0].exitcode}"},
                                    "seconds": time.time() - w[3], "mb": None, "lost": 0, "ops": [], "size": 0})
                    w[0].join(1)
                    workers[k] = spawn()
                    done += 1
                    continue
                w[2] = None
                done += 1
            elif time.time() - w[3] > kill_s or not w[0].is_alive():
                results.append({"index": w[2], "error": {"stage": "?", "type": "killed" if w[0].is_alive() else "worker died",
                                                         "place": "?", "message": f"over {kill_s:.0f} s"},
                                "seconds": time.time() - w[3], "mb": None, "lost": 0, "ops": [], "size": 0})
                w[0].kill()
                w[0].join()
                workers[k] = spawn()
                done += 1
        if progress and done and done % 100 == 0:
            rate = done / (time.time() - t_start)
            print(f"\r{done}/{count} inputs, {rate:.1f}/s", end="", file=sys.stderr, flush=True)
    for w in workers:
        w[1].send(None)
        w[0].join(5)
    if raw_file:
        for r in results:
            raw_file.write(json.dumps({**r, "seed": seed}) + "\n")
        raw_file.close()
    if progress:
        print(file=sys.stderr)
    return summarise(results, seed, time.time() - t_start)


def _dist(values: list) -> dict:
    if not values:
        return {}
    v = sorted(values)

    def q(p):
        return round(v[min(len(v) - 1, int(p * len(v)))], 4)
    return {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p99.9": q(0.999), "max": round(v[-1], 4),
            "mean": round(sum(v) / len(v), 4)}


def summarise(results: list, seed: int, wall: float) -> dict:
    errors = [r for r in results if r.get("error")]
    by_place = Counter((e["error"]["stage"], e["error"]["type"], e["error"]["place"]) for e in errors)
    examples = {}
    for e in errors:
        key = f'{e["error"]["stage"]} {e["error"]["type"]} {e["error"]["place"]}'
        examples.setdefault(key, {"input": f"{seed}:{e['index']}", "ops": e["ops"], "message": e["error"]["message"]})
    secs = [r["seconds"] for r in results]
    mbs = [r["mb"] for r in results if r.get("mb") is not None]
    ops = Counter(o for r in results for o in r.get("ops", []))
    return {
        "seed": seed, "inputs": len(results), "wall_seconds": round(wall, 1),
        "uncaught_exceptions": len(errors),
        "exceptions_by_place": [{"stage": s, "type": t, "place": p, "count": n,
                                 **examples[f"{s} {t} {p}"]} for (s, t, p), n in by_place.most_common()],
        "over_2s": sorted((f"{seed}:{r['index']}", round(r["seconds"], 2)) for r in results if r["seconds"] > SLOW_S),
        "over_200mb": sorted((f"{seed}:{r['index']}", round(r["mb"])) for r in results if (r.get("mb") or 0) > BIG_MB),
        "over_10s": sum(1 for r in results if r["seconds"] > LIMIT_S),
        "over_1gb": sum(1 for r in results if (r.get("mb") or 0) > LIMIT_MB),
        "mails_lost": sum(r.get("lost", 0) for r in results),
        "inputs_losing_mails": sorted(f"{seed}:{r['index']}" for r in results if r.get("lost")),
        "seconds": _dist(secs), "mb": _dist(mbs),
        "input_kb": _dist([r["size"] / 1024 for r in results if r.get("size")]),
        "operators": dict(ops.most_common()),
    }


# --- the cases of issue 16, each timed through every stage -------------------------------------------------

_CASE_MAIL = ("From: {sender}\nSubject: {subject}\nDate: Mon, 6 Mar 2023 10:00:00 +0100\nMessage-Id: {msgid}\n{extra}\n"
              "mm/demo: fix\n\n{log}Signed-off-by: Ada Lovelace <ada@example.org>\n---\n{notes}\n"
              "diff --git a/mm/demo.c b/mm/demo.c\n--- a/mm/demo.c\n+++ b/mm/demo.c\n"
              "@@ -{line},3 +{line},4 @@ int demo(void)\n a\n+b\n c\n d\n")


def case_mail(sender="Ada Lovelace <ada@example.org>", subject="[PATCH] mm/demo: fix", msgid="<p1@example.org>",
              extra="", log="", notes="", line="1") -> str:
    return _CASE_MAIL.format(sender=sender, subject=subject, msgid=msgid, extra=extra, log=log, notes=notes, line=line)


def _mbox(*mails: str) -> bytes:
    return "".join(SEPARATOR.decode() + m + "\n" for m in mails).encode("utf-8", "surrogateescape")


def hostile_cases() -> dict:
    """name -> input bytes: the attacks issue 16 names, at the sizes it measured."""
    b64 = base64.b64encode(b"+2D0-").decode()
    deep = "".join(f'--b{d}\nContent-Type: multipart/mixed; boundary="b{d + 1}"\n\n' for d in range(400))
    return {
        "From of 80,000 chars without @": _mbox(case_mail(sender="x" * 80000)),
        "notes line of 40,000 chars": _mbox(case_mail(notes="ad" * 20000 + "\x01")),
        "trailer line with 40,000 spaces": _mbox(case_mail(log="Reviewed-by: a" + " " * 40000 + "b\n")),
        "hunk header at line 1,000,000,000": _mbox(case_mail(line="1000000000")),
        "hunk header of 5,000 digits": _mbox(case_mail(line="9" * 5000)),
        "[PATCH 0/22222222222]": _mbox(case_mail(subject="[PATCH 0/22222222222] x", msgid="<c@x>").split("---")[0],
                                       case_mail(subject="[PATCH 1/22222222222] x", extra="In-Reply-To: <c@x>\n")),
        "subject of 30,000 '[]'": _mbox(case_mail(subject="[]" * 30000)),
        "utf-7 lone surrogates": _mbox(case_mail(subject=f"=?utf-7?b?{b64}?=", extra="Content-Type: text/plain; "
                                                 "charset=utf-7\n", log="+2D0- lone\n")),
        "charsets rot-13/hex/uu/bz2": _mbox(*(case_mail(msgid=f"<cs{i}@x>", extra=f"Content-Type: text/plain; charset={c}"
                                                        f"\nContent-Transfer-Encoding: {c}\n")
                                              for i, c in enumerate(("rot-13", "hex", "uu", "bz2")))),
        "duplicate Message-ID, different content": _mbox(case_mail(), case_mail(log="Another mail.\n\n")),
        "5,000 headers, MIME 400 deep": _mbox("From: A <a@x>\nSubject: deep\nMessage-Id: <deep@x>\n"
                                              'Content-Type: multipart/mixed; boundary="b0"\n'
                                              + "".join(f"X-J-{i}: v\n" for i in range(5000)) + "\n" + deep
                                              + "--b400\n\nhello\n"),
        "reply chain 4,000 deep": _mbox(case_mail(msgid="<r0@x>"), *(
            f"From: R <r@x>\nSubject: Re: x\nMessage-ID: <r{i}@x>\nIn-Reply-To: <r{i - 1}@x>\n\nok\n"
            for i in range(1, 4000))),
    }


def run_cases() -> list:
    """Each issue-16 case through every stage, and 14,000 series with distinct base-commit: lines
    applied to a --tree that is not a git repository (pygit2's discovery, once per path)."""
    import tempfile
    rows = []
    run_stages(_mbox(case_mail()))  # warm up: imports, the rule pack, parsers
    for name, data in hostile_cases().items():
        t0 = time.perf_counter()
        try:
            res = run_stages(data)
            slowest = max(res["times"].items(), key=lambda kv: kv[1])
            outcome = (f"{len(res['parsed'].messages)} messages, {len(res['parsed'].errors)} errors; "
                       f"slowest stage {slowest[0]} {slowest[1]:.3f} s")
        except StageError as se:
            outcome = "EXCEPTION " + json.dumps(describe(se.stage, se.exc))
        rows.append((name, len(data), time.perf_counter() - t0, outcome))
    from reviewkit.code.analysis import analyse
    from reviewkit.pipeline import parse_inputs
    data = _mbox(*(case_mail(msgid=f"<s{i}@x>", subject=f"[PATCH] mm/demo: fix {i}", notes=f"base-commit: {i:040x}")
                   for i in range(14000)))
    with tempfile.TemporaryDirectory() as tree:
        os.mkdir(os.path.join(tree, "mm"))
        t0 = time.perf_counter()
        parsed = parse_inputs(["-"], stdin=io.BytesIO(data))
        analyse(parsed, tree)
        rows.append(("14,000 series, distinct base-commit:, --tree not git", len(data), time.perf_counter() - t0,
                     f"{len(parsed.series)} series analysed"))
    return rows


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="first input index (resume a run)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--kill", type=float, default=60.0, help="kill an input's worker after this many seconds")
    ap.add_argument("--json", metavar="FILE", help="write the report as JSON too")
    ap.add_argument("--raw", metavar="FILE", help="append one JSON line per input (merge runs with --merge)")
    ap.add_argument("--merge", metavar="FILE", nargs="+", help="report on the --raw files of earlier runs")
    ap.add_argument("--replay", metavar="SEED:INDEX", help="run one input in this process and show its traceback")
    ap.add_argument("--dump", metavar="SEED:INDEX", help="write one input's bytes (-o FILE, default stdout)")
    ap.add_argument("-o", "--output")
    ap.add_argument("--cases", action="store_true", help="time the hostile cases of issue 16 instead")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if not (CORPUS / "lore-threads").is_dir():
        print(f"skipped: {CORPUS} not found", file=sys.stderr)
        return 0
    if args.merge:
        results = [json.loads(line) for f in args.merge for line in open(f)]
        report = summarise(results, results[0]["seed"] if results else args.seed, 0.0)
        report["inputs_losing_mails"] = report["inputs_losing_mails"][:50]
        print(json.dumps(report, indent=1))
        return 0
    if args.cases:
        rows = run_cases()
        for name, size, secs, outcome in rows:
            print(f"{name:55s} {size / 1024:9.1f} KiB {secs:7.3f} s  {outcome}")
        return 1 if any(o.startswith("EXCEPTION") for *_, o in rows) else 0
    if args.replay or args.dump:
        seed, index = (int(x) for x in (args.replay or args.dump).split(":"))
        data, ops, written = generate(load_seeds(), seed, index)
        if args.dump:
            (open(args.output, "wb") if args.output else sys.stdout.buffer).write(data)
            return 0
        print(f"operators {ops}, {len(data)} bytes, {written} mails", file=sys.stderr)
        t0 = time.perf_counter()
        try:
            res = run_stages(data)
        except StageError as se:
            traceback.print_exception(se.exc)
            return 1
        print(json.dumps({"seconds": round(time.perf_counter() - t0, 3), "stages": res["times"],
                          "lost": lost_mails(res["parsed"], data, written),
                          "errors": [e.as_dict() for e in res["parsed"].errors][:20]}, indent=1))
        return 0
    report = run(args.count, args.seed, jobs=args.jobs, kill_s=args.kill, start=args.start, raw=args.raw)
    text = json.dumps(report, indent=1)
    if args.json:
        Path(args.json).write_text(text + "\n")
    short = {k: v for k, v in report.items() if k not in ("inputs_losing_mails",)}
    print(json.dumps(short, indent=1))
    bad = report["uncaught_exceptions"] or report["over_10s"] or report["over_1gb"] or report["mails_lost"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
