"""How many connections the overlay server holds, so a web page cannot starve the
call of file descriptors.

Any page in the user's browser can open TCP connections to a localhost port. The
Origin check happens after the connection is accepted, and every accepted
connection costs a file descriptor. With 1,100 of them the process hit its limit
(1,024 by default on Linux) and the call itself died when it next opened a file.

So:

* at start, the soft descriptor limit is raised towards the hard one (up to
  ``FD_TARGET``), as servers commonly do;
* the server holds at most ``cap`` connections, where ``cap`` leaves ``FD_RESERVE``
  descriptors for everything else the process does (audio devices, the session
  file, the model, the static files being served);
* when it is full, the oldest connection that has not finished its handshake (an
  idle probe, which cannot be a working overlay page) is closed to make room; an
  open overlay websocket is never displaced. If every slot is a working page, the
  newcomer is refused.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

# Upper bound on connections, however many descriptors there are: an overlay needs
# a handful of pages; a thousand covers any honest use with room to spare.
MAX_CONNECTIONS = 1024
# Listen backlog, which is also how many connections asyncio accepts per wake-up
# before any of them reaches our code (asyncio's default is 100).
ACCEPT_BACKLOG = 64
# Descriptors kept free for the rest of the process: a few accept bursts that are
# not closed yet, plus what the session opens after the server starts (the model,
# audio devices, the session file; measured ~60 here).
FD_RESERVE = 256
# Raise the soft limit this far when the hard limit allows: room for the cap plus
# the reserve. Descriptors above 1,023 are fine here: asyncio, PortAudio and
# subprocess use epoll/poll, not select().
FD_TARGET = 4096
# Always allow at least this many, even on a machine with a tiny limit.
MIN_CONNECTIONS = 8

# The server's logger: these lines read as the server's own.
log = logging.getLogger("assistant.server.server")


def _fds_in_use() -> int:
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder))
        except OSError:
            continue
    return 64  # unknown platform: a typical count after start-up


def raise_fd_limit(target: int = FD_TARGET) -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE towards ``target``; returns (soft, hard)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return (target, target)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:  # no limit at all: plenty
        return (1 << 20, hard)
    wanted = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (OSError, ValueError):
            pass  # not allowed here: work within the current limit
    return (soft, hard)


def connection_cap(soft_limit: int, in_use: int | None = None) -> int:
    """Connections the server may hold with ``soft_limit`` descriptors in all."""
    used = _fds_in_use() if in_use is None else in_use
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, soft_limit - used - FD_RESERVE))


@dataclass
class GuardStats:
    accepted: int = 0
    evicted: int = 0  # idle handshakes closed to make room
    refused: int = 0  # newcomers turned away because every slot was a working page


class ConnectionGuard:
    """Tracks the server's connections in accept order; see the module docstring."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.stats = GuardStats()
        self._open: OrderedDict[int, ServerConnection] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, conn: ServerConnection) -> bool:
        """Called as a connection is accepted; False when it was refused."""
        if len(self._open) >= self.cap and not self._evict_one():
            self.stats.refused += 1
            _abort(conn)
            return False
        self._open[id(conn)] = conn
        self.stats.accepted += 1
        return True

    def release(self, conn: ServerConnection) -> None:
        self._open.pop(id(conn), None)

    def _evict_one(self) -> bool:
        for key, conn in self._open.items():
            if conn.protocol.state is State.CONNECTING:
                del self._open[key]
                self.stats.evicted += 1
                _abort(conn)
                return True
        return False


def _abort(conn: ServerConnection) -> None:
    transport: Any = conn.transport
    if transport is not None:
        transport.abort()


def guarded_connection(guard: ConnectionGuard) -> type[ServerConnection]:
    """A ServerConnection class that reports to ``guard`` (for ``serve``'s
    ``create_connection``)."""

    class GuardedConnection(ServerConnection):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            guard.admit(self)

        def connection_lost(self, exc: Exception | None) -> None:
            guard.release(self)
            super().connection_lost(exc)

    return GuardedConnection


def loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's own errors (e.g. "socket.accept() out of system resource", about
    once a second while descriptors run out): one deduplicated line, no traceback."""
    exc = context.get("exception")
    detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    task = context.get("task")
    if exc is None and task is not None:
        # asyncio's notice that a task was collected unfinished (seen once, at a team
        # server's shutdown, after abusive pages): named so it can be traced, and a
        # warning -- the call lost nothing -- until the task is found.
        coro = getattr(task, "get_coro", lambda: None)()
        name = getattr(coro, "__qualname__", None) or task.get_name()
        log.warning("overlay server: %s (%s)", context.get("message", "task left pending"), name)
        return
    log.error("overlay server: %s%s", context.get("message", "event loop error"), detail)
