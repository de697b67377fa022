"""Options and output handling shared by the subcommands."""
from __future__ import annotations

import argparse
import os
import re
import time
import sys
from typing import Callable, Iterable, Iterator, Optional, Union


class UserError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


def check_options(args: argparse.Namespace) -> None:
    """Refuse, before reading anything, a --tree, --config or --rules that cannot be what the user meant:
    a mistyped path must fail the run (exit 2), not quietly fall back to less analysis."""
    tree = getattr(args, "tree", None)
    if tree:
        from ..source.trees import KERNEL_TREE_HINT, tree_problem
        problem = tree_problem(tree)
        if problem:
            raise UserError(f"--tree {tree}: {problem}; {KERNEL_TREE_HINT}")
    config = getattr(args, "config", None)
    if config:
        problem = _config_problem(config)
        if problem:
            raise UserError(f"--config {config}: {problem}; a config is a TOML file of [[waive]] entries "
                            "(rule or fingerprint, and a reason)")
    for folder in getattr(args, "rules", None) or ():
        if not os.path.isdir(folder):
            raise UserError(f"--rules {folder}: {'not a directory' if os.path.exists(folder) else 'no such directory'}"
                            "; rules are read from a folder of <area>/<name>.py files")


def _config_problem(path: str) -> Optional[str]:
    import tomllib
    if not os.path.exists(path):
        return "no such file"
    if os.path.isdir(path):
        return "is a directory"
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return f"is not valid TOML ({exc})"
    waive = data.get("waive", [])
    if not isinstance(waive, list) or not all(isinstance(w, dict) for w in waive):
        return "`waive` must be an array of tables ([[waive]])"
    return None


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


def read_input(args: argparse.Namespace, summary_only: bool = False):
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
    progress = progress_printer(args)
    return parse_inputs(args.inputs, repo_dir=getattr(args, "tree", None), progress=progress,
                        input_format=getattr(args, "input_format", "auto"), lookup=lookup,
                        summary_only=summary_only, expect=progress.expect if progress else None)


def nothing_read(args: argparse.Namespace, parsed) -> int:
    """Exit status 2 when no message could be read, saying so on stderr."""
    if parsed.messages:
        return 0
    print("reviewkit: no message could be read from the input", file=sys.stderr)
    return 2


def write_output(args: argparse.Namespace, text: Union[str, Iterable[str]], errors=(),
                 read_anything: bool = True) -> None:
    """Write the output (a string, or pieces of one written as they come, so a whole archive's
    JSON is never one string), and every error on stderr (one line each, then a count) whatever the format,
    so a CI log shows them. When nothing could be read, no -o file is written (only stdout is)."""
    report_errors(errors)
    if not args.output:
        for chunk in _batches(text):
            _write(sys.stdout, chunk)
        return
    if not read_anything:
        print(f"reviewkit: nothing could be read; {args.output} not written", file=sys.stderr)
        return
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "wb") as fh:
            for chunk in _batches(text):
                fh.write(chunk.encode("utf-8", "replace"))
    except OSError as exc:
        raise UserError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    if not args.quiet:
        print(f"reviewkit: wrote {args.output}", file=sys.stderr)


def _batches(text: Union[str, Iterable[str]], size: int = 1 << 20) -> Iterator[str]:
    if isinstance(text, str):
        yield text
        return
    batch: list[str] = []
    held = 0
    for piece in text:
        batch.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(batch)
            batch, held = [], 0
    if batch:
        yield "".join(batch)


_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


def report_errors(errors) -> None:
    """One line per error on stderr (input, where, what), then how many there were."""
    if not errors:
        return
    lines = []
    for e in errors:
        e = e if isinstance(e, dict) else e.as_dict()
        where = f" ({e['where']})" if e.get("where") else ""
        lines.append(_CONTROLS.sub(" ", f"reviewkit: {e['input']}{where}: {e['message']}"))
    n = len(lines)
    lines.append(f"reviewkit: {n} problem{'s' if n != 1 else ''} reading or analysing the input "
                 "(each is also in the JSON \"errors\")")
    _write(sys.stderr, "\n".join(lines) + "\n")


def _write(stream, text: str) -> None:
    """UTF-8 whatever the locale; text we read may hold lone surrogates (a utf-7 body,
    undecodable bytes of a tree file): those are replaced, never a UnicodeEncodeError."""
    data = text.encode("utf-8", "replace")
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a test's StringIO
        stream.write(data.decode("utf-8"))
        return
    stream.flush()
    buffer.write(data)
    buffer.flush()


class _Progress:
    """`reviewkit: 12,500/59,973 messages read, 4,100 msg/s, ETA 0:11` on one stderr line.

    Called with a running count, and with -1 when reading is done (to end the line);
    `expect(n)` gives the total when the input knows it (a public-inbox archive)."""

    def __init__(self) -> None:
        self.total: Optional[int] = None
        self.start = time.monotonic()
        self.shown = False

    def expect(self, total: int) -> None:
        self.total = total

    def __call__(self, count: int) -> None:
        if count < 0:
            if self.shown:
                print(file=sys.stderr)
            return
        self.shown = True
        rate = count / max(time.monotonic() - self.start, 1e-6)
        done = f"{count:,}/{self.total:,}" if self.total else f"{count:,}"
        eta = ""
        if self.total and rate > 0 and count <= self.total:
            left = int((self.total - count) / rate)
            eta = f", ETA {left // 60}:{left % 60:02d}"
        print(f"\rreviewkit: {done} messages read, {rate:,.0f} msg/s{eta}   ", end="", file=sys.stderr, flush=True)


def progress_printer(args: argparse.Namespace) -> Optional[_Progress]:
    """Progress on stderr for long reads, only when a person is watching."""
    if args.quiet or not sys.stderr.isatty():
        return None
    return _Progress()
