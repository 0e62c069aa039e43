"""Every HTTP request the overlay server answers before a websocket handshake: the
call summary at ``/summary`` or a file of the page (``access``); a HEAD gets the
same status and headers without the body, any other method a 405. Never raises: a
bug costs one request a 500 and one log line, not the server."""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path

from websockets.http11 import Request, Response

from assistant.server.access import (
    MAX_TARGET_CHARS,
    AccessPolicy,
    headers_only,
    request_problem,
    route,
    split_target,
    text_response,
)
from assistant.server.summary import SUMMARY_PATH, summary_response

log = logging.getLogger(__name__)


def answer(
    request: Request, policy: AccessPolicy, static_dir: Path, summary: bytes | None
) -> Response | None:
    """The response to ``request``, or None to go on with the websocket handshake."""
    try:
        response = request_problem(request.method, request.path) or _answer_get(
            request, policy, static_dir, summary
        )
        if request.method != "HEAD":
            return response
        if response is None:  # a HEAD is no websocket handshake (websockets: 405 + body)
            response = text_response(HTTPStatus.METHOD_NOT_ALLOWED, "websocket needs GET")
            response.headers["Allow"] = "GET"
        return headers_only(response)
    except Exception:  # route() is written not to raise; a bug is still a 500 only
        log.error("overlay request failed", exc_info=True)
        return text_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")


def _answer_get(
    request: Request, policy: AccessPolicy, static_dir: Path, summary: bytes | None
) -> Response | None:
    path, query = split_target(request.path)
    if path == SUMMARY_PATH and len(request.path) <= MAX_TARGET_CHARS:
        reason = policy.check_host(_one_header(request, "Host"))
        if reason is not None:
            return text_response(HTTPStatus.FORBIDDEN, f"forbidden: {reason}")
        return summary_response(summary, policy.check_token(query))
    return route(
        policy,
        static_dir,
        request.path,
        _one_header(request, "Host"),
        _one_header(request, "Origin"),
    )


def _one_header(request: Request, name: str) -> str | None:
    """A header that must appear once; None when absent or repeated."""
    values = request.headers.get_all(name)
    return values[0] if len(values) == 1 else None
