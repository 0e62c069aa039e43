"""Fuzzing the overlay server (hypothesis): at least 1,000 websocket messages over one
real connection to a running server, and 1,000 raw HTTP requests. No traceback, no
error logged, an error frame or a 4xx for each bad one, and the server still serves."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.sync.client import connect

from assistant.events import Status
from assistant.server.protocol import MAX_CLIENT_MESSAGE_BYTES
from assistant.server.server import OverlayServer
from tests.helpers.fuzz import (
    EXAMPLES,
    FUZZ,
    SERVER_TYPES,
    Counter,
    any_text,
    deep,
    huge_ints,
    json_values,
    odd_floats,
    one_line,
)
from tests.helpers.overlay import card, final

# -- websocket messages -------------------------------------------------------------------

KNOWN_IDS = ["u1", "u2", "s1-rep_but", "s2-rep_but"]
ws_fields = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 1.0, True, 0, 2, "1", None, 10**400]) | json_values,
        "type": st.sampled_from(["feedback", "control", "rendered", "x"]) | any_text,
        "card": st.sampled_from(KNOWN_IDS) | any_text | json_values,
        "id": st.sampled_from(KNOWN_IDS) | any_text | json_values,
        "action": st.sampled_from(["dismiss", "helpful", "pause", "resume"]) | json_values,
        "render_ms": huge_ints | odd_floats | json_values,
    },
)


RENDERED_1 = '{"v":1,"type":"rendered","id":"u1","render_ms":1'


def _wire(fields: dict[str, Any]) -> str:
    # allow_nan: JSON text with NaN/Infinity, which Python's decoder accepts.
    return json.dumps(fields, allow_nan=True)


ws_messages = st.one_of(
    ws_fields.map(_wire),
    st.tuples(ws_fields, st.dictionaries(any_text, json_values, max_size=3)).map(
        lambda pair: _wire({**pair[0], **pair[1]})
    ),
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    any_text,
    deep("[]"),
    deep("{}").map(lambda s: s.replace("{}", '{"a":', 1)),
    st.integers(1, 800).map(lambda n: RENDERED_1 + "0" * n + "}"),
    st.binary(max_size=64),
    st.integers(-10, 10).map(lambda n: "x" * (MAX_CLIENT_MESSAGE_BYTES + n)),
)


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[OverlayServer]:
    srv = OverlayServer(port=0, on_control=lambda action: None, on_feedback=lambda record: None)
    srv.start()
    srv.handler(Status("listening", "fuzz"))
    for uid in (1, 2):
        srv.handler(final(uid, f"caption {uid}"))
    for n in (1, 2):
        srv.handler(card(n))
    yield srv
    srv.stop()


@pytest.fixture
def errors_logged() -> Iterator[list[logging.LogRecord]]:
    """Records at ERROR or above from the server while the test runs."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                records.append(record)

    handler = Keep()
    logging.getLogger().addHandler(handler)
    yield records
    logging.getLogger().removeHandler(handler)


