"""Overlay server with real sockets: real `websockets` clients, raw HTTP, real drops."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from assistant.events import (
    PartialTranscript,
    SilenceTick,
    Speaker,
    Status,
)
from assistant.server.access import resolve_static
from assistant.server.client_queue import ClientQueue, Outgoing
from assistant.server.protocol import MAX_CLIENT_MESSAGE_BYTES, MAX_FRAME_BYTES
from assistant.server.server import OverlayServer
from tests.helpers.overlay import card, coached, final
from tests.helpers.server import (
    TIMEOUT_S,
    Recorder,
    http_get,
    origin,
    recv_json,
    recv_until,
    run,
    send_json,
    stalled_socket,
    wait_until,
    ws_url,
)

# -- HTTP: static files ---------------------------------------------------------------


def test_serves_the_overlay_with_security_headers(server: OverlayServer) -> None:
    status, headers, body = http_get(server, "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b'<script type="module" src="app.js">' in body
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    status, headers, _ = http_get(server, "/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/..%2fpyproject.toml",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/..\\pyproject.toml",
        "//etc/passwd",
        "/.hidden.js",
        "/app.js%00.html",
        "/missing.js",
    ],
)
def test_static_files_cannot_escape_overlay_dir(server: OverlayServer, path: str) -> None:
    status, _, body = http_get(server, path)
    # "//etc/passwd" names a host ("etc"), not a path: refused as a bad target.
    assert status == (400 if path.startswith("//") else 404), body
    assert b"[project]" not in body and b"root:" not in body


def test_symlink_out_of_static_dir_is_not_served(tmp_path: Path) -> None:
    static = tmp_path / "overlay"
    static.mkdir()
    (static / "index.html").write_text("<p>ok</p>")
    secret = tmp_path / "secret.js"
    secret.write_text("secret")
    (static / "leak.js").symlink_to(secret)
    assert resolve_static(static, "/index.html") == (static / "index.html").resolve()
    assert resolve_static(static, "/leak.js") is None
    assert resolve_static(static, "/") == (static / "index.html").resolve()


def test_foreign_host_header_is_refused(server: OverlayServer) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its name."""
    status, _, _ = http_get(server, "/", host=f"evil.example:{server.port}")
    assert status == 403
    status, _, _ = http_get(server, "/", host=f"localhost:{server.port}")
    assert status == 200


# -- websocket access ------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_origin",
    [None, "http://evil.example", "http://127.0.0.1:1", "https://127.0.0.1", "null"],
)
def test_foreign_origin_is_refused(server: OverlayServer, bad_origin: str | None) -> None:
    async def attempt() -> None:
        kwargs = {"origin": bad_origin} if bad_origin else {}
        async with connect(ws_url(server), **kwargs):
            pass

    with pytest.raises(InvalidStatus) as refused:
        run(attempt())
    assert refused.value.response.status_code == 403


def test_own_origin_is_accepted(server: OverlayServer) -> None:
    async def attempt() -> dict[str, Any]:
        async with connect(ws_url(server), origin=origin(server)) as ws:
            return await recv_json(ws)

    snapshot = run(attempt())
    assert snapshot["type"] == "snapshot" and snapshot["v"] == 1 and snapshot["protocol"] == 1


def test_non_loopback_bind_requires_the_printed_token() -> None:
    srv = OverlayServer(host="0.0.0.0", port=0)
    assert srv.token, "a token is generated when binding beyond loopback"
    srv.start()
    try:
        assert srv.url == f"http://127.0.0.1:{srv.port}/?token={srv.token}"

        async def attempt(token: str | None) -> dict[str, Any]:
            async with connect(ws_url(srv, token), origin=origin(srv)) as ws:
                return await recv_json(ws)

        for wrong in (None, "wrong", srv.token[:-1]):
            with pytest.raises(InvalidStatus) as refused:
                run(attempt(wrong))
            assert refused.value.response.status_code == 403
        assert run(attempt(srv.token))["type"] == "snapshot"
        assert http_get(srv, "/auth?token=wrong")[0] == 403
        assert http_get(srv, f"/auth?token={srv.token}")[0] == 200
    finally:
        srv.stop()


