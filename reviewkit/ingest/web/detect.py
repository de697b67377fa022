"""Which archive a saved page comes from, by markers only that archive prints.

Each test looks at most at the first and last 200 KB of the text, so
detection costs the same on a 10 MB page as on a small one.
"""
from __future__ import annotations

import re
from typing import Optional

from .. import WEB_FORMATS as FORMATS  # the one list of page formats
from . import collapsed

_LORE = [re.compile(r"(?m)^\^ permalink raw reply"),
         re.compile(r"(?m)^From: .* @ \d{4}-\d{2}-\d{2} [ \d]\d:\d{2} UTC \(permalink / raw\)"),
         re.compile(r"(?m)^Thread overview: (?:\d+\+ messages|\(only message\))"),
         re.compile(r"(?m)^Message-ID: <[^>]+> \(raw\)")]
_PATCHWORK = [re.compile(r"(?m)^Message[ -]ID:?\s+\S+@\S+"),
              re.compile(r"(?m)^(?:Headers (?:show|hide)|Commit Message|Series .*\| expand|mbox series)\s*$"),
              re.compile(r"(?m) UTC \| #\d+\s*$")]
_MAIL_ARCHIVE = re.compile(r"(?m)^\d{4}-\d{2}-\d{2} Thread \S")


def _window(text: str) -> str:
    return text if len(text) <= 400000 else text[:200000] + "\n" + text[-200000:]


def detect(text: str) -> Optional[str]:
    """'lore', 'patchwork', 'mail-archive', 'collapsed', or None (not a capture we know)."""
    if collapsed.looks_collapsed(text):
        return "collapsed"
    sample = _window(text)
    lore = sum(1 for r in _LORE if r.search(sample))
    if lore >= 2 or (lore == 1 and _LORE[3].search(sample)):
        return "lore"
    pw = sum(1 for r in _PATCHWORK if r.search(sample))
    if _PATCHWORK[0].search(sample) and pw >= 2:
        return "patchwork"
    if _MAIL_ARCHIVE.search(sample) and re.search(r"(?m)^\d{4}-\d{2}-\d{2} Thread \S.*\n", sample):
        lines = sample.split("\n")
        for i in range(2, len(lines)):
            if _MAIL_ARCHIVE.match(lines[i]) and not lines[i - 1].strip() and lines[i - 2].strip():
                return "mail-archive"
    return None
