"""The thread summary in the HTML report: status and events first, then the replies themselves,
nested per patch as a lore thread view shows them, collapsed, one anchor per mail, all escaped."""
from __future__ import annotations

import re

from reviewkit.pipeline import parse_inputs
from reviewkit.render import html
from reviewkit.render.report_data import report_data, thread_summary
from reviewkit.render.summary_data import clip_distinct

from tests.conftest import FIXTURES

REVIEW = FIXTURES / "review"


def _page(tmp_path, evil: str = "") -> str:
    v1 = (REVIEW / "zswap-events-v1.mbox").read_text()
    if evil:
        v1 = v1.replace("NAK. Writeback off means", f"NAK. {evil} Writeback off means")
    path = tmp_path / "v1.mbox"
    path.write_text(v1)
    parsed = parse_inputs([str(path), str(REVIEW / "zswap-events-v2.mbox")])
    errors: list = []
    summary = thread_summary(parsed, errors)
    lint_data = {"findings": [], "resolved": [], "errors": errors, "stats": {}}
    return html.render(report_data(parsed, lint_data, summary))


def test_status_events_then_nested_collapsed_replies(tmp_path):
    page = _page(tmp_path)
    sec = page[page.index('<section id="summary">'):]
    v1 = sec[:sec.index("</details>\n<details class=\"card sum\"")]
    assert "<b>Status:</b> NAK by Dennis Ritchie on 3/3; changes requested by Ken Thompson" in v1
    # the events come before the discussion, each linking to the mail that shows it
    assert v1.index('<ul class="events">') < v1.index("<h4>Discussion</h4>")
    ada = html.mail_anchor("<ZH8a1@ada-laptop>")
    assert f'<a href="#{ada}">1/3</a>' in v1
    # Barbara's reply to Ada sits inside Ada's mail, as lore nests it; every mail collapsed
    outer = v1.index(f'<details class="mail" id="{ada}">')
    inner = v1.index(f'<details class="mail" id="{html.mail_anchor("<ZH8d4@barbara-desk>")}">')
    assert outer < inner < v1.index("</details>", v1.index("Ack.", inner))
    assert not re.search(r'<details class="(?:mail|thread)"[^>]* open', page)
    assert len(re.findall(r'<details class="mail" id="m-[0-9a-f]{12}">', page)) == 7


def test_mail_text_is_escaped_and_the_policy_kept(tmp_path):
    page = _page(tmp_path, evil='<script>alert(1)</script><img src=x onerror="alert(2)">')
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert re.search(r'http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; [^"]*script-src &#39;sha256-', page)


def test_titles_are_never_shortened_to_the_same_string():
    a = "example for future extension: mm:gup/writeback: add callbacks for inaccessible pages: error cases"
    b = "example for future extension: mm:gup/writeback: add callbacks for inaccessible pages: source indication"
    short = clip_distinct([a, b, "short title"], 70)
    assert short[0] != short[1] and len(short[0]) <= 70 and short[2] == "short title"
    same_end = [a + " x", a.replace("future", "past") + " x"]
    assert len(set(clip_distinct(same_end, 40))) == 2


def test_a_thread_deeper_than_the_page_nests_keeps_every_mail():
    """A hostile chain of 5,000 replies each to the one before: drawn MAX_NEST deep, the rest beside
    their parent, none lost (the template recurses once per level)."""
    from reviewkit.render.html import MAX_NEST, _mail_tree
    thread = [{"msgid": f"<m{i}@example.org>", "parent": f"<m{i - 1}@example.org>" if i else None,
               "depth": i, "from": {"name": "A", "email": "a@example.org"}} for i in range(5000)]
    roots = _mail_tree(thread)
    seen, depth, level = 0, 0, roots
    while level:
        seen += len(level)
        depth += 1
        level = [k for n in level for k in n["children"]]
    assert seen == 5000 and depth == MAX_NEST
