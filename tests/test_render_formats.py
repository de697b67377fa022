"""Each output format's contract: SARIF against the schema, email threading, Markdown escaping, the b4 protocol,
terse lines, the JSON keys, format choice from -o, exit codes, and `reviewkit report`."""
from __future__ import annotations

import email
import email.policy
import json
import mailbox
import subprocess
import sys

import pytest

from reviewkit.render import b4check, email_reply, markdown, sarif

from tests.conftest import FIXTURES, ROOT, SHARED
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
    assert bug["partialFingerprints"] == {"reviewkit/v1": fp}
    sob = by_rule["patch/signed-off-by"]  # commit message: the input file and the patch as a logical location
    assert sob["level"] == "error"
    assert sob["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "fixtures/render/hostile-series.mbox"
    assert "second" in sob["locations"][0]["logicalLocations"][0]["name"]


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
    assert b4check.results(unreadable)[0]["status"] == "fail"


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
