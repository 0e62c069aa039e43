"""Simulated reps for the team server: websocket clients that do what a rep's page
does (``overlay/listen.js``), with real recordings instead of a microphone.

Each rep connects to ``/ws?token=...`` with the page's Origin, presses Listen and
streams both inputs as the page's binary frames (``server.audio_frames``: 512
int16 samples, a 16-byte header, sequence numbers, capture time in epoch ms) in
real time, one frame per input every 32 ms, then a stretch of silence so the last
utterance ends. Everything the server sends is kept with its arrival time.

    python -m benchmarks.team_reps --url http://127.0.0.1:8765 --tokens T1,T2 \\
        --audio phone_call --out reps.json          # used by benchmarks.team_load
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.server.audio_frames import Channel, build_audio_frame

RATE_HZ = 16000
FRAME = 512  # samples: what the page's worklet sends
FRAME_S = FRAME / RATE_HZ
# After the recording, silence long enough for the last utterance to end and be
# decoded on a loaded machine.
TAIL_S = 4.0
CONNECT_TIMEOUT_S = 30.0


@dataclass
class RepRun:
    token: str
    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    started: float = 0.0  # monotonic, first frame sent
    sent_frames: int = 0
    close_code: int | None = None
    error: str | None = None

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for _, m in self.messages if m.get("type") == kind]

    def final_captions(self) -> list[dict[str, Any]]:
        return [m for m in self.of("caption") if m.get("final")]

    def text(self) -> str:
        """Everything this page was ever shown: captions (partial too) and cards."""
        parts = [m.get("text", "") for m in self.of("caption")]
        parts += [m.get("prompt", "") for m in self.of("card")]
        for snap in self.of("snapshot"):
            parts += [c.get("text", "") for c in snap.get("captions", [])]
        return " ".join(parts)


def pcm_frames(audio: np.ndarray) -> list[bytes]:
    """Mono float32 16 kHz -> the page's 512-sample int16 frames."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    n = len(pcm) // FRAME
    return [pcm[i * FRAME : (i + 1) * FRAME].tobytes() for i in range(n)]


def conversation(name: str) -> np.ndarray:
    """A real two-person recording as (samples, 2): the rep on channel 0 (the
    microphone), the customer on channel 1 (the shared tab)."""
    if name == "phone_call":
        from benchmarks.conversations import phone_call

        return phone_call()[1].audio
    from assistant.audio.file_source import decode_file

    here = Path(__file__).resolve().parent.parent
    real = here / "tests" / "fixtures" / "audio" / "real"
    audio = decode_file(real / f"{name}.ogg")[:, 0]
    refs = json.loads((real / f"{name}.json").read_text())["utterances"]
    speakers = list(dict.fromkeys(u["speaker"] for u in refs))
    out = np.zeros((len(audio), 2), dtype=np.float32)
    for u in refs:
        ch = min(1, speakers.index(u["speaker"]))
        lo, hi = int(max(0.0, u["start"] - 0.1) * RATE_HZ), int((u["end"] + 0.15) * RATE_HZ)
        out[lo:hi, ch] = audio[lo:hi]
    return out


async def run_rep(
    url: str,
    token: str,
    audio: np.ndarray,
    tail_s: float = TAIL_S,
    start_delay_s: float = 0.0,
    settle_s: float = 1.5,
) -> RepRun:
    """One rep's call, start to finish; never raises (the error is kept)."""
    from websockets.asyncio.client import connect

    run = RepRun(token)
    await asyncio.sleep(start_delay_s)
    origin = url.rstrip("/")
    ws_url = origin.replace("http://", "ws://") + f"/ws?token={token}"
    try:
        async with connect(
            ws_url,
            origin=origin,
            open_timeout=CONNECT_TIMEOUT_S,
            max_size=1 << 22,  # type: ignore[arg-type]
        ) as ws:
            reader = asyncio.create_task(_read(ws, run))
            await _send_listen(ws, audio.shape[1] > 1)
            await _stream(ws, run, audio, tail_s)
            await asyncio.sleep(settle_s)
            reader.cancel()
    except Exception as exc:  # kept for the caller: a benchmark must report, not die
        run.error = f"{type(exc).__name__}: {exc}"
        run.close_code = getattr(getattr(exc, "rcvd", None), "code", None)
    return run


async def _read(ws: Any, run: RepRun) -> None:
    async for raw in ws:
        if isinstance(raw, str):
            run.messages.append((time.monotonic(), json.loads(raw)))


async def _send_listen(ws: Any, two: bool) -> None:
    page = secrets.token_hex(8)
    message = {"v": 1, "type": "listen", "page": page, "mic": True, "call": two}
    await ws.send(json.dumps(message))


async def _stream(ws: Any, run: RepRun, audio: np.ndarray, tail_s: float) -> None:
    channels = [Channel.MIC, Channel.CALL][: audio.shape[1]]
    tail = np.zeros((int(tail_s * RATE_HZ), audio.shape[1]), dtype=np.float32)
    full = np.concatenate([audio, tail])
    frames = [pcm_frames(full[:, c]) for c in range(len(channels))]
    run.started = time.monotonic()
    for i in range(len(frames[0])):
        due = run.started + (i + 1) * FRAME_S
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        captured_ms = time.time() * 1000.0
        for channel, chunks in zip(channels, frames, strict=True):
            await ws.send(build_audio_frame(channel, i, captured_ms, chunks[i], first=i == 0))
        run.sent_frames += 1


async def run_reps(
    url: str, tokens: list[str], audio: np.ndarray, stagger_s: float = 0.0
) -> list[RepRun]:
    tasks = [run_rep(url, t, audio, start_delay_s=i * stagger_s) for i, t in enumerate(tokens)]
    return list(await asyncio.gather(*tasks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--tokens", required=True, help="comma-separated rep tokens")
    parser.add_argument("--audio", default="phone_call", help="phone_call, turns or monologue")
    parser.add_argument("--repeat", type=int, default=1, help="play the recording N times")
    parser.add_argument("--stagger", type=float, default=0.0, help="seconds between rep starts")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    audio = np.concatenate([conversation(args.audio)] * args.repeat)
    runs = asyncio.run(run_reps(args.url, args.tokens.split(","), audio, args.stagger))
    args.out.write_text(
        json.dumps(
            [
                {
                    "token": r.token,
                    "started": r.started,
                    "sent_frames": r.sent_frames,
                    "error": r.error,
                    "finals": [
                        (t, m)
                        for t, m in r.messages
                        if m.get("type") == "caption" and m.get("final")
                    ],
                    "statuses": [m for _, m in r.messages if m.get("type") == "status"],
                }
                for r in runs
            ]
        )
    )
    return 0 if all(r.error is None for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
