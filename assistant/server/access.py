"""The HTTP side of the overlay server: who may connect, and which files are served.

Pure functions over request data, so the security rules are testable without a
socket:

* **Host** (loopback bind): only ``127.0.0.1``, ``localhost`` or ``[::1]`` with our
  port. A page on an attacker's domain that re-resolves to 127.0.0.1 (DNS
  rebinding) sends its own host name and is refused.
* **Origin** (websocket): must be the overlay's own origin, ``http://<Host>``.
  Browsers always send it on websocket handshakes and scripts cannot forge it, so
  another site open in the same browser cannot connect. Clients without an Origin
  (scripts) are refused too: they must say ``Origin: http://127.0.0.1:PORT``.
* **Token**: with a token (always, when bound beyond loopback) the websocket URL must
  carry ``?token=...``; compared in constant time.
* **Static files**: only regular files under ``overlay/`` with a known type; no dot
  files, no ``..``, no symlinks out of the directory. The page's source is the
  repository's ``overlay/`` folder; an installed package carries it as
  ``assistant/server/overlay/`` (see :func:`overlay_dir`).
"""

from __future__ import annotations

import dataclasses
import hmac
import ipaddress
import mimetypes
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Response

WS_PATH = "/ws"
# The page's own URLs are a few dozen characters; anything much longer is a probe.
MAX_TARGET_CHARS = 2048
# A file name component on Linux is at most 255 bytes; longer ones made stat()
# raise ENAMETOOLONG, which surfaced as a 500 and a traceback.
MAX_SEGMENT_CHARS = 255
AUTH_PATH = "/auth"  # 200 if the page's token is right, 403 if not: a clear message

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
}
# Everything the page needs comes from this server; it may not be framed, and the
# token in its URL must not leak in a Referer.
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# The page only ever GETs; HEAD is GET without the body.
ALLOWED_METHODS = ("GET", "HEAD")
# The Server header names the product only: no Python or websockets versions for a
# probe to match against known bugs.
SERVER_HEADER = "Turnaround"


def overlay_dir() -> Path:
    """Where the page's files are: inside the installed package (a wheel ships the
    repository's ``overlay/`` folder as ``assistant/server/overlay/``), else the
    source checkout's ``overlay/`` (a checkout or an editable install)."""
    packaged = Path(str(resources.files("assistant.server").joinpath("overlay")))
    if (packaged / "index.html").is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "overlay"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AccessPolicy:
    port: int
    loopback_only: bool  # bound to loopback: check the Host header
    token: str | None

    def allowed_hosts(self) -> frozenset[str]:
        hosts = {f"{name}:{self.port}" for name in LOOPBACK_NAMES}
        if self.port == 80:
            hosts.update(LOOPBACK_NAMES)
        return frozenset(hosts)

    def check_host(self, host: str | None) -> str | None:
        """None if the Host header is acceptable, else the reason to refuse."""
        if not host:
            return "missing Host header"
        if self.loopback_only and host.lower() not in self.allowed_hosts():
            return "unexpected Host header"
        return None

    def check_token(self, query: str) -> str | None:
        if self.token is None:
            return None
        given = parse_qs(query).get("token", [""])[0]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return "missing or wrong token"
        return None

    def check_websocket(self, host: str | None, origin: str | None, query: str) -> str | None:
        """None if this websocket handshake may proceed, else why not."""
        reason = self.check_host(host)
        if reason is not None:
            return reason
        if origin is None or origin.lower() != f"http://{host}".lower():
            return "origin not allowed"
        return self.check_token(query)


def overlay_url(host: str, port: int, token: str | None) -> str:
    """The address to open in a browser (with the token when one is required)."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    query = f"?token={token}" if token else ""
    return f"http://{host}:{port}/{query}"


def split_target(target: str) -> tuple[str, str]:
    """``/ws?token=x`` -> (``/ws``, ``token=x``)."""
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. "//[::1" : an unbalanced bracket in the authority
        return "/\x00", ""  # resolves to nothing: a 404
    return parts.path or "/", parts.query


def resolve_static(root: Path, url_path: str) -> Path | None:
    """The file under ``root`` that ``url_path`` names, or None (serve a 404)."""
    rel = unquote(url_path).lstrip("/") or "index.html"
    if "\\" in rel or "\x00" in rel:
        return None
    segments = rel.split("/")
    if any(
        seg in ("", ".", "..") or seg.startswith(".") or len(seg) > MAX_SEGMENT_CHARS
        for seg in segments
    ):
        return None
    try:
        root = root.resolve()
        candidate = root.joinpath(*segments).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
    except (OSError, RuntimeError, ValueError):  # too long, a symlink loop, odd bytes
        return None
    if candidate.suffix.lower() not in CONTENT_TYPES:
        return None
    return candidate


def request_problem(method: str, target: str) -> Response | None:
    """A 4xx for a request no page ever makes, before anything else is looked at;
    None for a GET or HEAD of a path.

    * Methods are case-sensitive (RFC 9110): OPTIONS, POST and ``get`` were all
      served the page with a 200. Now 405, with ``Allow``.
    * An absolute-form target (``GET http://evil.example/``) is for proxies; it was
      served as ``/``. Any target that is not a path is a 400.
    """
    if method not in ALLOWED_METHODS:
        refused = text_response(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")
        refused.headers["Allow"] = ", ".join(ALLOWED_METHODS)
        return refused
    if not target.startswith("/") or target.startswith("//"):
        return text_response(HTTPStatus.BAD_REQUEST, "bad request: the target must be a path")
    return None


def headers_only(response: Response) -> Response:
    """The answer to a HEAD: the GET's status and headers (its Content-Length too),
    no body."""
    return dataclasses.replace(response, body=b"")


def route(
    policy: AccessPolicy, static_dir: Path, target: str, host: str | None, origin: str | None
) -> Response | None:
    """The response to one HTTP request, or None to go on with a websocket
    handshake. Never raises: any request gets a 4xx or a file."""
    if len(target) > MAX_TARGET_CHARS:
        return text_response(HTTPStatus.REQUEST_URI_TOO_LONG, "request target too long")
    path, query = split_target(target)
    if path == WS_PATH:
        reason = policy.check_websocket(host, origin, query)
        if reason is not None:
            return text_response(HTTPStatus.FORBIDDEN, f"forbidden: {reason}")
        return None
    reason = policy.check_host(host)
    if reason is not None:
        return text_response(HTTPStatus.FORBIDDEN, f"forbidden: {reason}")
    if path == AUTH_PATH:
        if policy.check_token(query) is not None:
            return text_response(HTTPStatus.FORBIDDEN, "forbidden: missing or wrong token")
        return text_response(HTTPStatus.OK, "ok")
    file = resolve_static(static_dir, path)
    if file is None:
        return text_response(HTTPStatus.NOT_FOUND, "not found")
    return file_response(file)


def file_response(path: Path) -> Response:
    try:
        body = path.read_bytes()
    except OSError:  # removed or unreadable since it was resolved
        return text_response(HTTPStatus.NOT_FOUND, "not found")
    content_type = CONTENT_TYPES.get(path.suffix.lower()) or (
        mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    return response(HTTPStatus.OK, body, content_type)


def response(status: HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            *SECURITY_HEADERS,
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def text_response(status: HTTPStatus, text: str) -> Response:
    return response(status, (text + "\n").encode(), "text/plain; charset=utf-8")
