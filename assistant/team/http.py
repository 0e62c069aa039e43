"""The team server's HTTP side: who may open what. Never raises.

The rules of the single-call overlay (``server.access``), per token:

* **Host**: bound to loopback, only ``127.0.0.1``/``localhost``/``[::1]`` with our
  port (DNS rebinding is refused); beyond loopback every request needs a token
  anyway, since every page and every datum here is behind one.
* **Origin** (websocket): the server's own, ``http://<Host>`` (or ``https://<Host>``
  behind a TLS proxy); a script must say so too.
* **Tokens** (``?token=``): a rep's token opens that rep's call at ``/ws`` and its
  report at ``/summary``; the manager's opens ``/team`` (the live view, the
  sessions and their reports); a watch token (one per call, handed out by the
  live view only) opens that call's overlay read-only. Anything else, or the
  right token at the wrong door, is a 403.
* Static files are the overlay's code (no data): served as the overlay serves
  them. Reports and summaries go out under the no-script policy of ``/summary``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from websockets.http11 import Request, Response

from assistant.server.access import (
    AUTH_PATH,
    MAX_TARGET_CHARS,
    WS_PATH,
    AccessPolicy,
    file_response,
    headers_only,
    request_problem,
    resolve_static,
    response,
    split_target,
    text_response,
)
from assistant.server.summary import summary_response
from assistant.team.config import Rep

TEAM_PATH = "/team"
CALLS_PATH = "/team/calls"
SESSIONS_PATH = "/team/sessions"
REPORT_PATH = "/team/report"
SUMMARY_PATH = "/summary"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Who:
    """Whose token a request carries."""

    kind: str  # "rep" | "watch" | "manager"
    rep: Rep | None = None
    call: Any = None  # the watched call ("watch")


@dataclass
class Doors:
    """What the routes need from the server (lookups run on its loop)."""

    who: Callable[[str], Who | None]
    board: Callable[[], dict[str, Any]]
    sessions: Callable[[], dict[str, Any]]
    report: Callable[[str, str], str | None]  # (rep id, session id) -> HTML; blocking
    summary: Callable[[Who], bytes | None]


def token_of(query: str) -> str:
    return parse_qs(query).get("token", [""])[0]


async def answer(
    request: Request, policy: AccessPolicy, static_dir: Path, doors: Doors
) -> Response | None:
    """The response to ``request``, or None to go on with the websocket handshake."""
    try:
        problem = request_problem(request.method, request.path)
        result = problem or await _route(request, policy, static_dir, doors)
        if request.method != "HEAD":
            return result
        if result is None:
            result = text_response(HTTPStatus.METHOD_NOT_ALLOWED, "websocket needs GET")
            result.headers["Allow"] = "GET"
        return headers_only(result)
    except Exception:
        log.error("team server request failed", exc_info=True)
        return text_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")


def _one_header(request: Request, name: str) -> str | None:
    values = request.headers.get_all(name)
    return values[0] if len(values) == 1 else None


def _forbidden(reason: str) -> Response:
    return text_response(HTTPStatus.FORBIDDEN, f"forbidden: {reason}")


async def _route(
    request: Request, policy: AccessPolicy, static_dir: Path, doors: Doors
) -> Response | None:
    if len(request.path) > MAX_TARGET_CHARS:
        return text_response(HTTPStatus.REQUEST_URI_TOO_LONG, "request target too long")
    host = _one_header(request, "Host")
    reason = policy.check_host(host)
    if reason is not None:
        return _forbidden(reason)
    path, query = split_target(request.path)
    token = token_of(query)
    who = doors.who(token) if token else None
    if path == WS_PATH:
        origin = _one_header(request, "Origin")
        # https: the same host behind a TLS-terminating proxy (docs/team-server.md).
        if origin is None or origin.lower() not in (
            f"http://{host}".lower(),
            f"https://{host}".lower(),
        ):
            return _forbidden("origin not allowed")
        if who is None:
            return _forbidden("missing or wrong token")
        if who.kind == "manager":
            return _forbidden("the manager's view is /team, and a call's overlay opens from it")
        return None
    if path == AUTH_PATH:
        return text_response(HTTPStatus.OK, "ok") if who else _forbidden("missing or wrong token")
    if path == SUMMARY_PATH:
        if who is None or who.kind == "manager":
            return _forbidden("missing or wrong token")
        return summary_response(doors.summary(who), None)
    if path in (TEAM_PATH, CALLS_PATH, SESSIONS_PATH, REPORT_PATH):
        if who is None or who.kind != "manager":
            return _forbidden("the manager's token is needed here")
        return await _manager(path, query, static_dir, doors)
    file = resolve_static(static_dir, path)
    if file is None:
        return text_response(HTTPStatus.NOT_FOUND, "not found")
    return file_response(file)


async def _manager(path: str, query: str, static_dir: Path, doors: Doors) -> Response:
    if path == TEAM_PATH:
        page = resolve_static(static_dir, "/team.html")
        if page is None:
            return text_response(HTTPStatus.NOT_FOUND, "the team page is not installed")
        return file_response(page)
    if path == CALLS_PATH:
        return _json(doors.board())
    if path == SESSIONS_PATH:
        # Reading session files: off the loop, which carries every call's audio.
        return _json(await asyncio.to_thread(doors.sessions))
    params = parse_qs(query)
    rep_id = params.get("rep", [""])[0]
    session_id = params.get("session", [""])[0]
    html = await asyncio.to_thread(doors.report, rep_id, session_id)
    if html is None:
        return text_response(HTTPStatus.NOT_FOUND, "no such session")
    return summary_response(html.encode("utf-8"), None)


def _json(data: dict[str, Any]) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return response(HTTPStatus.OK, body, "application/json")
