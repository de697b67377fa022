"""Markdown for a pull/merge request or patchwork comment: a compact summary, details collapsed per patch.

Everything taken from mail (subjects, names, code) is escaped: HTML
special characters become entities, Markdown punctuation is backslashed,
code goes into code spans/blocks whose fences are longer than any backtick
run inside. Rule text may use `code spans`; those are kept as code.
"""
from __future__ import annotations

import html
import re

from .fmt import by_patch, count, counts_text, patch_label, plural, summary_line
from .lint_data import coverage_text, finding_where, not_plainly_applied, not_whole

where = finding_where

_MD_SPECIAL = re.compile(r"([\\`*\[\]|~#!]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def text(s: str, strip: bool = True) -> str:
    """Plain text safe in Markdown: no HTML, no emphasis, no links."""
    s = re.sub(r"\s+", " ", str(s))
    s = s.strip() if strip else s
    return _MD_SPECIAL.sub(r"\\\1", html.escape(s, quote=False))


def code(s: str) -> str:
    """An inline code span that shows `s` literally, whatever backticks it holds."""
    s = " ".join(str(s).split())
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def inline(s: str) -> str:
    """Rule prose: its `code spans` stay code, everything else is escaped text."""
    out, pos = [], 0
    for m in _CODE_SPAN.finditer(s):
        out.append(text(s[pos:m.start()], strip=False) if m.start() > pos else "")
        out.append(code(m.group(2)))
        pos = m.end()
    out.append(text(s[pos:], strip=False))
    return "".join(out).strip()


def block(s: str, lang: str = "", indent: str = "") -> list:
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [f"{indent}{fence}{lang}"] + [f"{indent}{ln.rstrip()}" for ln in s.rstrip().split("\n")]
    return lines + [f"{indent}{fence}"]


def _lang(path) -> str:
    return "c" if path and path.endswith((".c", ".h")) else ""


def _finding(f: dict) -> list:
    fn = f" in {code(f['function'] + '()')}" if f.get("function") else ""
    low = " _(low confidence)_" if f.get("confidence") == "low" else ""
    out = [f"- **{f['severity']}** {code(where(f))}{fn}: {inline(f['message'])} ({code(f['rule'])}){low}"]
    if f.get("snippet") and f.get("path"):
        out += block(f["snippet"], _lang(f["path"]), "  ")
    if f.get("suggestion"):
        out.append(f"  **Fix:** {inline(f['suggestion'])}")
    for r in f.get("related") or []:
        out.append(f"  see {code(where(r))}: {inline(r.get('note') or '')}")
    return out


def _summary_html(label: str, c: dict) -> str:
    return f"<summary><b>{html.escape(label)}</b>: {html.escape(counts_text(c))}</summary>"


def _apply_section(data: dict) -> list:
    """Every patch the tree did not take as written, in the open: a reader must not take it as clean."""
    out = []
    items = not_plainly_applied(data)
    if items:
        out += ["**How the patches applied to the tree:**", ""]
        for mid, p, a in items:
            note = (a.get("analysis") or {}).get("note")
            out.append(f"- {text(patch_label(p, mid))}: **{text(a['summary'])}**" + (f"; {text(note)}" if note else ""))
        out.append("")
    for n in (data.get("tree") or {}).get("notes") or []:
        out += [f"_tree: {text(n)}_", ""]
    return out


def render(data: dict) -> str:
    n_patches = len(data.get("patches", {}))
    findings = data["findings"]
    whole = not_whole(data)
    out = [f"### reviewkit: {text(summary_line(data))}" + (f"; **{text(whole)}**" if whole else ""), ""]
    groups = by_patch(data, findings)
    if groups:
        out += ["| patch | errors | warnings | notes |", "|---|--:|--:|--:|"]
        for mid, p, items in groups:
            c = count(items)
            out.append(f"| {text(patch_label(p, mid or ''))} | {c['error']} | {c['warning']} | {c['note']} |")
        clean = n_patches - len([g for g in groups if g[0] in data.get("patches", {})])
        if clean > 0:
            out.append(f"| _{plural(clean, 'other patch', 'other patches')}_ | 0 | 0 | 0 |")
        out.append("")
        for mid, p, items in groups:
            out += ["<details>", _summary_html(patch_label(p, mid or ""), count(items)), ""]
            if mid:
                out += [f"Message-ID: {code(mid)}", ""]
            for f in items:
                out += _finding(f)
            out += ["", "</details>", ""]
    out += _apply_section(data)
    if data.get("resolved"):
        out += ["<details>", f"<summary>{html.escape(plural(len(data['resolved']), 'finding'))} "
                "resolved by these patches</summary>", ""]
        for f in data["resolved"]:
            out.append(f"- {code(where(f))}: {inline(f['message'])} ({code(f['rule'])})")
        out += ["", "</details>", ""]
    if data.get("waived"):
        out += ["<details>", f"<summary>{html.escape(plural(len(data['waived']), 'waived finding'))}</summary>", ""]
        for f in data["waived"]:
            out.append(f"- {code(where(f))}: {inline(f['message'])} ({code(f['rule'])}): waived: {text(f['waived'])}")
        out += ["", "</details>", ""]
    if data.get("errors"):
        out += ["<details>", f"<summary>{html.escape(plural(len(data['errors']), 'problem'))} reading or "
                "analysing the input</summary>", ""]
        for e in data["errors"]:
            loc = f" ({text(e['where'])})" if e.get("where") else ""
            out.append(f"- {code(e['input'])}{loc}: {text(e['message'])}")
        out += ["", "</details>", ""]
    ran = coverage_text(data) if data.get("stats", {}).get("coverage") else plural(
        data.get("stats", {}).get("rules", len(data.get("rules", []))), "rule")
    out.append(f"<sub>reviewkit {html.escape(str(data.get('version', '')))}, {html.escape(ran)}; "
               "<code>reviewkit rules --explain RULE</code> says why a rule matters.</sub>")
    return "\n".join(out) + "\n"