def test_loopback_bind_has_no_token_unless_given() -> None:
    assert OverlayServer().token is None
    assert OverlayServer(token="abc").token == "abc"


# -- protocol --------------------------------------------------------------------------


BAD_MESSAGES = [
    ("not json", "malformed"),
    ("[1, 2]", "malformed"),
    (json.dumps({"type": "control", "action": "pause"}), "version"),
    (json.dumps({"v": 2, "type": "control", "action": "pause"}), "version"),
    (json.dumps({"v": 1, "type": "run_shell", "cmd": "rm -rf /"}), "unknown_type"),
    (json.dumps({"v": 1, "type": "control", "action": "explode"}), "invalid"),
    (json.dumps({"v": 1, "type": "control", "action": "pause", "x": 1}), "invalid"),
    (json.dumps({"v": 1, "type": "feedback", "card": "../../etc", "action": "dismiss"}), "invalid"),
    (
        json.dumps({"v": 1, "type": "feedback", "card": "s99-none", "action": "dismiss"}),
        "unknown_card",
    ),
    (json.dumps({"v": 1, "type": "rendered", "id": "u1", "render_ms": "soon"}), "invalid"),
    ('{"v": 1, "type": "rendered", "id": "u1", "render_ms": NaN}', "invalid"),
    (json.dumps({"v": 1, "type": "rendered", "id": "u404", "render_ms": 3}), "unknown_id"),
    ("[" * 100_000, "too_large"),
    (
        json.dumps({"v": 1, "type": "control", "action": "x" * MAX_CLIENT_MESSAGE_BYTES}),
        "too_large",
    ),
    (b"\x00\x01binary", "binary"),
]


def test_bad_messages_get_an_error_frame_and_the_connection_stays_usable(
    server: OverlayServer, calls: Recorder
) -> None:
    async def scenario() -> list[str]:
        codes = []
        async with connect(ws_url(server), origin=origin(server)) as ws:
            await recv_json(ws)  # snapshot
            for raw, _ in BAD_MESSAGES:
                await ws.send(raw)
                error = await recv_until(ws, "error")
                assert error["message"]
                codes.append(error["code"])
            await send_json(ws, type="control", action="pause")
            ack = await recv_until(ws, "ack")
            assert ack == {"v": 1, "type": "ack", "of": "control", "id": "pause", "detail": {}}
        return codes

    assert run(scenario()) == [code for _, code in BAD_MESSAGES]
    calls.wait_for(lambda: calls.controls == ["pause"])


def test_frames_beyond_the_hard_limit_close_the_connection(server: OverlayServer) -> None:
    async def scenario() -> int | None:
        async with connect(
            ws_url(server), origin=origin(server), max_size=None, compression=None
        ) as ws:
            await recv_json(ws)
            await ws.send("x" * (MAX_FRAME_BYTES + 1))
            with pytest.raises(ConnectionClosed):
                while True:
                    await recv_json(ws)
            return ws.close_code

    assert run(scenario()) == 1009  # message too big


def test_snapshot_on_connect_and_again_on_reconnect(server: OverlayServer) -> None:
    feed = coached(server)
    feed(Status("listening", "sample_call.ogg"))
    feed(final(1, "Hi Dana, thanks for making time today."))
    feed(final(2, "Sure, go ahead.", Speaker.CUSTOMER))
    feed(PartialTranscript(Speaker.REP, 3, 9.0, 10.0, "So the platform", time.monotonic()))
    feed(card(1))

    async def snapshot() -> dict[str, Any]:
        async with connect(ws_url(server), origin=origin(server)) as ws:
            return await recv_json(ws)

    wait_until(lambda: run(snapshot())["cards"])
    first = run(snapshot())
    assert [c["text"] for c in first["captions"] if c["final"]] == [
        "Hi Dana, thanks for making time today.",
        "Sure, go ahead.",
    ]
    assert [c["text"] for c in first["captions"] if not c["final"]] == ["So the platform"]
    assert [c["id"] for c in first["cards"]] == ["s1-rep_but"]
    assert 0 < first["cards"][0]["expires_in_s"] <= 60
    assert first["status"]["state"] == "listening"
    assert first["metrics"]["talk_s"] == {"rep": 2.0, "customer": 2.0}
    again = run(snapshot())
    assert again["captions"] == first["captions"]
    assert [c["id"] for c in again["cards"]] == ["s1-rep_but"]
    assert again["cards"][0]["expires_in_s"] <= first["cards"][0]["expires_in_s"]


