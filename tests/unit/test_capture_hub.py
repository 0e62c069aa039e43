"""The capture hub on its own: who may capture, what a bad frame costs, what the
session notes. Pages are stand-ins that record what they are sent and how they are
closed; the frames are real ones, as the page builds them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from websockets.frames import CloseCode

from assistant.server.audio_frames import Channel, build_audio_frame
from assistant.server.capture import CaptureHub
from assistant.server.protocol import (
    Ack,
    CaptureMsg,
    InputChange,
    InputState,
    Listen,
    ProtocolError,
    parse_client_message,
)

PCM = b"\x01\x00" * 512
PAGE_A = "a" * 32
PAGE_B = "b" * 32


class FakeWs:
    def __init__(self) -> None:
        self.closed: tuple[int, str] | None = None

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class FakePage:
    def __init__(self, number: int) -> None:
        self.number = number
        self.ws = FakeWs()
        self.sent: list[Any] = []


class Rig:
    def __init__(self) -> None:
        self.now = 100.0
        self.listens: list[tuple[bool, bool]] = []
        self.audio: list[tuple[str, int]] = []
        self.notes: list[dict[str, Any]] = []
        self.pages: list[FakePage] = []
        self.hub = CaptureHub(
            self._on_listen,
            lambda frame, now: self.audio.append((frame.channel.input_name, frame.seq)),
            self.notes.append,
            clock=lambda: self.now,
            epoch_ms=lambda: 1.7e12 + 5.0,
        )
        self.hub.bind(lambda page, msg: page.sent.append(msg), self.pages, lambda fn, a: fn(a))

    def _on_listen(self, mic: bool, call: bool) -> dict[str, str | None]:
        self.listens.append((mic, call))
        return {"mic": "rep" if call else "unknown", "call": "customer" if call else None}

    def page(self) -> FakePage:
        page = FakePage(len(self.pages) + 1)
        self.pages.append(page)
        self.hub.connected(page)
        return page

    def frame(self, page: FakePage, channel: Channel, seq: int, **kw: Any) -> bool:
        return self.hub.on_binary(page, build_audio_frame(channel, seq, 1.7e12, PCM, **kw))


def run(body: Callable[[Rig], None]) -> Rig:
    rig = Rig()

    async def main() -> None:
        body(rig)
        await asyncio.sleep(0)  # let the close tasks run

    asyncio.run(main())
    return rig


def last_state(page: FakePage) -> CaptureMsg:
    return [m for m in page.sent if isinstance(m, CaptureMsg)][-1]


def test_the_listen_message_is_parsed_strictly() -> None:
    assert parse_client_message(
        f'{{"v": 1, "type": "listen", "page": "{PAGE_A}", "mic": true, "call": false}}'
    ) == Listen(PAGE_A, True, False)
    assert parse_client_message(
        '{"v": 1, "type": "input", "input": "call", "state": "ended", "reason": ""}'
    ) == InputChange("call", InputState.ENDED, "")
    for bad in (
        '{"v": 1, "type": "listen", "page": "short", "mic": true, "call": true}',
        f'{{"v": 1, "type": "listen", "page": "{PAGE_A}", "mic": 1, "call": true}}',
        '{"v": 1, "type": "input", "input": "speaker", "state": "ended"}',
        '{"v": 1, "type": "input", "input": "mic", "state": "gone"}',
        '{"v": 1, "type": "input", "input": "mic", "state": "ended", "reason": "<b>x</b>"}',
    ):
        with pytest.raises(ProtocolError):
            parse_client_message(bad)


def test_the_first_listen_decides_the_routes_and_audio_flows() -> None:
    def body(rig: Rig) -> None:
        page = rig.page()
        assert last_state(page) == CaptureMsg(
            owner=False, busy=False, routes={}, inputs={"mic": "off", "call": "off"}
        )
        rig.hub.on_message(page, Listen(PAGE_A, True, True))
        assert isinstance(page.sent[-2], Ack) and page.sent[-2].detail["routes"] == {
            "mic": "rep",
            "call": "customer",
        }
        assert last_state(page).owner and last_state(page).inputs == {
            "mic": "live",
            "call": "live",
        }
        assert rig.frame(page, Channel.MIC, 0) and rig.frame(page, Channel.CALL, 0)
        # A later listen (sharing again) keeps the routes the first one decided.
        rig.hub.on_message(page, Listen(PAGE_A, True, False))

    rig = run(body)
    assert rig.listens == [(True, True)]
    assert rig.audio == [("mic", 0), ("call", 0)]
    assert [n["event"] for n in rig.notes] == ["listen", "inputs"]
    assert rig.hub.latencies_ms[0] == pytest.approx(5.0)


def test_a_second_page_is_refused_and_cannot_send_audio() -> None:
    def body(rig: Rig) -> None:
        first, second = rig.page(), rig.page()
        rig.hub.on_message(first, Listen(PAGE_A, True, True))
        assert last_state(second).busy and not last_state(second).owner
        with pytest.raises(ProtocolError) as caught:
            rig.hub.on_message(second, Listen(PAGE_B, True, True))
        assert caught.value.code == "capture_busy"
        assert not rig.frame(second, Channel.MIC, 0)
        assert rig.frame(first, Channel.MIC, 0)  # the capturing page is untouched

    rig = run(body)
    assert rig.pages[1].ws.closed == (
        CloseCode.POLICY_VIOLATION,
        "audio from a page that is not capturing (send listen first)",
    )
    assert rig.pages[0].ws.closed is None
    assert rig.audio == [("mic", 0)]


def test_a_bad_frame_closes_its_page_and_later_frames_are_ignored() -> None:
    def body(rig: Rig) -> None:
        page = rig.page()
        rig.hub.on_message(page, Listen(PAGE_A, True, True))
        assert rig.frame(page, Channel.MIC, 0)
        assert not rig.hub.on_binary(page, b"\x00" * 40)
        assert not rig.frame(page, Channel.MIC, 1)  # already being closed

    rig = run(body)
    assert rig.pages[0].ws.closed == (
        CloseCode.INVALID_DATA,
        "malformed audio frame: bad magic byte 0x00",
    )
    assert rig.hub.refused == 1 and rig.hub.owner is None
    assert [n["event"] for n in rig.notes] == ["listen", "page_disconnected"]


def test_an_input_the_session_has_no_route_for_is_refused() -> None:
    def body(rig: Rig) -> None:
        page = rig.page()
        rig.hub.on_message(page, Listen(PAGE_A, True, False))  # microphone only
        assert not rig.frame(page, Channel.CALL, 0)

    rig = run(body)
    assert rig.pages[0].ws.closed == (
        CloseCode.POLICY_VIOLATION,
        "this session does not capture the call",
    )


def test_the_same_page_back_on_a_new_connection_takes_over_and_the_gap_is_said() -> None:
    def body(rig: Rig) -> None:
        stale = rig.page()
        rig.hub.on_message(stale, Listen(PAGE_A, True, True))
        assert rig.frame(stale, Channel.MIC, 0)
        rig.now += 3.0  # the connection dropped; the page reconnects 3 s later
        fresh = rig.page()
        rig.hub.on_message(fresh, Listen(PAGE_A, True, True))
        assert rig.hub.owner is fresh
        assert rig.frame(fresh, Channel.MIC, 0)  # its own numbering, from 0

    rig = run(body)
    assert rig.pages[0].ws.closed == (
        CloseCode.GOING_AWAY,
        "replaced by this page's new connection",
    )
    events = [n["event"] for n in rig.notes]
    assert events == ["listen", "page_disconnected", "resumed", "reconnected"]
    assert rig.notes[-1]["lost_s"] == pytest.approx(3.0 - 0.032)
    assert "3.0 s of audio lost" in last_state(rig.pages[1]).detail


def test_input_changes_are_noted_in_words_and_only_from_the_capturing_page() -> None:
    def body(rig: Rig) -> None:
        page, other = rig.page(), rig.page()
        rig.hub.on_message(page, Listen(PAGE_A, True, True))
        rig.hub.on_message(page, InputChange("call", InputState.ENDED, ""))
        assert last_state(other).inputs == {"mic": "live", "call": "ended"}
        assert "coaching goes on with the mic" in last_state(other).detail
        with pytest.raises(ProtocolError) as caught:
            rig.hub.on_message(other, InputChange("mic", InputState.DENIED, "NotAllowedError"))
        assert caught.value.code == "not_capturing"

    rig = run(body)
    assert rig.notes[-1] == {
        "event": "input",
        "input": "call",
        "state": "ended",
        "reason": "",
        "detail": "call audio stopped: the shared tab closed or sharing stopped",
    }
