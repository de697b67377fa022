"""Check patches the way a careful mm reviewer would, and say what they will object to.

INPUT is anything `reviewkit parse` reads (mbox, patches, a directory, `-`,
a revision range in --tree). With --tree the series is applied to the real
tree and its functions are analysed whole; without it, from the hunks alone.

Exit status: 0 nothing at or above --fail-on; 1 findings at or above it;
2 usage error or nothing could be read; 4 no such findings, but a patch could not
be analysed whole (it did not apply, or only partly, or is already in the tree),
unless --allow-unapplied.
"""
from __future__ import annotations

import argparse
import importlib
import os
import shlex
import subprocess
import sys
from typing import Optional

from ..code.diskcache import NO_CACHE_ENV
from ..model import FILTERS, SEVERITY_RANK
from .common import UserError, add_input_arguments, add_output_arguments, read_input, report_errors, write_output

# The analysis, the rules and the renderers are imported where they are used: `--help` and argument
# errors cost little more than starting Python.

HELP = "check patches with the mm rule pack (and your own rules)"


def add_rule_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", metavar="DIR", action="append", default=[], help="also load rules from DIR")
    p.add_argument("--select", metavar="PREFIX", action="append", default=[], help="only rules whose id starts so")
    p.add_argument("--ignore", metavar="PREFIX", action="append", default=[], help="skip rules whose id starts so")


def add_lint_arguments(p: argparse.ArgumentParser) -> None:
    """What `lint` and `report` share: the input, the tree, the rules, waivers, --fail-on."""
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--tree", metavar="DIR", help="kernel tree (git repository or directory) to apply the series to")
    p.add_argument("--base", metavar="REV", help="with a git --tree: apply at REV (default: base-commit, else HEAD)")
    p.add_argument("--fail-on", choices=("error", "warning", "note", "never"), default="error",
                   help="exit 1 when a finding is at least this severe (default error)")
    p.add_argument("--allow-unapplied", action="store_true",
                   help="exit 0, not 4, when a patch did not apply (or only partly, or is already in the tree)")
    p.add_argument("--filter", choices=FILTERS, default="added",
                   help="added: only what the patch adds (default); function: anything in touched functions; all")
    p.add_argument("--config", metavar="FILE", help="waivers file (default .reviewkit.toml if present)")
    p.add_argument("--checkpatch", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the tree's scripts/checkpatch.pl on each patch (when --tree has it and perl "
                        "is installed; default on)")
    p.add_argument("--from", dest="sender", metavar="'NAME <ADDR>'",
                   help="From: of --format email replies (default: git config user.name/user.email here, "
                        "else in --tree)")
    p.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the cache of parsed trees in $XDG_CACHE_HOME/reviewkit")
    add_rule_arguments(p)
    add_input_arguments(p)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_lint_arguments(p)
    add_output_arguments(p, formats=FORMATS)
    p.set_defaults(format=None)  # text, unless -o names a file whose extension says otherwise


FORMATS = ("text", "json", "sarif", "markdown", "email", "b4", "terse", "html")
# -o FILE without --format: the format its extension names
BY_EXTENSION = {".json": "json", ".sarif": "sarif", ".md": "markdown", ".markdown": "markdown",
                ".mbox": "email", ".eml": "email", ".html": "html", ".htm": "html"}


def lint_input(args: argparse.Namespace):
    """Read, analyse and lint what the user gave: (parsed, LintResult or None, lint data)."""
    if getattr(args, "no_cache", False):
        os.environ[NO_CACHE_ENV] = "1"  # also for the processes the run starts
    parsed = read_input(args)
    # checkpatch.pl runs in its own process while we load and analyse (2 cores: the two overlap),
    # so it starts before the analysis and the rules are even imported
    running = _start_checkpatch(args, parsed) if args.checkpatch and args.tree and parsed.messages else None
    try:
        return _analyse_and_lint(args, parsed, running)
    except BaseException:
        if running:
            running.cancel()  # no perl process or temp folder outlives a failed run
        raise


def _analyse_and_lint(args: argparse.Namespace, parsed, running):
    from ..code.analysis import analyse
    from ..render.lint_data import lint_data
    from ..rules.engine import lint
    from ..rules.loader import load_rules, rules_root_env
    from ..rules.waivers import load_config
    errors = parsed.errors
    rules = load_rules(args.rules + rules_root_env(), errors, select=args.select, ignore=args.ignore)
    if args.select and not rules:
        raise UserError(f"--select {' '.join(args.select)} matches no rule (`reviewkit rules` lists them)")
    if not parsed.messages:
        return parsed, None, lint_data(parsed, _empty(), rules)
    analysis = analyse(parsed, args.tree, args.base)
    # checkpatch's findings are waited for after our rules have run
    extra = (lambda: _checkpatch_findings(args, running, analysis, errors, rules)) if running else None
    result = lint(parsed, analysis, rules, errors, filter=args.filter, waivers=load_config(args.config, errors),
                  extra=extra)
    data = lint_data(parsed, result, rules, analysis=analysis)
    data["errors"] = [e.as_dict() for e in errors]
    return parsed, result, data


# the exit status of a run in which some patch could not be analysed whole (and nothing else failed)
UNANALYSED_EXIT = 4


