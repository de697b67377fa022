"""The kernel's MAINTAINERS file: who maintains (M:) or reviews (R:) which paths (F:).

Only `DIR/MAINTAINERS` is read, as a plain file, and only when it resolves to
a path inside DIR (a symlink out of the tree is refused). Patterns follow
get_maintainer.pl: `dir/` covers everything below it, `*` and `?` do not
cross `/`, a pattern without wildcards that names a directory covers it, `X:`
excludes.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Optional


@dataclass(frozen=True)
class Section:
    title: str
    maintainers: tuple        # emails (lower case)
    reviewers: tuple
    files: tuple              # (literal prefix, regex source), ...
    excludes: tuple


def _glob(pattern: str) -> tuple:
    """(literal prefix, regex source): the prefix is a cheap first test before the regex, which is
    compiled only then (MAINTAINERS has ~7,000 patterns; compiling them all cost 0.3 s of every lint)."""
    prefix = re.split(r"[*?]", pattern, 1)[0]
    body = re.escape(pattern).replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    if pattern.endswith("/"):
        return prefix, body + ".*"
    if "*" in pattern or "?" in pattern:
        return prefix, body
    return prefix, body + "(?:/.*)?"  # a file, or a directory without its trailing slash


def _top(prefix: str) -> str:
    """The top directory a pattern's literal prefix pins down, or "" when it does not (`*`, `mm*`)."""
    return prefix.split("/", 1)[0] if "/" in prefix else ""


@functools.lru_cache(maxsize=None)
def _regex(source: str) -> "re.Pattern":
    return re.compile(source)


def _matches(patterns: tuple, path: str) -> bool:
    return any(path.startswith(prefix) and _regex(rx).fullmatch(path) for prefix, rx in patterns)


class Maintainers:
    def __init__(self, sections: list[Section], source: str = ""):
        self.sections = sections
        self.source = source
        self._by_top: Optional[dict] = None  # top directory -> indexes of sections with patterns there

    @classmethod
    def parse(cls, text: str, source: str = "") -> "Maintainers":
        sections: list[Section] = []
        title: Optional[str] = None
        fields: dict[str, list[str]] = {}

        def close() -> None:
            if title and ("M" in fields or "R" in fields):
                sections.append(Section(
                    title=title,
                    maintainers=tuple(e for e in map(_email, fields.get("M", ())) if e),
                    reviewers=tuple(e for e in map(_email, fields.get("R", ())) if e),
                    files=tuple(_glob(v) for v in fields.get("F", [])),
                    excludes=tuple(_glob(v) for v in fields.get("X", [])),
                ))

        for line in text.split("\n"):
            # `X:` fields: a capital letter and a colon (tested by hand: a regex per line was most of the parse)
            if title is not None and line[1:2] == ":" and "A" <= line[:1] <= "Z":
                fields.setdefault(line[0], []).append(line[2:].strip())
                continue
            if not line.strip():
                close()
                title, fields = None, {}
                continue
            if title is None:
                title = line.strip()
            else:  # prose before the first entry, or a malformed line: start over
                close()
                title, fields = line.strip(), {}
        close()
        return cls(sections, source)

    @classmethod
    def of_text(cls, text: str) -> "Maintainers":
        """`parse(text)`, once per content: trees differ per series and per backtest case (and per run
        of a server); their MAINTAINERS rarely do."""
        return _parsed(text)

    def sections_for(self, path: str) -> list[Section]:
        return [s for s in self._candidates(path) if _matches(s.files, path) and not _matches(s.excludes, path)]

    def _candidates(self, path: str) -> list[Section]:
        """The sections that may cover `path`, in file order: those with a pattern under the path's
        top directory, and those whose patterns start with a wildcard part (a path's full test is
        ~2,500 sections otherwise)."""
        if self._by_top is None:
            by_top: dict[str, set] = {}
            for i, s in enumerate(self.sections):
                for prefix, _ in s.files:
                    by_top.setdefault(_top(prefix), set()).add(i)
            self._by_top = by_top
        found = self._by_top.get(path.split("/", 1)[0], set()) | self._by_top.get("", set())
        return [self.sections[i] for i in sorted(found)]

    def roles(self, paths) -> dict[str, dict[str, list[str]]]:
        """email -> {"maintainer": [section titles], "reviewer": [...]} for the given paths."""
        out: dict[str, dict[str, list[str]]] = {}
        seen: set = set()
        for path in sorted(set(paths)):
            for s in self.sections_for(path):
                if s.title in seen:
                    continue
                seen.add(s.title)
                for e in s.maintainers:
                    out.setdefault(e, {"maintainer": [], "reviewer": []})["maintainer"].append(s.title)
                for e in s.reviewers:
                    out.setdefault(e, {"maintainer": [], "reviewer": []})["reviewer"].append(s.title)
        return out


@functools.lru_cache(maxsize=4)  # keyed by the text itself (hashed once per string)
def _parsed(text: str) -> Maintainers:
    return Maintainers.parse(text)


@functools.lru_cache(maxsize=None)  # the same people maintain many sections
def _email(value: str) -> str:
    return parseaddr(value)[1].lower()


class MaintainersError(Exception):
    pass


def read_maintainers(tree: str) -> Maintainers:
    """Read TREE/MAINTAINERS; raise MaintainersError (with a message for the user) when it cannot be."""
    root = os.path.realpath(tree)
    if not os.path.isdir(root):
        raise MaintainersError(f"{tree} is not a directory")
    path = os.path.realpath(os.path.join(root, "MAINTAINERS"))
    if os.path.commonpath([root, path]) != root or path == root:
        raise MaintainersError(f"{tree}/MAINTAINERS resolves outside the tree; not read")
    if not os.path.isfile(path):
        raise MaintainersError(f"no MAINTAINERS file in {tree}; maintainers are not marked")
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        return Maintainers.parse(fh.read(), path)
