"""The overlay server's ``/summary`` route: the call's report, once the call ended.

Same rules as the rest of the server (``access``): the Host check has already
run; the page additionally needs the token whenever the server has one, because
unlike the overlay's static files it holds what was said on the call. No part of the
request names a file: the server serves the one report it was handed, from memory.

The report is self-contained HTML with inline styles and no scripts, so its policy
allows inline style and nothing else (no script, no network, no framing).
"""

from __future__ import annotations

from http import HTTPStatus

from websockets.datastructures import Headers
from websockets.http11 import Response

from assistant.server.access import text_response

SUMMARY_PATH = "/summary"
SUMMARY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)


def summary_response(body: bytes | None, token_problem: str | None) -> Response:
    """The report page, or why not (403 without the token, 404 before the end)."""
    if token_problem is not None:
        return text_response(HTTPStatus.FORBIDDEN, f"forbidden: {token_problem}")
    if body is None:
        return text_response(
            HTTPStatus.NOT_FOUND, "no call summary yet: it is ready when the call ends"
        )
    headers = Headers(
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            *SUMMARY_HEADERS,
        ]
    )
    return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, body)
