"""Saved web-archive pages -> Messages: lore, patchwork, mail-archive, collapsed text.

`read_capture(text, name, errors)` detects the archive (or takes
`input_format`), lets that archive's reader recover what each message's
text still holds (readers: lore.py, patchwork.py, mailarchive.py,
collapsed.py), rebuilds the reply structure and the messages known only
from quotes (history.py), repairs the diffs the archive damaged and pulls
out the diffs replies quote (repair.py), and returns `Message`s like clean
mail gives (entries.py). What could not be recovered goes into `errors`.
"""
from __future__ import annotations

from typing import Iterator, Optional

from ...model import Errors, Message
from ...subject import parse_subject
from . import collapsed, history, lore, mailarchive, patchwork
from .detect import FORMATS, detect
from .entries import Entry, to_messages
from .quoting import quote_lines, quoted_nodes
from .repair import Lookup, extract_quoted_diffs, repair_patch_body

__all__ = ["FORMATS", "detect", "read_capture"]

_READERS = {"lore": lore.read, "patchwork": patchwork.read, "mail-archive": mailarchive.read,
            "collapsed": collapsed.read}
_WHITESPACE = {"mail-archive": "stripped", "collapsed": "collapsed"}


def read_capture(text: str, name: str, errors: Errors, input_format: Optional[str] = None,
                 lookup: Optional[Lookup] = None, where: str = "") -> Iterator[Message]:
    """Messages from one saved page. `name` is the user's input, `where` the page's place in it
    (a file in a maildir), `lookup(path)` a file's text at the base (to repair diffs exactly)."""
    fmt = input_format or detect(text)
    prefix = f"{where} " if where else ""
    if fmt is None:
        errors.add(name, where or "byte 0", "not a mail, an mbox, a diff or a saved web page reviewkit knows "
                                   "(lore, patchwork, mail-archive, collapsed text); use --input-format to say which")
        return
    try:
        messages = _read(text, name, errors, fmt, lookup, prefix)
    except Exception as exc:  # a hostile or odd page must not end the run; say it, as the pipeline does
        errors.add(name, f"{prefix}{fmt} page", f"could not be read as a {fmt} page ({type(exc).__name__}: {exc}); "
                                                "this is a bug in reviewkit, please report it with the page")
        return
    yield from messages


def _read(text: str, name: str, errors: Errors, fmt: str, lookup: Optional[Lookup], prefix: str) -> list[Message]:
    entries, problems = _READERS[fmt](text, name)
    for p in problems:
        errors.add(name, f"{prefix}{fmt} page", p)
    if not entries:
        errors.add(name, f"{prefix}{fmt} page", f"no messages found reading it as a {fmt} page")
        return []
    for e in entries:
        e.where = prefix + e.where
    history.recover(entries)
    _repair(entries, fmt, name, errors, lookup)
    _series_gaps(entries, f"{prefix}{fmt} page", name, errors)
    return to_messages(entries, fmt, name)


def _repair(entries: list[Entry], fmt: str, name: str, errors: Errors, lookup: Optional[Lookup]) -> None:
    for i, e in enumerate(entries):
        if not e.quoted_only:
            fixed = repair_patch_body(e.body, e.where, lookup, _WHITESPACE.get(fmt, ""))
            if fixed is not None:
                if fixed.body != e.body or fixed.repairs:
                    e.body = fixed.body
                    e.repairs = fixed.repairs
                for msg in fixed.errors:
                    errors.add(name, e.where, msg)
        e.quoted_diffs = _quoted_diffs(e, entries, lookup, fmt)


def _quoted_diffs(e: Entry, entries: list[Entry], lookup: Optional[Lookup], fmt: str) -> list:
    """Diffs the message quotes from its parent (depth-1 quotes only: deeper ones are re-quotes)."""
    if "@@ -" not in e.body:
        return []
    nodes, _ = quoted_nodes(quote_lines(e.body))
    out = []
    for node in nodes:
        if node.depth != 1:
            continue
        own = [ql for ql in node.lines if ql.depth == 0]
        if not any(ql.text.startswith("@@ -") for ql in own):
            continue
        default = _path_hint(entries[e.parent] if e.parent is not None else None, own)
        indent = 2 if fmt == "mail-archive" else 0
        found = extract_quoted_diffs([ql.text for ql in own], own[0].index + 1, e.where, lookup, default, indent)
        if not found:
            e.notes["quoted_hunks_without_file"] = "the reply quotes hunks without their file header, and the " \
                                                   "patch they come from is not on the page: file unknown"
        out += found
    return out


def _path_hint(parent: Optional[Entry], own: list) -> str:
    """The file a headerless quoted hunk belongs to: the parent's diff hunk with the same header."""
    if parent is None:
        return ""
    first = next((ql.text for ql in own if ql.text.startswith("@@ -")), "")
    key = first.split("@@")[1].strip() if first.count("@@") >= 2 else ""
    path = ""
    for line in parent.body.split("\n"):
        if line.startswith("diff --git "):
            path = line.split()[-1][2:] if line.split()[-1][:2] == "b/" else line.split()[-1]
        elif key and line.startswith("@@ -") and line.split("@@")[1].strip() == key:
            return path
    return ""


def _series_gaps(entries: list[Entry], where: str, name: str, errors: Errors) -> None:
    """Patches of a numbered series whose siblings are not on the page."""
    seen: dict[tuple, set] = {}
    for e in entries:
        if e.quoted_only:
            continue
        s = parse_subject(e.subject)
        if s.is_reply or s.total is None or s.counter is None:
            continue
        seen.setdefault((s.version, s.total, s.title if s.counter == 0 else ""), set()).add(s.counter)
    merged: dict[tuple, set] = {}
    for (v, total, _), counters in seen.items():
        merged.setdefault((v, total), set()).update(counters)
    for (v, total), counters in merged.items():
        missing = [n for n in range(0, total + 1) if n not in counters]
        if 0 in missing and where.endswith("patchwork page"):
            missing.remove(0)
        if missing and counters != {0}:
            shown = ", ".join("cover" if n == 0 else f"{n}/{total}" for n in missing[:30])
            errors.add(name, where, f"v{v} series of {total}: the page holds "
                                  + ", ".join("cover" if n == 0 else f"{n}/{total}" for n in sorted(counters))
                                  + f"; not on the page: {shown}")
