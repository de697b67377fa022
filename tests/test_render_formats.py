"""Each output format's contract: SARIF against the schema, email threading, Markdown escaping, the b4 protocol,
terse lines, the JSON keys, format choice from -o, exit codes, and `reviewkit report`."""
from __future__ import annotations

import email
import email.policy
import json
import mailbox
import re
import subprocess
import sys
import urllib.parse

import pytest

from reviewkit.render import b4check, email_reply, markdown, sarif

from tests.conftest import FIXTURES, ROOT, SHARED
from reviewkit.render.fmt import by_patch
from tests.test_render_golden import fixture_report

SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"
BUG = [str(ROOT / "rules/mm/no-new-bug-on.bad.patch"), "--tree", str(ROOT / "rules/mm/no-new-bug-on.tree")]
HOSTILE = str(FIXTURES / "render" / "hostile-series.mbox")
CLEAN = str(FIXTURES / "mail" / "mm-swap-series.mbox")


def run(*args, stdin=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], capture_output=True, text=True, timeout=300,
                          input=stdin, cwd=cwd or ROOT)


def sarif_validator():
    jsonschema = pytest.importorskip("jsonschema")
    if not SCHEMA.is_file():
        pytest.skip(f"{SCHEMA} is absent (the SARIF schema lives in ../shared/schemas)")
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def assert_valid_sarif(doc: dict) -> None:
    errors = sorted(sarif_validator().iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


# -- SARIF ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bug-on", "hostile", "clean"])
def test_sarif_is_valid_against_the_schema(name):
    assert_valid_sarif(sarif.sarif(fixture_report(name)))


def test_the_schema_check_would_catch_a_broken_sarif():
    doc = sarif.sarif(fixture_report("bug-on"))
    doc["runs"][0]["results"][0]["level"] = "fatal"  # not a SARIF level
    assert list(sarif_validator().iter_errors(doc))


def test_sarif_content_for_code_scanning():
    data = fixture_report("hostile")
    run_ = sarif.sarif(data)["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r["id"] for r in data["rules"]]
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
    by_rule = {r["ruleId"]: r for r in run_["results"]}
    bug = by_rule["mm/no-new-bug-on"]
    assert rules[bug["ruleIndex"]]["id"] == "mm/no-new-bug-on"
    loc = bug["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "mm/evil.c" and loc["region"]["startLine"] == 14
    assert loc["region"]["snippet"]["text"].startswith("BUG_ON(")
    fp = next(f["fingerprint"] for f in data["findings"] if f["rule"] == "mm/no-new-bug-on")
    assert bug["partialFingerprints"]["reviewkit/v1"] == fp
    assert re.fullmatch(r"[0-9a-f]{16}:1", bug["partialFingerprints"][sarif.LINE_HASH])
    assert "primaryLocationLineHash" not in bug["partialFingerprints"]  # upload-sarif computes GitHub's own
    meta = rules[bug["ruleIndex"]]
    assert meta["properties"]["precision"] == "high" and "correctness" in meta["properties"]["tags"]
    assert meta["help"]["markdown"].count("**") > meta["help"]["text"].count("**") == 0
    sob = by_rule["patch/signed-off-by"]  # commit message: the input file and the patch as a logical location
    assert sob["level"] == "error"
    assert sob["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "fixtures/render/hostile-series.mbox"
    assert "second" in sob["locations"][0]["logicalLocations"][0]["name"]


def test_sarif_uris_are_percent_encoded_relative_to_srcroot():
    data = fixture_report("bug-on")
    f = data["findings"][0]
    data["findings"] = [dict(f, path="drivers/a b/#x%y/é.c",
                             related=[{"path": "mm/ü.c", "line": 3, "note": "here"}])]
    (res,) = sarif.sarif(data)["runs"][0]["results"]
    art = res["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": "drivers/a%20b/%23x%25y/%C3%A9.c", "uriBaseId": "%SRCROOT%"}
    assert urllib.parse.unquote(art["uri"]) == "drivers/a b/#x%y/é.c"
    assert res["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "mm/%C3%BC.c"


def test_sarif_line_hash_follows_the_code_not_the_line_number():
    data = fixture_report("bug-on")
    f = data["findings"][0]
    data["findings"] = [f, dict(f, line=f["line"] + 40, fingerprint="other"), dict(f, line=f["line"] + 3,
                                                                                   snippet="  other();")]
    hashes = [r["partialFingerprints"][sarif.LINE_HASH] for r in sarif.sarif(data)["runs"][0]["results"]]
    assert hashes[0].endswith(":1") and hashes[1] == hashes[0][:-1] + "2"   # same code again: numbered
    assert hashes[2].split(":")[0] != hashes[0].split(":")[0]
    moved = dict(fixture_report("bug-on"))
    moved["findings"] = [dict(f, line=f["line"] + 100)]
    assert sarif.sarif(moved)["runs"][0]["results"][0]["partialFingerprints"][sarif.LINE_HASH] == hashes[0]


def test_sarif_keeps_within_githubs_limits(monkeypatch):
    monkeypatch.setattr(sarif, "MAX_RESULTS", 3)
    monkeypatch.setattr(sarif, "MAX_LOCATIONS", 5)
    data = fixture_report("hostile")
    note, error = (dict(data["findings"][0], severity=s) for s in ("note", "error"))
    many = [{"path": f"mm/f{i}.c", "line": i + 1, "note": "also"} for i in range(20)]
    data["findings"] = [note, note, dict(error, related=many), note, error]
    doc = sarif.sarif(data)
    run_ = doc["runs"][0]
    assert [r["level"] for r in run_["results"]] == ["note", "error", "error"]   # the most severe kept, in order
    assert len(run_["results"][1]["relatedLocations"]) == 4                      # + its own location = 5
    texts = [n["message"]["text"] for n in run_["invocations"][0]["toolExecutionNotifications"]]
    assert any("2 of 5 results left out" in t for t in texts)
    assert any("more than 5 locations" in t for t in texts)
    assert_valid_sarif(doc)


def test_sarif_waived_findings_are_suppressed():
    data = fixture_report("bug-on")
    waived = dict(data["findings"][0], waived="known, fixed in v2")
    doc = sarif.sarif(dict(data, findings=[], waived=[waived]))
    (res,) = doc["runs"][0]["results"]
    assert res["suppressions"] == [{"kind": "external", "justification": "known, fixed in v2"}]
    assert_valid_sarif(doc)


# -- email ------------------------------------------------------------------------------------------

def test_email_replies_parse_and_thread():
    data = fixture_report("hostile")
    box = email_reply.render(data)
    msgs = [email.message_from_string(part, policy=email.policy.default)
            for part in ("From " + p for p in box.split("\nFrom ")[0:1] + box.split("\nFrom ")[1:])]
    patches = {p["msgid"]: p for p in data["report"]["patches"]}
    assert len(msgs) == 2
    for msg in msgs:
        parent = msg["In-Reply-To"]
        assert parent in patches
        assert msg["References"].split()[-1] == parent
        assert msg["References"].split()[0] == "<cover-evil@example.org>"
        assert msg["Subject"] == "Re: " + patches[parent]["subject"]
        assert msg["To"].addresses[0].addr_spec == "evil@example.org"
        assert msg.get_content_type() == "text/plain" and not msg.is_multipart()
        assert msg["Message-ID"] is None and msg["Date"] is None  # git send-email adds them
        body = msg.get_content()
        assert "<html" not in body.lower()
    first = msgs[0].get_content()
    # the hunk is quoted with "> " and trimmed, the comment sits right under the offending line
    quoted = [ln for ln in first.split("\n") if ln.startswith(">")]
    assert "> +\tBUG_ON(!strcmp(name, \"<script>alert(1)</script>\"));" in quoted
    assert "> [...]" in quoted and "> \t\tpr_info(\"<b>%s</b>\\n\", name);" not in quoted
    after = first.split("> +\tBUG_ON(!strcmp(name, \"<script>alert(1)</script>\"));\n", 1)[1]
    assert after.lstrip().startswith("BUG_ON() crashes the kernel")
    assert "[mm/no-new-bug-on, warning, id " in after
    second = msgs[1].get_content()
    assert "> No sign-off here" in second and "[patch/signed-off-by, error, id " in second
    # reply-all: the patch's Cc is kept, the author is not repeated in Cc
    assert "cc@example.org" in str(msgs[0]["Cc"]) and "evil@example.org" not in str(msgs[0]["Cc"])


def test_email_mbox_reads_with_mailbox(tmp_path):
    path = tmp_path / "review.mbox"
    r = run("lint", HOSTILE, "--format", "email", "-o", str(path))
    assert r.returncode == 1, r.stderr
    msgs = list(mailbox.mbox(str(path)))
    assert [m["In-Reply-To"] for m in msgs] == ["<patch1-evil@example.org>", "<patch2-evil@example.org>"]


def test_email_nothing_to_say_is_empty():
    assert email_reply.render(fixture_report("clean")) == ""


# -- Markdown ---------------------------------------------------------------------------------------

def test_markdown_escapes_mail_text():
    md = markdown.render(fixture_report("hostile"))
    outside_code = "".join(part for i, part in enumerate(md.split("`")) if i % 2 == 0)
    assert "<script" not in outside_code and "<img" not in outside_code
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert md.count("<details>") == md.count("</details>") == 2
    assert markdown.text("a | b [x](y) *z* _w_ snake_case") == r"a \| b \[x\](y) \*z\* \_w\_ snake_case"
    assert markdown.code("a ``b`` c") == "```a ``b`` c```"
    assert markdown.inline("use `x<y>` and <b>") == "use `x<y>` and &lt;b&gt;"


# -- b4 and terse ---------------------------------------------------------------------------------

def test_b4_check_protocol_on_one_mail_from_stdin():
    mail = (ROOT / "rules/mm/no-new-bug-on.bad.patch").read_text()
    r = run("lint", "--format", "b4", "-", "--tree", str(ROOT / "rules/mm/no-new-bug-on.tree"), stdin=mail)
    assert r.returncode in (0, 1), r.stderr
    (res,) = json.loads(r.stdout)
    assert set(res) == {"tool", "status", "summary", "url", "details"}
    assert res["tool"] == "reviewkit" and res["status"] == "warn"
    assert res["summary"].startswith("1 warning") and "mm/demo_rmap.c:13: WARNING:mm/no-new-bug-on:" in res["details"]


def test_b4_statuses():
    data = fixture_report("hostile")
    assert b4check.results(data)[0]["status"] == "fail"
    assert b4check.results(fixture_report("clean"))[0]["status"] == "pass"
    cover_only = dict(data, findings=[], resolved=[], waived=[], patches={}, errors=[])
    assert b4check.results(cover_only) == []  # nothing to report on a mail without a diff
    unreadable = dict(cover_only, errors=[{"input": "-", "where": "", "message": "no messages found"}])
    assert b4check.results(unreadable)[0]["status"] == "warn"     # not checked: not a fault of the patch
    notes_only = dict(data, findings=[dict(f, severity="note") for f in data["findings"]])
    assert b4check.results(notes_only)[0]["status"] == "warn"     # b4 rates checkpatch's CHECK as warn
    warnings_only = dict(data, findings=[dict(f, severity="warning") for f in data["findings"]])
    assert b4check.results(warnings_only)[0]["status"] == "warn"


def b4_prep_flags(output: str) -> list:
    """How `b4 prep --check` rates a check command's stdout lines (b4 `LoreMessage.run_local_check`):
    "fail" when "ERROR:" is anywhere in the line, else "warning"."""
    return ["fail" if "ERROR:" in line else "warning" for line in output.strip().split("\n") if output.strip()]


def b4_review_flags(output: str) -> list:
    """How b4's review checks rate checkpatch --terse lines (b4 `review/checks.py`): ERROR: fail,
    WARNING:/CHECK: warn, anything else continues the previous line."""
    out: list = []
    for raw in output.strip().split("\n"):
        line = raw[2:] if raw.startswith("-:") else raw
        if "ERROR:" in line:
            out.append("fail")
        elif "WARNING:" in line or "CHECK:" in line:
            out.append("warn")
    return out


@pytest.mark.parametrize("name", ["bug-on", "hostile", "clean"])
def test_terse_through_b4s_rules_error_is_fail_the_rest_warn(name):
    data = fixture_report(name)
    data["findings"] = data["findings"] + [dict(data["findings"][0] if data["findings"] else {
        "rule": "mm/x", "path": "mm/x.c", "line": 1, "function": None, "patch": None}, severity=sev,
        message=f"a {sev} that quotes pr_err(\"ERROR: x\")") for sev in ("note", "warning")]
    data["errors"] = [{"input": "x.mbox", "where": "message 1", "message": "hunk 1 does not apply"}]
    text = b4check.terse(data)
    want = [("fail" if f["severity"] == "error" else "warn") for _, _, items in by_patch(data, data["findings"])
            for f in items] + ["warn"]
    assert b4_review_flags(text) == want
    assert b4_prep_flags(text) == [{"warn": "warning"}.get(w, w) for w in want]
    assert len(text.strip().split("\n")) == len(want)             # one line each


def test_terse_lines_look_like_checkpatch():
    lines = b4check.terse(fixture_report("hostile")).splitlines()
    assert lines[0].startswith("mm/evil.c:14: WARNING:mm/no-new-bug-on: BUG_ON() crashes")
    assert lines[1].startswith("ERROR:patch/signed-off-by: no Signed-off-by")
    assert all(("ERROR:" in ln) or ("WARNING:" in ln) or ("CHECK:" in ln) for ln in lines)


# -- JSON, formats, exit codes --------------------------------------------------------------------

def test_json_keys_per_contract():
    r = run("lint", *BUG, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"version", "errors", "findings", "resolved", "stats", "patches", "rules"} <= set(data)
    assert "report" not in data
    for f in data["findings"] + data["resolved"]:
        assert {"rule", "severity", "message", "path", "line", "function", "patch", "fingerprint", "end_line",
                "snippet", "suggestion", "confidence", "related"} <= set(f)
    assert data["findings"][0]["severity"] in ("error", "warning", "note")
    (p,) = data["patches"].values()
    assert {"subject", "author", "title", "source"} <= set(p)
    assert all("doc" in r and "summary" in r for r in data["rules"])


def test_exit_codes(tmp_path):
    assert run("lint", CLEAN, "--format", "json").returncode == 0
    assert run("lint", HOSTILE, "--format", "json").returncode == 1  # an error finding
    assert run("lint", HOSTILE, "--fail-on", "never", "--format", "sarif").returncode == 0
    assert run("lint", *BUG).returncode == 0                          # a warning is below --fail-on error
    assert run("lint", *BUG, "--fail-on", "warning").returncode == 1
    bad = run("lint", str(tmp_path / "missing.mbox"), "--format", "json")
    assert bad.returncode == 2 and json.loads(bad.stdout)["errors"]
    assert run("lint", CLEAN, "--format", "nonsense").returncode == 2
    for fmt in ("text", "json", "sarif", "markdown", "email", "b4", "terse", "html"):
        assert run("lint", str(tmp_path / "missing.mbox"), "--format", fmt, "-o", str(tmp_path / f"x.{fmt}")
                   ).returncode == 2, fmt


def test_format_from_output_extension(tmp_path):
    for name, check in (("r.sarif", lambda t: json.loads(t)["version"] == "2.1.0"),
                        ("r.md", lambda t: t.startswith("### reviewkit:")),
                        ("r.html", lambda t: t.startswith("<!DOCTYPE html>")),
                        ("r.txt", lambda t: "findings" in t)):
        out = tmp_path / name
        r = run("lint", *BUG, "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert check(out.read_text()), name


def test_text_has_no_colour_unless_a_terminal():
    r = run("lint", *BUG)
    assert "\033[" not in r.stdout and "mm/demo_rmap.c:13" in r.stdout


def test_report_command(tmp_path):
    r = run("report", CLEAN, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "reports" / "mm-swap-series.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and 'id="summary"' in page
    r = run("report", HOSTILE, "-o", "-")
    assert r.returncode == 1 and r.stdout.startswith("<!DOCTYPE html>")
    assert run("report", str(tmp_path / "missing.mbox"), "-o", str(tmp_path / "m.html")).returncode == 2


def test_very_long_lines_are_not_highlighted():
    """Pygments backtracks for minutes on a 200 kB line: such hunks are shown plain."""
    from reviewkit.render.html import MAX_HIGHLIGHT_LINE, highlight_hunk
    long = {"kind": "+", "text": " " * (MAX_HIGHLIGHT_LINE + 1) + "x"}
    assert highlight_hunk("mm/a.c", [{"kind": " ", "text": "int a;"}, long]) == [
        [("", "int a;")], [("", long["text"])]]
    assert highlight_hunk("mm/a.c", [{"kind": " ", "text": "int a;"}])[0] != [("", "int a;")]
