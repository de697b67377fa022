"""Summarize the review of patch series: participants, trailers and verdicts per
version, comments anchored to the code they quote, open questions, action
items, and what each new version changed.

INPUT is what `reviewkit parse` reads: mbox (lore's t.mbox.gz), mail, patch,
directory, public-inbox archive, '-' or a revision range. Give every version
of a series (several INPUTs) to link them and see what each version addressed.
"""
from __future__ import annotations

import argparse
import json

from .common import add_input_arguments, add_output_arguments, nothing_read, read_input, write_output


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="mbox, mail, patch, directory, '-' or A..B")
    p.add_argument("--tree", metavar="DIR",
                   help="kernel tree: its MAINTAINERS marks maintainers (and revision ranges are read from it)")
    add_input_arguments(p)
    add_output_arguments(p, formats=("text", "json", "markdown"))


def run(args: argparse.Namespace) -> int:
    from ..render import summary_markdown, summary_text
    from ..render.summary_data import summary_data
    from ..review import summarize
    from ..maintainers import MaintainersError, read_maintainers
    parsed = read_input(args)
    maintainers = None
    if args.tree:
        try:
            maintainers = read_maintainers(args.tree)
        except (MaintainersError, OSError) as exc:
            parsed.errors.add(args.tree, "MAINTAINERS", str(exc))
    summary = summarize(parsed, tree_maintainers=maintainers)
    data = summary_data(summary)
    if args.format == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif args.format == "markdown":
        text = summary_markdown.render(data)
    else:
        text = summary_text.render({**data, "errors": []})  # errors go to stderr
    write_output(args, text, data["errors"], read_anything=bool(parsed.messages))
    return nothing_read(args, parsed)
