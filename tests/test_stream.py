"""No loss on the streaming path: `parse --format json` (patch summaries, bodies not kept,
written piece by piece) and `--format jsonl` carry the same content as the full parse, on
every group of the corpus (lore threads, patchwork, stable-mm-6.12, mm-patches-6.1, b4, git),
and on a public-inbox archive built from lore threads."""
from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout

import pygit2

from reviewkit.cli import main
from reviewkit.pipeline import parse_inputs
from reviewkit.render.data import parse_data
from reviewkit.render.json import JSONL_RECORDS, jsonl, stream


def full_json(inputs: list[str]) -> dict:
    """The parse output as it was before streaming: every patch whole, every body kept."""
    return json.loads(json.dumps(parse_data(parse_inputs(inputs)), indent=2, ensure_ascii=False))


def cli(*args: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        main(["parse", "-q", *args])
    return out.getvalue()


def from_jsonl(text: str) -> dict:
    """Join JSON Lines back into the JSON document, by record kind."""
    lines = [json.loads(line) for line in text.splitlines()]
    head = lines[0]
    assert head.pop("record") == "parse"
    data = {**head, **{key: [] for key, _ in JSONL_RECORDS}}
    kinds = {record: key for key, record in JSONL_RECORDS}
    for obj in lines[1:-1]:
        data[kinds[obj.pop("record")]].append(obj)
    assert lines[-1]["record"] == "stats"
    data["stats"] = lines[-1]["stats"]
    return data


def corpus_inputs(corpus) -> list[list[str]]:
    lore = sorted(str(p) for p in (corpus / "lore-threads").rglob("*.mbox"))
    series = sorted(str(p) for p in (corpus / "patchwork" / "series").glob("*.mbox"))
    mail = sorted(str(p) for p in (corpus / "patchwork" / "mail").glob("*.mbox"))
    stable = [str(corpus / "stable-mm-6.12" / "patches")]
    backports = [str(corpus / "mm-patches-6.1" / "series-a"), str(corpus / "mm-patches-6.1" / "series-b")]
    b4 = sorted(str(p) for p in (corpus / "b4").glob("*.mbox"))
    git = sorted(str(p) for p in (corpus / "git").rglob("*") if p.is_file() and p.suffix != ".json"
                 and not re.search(r"/(info|msg|patch)\d", str(p)))
    return [lore, series, mail, stable, backports, b4, git]


def test_streamed_json_and_jsonl_equal_the_full_parse(corpus):
    for inputs in corpus_inputs(corpus):
        assert inputs
        before = full_json(inputs)
        assert before["messages"] and before["threads"]
        streamed = cli("--format", "json", *inputs)
        assert json.loads(streamed) == before
        assert from_jsonl(cli("--format", "jsonl", *inputs)) == before


def test_stream_writes_what_json_dumps_writes(corpus):
    inputs = corpus_inputs(corpus)[1]  # the patchwork series
    data = parse_data(parse_inputs(inputs))
    assert "".join(stream(data)) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    lazy = parse_data(parse_inputs(inputs), lazy=True)
    assert "".join(stream(lazy)) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert "".join(stream({})) == "{}\n"


def build_public_inbox(path, mails: list[bytes]) -> None:
    """public-inbox v2 layout, one epoch: one commit per mail, the mail in blob `m`."""
    repo = pygit2.init_repository(str(path / "git" / "0.git"), bare=True)
    sig = pygit2.Signature("t", "t@example.invalid", 0, 0)
    parents: list = []
    for mail in mails:
        tb = repo.TreeBuilder()
        tb.insert("m", repo.create_blob(mail), pygit2.enums.FileMode.BLOB)
        parents = [repo.create_commit(None, sig, sig, "m", tb.write(), parents)]
    repo.references.create("refs/heads/master", parents[0])
    repo.set_head("refs/heads/master")


def _without_sources(data: dict) -> dict:
    for m in data["messages"]:
        m.pop("source")
    data.pop("inputs")
    data.pop("errors")
    return data


def test_public_inbox_archive_parses_like_its_mbox(corpus, tmp_path):
    """Bodies read back from git blobs give the same messages, patches, threads and series."""
    mboxes = sorted((corpus / "lore-threads").rglob("*.mbox"))[:6]
    mails = []
    for f in mboxes:
        for chunk in re.split(rb"(?m)^From mboxrd@z [^\n]*\n", f.read_bytes()):
            if chunk.strip():
                mails.append(re.sub(rb"(?m)^>(>*From )", rb"\1", chunk).rstrip(b"\n") + b"\n")
    build_public_inbox(tmp_path, mails)
    via_mbox = full_json([str(f) for f in mboxes])
    via_archive = json.loads(cli("--format", "json", str(tmp_path)))
    assert via_archive["stats"]["messages_read"] == len(mails)
    assert via_archive["patches"] and via_archive["series"]
    assert from_jsonl(cli("--format", "jsonl", str(tmp_path))) == via_archive
    assert _without_sources(via_archive) == _without_sources(via_mbox)


def test_progress_is_quiet_when_stderr_is_not_a_terminal(corpus, capfd):
    inputs = corpus_inputs(corpus)[1]  # the patchwork series
    out = io.StringIO()
    with redirect_stdout(out):
        main(["parse", "--format", "jsonl", *inputs])
    assert "msg/s" not in capfd.readouterr().err


def test_progress_line_counts_rate_and_eta(capsys):
    from reviewkit.commands.common import _Progress
    show = _Progress()
    show.expect(60000)
    show(500)
    show(-1)
    err = capsys.readouterr().err
    assert re.search(r"500/60,000 messages read, [\d,]+ msg/s, ETA \d+:\d\d", err), err
    assert err.endswith("\n")
