"""A real overlay server for a test, real websocket and HTTP clients for it, and
the callbacks it reports to (shared by the server, hardening and browser tests)."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from assistant.events import to_json_dict
from assistant.server.server import OverlayServer

# Generous: a loaded 2-core CI machine, never a latency claim.
TIMEOUT_S = 20.0


class Recorder:
    def __init__(self) -> None:
        self.controls: list[str] = []
        self.feedback: list[dict[str, Any]] = []
        self.changed = threading.Event()

    def control(self, action: str) -> None:
        self.controls.append(action)
        self.changed.set()

    def record(self, outcome: Any) -> None:
        # The session-file record the outcome becomes (what the recorder writes).
        self.feedback.append(to_json_dict(outcome))
        self.changed.set()

    def wait_for(self, predicate, timeout_s: float = TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            assert time.monotonic() < deadline, "callback never arrived"
            self.changed.wait(0.05)
            self.changed.clear()


@pytest.fixture
def calls() -> Recorder:
    return Recorder()


@pytest.fixture
def server(calls: Recorder) -> Iterator[OverlayServer]:
    srv = OverlayServer(port=0, on_control=calls.control, on_feedback=calls.record)
    srv.start()
    yield srv
    srv.stop()


def origin(srv: OverlayServer) -> str:
    return f"http://127.0.0.1:{srv.port}"


def ws_url(srv: OverlayServer, token: str | None = None) -> str:
    return f"ws://127.0.0.1:{srv.port}/ws" + (f"?token={token}" if token else "")


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))


async def recv_until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        msg = await recv_json(ws)
        if msg["type"] == kind:
            return msg


async def send_json(ws: ClientConnection, **message: Any) -> None:
    await ws.send(json.dumps({"v": 1, **message}))


def run(coro) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 3 * TIMEOUT_S))


def wait_until(predicate, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.02)


def http_get(srv: OverlayServer, path: str, host: str | None = None) -> tuple[int, dict, bytes]:
    """A raw GET, path sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=TIMEOUT_S)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host or f"127.0.0.1:{srv.port}")
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def stalled_socket(port: int) -> socket.socket:
    """A TCP connection with a tiny receive buffer, so backpressure comes quickly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock
