"""List the rules, or explain one: what it checks, why, an example, how to fix."""
from __future__ import annotations

import argparse
import json

from .common import write_output
from .lint import add_rule_arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--explain", metavar="ID", help="print the documentation of rule ID")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-o", "--output", metavar="FILE")
    p.add_argument("-q", "--quiet", action="store_true")
    add_rule_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ..model import Errors
    from ..rules.loader import load_rules, rules_root_env
    errors = Errors()
    rules = load_rules(args.rules + rules_root_env(), errors, select=args.select, ignore=args.ignore)
    if args.explain:
        match = [r for r in rules if r.id == args.explain]
        if not match:
            print(f"reviewkit: no rule {args.explain!r}; `reviewkit rules` lists them", file=__import__("sys").stderr)
            return 2
        r = match[0]
        if args.format == "json":
            text = json.dumps(_data(r, doc=True), indent=2) + "\n"
        else:
            text = f"{r.id} ({r.meta.severity}, {r.meta.scope})\n{r.meta.summary}\n\n{r.doc}\n"
        write_output(args, text)
        return 0
    if args.format == "json":
        text = json.dumps({"rules": [_data(r) for r in rules], "errors": [e.as_dict() for e in errors]},
                          indent=2) + "\n"
    else:
        width = max((len(r.id) for r in rules), default=10)
        text = "".join(f"{r.id:<{width}}  {r.meta.severity:<7}  {r.meta.scope:<8}  {r.meta.summary}\n" for r in rules)
        text += "".join(f"problem: {e.input}: {e.message}\n" for e in errors)
    write_output(args, text)
    return 0


def _data(r, doc: bool = False) -> dict:
    d = {"id": r.id, "severity": r.meta.severity, "scope": r.meta.scope, "summary": r.meta.summary,
         "path": str(r.path)}
    if doc:
        d["doc"] = r.doc
    return d
