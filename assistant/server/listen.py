"""The port the overlay server and the team server listen on, hardened alike.

One port carries the page's files (``process_request``) and its websocket. Both
servers face the same browsers and the same hostile pages, so they share one
set of defences: the connection cap (``conn_guard``), a deadline for the
handshake, the frame size limit, keepalive pings, and asyncio's own errors
(descriptors running out, say) logged in one line each (``loop_exception``).

    async with listening(handler, host, port, guard, answer, logger) as port:
        ...                                   # the port is open until the block ends
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from assistant.server.access import SERVER_HEADER
from assistant.server.conn_guard import (
    ACCEPT_BACKLOG,
    ConnectionGuard,
    guarded_connection,
    loop_exception,
)
from assistant.server.pages import CLOSE_TIMEOUT_S
from assistant.server.protocol import MAX_FRAME_BYTES

# Websocket keepalive: notice a vanished page within ~40 s even when idle.
PING_INTERVAL_S = 20.0
# A connection that has not completed its HTTP request or websocket handshake by
# then is closed: a real page takes milliseconds, an idle probe holds a slot.
OPEN_TIMEOUT_S = 5.0


@asynccontextmanager
async def listening(
    handler: Callable[[ServerConnection], Awaitable[None]],
    host: str,
    port: int,
    guard: ConnectionGuard,
    process_request: Callable[[Request], Response | None],
    logger: logging.Logger,
) -> AsyncIterator[int]:
    """Listen on ``host``:``port`` for the block; yields the port bound (port 0
    picks a free one). On the way out the server closes and its connections end."""
    asyncio.get_running_loop().set_exception_handler(loop_exception)
    server = await serve(
        handler,
        host,
        port,
        create_connection=guarded_connection(guard),
        backlog=ACCEPT_BACKLOG,
        open_timeout=OPEN_TIMEOUT_S,
        process_request=lambda _conn, request: process_request(request),
        max_size=MAX_FRAME_BYTES,
        server_header=SERVER_HEADER,
        compression=None,  # tiny JSON frames: not worth the CPU next to Whisper
        ping_interval=PING_INTERVAL_S,
        ping_timeout=PING_INTERVAL_S,
        close_timeout=CLOSE_TIMEOUT_S,
        logger=logger,
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
