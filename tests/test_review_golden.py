"""The summarizer against the golden corpus of hand-labelled thread events (tests/golden/summaries/).

benchmarks/summary_score.py does the scoring; here the bars are asserted: at least 95% of the
claims right and 90% of the labelled events found, on our own fixture threads always and on the
real lore families when ../shared/corpus is present.
"""
from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("summary_score", ROOT / "benchmarks" / "summary_score.py")
summary_score = importlib.util.module_from_spec(spec)
spec.loader.exec_module(summary_score)

FAMILIES = sorted(json.loads(p.read_text())["family"] for p in summary_score.GOLDEN.glob("*.json"))


def _ratio(pair) -> float:
    ok, n = pair
    return ok / n if n else 1.0


@pytest.mark.parametrize("family", FAMILIES)
def test_golden_family(family, request):
    if not family.startswith("fixture-"):
        request.getfixturevalue("corpus")  # skips without ../shared/corpus
    res = summary_score.run([family])
    r = res["families"][family]
    assert _ratio(res["precision"]) >= 0.95, r["errors"]
    assert _ratio(res["recall"]) >= 0.90, r["misses"]


def test_fixture_events_are_found_with_their_details():
    res = summary_score.run(["fixture-zswap-events"])
    assert res["recall"][0] == res["recall"][1] and res["precision"][0] == res["precision"][1]
    from reviewkit.pipeline import parse_inputs
    from reviewkit.render.summary_data import summary_data
    from reviewkit.review import summarize
    data = summary_data(summarize(parse_inputs(sorted(map(str, summary_score.FIXTURES.glob("zswap-events-v*.mbox"))))))
    v1, v2 = data["series"]
    assert v2["status"] == "applied to mm-unstable by Andrew Morton; dropped from -mm by Andrew Morton on 2/2"
    # 2/2 was dropped after the series was applied: that comes first on the patch
    assert v2["patches"][1]["status"].startswith("dropped from -mm by Andrew Morton; applied to mm-unstable")
    assert v1["status"] == ("NAK by Dennis Ritchie on 3/3; changes requested by Ken Thompson; build failure reported "
                            "by Ada Lovelace, kernel test robot on 1/3, 2/3; superseded by v2")
    applied = next(v for v in v2["verdicts"] if v["kind"] == "applied")
    assert applied["tree"] == "mm-unstable" and applied["msgid"] == "<20230613010000.akpm@linux-foundation.org>"
    # no MAINTAINERS given: who applies the series acts as its maintainer, not "a mere reviewer"
    assert applied["role"] == "maintainer"
    akpm = next(p for p in v2["participants"] if p["email"] == "akpm@linux-foundation.org")
    assert "maintainer" in akpm["roles"]
    # the v2 changelog credits Ken ("as Ken asked") and the robot: their points were acted on
    ken = next(v for v in v1["verdicts"] if v["kind"] == "changes-requested")
    assert ken["next_version"]["status"] == "addressed" and "as Ken asked" in ken["next_version"]["why"]
    robot = next(v for v in v1["verdicts"] if v["kind"] == "build-failure" and v["role"] == "bot")
    assert robot["next_version"]["version"] == 2
    nak = next(v for v in v1["verdicts"] if v["kind"] == "nack")
    assert nak["next_version"] is None  # nothing in v2 says the NAK was answered
    # Barbara's "Ack." answers Ada's build report, not the patch: no ack
    assert not any(v["kind"] == "ack" for v in v1["verdicts"])
