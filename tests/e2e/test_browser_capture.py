"""`turnaround live --browser` in real headless Chromium: the overlay page captures
a real recording through Chromium's fake microphone and a tab that plays another
one, streams both to the real coach (its own process, the real model), and the
final text is compared with replaying the same files (final-text WER within 0.02).

Also: the permission refused, the shared tab closed mid-call, a second page, and a
reload of the capturing page -- each said on the page, on stderr and in the session
file, with no traceback and every final text recorded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.server.audio_frames import Channel, build_audio_frame
from tests.helpers.audio import final_texts, run_file
from tests.helpers.capture_rig import (
    CANCEL_PICKER,
    UNTICK_TAB_AUDIO,
    call_site,
    fake_microphone,
    final_words,
    heard_the_end,
    launch,
    pick_tab,
    recording_wav,
    reference_text,
    session_records,
    stop,
    wait_until,
)
from tests.helpers.cli import CliRun
from tests.helpers.paths import CHROMIUM
from tests.helpers.wer import wer

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)"
)

# Generous for a loaded 2-core machine: model load, Chromium start, real-time audio.
START_S = 120.0
WAIT_MS = 60_000
# The target: the browser path's final-text WER within 0.02 of file replay's.
WER_GAP = 0.02
VIEWPORT = {"width": 360, "height": 480}


@pytest.fixture(scope="module")
def pw() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def wavs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("recordings")
    return {name: recording_wav(name, folder) for name in ("monologue", "turns")}


@pytest.fixture(scope="module")
def replayed(wavs: dict[str, Path], decoder: Any) -> dict[str, str]:
    """Each recording's final text through file replay, the way `replay` runs it."""
    return {
        name: " ".join(text for _, text in final_texts(run_file(path, decoder)))
        for name, path in wavs.items()
    }


def coach(record: Path, *more: str) -> CliRun:
    return CliRun("live", "--browser", "--port", "0", "--json", "--record", str(record), *more)


def open_overlay(browser: Any, port: int, mic: bool = True, cancel_picker: bool = False) -> Any:
    context = browser.new_context(viewport=VIEWPORT, permissions=["microphone"] if mic else [])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    if cancel_picker:
        page.add_init_script(CANCEL_PICKER)
    page.goto(f"http://127.0.0.1:{port}/")
    page.wait_for_selector("#listen:visible", timeout=WAIT_MS)
    return page


def capture_text(page: Any) -> str:
    return page.inner_text(".capture-text")


def assert_clean(run: CliRun, rc: int, records: list[dict[str, Any]]) -> None:
    """Exit 0, no traceback, and every final text printed is in the session file."""
    assert rc == 0, run.stderr
    assert "Traceback" not in run.stderr and "turnaround: error" not in run.stderr, run.stderr
    assert records[-1]["type"] == "SessionEnd", records[-1]
    printed = [e for e in run.events() if e["type"] in ("FinalTranscript", "TranscriptRevision")]
    recorded = [r for r in records if r["type"] in ("FinalTranscript", "TranscriptRevision")]
    assert [e["text"] for e in printed] == [r["text"] for r in recorded]


def capture_notes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == "Capture"]


