"""The parse pipeline: inputs -> messages -> threads, series, patches.

Every later stage (code model, rules, review, renderers) starts from the
`Parsed` this returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import BinaryIO, Callable, Iterable, Optional

from .ingest import read_inputs
from .model import Errors, Line, Message, Patch, Series, Subject, Thread
from .patches import parse_diff, parse_patch
from .series import attach_followup_trailers, classify, find_naked_covers, group_series, subjects_for
from .threads import build_threads, dedupe


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
    not their diff text, and no decoded body stays in memory; with a public-inbox archive the
    mails' bytes are not kept either (read again from git when needed), so memory stays far
    below the archive's size. `expect(n)` hears an archive's message count before reading."""
    errors = errors if errors is not None else Errors()
    inputs = list(inputs)
    read: list[Message] = []
    for msg in read_inputs(inputs, errors, repo_dir=repo_dir, stdin=stdin, input_format=input_format,
                           lookup=lookup, expect=expect):
        read.append(replace(msg, headers=_addressing(msg.headers)) if summary_only else msg)
        if progress is not None and len(read) % 500 == 0:
            progress(len(read))
    messages, duplicates = dedupe(_real_first(read), errors)
    subjects = subjects_for(messages)
    patches: dict[str, Patch] = {}
    kinds: dict[str, str] = {}
    for m in messages:
        try:
            patch = parse_patch(m, errors) if not m.quoted_only else None
        except Exception as exc:  # one hostile mail must not end the run
            errors.add(m.source.input, f"{m.source.where} {m.msgid}".strip(),
                       f"could not be parsed as a patch ({type(exc).__name__}: {exc}); kept as a plain message")
            patch = None
        kind = classify(m, subjects[m.msgid], patch)
        kinds[m.msgid] = kind
        s = subjects[m.msgid]
        if kind == "other" and s.counter:
            errors.add(m.source.input, f"{m.source.where} {m.msgid}".strip(),
                       f"subject says patch {s.counter}/{s.total} but the mail has no diff "
                       "(truncated, or the diff was mangled)")
        if kind == "patch" and patch is not None:
            patch = replace(patch, repairs=m.repairs) if m.repairs else patch
            patches[m.msgid] = patch_summary(patch) if summary_only else patch
        if summary_only:
            m.__dict__.pop("_body", None)  # decoded again if a later stage asks (replies' trailers)
    if progress is not None:
        progress(-1)
    find_naked_covers(messages, subjects, kinds)
    threads, parent = build_threads(messages)
    series = group_series(messages, subjects, kinds, parent, patches, errors)
    by_id = {m.msgid: m for m in messages}
    patches = attach_followup_trailers(series, _without_quoted_bodies(by_id), patches, parent)
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


# Headers kept in a summary-only parse: who, what, when and MIME (threading is in the Message's
# fields). The rest (Received, DKIM, ARC, To/Cc, References...) is most of a list mail's header
# bytes, and nothing after parsing reads them.
_ADDRESSING = frozenset(("from", "subject", "date", "message-id", "mime-version", "content-type",
                         "content-transfer-encoding"))


def _addressing(headers: tuple) -> tuple:
    return tuple(h for h in headers if h[0].lower() in _ADDRESSING)


_ADDED, _REMOVED = Line("+", "", None, None), Line("-", "", None, None)


def patch_summary(p: Patch) -> Patch:
    """A patch as `parse` shows it: each hunk keeps its header and one shared `+`/`-` Line per
    changed line (so `added`/`removed` still count), not the text; the diff text is dropped."""
    files = tuple(replace(f, hunks=tuple(
        replace(h, lines=tuple(_ADDED if ln.kind == "+" else _REMOVED for ln in h.lines if ln.kind in "+-"))
        for h in f.hunks)) for f in p.files)
    return replace(p, files=files, diff="")


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
