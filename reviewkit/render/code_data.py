"""The code model as plain data: how each patch applied, and the functions it touches."""
from __future__ import annotations

from ..code.analysis import Analysis


def function_data(fc) -> dict:
    return {
        "patch": fc.patch, "path": fc.path, "function": fc.name, "kind": fc.kind, "status": fc.status,
        "before": list(fc.before_lines) if fc.before_lines else None,
        "after": list(fc.after_lines) if fc.after_lines else None,
        "parse_health": fc.parse_health, "source": fc.source,
        "removed_lines": sorted(fc.removed_lines), "added_lines": sorted(fc.added_lines),
    }


def apply_data(analysis: Analysis) -> list:
    out = []
    for mid, images in analysis.images.items():
        out.append({
            "patch": mid, "status": images.status,
            "files": [{"path": f.path, "status": f.status, "source": f.source,
                       "hunks": [{"number": h.number, "status": h.status, "offset": h.offset, "fuzz": h.fuzz,
                                  "line": h.old_line, "message": h.message} for h in f.hunks]}
                      for f in images.files],
        })
    return out


def code_data(analysis: Analysis) -> dict:
    """Keys added to `parse --tree` JSON: "functions" (the contract), "apply" and "tree"."""
    trees = {id(t): t for t in analysis.trees.values()}
    return {
        "functions": [function_data(fc) for mid in analysis.changes for fc in analysis.functions(mid)],
        "apply": apply_data(analysis),
        "tree": {"sources": [t.description for t in trees.values()], "notes": list(analysis.notes)},
    }
