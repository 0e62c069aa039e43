"""The overlay server around a live or real-time session, as the command line runs it.

Started before the model loads, so a port in use is an error at once and a page
opened early shows "starting"; ``assemble()`` wires it to the session.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from assistant.errors import TurnaroundError
from assistant.logs import say
from assistant.server.access import is_loopback

if TYPE_CHECKING:
    from assistant.server.server import OverlayServer


def start_server(args: argparse.Namespace) -> OverlayServer:
    from assistant.server.server import OverlayServer

    server = OverlayServer(host=args.host, port=args.port, token=args.token)
    try:
        server.start()
    except OSError as exc:
        # asyncio's message repeats the address; the errno's own text is enough.
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise TurnaroundError(
            f"cannot serve the overlay on {args.host}:{args.port} ({reason}); "
            "pick another --port, or --no-server"
        ) from exc
    return server


def announce(server: OverlayServer, args: argparse.Namespace) -> None:
    """Where the overlay is (and its token off this machine); open it if asked."""
    say(f"overlay: {server.url}")
    if server.token and not is_loopback(args.host):
        say(f"overlay token (required off this machine): {server.token}")
    if args.open:
        from assistant.cli.browser import open_overlay

        open_overlay(server.url)
