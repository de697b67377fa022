"""Small wording helpers the renderers share (no format-specific escaping here)."""
from __future__ import annotations

SEVERITIES = ("error", "warning", "note")


def plural(n: int, word: str, many: str = "") -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def where(f: dict) -> str:
    """file:line, or what a finding without a line is about."""
    if not f.get("path"):
        return "commit message"
    return f"{f['path']}:{f['line']}" if f.get("line") else f["path"]


def count(findings: list) -> dict:
    return {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}


def counts_text(c: dict, zero: str = "no findings") -> str:
    """"1 error, 2 warnings" (only what is there)."""
    parts = [plural(c[s], s) for s in SEVERITIES if c.get(s)]
    return ", ".join(parts) if parts else zero


def patch_label(p: dict, msgid: str = "") -> str:
    """"3/8 mm: title" for a numbered patch, else its subject."""
    if p.get("counter") and p.get("title"):
        return f"{p['counter']}/{p['total'] or '?'} {p['title']}"
    return p.get("subject") or msgid or "series"


def by_patch(data: dict, findings: list) -> list:
    """[(msgid, patch dict, [findings])] in the order patches appear in the input, then the rest."""
    groups: dict = {}
    for f in findings:
        groups.setdefault(f["patch"], []).append(f)
    order = [m for m in data.get("patches", {}) if m in groups] + [m for m in groups if m not in data.get("patches", {})]
    return [(m, data.get("patches", {}).get(m, {}), sorted(groups[m], key=lambda f: (
        f["path"] is not None, f["path"] or "", f["line"] or 0, f["rule"]))) for m in order]


def summary_line(data: dict) -> str:
    c = count(data["findings"])
    n_patches = len(data.get("patches", {}))
    hit = len({f["patch"] for f in data["findings"]})
    text = counts_text(c)
    if data["findings"]:
        text += f" in {hit} of {plural(n_patches, 'patch', 'patches')}"
    else:
        text += f" in {plural(n_patches, 'patch', 'patches')}"
    if data.get("resolved"):
        text += f", {len(data['resolved'])} resolved"
    if data.get("waived"):
        text += f", {len(data['waived'])} waived"
    return text


def errors_section(errors: list, doing: str = "reading the input") -> list[str]:
    """The text lines that list the run's errors ("" first, as a section), or nothing."""
    if not errors:
        return []
    out = ["", f"{plural(len(errors), 'problem')} {doing}:"]
    for e in errors:
        where_ = f" ({e['where']})" if e["where"] else ""
        out.append(f"  {e['input']}{where_}: {e['message']}")
    return out


def plain_text(markdown: str) -> str:
    """Our Markdown-flavoured wording (rule docs, suggestions) as plain text: no backticks, no bold."""
    return (markdown or "").replace("**", "").replace("`", "")


def snippet_line(f: dict) -> str:
    """The first non-blank line of a finding's snippet, stripped ("" when it has none)."""
    return next((s.strip() for s in (f.get("snippet") or "").split("\n") if s.strip()), "")
