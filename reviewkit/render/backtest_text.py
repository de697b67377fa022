"""The backtest scoreboard as terminal text."""
from __future__ import annotations


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def render(data: dict) -> str:
    s = data["stats"]
    out = [f"backtest on {data['tree']}: {s['cases']} fixes, {s['reverse_applicable']} reverse-apply "
           f"({s['not_in_tree']} not in the tree, {s['already_in_tree']} partly, "
           f"{s['not_applicable']} fit neither way), {s['seconds']}s on {s['processes']} processes",
           f"recall: {s['noticed']} of {s['reverse_applicable']} bugs noticed by an mm rule at warning or above "
           f"({_pct(s['recall'])}); {s['silent']} drew no mm finding at all",
           f"forward noise: {s['noise_findings']} errors/warnings from mm/ and patch/ rules on "
           f"{s['noise_cases']} fixes", "", "per category:"]
    out.append(f"  {'category':16} {'fixes':>5} {'rev':>4} {'noticed':>7} {'notes':>5} {'silent':>6} "
               f"{'recall':>6} {'noise':>5}")
    for name, c in data["by_category"].items():
        out.append(f"  {name:16} {c['cases']:5} {c['reverse_applicable']:4} {c['noticed']:7} {c['noted_only']:5} "
                   f"{c['silent']:6} {_pct(c['recall']):>6} {c['noise_cases']:5}")
    out += ["", "per rule (fixes it fires on):",
            f"  {'rule':40} {'forward':>7} {'noise':>5} {'reversed':>8} {'noticed':>7}"]
    for rid, r in data["by_rule"].items():
        if r["forward_cases"] or r["reversed_cases"]:
            out.append(f"  {rid:40} {r['forward_cases']:7} {r['noise_cases']:5} {r['reversed_cases']:8} "
                       f"{r['noticed_cases']:7}")
    if data["noticed"]:
        out += ["", "bugs noticed:"]
        out += [f"  {n['id']}  [{n['category']}] {n['subject']}  <- {', '.join(n['rules'])}" for n in data["noticed"]]
    noisy = [c for c in data["cases"] if c["noise"]]
    if noisy:
        out += ["", "forward noise:"]
        for c in noisy:
            for f in c["forward"]:
                if f["rule"] in c["noise"] and f["severity"] != "note":
                    out.append(f"  {c['id']}: {f['rule']} {f['severity']} {f['path'] or ''}:{f['line'] or ''} "
                               f"{f['message']}")
    if data["errors"]:
        out += ["", f"{len(data['errors'])} errors (see --format json)"]
    return "\n".join(out) + "\n"
