"""Websocket fan-out: how long the overlay server takes to get one final caption to
1, 10 and 50 local pages.

The pages are plain websocket clients in a *separate process* (``python -m
benchmarks.fanout --clients N ...``), as browsers would be: in this process they
would fight the server for the GIL and the figure would be ours, not the server's.
Both processes stamp with ``time.monotonic()``, which is one system-wide clock on
Linux, so "handed to the server" and "received by a page" can be subtracted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time

from .material import REPO
from .results import Section, Skip, percentiles, say

# Gap between captions: faster than people talk (a final every ~2 s per speaker),
# so each figure is the server's cost, not an idle loop's.
SEND_GAP_S = 0.02
READY_TIMEOUT_S = 30.0


def run(clients: tuple[int, ...], messages: int) -> Section:
    try:
        from assistant.server.server import OverlayServer
    except ImportError as exc:
        raise Skip(f"the overlay server is not available ({exc})") from exc
    from assistant.events import FinalTranscript, Speaker

    rows = []
    section = Section()
    for n in clients:
        server = OverlayServer(host="127.0.0.1", port=0)
        server.start()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.fanout",
                "--port",
                str(server.port),
                "--clients",
                str(n),
                "--messages",
                str(messages),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while server.clients < n:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise Skip(f"only {server.clients} of {n} websocket clients connected")
                time.sleep(0.02)
            time.sleep(0.2)  # let the snapshots go out first
            sent: dict[str, float] = {}
            for i in range(1, messages + 1):
                now = time.monotonic()
                event = FinalTranscript(Speaker.REP, i, i, i + 1.0, f"caption {i}", now, now)
                sent[f"u{i}"] = time.monotonic()
                server.handler(event)
                time.sleep(SEND_GAP_S)
            out, _ = proc.communicate(timeout=READY_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
            server.stop()
        received: dict[str, list[float]] = json.loads(out or "{}")
        every = [t - sent[k] for k, ts in received.items() if k in sent for t in ts]
        last = [max(ts) - sent[k] for k, ts in received.items() if k in sent and len(ts) == n]
        delivered = sum(len(ts) for ts in received.values())
        row = {
            "clients": n,
            "messages": messages,
            "delivered": delivered,
            "expected": n * messages,
            "per_client_s": percentiles(every),
            "last_client_s": percentiles(last),
        }
        rows.append(row)
        p95 = row["last_client_s"]["p95"]
        section.metric(f"fanout.last_client_p95_{n}", p95, "s")
        say(
            f"fan-out: {n} client(s): caption at every page p50 "
            f"{_ms(row['last_client_s']['p50'])}, p95 {_ms(p95)} "
            f"({delivered}/{n * messages} delivered)"
        )
    section.detail = {"rows": rows}
    return section


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 1000:.1f} ms"


# -- the client process --------------------------------------------------------------


async def _client(uri: str, origin: str, messages: int, got: dict[str, list[float]]) -> None:
    from websockets.asyncio.client import connect

    seen = 0
    async with connect(uri, origin=origin, compression=None) as ws:  # type: ignore[arg-type]
        async for raw in ws:
            now = time.monotonic()
            msg = json.loads(raw)
            if msg.get("type") == "caption" and msg.get("final"):
                got.setdefault(msg["id"], []).append(now)
                seen += 1
                if seen >= messages:
                    return


async def _clients(port: int, n: int, messages: int, timeout_s: float) -> dict[str, list[float]]:
    got: dict[str, list[float]] = {}
    host = f"127.0.0.1:{port}"
    tasks = [_client(f"ws://{host}/ws", f"http://{host}", messages, got) for _ in range(n)]
    # On a timeout, report what arrived; the parent counts what is missing.
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks), timeout_s)
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="websocket clients for the fan-out benchmark")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    got = asyncio.run(_clients(args.port, args.clients, args.messages, args.timeout))
    print(json.dumps(got))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
