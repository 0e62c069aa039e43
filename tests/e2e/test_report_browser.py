"""The report in real headless Chromium: the HTML file offline, and the overlay's
"call summary" link served by the real overlay server when a session ends."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.cli.sessions import render
from assistant.events import Status, to_json_dict
from assistant.server.server import OverlayServer
from assistant.server.summary import SUMMARY_PATH
from tests.helpers.overlay import card
from tests.helpers.paths import CHROMIUM, REPO

ARTIFACTS = REPO / "test-artifacts"
WAIT_MS = 20_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)"
)


@pytest.fixture
def context(browser: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A browser context that refuses (and lists) every network request."""
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    requests: list[str] = []
    errors: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "http://127.0.0.1")):
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


# -- the overlay's call summary ------------------------------------------------------


def get(srv: OverlayServer, path: str, host: str | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("GET", path, headers={"Host": host or f"127.0.0.1:{srv.port}"})
    return conn.getresponse()


def test_summary_route_follows_the_server_rules() -> None:
    srv = OverlayServer(port=0)
    srv.start()
    try:
        assert get(srv, SUMMARY_PATH).status == 404  # before the call ends
        srv.publish_summary("<!doctype html><title>Call summary</title><h1>ok</h1>")
        ok = get(srv, SUMMARY_PATH)
        assert ok.status == 200 and b"<h1>ok</h1>" in ok.read()
        policy = ok.getheader("Content-Security-Policy")
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert get(srv, SUMMARY_PATH, host="evil.example:80").status == 403  # DNS rebinding
        for other in ("/summary/", "/summary/../index.html", "/%2e%2e/summary", "/Summary"):
            assert get(srv, other).status in (403, 404), other
    finally:
        srv.stop()
    open_srv = OverlayServer(host="0.0.0.0", port=0)  # off loopback: the token is required
    open_srv.start()
    try:
        open_srv.publish_summary("<h1>private</h1>")
        assert get(open_srv, SUMMARY_PATH).status == 403
        assert get(open_srv, f"{SUMMARY_PATH}?token=wrong").status == 403
        assert get(open_srv, f"{SUMMARY_PATH}?token={open_srv.token}").status == 200
    finally:
        open_srv.stop()


def test_cards_the_overlay_closes_by_itself_are_recorded() -> None:
    closed: list[dict[str, Any]] = []
    srv = OverlayServer(port=0, on_card_closed=lambda e: closed.append(to_json_dict(e)))
    srv.start()
    try:
        for n in range(1, 5):  # a fourth card pushes the oldest out
            srv.handler(card(n))
    finally:
        srv.stop()  # runs pending callbacks
    assert [(r["type"], r["card_id"], r["reason"]) for r in closed] == [
        ("CardClosed", "s1-rep_but", "replaced")
    ]


def test_overlay_links_the_call_summary_when_the_call_ends(
    sample_session: Path, context: tuple[Any, list[str], list[str]]
) -> None:
    ctx, requests, errors = context
    srv = OverlayServer(port=0)
    srv.start()
    try:
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_viewport_size({"width": 360, "height": 480})
        page.goto(srv.url)
        page.wait_for_selector('#conn[data-state="starting"]')
        srv.handler(Status("listening", "sample_call.ogg"))
        page.wait_for_selector('#conn[data-state="listening"]')
        assert page.locator("#summary").is_hidden()
        srv.handler(Status("stopped", "end of input"))
        page.wait_for_selector('#conn[data-state="stopped"]')
        assert page.locator("#summary").is_hidden()  # no report yet: no dead link

        srv.publish_summary(render(sample_session, "html"))
        link = page.wait_for_selector("#summary", state="visible", timeout=WAIT_MS)
        assert link.get_attribute("href") == SUMMARY_PATH
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "overlay-call-summary-link.png"))
        with ctx.expect_page() as opened:
            link.click()
        report = opened.value
        report.wait_for_load_state()
        assert report.inner_text("h1") == "Call summary"
        assert report.locator("#timeline svg").count() == 1
        # A page that connects after the end gets the link in its snapshot.
        late = ctx.new_page()
        late.goto(srv.url)
        late.wait_for_selector("#summary", state="visible", timeout=WAIT_MS)
    finally:
        srv.stop()
    assert requests == [] and errors == []
