"""One connected overlay page: its bounded send queue and sender task, and what the
server remembers about it (send times for latency acks, ids it acknowledged, its
recent pause/resume requests).

A page that stops reading costs only itself: its queue is bounded (``client_queue``
decides what may be dropped), a send that is not taken within the timeout marks it
stalled, and closing it never waits on it for long.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from assistant.server.client_queue import ClientQueue, Outgoing

# A page that has not taken one frame in 5 s is stalled (a frozen tab, a dead
# network): at 4 metrics/s plus captions its queue would be stale by then anyway.
SEND_TIMEOUT_S = 5.0
# A stalled peer cannot read a close frame either; abort the TCP connection then.
CLOSE_TIMEOUT_S = 2.0
# Send times remembered per page for latency acks (a page acks within a frame).
SENT_TIMES_MAX = 256
# Pause/resume per page: a person presses a key a few times; a script spamming it
# would otherwise turn each message into a status frame for every page.
CONTROL_BURST = 5
CONTROL_WINDOW_S = 5.0
# Ids a page has acknowledged (each is acked once), bounded for day-long calls.
ACKED_MAX = 1024


class Page:
    def __init__(self, ws: ServerConnection, number: int, queue_size: int) -> None:
        self.ws = ws
        self.number = number
        self.queue = ClientQueue(queue_size)
        self.wake = asyncio.Event()
        self.sent_wall: OrderedDict[str, float] = OrderedDict()
        self.acked: OrderedDict[str, None] = OrderedDict()
        self.controls: deque[float] = deque(maxlen=CONTROL_BURST)
        self.closing = False

    def offer(self, item: Outgoing) -> bool:
        """Queue a frame for this page; False when its queue is full of frames that
        must not be dropped (the page is too slow)."""
        if self.closing:
            return True
        if not self.queue.put(item):
            return False
        self.wake.set()
        return True

    async def send_loop(self, timeout_s: float, on_stall: Callable[[], None]) -> None:
        """Send queued frames in order until the connection closes or stalls."""
        while True:
            item = self.queue.pop()
            if item is None:
                self.wake.clear()
                await self.wake.wait()
                continue
            try:
                await asyncio.wait_for(self.ws.send(item.text), timeout_s)
            except asyncio.TimeoutError:
                on_stall()
                return
            except ConnectionClosed:
                return
            if item.track_id is not None:
                self.sent_wall[item.track_id] = time.monotonic()
                if len(self.sent_wall) > SENT_TIMES_MAX:
                    self.sent_wall.popitem(last=False)

    async def close(self, reason: str) -> None:
        # 1013 "try again later": the page reconnects and starts from a snapshot.
        try:
            await asyncio.wait_for(
                self.ws.close(CloseCode.TRY_AGAIN_LATER, reason), CLOSE_TIMEOUT_S
            )
        except asyncio.TimeoutError:
            self.ws.transport.abort()

    def allow_control(self, now: float) -> bool:
        """A pause/resume request within the page's rate limit (and counted)."""
        if len(self.controls) == CONTROL_BURST and now - self.controls[0] < CONTROL_WINDOW_S:
            return False
        self.controls.append(now)
        return True

    def first_ack(self, item_id: str) -> bool:
        """True the first time the page acknowledges rendering ``item_id``."""
        if item_id in self.acked:
            return False
        self.acked[item_id] = None
        if len(self.acked) > ACKED_MAX:
            self.acked.popitem(last=False)
        return True
