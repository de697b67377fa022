"""Acceptance: every format from the same lint of real series (../shared/corpus/lore-threads)."""
from __future__ import annotations

import email
import email.policy
import json
import mailbox
import subprocess
import sys

import pytest

from reviewkit.render import b4check, email_reply, html, markdown, sarif
from reviewkit.render import json as json_render

from tests.conftest import CORPUS, ROOT
from tests.test_render_formats import assert_valid_sarif
from tests.test_render_golden import build_report

SERIES = ["device-exclusive-series/device-exclusive-v7.mbox", "foll-force-removal/foll-force-v1-of20.mbox",
          "inaccessible-pages-series/kvm-s390-protvirt-patch01-v2-of42.mbox"]


@pytest.fixture(scope="module", params=SERIES)
def report(request):
    path = CORPUS / "lore-threads" / request.param
    if not path.is_file():
        pytest.skip(f"{path} is absent (real third-party data is not in this repository)")
    return build_report([str(path)])


def test_every_format_from_one_report(report, tmp_path):
    data = report
    n_patches = len(data["patches"])
    assert n_patches and data["report"]["patches"] and len(data["report"]["patches"]) == n_patches

    # JSON: the contract's keys, no report internals
    js = json.loads(json_render.render(data))
    assert {"version", "errors", "findings", "resolved", "stats"} <= set(js) and "report" not in js
    for f in js["findings"]:
        assert {"rule", "severity", "message", "path", "line", "function", "patch", "fingerprint"} <= set(f)

    # SARIF: valid, one result per finding, fingerprints carried over
    doc = sarif.sarif(data)
    assert_valid_sarif(doc)
    results = doc["runs"][0]["results"]
    assert len(results) == len(data["findings"]) + len(data["waived"])
    assert sorted(r["partialFingerprints"]["reviewkit/v1"] for r in results) == sorted(
        f["fingerprint"] for f in data["findings"] + data["waived"])

    # email: one reply per patch with findings, parseable, threaded under the patch mail
    path = tmp_path / "review.mbox"
    path.write_text(email_reply.render(data), encoding="utf-8")
    msgs = list(mailbox.mbox(str(path)))
    with_findings = [p for p in data["report"]["patches"] if p["findings"]]
    assert len(msgs) == len(with_findings)
    for raw, patch in zip(msgs, with_findings):
        msg = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
        assert msg["In-Reply-To"] == patch["msgid"]
        assert msg["References"].split()[-1] == patch["msgid"]
        assert msg["Subject"].startswith("Re: ") and msg.get_content_type() == "text/plain"
        body = msg.get_content()
        assert "\n> " in body and "[...]" in body or "\n>" in body
        for i in patch["findings"]:
            assert f"[{data['findings'][i]['rule']}]" in body

    # Markdown, b4, terse, HTML: produced, and say the same numbers
    md = markdown.render(data)
    assert md.startswith("### reviewkit: ")
    assert md.count("<details>") == md.count("</details>")
    (b4,) = b4check.results(data) or [None]
    if data["findings"]:
        assert b4["status"] in ("pass", "warn", "fail")
        assert len(b4check.terse(data).splitlines()) == len(data["findings"]) + len(data["errors"])
    page = html.render(data)
    assert page.count('class="finding sev-') >= len(data["findings"])
    assert page.count('<section class="patch') == n_patches


def test_exit_codes_on_a_real_series(tmp_path):
    path = CORPUS / "lore-threads" / SERIES[0]
    if not path.is_file():
        pytest.skip(f"{path} is absent")

    def lint(*args):
        return subprocess.run([sys.executable, "-m", "reviewkit", "lint", str(path), *args], capture_output=True,
                              text=True, timeout=300, cwd=ROOT)
    data = json.loads(lint("--format", "json").stdout)
    worst = max((f["severity"] for f in data["findings"]), key=("note", "warning", "error").index, default=None)
    assert worst is not None, "the series is expected to give findings"
    assert lint("--format", "sarif", "--fail-on", worst, "-o", str(tmp_path / "r.sarif")).returncode == 1
    assert lint("--format", "sarif", "--fail-on", "never", "-o", str(tmp_path / "r.sarif")).returncode == 0
    typo = lint("--format", "b4", "--select", "no/such-rule")  # a typo must not make CI pass
    assert typo.returncode == 2 and "matches no rule" in typo.stderr
