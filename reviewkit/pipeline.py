"""The parse pipeline: inputs -> messages -> threads, series, patches.

Every later stage (code model, rules, review, renderers) starts from the
`Parsed` this returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterable, Optional

from .ingest import read_inputs
from .model import Errors, Message, Patch, Series, Subject, Thread
from .patches import parse_patch
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

    def message(self, msgid: str) -> Message:
        return self._by_id[msgid]

    def __post_init__(self) -> None:
        self._by_id = {m.msgid: m for m in self.messages}


def parse_inputs(inputs: Iterable[str], errors: Optional[Errors] = None, repo_dir: Optional[str] = None,
                 stdin: Optional[BinaryIO] = None,
                 progress: Optional[Callable[[int], None]] = None) -> Parsed:
    errors = errors if errors is not None else Errors()
    inputs = list(inputs)
    read: list[Message] = []
    for msg in read_inputs(inputs, errors, repo_dir=repo_dir, stdin=stdin):
        read.append(msg)
        if progress is not None and len(read) % 500 == 0:
            progress(len(read))
    if progress is not None:
        progress(-1)
    messages, duplicates = dedupe(read)
    subjects = subjects_for(messages)
    patches: dict[str, Patch] = {}
    kinds: dict[str, str] = {}
    for m in messages:
        try:
            patch = parse_patch(m, errors)
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
            patches[m.msgid] = patch
    find_naked_covers(messages, subjects, kinds)
    threads, parent = build_threads(messages)
    series = group_series(messages, subjects, kinds, parent, patches)
    by_id = {m.msgid: m for m in messages}
    patches = attach_followup_trailers(series, by_id, patches, parent)
    stats = {
        "messages_read": len(read),
        "messages": len(messages),
        "duplicates_collapsed": duplicates,
        "kinds": {k: sum(1 for v in kinds.values() if v == k) for k in ("patch", "cover", "reply", "other")},
        "threads": len(threads),
        "series": len(series),
    }
    return Parsed(inputs, messages, subjects, kinds, patches, threads, parent, series, errors, stats)
