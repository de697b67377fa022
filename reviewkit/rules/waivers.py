"""Waivers: findings a person has looked at and accepted, with the reason.

Three places, most local first:
- inline, on the finding's line or the line above it, in the code:
  `/* reviewkit-waive: mm/no-new-bug-on checked, cannot fail */` (a rule id, a
  fingerprint, or `all`);
- a trailer in the commit message: `Reviewkit-Waive: <fingerprint or rule id> <reason>`;
- a config file (`--config FILE`, default `.reviewkit.toml` in the current
  directory): `[[waive]]` tables with `fingerprint` or `rule`, optional `path`,
  and `reason`.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, replace
from typing import Optional

from ..model import Errors, Finding, Patch

_INLINE = re.compile(r"reviewkit[-: ]waive[:\s]+([\w./-]+)\s*(.*?)\s*(?:\*/)?\s*$", re.I)


@dataclass(frozen=True)
class Waiver:
    target: str          # fingerprint, rule id (or prefix), or "all"
    reason: str
    path: Optional[str] = None
    origin: str = ""     # where it was written

    def matches(self, f: Finding) -> bool:
        if self.path and f.path != self.path:
            return False
        return self.target in ("all", f.fingerprint) or f.rule == self.target or (
            self.target.endswith("/") and f.rule.startswith(self.target))


def load_config(path: Optional[str], errors: Errors) -> list[Waiver]:
    if path is None:
        path = ".reviewkit.toml" if os.path.isfile(".reviewkit.toml") else None
        if path is None:
            return []
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        errors.add(path, "", f"config not read: {exc}")
        return []
    out = []
    for i, entry in enumerate(data.get("waive", []), 1):
        target = entry.get("fingerprint") or entry.get("rule")
        if not target or not entry.get("reason"):
            errors.add(path, f"[[waive]] #{i}", "a waiver needs `fingerprint` or `rule`, and a `reason`")
            continue
        out.append(Waiver(target, entry["reason"], entry.get("path"), f"{path} [[waive]] #{i}"))
    return out


def trailer_waivers(patch: Optional[Patch]) -> list[Waiver]:
    if patch is None:
        return []
    out = []
    for t in patch.trailers:
        if t.key.lower() == "reviewkit-waive":
            target, _, reason = t.value.partition(" ")
            out.append(Waiver(target, reason.strip() or "waived in the commit message", None,
                              f"Reviewkit-Waive trailer of {patch.message.msgid}"))
    return out


def inline_waiver(f: Finding, source_lines: Optional[list]) -> Optional[Waiver]:
    if not source_lines or not f.line:
        return None
    for ln in (f.line, f.line - 1):
        if 0 < ln <= len(source_lines):
            m = _INLINE.search(source_lines[ln - 1])
            if m:
                w = Waiver(m.group(1), m.group(2) or "waived in the code", None, f"{f.path}:{ln}")
                if w.matches(f):
                    return w
    return None


def apply_waivers(findings: list[Finding], waivers: list[Waiver], source_lines=None) -> list[Finding]:
    """The findings, with `waived` set (to the reason and where it was written) where a waiver matches."""
    out = []
    for f in findings:
        w = inline_waiver(f, source_lines(f) if source_lines else None) or next(
            (w for w in waivers if w.matches(f)), None)
        out.append(replace(f, waived=f"{w.reason} ({w.origin})") if w else f)
    return out
