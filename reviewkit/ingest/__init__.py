"""Inputs -> Messages, streaming.

`read_inputs()` takes what the user typed (files, directories, `-`, git
revision ranges, public-inbox archives) and yields Messages one at a time.
Whatever cannot be read becomes an entry in `errors` and the rest goes on.
"""
from __future__ import annotations

import gzip
import io
import os
import re
import stat
import sys
import zlib
from typing import BinaryIO, Callable, Iterable, Iterator, Optional

from ..model import Errors, Message, Person, Source
from . import gitlog
from .mail import decode_text, looks_like_header_block, parse_message, raw_headers, split_head_body, synthetic_msgid
from .mbox import is_from_line, split_mbox

# Names read from a plain directory (a `git format-patch -o` directory, a
# folder of saved mails). Anything else there is reported and skipped.
MAIL_SUFFIXES = (".patch", ".diff", ".eml", ".mbox", ".mbx", ".mboxrd", ".msg", ".txt", ".gz", ".mail")
# A bare diff (`git diff > x.patch`, `diff -u`) starts with its first file header.
_DIFF_START = re.compile(rb"(diff --git |diff -|Index: |--- \S.*\n\+\+\+ )")
# `--input-format` values; "auto" (or None) sniffs
# saved web pages (ingest.web, imported only when a page is read: it and pygit2 are most of start-up)
WEB_FORMATS = ("lore", "patchwork", "mail-archive", "collapsed")
INPUT_FORMATS = ("auto", "mbox", "mail", *WEB_FORMATS)
# Header names that make a first line a mail header (a page's "Re: [PATCH ...]" title is not one)
_MAIL_FIRST = re.compile(rb"^(from|to|cc|subject|date|message-id|return-path|received|delivered-to|reply-to|sender|"
                         rb"mime-version|content-[\w-]+|in-reply-to|references|x-[\w-]+|arc-[\w-]+|dkim-signature|"
                         rb"authentication-results|list-[\w-]+|envelope-to|user-agent|precedence|thread-[\w-]+)"
                         rb"[ \t]*:", re.I)


def _web():
    from . import web
    return web


class _Options:
    """How to read: a forced input format, and the source tree lookup for repairing web captures."""

    def __init__(self, input_format: Optional[str] = None, lookup: Optional[Callable] = None,
                 expect: Optional[Callable[[int], None]] = None):
        if input_format in (None, "auto"):
            input_format = None
        elif input_format not in INPUT_FORMATS:
            raise ValueError(f"unknown input format {input_format!r} (one of {', '.join(INPUT_FORMATS)})")
        self.input_format = input_format
        self.lookup = lookup
        self.expect = expect  # told how many messages an archive holds, before reading them


_AUTO = _Options()


def read_inputs(inputs: Iterable[str], errors: Errors, repo_dir: Optional[str] = None,
                stdin: Optional[BinaryIO] = None, input_format: Optional[str] = None,
                lookup: Optional[Callable] = None,
                expect: Optional[Callable[[int], None]] = None) -> Iterator[Message]:
    """Messages from every input. `input_format` forces how files are read (see INPUT_FORMATS);
    `lookup(path)` gives a file's text at the base, to repair damaged diffs in web captures;
    `expect(n)` hears how many messages a public-inbox archive holds before they are read."""
    opts = _Options(input_format, lookup, expect)
    for spec in inputs:
        yield from read_input(spec, errors, repo_dir=repo_dir, stdin=stdin, opts=opts)


def read_input(spec: str, errors: Errors, repo_dir: Optional[str] = None,
               stdin: Optional[BinaryIO] = None, opts: _Options = _AUTO) -> Iterator[Message]:
    if spec == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        if not hasattr(stream, "peek"):
            stream = io.BufferedReader(_Peekable(stream))
        if stream.peek(2)[:2] == b"\x1f\x8b":  # `zcat` is not needed: t.mbox.gz on stdin is read as is
            stream = io.BufferedReader(gzip.GzipFile(fileobj=stream))  # type: ignore[arg-type]
        yield from read_stream(stream, "<stdin>", errors, opts=opts)
        return
    try:
        mode = os.stat(spec).st_mode
    except OSError as exc:
        from . import gitsrc
        if gitsrc.looks_like_revision_range(spec):
            yield from read_revisions(spec, repo_dir or os.getcwd(), errors)
            return
        if isinstance(exc, FileNotFoundError):
            errors.add(spec, "", "no such file, directory or revision range (ranges look like HEAD~3..HEAD)")
        else:
            errors.add(spec, "", f"cannot be read ({exc.strerror or exc})")
        return
    if stat.S_ISDIR(mode):
        try:
            yield from read_directory(spec, errors, opts=opts)
        except OSError as exc:  # the directory itself (or a subdirectory listing) is unreadable
            errors.add(spec, getattr(exc, "filename", "") or "", f"cannot be read ({exc.strerror or exc})")
        return
    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):  # /dev/null and pipes are read too
        yield from read_file(spec, errors, opts=opts)
        return
    errors.add(spec, "", "is a socket or block device, not a file of mail")