def test_the_microphone_alone_through_the_page_matches_replaying_the_file(
    pw: Any, wavs: dict[str, Path], replayed: dict[str, str], tmp_path: Path
) -> None:
    run = coach(tmp_path)
    browser = launch(pw, *fake_microphone(wavs["monologue"]))
    try:
        page = open_overlay(browser, run.overlay_port(START_S), cancel_picker=True)
        assert page.inner_text("#conn-text") == "Ready"
        page.click("#listen")  # the picker is cancelled: the microphone alone
        page.wait_for_selector(".capture-text:has-text('Listening: mic')", timeout=WAIT_MS)
        assert "call not shared" in capture_text(page)
        wait_until(lambda: heard_the_end(run, "monologue"), START_S, "the last words")
        assert not page.errors
    finally:
        browser.close()
        rc = stop(run)
    records = session_records(tmp_path)
    assert_clean(run, rc, records)
    assert {e["speaker"] for e in run.finals()} == {"unknown"}  # one input: as `live`
    heard = final_words(records)
    truth = reference_text("monologue")
    browser_wer, replay_wer = wer(truth, heard), wer(truth, replayed["monologue"])
    print(f"final-text WER: browser {browser_wer:.3f}, file replay {replay_wer:.3f}")
    print("BROWSER:", heard)
    print("REPLAY:", replayed["monologue"])
    assert abs(browser_wer - replay_wer) <= WER_GAP, (heard, replayed["monologue"])
    assert records[0]["input"]["kind"] == "browser"
    notes = capture_notes(records)
    assert notes[0]["event"] == "listen" and notes[0]["routes"] == {"mic": "unknown", "call": None}
    assert any(n.get("input") == "call" and n.get("state") == "denied" for n in notes)


def test_the_microphone_and_a_call_tab_are_the_rep_and_the_customer(
    pw: Any, wavs: dict[str, Path], replayed: dict[str, str], tmp_path: Path
) -> None:
    run = coach(tmp_path / "sessions")
    browser = launch(pw, *fake_microphone(wavs["monologue"]), pick_tab())
    try:
        with call_site(tmp_path, wavs["turns"], autoplay=False) as call_url:
            page = open_overlay(browser, run.overlay_port(START_S))
            call = page.context.new_page()
            call.goto(call_url)
            page.bring_to_front()
            page.click("#listen")  # Listen; the flag picks the call's tab
            page.wait_for_selector(
                ".capture-text:has-text('mic (Rep) + call (Customer)')", timeout=WAIT_MS
            )
            call.evaluate("document.getElementById('call').play()")
            wait_until(lambda: heard_the_end(run, "monologue", "rep"), START_S, "the last words")
            assert not page.errors
    finally:
        browser.close()
        rc = stop(run)
    records = session_records(tmp_path / "sessions")
    assert_clean(run, rc, records)
    for speaker, name in (("rep", "monologue"), ("customer", "turns")):
        heard = final_words(records, speaker)
        truth = reference_text(name)
        browser_wer, replay_wer = wer(truth, heard), wer(truth, replayed[name])
        print(f"{speaker}: final-text WER browser {browser_wer:.3f}, replay {replay_wer:.3f}")
        assert abs(browser_wer - replay_wer) <= WER_GAP, (speaker, heard, replayed[name])


def test_the_call_tab_closed_mid_call_is_said_and_the_microphone_goes_on(
    pw: Any, wavs: dict[str, Path], tmp_path: Path
) -> None:
    run = coach(tmp_path / "sessions")
    browser = launch(pw, *fake_microphone(wavs["monologue"]), pick_tab())
    try:
        with call_site(tmp_path, wavs["turns"]) as call_url:
            page = open_overlay(browser, run.overlay_port(START_S))
            call = page.context.new_page()
            call.goto(call_url)
            page.bring_to_front()
            page.click("#listen")
            page.wait_for_selector(".capture-text:has-text('call (Customer)')", timeout=WAIT_MS)
            wait_until(
                lambda: any(
                    e["type"] == "SpeechStarted" and e["speaker"] == "customer"
                    for e in run.events()
                ),
                START_S,
                "the customer speaking",
            )
            call.close()  # the shared tab goes away mid-call
            page.wait_for_selector("#notice:has-text('Call audio stopped')", timeout=WAIT_MS)
            assert "call sharing stopped" in capture_text(page)
            assert page.get_attribute("#in-call", "data-state") == "ended"
            run.wait_err("browser: call audio stopped: the shared tab closed", START_S)
            wait_until(lambda: heard_the_end(run, "monologue", "rep"), START_S, "the last words")
            assert not page.errors
    finally:
        browser.close()
        rc = stop(run)
    records = session_records(tmp_path / "sessions")
    assert_clean(run, rc, records)
    ended = [n for n in capture_notes(records) if n.get("state") == "ended"]
    assert ended and ended[0]["input"] == "call" and ended[0]["at_s"] > 0
    closed_at = ended[0]["at_s"]
    # CliRuning went on with the microphone: the rep's words after the tab closed.
    later = [e for e in run.finals() if e["speaker"] == "rep" and e["end_s"] > closed_at + 1.0]
    assert later, (closed_at, run.finals())


