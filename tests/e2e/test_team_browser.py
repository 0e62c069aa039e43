"""The team server in real headless Chromium: a rep opens their page with their
token, presses Listen, and Chromium's fake microphone (a real LibriSpeech
recording) is coached; the manager opens /team with the manager's token, sees the
call, and opens its read-only overlay from the board's link. A rep's token at
/team is refused on the page as well."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assistant.team.launch import TeamRun
from tests.helpers.capture_rig import CANCEL_PICKER, fake_microphone, launch, recording_wav
from tests.helpers.paths import CHROMIUM
from tests.helpers.team import MANAGER, REPS, start

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)"
)

WAIT_MS = 90_000  # a loaded 2-core machine: Chromium start, real-time audio, decodes
VIEWPORT = {"width": 360, "height": 480}


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamRun]:
    run = start(tmp_path_factory.mktemp("team-browser"))
    try:
        yield run
    finally:
        run.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    wav = recording_wav("monologue", tmp_path_factory.mktemp("recordings"))
    with sync_playwright() as pw:
        chromium = launch(pw, *fake_microphone(wav))
        yield chromium
        chromium.close()


def _page(browser: Any, url: str, mic: bool = False) -> Any:
    context = browser.new_context(viewport=VIEWPORT, permissions=["microphone"] if mic else [])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    page.add_init_script(CANCEL_PICKER)  # no tab to share: the microphone alone
    page.goto(url)
    return page


def test_a_rep_listens_in_chromium_and_the_manager_watches_from_team(
    team: TeamRun, browser: Any
) -> None:
    url = team.server.url
    rep = _page(browser, f"{url}/?token={REPS['dana']}", mic=True)
    rep.wait_for_selector("#listen:visible", timeout=WAIT_MS)
    rep.click("#listen")
    rep.wait_for_selector(".capture-text:has-text('Listening: mic')", timeout=WAIT_MS)
    # The first words of the recording reach the rep's captions.
    rep.wait_for_function(
        "() => /reader|excuse|antecedents/i.test(document.querySelector('#captions').innerText)",
        timeout=WAIT_MS,
    )

    manager = _page(browser, f"{url}/team?token={MANAGER}")
    row = manager.wait_for_selector("tr[data-call^='dana-']", timeout=WAIT_MS)
    assert "Dana Reyes" in row.inner_text()
    assert manager.inner_text("#asr").startswith("transcription: local")
    watch_href = manager.get_attribute("tr[data-call^='dana-'] a", "href")
    assert watch_href and "token=" in watch_href and REPS["dana"] not in watch_href

    watcher = _page(browser, f"{url}{watch_href}")
    watcher.wait_for_function(
        "() => document.querySelector('#captions').innerText.trim().length > 0",
        timeout=WAIT_MS,
    )
    assert watcher.is_hidden("#capture")  # read-only: no Listen, no capture controls
    for page in (rep, manager, watcher):
        assert not page.errors, page.errors

    refused = _page(browser, f"{url}/team?token={REPS['dana']}")
    assert "forbidden" in refused.inner_text("body")
