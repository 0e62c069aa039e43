"""Bad client frames and rough disconnects on the team server cost only the page
that sent them: the call next door keeps being coached, and nothing is logged as
an error (no traceback) on the server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from assistant.server.audio_frames import Channel, build_audio_frame
from assistant.team.launch import TeamRun
from benchmarks.team_reps import conversation, pcm_frames, run_rep
from tests.helpers.team import MANAGER, REPS, get, start

CLIP_S = 10.0
RATE_HZ = 16000
CLOSE_WAIT_S = 20.0


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamRun]:
    run = start(tmp_path_factory.mktemp("team-frames"), end_after_s=1.0)
    try:
        yield run
    finally:
        run.stop()


async def _open(run: TeamRun, token: str) -> ClientConnection:
    url = run.server.url
    ws_url = url.replace("http://", "ws://") + f"/ws?token={token}"
    return await connect(ws_url, origin=url, open_timeout=20)  # type: ignore[arg-type]


async def _listen(ws: ClientConnection) -> None:
    await ws.send(
        json.dumps({"v": 1, "type": "listen", "page": "a1" * 8, "mic": True, "call": True})
    )


async def _closed(ws: ClientConnection) -> tuple[int | None, str, list[dict]]:
    """Read until the server closes; its code, reason and what it sent before."""
    seen: list[dict] = []

    async def read() -> None:
        async for raw in ws:
            if isinstance(raw, str):
                seen.append(json.loads(raw))

    with contextlib.suppress(ConnectionClosed):
        await asyncio.wait_for(read(), CLOSE_WAIT_S)
    return ws.close_code, ws.close_reason or "", seen


async def _errors_after(ws: ClientConnection, message: str) -> list[dict]:
    await ws.send(message)
    got: list[dict] = []
    for _ in range(50):
        try:
            raw = await asyncio.wait_for(ws.recv(), 2.0)
        except asyncio.TimeoutError:
            break
        msg = json.loads(raw) if isinstance(raw, str) else {}
        if msg.get("type") == "error":
            got.append(msg)
            break
    return got


def _frame(seq: int, pcm: bytes) -> bytes:
    return build_audio_frame(Channel.MIC, seq, 1.7e12, pcm, first=seq == 0)


def test_bad_frames_close_only_their_page_and_the_other_call_goes_on(
    team: TeamRun, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    audio = conversation("phone_call")[: int(CLIP_S * RATE_HZ)]
    silence = pcm_frames(np.zeros(512, dtype=np.float32))[0]

    async def abuse() -> dict[str, tuple[int | None, str]]:
        out: dict[str, tuple[int | None, str]] = {}
        await asyncio.sleep(1.0)  # Dana's call is under way
        # Garbage text: an error frame, and the page stays.
        ws = await _open(team, REPS["eli"])
        errors = await _errors_after(ws, "{not json")
        assert errors and errors[0]["code"], errors
        # Audio before Listen: closed with a reason.
        await ws.send(_frame(0, silence))
        code, reason, _ = await _closed(ws)
        out["before listen"] = (code, reason)
        # A malformed frame after Listen.
        ws = await _open(team, REPS["eli"])
        await _listen(ws)
        await ws.send(_frame(0, silence))
        await ws.send(b"A\x01\x00\x00garbage")
        out["malformed"] = (*(await _closed(ws))[:2],)
        # A frame over the websocket's size cap.
        ws = await _open(team, REPS["eli"])
        await _listen(ws)
        await ws.send(b"\x00" * (2 << 20))
        out["oversized"] = (*(await _closed(ws))[:2],)
        # A rough disconnect mid-stream (no close handshake).
        ws = await _open(team, REPS["eli"])
        await _listen(ws)
        for seq in range(20):
            await ws.send(_frame(seq, silence))
        ws.transport.abort()
        # The manager's read-only view: audio from it closes it.
        rows = json.loads(get(team, f"/team/calls?token={MANAGER}").body)["calls"]
        dana = next(r for r in rows if r["rep"] == "dana")
        watcher = await _open(team, dana["watch"].split("token=")[1])
        control = json.dumps({"v": 1, "type": "control", "action": "pause"})
        errors = await _errors_after(watcher, control)
        assert errors and errors[0]["code"] == "read_only", errors
        await watcher.send(_frame(0, silence))
        out["watcher audio"] = (*(await _closed(watcher))[:2],)
        return out

    async def both() -> tuple[object, dict[str, tuple[int | None, str]]]:
        return await asyncio.gather(run_rep(team.server.url, REPS["dana"], audio), abuse())

    dana, closes = asyncio.run(both())
    print("closes:", closes)
    assert closes["before listen"][0] == 1008 and "listen" in closes["before listen"][1]
    assert closes["malformed"][0] == 1007 and "malformed" in closes["malformed"][1], closes
    assert closes["oversized"][0] == 1009, closes
    assert closes["watcher audio"][0] == 1008 and "read-only" in closes["watcher audio"][1]
    # Dana's call, next door, was coached throughout.
    assert dana.error is None, dana.error  # type: ignore[attr-defined]
    finals = [m for m in dana.final_captions() if m["text"].strip()]  # type: ignore[attr-defined]
    assert len(finals) >= 2, finals
    # Nothing above a warning on the server: no traceback, no internal error.
    # The server's own loggers: a websockets *client* left by an earlier test may
    # log its broken keepalive here, which says nothing about this server.
    bad = [
        r
        for r in caplog.records
        if not r.name.startswith("websockets.client") and (r.levelno >= logging.ERROR or r.exc_info)
    ]
    assert not bad, [r.getMessage() for r in bad]
    assert team.server.calls(), "the server lost its calls"
    assert all(c.error is None for c in team.server.calls())


def _live_call(team: TeamRun, rep: str) -> str | None:
    live = [c for c in team.server.calls() if c.rep.id == rep and c.state.value != "ended"]
    return live[-1].id if live else None


def test_a_page_that_drops_rejoins_its_call(team: TeamRun) -> None:
    async def twice() -> tuple[str | None, str | None]:
        ws = await _open(team, REPS["dana"])
        assert json.loads(await ws.recv())["type"] == "snapshot"
        before = _live_call(team, "dana")
        ws.transport.abort()  # the lid closed, no close handshake
        await asyncio.sleep(0.2)  # back well within end_after_s
        ws = await _open(team, REPS["dana"])
        assert json.loads(await ws.recv())["type"] == "snapshot"
        after = _live_call(team, "dana")
        await ws.close()
        return before, after

    before, after = asyncio.run(twice())
    assert before is not None and after == before  # the same call, not a new one