def test_a_second_page_is_refused_and_a_reload_loses_only_the_gap(
    pw: Any, wavs: dict[str, Path], tmp_path: Path
) -> None:
    run = coach(tmp_path)
    browser = launch(pw, *fake_microphone(wavs["monologue"]))
    try:
        port = run.overlay_port(START_S)
        page = open_overlay(browser, port, cancel_picker=True)
        page.click("#listen")
        page.wait_for_selector(".capture-text:has-text('Listening: mic')", timeout=WAIT_MS)
        second = browser.new_context(viewport=VIEWPORT).new_page()
        second.goto(f"http://127.0.0.1:{port}/")
        second.wait_for_selector(".capture-text:has-text('Another page is listening')")
        assert second.is_hidden("#listen")
        wait_until(lambda: run.finals(), START_S, "a first final")
        page.reload()  # the capturing page goes away and comes back
        page.wait_for_selector("#listen:visible", timeout=WAIT_MS)
        page.click("#listen")
        page.wait_for_selector(".capture-text:has-text('s of audio lost')", timeout=WAIT_MS)
        assert "Listening: mic" in capture_text(page)
        run.wait_err(r"browser: page reconnected: \d+\.\d s of audio lost", START_S)
        assert not page.errors
    finally:
        browser.close()
        rc = stop(run)
    records = session_records(tmp_path)
    assert_clean(run, rc, records)
    events = [n["event"] for n in capture_notes(records)]
    assert events[:2] == ["listen", "input"] and "page_disconnected" in events
    gone = events.index("page_disconnected")
    assert events[gone + 1 :][:2] == ["resumed", "reconnected"], events
    lost = next(n for n in capture_notes(records) if n["event"] == "reconnected")["lost_s"]
    assert lost > 0


