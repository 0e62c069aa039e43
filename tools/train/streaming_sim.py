"""The streaming policy on a simulated clock: what first and final text a recording
gives (``tools.train.first_final``).

``StreamingTranscriber`` (pure logic) runs over the audio with real speech
probabilities (Silero) and the product's decoder. Audio arrives at real-time pace
and a decode takes as long, in stream time, as it took on this CPU, on one ASR
worker scheduled as ``assistant/asr/worker.py`` does: finals first, one partial at a
time (a newer one replaces it) and dropped when stale.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.asr.config import StreamingConfig
from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.streaming import StreamingTranscriber
from assistant.asr.worker import STALE_PARTIAL_S
from assistant.events import FinalTranscript, Speaker, TranscriptRevision
from assistant.vad.silero import FRAME_S, FRAME_SAMPLES, SileroVad


@dataclass
class Heard:
    """One utterance as the detectors would receive it."""

    start_s: float
    end_s: float
    pieces: list[tuple[float, str]] = field(default_factory=list)  # (arrival, text)
    final: str = ""
    final_at: float = 0.0

    @property
    def had_pieces(self) -> bool:
        """First text arrived before the final (pieces committed mid-utterance)."""
        return any(at < self.final_at - 1e-6 for at, _ in self.pieces)


@dataclass
class _Worker:
    """The ASR worker's schedule on the simulated clock (``assistant/asr/worker.py``)."""

    decoder: Any
    finals: deque[DecodeRequest] = field(default_factory=deque)
    partial: DecodeRequest | None = None
    busy: tuple[float, DecodeRequest, Any] | None = None  # (ready at, request, result)
    decode_s: dict[str, list[float]] = field(default_factory=lambda: {"partial": [], "final": []})


def simulate(
    audio: np.ndarray, decoder: Any, speaker: Speaker = Speaker.CUSTOMER
) -> tuple[list[Heard], dict[str, list[float]]]:
    """The streaming policy over ``audio`` (16 kHz mono), on a simulated clock: its
    utterances and the decode times (seconds, by kind)."""
    now = [0.0]
    st = StreamingTranscriber(
        speaker, reply=lambda _r, _x: None, config=StreamingConfig(), clock=lambda: now[0]
    )
    vad = SileroVad()
    worker = _Worker(decoder)
    heard: dict[int, Heard] = {}

    def handle(outputs: list[Any]) -> None:
        for item in outputs:
            if isinstance(item, DecodeRequest):
                if item.kind is DecodeKind.FINAL:
                    worker.finals.append(item)
                else:
                    if worker.partial is not None:  # only the latest caption matters
                        handle(st.on_result(worker.partial, None))
                    worker.partial = item
            elif isinstance(item, FinalTranscript):
                utt = heard.setdefault(item.utterance_id, Heard(item.start_s, item.end_s))
                utt.pieces.append((now[0], item.text))
                utt.end_s = item.end_s
                if item.piece == 0 and item.last:
                    utt.final, utt.final_at = item.text, now[0]
            elif isinstance(item, TranscriptRevision):
                utt = heard.setdefault(item.utterance_id, Heard(item.start_s, item.end_s))
                utt.final, utt.final_at, utt.end_s = item.text, now[0], item.end_s

    def step() -> None:
        """Deliver a finished decode; start the next one if the worker is free."""
        if worker.busy is not None and worker.busy[0] <= now[0] + 1e-9:
            _, request, result = worker.busy
            worker.busy = None
            handle(st.on_result(request, result))
        while worker.busy is None:
            if worker.finals:
                request = worker.finals.popleft()
                if not request.wanted():
                    handle(st.on_result(request, None))
                    continue
            elif worker.partial is not None:
                request, worker.partial = worker.partial, None
                if now[0] - request.requested_wall > STALE_PARTIAL_S:
                    handle(st.on_result(request, None))
                    continue
            else:
                return
            started = time.perf_counter()
            result = decoder.decode(
                request.audio, request.prefix, request.context, offline=request.offline
            )
            took = time.perf_counter() - started
            worker.decode_s[request.kind.value].append(took)
            worker.busy = (now[0] + took, request, result)

    def wall_at(stream_s: float) -> float:
        return stream_s

    for i in range(len(audio) // FRAME_SAMPLES):
        frame = audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
        now[0] = (i + 1) * FRAME_S
        step()
        handle(st.feed(frame, vad(frame), wall_at))
        step()
    handle(st.flush(wall_at))
    while not st.idle or worker.busy is not None or worker.finals:
        step()
        if worker.busy is not None:
            now[0] = max(now[0], worker.busy[0])
        elif not worker.finals and worker.partial is None:
            break
    utts = [heard[k] for k in sorted(heard) if heard[k].final_at or heard[k].pieces]
    return utts, worker.decode_s
