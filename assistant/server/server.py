"""Overlay server: the page's static files and a websocket event stream on one port.

    server = OverlayServer(on_control=..., on_feedback=recorder.write)
    server.start()                      # background thread with its own event loop
    session.handlers.append(server.handler)
    print(server.url)
    ...
    server.stop()

``handler`` is called on the Session consumer thread and only hands the event to the
server's loop (``call_soon_threadsafe``), so the audio path never waits on a page.
Every page has its own bounded queue and sender task (policy in ``client_queue``);
a page that stops reading is disconnected without delaying anyone else.
Callbacks (``on_control``, ``on_feedback``) run on one worker thread, in order, so a
slow disk or a busy pipeline cannot stall the loop either.

Hostile or broken clients: connections are capped with descriptors kept in reserve
(``conn_guard``); no request, frame or message can raise out of the handlers (a bad
one gets a 4xx or an error frame, and is logged in one line at most); pause/resume
is rate-limited per page. On ``stop()`` the queued frames (the final caption, the
"stopped" status) are flushed before the connections close.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from assistant import __version__
from assistant.events import CardFeedback, CardRemoved, Event, Signal, SpeechStarted
from assistant.server.access import (
    AccessPolicy,
    is_loopback,
    overlay_dir,
    overlay_url,
)
from assistant.server.capture import CaptureHub
from assistant.server.client_queue import CLIENT_QUEUE_MAX, Outgoing, outgoing
from assistant.server.conn_guard import (
    ConnectionGuard,
    connection_cap,
    raise_fd_limit,
)
from assistant.server.dispatch import answer
from assistant.server.latency import latency_record
from assistant.server.listen import listening
from assistant.server.page_messages import PageMessages, Unavailable
from assistant.server.pages import SEND_TIMEOUT_S, Page
from assistant.server.protocol import (
    CardClosed,
    CloseReason,
    ControlAction,
    Error,
    ProtocolError,
    Rendered,
    ServerMessage,
)
from assistant.server.state import OverlayState
from assistant.server.summary import SUMMARY_PATH

SERVER_NAME = f"turnaround {__version__}"
# Latency records kept for benchmarks: hours of cards and captions, bounded.
LATENCIES_MAX = 10_000
START_TIMEOUT_S = 10.0
# On stop, how long queued frames (the last final, "stopped") may take to go out.
FLUSH_TIMEOUT_S = 1.0
# What a page is told when it asks for what this run cannot do.
UNAVAILABLE = Unavailable(
    control="this session cannot be paused",
    audio="this run does not take audio from the page",
)

log = logging.getLogger(__name__)

ControlCallback = Callable[[ControlAction], None]
# What became of a card, for the session (the coach's pacing, the recorder).
FeedbackCallback = Callable[[CardFeedback | CardRemoved], None]


class OverlayServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        token: str | None = None,
        static_dir: Path | None = None,
        on_control: ControlCallback | None = None,
        on_feedback: FeedbackCallback | None = None,
        queue_size: int = CLIENT_QUEUE_MAX,
        send_timeout_s: float = SEND_TIMEOUT_S,
        on_card_closed: FeedbackCallback | None = None,
    ) -> None:
        self.host = host
        self.port = port  # the real port once started (port 0 picks a free one)
        token = token or None  # an empty token would let anyone in
        # Beyond loopback anyone on the network could connect: require a token.
        if token is None and not is_loopback(host):
            token = secrets.token_urlsafe(24)
        self.token = token
        self.static_dir = Path(static_dir) if static_dir is not None else overlay_dir()
        self.on_control = on_control
        self.on_feedback = on_feedback
        self.on_card_closed = on_card_closed  # cards that expired or were replaced
        self._summary: bytes | None = None
        self._queue_size = queue_size
        self._send_timeout_s = send_timeout_s
        self._state = OverlayState()
        self._messages = PageMessages(
            self._state,
            self._broadcast,
            self._enqueue,
            self._callback,
            UNAVAILABLE,
            self._on_rendered,
        )
        self._clients: set[Page] = set()
        self._numbers = itertools.count(1)
        self._latencies: deque[dict[str, Any]] = deque(maxlen=LATENCIES_MAX)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._callbacks: ThreadPoolExecutor | None = None
        self._policy = AccessPolicy(port, is_loopback(host), token)
        self.disconnected_slow = 0  # clients dropped for not keeping up
        self.guard = ConnectionGuard(connection_cap(raise_fd_limit()[0]))
        self.capture: CaptureHub | None = None  # --browser: the page sends the audio

    # -- lifecycle (any thread) ------------------------------------------------------

    def start(self) -> None:
        """Listen in a background thread; returns once the port is open."""
        if self._thread is not None:
            raise RuntimeError("OverlayServer already started")
        self._callbacks = ThreadPoolExecutor(1, thread_name_prefix="overlay-callbacks")
        self._thread = threading.Thread(target=self._run, name="overlay-server", daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_S):
            raise RuntimeError("overlay server did not start")
        if self._start_error is not None:
            raise self._start_error

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # loop already gone
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)
        if self._callbacks is not None:
            self._callbacks.shutdown(wait=True)

    @property
    def url(self) -> str:
        """The address to open in a browser (with the token when one is required)."""
        return overlay_url(self.host, self.port, self.token)

    @property
    def latencies(self) -> list[dict[str, Any]]:
        """One record per card or final caption a page acknowledged rendering."""
        return list(self._latencies)

    @property
    def clients(self) -> int:
        return len(self._clients)

    def describe(self, model: str = "", devices: list[str] | None = None) -> None:
        """Model and input names for the page's status line."""
        if self._loop is None:  # not started: no other thread touches the state yet
            self._describe(model, list(devices or []))
        else:
            self._call(self._describe, model, list(devices or []))

    def enable_capture(self, hub: CaptureHub) -> None:
        """Take the call's audio from the capturing page (``capture``); any thread."""
        hub.bind(lambda p, m: self._enqueue(p, outgoing(m)), self._clients, self._callback)
        self.capture = hub
        self._call(hub.announce)

    def publish_summary(self, html: str) -> str:
        """Serve ``html`` (the call's report) at /summary and link it from every
        page; returns the path. Any thread."""
        self._summary = html.encode("utf-8")
        self._call(self._announce_summary)
        return SUMMARY_PATH

    def _announce_summary(self) -> None:
        self._broadcast(self._state.publish_summary(SUMMARY_PATH))

    def handler(self, event: Event) -> None:
        """Session handler: hand the event to the server loop; never blocks."""
        if isinstance(event, (SpeechStarted, Signal)):
            return  # nothing the page shows (SpeechEnded feeds the "behind" figure)
        self._call(self._on_event, event)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # stopped between the check and the call
            loop.call_soon_threadsafe(fn, *args)

    # -- event loop thread -----------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(), or logged after it
            if not self._started.is_set():
                self._start_error = exc
                self._started.set()
            else:
                log.exception("overlay server stopped with an error")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with listening(
            self._connection,
            self.host,
            self.port,
            self.guard,
            lambda request: answer(request, self._policy, self.static_dir, self._summary),
            logging.getLogger(f"{__name__}.websockets"),
        ) as port:
            self.port = port
            self._policy = AccessPolicy(self.port, is_loopback(self.host), self.token)
            self._started.set()
            expiry = asyncio.create_task(self._expire_cards())
            try:
                await self._stopping.wait()
                await self._flush(FLUSH_TIMEOUT_S)
            finally:
                expiry.cancel()

    async def _flush(self, timeout_s: float) -> None:
        """Give every page's queue a moment to empty: the closing "stopped" status
        and the last final caption are what a page most needs to see."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(
            len(c.queue) for c in self._clients if not c.closing
        ):
            await asyncio.sleep(0.02)

    async def _expire_cards(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for msg in self._state.expire():
                self._broadcast(msg)

    def _describe(self, model: str, devices: list[str]) -> None:
        self._state.model, self._state.devices = model, devices

    def _on_event(self, event: Event) -> None:
        for msg in self._state.on_event(event):
            self._broadcast(msg)

    def _broadcast(self, msg: ServerMessage) -> None:
        if isinstance(msg, CardClosed) and msg.reason in (
            CloseReason.EXPIRED,
            CloseReason.REPLACED,
        ):
            self._record_closed(msg)
        item = outgoing(msg)  # serialised once for every client
        for client in list(self._clients):
            self._enqueue(client, item)

    def _record_closed(self, msg: CardClosed) -> None:
        if self.on_card_closed is not None:
            self._callback(self.on_card_closed, self._state.closed(msg))

    def _enqueue(self, client: Page, item: Outgoing) -> None:
        if not client.offer(item):
            self._drop(client, "too slow: send queue full")

    def _drop(self, client: Page, reason: str) -> None:
        if client.closing:
            return
        client.closing = True
        self.disconnected_slow += 1
        log.warning("overlay client %d disconnected: %s", client.number, reason)
        task = asyncio.create_task(client.close(reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connection(self, ws: ServerConnection) -> None:
        client = Page(ws, next(self._numbers), self._queue_size)
        self._clients.add(client)
        self._enqueue(client, Outgoing(self._state.snapshot(SERVER_NAME).to_wire()))
        if self.capture is not None:
            self.capture.connected(client)
        sender = asyncio.create_task(
            client.send_loop(
                self._send_timeout_s,
                lambda: self._drop(
                    client, f"stalled: no frame taken in {self._send_timeout_s:g} s"
                ),
            )
        )
        try:
            async for raw in ws:
                if isinstance(raw, bytes) and self.capture is not None:
                    self.capture.on_binary(client, raw)  # a bad frame closes this page
                    continue
                try:
                    self._messages.handle(
                        client, raw, self.on_feedback, self.on_control, self.capture
                    )
                except Exception:  # a bug must cost one error frame, not the page
                    log.error("overlay message handling failed", exc_info=True)
                    self._enqueue(client, Outgoing(Error("internal", "not handled").to_wire()))
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            sender.cancel()
            if self.capture is not None:
                self.capture.disconnected(client)

    # -- page messages ---------------------------------------------------------------

    def _callback(self, fn: Callable[[Any], None], arg: Any) -> None:
        def run() -> None:
            try:
                fn(arg)
            except Exception:
                log.exception("overlay callback failed")

        if self._callbacks is not None:
            self._callbacks.submit(run)

    def _on_rendered(self, client: Page, msg: Rendered) -> None:
        """Latency, two ways (README.md, "Latency"): server clock at the ack's arrival
        (includes the ack's trip back, well under a millisecond on loopback), and the
        server's send time plus the page's own receive-to-paint delay."""
        origin = self._state.origin(msg.id)
        if origin is None:
            raise ProtocolError("unknown_id", "no such card or caption (it may be too old)")
        if not client.first_ack(msg.id):
            return
        sent = client.sent_wall.get(msg.id)
        if sent is None:
            return  # not sent live to this page (a snapshot, or long ago): no latency
        self._latencies.append(
            latency_record(origin, msg.id, client.number, sent, time.monotonic(), msg.render_ms)
        )
