"""The nouns of reviewkit: plain frozen dataclasses shared by every stage.

This module imports nothing from reviewkit, so every stage can depend on it
without creating cycles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Optional


@dataclass(frozen=True)
class ErrorEntry:
    """Something in an input that could not be read fully.

    `input` names the file/directory/revision given by the user, `where`
    points inside it (message number and byte offset, Message-ID, file:line),
    `message` says what went wrong and, where possible, what to do.
    """
    input: str
    where: str
    message: str

    def as_dict(self) -> dict:
        return {"input": self.input, "where": self.where, "message": self.message}


class Errors(list):
    """The run's error list: stages append to it and carry on."""

    def add(self, input: str, where: str, message: str) -> None:
        self.append(ErrorEntry(str(input), str(where), message))


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    def __str__(self) -> str:
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email


@dataclass(frozen=True)
class Source:
    """Where a message came from: the user's input and a position in it."""
    input: str
    where: str  # e.g. "message 3 at byte 10452", "commit 1a2b3c4", "cur/1234.eml"

    def __str__(self) -> str:
        return f"{self.input} ({self.where})" if self.where else self.input


@dataclass(frozen=True)
class Subject:
    raw: str
    title: str            # subject with reply markers and [...] prefixes removed
    prefixes: tuple       # bracketed tokens in order, e.g. ("PATCH", "v7", "5/8")
    version: int          # 1 when unversioned
    counter: Optional[int]
    total: Optional[int]
    is_reply: bool
    is_rfc: bool = False
    is_resend: bool = False
    list_tags: tuple = ()  # mailing-list tags such as "Nouveau" stripped from the front


@dataclass(frozen=True)
class Message:
    """One mail, with its headers decoded; the body is decoded on first use."""
    msgid: str
    subject: str
    sender: Person
    date: Optional[datetime]
    in_reply_to: Optional[str]
    references: tuple
    headers: tuple          # ((name, raw value), ...) in order; use header() for decoded values
    source: Source
    body_loader: Callable[[], str] = field(repr=False, compare=False, hash=False)
    synthetic_id: bool = False  # msgid made up by reviewkit (the mail had none)
    header_decoder: Callable[[str], str] = field(default=lambda v: v, repr=False, compare=False, hash=False)
    quoted_only: bool = False   # known only from quotes inside another message (JSON kind "quoted")
    repairs: tuple = ()         # repairs made to a diff damaged by a web archive (ingest.web.repair.Repair)
    quoted_diffs: tuple = ()    # diffs this message quotes from its parent (ingest.web.repair.QuotedDiff)
    capture: tuple = ()         # (key, value) notes: how a web capture's fields were recovered, what it lacked

    @property
    def body(self) -> str:
        cached = self.__dict__.get("_body")
        if cached is None:
            cached = self.body_loader()
            object.__setattr__(self, "_body", cached)
        return cached

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """A header's value, RFC 2047 words decoded (headers are kept raw until asked for)."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return self.header_decoder(value) if "=?" in value else value
        return default


@dataclass(frozen=True)
class Trailer:
    key: str                  # canonical spelling, e.g. "Reviewed-by"
    value: str                # everything after "Key: "
    person: Optional[Person]  # for person trailers (…-by, Cc)
    line: int                 # 1-based line in the text it was found in
    comment: str = ""         # trailing "# …" or "[…]" note
    msgid: str = ""           # the mail that gave it (a follow-up, or the patch itself)
    given_by: Optional[Person] = None  # the sender of that mail
    mismatch: bool = False    # the trailer names someone other than the sender of the reply


@dataclass(frozen=True)
class Line:
    kind: str                 # "+", "-", " "
    text: str
    old_line: Optional[int]
    new_line: Optional[int]


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str              # text after the second "@@" (usually the function)
    lines: tuple              # Line, ...
    no_newline_old: bool = False
    no_newline_new: bool = False


@dataclass(frozen=True)
class FileDiff:
    old_path: Optional[str]   # None for a new file
    new_path: Optional[str]   # None for a deleted file
    status: str               # added | deleted | modified | renamed | copied | mode
    hunks: tuple
    binary: bool = False
    old_mode: Optional[str] = None
    new_mode: Optional[str] = None
    similarity: Optional[int] = None
    old_blob: Optional[str] = None  # abbreviated blob ids from the "index" line
    new_blob: Optional[str] = None

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def added(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "+")

    @property
    def removed(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "-")


@dataclass(frozen=True)
class Patch:
    message: Message
    subject: Subject
    author: Person            # in-body From: when present, else the mail sender
    log: str                  # commit message body above `---` (trailers included, subject not)
    trailers: tuple           # Trailer, ... from the commit message
    notes: str                # text between "---" and the diff (changelog, diffstat)
    diffstat: tuple           # (path, changes) pairs from the notes
    files: tuple              # FileDiff, ...
    diff: str                 # the diff text as found
    base_commit: Optional[str] = None
    prerequisites: tuple = ()  # prerequisite-patch-id values
    pull_url: Optional[str] = None
    followup_trailers: tuple = ()  # Trailer, ... given in replies
    repairs: tuple = ()       # repairs made to this patch's diff (damaged web capture); empty = as sent


@dataclass(frozen=True)
class Thread:
    root: str
    messages: tuple           # msgids in thread order (depth-first, by date)
    parent: dict              # msgid -> parent msgid (None for the root)


@dataclass(frozen=True)
class Series:
    version: int
    total: Optional[int]
    title: str
    sender: Person
    cover: Optional[str]      # msgid
    patches: tuple            # msgids ordered by counter
    counters: tuple           # counter of each patch, same order
    followups: dict           # msgid of a patch/cover -> tuple of reply msgids
    missing: tuple            # counters 1..total not received
    date: Optional[datetime] = None
    previous: Optional[int] = None  # index of the earlier version in the same input
    is_rfc: bool = False
    is_resend: bool = False
    patch_titles: tuple = ()  # subject titles of the patches, same order

    @property
    def complete(self) -> bool:
        return not self.missing


# A finding's severities, least to most severe (--fail-on compares with these).
SEVERITY_RANK = {"note": 0, "warning": 1, "error": 2}
# Which findings lint keeps (--filter): what the patch adds, anything in touched functions, everything.
FILTERS = ("added", "function", "all")


@dataclass(frozen=True)
class Finding:
    """What a rule says about a patch: where, why, and how to fix it."""
    rule: str                 # "area/kebab-name", e.g. "mm/no-new-bug-on"
    severity: str             # error | warning | note
    message: str
    path: Optional[str]       # None for the commit message / the series
    line: Optional[int]       # post-image line (pre-image for removed code); None for the commit message
    function: Optional[str]
    patch: Optional[str]      # msgid or commit id
    fingerprint: str          # stable across versions: rule + path + function + normalised snippet
    end_line: Optional[int] = None
    side: str = "after"       # after | before (the pre-image: removed code)
    snippet: str = ""         # the offending source lines
    suggestion: str = ""      # how to fix
    related: tuple = ()       # ((path, line, note), ...) other places that matter
    confidence: str = "high"  # high | low (e.g. the function did not parse cleanly)
    waived: str = ""          # why it was waived ("" = not waived)
    patch_line: Optional[int] = None  # `line` as the patch's own diff numbers it (differs when a hunk moved)
