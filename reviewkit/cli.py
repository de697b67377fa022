"""The `reviewkit` command: parse arguments, dispatch to reviewkit.commands.<name>.

Exit codes: 0 fine; 1 findings at or above --fail-on; 2 usage or input error
(nothing could be analysed); 3 an internal error (a bug: please report it);
4 (lint) no finding decided it but a patch was not analysed whole (did not apply).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from typing import Optional, Sequence

from . import __version__
from .commands.common import UserError, check_options

# Each command's module is imported only when that command runs (or its --help is asked): start-up
# then costs little more than Python's. The module's HELP is its one-line summary in `reviewkit --help`.
COMMANDS = {"lint": "reviewkit.commands.lint", "parse": "reviewkit.commands.parse",
            "summarize": "reviewkit.commands.summarize", "report": "reviewkit.commands.report",
            "rules": "reviewkit.commands.rules", "backtest": "reviewkit.commands.backtest",
            "bot": "reviewkit.commands.bot", "serve": "reviewkit.commands.serve"}
# The summaries `reviewkit --help` lists, without importing every command to read its HELP.
SUMMARIES = {
    "lint": "check patches with the mm rule pack (and your own rules)",
    "parse": "show the parsed messages, threads, series and patches",
    "summarize": "where a series stands: trailers, verdicts, open questions, action items, versions",
    "report": "one HTML page: findings on the diffs, the thread summary, rule docs",
    "rules": "list the rules or explain one",
    "backtest": "run the rules over real fixes: forward noise, reversed recall, per rule and bug category",
    "bot": "follow a list: review each new series version once, post by mail and on a static site",
    "serve": "keep reviewkit loaded so that each `reviewkit lint` (e.g. on every save) starts warm",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with one line, no traceback
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def command_module(name: str):
    return importlib.import_module(COMMANDS[name])


def chosen_command(argv: Sequence[str]) -> Optional[str]:
    """The subcommand named on the command line: the first word that is not an option (the top-level
    options take no value)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The parser; only `command`'s arguments are defined (None: all of them, importing every command)."""
    parser = _Parser(prog="reviewkit", description="Review Linux kernel patch series and their threads.")
    parser.add_argument("--version", action="version", version=f"reviewkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        if command is None or name == command:
            module = command_module(name)
            module.add_arguments(sub.add_parser(name, help=SUMMARIES[name], description=module.__doc__))
        else:
            sub.add_parser(name, help=SUMMARIES[name])
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    if argv is None:  # the `reviewkit` command itself (a caller passing argv runs it here)
        argv = sys.argv[1:]
        from .server import SERVED, run_remote
        if chosen_command(argv) in SERVED:
            code = run_remote(argv)
            if code is not None:
                return code
    argv = list(argv)
    parser = build_parser(chosen_command(argv) or "")
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        check_options(args)
        return command_module(args.command).run(args)
    except UserError as exc:
        print(f"reviewkit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug in reviewkit, not in the user's input
        if args.debug:
            traceback.print_exc()
        print(f"reviewkit: internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in reviewkit; run again with --debug and report the output.", file=sys.stderr)
        return 3
