"""Load generators for the overlay server: idle TCP connections that are held open
(and re-opened whenever the server closes them), as a hostile web page or a port
scanner would hold them, and overlay pages that record every final caption they
are sent. Used by the soak benchmark and by the tests.

    python -m benchmarks.load --port 8765 --clients 20 --idle 1000   # until stdin closes
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import resource
import selectors
import socket
import sys
import threading
import time
from typing import Any

# Re-open a connection the server closed after this long: an attacker holding
# connections, not a tight reconnect loop burning both processes' CPU.
REOPEN_DELAY_S = 0.5


def ensure_fd_limit(needed: int) -> None:
    """Raise this process's soft descriptor limit so it can hold ``needed``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        top = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


class IdleFlood:
    """Holds ``count`` idle connections to ``port`` on a background thread."""

    def __init__(self, port: int, count: int, host: str = "127.0.0.1") -> None:
        self.addr = (host, port)
        self.count = count
        self.opened = 0  # connections that completed (from our side)
        self.closed_by_server = 0
        self.failed = 0
        self.peak_open = 0
        self._sel = selectors.DefaultSelector()
        self._reopen_at: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="idle-flood", daemon=True)
        ensure_fd_limit(count + 256)

    def __enter__(self) -> IdleFlood:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def open_now(self) -> int:
        return sum(1 for key in list(self._sel.get_map().values()) if key.data == "open")

    def wait_open(self, at_least: int, timeout_s: float = 10.0) -> int:
        deadline = time.monotonic() + timeout_s
        while self.open_now < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.open_now

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _connect(self) -> None:
        sock = socket.socket()
        sock.setblocking(False)
        rc = sock.connect_ex(self.addr)
        if rc not in (0, errno.EINPROGRESS):
            sock.close()
            self.failed += 1
            self._reopen_at.append(time.monotonic() + REOPEN_DELAY_S)
            return
        self._sel.register(sock, selectors.EVENT_WRITE, "connecting")

    def _drop(self, sock: socket.socket, by_server: bool) -> None:
        self._sel.unregister(sock)
        sock.close()
        if by_server:
            self.closed_by_server += 1
        else:
            self.failed += 1
        self._reopen_at.append(time.monotonic() + REOPEN_DELAY_S)

    def _run(self) -> None:
        for _ in range(self.count):
            self._connect()
        while not self._stop.is_set():
            for key, _ in self._sel.select(0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if key.data == "connecting":
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                        self._drop(sock, by_server=False)
                        continue
                    self.opened += 1
                    self._sel.modify(sock, selectors.EVENT_READ, "open")
                    continue
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:  # the server closed it (handshake timeout, eviction)
                    self._drop(sock, by_server=True)
            self.peak_open = max(self.peak_open, self.open_now)
            now = time.monotonic()
            due = [t for t in self._reopen_at if t <= now]
            self._reopen_at = [t for t in self._reopen_at if t > now]
            for _ in due:
                self._connect()
        for key in list(self._sel.get_map().values()):
            with contextlib.suppress(OSError):
                key.fileobj.close()  # type: ignore[union-attr]
        self._sel.close()


async def _page(port: int, record: dict[str, Any], done: asyncio.Event) -> None:
    """One overlay page: every final caption's id and arrival time, until ``done``
    (or the server closes the connection)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    url = f"ws://127.0.0.1:{port}/ws"
    finals: list[tuple[str, float]] = record.setdefault("finals", [])
    try:
        async with connect(url, origin=f"http://127.0.0.1:{port}", max_size=None) as ws:
            record["connected"] = True
            while not done.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except asyncio.TimeoutError:
                    continue
                msg = json.loads(raw)
                record["messages"] = record.get("messages", 0) + 1
                if msg["type"] == "caption" and msg["final"]:
                    finals.append((msg["id"], time.monotonic()))
                elif msg["type"] == "status":
                    record["last_status"] = msg["state"]
                    if msg["state"] == "stopped":
                        return
    except ConnectionClosed as exc:
        record["closed"] = f"{exc.rcvd.code if exc.rcvd else None}"
    except OSError as exc:
        record["closed"] = str(exc)


async def _pages(port: int, count: int, done: asyncio.Event) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [{} for _ in range(count)]
    await asyncio.gather(*(_page(port, r, done) for r in records))
    return records


def main(argv: list[str] | None = None) -> int:
    """The soak's load, in its own process (so the coach's memory is its own):
    ``count`` overlay pages plus ``idle`` idle connections, until stdin closes;
    then one JSON document on stdout."""
    import argparse

    parser = argparse.ArgumentParser(description="overlay pages and idle connections")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--idle", type=int, default=1000)
    args = parser.parse_args(argv)

    async def run() -> dict[str, Any]:
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.read(1) or done.set())
        pages = asyncio.create_task(_pages(args.port, args.clients, done))
        await asyncio.sleep(1.0)  # the pages first, then the flood around them
        with IdleFlood(args.port, args.idle) as flood:
            print("ready", file=sys.stderr, flush=True)
            records = await pages
            flood_stats = {
                "target": args.idle,
                "opened": flood.opened,
                "closed_by_server": flood.closed_by_server,
                "failed": flood.failed,
                "peak_open": flood.peak_open,
            }
        return {"pages": records, "flood": flood_stats}

    print(json.dumps(asyncio.run(run())), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
