"""Write one self-contained HTML page: the lint findings on each patch's diff and the thread summary.

INPUT is what `reviewkit lint` reads. Without -o the page goes to
reports/<first input's name>.html; `-o -` writes it to standard output.

Exit status as `reviewkit lint`: 0 nothing at or above --fail-on; 1 findings
at or above it; 2 usage error or nothing could be read.
"""
from __future__ import annotations

import argparse
import os
import re

from .common import write_output
from .lint import add_lint_arguments, exit_code, lint_input


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_lint_arguments(p)
    p.add_argument("-o", "--output", metavar="FILE.html",
                   help="where to write the page (default reports/<input>.html; '-' for standard output)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages")


def default_output(inputs: list) -> str:
    first = inputs[0].rstrip("/") if inputs else "report"
    name = os.path.basename(first) if first != "-" else "stdin"
    name = re.sub(r"\.(mbox|mbx|eml|patch|diff|gz|txt|html?)$", "", name)
    name = re.sub(r"\.(mbox|mbx|eml|patch|diff|txt)$", "", name)  # t.mbox.gz -> t
    return os.path.join("reports", (re.sub(r"[^A-Za-z0-9._+-]+", "_", name) or "report") + ".html")


def run(args: argparse.Namespace) -> int:
    from ..render import html
    from ..render.report_data import report_data, thread_summary
    if args.output == "-":
        args.output = None
    elif not args.output:
        args.output = default_output(args.inputs)
    parsed, result, data = lint_input(args)
    summary = thread_summary(parsed, data["errors"]) if result is not None else None
    write_output(args, html.render(report_data(parsed, data, summary)), data["errors"],
                 read_anything=result is not None)
    return exit_code(args, result)
