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


@functools.lru_cache(maxsize=None)
def _regex(source: str) -> "re.Pattern":
    return re.compile(source)


def _matches(patterns: tuple, path: str) -> bool:
    return any(path.startswith(prefix) and _regex(rx).fullmatch(path) for prefix, rx in patterns)


class Maintainers:
    def __init__(self, sections: list[Section], source: str = ""):
        self.sections = sections
        self.source = source

    @classmethod
    def parse(cls, text: str, source: str = "") -> "Maintainers":
        sections: list[Section] = []
        title: Optional[str] = None
        fields: dict[str, list[str]] = {}

        def close() -> None:
            if title and ("M" in fields or "R" in fields):
                sections.append(Section(
                    title=title,
                    maintainers=tuple(_email(v) for v in fields.get("M", []) if _email(v)),
                    reviewers=tuple(_email(v) for v in fields.get("R", []) if _email(v)),
                    files=tuple(_glob(v) for v in fields.get("F", [])),
                    excludes=tuple(_glob(v) for v in fields.get("X", [])),
                ))

        for line in text.split("\n"):
            m = re.match(r"^([A-Z]):\s*(.*?)\s*$", line)
            if m and title is not None:
                fields.setdefault(m.group(1), []).append(m.group(2))
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

    def sections_for(self, path: str) -> list[Section]:
        return [s for s in self.sections if _matches(s.files, path) and not _matches(s.excludes, path)]

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
