"""The silence clock: seconds since anyone last spoke, across all speakers. Pure."""

from __future__ import annotations

import time

from assistant.events import SilenceTick, Speaker, SpeechEnded, SpeechStarted

# Four ticks a second: dead-air detectors fire within a quarter second of their
# threshold, and the overlay's silence timer looks continuous.
TICK_INTERVAL_S = 0.25


class SilenceClock:
    def __init__(self, tick_interval_s: float = TICK_INTERVAL_S) -> None:
        self._speaking: set[Speaker] = set()
        self._last_speech_end_s = 0.0
        self._next_tick_s = tick_interval_s
        self._interval = tick_interval_s

    def on_speech(self, event: SpeechStarted | SpeechEnded) -> None:
        if isinstance(event, SpeechStarted):
            self._speaking.add(event.speaker)
        else:
            self._speaking.discard(event.speaker)
            self._last_speech_end_s = max(self._last_speech_end_s, event.end_s)

    def silence_s(self, now_s: float) -> float:
        if self._speaking:
            return 0.0
        return max(0.0, now_s - self._last_speech_end_s)

    def advance(self, now_s: float) -> list[SilenceTick]:
        """Ticks due up to stream time ``now_s`` (one per interval, none skipped,
        so fast replay sees the same ticks as real time)."""
        ticks = []
        while now_s >= self._next_tick_s:
            at = self._next_tick_s
            ticks.append(SilenceTick(at, self.silence_s(at), time.monotonic()))
            self._next_tick_s += self._interval
        return ticks