class _Peekable(io.RawIOBase):
    """Wrap a stream without peek() (e.g. a pipe object in tests) as raw IO."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        data = self._stream.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def read_file(path: str, errors: Errors, name: Optional[str] = None, prefix: str = "",
              opts: _Options = _AUTO) -> Iterator[Message]:
    """Read one file; `name`/`prefix` say where it sits when it came from a directory."""
    name = name or path
    try:
        fh = open(path, "rb")
    except OSError as exc:
        errors.add(name, prefix, f"cannot open: {exc.strerror}")
        return
    with fh:
        stream: BinaryIO = fh
        if fh.peek(2)[:2] == b"\x1f\x8b":
            stream = gzip.GzipFile(fileobj=fh)  # type: ignore[assignment]
        yield from read_stream(stream, name, errors, prefix, opts=opts)


def read_stream(stream: BinaryIO, name: str, errors: Errors, prefix: str = "",
                opts: _Options = _AUTO) -> Iterator[Message]:
    """Sniff one stream: an mbox, a single mail, a bare diff, or a saved web page."""
    try:
        head = _peek(stream, 8192)
    except (OSError, EOFError, zlib.error) as exc:
        errors.add(name, f"{prefix}byte 0", f"unreadable ({exc})")
        return
    if not head.strip():
        errors.add(name, prefix or "byte 0", "empty input")
        return
    first = head.lstrip(b"\r\n \t").split(b"\n", 1)[0] + b"\n"
    try:
        fmt = opts.input_format
        # a "From " line thousands of characters long is a collapsed page, not an mbox
        if fmt == "mbox" or (fmt is None and is_from_line(first) and len(first) < 400):
            yield from _read_mbox(stream, name, errors, prefix)
        else:
            yield from _read_single(stream.read(), name, prefix.rstrip(": "), errors, opts=opts)
    except (OSError, EOFError, zlib.error) as exc:
        errors.add(name, f"{prefix}end of input", f"input ends early ({exc}); the messages read before that are kept")


def _peek(stream: BinaryIO, n: int) -> bytes:
    return stream.peek(n)  # type: ignore[attr-defined]  # every stream we open is buffered


def _read_mbox(stream: BinaryIO, name: str, errors: Errors, prefix: str = "") -> Iterator[Message]:
    for index, offset, raw in split_mbox(stream):
        where = f"{prefix}message {index + 1} at byte {offset}"
        if index < 0:
            if raw.strip():
                errors.add(name, f"{prefix}byte {offset}", "text before the first 'From ' line is not a message; ignored")
            continue
        if not raw.strip():
            errors.add(name, where, "empty message; ignored")
            continue
        msg = parse_message(raw, Source(name, where), errors)
        if msg is not None:
            yield msg


def _read_single(raw: bytes, name: str, where: str, errors: Errors,
                 opts: _Options = _AUTO) -> Iterator[Message]:
    stripped = raw.lstrip(b"\r\n")
    if not stripped.strip():
        errors.add(name, where or "byte 0", "empty input")
        return
    fmt = opts.input_format
    if fmt in WEB_FORMATS:
        yield from _web().read_capture(_page_text(stripped), name, errors, fmt, opts.lookup, where)
        return
    if fmt is None and gitlog.looks_like_git_log(stripped):  # `git show` / `git log -p` output
        for at, mail in gitlog.split_git_log(stripped, name, where, errors):
            msg = parse_message(mail, Source(name, at), errors)
            if msg is not None:
                yield msg
        return
    head, _ = split_head_body(stripped)
    if fmt is None and len(head) > 400 and b"\n" not in head[:400] and not _one_long_header(head) \
            and _web().collapsed.looks_collapsed(_page_text(stripped)):
        # headers and body run together on one line: a collapsed capture, not a mail
        yield from _web().read_capture(_page_text(stripped), name, errors, "collapsed", opts.lookup, where)
        return
    if fmt == "mail" or (looks_like_header_block(head) and (_MAIL_FIRST.match(head) or fmt is not None)):
        msg = parse_message(stripped, Source(name, where), errors)
        if msg is not None:
            yield msg
        return
    if _DIFF_START.match(stripped):
        yield bare_diff_message(stripped, name, where)
        return
    text = _page_text(stripped)
    web = _web()
    if web.detect(text) is not None:
        yield from web.read_capture(text, name, errors, None, opts.lookup, where)
        return
    if looks_like_header_block(head) and any(k.lower() in ("from", "subject", "date", "message-id")
                                             for k, _ in raw_headers(head[:65536])):
        msg = parse_message(stripped, Source(name, where), errors)
        if msg is not None:
            yield msg
        return
    errors.add(name, where or "byte 0",
               "neither a mail (no headers), an mbox (no 'From ' line), a diff nor a saved web page "
               "reviewkit knows (lore, patchwork, mail-archive, collapsed text); "
               "--input-format names the format if it was not recognised")


_ANOTHER_HEADER = re.compile(rb"\s(?:From|To|Cc|Subject|Date|Message-I[Dd]): ")


def _one_long_header(head: bytes) -> bool:
    """A mail whose first header is very long (e.g. an 80,000-character From), not headers run together."""
    first = head.split(b"\n", 1)[0]
    return bool(_MAIL_FIRST.match(first)) and not _ANOTHER_HEADER.search(first, 5)


def _page_text(raw: bytes) -> str:
    """A saved page's text: UTF-8, else Latin-1 (never fails); CRLF made LF."""
    return decode_text(raw, "utf-8").replace("\r\n", "\n")