def test_refused_permissions_are_said_and_the_call_alone_can_still_be_coached(
    pw: Any, wavs: dict[str, Path], tmp_path: Path
) -> None:
    run = coach(tmp_path / "sessions")
    denied = launch(pw, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream=deny")
    try:
        page = open_overlay(denied, run.overlay_port(START_S))
        page.click("#listen")
        page.wait_for_selector(".capture-text:has-text('mic refused')", timeout=WAIT_MS)
        assert "call not shared" in capture_text(page)
        assert page.is_visible("#listen")  # nothing captured: Listen again
        assert not page.errors
    finally:
        denied.close()
    assert not any("listening to" in line for line in run.err)  # the session never began
    # The microphone refused (no permission: headless Chromium refuses), the call's
    # tab shared: the call alone, as the customer.
    browser = launch(pw, "--use-fake-device-for-media-stream", pick_tab())
    try:
        with call_site(tmp_path, wavs["turns"]) as call_url:
            page = open_overlay(browser, run.overlay_port(START_S), mic=False)
            page.context.new_page().goto(call_url)
            page.bring_to_front()
            page.click("#listen")
            page.wait_for_selector(".capture-text:has-text('call (Customer)')", timeout=WAIT_MS)
            assert "mic refused" in capture_text(page)
            wait_until(lambda: run.finals(), START_S, "a final from the call")
            assert not page.errors
    finally:
        browser.close()
        rc = stop(run)
    records = session_records(tmp_path / "sessions")
    assert_clean(run, rc, records)
    assert {e["speaker"] for e in run.finals()} == {"customer"}
    notes = capture_notes(records)
    assert notes[0]["routes"] == {"mic": None, "call": "customer"}
    refused = [n for n in notes if n.get("input") == "mic"]
    assert refused and refused[0]["state"] == "denied"
    assert refused[0]["reason"] == "NotAllowedError"


def test_a_malformed_frame_on_the_page_connection_is_said_and_the_page_listens_again(
    pw: Any, wavs: dict[str, Path], tmp_path: Path
) -> None:
    """A bad frame on the capturing page's own connection (injected there, between
    the page and the coach): the coach closes that connection with the reason, the
    page says it, reconnects and takes its capture back; the coach never stops.
    Playwright's sync API relays a routed websocket only while it is called, so the
    waits here are the page's own (``wait_for_timeout``), not sleeps."""
    run = coach(tmp_path)
    browser = launch(pw, *fake_microphone(wavs["monologue"]))
    routes: list[Any] = []

    def through(ws: Any) -> None:
        routes.append(ws.connect_to_server())  # everything else passes as it is

    try:
        port = run.overlay_port(START_S)
        context = browser.new_context(viewport=VIEWPORT, permissions=["microphone"])
        page = context.new_page()
        page.add_init_script(CANCEL_PICKER)
        page.route_web_socket(re.compile(r"/ws(\?|$)"), through)
        page.goto(f"http://127.0.0.1:{port}/")
        page.click("#listen")
        page.wait_for_selector(".capture-text:has-text('Listening: mic')", timeout=WAIT_MS)
        pumped_wait(page, run.finals, "a first final")
        bad = b"B" + build_audio_frame(Channel.MIC, 0, time.time() * 1000, bytes(1024))[1:]
        routes[-1].send(bad)
        page.wait_for_selector(
            "#notice:has-text('The coach closed the connection: malformed audio frame: "
            "bad magic byte 0x42')",
            timeout=WAIT_MS,
        )
        pumped_wait(page, lambda: any("page reconnected" in line for line in run.err), "back")
        assert "Listening: mic" in capture_text(page)
        pumped_wait(page, lambda: heard_the_end(run, "monologue"), "the last words")
        assert run.proc.poll() is None
    finally:
        browser.close()
        rc = stop(run)
    records = session_records(tmp_path)
    assert_clean(run, rc, records)
    assert any("overlay client closed: malformed audio frame" in line for line in run.err)


def test_a_tab_shared_without_its_audio_is_said_and_the_microphone_goes_on(
    pw: Any, wavs: dict[str, Path], tmp_path: Path
) -> None:
    run = coach(tmp_path)
    browser = launch(pw, *fake_microphone(wavs["monologue"]), pick_tab())
    try:
        with call_site(tmp_path, wavs["turns"]) as call_url:
            context = browser.new_context(viewport=VIEWPORT, permissions=["microphone"])
            page = context.new_page()
            page.add_init_script(UNTICK_TAB_AUDIO)
            page.goto(f"http://127.0.0.1:{run.overlay_port(START_S)}/")
            context.new_page().goto(call_url)
            page.bring_to_front()
            page.click("#listen")
            page.wait_for_selector("#notice:has-text('has no audio')", timeout=WAIT_MS)
            page.wait_for_selector(".capture-text:has-text('Listening: mic')", timeout=WAIT_MS)
            assert "call has no audio" in capture_text(page)
            assert page.get_attribute("#in-call", "data-state") == "unavailable"
            run.wait_err("browser: the shared tab or screen has no audio", START_S)
            wait_until(lambda: run.finals(), START_S, "a final from the microphone")
    finally:
        browser.close()
        rc = stop(run)
    records = session_records(tmp_path)
    assert_clean(run, rc, records)
    assert {e["speaker"] for e in run.finals()} == {"unknown"}  # the microphone alone
    (note,) = [n for n in capture_notes(records) if n.get("input") == "call"]
    assert (note["state"], note["reason"]) == ("unavailable", "NoAudioTrack")


def pumped_wait(page: Any, predicate: Any, what: str) -> None:
    deadline = time.monotonic() + START_S
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        page.wait_for_timeout(100)
