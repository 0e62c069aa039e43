"""Audio capture from the overlay page (``turnaround live --browser``): which page
captures, what it sends, and what the session notes about it.

One page at a time captures: the first to send ``listen`` holds the capture until it
disconnects; any other gets a ``capture_busy`` error (its Listen button says so). The
same page coming back on a new connection (a reconnect, carrying the same random
page id) takes over from its own stale connection at once.

Only the capturing page may send binary frames; each is parsed and checked
(``audio_frames``), and a bad one closes that page's connection with a close code
and a reason: never the coach, never another page.

The hub runs on the server's event loop; it reaches the pages and the session
through the callables :meth:`CaptureHub.bind` gives it, so it is tested without a
socket. ``on_listen`` (which routes the inputs get) and ``on_audio`` are called on
the loop and must not block; ``on_note`` (a record for the session file) runs on the
server's callback thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Collection
from typing import Any, Protocol

from websockets.frames import CloseCode

from assistant.server.audio_frames import (
    AudioFrame,
    FrameError,
    StreamCheck,
    parse_audio_frame,
)
from assistant.server.protocol import (
    Ack,
    CaptureMsg,
    InputChange,
    InputState,
    Listen,
    ProtocolError,
    ServerMessage,
)

log = logging.getLogger(__name__)

# Capture latencies kept for benchmarks (page capture -> arrival): ~5 min of frames.
LATENCIES_MAX = 20_000
# A stale connection being replaced, or a bad frame's page, must not hold the loop.
CLOSE_TIMEOUT_S = 2.0

# Routes: which speaker each input is ("mic"/"call" -> a Speaker value, None: not
# captured in this session). Decided by the first ``listen``.
Routes = dict[str, "str | None"]
ListenCallback = Callable[[bool, bool], Routes]
AudioCallback = Callable[[AudioFrame, float], None]
NoteCallback = Callable[[dict[str, Any]], None]

_INPUT_WORDS = {
    ("mic", InputState.DENIED): "microphone permission refused",
    ("mic", InputState.ENDED): "microphone stopped (unplugged or turned off)",
    ("mic", InputState.FAILED): "the browser could not start the microphone",
    ("mic", InputState.UNAVAILABLE): "no microphone available to the page",
    ("call", InputState.DENIED): "sharing the call's audio was refused or cancelled",
    ("call", InputState.ENDED): "call audio stopped: the shared tab closed or sharing stopped",
    ("call", InputState.FAILED): "the browser could not capture the call's audio",
    # No audio track: "Share tab audio" left unticked, a window picked (no audio), or a
    # browser that gives getDisplayMedia no audio at all (Firefox, Safari).
    ("call", InputState.UNAVAILABLE): "the shared tab or screen has no audio",
}


class PageLike(Protocol):
    """What the hub needs of a connected page (``pages.Page``)."""

    number: int
    ws: Any


class CaptureHub:
    def __init__(
        self,
        on_listen: ListenCallback,
        on_audio: AudioCallback,
        on_note: NoteCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        epoch_ms: Callable[[], float] = lambda: time.time() * 1000.0,
    ) -> None:
        self.on_listen = on_listen
        self.on_audio = on_audio
        self.on_note = on_note
        self._clock = clock
        self._epoch_ms = epoch_ms
        self.owner: PageLike | None = None
        self._owner_id = ""
        self._check = StreamCheck()
        self.routes: Routes = {}
        self.inputs: dict[str, InputState] = {"mic": InputState.OFF, "call": InputState.OFF}
        self.detail = ""
        self.lost_s = 0.0
        self._last_frame_s: float | None = None
        self._gone_s: float | None = None  # the capturing page left; audio stopped then
        self.frames = 0
        self.refused = 0  # connections closed for a bad or unwanted frame
        # Page capture -> arrival, ms (same clock on one machine: the page's epoch time).
        self.latencies_ms: deque[float] = deque(maxlen=LATENCIES_MAX)
        self._send: Callable[[PageLike, ServerMessage], None] = lambda page, msg: None
        self._pages: Collection[PageLike] = ()
        self._run: Callable[[NoteCallback, dict[str, Any]], None] = lambda fn, arg: fn(arg)
        self._closing: set[int] = set()  # pages being closed: their frames are ignored
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(
        self,
        send: Callable[[PageLike, ServerMessage], None],
        pages: Collection[PageLike],
        run: Callable[[NoteCallback, dict[str, Any]], None],
    ) -> None:
        """How to reach a page, the pages connected (a live collection), and how to
        run a callback off the event loop (the server's callback thread)."""
        self._send, self._pages, self._run = send, pages, run

    def _note(self, record: dict[str, Any]) -> None:
        if self.on_note is not None:
            self._run(self.on_note, record)

    # -- what a page sees -------------------------------------------------------------

    def state_for(self, page: PageLike) -> CaptureMsg:
        return CaptureMsg(
            owner=page is self.owner,
            busy=self.owner is not None and page is not self.owner,
            routes=dict(self.routes),
            inputs={name: state.value for name, state in self.inputs.items()},
            detail=self.detail,
            lost_s=round(self.lost_s, 3),
        )

    def announce(self) -> None:
        """Every page gets its own view of the capture (owner or not)."""
        for page in list(self._pages):
            self._send(page, self.state_for(page))

    def connected(self, page: PageLike) -> None:
        self._send(page, self.state_for(page))

    # -- page messages ----------------------------------------------------------------

    def on_message(self, page: PageLike, msg: Listen | InputChange) -> None:
        if isinstance(msg, Listen):
            self._listen(page, msg)
        else:
            self._input_change(page, msg)

    def _listen(self, page: PageLike, msg: Listen) -> None:
        if not (msg.mic or msg.call):
            raise ProtocolError("invalid", "listen needs at least one input (mic or call)")
        if self.owner is not None and page is not self.owner:
            if msg.page != self._owner_id:
                raise ProtocolError(
                    "capture_busy",
                    "another page is already listening: close that page (or its tab) first",
                )
            self._close(self.owner, CloseCode.GOING_AWAY, "replaced by this page's new connection")
        first = not self.routes
        if first:
            self.routes = dict(self.on_listen(msg.mic, msg.call))
        resumed = self.owner is None and self._gone_s is not None
        if page is not self.owner:
            self._check = StreamCheck()  # a new connection numbers its frames afresh
        self.owner, self._owner_id = page, msg.page
        for name, live in (("mic", msg.mic), ("call", msg.call)):
            if live:
                self.inputs[name] = InputState.LIVE
            elif self.inputs[name] is InputState.LIVE:
                self.inputs[name] = InputState.OFF
        live = [name for name in ("mic", "call") if self.inputs[name] is InputState.LIVE]
        self.detail = "listening: " + " and ".join(live)
        event = "listen" if first else "resumed" if resumed else "inputs"
        self._note({"event": event, "inputs": live, "routes": dict(self.routes)})
        self._send(page, Ack("listen", detail={"routes": dict(self.routes)}))
        self.announce()

    def _input_change(self, page: PageLike, msg: InputChange) -> None:
        if page is not self.owner:
            raise ProtocolError("not_capturing", "this page is not the one capturing")
        if msg.state is InputState.LIVE:
            raise ProtocolError("invalid", "an input goes live with a listen message")
        self.inputs[msg.input] = msg.state
        words = _INPUT_WORDS.get((msg.input, msg.state), f"{msg.input} {msg.state.value}")
        left = [name for name, state in self.inputs.items() if state is InputState.LIVE]
        self.detail = f"{words}; " + (
            f"coaching goes on with the {' and '.join(left)}" if left else "nothing is captured"
        )
        self._note(
            {
                "event": "input",
                "input": msg.input,
                "state": msg.state.value,
                "reason": msg.reason,
                "detail": words,
            }
        )
        self.announce()

    # -- audio ------------------------------------------------------------------------

    def on_binary(self, page: PageLike, data: bytes) -> bool:
        """Take one binary frame; False when the page's connection is being closed."""
        now = self._clock()
        if id(page) in self._closing:
            return False
        try:
            if page is not self.owner:
                raise FrameError(
                    CloseCode.POLICY_VIOLATION,
                    "audio from a page that is not capturing (send listen first)",
                )
            frame = parse_audio_frame(data)
            self._check.admit(frame, now)
            name = frame.channel.input_name
            if self.routes.get(name) is None:
                raise FrameError(
                    CloseCode.POLICY_VIOLATION, f"this session does not capture the {name}"
                )
        except FrameError as exc:
            self.refused += 1
            # The reason in the template: each kind is said once, repeats are counted.
            log.warning(f"overlay client closed: {exc.reason} (client %d)", page.number)
            self._close(page, exc.code, exc.reason)
            return False
        self._resume_after_gap(frame, now)
        self.frames += 1
        self._last_frame_s = now
        self.latencies_ms.append(self._epoch_ms() - frame.capture_ms)
        try:
            self.on_audio(frame, now)
        except Exception:  # a bug costs this frame and one log line, not the page
            log.error("audio frame from overlay client %d not taken", page.number, exc_info=True)
        return True

    def _resume_after_gap(self, frame: AudioFrame, now: float) -> None:
        """The first frame after the capturing page came back: the audio between its
        last frame and this one is lost (nobody was sending it); say how much."""
        if self._gone_s is None:
            return
        since = self._last_frame_s if self._last_frame_s is not None else self._gone_s
        self._gone_s = None
        self.lost_s = max(0.0, now - since - frame.duration_s)
        self.detail = f"reconnected: {self.lost_s:.1f} s of audio lost while disconnected"
        self._note({"event": "reconnected", "lost_s": round(self.lost_s, 3)})
        self.announce()

    def disconnected(self, page: PageLike) -> None:
        self._closing.discard(id(page))
        if page is not self.owner:
            return
        self.owner = None
        self._gone_s = self._clock()
        self.detail = "the listening page disconnected: no audio until it reconnects"
        self._note({"event": "page_disconnected"})
        self.announce()

    def _close(self, page: PageLike, code: int, reason: str) -> None:
        async def close() -> None:
            try:
                await asyncio.wait_for(page.ws.close(code, reason), CLOSE_TIMEOUT_S)
            except (asyncio.TimeoutError, OSError):
                with contextlib.suppress(Exception):
                    page.ws.transport.abort()

        if page is self.owner:
            self.disconnected(page)
        self._closing.add(id(page))
        task = asyncio.get_running_loop().create_task(close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