def test_feedback_is_recorded_once_and_closes_the_card_everywhere(
    server: OverlayServer, calls: Recorder
) -> None:
    async def scenario() -> None:
        async with (
            connect(ws_url(server), origin=origin(server)) as a,
            connect(ws_url(server), origin=origin(server)) as b,
        ):
            await recv_json(a)
            await recv_json(b)
            server.handler(card(1))
            server.handler(card(2, "alert"))
            for ws in (a, b):
                assert (await recv_until(ws, "card"))["id"] == "s1-rep_but"
                assert (await recv_until(ws, "card"))["id"] == "s2-rep_but"
            await send_json(a, type="feedback", card="s1-rep_but", action="helpful")
            await send_json(a, type="feedback", card="s1-rep_but", action="helpful")  # repeat
            await send_json(a, type="feedback", card="s2-rep_but", action="dismiss")
            for ws in (a, b):
                closed = await recv_until(ws, "card_closed")
                assert closed["id"] == "s1-rep_but" and closed["reason"] == "helpful"
                closed = await recv_until(ws, "card_closed")
                assert closed["id"] == "s2-rep_but" and closed["reason"] == "dismiss"

    run(scenario())
    calls.wait_for(lambda: len(calls.feedback) == 2)
    helpful, dismiss = calls.feedback
    assert helpful["type"] == "Feedback" and helpful["card_id"] == "s1-rep_but"
    assert helpful["action"] == "helpful" and helpful["trigger"] == "rep_but"
    assert dismiss["card_id"] == "s2-rep_but" and dismiss["action"] == "dismiss"
    assert set(helpful) == {"type", "card_id", "trigger", "action", "at_s", "after_s", "time"}


def test_rendered_ack_produces_a_latency_record(server: OverlayServer) -> None:
    async def scenario() -> None:
        async with connect(ws_url(server), origin=origin(server)) as ws:
            await recv_json(ws)
            server.handler(final(1, "But our customers see a return."))
            server.handler(card(1))
            shown = await recv_until(ws, "card")
            assert set(shown["lat"]) == {"queued_s"}  # no final matched this card
            await send_json(ws, type="rendered", id="s1-rep_but", render_ms=12.5)
            await send_json(ws, type="rendered", id="u1", render_ms=3)

    run(scenario())
    wait_until(lambda: len(server.latencies) == 2)
    by_kind = {r["kind"]: r for r in server.latencies}
    assert by_kind["card"]["page_render_s"] == 0.0125
    # The card's speech ended 0.5 s before it was made.
    assert by_kind["card"]["speech_end_to_rendered_s"] >= 0.5
    assert by_kind["caption"]["speech_end_to_final_s"] == pytest.approx(0.4, abs=1e-3)


def test_metrics_from_ticks_are_throttled(server: OverlayServer) -> None:
    feed = coached(server)

    async def scenario() -> int:
        async with connect(ws_url(server), origin=origin(server)) as ws:
            await recv_json(ws)
            for i in range(200):  # 50 s of ticks, delivered at once as in fast replay
                feed(SilenceTick(i * 0.25, i * 0.25, time.monotonic()))
            feed(final(1, "marker"))
            count = 0
            while (msg := await recv_json(ws))["type"] != "caption":
                count += msg["type"] == "metrics"
            # The final's own metrics come next; a queued older one may have been
            # replaced by it (latest wins), so count it too.
            assert (await recv_json(ws))["type"] == "metrics"
            return count + 1

    assert 1 <= run(scenario()) < 20


