"""`reviewkit serve`: keep reviewkit loaded between runs, for a lint on every save.

A `reviewkit lint` started while a server of the same user runs hands its command line,
working directory and environment to the server over a Unix socket and prints what comes
back: the same output and exit status as a run in its own process, without paying again for
the imports, the rule pack and the parse of the tree's files (kept by content hash). Without a
server, or when it cannot answer, the command runs in its own process as always.

The client side (`run_remote`) imports nothing but the standard library's socket and json, so
asking a server costs about a Python start.
"""
from __future__ import annotations

import json
import os
import socket
import struct
import sys
from typing import Optional

SERVED = ("lint",)                 # commands a server runs; the others always run in-process
SOCKET_ENV = "REVIEWKIT_SOCKET"    # the socket to use instead of socket_path()'s default
OFF_ENV = "REVIEWKIT_SERVER"       # "0": never ask a server
_HEADER = struct.Struct("!cI")     # frame: a tag byte and the payload's length
MAX_REQUEST = 16 * 1024 * 1024     # a command line and an environment, not data

# Frame tags. Client -> server: q (request: JSON), s (stop). Server -> client: 1 (stdout bytes),
# 2 (stderr bytes), x (exit status), r (refused: run it yourself).


def socket_path() -> str:
    explicit = os.environ.get(SOCKET_ENV)
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "reviewkit", "serve.sock")
    from .code.diskcache import cache_root
    return os.path.join(cache_root(), f"serve-{os.getuid()}.sock")


def _send(sock: socket.socket, tag: bytes, payload: bytes = b"") -> None:
    sock.sendall(_HEADER.pack(tag, len(payload)) + payload)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket, limit: int = 1 << 31) -> tuple[bytes, bytes]:
    tag, size = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > limit:
        raise ValueError(f"a frame of {size} bytes is over the limit of {limit}")
    return tag, _recv_exact(sock, size)


def _connect(path: str) -> Optional[socket.socket]:
    if not os.path.exists(path):  # the common case, no server: one stat
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:  # a stale socket (the server is gone), or not ours
        sock.close()
        return None
    return sock


def run_remote(argv: list) -> Optional[int]:
    """The exit status of `argv` run by a server, or None when no server can run it (run it here)."""
    if os.environ.get(OFF_ENV) == "0" or "-" in argv:  # stdin is not handed over
        return None
    sock = _connect(socket_path())
    if sock is None:
        return None
    # stderr is never a terminal there: a progress line would only arrive when the run is over
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "tty": [sys.stdout.isatty(), False]}
    written = False
    with sock:
        try:
            _send(sock, b"q", json.dumps(request).encode())
            while True:
                tag, payload = _recv(sock)
                if tag == b"x":
                    return int(payload)
                if tag == b"r":
                    return None
                stream = sys.stdout if tag == b"1" else sys.stderr
                stream.flush()
                stream.buffer.write(payload)
                stream.buffer.flush()
                written = written or bool(payload)
        except (OSError, ValueError, struct.error):
            if not written:
                return None  # nothing shown yet: run it here instead
            print("reviewkit: the server stopped in the middle of the run; run again with "
                  f"{OFF_ENV}=0 to run without it", file=sys.stderr)
            return 3


def stop(path: Optional[str] = None) -> bool:
    """Ask the server at `path` to stop; False when none answers."""
    sock = _connect(path or socket_path())
    if sock is None:
        return False
    with sock:
        try:
            _send(sock, b"s")
            _recv(sock)
        except (OSError, ValueError, struct.error):
            pass
    return True


# --- the server ---------------------------------------------------------------------------------

class _Captured:
    """sys.stdout / sys.stderr during a served run: text and bytes go to one buffer; isatty() is
    the client's, so colour and progress follow the user's terminal as in a local run."""

    def __init__(self, tty: bool):
        import io
        self.buffer = io.BytesIO()
        self._tty = bool(tty)
        self.encoding = "utf-8"

    def write(self, text: str) -> int:
        self.buffer.write(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self._tty

    def fileno(self) -> int:
        raise OSError("a served run's output is not a file")


def preload() -> None:
    """Import what lint uses and load the rule pack once, so that a served run pays neither."""
    import importlib

    from .commands import lint
    from .rules.loader import load_rules
    for module in ("reviewkit.code.analysis", "reviewkit.rules.engine", "reviewkit.rules.waivers",
                   "reviewkit.rules.checkpatch", "reviewkit.render.lint_data",
                   *(f"reviewkit.render.{m}" for m, _ in lint.RENDERERS.values())):
        importlib.import_module(module)
    load_rules()


def _own_sources() -> dict:
    """mtime of every reviewkit module loaded: a server whose code changed on disk stops serving."""
    top = os.path.dirname(os.path.abspath(__file__))
    out = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if path.startswith(top):
            try:
                out[path] = os.stat(path).st_mtime_ns
            except OSError:
                continue
    return out


def _changed(sources: dict) -> bool:
    for path, mtime in sources.items():
        try:
            if os.stat(path).st_mtime_ns != mtime:
                return True
        except OSError:
            return True
    return False


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def run_request(request: dict) -> tuple[int, bytes, bytes]:
    """Run one command line as the client would have: its environment, directory and terminal; then
    put this process back as it was. (exit status, stdout bytes, stderr bytes)."""
    from .cli import main
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_out, saved_err = sys.stdout, sys.stderr
    tty = (list(request.get("tty") or []) + [False, False])[:2]
    out, err = _Captured(tty[0]), _Captured(tty[1])
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.stdout, sys.stderr = out, err
        try:
            code = main(list(request["argv"]))
        except SystemExit as exc:  # argparse's --help and usage errors
            code = _exit_status(exc)
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return code, out.buffer.getvalue(), err.buffer.getvalue()


def _peer_is_us(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    return uid == os.getuid()


def _listen(path: str) -> socket.socket:
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if os.path.exists(path):
        if _connect(path) is not None:
            raise RuntimeError(f"a server already answers on {path} (`reviewkit serve --stop` stops it)")
        os.unlink(path)  # stale: its server is gone
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)  # the socket is ours alone from the start
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(8)
    return sock


def serve(path: str, idle: float, log=print) -> int:
    """Answer requests one at a time until stopped, idle for `idle` seconds, or our code changes."""
    preload()
    sources = _own_sources()
    listener = _listen(path)
    listener.settimeout(idle if idle > 0 else None)
    log(f"reviewkit: serving lint on {path} (stop: reviewkit serve --stop)")
    served = 0
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                log(f"reviewkit: idle for {idle:g} s, stopping after {served} runs")
                return 0
            with conn:
                conn.settimeout(None)
                try:
                    if not _peer_is_us(conn):
                        continue
                    tag, payload = _recv(conn, MAX_REQUEST)
                    if tag == b"s":
                        _send(conn, b"x", b"0")
                        log(f"reviewkit: stopped after {served} runs")
                        return 0
                    if _changed(sources):
                        _send(conn, b"r")
                        log("reviewkit: reviewkit's code changed on disk; stopping (start the server again)")
                        return 0
                    code, out, err = run_request(json.loads(payload))
                    served += 1
                    _send(conn, b"2", err)
                    _send(conn, b"1", out)
                    _send(conn, b"x", str(code).encode())
                except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
                    log(f"reviewkit: a request failed ({type(exc).__name__}: {exc}); serving on")
    finally:
        listener.close()
        try:
            os.unlink(path)
        except OSError:
            pass
