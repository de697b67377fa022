"""One harness for every rule: each flags its bad fixtures and stays silent on its good ones."""
from __future__ import annotations

import pytest

from reviewkit.rules.fixtures import run_fixture
from reviewkit.rules.loader import load_rules

RULES = load_rules()
CASES = [(r, f) for r in RULES for f in r.fixtures()]


def test_every_rule_is_documented_and_has_fixtures():
    assert RULES
    for rule in RULES:
        assert rule.doc and "example" in rule.doc.lower(), f"{rule.id}: the docstring needs an example"
        names = [f.name for f in rule.fixtures()]
        assert any(".bad." in n for n in names), f"{rule.id}: no bad fixture"
        assert any(".good." in n for n in names), f"{rule.id}: no good fixture"


@pytest.mark.parametrize("rule, fixture", CASES, ids=[f"{r.id}:{f.name}" for r, f in CASES])
def test_rule_fixture(rule, fixture):
    res = run_fixture(rule, fixture)
    assert not res.errors, res.errors
    if ".bad." in fixture.name:
        assert res.expected or res.resolved_expected, "a bad fixture must annotate at least one ruleid/resolved"
    assert not res.missing, f"expected but not reported: {sorted(res.missing, key=str)}"
    assert not res.unexpected, f"reported but marked ok / in a good fixture: {sorted(res.unexpected, key=str)}"
    assert not res.missing_resolved, f"expected resolved but not reported: {sorted(res.missing_resolved, key=str)}"