def bare_diff_message(raw: bytes, name: str, where: str) -> Message:
    """A plain diff (e.g. `git diff > x.patch`): a patch mail with no headers."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    return Message(
        msgid=synthetic_msgid(raw), subject=os.path.basename(name), sender=Person("", ""), date=None,
        in_reply_to=None, references=(), headers=(), source=Source(name, where),
        body_loader=lambda: text, synthetic_id=True,
    )


def read_directory(path: str, errors: Errors, opts: _Options = _AUTO) -> Iterator[Message]:
    from . import gitsrc
    if gitsrc.is_public_inbox(path):
        for where, raw, reload in gitsrc.read_public_inbox(path, errors, opts.expect):
            msg = parse_message(raw, Source(path, where), errors, reload=reload)
            if msg is not None:
                yield msg
        return
    subdirs = [d for d in ("cur", "new") if os.path.isdir(os.path.join(path, d))]
    if subdirs:  # maildir
        for sub in subdirs:
            for entry in sorted(os.scandir(os.path.join(path, sub)), key=lambda e: e.name):
                if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                    yield from _read_one_file(entry.path, f"{sub}/{entry.name}", path, errors, opts=opts)
        return
    entries = sorted((e for e in os.scandir(path) if not e.name.startswith(".")), key=lambda e: e.name)
    found = False
    for entry in entries:
        if entry.is_symlink():
            errors.add(path, entry.name, "symbolic link not followed")
            continue
        if entry.is_dir():
            continue
        if not entry.name.lower().endswith(MAIL_SUFFIXES):
            errors.add(path, entry.name, "skipped: not named like a mail or patch (" + ", ".join(MAIL_SUFFIXES) + ")")
            continue
        found = True
        # the directory is the input (its files are one batch); the file name says where
        yield from read_file(entry.path, errors, name=path, prefix=f"{entry.name}: ", opts=opts)
    if not found:
        errors.add(path, "", "no mail or patch files in this directory")


def _read_one_file(full: str, where: str, top: str, errors: Errors, opts: _Options = _AUTO) -> Iterator[Message]:
    try:
        with open(full, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        errors.add(top, where, f"cannot read: {exc.strerror}")
        return
    if raw.startswith(b"From ") and is_from_line(raw.split(b"\n", 1)[0]):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    yield from _read_single(raw, top, where, errors, opts=opts)


def read_revisions(spec: str, repo_dir: str, errors: Errors) -> Iterator[Message]:
    from . import gitsrc
    repo = gitsrc.open_repository(repo_dir)
    if repo is None:
        errors.add(spec, repo_dir, "looks like a revision range but this is not a git repository (use --tree DIR)")
        return
    for where, raw in gitsrc.read_revision_range(repo, spec, errors):
        msg = parse_message(raw, Source(spec, where), errors)
        if msg is not None:
            yield msg