def exit_code(args: argparse.Namespace, result) -> int:
    """0: nothing at or above --fail-on; 1: something is; 2: nothing could be read; 4: nothing at or
    above --fail-on, but a patch did not apply whole to the tree (a CI bot must not read that as a pass)."""
    if result is None:
        return 2
    limit = SEVERITY_RANK.get(args.fail_on)
    if limit is not None and any(SEVERITY_RANK[f.severity] >= limit for f in result.active):
        return 1
    from ..render.lint_data import UNANALYSED
    if not getattr(args, "allow_unapplied", False) and any(
            c["status"] in UNANALYSED for c in result.coverage.values()):
        return UNANALYSED_EXIT
    return 0


def run(args: argparse.Namespace) -> int:
    if output_format(args) == "email":
        args.sender = sender(args)  # a bad --from is a usage error before any work
    parsed, result, data = lint_input(args)
    _emit(args, data, parsed)
    return exit_code(args, result)


def _start_checkpatch(args, parsed):
    from ..rules import checkpatch
    from ..source.trees import open_tree
    return checkpatch.start(parsed, open_tree(args.tree, args.base)[0])


def _checkpatch_findings(args, running, analysis, errors, rules) -> dict:
    """checkpatch.pl's findings per patch, minus what --select/--ignore exclude."""
    extra: dict = {}
    select, ignore = tuple(args.select), tuple(args.ignore)
    for f in running.findings(analysis, errors, rules=[r.id for r in rules]):
        if (not select or f.rule.startswith(select)) and not (ignore and f.rule.startswith(ignore)):
            extra.setdefault(f.patch, []).append(f)
    return extra


def _empty():
    from ..rules.engine import LintResult
    return LintResult(stats={"rules": 0})


def output_format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    if args.output:
        return BY_EXTENSION.get(os.path.splitext(args.output)[1].lower(), "text")
    return "text"


# format -> (renderer module under reviewkit.render, function)
RENDERERS = {"json": ("json", "render"), "sarif": ("sarif", "render"), "markdown": ("markdown", "render"),
             "email": ("email_reply", "render"), "b4": ("b4check", "render"), "terse": ("b4check", "terse"),
             "html": ("html", "render"), "text": ("lint_text", "render")}


def renderer(fmt: str):
    module, name = RENDERERS[fmt]
    return getattr(importlib.import_module(f"reviewkit.render.{module}"), name)


def _emit(args: argparse.Namespace, data: dict, parsed=None) -> None:
    fmt = output_format(args)
    if fmt in ("email", "html"):  # these need the patches' mails and diffs too
        from ..render.report_data import report_data, thread_summary
        summary = thread_summary(parsed, data["errors"]) if fmt == "html" and parsed is not None else None
        data = report_data(parsed, data, summary)
    if fmt == "email":
        _emit_email(args, data)
        return
    if fmt != "text":
        text = renderer(fmt)(data)
    else:
        color = not args.output and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        text = renderer("text")({**data, "errors": []}, color=color)  # errors go to stderr
    write_output(args, text, data["errors"], read_anything=bool(parsed is not None and parsed.messages))


def _emit_email(args: argparse.Namespace, data: dict) -> None:
    """The replies, From --from (or git's identity); nothing written when there is nothing to say."""
    text = renderer("email")(data, sender=args.sender, reproduce=_reproduce(args)) if data.get("report") else ""
    if not text:  # the errors (input problems, recipients left out) still go to stderr
        report_errors(data.get("errors", []))
        print("reviewkit: no findings to reply to: no mail written", file=sys.stderr)
        return
    write_output(args, text, data.get("errors", []))


def _reproduce(args: argparse.Namespace) -> str:
    cmd = ["reviewkit", "lint", *args.inputs]
    for flag, value in (("--tree", args.tree), ("--base", args.base), ("--config", args.config)):
        if value:
            cmd += [flag, value]
    if args.filter != "added":
        cmd += ["--filter", args.filter]
    return shlex.join(cmd)


def _git_identity(where: str) -> Optional[str]:
    """"Name <addr>" from `git config user.name/user.email` run in `where`, or None."""
    values = []
    for key in ("user.name", "user.email"):
        try:
            r = subprocess.run(["git", "-C", where, "config", key], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        values.append(r.stdout.strip() if r.returncode == 0 else "")
    from ..render import mail
    return mail.address(*values) if values[1] else None


def sender(args: argparse.Namespace) -> str:
    """The From: of reply mails: --from, else git's identity in the current directory, else in --tree,
    else a placeholder (said on stderr: send-email would otherwise go out under it)."""
    from ..render import mail
    if args.sender:
        value = mail.parse_sender(args.sender)
        if value is None:
            raise UserError(f"--from {args.sender!r}: give one address, as 'Name <you@example.org>'")
        return value
    for where in [os.getcwd()] + ([args.tree] if args.tree and os.path.isdir(args.tree) else []):
        found = _git_identity(where)
        if found:
            return found
    print(f"reviewkit: no --from and no git user.name/user.email: the replies say From: {mail.PLACEHOLDER_FROM} "
          "(edit it, or git send-email --from)", file=sys.stderr)
    return mail.PLACEHOLDER_FROM
