"""The bundled sample call as benchmark material: its audio and script, an excerpt
re-timed to its cut, and its lines back to back as real speech of any length."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CALL = REPO / "assistant" / "samples" / "sample_call.ogg"
SAMPLE_SCRIPT = SAMPLE_CALL.with_suffix(".json")
RATE_HZ = 16000
# The stereo sample call: left channel the rep, right the customer.
CHANNEL_SPEAKERS = ("rep", "customer")


def load_script() -> list[dict[str, Any]]:
    return json.loads(SAMPLE_SCRIPT.read_text("utf-8"))


def excerpt(
    audio: np.ndarray, script: list[dict[str, Any]], start_s: float, end_s: float
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The part of a call between two pauses, with its lines re-timed to the cut.

    Keeps a second of the pause after the last whole line, so the VAD ends that
    utterance by silence (as live) rather than by the end of the file.
    """
    lines = [line for line in script if line["start"] >= start_s and line["end"] <= end_s - 1.0]
    if not lines:
        raise ValueError(f"no whole scripted line between {start_s} and {end_s} s")
    lo = max(0.0, min(start_s, lines[0]["start"] - 0.3))
    hi = lines[-1]["end"] + 1.0
    shifted = [{**line, "start": line["start"] - lo, "end": line["end"] - lo} for line in lines]
    return audio[int(lo * RATE_HZ) : int(hi * RATE_HZ)], shifted


def speech_material(
    audio: np.ndarray, script: list[dict[str, Any]], gap_s: float = 0.3
) -> tuple[np.ndarray, list[float]]:
    """Every scripted line of the (stereo) sample call, from its speaker's channel,
    back to back with short gaps: real speech to cut utterances of any length from.
    Returns the mono audio and the stream times where lines end."""
    parts: list[np.ndarray] = []
    ends: list[float] = []
    pos = 0
    gap = np.zeros(int(gap_s * RATE_HZ), dtype=np.float32)
    for line in script:
        channel = CHANNEL_SPEAKERS.index(line["speaker"])
        clip = audio[int(line["start"] * RATE_HZ) : int(line["end"] * RATE_HZ), channel]
        parts += [clip, gap]
        pos += len(clip)
        ends.append(pos / RATE_HZ)
        pos += len(gap)
    return np.concatenate(parts).astype(np.float32), ends
