"""Round trip over real threads: mail -> each archive's page -> reviewkit -> what survived.

The rates are held to floors, so a change that loses more than it did fails here; the table of
every page is `python -m tests.web_survival`.
"""
from __future__ import annotations

import pytest

from tests import web_survival as W

# per format: the least share of messages/authors/dates/reply edges/diff lines (byte-exact) that must survive
FLOORS = {
    "lore-flat": dict(found=1.0, authors=1.0, dates=1.0, reply_edges=0.99, diff_lines_exact=0.99),
    "lore-nested": dict(found=1.0, authors=1.0, dates=1.0, reply_edges=0.99, diff_lines_exact=0.99),
    "patchwork": dict(found=1.0, authors=1.0, dates=1.0, reply_edges=0.95, diff_lines_exact=0.99),
    # leading white space stripped and lines wrapped by the archive; patches cut after 150 lines
    "mail-archive": dict(found=1.0, authors=1.0, dates=0.97, reply_edges=0.93, diff_lines_exact=0.12),
    # newlines collapsed: unquoted diffs cannot be rebuilt line by line
    "collapsed-raw": dict(found=1.0, authors=0.99, dates=0.99, reply_edges=0.99, diff_lines_exact=0.03),
    "collapsed-spinics": dict(found=1.0, authors=0.99, dates=0.99, reply_edges=0.99, diff_lines_exact=0.03),
}


@pytest.fixture(scope="module")
def totals():
    from tests.conftest import CORPUS
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent (real third-party data is not in this repository)")
    return W.measure(CORPUS, limit=6)


@pytest.mark.parametrize("fmt", list(FLOORS))
def test_survival_rates(totals, fmt):
    rates = W.rates(totals[fmt])
    assert totals[fmt]["pages"] > 0 and totals[fmt]["crashed"] == 0
    for key, floor in FLOORS[fmt].items():
        assert rates[key] is not None and rates[key] >= floor, (fmt, key, rates)


def test_tree_restores_the_old_side_exactly(corpus, linux_6_1):
    rows = W.measure_tree(corpus / "mm-patches-6.1" / "series-a", linux_6_1)
    row = rows["mail-archive, not cut"]
    assert row["patches"] >= 3 and row["tree_mismatch"] == 0
    before, after = row["old_exact"] / row["old_lines"], row["old_exact_tree"] / row["old_lines"]
    assert before < 0.5 and after == 1.0   # context and removed lines: byte-exact once the tree is given
    assert row["exact_tree"] > row["exact"]
