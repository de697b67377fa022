"""The code model of a parsed input: each series applied to its tree, and the functions each patch touches.

This is what rules see: for every patch, the pre/post images of its files
(`PatchImages`) and the parsed functions it adds, removes or modifies
(`FileChange`/`FunctionChange`), plus the tree itself for lookups.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Optional

from ..model import Errors
from ..pipeline import Parsed
from ..source.apply import PatchImages, apply_series
from ..source.trees import NoTree, SourceTree, open_tree
from .changes import FileChange, function_changes
from .cparse import make_parser

_BASE = re.compile(r"^base-commit:\s*([0-9a-f]{7,64})\s*$", re.M)


@dataclass
class Analysis:
    trees: dict = field(default_factory=dict)      # series index -> SourceTree
    notes: list = field(default_factory=list)      # how trees were chosen, what was missing
    images: dict = field(default_factory=dict)     # patch msgid -> PatchImages
    changes: dict = field(default_factory=dict)    # patch msgid -> [FileChange]
    bases: dict = field(default_factory=dict)      # series index -> the base asked for (--base, base-commit:)

    def functions(self, msgid: str) -> list:
        return [fc for f in self.changes.get(msgid, []) for fc in f.functions]


def series_base(parsed: Parsed, index: int) -> Optional[str]:
    """The series' `base-commit:` (from any patch, or the cover letter)."""
    s = parsed.series[index]
    for mid in s.patches:
        p = parsed.patches.get(mid)
        if p is not None and p.base_commit:
            return p.base_commit
    if s.cover:
        m = _BASE.search(parsed.message(s.cover).body)
        if m:
            return m.group(1)
    return None


def _with_quoted_files(parsed: Parsed, patch, notes: list):
    """A patch cut short by a web archive, completed with the files its reviewers quoted.

    Seed 000 is such a page: the patch stops after 2 of its 13 files, but Jason's reply quotes
    the copy_nonpresent_pte() hunk of mm/memory.c; that hunk is analysed as part of the patch.
    """
    have = {f.path for f in patch.files}
    extra = []
    for mid, items in parsed.quoted_diffs.items():
        for quoted, files in items:
            if getattr(quoted, "quoted_from", None) != patch.message.msgid:
                continue
            for f in files:
                if f.path not in have:
                    have.add(f.path)
                    extra.append(f)
                    notes.append(f"{f.path} of {patch.message.msgid} is known only from the quote in {mid}; "
                                 "it is analysed from that hunk")
    return replace(patch, files=patch.files + tuple(extra)) if extra else patch


def analyse(parsed: Parsed, tree_path: Optional[str], base: Optional[str] = None,
            errors: Optional[Errors] = None, tree: Optional[SourceTree] = None) -> Analysis:
    """Apply every series to its tree (`tree`, when given, is an already opened one: the same
    for every series, e.g. an in-memory overlay) and find the functions each patch touches."""
    errors = errors if errors is not None else parsed.errors
    out = Analysis()
    parser = make_parser()
    opened: dict[tuple, SourceTree] = {}
    for i, s in enumerate(parsed.series):
        patches = [_with_quoted_files(parsed, parsed.patches[m], out.notes) for m in s.patches if m in parsed.patches]
        if not patches:
            continue
        key = (tree_path, base, series_base(parsed, i) if not base else None)
        if tree is not None:
            opened[key] = tree
        elif key not in opened:
            opened[key], notes = open_tree(*key) if tree_path else (NoTree(), [
                "no source tree given: functions are found from the hunks alone (--tree DIR for more)"])
            out.notes.extend(n for n in notes if n not in out.notes)
        series_tree = opened[key]
        out.trees[i] = series_tree
        out.bases[i] = base or key[2]
        suspect: set = set()  # (path, function) a failed hunk of this series touches
        for images in apply_series(series_tree, patches, errors):
            mid = images.patch.message.msgid
            out.images[mid] = images
            out.changes[mid] = function_changes(images, parser, suspect)
    for opened_tree in opened.values():
        for path, why in sorted(getattr(opened_tree, "unreadable", {}).items()):
            errors.add(str(tree_path), path, f"cannot read this file of the tree ({why}); taken as absent")
    return out
