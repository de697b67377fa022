"""Terminal text for `reviewkit lint`: findings grouped by patch, each with where, why and how to fix."""
from __future__ import annotations

from .fmt import errors_section, patch_label
from .lint_data import coverage_text, finding_where, not_plainly_applied, not_whole

_COLORS = {"error": "31", "warning": "33", "note": "36"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


_where = finding_where


def apply_section(data: dict) -> list[str]:
    """A line for every patch the tree did not take as written, and the notes on how the tree was chosen."""
    out = []
    items = not_plainly_applied(data)
    if items:
        out.append("how the patches applied to the tree:")
        for mid, p, a in items:
            out.append(f"  {patch_label(p, mid)}: {a['summary']}")
            note = (a.get("analysis") or {}).get("note")
            if note:
                out.append(f"      {note}")
        out.append("")
    notes = (data.get("tree") or {}).get("notes") or []
    if notes:
        out.extend(f"tree: {n}" for n in notes)
        out.append("")
    return out


def render(data: dict, color: bool = False) -> str:
    out: list[str] = []
    by_patch: dict = {}
    for f in data["findings"]:
        by_patch.setdefault(f["patch"], []).append(f)
    for mid, items in by_patch.items():
        subject = data["patches"].get(mid, {}).get("subject", mid or "series")
        out.append(_paint(subject, "1", color) + (f"  {mid}" if mid else ""))
        for f in sorted(items, key=lambda f: (f["path"] or "", f["line"] or 0)):
            sev = _paint(f["severity"], _COLORS[f["severity"]], color)
            fn = f" in {f['function']}()" if f["function"] else ""
            low = " (low confidence)" if f["confidence"] == "low" else ""
            out.append(f"  {_where(f)}{fn}: {sev}: {f['message']} [{f['rule']}]{low}")
            if f["snippet"] and f["path"]:
                for ln in f["snippet"].rstrip().split("\n")[:4]:
                    out.append(f"      | {ln.rstrip()}")
            if f["suggestion"]:
                out.append(f"      fix: {f['suggestion']}")
            for rel in f["related"]:
                out.append(f"      see {rel['path']}:{rel['line']}: {rel['note']}")
        out.append("")
    if data["resolved"]:
        out.append("resolved by these patches:")
        for f in data["resolved"]:
            out.append(f"  {_where(f)}: {f['message']} [{f['rule']}]")
        out.append("")
    if data["waived"]:
        out.append(f"{len(data['waived'])} waived: " + ", ".join(
            f"{f['rule']} at {_where(f)} ({f['waived']})" for f in data["waived"]))
        out.append("")
    if data["errors"]:
        out.extend(errors_section(data["errors"], "reading or analysing the input")[1:])
        out.append("")
    out.extend(apply_section(data))
    counts = {s: sum(1 for f in data["findings"] if f["severity"] == s) for s in ("error", "warning", "note")}
    n_patches = len(data["patches"])
    out.append(f"{sum(counts.values())} findings ({counts['error']} errors, {counts['warning']} warnings, "
               f"{counts['note']} notes) in {n_patches} patch{'es' if n_patches != 1 else ''}, "
               f"{len(data['resolved'])} resolved, {coverage_text(data)}")
    if not_whole(data):
        out.append(f"{not_whole(data)} (see above)")
    return "\n".join(out) + "\n"
