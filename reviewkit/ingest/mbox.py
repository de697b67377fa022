"""Streaming mbox / mboxrd splitting.

Reads line by line from any binary stream (a file, gzip, stdin) and yields
one message's bytes at a time, so memory stays flat however large the
archive is.
"""
from __future__ import annotations

import re
from typing import BinaryIO, Iterator

# A separator is "From " + something + a time or the mboxrd marker. Requiring
# the time keeps prose lines such as "From the beginning, ..." in the body.
_FROM_LINE = re.compile(rb"^From \S*( .*)?(\d:\d\d|mboxrd)")
_MBOXRD_UNESCAPE = re.compile(rb"(?m)^>(>*From )")


def is_from_line(line: bytes) -> bool:
    return line.startswith(b"From ") and _FROM_LINE.match(line) is not None


def split_mbox(stream: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """Yield (index, byte offset, raw message) for each message in an mbox.

    mboxrd quoting (">From " -> "From ") is undone when the separators say
    mboxrd, as lore's do ("From mboxrd@z ..."). Text before the first
    separator is yielded as message index -1 when it is not blank, so the
    caller can report it.
    """
    lines: list[bytes] = []
    index = -1
    offset = 0
    start = 0
    mboxrd = False

    def finish() -> bytes:
        # the blank line before a separator belongs to the separator
        if lines and lines[-1] in (b"\n", b"\r\n"):
            lines.pop()
        raw = b"".join(lines)
        if mboxrd and b">From " in raw:
            raw = _MBOXRD_UNESCAPE.sub(rb"\1", raw)
        return raw

    for line in stream:
        if line.startswith(b"From ") and is_from_line(line):
            if index >= 0 or any(ln.strip() for ln in lines):
                yield index, start, finish()
            index += 1
            mboxrd = b"mboxrd" in line
            lines = []
            start = offset
        else:
            lines.append(line)
        offset += len(line)
    if index >= 0 or any(ln.strip() for ln in lines):
        yield index, start, finish()
