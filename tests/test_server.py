"""`reviewkit serve`: a lint answered by the server prints what a run in its own process prints."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewkit import server

ROOT = Path(__file__).resolve().parents[1]
PATCH = ROOT / "rules" / "patch" / "subject-prefix.bad.patch"
EXAMPLE = ROOT / "fixtures" / "example"


def _reviewkit(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


@pytest.fixture
def running(tmp_path):
    """A server on a socket of its own; yields (socket path, env for clients, stop() -> its log)."""
    path = str(tmp_path / "s.sock")
    env = dict(os.environ, REVIEWKIT_SOCKET=path, XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop(server.OFF_ENV, None)
    proc = subprocess.Popen([sys.executable, "-m", "reviewkit", "serve", "--idle", "120"], env=env,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while server._connect(path) is None:
        assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)

    def stop() -> str:
        assert _reviewkit("serve", "--stop", env=env).returncode == 0
        return proc.communicate(timeout=60)[1]
    yield path, env, stop
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _without_timings(text: str) -> dict:
    data = json.loads(text)
    data["stats"].pop("seconds_by_rule", None)
    return data


def test_a_served_lint_prints_what_a_local_run_prints(running):
    _, env, stop = running
    local_env = dict(env, **{server.OFF_ENV: "0"})
    cases = [("--format", "json", "--fail-on", "warning", str(PATCH)),  # findings: exit 1
             ("--format", "text", str(EXAMPLE)),           # the README's example
             ("--tree", "/no/such/tree", str(PATCH)),      # a usage error: exit 2, one line
             ("--format", "nope", str(PATCH)),             # argparse's own error
             ("--help",)]
    for args in cases:
        served, local = _reviewkit("lint", *args, env=env), _reviewkit("lint", *args, env=local_env)
        assert served.returncode == local.returncode, args
        assert served.stderr == local.stderr, args
        if "json" in args:
            assert _without_timings(served.stdout) == _without_timings(local.stdout)
        else:
            assert served.stdout == local.stdout, args
    assert f"stopped after {len(cases)} runs" in stop()  # the server answered every one


def test_a_served_run_uses_the_callers_directory_and_environment(running, tmp_path):
    _, env, stop = running
    work = tmp_path / "work"
    work.mkdir()
    (work / "p.patch").write_bytes(PATCH.read_bytes())
    done = _reviewkit("lint", "p.patch", "-o", "out.json", env=dict(env, NO_COLOR="1"), cwd=work)
    assert done.returncode == 0 and json.loads((work / "out.json").read_text())["findings"]
    assert "stopped after 1 runs" in stop()


def test_run_request_puts_the_process_back_as_it_was(tmp_path):
    before_env, before_cwd, before_out = dict(os.environ), os.getcwd(), sys.stdout
    request = {"argv": ["lint", "--no-cache", "--format", "json", str(PATCH)], "cwd": str(tmp_path),
               "env": {"PATH": os.environ.get("PATH", ""), "REVIEWKIT_ONLY_THERE": "1"}, "tty": [False, False]}
    code, out, err = server.run_request(request)
    assert code == 0 and json.loads(out)["findings"] and err == b""
    assert dict(os.environ) == before_env  # --no-cache set REVIEWKIT_NO_CACHE for that run only
    assert os.getcwd() == before_cwd and sys.stdout is before_out


def test_a_stale_socket_means_a_local_run(tmp_path):
    path = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens
    env = dict(os.environ, REVIEWKIT_SOCKET=str(path))
    env.pop(server.OFF_ENV, None)
    done = _reviewkit("lint", "--format", "json", str(PATCH), env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["findings"]


def test_no_server_to_stop(tmp_path):
    done = _reviewkit("serve", "--stop", "--socket", str(tmp_path / "none.sock"))
    assert done.returncode == 1 and "no server answers" in done.stderr


def test_a_changed_source_file_is_seen(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("x = 1\n")
    sources = {str(f): os.stat(f).st_mtime_ns}
    assert not server._changed(sources)
    os.utime(f, ns=(0, sources[str(f)] + 1))
    assert server._changed(sources)
    f.unlink()
    assert server._changed(sources)
