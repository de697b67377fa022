"""The parse pipeline: inputs -> messages -> threads, series, patches.

Every later stage (code model, rules, review, renderers) starts from the
`Parsed` this returns.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field, replace
from typing import BinaryIO, Callable, Iterable, Iterator, Optional

from .ingest import read_inputs
from .ingest.gitsrc import is_public_inbox
from .model import Errors, Message, Patch, Series, Subject, Thread
from .patches import parse_diff, parse_patch
from .series import attach_followup_trailers, classify, find_naked_covers, group_series
from .subject import parse_subject
from .threads import build_threads, dedupe
from .trailers import parse_followup_trailers


@dataclass
class Parsed:
    inputs: list[str]
    messages: list[Message]
    subjects: dict[str, Subject]
    kinds: dict[str, str]
    patches: dict[str, Patch]          # msgid -> Patch, for kind == "patch"
    threads: list[Thread]
    parent: dict[str, Optional[str]]
    series: list[Series]
    errors: Errors
    stats: dict = field(default_factory=dict)
    quoted_diffs: dict = field(default_factory=dict)  # msgid -> [(QuotedDiff, FileDiffs)]: diffs a reply quotes

    def message(self, msgid: str) -> Message:
        return self._by_id[msgid]

    def __post_init__(self) -> None:
        self._by_id = {m.msgid: m for m in self.messages}


def parse_inputs(inputs: Iterable[str], errors: Optional[Errors] = None, repo_dir: Optional[str] = None,
                 stdin: Optional[BinaryIO] = None,
                 progress: Optional[Callable[[int], None]] = None, input_format: Optional[str] = None,
                 lookup: Optional[Callable[[str], Optional[str]]] = None, summary_only: bool = False,
                 expect: Optional[Callable[[int], None]] = None) -> Parsed:
    """Read and parse. `input_format` forces how files are read ("auto" sniffs); `lookup(path)`
    gives a file's text at the base, to repair diffs damaged by web archives exactly.

    `summary_only`: patches keep what `parse` shows (files, hunk headers, line counts, trailers),
    not their diff text, and no decoded body stays in memory: each mail is examined as it is
    read (patch, kind, the trailers a reply gives) and only that is kept. A public-inbox
    archive is then read by worker processes (archive.py) and its mails' bytes are not kept
    (read again from git when needed), so memory stays far below the archive's size.
    `expect(n)` hears an archive's message count before reading."""
    # what parsing makes lives until the end and holds no cycles: the collector's passes over it
    # (more of them the more is read) are pure cost, a third of the time on a whole archive
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse(list(inputs), errors if errors is not None else Errors(), repo_dir, stdin, progress,
                      input_format, lookup, summary_only, expect)
    finally:
        if collecting:
            gc.enable()


def _parse(inputs: list[str], errors: Errors, repo_dir, stdin, progress, input_format, lookup,
           summary_only: bool, expect) -> Parsed:
    read: list[Message] = []
    examined: dict[int, Examined] = {}  # id(message) -> what a summary-only read kept of it
    for msg, seen in _read(inputs, errors, repo_dir, stdin, input_format, lookup, summary_only, expect):
        read.append(msg)
        if seen is not None:
            examined[id(msg)] = seen
        if progress is not None and len(read) % 500 == 0:
            progress(len(read))
    messages, duplicates = dedupe(_real_first(read), errors)
    subjects: dict[str, Subject] = {}
    patches: dict[str, Patch] = {}
    kinds: dict[str, str] = {}
    replies: Optional[dict[str, tuple]] = {} if summary_only else None
    for m in messages:
        seen = examined.get(id(m))  # a message renamed by dedupe (#dup2) is examined again
        if seen is None:
            seen = examine(m, errors, summary_only)
        else:
            errors.extend(seen.errors)
        subjects[m.msgid] = s = seen.subject
        kinds[m.msgid] = kind = seen.kind
        if kind == "other" and s.counter:
            errors.add(m.source.input, f"{m.source.where} {m.msgid}".strip(),
                       f"subject says patch {s.counter}/{s.total} but the mail has no diff "
                       "(truncated, or the diff was mangled)")
        if kind == "patch" and seen.patch is not None:
            patches[m.msgid] = seen.patch if seen.patch.message is m else replace(seen.patch, message=m)
        if replies is not None and seen.replies:
            replies[m.msgid] = seen.replies
    del examined
    if progress is not None:
        progress(-1)
    find_naked_covers(messages, subjects, kinds)
    threads, parent = build_threads(messages)
    series = group_series(messages, subjects, kinds, parent, patches, errors)
    by_id = {m.msgid: m for m in messages}
    patches = attach_followup_trailers(series, _without_quoted_bodies(by_id), patches, parent, replies)
    quoted = _quoted_diffs(messages, errors)
    stats = {
        "messages_read": len(read),
        "messages": len(messages),
        "duplicates_collapsed": duplicates,
        "kinds": {k: sum(1 for v in kinds.values() if v == k) for k in ("patch", "cover", "reply", "other")},
        "threads": len(threads),
        "series": len(series),
    }
    if any(m.quoted_only for m in messages):
        stats["kinds"]["quoted"] = sum(1 for v in kinds.values() if v == "quoted")
    if any(m.repairs for m in messages):
        stats["patches_repaired"] = sum(1 for p in patches.values() if p.repairs)
    return Parsed(inputs, messages, subjects, kinds, patches, threads, parent, series, errors, stats, quoted)


