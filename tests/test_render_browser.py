"""The HTML report in a real browser: Debian's Chromium driven by Playwright (nothing is downloaded).

Checks that reports render without console errors, that navigation, the
"next finding" button, expand/collapse and the findings filter work, and
that hostile mail (<script>, "><img onerror=...>) in subjects, authors,
bodies and diff lines executes nothing. Skips cleanly without Chromium or
the playwright package (.ci/run installs both).
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from reviewkit.render import html

from tests.conftest import FIXTURES, ROOT
from tests.test_render_golden import fixture_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 900}, offline=True)
        yield ctx
        ctx.close()


class Page:
    """A page plus everything it said: console messages, uncaught errors, dialogs (alert/confirm/prompt)."""

    def __init__(self, browser, path):
        self.console, self.errors, self.dialogs, self.requests = [], [], [], []
        self.page = browser.new_page()
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def problems(self) -> list:
        return ([f"console {t}: {x}" for t, x in self.console if t in ("error", "warning")]
                + [f"page error: {e}" for e in self.errors] + [f"dialog: {d}" for d in self.dialogs]
                + [f"request: {u}" for u in self.requests if not u.startswith("file:")])

    def close(self):
        self.page.close()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def in_view(page, selector) -> bool:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.bottom > 0 && r.top < window.innerHeight; }""", selector)


def test_report_renders_and_navigates(browser, tmp_path):
    data = fixture_report("hostile")
    p = Page(browser, write(tmp_path, "hostile.html", html.render(data)))
    page = p.page
    try:
        assert page.title().startswith("reviewkit: ")
        assert page.locator(".finding.k-finding").count() == len(data["findings"])
        # the sidebar takes you to the second patch
        page.click(".side li:nth-child(2) a")
        page.wait_for_timeout(200)
        assert page.url.endswith("#p1") and in_view(page, "#p1")
        # collapse all, then "next finding" opens what it needs and shows the finding
        page.click("#collapse-all")
        assert page.evaluate("[...document.querySelectorAll('details.patch')].every(d => !d.open)")
        assert not page.locator("#f0").is_visible()
        page.click("#next-finding")
        page.wait_for_timeout(200)
        first = page.evaluate("location.hash")
        assert first in ("#f0", "#f1") and page.locator(first).is_visible() and in_view(page, first)
        page.keyboard.press("j")
        page.wait_for_timeout(200)
        second = page.evaluate("location.hash")
        assert second in ("#f0", "#f1") and second != first
        page.click("#expand-all")
        assert page.evaluate("[...document.querySelectorAll('details.patch, details.file')].every(d => d.open)")
        # a rule's documentation expands under the finding
        why = page.locator("#f0 details.why")
        assert not why.locator(".doc").is_visible()
        why.locator("summary").click()
        assert why.locator(".doc").is_visible()
        # a link to a finding inside a collapsed patch opens it
        page.click("#collapse-all")
        assert not page.locator(first).is_visible()
        page.evaluate(f"location.hash = '{first}'")
        page.wait_for_timeout(200)
        assert page.locator(first).is_visible()
        assert p.problems() == []
    finally:
        p.close()


def test_filter_hides_clean_patches(browser, tmp_path):
    data = fixture_report("bug-on")
    clean = fixture_report("clean")
    p = Page(browser, write(tmp_path, "clean.html", html.render(clean)))
    try:
        assert p.page.locator("section.patch").count() == 2
        assert p.page.locator("section.patch").first.is_visible()
        p.page.check("#only-findings")
        assert not p.page.locator("section.patch").first.is_visible()
        assert p.page.locator("#summary").is_visible()  # the thread summary section is there
        assert p.problems() == []
    finally:
        p.close()
    p = Page(browser, write(tmp_path, "bug.html", html.render(data)))
    try:
        p.page.check("#only-findings")
        assert p.page.locator("#p0").is_visible()
        # the resolved finding is shown on the removed line and in the resolved section
        assert p.page.locator("tr.notes .finding.k-resolved").count() == 1
        assert p.page.locator("#resolved .finding.k-resolved").count() == 1
        assert p.problems() == []
    finally:
        p.close()


XSS_CHECK = """() => ({
    scripts: document.scripts.length,
    imgs: document.querySelectorAll('img').length,
    handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
    text: document.body.innerText,
})"""


def assert_inert(p: Page):
    p.page.click("#expand-all")
    p.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    p.page.wait_for_timeout(300)
    state = p.page.evaluate(XSS_CHECK)
    assert state["scripts"] == 1, "only the report's own script may be on the page"
    assert state["imgs"] == 0 and state["handlers"] == 0
    assert p.dialogs == [] and p.problems() == []
    return state


def test_hostile_mail_executes_nothing(browser, tmp_path):
    # the whole pipeline, from the hostile mbox to the page
    out = tmp_path / "hostile-live.html"
    r = subprocess.run([sys.executable, "-m", "reviewkit", "report", str(FIXTURES / "render" / "hostile-series.mbox"),
                        "-o", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode in (0, 1), r.stderr
    p = Page(browser, out)
    try:
        state = assert_inert(p)
        text = state["text"]
        # shown as text, where they were: subject, author, body, diff line, cover letter, reply
        assert "mm/evil: <script>alert(1)</script>" in text
        assert "Mallory <script>alert(1)</script>" in text
        assert '"><img src=x onerror=alert(1)>' in text
        assert 'BUG_ON(!strcmp(name, "<script>alert(1)</script>"));' in text
        assert "</textarea></pre></details><script>alert(2)</script>" in text
        assert "Why is this a <script>alert(1)</script> BUG_ON" in text
    finally:
        p.close()


def test_the_xss_check_catches_an_unescaped_page(browser, tmp_path):
    """Control: the same checks fail on a page where one hostile string went in raw."""
    page_html = html.render(fixture_report("hostile"))
    raw = page_html.replace("&#34;&gt;&lt;img src=x onerror=alert(1)&gt;", '"><img src=x onerror=alert(1)>')
    assert raw != page_html
    p = Page(browser, write(tmp_path, "raw.html", raw))
    try:
        with pytest.raises(AssertionError):
            assert_inert(p)
    finally:
        p.close()
    # and without the Content-Security-Policy (defence in depth) the injected handler really runs
    no_csp = raw.replace('<meta http-equiv="Content-Security-Policy"', '<meta name="x-no-csp"', 1)
    p = Page(browser, write(tmp_path, "raw-no-csp.html", no_csp))
    try:
        p.page.wait_for_timeout(300)
        assert p.dialogs and p.dialogs[0] == "1"
    finally:
        p.close()


def test_real_series_in_the_browser(browser, tmp_path, corpus):
    mbox = corpus / "lore-threads" / "device-exclusive-series" / "device-exclusive-v7.mbox"
    out = tmp_path / "device-exclusive-v7.html"
    r = subprocess.run([sys.executable, "-m", "reviewkit", "report", str(mbox), "-o", str(out)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode in (0, 1), r.stderr
    p = Page(browser, out)
    try:
        page = p.page
        assert page.locator(".side li").count() == 8 and page.locator("section.patch").count() == 8
        assert page.locator(".finding.k-finding").count() >= 3
        assert page.locator("#summary .sum").count() == 1
        page.click("#next-finding")
        page.wait_for_timeout(200)
        assert page.locator(page.evaluate("location.hash")).is_visible()
        assert p.problems() == []
        page.screenshot(path=str(tmp_path / "device-exclusive-v7.png"))
    finally:
        p.close()
