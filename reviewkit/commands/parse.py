"""Read mail and patches and show the parsed model: messages, threads, series, patches.

INPUT is a file (mbox, mboxrd, .gz, .eml, .patch), a directory (maildir,
a folder of .patch files, a public-inbox git archive), `-` for stdin, or a
revision range (HEAD~3..HEAD) in the repository given by --tree or the
current directory.
"""
from __future__ import annotations

import argparse

from ..code.analysis import analyse
from ..render import json as render_json
from ..render import parse_text
from ..render.code_data import code_data
from ..render.data import parse_data
from .common import add_input_arguments, add_output_arguments, nothing_read, read_input, write_output

HELP = "show the parsed messages, threads, series and patches"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="mbox, mail, patch, directory, '-' or A..B")
    p.add_argument("--tree", metavar="DIR",
                   help="kernel source tree (git repository or directory): apply the patches to it and list the "
                        "functions they touch; also the repository for revision ranges")
    p.add_argument("--base", metavar="REV", help="with a git --tree: apply at REV (default: the series' base-commit, "
                                                 "else HEAD)")
    add_input_arguments(p)
    add_output_arguments(p, formats=("text", "json", "jsonl"))


def run(args: argparse.Namespace) -> int:
    # without --tree nothing needs a patch's diff text or a mail's body after parsing: keep only
    # what is shown, so a whole archive fits in memory
    parsed = read_input(args, summary_only=not args.tree)
    data = parse_data(parsed, lazy=not args.tree and args.format != "text")
    if args.tree:
        data.update(code_data(analyse(parsed, args.tree, args.base)))
        data["errors"] = [e.as_dict() for e in parsed.errors]  # applying adds its own
    if args.format == "json":
        text = render_json.stream(data)
    elif args.format == "jsonl":
        text = render_json.jsonl(data)
    else:
        text = parse_text.render({**data, "errors": []})  # errors go to stderr
    write_output(args, text, data["errors"], read_anything=bool(parsed.messages))
    return nothing_read(args, parsed)
