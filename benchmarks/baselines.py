"""Baselines measured in the same run, so our figures can be stated as ratios that
survive a move to another (or a busier) machine.

* **offline**: each channel of the call transcribed whole by faster-whisper's
  ``transcribe`` (greedy, same model): the cheapest way to get the words, and no
  latency story at all. Gives CPU seconds per audio second and a WER.
* **naive fixed window**: what a first streaming attempt does -- every 2 s of audio,
  transcribe that window (``transcribe`` again: padded to 30 s). Decode times are
  measured for real; the clock is simulated (window k is ready at 2(k+1) s, one
  decoder, so a slow decode delays the next window), which is exactly what a live
  loop would see, without waiting 76 s of wall time. A line's text is committed
  when the window holding its last word has been decoded.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .accuracy import offline_by_channel, offline_text, pooled_wer, script_refs
from .common import CHANNEL_SPEAKERS, RATE_HZ, percentiles, say

WINDOW_S = 2.0


def _cpu_and_wall(fn: Any) -> tuple[Any, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def offline(decoder: Any, audio: np.ndarray, script: list[dict[str, Any]]) -> dict[str, Any]:
    """Both channels of a stereo call, each transcribed in one go."""
    duration_s = len(audio) / RATE_HZ
    hyps, cpu_s, wall_s = _cpu_and_wall(lambda: offline_by_channel(decoder, audio))
    out = {
        "audio_s": round(duration_s, 2),
        "cpu_s": round(cpu_s, 3),
        "wall_s": round(wall_s, 3),
        "cpu_s_per_audio_s": round(cpu_s / duration_s, 4),
        "rtf": round(wall_s / duration_s, 4),
        **pooled_wer(script_refs(script), hyps),
    }
    say(f"baseline offline: {wall_s:.1f} s for {duration_s:.0f} s of call, WER {out['wer']:.3f}")
    return out


def naive_window(decoder: Any, audio: np.ndarray, script: list[dict[str, Any]]) -> dict[str, Any]:
    duration_s = len(audio) / RATE_HZ
    n = int(WINDOW_S * RATE_HZ)
    windows = math.ceil(len(audio) / n)
    jobs: list[tuple[float, int, int, float, str]] = []  # (ready, channel, k, decode_s, text)
    cpu0 = time.process_time()
    for k in range(windows):
        for ch in (0, 1):
            clip = audio[k * n : (k + 1) * n, ch]
            started = time.perf_counter()
            text = offline_text(decoder, clip)
            jobs.append(
                (min((k + 1) * WINDOW_S, duration_s), ch, k, time.perf_counter() - started, text)
            )
    cpu_s = time.process_time() - cpu0
    done: dict[tuple[int, int], float] = {}
    free = 0.0
    for ready, ch, k, decode_s, _ in sorted(jobs):
        free = max(ready, free) + decode_s
        done[(ch, k)] = free
    latencies = []
    for line in script:
        ch = CHANNEL_SPEAKERS.index(line["speaker"])
        k = min(int(line["end"] // WINDOW_S), windows - 1)
        latencies.append(done[(ch, k)] - line["end"])
    hyps = {
        sp: " ".join(t for _, c, _, _, t in sorted(jobs, key=lambda j: j[2]) if c == ch)
        for ch, sp in enumerate(CHANNEL_SPEAKERS)
    }
    out = {
        "window_s": WINDOW_S,
        "windows": windows * 2,
        "final_true_s": percentiles(latencies),
        "samples": [round(x, 4) for x in latencies],
        "decode_s": percentiles(j[3] for j in jobs),
        "cpu_s_per_audio_s": round(cpu_s / duration_s, 4),
        **pooled_wer(script_refs(script), hyps),
    }
    say(
        f"baseline naive {WINDOW_S:g} s window: text p50/p95 {out['final_true_s']['p50']}/"
        f"{out['final_true_s']['p95']} s after speech, WER {out['wer']:.3f}"
    )
    return out
