"""The report in real headless Chromium: the HTML file, offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.browser import HEADLESS_CHROMIUM_ARGS
from assistant.cli_sessions import render

from .conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=HEADLESS_CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A browser context that refuses (and lists) every network request."""
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    requests: list[str] = []
    errors: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            requests.append(url)
            route.abort()

    ctx.route("**/*", guard)
    yield ctx, requests, errors
    ctx.close()


def test_html_report_renders_offline_in_chromium(
    sample_session: Path, context: tuple[Any, list[str], list[str]], tmp_path: Path
) -> None:
    ctx, requests, errors = context
    html = tmp_path / "report.html"
    html.write_text(render(sample_session, "html"), encoding="utf-8")
    page = ctx.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(html.as_uri())

    assert page.inner_text("h1") == "Call summary"
    for section in ("timeline", "talk", "monologues", "questions", "stretch", "silences",
                    "stalls", "transcript"):  # fmt: skip
        assert page.locator(f"section#{section}").count() == 1, section
    assert page.locator("section .how").count() >= 8  # every figure says how
    svg = page.locator("#timeline svg")
    assert svg.bounding_box()["width"] > 600  # drawn, and scaled to the page
    labels = svg.evaluate("s => [...s.querySelectorAll('text')].map(t => t.textContent.trim())")
    assert {"rep", "customer"} <= set(labels)
    assert page.locator("ol.transcript li").count() >= 10
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-sample-call.png"), full_page=True)

    missing = page.evaluate(
        """() => [...document.querySelectorAll('a')]
            .map(a => a.getAttribute('href') || a.getAttribute('xlink:href') || '')
            .filter(h => h.startsWith('#'))
            .filter(h => !document.getElementById(h.slice(1)))"""
    )
    assert missing == []
    link = page.locator("#stalls article.card h3 a").first
    target = link.get_attribute("href")
    link.click()
    assert page.evaluate("location.hash") == target
    assert page.evaluate("document.querySelector(':target').id") == target[1:]
    assert page.evaluate("document.querySelector(':target').closest('section').id") == "transcript"
    marker = page.locator("#timeline svg a[*|href^='#card-']").first
    marker.click(force=True)  # a real click on the drawn marker
    assert page.evaluate("document.querySelector(':target').tagName") == "ARTICLE"

    assert requests == [], f"the report reached for the network: {requests}"
    assert errors == []
