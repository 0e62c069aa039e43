"""Decode requests: what the streaming policy asks of the ASR worker, and how the
worker answers (``reply`` with the result, or ``None`` for a dropped partial)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from assistant.asr.results import DecodeResult, Word
from assistant.events import Speaker


class DecodeKind(Enum):
    PARTIAL = "partial"
    FINAL = "final"


@dataclass(frozen=True)
class DecodeRequest:
    kind: DecodeKind
    speaker: Speaker
    utterance_id: int
    version: int
    audio: np.ndarray
    start_s: float  # stream time of audio[0]
    end_s: float  # stream time of the end of audio
    requested_wall: float
    reply: Callable[[DecodeRequest, DecodeResult | None], None] = field(compare=False)
    prefix: tuple[int, ...] = ()  # committed tokens the decode must start with
    context: tuple[int, ...] = ()  # previous-text prompt
    committed_words: int = 0  # how many words were committed when it was asked
    known: tuple[Word, ...] = ()  # the last words ``prefix`` spells
    # Decode as offline decoding does (the final text); False: the short-window
    # re-decode of first text.
    offline: bool = False
    # Still worth decoding? A speculative final whose speaker went on talking is
    # not: the worker skips it (and replies None) rather than spend a decode on it.
    wanted: Callable[[], bool] = field(default=lambda: True, compare=False)
