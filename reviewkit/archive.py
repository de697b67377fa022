"""A public-inbox archive read by worker processes, for a summary-only parse (pipeline.py).

Each worker reads a chunk of mails from git and examines them (headers, patch summary, kind,
the trailers a reply gives); what comes back is small: the Message without its body, the
Examined record, and the errors found. The parent keeps no mail's bytes; a body asked for
later is read again from git. On one core, or for a small archive, the same is done in this
process. REVIEWKIT_JOBS=N sets the number of workers (1: none).
"""
from __future__ import annotations

import gc
import multiprocessing
import os
from functools import partial
from typing import Callable, Iterator, Optional

from .ingest.gitsrc import list_public_inbox, read_blob
from .ingest.mail import parse_message
from .model import Errors, Message, Source
from .pipeline import Examined, examine_read, headerless

CHUNK = 250           # mails per task: large enough that pickling is cheap, small enough to stream
PARALLEL_FROM = 2000  # fewer mails than this are not worth starting workers for

# (message or None, errors reading it, what examining it kept), per mail
Record = tuple[Optional[Message], list, Optional[Examined]]


def jobs() -> int:
    env = os.environ.get("REVIEWKIT_JOBS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def read_archive(path: str, errors: Errors,
                 expect: Optional[Callable[[int], None]] = None) -> Iterator[tuple[Message, Examined]]:
    """(message, examined) per mail of the archive at `path`, oldest first; reading errors go to
    `errors` in mail order, the errors examining found stay in each Examined (the pipeline adds
    them for the messages it keeps)."""
    workers = jobs()
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        # listing walks every commit: done in a worker, so that the pack's pages are not mapped here
        listed, listing_errors = (pool.apply(_list, (path,)) if pool is not None else _list(path))
        errors.extend(listing_errors)
        if expect is not None:
            expect(len(listed))
        chunks = [(path, listed[i:i + CHUNK]) for i in range(0, len(listed), CHUNK)]
        del listed
        if pool is None or len(chunks) * CHUNK < PARALLEL_FROM:
            results: Iterator[list[Record]] = map(_examine_chunk, chunks)
        else:
            results = pool.imap(_examine_chunk, chunks)
        for records in results:
            for msg, read_errors, seen in records:
                errors.extend(read_errors)
                if msg is not None:
                    msg.body_loader.errors = errors  # a body read again reports to this run
                    yield msg, seen
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def _list(path: str) -> tuple[list, Errors]:
    errors = Errors()
    return list_public_inbox(path, errors), errors


def _examine_chunk(job: tuple[str, list]) -> list[Record]:
    collecting = gc.isenabled()
    gc.disable()  # as in parse_inputs: nothing made here holds a cycle
    try:
        return _examine_items(*job)
    finally:
        if collecting:
            gc.enable()


def _examine_items(path: str, items: list) -> list[Record]:
    out: list[Record] = []
    for repo_path, where, oid in items:
        errors = Errors()
        # the body loader reads the blob again when asked (a partial and a class pickle: closures do not)
        msg = parse_message(read_blob(repo_path, oid), Source(path, where), errors,
                            reload=partial(read_blob, repo_path, oid))
        if msg is None:
            out.append((None, errors, None))
            continue
        msg = headerless(msg)
        out.append((msg, errors, examine_read(msg, errors)))
    return out
