"""The overlay server around a live or real-time session.

Started before the model loads, so a port in use is an error at once and a page
opened early shows "starting"; wired to the session once it exists.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from assistant.errors import TurnaroundError
from assistant.logs import say
from assistant.server.protocol import ControlAction
from assistant.server.routes import is_loopback

if TYPE_CHECKING:
    from assistant.pipeline.core import Route
    from assistant.pipeline.session import Session
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


def attach_server(
    server: OverlayServer, session: Session, routes: list[Route], args: argparse.Namespace
) -> None:
    pipeline = session.pipeline

    def control(action: ControlAction) -> None:
        # Idempotent: a page (or several) repeating "pause" changes nothing and
        # sends nobody another status frame.
        if action is ControlAction.PAUSE and not pipeline.paused:
            pipeline.pause()
        elif action is ControlAction.RESUME and pipeline.paused:
            pipeline.resume()

    server.on_control = control
    if session.recorder is not None:
        server.on_feedback = session.recorder.write
        server.on_card_closed = session.recorder.write
    server.describe(model=session.decoder.spec.name, devices=[r.source.name for r in routes])
    session.handlers.append(server.handler)
    # Captions still reach the user through the page when stdout goes away.
    session.keep_going_without_output = True
    say(f"overlay: {server.url}")
    if server.token and not is_loopback(args.host):
        say(f"overlay token (required off this machine): {server.token}")
    if args.open:
        from assistant.cli.browser import open_overlay

        open_overlay(server.url)
