"""Measure the rule pack on real fixes: noise going forward, recall with the bug brought back.

INPUT is a folder (or file) of fix mails whose fixes are in --tree (an
INDEX.json beside them may give each fix's bug category); or, with
--git-range A..B, the commits of --tree's history that carry a Fixes: tag and
touch mm/. Each fix is linted on the tree before it (forward: any error or
warning is noise) and undone on the tree after it (reversed: an mm finding at
warning or above means the bug was noticed).

Exit status: 0 done; 2 usage error or no case found.
"""
from __future__ import annotations

import argparse
import os
import sys

from .common import UserError, write_output
from .lint import add_rule_arguments

FORMATS = ("text", "json", "html")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="folders or files of fix mails")
    p.add_argument("--tree", metavar="DIR", required=True, help="the kernel tree that contains the fixes")
    p.add_argument("--git-range", metavar="A..B", help="instead of mails: the Fixes: commits of A..B in --tree")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    p.add_argument("--format", choices=FORMATS, default=None, help="text (default), json, html (or from -o's extension)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_rule_arguments(p)


def run(args: argparse.Namespace) -> int:
    from .. import backtest
    from ..model import Errors
    from ..render import backtest_html, backtest_text
    from ..render import json as json_render
    if bool(args.inputs) == bool(args.git_range):
        raise UserError("give fix mails (INPUT...) or --git-range A..B, not both or neither")
    if not os.path.isdir(args.tree):
        raise UserError(f"--tree {args.tree}: not a directory")
    errors = Errors()
    jobs = (backtest.git_jobs(args.tree, args.git_range, errors) if args.git_range
            else backtest.mail_jobs(args.inputs, errors))
    if not jobs:
        for e in errors:
            print(f"reviewkit: {e.input}: {e.message}", file=sys.stderr)
        raise UserError("no fixes found to backtest")
    settings = backtest.Settings(args.tree, rule_dirs=args.rules, select=args.select, ignore=args.ignore)
    progress = None if args.quiet else backtest.progress_bar()
    data = backtest.run(jobs, settings, max(1, args.jobs), progress, errors)
    fmt = args.format or {".json": "json", ".html": "html", ".htm": "html"}.get(
        os.path.splitext(args.output or "")[1].lower(), "text")
    render = {"json": json_render.render, "html": backtest_html.render, "text": backtest_text.render}[fmt]
    write_output(args, render(data))
    return 0
