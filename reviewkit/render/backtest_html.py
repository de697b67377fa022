"""The backtest scoreboard as one self-contained HTML page.

The page data is built here; the template (templates/backtest.html.j2) only
loops over it and prints it, autoescaped.
"""
from __future__ import annotations

from .html import _env


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def view(data: dict) -> dict:
    s = data["stats"]
    return {
        "title": f"reviewkit backtest: {s['noticed']} of {s['reverse_applicable']} bugs noticed",
        "tree": data["tree"], "version": data["version"],
        "totals": [("fixes", s["cases"]), ("reverse-apply", s["reverse_applicable"]),
                   ("not in the tree", s["not_in_tree"]), ("fit neither way", s["not_applicable"]),
                   ("noticed", s["noticed"]), ("recall", _pct(s["recall"])),
                   ("forward noise (fixes)", s["noise_cases"]), ("seconds", s["seconds"])],
        "categories": [{"name": k, "cases": c["cases"], "applicable": c["reverse_applicable"],
                        "noticed": c["noticed"], "noted": c["noted_only"], "silent": c["silent"],
                        "recall": _pct(c["recall"]), "noise": c["noise_cases"]}
                       for k, c in data["by_category"].items()],
        "rules": [{"id": k, "forward": r["forward_cases"], "noise": r["noise_cases"], "reversed": r["reversed_cases"],
                   "noticed": r["noticed_cases"], "cases": ", ".join(r["noticed"])}
                  for k, r in data["by_rule"].items()],
        "cases": [{"id": c["id"], "subject": c["subject"], "category": c["category"], "status": c["apply"]["status"],
                   "verdict": "noticed" if c["noticed"] else ("noise" if c["noise"] else ""),
                   "noticed": ", ".join(c["noticed"]), "noise": ", ".join(c["noise"]),
                   "forward": [_finding(f) for f in c["forward"]], "reversed": [_finding(f) for f in c["reversed"]]}
                  for c in data["cases"]],
        "errors": [f"{e['input']} {e['where']}: {e['message']}" for e in data["errors"]],
    }


def _finding(f: dict) -> str:
    where = f"{f['path']}:{f['line']}" if f.get("path") else "commit message"
    return f"{f['severity']} {f['rule']} {where}: {f['message']}"


def render(data: dict) -> str:
    page = _env().get_template("backtest.html.j2").render(v=view(data))
    return page if page.endswith("\n") else page + "\n"