def test_websocket_messages(fuzz_server: OverlayServer, errors_logged: list) -> None:
    srv = fuzz_server
    origin = f"http://127.0.0.1:{srv.port}"
    count = Counter()
    with connect(f"ws://127.0.0.1:{srv.port}/ws", origin=origin, max_size=None) as ws:
        assert json.loads(ws.recv(10))["type"] == "snapshot"

        @FUZZ
        @given(message=ws_messages)
        def one(message: str | bytes) -> None:
            count()
            ws.send(message)
            # A marker whose error frame echoes its (unique) field name: every frame
            # up to it answers the fuzzed message.
            marker = f"zz{count.n}"
            ws.send(json.dumps({"v": 1, "type": "control", "action": "pause", marker: 1}))
            while True:
                frame = json.loads(ws.recv(10))
                assert frame["v"] == 1 and frame["type"] in SERVER_TYPES, frame
                if frame["type"] == "error":
                    assert re.fullmatch(r"[a-z_]+", frame["code"]), frame
                    one_line(frame["message"])
                    if marker in frame["message"]:
                        return

        one()
    assert count.n >= EXAMPLES
    assert not errors_logged, [r.getMessage() for r in errors_logged]
    # Still serving: a new page gets its snapshot, the page itself is served.
    with connect(f"ws://127.0.0.1:{srv.port}/ws", origin=origin) as ws:
        assert json.loads(ws.recv(10))["type"] == "snapshot"
    assert _http(srv.port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n") == 200


# -- HTTP requests --------------------------------------------------------------------------

path_pieces = st.sampled_from(
    list(string.ascii_letters + string.digits + "/.%-_~?=&#[]:@!$'()*+,;\\")
    + ["%2e", "%2f", "%00", "%5c", "..", "//", "%ff", "%c0%ae", "app.js", "index.html"]
)
path_text = st.lists(path_pieces, max_size=30).map(lambda parts: "/" + "".join(parts)) | (
    st.integers(200, 3000).map(lambda n: "/" + "a" * n)
)
header_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


def _http(port: int, request: str | bytes) -> int | None:
    """The status code of the server's answer (None: closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode("latin-1") if isinstance(request, str) else request)
        data = b""
        with contextlib.suppress(OSError):
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    found = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    return int(found.group(1)) if found else None


def test_http_requests(fuzz_server: OverlayServer, errors_logged: list) -> None:
    port = fuzz_server.port
    count = Counter()
    hosts = st.sampled_from([f"127.0.0.1:{port}", f"localhost:{port}", "evil.example"])

    @FUZZ
    @given(
        method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "get", "GET GET"]),
        path=path_text | st.sampled_from(["/ws", "/ws?token=x", "/auth", "/auth?token="]),
        host=hosts | header_value,
        origin=st.none() | hosts.map(lambda h: "http://" + h) | header_value,
        upgrade=st.booleans(),
    )
    def one(method: str, path: str, host: str, origin: str | None, upgrade: bool) -> None:
        count()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        if upgrade:
            lines += [
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version: 13",
            ]
        status = _http(port, "\r\n".join(lines) + "\r\n\r\n")
        assert status is None or status < 500, (lines, status)

    one()
    assert count.n >= EXAMPLES
    assert not errors_logged, [r.getMessage() for r in errors_logged]
    assert _http(port, f"GET /app.js HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n") == 200


def _http_whole(port: int, request: str) -> bytes:
    """The server's whole answer to a request that is no websocket upgrade (it
    closes the connection after answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode("latin-1"))
        data = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                data += chunk
    return data


def test_http_methods_and_request_targets(fuzz_server: OverlayServer, errors_logged: list) -> None:
    """Issue 17, item 8, kept fixed: only GET and HEAD of a path are served; HEAD never
    carries a body; an absolute-form or other non-path target is a 400; no answer
    names Python's or websockets' version."""
    port = fuzz_server.port
    count = Counter()
    host_names = st.sampled_from([f"127.0.0.1:{port}", "evil.example", "localhost", "[::1]:1"])
    absolute = st.tuples(
        st.sampled_from(["http://", "https://", "ws://", "//", "HTTP://"]), host_names, path_text
    ).map("".join)

    @FUZZ
    @given(
        method=st.sampled_from(["GET", "HEAD", "OPTIONS", "POST", "get", "Get", "head", "TRACE",
                                "CONNECT", "DELETE", "PATCH"])
        | st.text(string.ascii_letters, min_size=1, max_size=10),
        target=path_text | absolute | st.sampled_from(["*", "index.html", "app.js", "/ws"]),
    )  # fmt: skip
    def one(method: str, target: str) -> None:
        count()
        data = _http_whole(port, f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n")
        assert b"Python/" not in data and b"websockets/" not in data, data[:300]
        found = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
        if found is None:
            return  # closed without an answer
        status = int(found.group(1))
        head, _, body = data.partition(b"\r\n\r\n")
        assert status < 500, (method, target, status)
        if method not in ("GET", "HEAD"):
            assert status in (400, 405), (method, target, status)
        if not target.startswith("/") or target.startswith("//"):
            assert status in (400, 405, 414), (method, target, status)
        if method == "HEAD":
            assert body == b"", (target, body[:80])
        if status == 405:
            assert b"\r\nAllow: " in head, head

    one()
    assert count.n >= EXAMPLES
    assert not errors_logged, [r.getMessage() for r in errors_logged]
    assert _http(port, f"GET /app.js HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n") == 200
