"""The team server: one port, a call per rep, the manager's view over all of them.

    server = TeamServer(team, setup, host="127.0.0.1", port=8765)
    server.start()                 # background thread with its own event loop
    ...
    server.stop()                  # every call drains, records and closes

Each rep's page opens ``/ws?token=<rep token>`` and is put in that rep's live call
(``call.Call``; a new one when there is none); the manager's view, ``/team``,
lists every call (``board``) and opens any of them read-only through that call's
watch token. Everything a request may reach is decided in ``http``; everything a
call shows is its own ``room``'s.

One event loop carries every page of every call: it only moves frames (audio in,
captions out) and never waits on a decode, a disk or a session: those are the
calls' threads and the decode scheduler's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode

from assistant.server.access import AccessPolicy, is_loopback, overlay_dir
from assistant.server.access import split_target as _split
from assistant.server.conn_guard import (
    ConnectionGuard,
    connection_cap,
    raise_fd_limit,
)
from assistant.server.listen import listening
from assistant.team.board import CallRow, board
from assistant.team.call import Call, CallSetup, CallState
from assistant.team.config import Rep, Team
from assistant.team.http import Doors, Who, answer, token_of
from assistant.team.reports import SessionShelf

log = logging.getLogger(__name__)

# A rep's call goes on this long after their last page left: a reload, a laptop
# lid or a network blip comes back within it; a closed tab ends the call.
END_AFTER_S = 30.0
# Ended calls kept for the manager's view (and their watchers' last look).
ENDED_KEPT = 100
# On stop: how long the calls may take to drain (each finishes its last utterance).
DRAIN_S = 30.0
START_TIMEOUT_S = 10.0
FLUSH_TIMEOUT_S = 1.0
TICK_S = 1.0


class TeamServer:
    def __init__(
        self,
        team: Team,
        setup: CallSetup,
        host: str = "127.0.0.1",
        port: int = 8765,
        end_after_s: float = END_AFTER_S,
        static_dir: Path | None = None,
    ) -> None:
        self.team = team
        self.setup = setup
        self.host = host
        self.port = port
        self.end_after_s = end_after_s
        self.static_dir = Path(static_dir) if static_dir is not None else overlay_dir()
        self.shelf = SessionShelf(team, setup.sessions_dir)
        self._live: dict[str, Call] = {}  # rep id -> their live (or waiting) call
        self._ending: list[Call] = []
        self._ended: deque[Call] = deque(maxlen=ENDED_KEPT)
        self._numbers: dict[str, itertools.count[int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._policy = AccessPolicy(port, is_loopback(host), None)
        self.guard = ConnectionGuard(connection_cap(raise_fd_limit()[0]))
        self._doors = Doors(
            self._who, self.board, self.shelf.listing, self.shelf.report, self._summary
        )

    # -- lifecycle (any thread) ------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="team-server", daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_S):
            raise RuntimeError("team server did not start")
        if self._start_error is not None:
            raise self._start_error

    def stop(self) -> None:
        """End every call (each drains and records), then close the port."""
        calls = self.calls()
        for call in calls:
            call.end("the team server stopped")
        deadline = time.monotonic() + DRAIN_S
        for call in calls:
            call.join(max(0.1, deadline - time.monotonic()))
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)
        for call in calls:
            call.room.close()

    @property
    def url(self) -> str:
        shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(self.host, self.host)
        if ":" in shown and not shown.startswith("["):
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}"

    def calls(self) -> list[Call]:
        """Every call the server knows: live, ending and the recently ended."""
        return [*self._live.values(), *self._ending, *self._ended]

    # -- lookups (the loop) ------------------------------------------------------------

    def _who(self, token: str) -> Who | None:
        if self.team.is_manager(token):
            return Who("manager")
        rep = self.team.rep_for(token)
        if rep is not None:
            return Who("rep", rep)
        found = None
        for call in self.calls():
            if hmac.compare_digest(token.encode(), call.watch_token.encode()):
                found = call
        return Who("watch", call=found) if found is not None else None

    def board(self) -> dict[str, Any]:
        rows = [
            CallRow(
                call=c.id,
                rep=c.rep.id,
                name=c.rep.name,
                state=c.state.value,
                duration_s=c.duration_s,
                figures=c.stats.snapshot(),
                own=c.stats.own.value,
                watch=f"/?token={c.watch_token}",
                started=c.started,
                end_reason=c.end_reason,
                error=c.error,
            )
            for c in self.calls()
        ]
        out = board(rows)
        out["reps"] = [{"rep": r.id, "name": r.name} for r in self.team.reps]
        out["asr"] = self.setup.scheduler.describe()
        return out

    def _summary(self, who: Who) -> bytes | None:
        if who.kind == "watch":
            return who.call.room.summary
        rep: Rep | None = who.rep
        mine = [c for c in self.calls() if rep is not None and c.rep.id == rep.id]
        done = [c for c in mine if c.room.summary is not None]
        return max(done, key=lambda c: c.ended or 0.0).room.summary if done else None

    def _call_for(self, rep: Rep, loop: asyncio.AbstractEventLoop) -> Call:
        call = self._live.get(rep.id)
        if call is None:
            number = next(self._numbers.setdefault(rep.id, itertools.count(1)))
            call = Call(number, rep, self.setup, loop)
            self._live[rep.id] = call
            call.start()
            log.info("call %s: opened", call.id)
        return call

    # -- event loop --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            if not self._started.is_set():
                self._start_error = exc
                self._started.set()
            else:
                log.error("team server stopped with an error (%s)", exc)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with listening(
            self._connection,
            self.host,
            self.port,
            self.guard,
            lambda request: answer(request, self._policy, self.static_dir, self._doors),
            logging.getLogger(f"{__name__}.websockets"),
        ) as port:
            self.port = port
            self._policy = AccessPolicy(self.port, is_loopback(self.host), None)
            self._started.set()
            ticker = asyncio.create_task(self._tick())
            try:
                await self._stopping.wait()
                rooms = [c.room for c in self.calls()]
                await asyncio.gather(*(room.flush(FLUSH_TIMEOUT_S) for room in rooms))
                for room in rooms:
                    room.close_pages("the team server stopped")
            finally:
                ticker.cancel()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self._housekeeping(time.monotonic())
            except Exception:  # the loop carries every call: it must go on
                log.error("team server housekeeping failed", exc_info=True)

    def _housekeeping(self, now: float) -> None:
        for rep_id, call in list(self._live.items()):
            call.room.expire()
            left = call.room.left_wall
            gone = left is not None and now - left >= self.end_after_s
            if gone or call.state is CallState.ENDED:
                del self._live[rep_id]
                self._ending.append(call)
                call.end("the rep's page closed")
        for call in list(self._ending):
            call.room.expire()
            if call.state is CallState.ENDED:
                self._ending.remove(call)
                self._ended.append(call)

    async def _connection(self, ws: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        who = self._who(token_of(_split(ws.request.path)[1])) if ws.request else None
        if who is None or who.kind == "manager":  # gone since the handshake was let in
            await ws.close(CloseCode.POLICY_VIOLATION, "missing or wrong token")
            return
        if who.kind == "watch":
            await who.call.room.serve(ws, watcher=True)
            return
        assert who.rep is not None
        await self._call_for(who.rep, loop).room.serve(ws, watcher=False)
