"""`reviewkit summarize`: the JSON contract, text and Markdown renderings, exit codes."""
from __future__ import annotations

import argparse
import contextlib
import io
import json
from types import SimpleNamespace

from reviewkit.commands import summarize as summarize_cmd
from reviewkit.render import summary_markdown

from tests.conftest import FIXTURES

REVIEW = FIXTURES / "review"
INPUTS = [str(REVIEW / "ksm-merge-fail-v1.mbox"), str(REVIEW / "ksm-merge-fail-v2.mbox")]


def run(*args):
    """The subcommand as cli.main dispatches it (in-process: no other subcommand's imports involved)."""
    parser = argparse.ArgumentParser(prog="reviewkit summarize")
    summarize_cmd.add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = summarize_cmd.run(parser.parse_args(list(args)))
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def test_registered_in_the_cli():
    import ast
    from pathlib import Path
    tree = ast.parse((Path(summarize_cmd.__file__).parents[1] / "cli.py").read_text())
    commands = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    and any(getattr(t, "id", "") == "COMMANDS" for t in n.targets))
    assert any(getattr(k, "value", None) == "summarize" for k in commands.keys)


def test_json_contract():
    r = run(*INPUTS, "--format", "json", "--tree", str(REVIEW))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"version", "errors", "series", "histories", "stats"} <= set(data) and data["errors"] == []
    contract = {"participants", "trailers", "open_questions", "action_items", "verdicts", "versions"}
    v1, v2 = data["series"]
    for scope in [v1, v2, *v1["patches"], *v2["patches"]]:
        assert contract <= set(scope)
    t = v2["patches"][1]["trailers"][0]
    assert {"key", "person", "version", "status", "source", "msgid"} <= set(t)
    assert (t["key"], t["person"]["name"], t["version"], t["status"]) == ("Reviewed-by", "Barbara Liskov", 2,
                                                                        "picked-up")
    (q,) = v1["open_questions"]
    assert q["asker"]["name"] == "Barbara Liskov" and q["why"]["rule"] == "question/ends-with-question-mark"
    assert q["anchor"]["path"] == "include/linux/ksm.h"
    verdict = next(v for v in v1["verdicts"] if v["kind"] == "nack")
    assert verdict["formal"] is False and verdict["person"]["name"] == "Dennis Ritchie" and verdict["version"] == 1
    item = next(a for a in v1["action_items"] if a["kind"] == "commitment" and a["target_version"] == 2)
    assert item["next_version"]["status"] == "addressed" and item["responds_to"]["person"]["name"] == "Barbara Liskov"
    assert v2["versions"]["previous"] == {"series": 0, "version": 1, "how": ["parse", "patch-titles", "subject"],
                                          "score": 1.0}
    assert v1["versions"]["next"] == {"series": 1, "version": 2}
    assert v2["versions"]["changelog"][0]["items"][0] == "Use atomic_long_t for the counters (Barbara)"
    interdiff = v2["patches"][0]["versions"]["previous"]["interdiff"]
    assert {f["path"]: f["status"] for f in interdiff} == {"include/linux/ksm.h": "changed", "mm/ksm.c": "changed"}
    dennis = next(p for p in v1["participants"] if p["name"] == "Dennis Ritchie")
    assert dennis["roles"] == ["reviewer", "maintainer"]
    assert data["histories"] == [{"index": 0, "title": "mm/ksm: count why pages fail to merge", "series": [0, 1],
                                  "versions": ["v1", "v2"]}]


def test_text_output(tmp_path):
    out = tmp_path / "summary.txt"
    r = run(*INPUTS, "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert '== "mm/ksm: count why pages fail to merge": v1 -> v2' in text
    assert "open questions (1):" in text
    assert '? Barbara Liskov on 1/2 at include/linux/ksm.h:28: "Does KSM_FAIL_NR need to be visible' in text
    assert "verdict on the whole series: ack (informal, no trailer) by Ken Thompson" in text
    assert "Reviewed-by: Barbara Liskov (picked-up)" in text
    assert "-> v2: addressed" in text and "-> v2: not-addressed" in text
    assert "interdiff mm/ksm.c: changed +3/-3 in try_to_merge_one_page()" in text


def test_markdown_output():
    r = run(*INPUTS, "--format", "markdown")
    assert r.returncode == 0, r.stderr
    md = r.stdout
    assert md.startswith("# Review summary")
    assert "## mm/ksm: count why pages fail to merge" in md and "#### Open questions (1)" in md
    assert "| 2/2 | mm/ksm: expose merge failure counters in sysfs |" in md
    assert "<details><summary>Answered questions (2)</summary>" in md


def test_markdown_escapes_mail_text():
    assert summary_markdown.esc("see [this](javascript:alert(1)) <img src=x>") == \
        "see \\[this\\]\\(javascript:alert\\(1\\)\\) \\<img src=x\\>"


def test_nothing_read_exits_2(tmp_path):
    empty = tmp_path / "empty.mbox"
    empty.write_text("")
    r = run(str(empty), "--format", "json")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert json.loads(r.stdout)["series"] == []


def test_tree_without_maintainers_is_an_error_entry_not_a_failure(tmp_path):
    (tmp_path / "mm").mkdir()  # a kernel tree, only without MAINTAINERS
    r = run(*INPUTS, "--format", "json", "--tree", str(tmp_path))
    assert r.returncode == 0, r.stderr
    (err,) = json.loads(r.stdout)["errors"]
    assert err["where"] == "MAINTAINERS" and "no MAINTAINERS" in err["message"]
