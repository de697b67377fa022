"""Options and output handling shared by the subcommands."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Optional


class UserError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


def add_output_arguments(p: argparse.ArgumentParser, formats: tuple) -> None:
    p.add_argument("--format", choices=formats, default=formats[0], help=f"output format (default {formats[0]})")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages")


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """--input-format: how to read files when sniffing guesses wrong (saved web pages above all)."""
    from ..ingest import INPUT_FORMATS
    p.add_argument("--input-format", choices=INPUT_FORMATS, default="auto",
                   help="how to read the input files: auto (default: sniff), mbox, mail, or a saved web page: "
                        "lore (thread or message page), patchwork (patch/cover page), mail-archive (thread "
                        "view), collapsed (text with its newlines collapsed)")


def read_input(args: argparse.Namespace):
    """parse_inputs() as every command calls it: --tree is also the repository of revision
    ranges and the text that repairs patches a web archive damaged; --input-format if offered."""
    from ..pipeline import parse_inputs
    lookup = None
    if getattr(args, "tree", None) and not getattr(args, "base", None):
        # A..B from the repository: its commits apply on A (HEAD already has them)
        ranges = [i.split("..", 1)[0] for i in args.inputs if ".." in i and not os.path.exists(i)]
        if ranges and ranges[0]:
            args.base = ranges[0]
    if getattr(args, "tree", None):
        from ..source.trees import open_tree
        tree, _ = open_tree(args.tree, getattr(args, "base", None))
        lookup = tree.read_text if tree.kind != "none" else None
    return parse_inputs(args.inputs, repo_dir=getattr(args, "tree", None), progress=progress_printer(args),
                        input_format=getattr(args, "input_format", "auto"), lookup=lookup)


def nothing_read(args: argparse.Namespace, parsed) -> int:
    """Exit status 2 when no message could be read, saying so on stderr unless the output shows it."""
    if parsed.messages:
        return 0
    if not parsed.errors:
        print("reviewkit: no messages found in the input", file=sys.stderr)
    elif getattr(args, "format", "text") != "text" or args.output:
        print(f"reviewkit: nothing could be read ({len(parsed.errors)} errors; see \"errors\")", file=sys.stderr)
    return 2


def write_output(args: argparse.Namespace, text: str) -> None:
    if not args.output:
        sys.stdout.write(text)
        return
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UserError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    if not args.quiet:
        print(f"reviewkit: wrote {args.output}", file=sys.stderr)


def progress_printer(args: argparse.Namespace) -> Optional[Callable[[int], None]]:
    """Progress on stderr for long reads, only when a person is watching.

    Called with a running count, and with -1 when reading is done (to end the line).
    """
    if args.quiet or not sys.stderr.isatty():
        return None
    shown = [False]

    def show(count: int) -> None:
        if count < 0:
            if shown[0]:
                print(file=sys.stderr)
            return
        shown[0] = True
        print(f"\rreviewkit: {count} messages read...", end="", file=sys.stderr, flush=True)
    return show
