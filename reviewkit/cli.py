"""The `reviewkit` command: parse arguments, dispatch to reviewkit.commands.<name>.

Exit codes: 0 fine; 1 findings at or above --fail-on; 2 usage or input error
(nothing could be analysed); 3 an internal error (a bug: please report it).
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Optional, Sequence

from . import __version__
from .commands import backtest as backtest_cmd
from .commands import bot as bot_cmd
from .commands import lint as lint_cmd
from .commands import parse as parse_cmd
from .commands import report as report_cmd
from .commands import rules as rules_cmd
from .commands import summarize as summarize_cmd
from .commands.common import UserError, check_options

COMMANDS = {"lint": lint_cmd, "parse": parse_cmd, "summarize": summarize_cmd, "report": report_cmd,
            "rules": rules_cmd, "backtest": backtest_cmd, "bot": bot_cmd}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with one line, no traceback
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reviewkit", description="Review Linux kernel patch series and their threads.")
    parser.add_argument("--version", action="version", version=f"reviewkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(p)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        check_options(args)
        return COMMANDS[args.command].run(args)
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