def _read(inputs: list[str], errors: Errors, repo_dir, stdin, input_format, lookup, summary_only: bool,
          expect) -> Iterator[tuple[Message, Optional[Examined]]]:
    """(message, what a summary-only read kept of it, or None) per message read, in input order."""
    if not summary_only:
        for msg in read_inputs(inputs, errors, repo_dir=repo_dir, stdin=stdin, input_format=input_format,
                               lookup=lookup, expect=expect):
            yield msg, None
        return
    for spec in inputs:
        if spec != "-" and os.path.isdir(spec) and is_public_inbox(spec):
            from .archive import read_archive  # worker processes: imported only for archives
            yield from read_archive(spec, errors, expect)
            continue
        for msg in read_inputs([spec], errors, repo_dir=repo_dir, stdin=stdin, input_format=input_format,
                               lookup=lookup, expect=expect):
            msg = headerless(msg)
            yield msg, examine_read(msg, errors)


@dataclass
class Examined:
    """One message as the pipeline sees it: its subject, kind and patch (None unless a patch),
    with `summary`, the trailers it gives as a reply and the errors found reading its body."""
    subject: Subject
    kind: str
    patch: Optional[Patch]
    replies: tuple = ()
    errors: list = field(default_factory=list)


def examine(m: Message, errors: Errors, summary: bool) -> Examined:
    """Parse a message's patch and classify it. `summary`: the patch keeps no diff text and its
    hunks only their counts, the trailers a reply gives are read now, and the decoded body is
    let go (read again if a later stage asks)."""
    subject = parse_subject(m.subject)
    try:
        patch = parse_patch(m, errors, summary) if not m.quoted_only else None
    except Exception as exc:  # one hostile mail must not end the run
        errors.add(m.source.input, f"{m.source.where} {m.msgid}".strip(),
                   f"could not be parsed as a patch ({type(exc).__name__}: {exc}); kept as a plain message")
        patch = None
    kind = classify(m, subject, patch)
    if kind != "patch" or patch is None:
        patch = None
    elif m.repairs:
        patch = replace(patch, repairs=m.repairs)
    replies: tuple = ()
    if summary:
        if patch is not None:
            patch = replace(patch, diff="", log="")  # `parse` shows neither
        elif not m.quoted_only:  # a quoted-only message gives no trailers (_without_quoted_bodies)
            replies = parse_followup_trailers(m.body, m.msgid, m.sender)
        m.__dict__.pop("_body", None)
    return Examined(subject, kind, patch, replies, errors)


def examine_read(m: Message, read_errors: Errors) -> Examined:
    """examine() for a summary-only read, as the message is read. The body is decoded now, and its
    loader reports into `read_errors`: those errors are moved to the Examined, to be added where
    the full parse adds them (after every message is read, if the message is kept)."""
    before = len(read_errors)
    seen = examine(m, Errors(), True)
    seen.errors[:0] = read_errors[before:]
    del read_errors[before:]
    return seen


def headerless(msg: Message) -> Message:
    """The message without its raw headers (summary-only parse): what `parse` shows of them is
    in the Message's fields, and the body loader holds the MIME type it needs. The raw headers
    (Received, DKIM, ARC...) are most of a list mail's header bytes, and nothing reads them."""
    return replace(msg, headers=())


def _real_first(read: list[Message]) -> list[Message]:
    """A message known only from a quote gives way to the real one with the same Message-ID."""
    if not any(m.quoted_only for m in read):
        return read
    real = {m.msgid for m in read if not m.quoted_only}
    return [m for m in read if not (m.quoted_only and m.msgid in real)]


def _without_quoted_bodies(by_id: dict[str, Message]) -> dict[str, Message]:
    """Trailers quoted from a patch ("Signed-off-by: ...") are not given by the quoted-only message."""
    if not any(m.quoted_only for m in by_id.values()):
        return by_id
    return {k: (replace(m, body_loader=lambda: "") if m.quoted_only else m) for k, m in by_id.items()}


def _quoted_diffs(messages: list[Message], errors: Errors) -> dict:
    """Parse the diffs replies quote (already rebuilt by ingest) into FileDiffs."""
    out: dict = {}
    for m in messages:
        for q in m.quoted_diffs:
            where = f"{m.source.where} {m.msgid} quoted diff at line {q.line}".strip()
            files, _, _ = parse_diff(q.text.split("\n"), 0, m.source.input, where, errors)
            out.setdefault(m.msgid, []).append((q, files))
    return out
