"""One call's overlay on the team server: its pages, what they show, its capture.

Every call has a room, and a room knows nothing of the others: its own
``OverlayState`` (captions, cards, metrics, status), its own pages, its own
capture hub. A page reaches a room only through its token (the team server's
routing), so a rep's page can only ever be sent its own call.

Two kinds of page:

* the **rep's** page: the overlay as ``live --browser`` serves it, with Listen,
  feedback on cards and pause/resume;
* a **watcher** (the manager, from ``/team``): the same overlay, read-only. It is
  sent everything the rep's page is sent except the capture controls; anything it
  sends besides render acknowledgements is answered with a ``read_only`` error,
  and audio from it closes it.

The room is the ``server`` that ``assemble()`` attaches to the call's session
(``on_control``, ``on_feedback``, ``on_card_closed``, ``describe``, ``handler``):
the same interface as ``OverlayServer``, on the team server's event loop. Like the
overlay server, a page that stops reading costs only itself (bounded queue,
``client_queue``), and callbacks into the session run on one thread of the
room's own, in order, never on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from assistant import __version__
from assistant.events import Event, Signal, SpeechStarted
from assistant.server.capture import CaptureHub
from assistant.server.client_queue import CLIENT_QUEUE_MAX, Outgoing, outgoing
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
    parse_client_message,
)
from assistant.server.state import OverlayState

SERVER_NAME = f"turnaround {__version__} (team)"
_OVERLAY_CLOSES = (CloseReason.EXPIRED, CloseReason.REPLACED)
# What a rep's page is told when it asks for what its call cannot do (yet).
UNAVAILABLE = Unavailable(
    control="the call has not started yet",
    audio="this call does not take audio from the page",
)

log = logging.getLogger(__name__)


class CallRoom:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        label: str,
        hub: CaptureHub | None = None,
        queue_size: int = CLIENT_QUEUE_MAX,
        send_timeout_s: float = SEND_TIMEOUT_S,
    ) -> None:
        self.label = label  # "dana/3": which call, in log lines
        self._loop = loop
        self._queue_size = queue_size
        self._send_timeout_s = send_timeout_s
        self._state = OverlayState()
        self.reps: set[Page] = set()
        self.watchers: set[Page] = set()
        self._numbers = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._callbacks = ThreadPoolExecutor(1, thread_name_prefix=f"call-{label}")
        self.summary: bytes | None = None
        self.left_wall: float | None = time.monotonic()  # when the last rep page left
        # What assemble() wires (the OverlayServer interface).
        self.on_control: Callable[[ControlAction], None] | None = None
        self.on_feedback: Callable[[Any], None] | None = None
        self.on_card_closed: Callable[[Any], None] | None = None
        self.hub = hub
        # No on_rendered: render latency is the single-call overlay's measurement.
        self._messages = PageMessages(
            self._state, self._broadcast, self._enqueue, self._callback, UNAVAILABLE
        )
        if hub is not None:
            hub.bind(
                lambda page, msg: self._enqueue(page, outgoing(msg)), self.reps, self._callback
            )

    # -- the session's side (any thread) -----------------------------------------------

    def describe(self, model: str = "", devices: list[str] | None = None) -> None:
        self._call(self._describe, model, list(devices or []))

    def handler(self, event: Event) -> None:
        """Session handler: hand the event to the loop; never blocks."""
        if isinstance(event, (SpeechStarted, Signal)):
            return
        self._call(self._on_event, event)

    def publish_summary(self, html: str, path: str) -> None:
        self.summary = html.encode("utf-8")
        self._call(lambda: self._broadcast(self._state.publish_summary(path)))

    def close(self) -> None:
        """The call is over and its last frames sent: no more callbacks."""
        self._callbacks.shutdown(wait=False)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        if self._loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
            self._loop.call_soon_threadsafe(fn, *args)

    # -- the loop's side ---------------------------------------------------------------

    @property
    def has_rep(self) -> bool:
        return bool(self.reps)

    def _describe(self, model: str, devices: list[str]) -> None:
        self._state.model, self._state.devices = model, devices

    def _on_event(self, event: Event) -> None:
        for msg in self._state.on_event(event):
            self._broadcast(msg)

    def expire(self) -> None:
        """About once a second: cards whose time is up, and the "behind" figure."""
        for msg in self._state.expire():
            self._broadcast(msg)

    def _broadcast(self, msg: ServerMessage) -> None:
        closed = isinstance(msg, CardClosed) and msg.reason in _OVERLAY_CLOSES
        if closed and self.on_card_closed is not None:
            self._callback(self.on_card_closed, self._state.closed(msg))
        item = outgoing(msg)
        for page in [*self.reps, *self.watchers]:
            self._enqueue(page, item)

    def _enqueue(self, page: Page, item: Outgoing) -> None:
        if not page.offer(item):
            self._drop(page, "too slow: send queue full")

    def _drop(self, page: Page, reason: str) -> None:
        if page.closing:
            return
        page.closing = True
        log.warning("call %s: page %d disconnected: %s", self.label, page.number, reason)
        self._spawn(page.close(reason))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def serve(self, ws: ServerConnection, watcher: bool) -> None:
        """One page, from its handshake to its close. Never raises."""
        page = Page(ws, next(self._numbers), self._queue_size)
        pages = self.watchers if watcher else self.reps
        pages.add(page)
        if not watcher:
            self.left_wall = None
        self._enqueue(page, Outgoing(self._state.snapshot(SERVER_NAME).to_wire()))
        if self.hub is not None and not watcher:
            self.hub.connected(page)
        sender = asyncio.create_task(
            page.send_loop(
                self._send_timeout_s,
                lambda: self._drop(page, f"stalled: no frame taken in {self._send_timeout_s:g} s"),
            )
        )
        try:
            async for raw in ws:
                try:
                    if watcher:
                        self._from_watcher(page, raw)
                    elif isinstance(raw, bytes):
                        if self.hub is not None:
                            self.hub.on_binary(page, raw)  # a bad frame closes this page
                        else:
                            self._refuse(page, "this call takes no audio")
                    else:
                        self._messages.handle(
                            page, raw, self.on_feedback, self.on_control, self.hub
                        )
                except Exception:  # a bug costs one error frame, never the call
                    log.error("call %s: message not handled", self.label, exc_info=True)
                    self._enqueue(page, Outgoing(Error("internal", "not handled").to_wire()))
        except ConnectionClosed:
            pass
        finally:
            pages.discard(page)
            sender.cancel()
            if not watcher:
                if self.hub is not None:
                    self.hub.disconnected(page)
                if not self.reps:
                    self.left_wall = time.monotonic()

    def _refuse(self, page: Page, reason: str) -> None:
        page.closing = True

        async def close() -> None:
            try:
                await asyncio.wait_for(page.ws.close(CloseCode.POLICY_VIOLATION, reason), 2.0)
            except (asyncio.TimeoutError, OSError):
                with contextlib.suppress(Exception):
                    page.ws.transport.abort()

        self._spawn(close())

    def _from_watcher(self, page: Page, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            self._refuse(page, "a read-only view sends no audio")
            return
        try:
            msg = parse_client_message(raw)
            if isinstance(msg, Rendered):
                return  # the watcher painted something: nothing to measure here
            raise ProtocolError("read_only", "this is a read-only view of the call")
        except ProtocolError as exc:
            self._enqueue(page, Outgoing(Error(exc.code, exc.message).to_wire()))

    def _callback(self, fn: Callable[[Any], None], arg: Any) -> None:
        def run() -> None:
            try:
                fn(arg)
            except Exception:
                log.error("call %s: callback failed", self.label, exc_info=True)

        with contextlib.suppress(RuntimeError):  # shut down: the call is over
            self._callbacks.submit(run)

    async def flush(self, timeout_s: float) -> None:
        """Give the pages' queues a moment to empty (the last final, "stopped")."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(
            len(p.queue) for p in [*self.reps, *self.watchers] if not p.closing
        ):
            await asyncio.sleep(0.02)

    def close_pages(self, reason: str) -> None:
        for page in [*self.reps, *self.watchers]:
            self._drop(page, reason)
