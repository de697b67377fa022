"""Keep reviewkit loaded between runs: while a server runs, `reviewkit lint` (same user) is answered by
it, with the same output and exit status, without Python's imports, the rule pack's loading and the
parse of the tree's files (kept by content) being paid again. One run at a time; REVIEWKIT_SERVER=0
makes a lint run in its own process."""
from __future__ import annotations

import argparse
import sys

from .common import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--socket", metavar="PATH",
                   help="the Unix socket (default: $REVIEWKIT_SOCKET, else $XDG_RUNTIME_DIR/reviewkit/serve.sock, "
                        "else in the cache folder)")
    p.add_argument("--idle", type=float, default=3600, metavar="SECONDS",
                   help="stop after this long without a request (default 3600; 0: never)")
    p.add_argument("--stop", action="store_true", help="stop the server that answers on the socket")


def run(args: argparse.Namespace) -> int:
    from ..server import serve, socket_path, stop
    path = args.socket or socket_path()
    if args.stop:
        if stop(path):
            print(f"reviewkit: asked the server on {path} to stop", file=sys.stderr)
            return 0
        print(f"reviewkit: no server answers on {path}", file=sys.stderr)
        return 1
    try:
        return serve(path, args.idle, log=lambda text: print(text, file=sys.stderr, flush=True))
    except (RuntimeError, OSError) as exc:
        raise UserError(f"serve: {exc}")