def test_control_without_a_pipeline_is_an_error_frame() -> None:
    srv = OverlayServer(port=0)
    srv.start()
    try:

        async def scenario() -> dict[str, Any]:
            async with connect(ws_url(srv), origin=origin(srv)) as ws:
                await recv_json(ws)
                await send_json(ws, type="control", action="pause")
                return await recv_json(ws)

        assert run(scenario())["code"] == "unavailable"
    finally:
        srv.stop()


def test_handler_before_start_and_after_stop_is_a_no_op() -> None:
    """Events before start are dropped, not queued for the first page; after stop
    the handler neither raises nor restarts anything."""
    srv = OverlayServer(port=0)
    srv.handler(final(1, "nobody listening"))
    srv.start()
    try:

        async def snapshot() -> dict[str, Any]:
            async with connect(ws_url(srv), origin=origin(srv)) as ws:
                return await recv_json(ws)

        first = run(snapshot())
        assert first["type"] == "snapshot"
        assert "nobody listening" not in json.dumps(first)
    finally:
        srv.stop()
    srv.handler(final(2, "still nobody"))
    assert srv._loop is None or srv._loop.is_closed()


# -- slow clients ----------------------------------------------------------------------


def test_client_queue_drops_partials_and_metrics_first_and_never_finals() -> None:
    q = ClientQueue(max_items=3)
    assert q.put(Outgoing("partial 1", droppable=True, key="partial:rep"))
    assert q.put(Outgoing("partial 2", droppable=True, key="partial:rep"))  # replaces 1
    assert q.put(Outgoing("metrics", droppable=True, key="metrics"))
    assert q.put(Outgoing("final", supersedes="partial:rep"))  # drops partial 2
    assert q.put(Outgoing("card"))
    assert q.put(Outgoing("final 2"))  # full: the metrics go
    assert not q.put(Outgoing("final 3"))  # full of must-deliver messages: disconnect
    assert [q.pop().text for _ in range(len(q))] == ["final", "card", "final 2"]
    assert q.dropped == 3


def test_stalled_client_does_not_delay_another_client() -> None:
    srv = OverlayServer(port=0, queue_size=64, send_timeout_s=2.0)
    srv.start()
    # 10 kB finals: ~6 MB in all, more than the socket buffers (4 MB at most on Linux)
    # and the queue can hold for the stalled client.
    text = "word " * 2000
    count = 600
    try:

        async def scenario() -> list[str]:
            stalled = await connect(
                ws_url(srv), origin=origin(srv), sock=stalled_socket(srv.port), max_queue=1
            )
            async with connect(ws_url(srv), origin=origin(srv), max_size=None) as healthy:
                await recv_json(healthy)
                wait_until(lambda: srv.clients == 2)

                # Feed from another thread, as the Session consumer thread does, in
                # bursts far faster than speech but that a reading client keeps up with.
                def feed() -> None:
                    for i in range(count):
                        srv.handler(final(i, f"{i} {text}"))
                        if i % 4 == 3:
                            time.sleep(0.02)

                feeder = threading.Thread(target=feed)
                feeder.start()
                got = []
                while len(got) < count:
                    msg = await recv_json(healthy)
                    if msg["type"] == "caption":
                        got.append(msg["id"])
                feeder.join(TIMEOUT_S)
                assert not feeder.is_alive(), "handler() blocked the feeding thread"
                # The stalled client was cut off rather than allowed to hold anyone up
                # (it cannot tell: it is not reading), and the healthy one stays.
                wait_until(lambda: srv.clients == 1)
                await send_json(healthy, type="rendered", id=got[-1], render_ms=1)
            stalled.transport.abort()
            return got

        got = run(scenario())
        assert got == [f"u{i}" for i in range(count)]  # every final, in order
        assert srv.disconnected_slow == 1
    finally:
        srv.stop()
