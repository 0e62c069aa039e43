"""The two baselines every real-speech figure is compared with, measured in the
same process with the same model:

* **offline**: faster-whisper's ``transcribe`` over the whole recording (each
  channel of a two-channel file, with its VAD filter so the silent stretches of a
  channel are not hallucinated over), greedy at temperature 0, no previous-text
  conditioning -- the accuracy the final text must match;
* **naive**: every 2 s of new audio transcribed as it arrives (decode times real,
  clock simulated: one decoder, so a slow decode delays the next window).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .conversations import RATE_HZ, Conversation
from .scoring import Committed, Score, score_channels

NAIVE_WINDOW_S = 2.0


def transcribe(decoder: Any, audio: np.ndarray, vad: bool = False) -> list[tuple[float, str]]:
    """faster-whisper's own loop over ``audio`` (pads to 30 s windows): greedy,
    English, no previous-text conditioning -- the settings the product decodes with."""
    segments, _ = decoder._model.transcribe(
        audio,
        beam_size=1,
        temperature=0.0,
        condition_on_previous_text=False,
        language="en",
        vad_filter=vad,
    )
    return [(s.start, s.text) for s in segments]  # consumed here, in this thread


def channels(conv: Conversation) -> list[tuple[int | None, np.ndarray]]:
    if conv.channel_speakers:
        return [(ch, conv.audio[:, ch]) for ch in range(conv.audio.shape[1])]
    return [(None, conv.audio[:, 0])]


def offline(conv: Conversation, decoder: Any) -> tuple[Score, list[float]]:
    """Whole channels, decoded once: the score, and the CPU seconds it took (greedy
    decoding gives the same words every time; a repeat only re-times it)."""
    cpu0 = time.process_time()
    pieces: list[Committed] = []
    for ch, audio in channels(conv):
        texts = transcribe(decoder, audio, ch is not None)
        pieces += [Committed(text, 0.0, ch) for _, text in texts]
    spent = time.process_time() - cpu0
    return score_channels(conv.refs, conv.channel_speakers, pieces), [spent]


def naive(conv: Conversation, decoder: Any) -> tuple[Score, dict[str, Any]]:
    """Fixed 2 s windows; window k of a channel is ready at 2(k+1) s."""
    n = int(NAIVE_WINDOW_S * RATE_HZ)
    jobs: list[tuple[float, int | None, str, float]] = []  # ready, channel, text, decode_s
    windows: list[tuple[float, float]] = []  # (CPU seconds, audio seconds) per window
    for ch, audio in channels(conv):
        for k in range(math.ceil(len(audio) / n)):
            started, cpu0 = time.perf_counter(), time.process_time()
            clip = audio[k * n : (k + 1) * n]
            text = " ".join(t for _, t in transcribe(decoder, clip))
            windows.append((time.process_time() - cpu0, len(clip) / RATE_HZ))
            ready = min((k + 1) * NAIVE_WINDOW_S, len(audio) / RATE_HZ)
            jobs.append((ready, ch, text, time.perf_counter() - started))
    free = 0.0
    pieces = []
    for ready, ch, text, decode_s in sorted(jobs, key=lambda j: j[0]):
        free = max(ready, free) + decode_s
        pieces.append(Committed(text, free, ch))
    cpu_s = sum(c for c, _ in windows)
    score = score_channels(conv.refs, conv.channel_speakers, pieces)
    return score, {"windows": windows, "cpu_s_per_audio_s": cpu_s / conv.duration_s}
