"""Utterance segmentation from per-frame speech probabilities. Pure; no I/O.

``Segmenter.feed(frame, prob)`` takes one 32 ms frame of 16 kHz audio and its
Silero probability and returns what happened: speech started, paused (silence just
began: the moment to decode speculatively), resumed, ended, or was discarded as too
short. It owns the utterance's audio, with pre-roll, so the transcriber never has to
reassemble buffers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np

from .vad import FRAME_S


@dataclass(frozen=True)
class VadConfig:
    # Silero's recommended hysteresis: enter speech at 0.5, leave below 0.35, so a
    # word's soft tail does not flap the state.
    threshold: float = 0.5
    neg_threshold: float = 0.35
    # Keep 200 ms before the first speech frame: Silero reacts a frame or two late
    # and Whisper loses the first phoneme without it.
    pre_roll_s: float = 0.2
    # End of utterance after this much silence. 400 ms sits between natural
    # mid-sentence pauses (150-300 ms) and turn gaps; it is also the floor of our
    # end-of-speech -> final latency, so shorter is faster but splits sentences.
    end_silence_s: float = 0.4
    # Cut a monologue at 15 s so its text arrives (and partial decodes stay cheap);
    # Whisper's window is 30 s.
    max_utterance_s: float = 15.0
    # Shorter bursts are clicks, coughs and key presses, not words worth decoding.
    min_speech_s: float = 0.25


class SegState(Enum):
    SILENCE = "silence"
    SPEECH = "speech"
    TRAILING = "trailing"  # speech stopped; waiting to see if it resumes


@dataclass(frozen=True)
class Started:
    start_s: float


@dataclass(frozen=True)
class Paused:
    """Silence began after speech; ``audio`` is the utterance so far."""

    start_s: float
    speech_end_s: float
    audio: np.ndarray


@dataclass(frozen=True)
class Resumed:
    at_s: float


@dataclass(frozen=True)
class Ended:
    start_s: float
    speech_end_s: float
    audio: np.ndarray
    forced: bool


@dataclass(frozen=True)
class Discarded:
    start_s: float
    speech_end_s: float


SegAction = Started | Paused | Resumed | Ended | Discarded


class Segmenter:
    """Speech/silence state machine with hysteresis, pre-roll and forced cuts."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        self.state = SegState.SILENCE
        self.now_s = 0.0  # stream time at the end of the last frame fed
        self.last_speech_s: float | None = None  # end of the last speech frame
        self._pre_roll: deque[np.ndarray] = deque(
            maxlen=max(1, round(self.config.pre_roll_s / FRAME_S))
        )
        self._frames: list[np.ndarray] = []
        self._start_s = 0.0
        self._speech_end_s = 0.0
        self._speech_end_frames = 0  # frames of the utterance up to the pause

    @property
    def speaking(self) -> bool:
        return self.state is not SegState.SILENCE

    @property
    def utterance_start_s(self) -> float:
        return self._start_s

    def audio(self) -> np.ndarray:
        """The current utterance so far (for partial captions)."""
        if not self._frames:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._frames)

    def feed(self, frame: np.ndarray, prob: float) -> list[SegAction]:
        frame_start = self.now_s
        self.now_s += FRAME_S
        cfg = self.config
        if self.state is SegState.SILENCE:
            if prob >= cfg.threshold:
                return self._start(frame, frame_start, with_pre_roll=True)
            self._pre_roll.append(frame)
            return []
        self._frames.append(frame)
        if self.state is SegState.SPEECH:
            if prob < cfg.neg_threshold:
                self.state = SegState.TRAILING
                self._speech_end_s = frame_start
                # Include this first quiet frame: Silero drops a little before a
                # soft final consonant does.
                self._speech_end_frames = len(self._frames)
                return [Paused(self._start_s, frame_start, self.audio())]
            self.last_speech_s = self.now_s
            if self.now_s - self._start_s >= cfg.max_utterance_s:
                return self._force_cut()
            return []
        # TRAILING
        if prob >= cfg.threshold:
            self.state = SegState.SPEECH
            self.last_speech_s = self.now_s
            return [Resumed(frame_start)]
        if self.now_s - self._speech_end_s >= cfg.end_silence_s:
            return self._end()
        return []

    def flush(self) -> list[SegAction]:
        """End of stream: close any open utterance."""
        if self.state is SegState.SPEECH:
            self._speech_end_s = self.now_s
            self._speech_end_frames = len(self._frames)
        if self.state is SegState.SILENCE:
            return []
        return self._end()

    def _start(self, frame: np.ndarray, frame_start: float, with_pre_roll: bool) -> list[SegAction]:
        pre = list(self._pre_roll) if with_pre_roll else []
        self._pre_roll.clear()
        self._frames = [*pre, frame]
        self._start_s = frame_start - len(pre) * FRAME_S
        self.state = SegState.SPEECH
        self.last_speech_s = self.now_s
        return [Started(self._start_s)]

    def _end(self) -> list[SegAction]:
        start, end = self._start_s, self._speech_end_s
        audio = np.concatenate(self._frames[: self._speech_end_frames])
        # Trailing silence frames become the next utterance's pre-roll candidates.
        for tail in self._frames[self._speech_end_frames :]:
            self._pre_roll.append(tail)
        self._frames = []
        self.state = SegState.SILENCE
        if end - start < self.config.min_speech_s + self.config.pre_roll_s:
            return [Discarded(start, end)]
        return [Ended(start, end, audio, forced=False)]

    def _force_cut(self) -> list[SegAction]:
        start, end = self._start_s, self.now_s
        audio = np.concatenate(self._frames)
        self._frames = []
        self._start_s = end
        # Still speaking: the next utterance begins right here, with no pre-roll
        # (it would repeat the last words of the cut one).
        self.state = SegState.SPEECH
        return [Ended(start, end, audio, forced=True), Started(end)]
