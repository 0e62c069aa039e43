"""The silence clock: seconds since anyone last spoke, across all speakers. Pure.

It is fed speech events in stream order (the pipeline releases them by the stream
time at which the VAD decided them, ``detected_s``) and asked for one tick at a
time, each after every event decided before it; so a tick's silence is a function
of the audio alone, the same in real time, in fast replay and on a loaded machine.
"""

from __future__ import annotations

import time

from assistant.events import SilenceTick, Speaker, SpeechDiscarded, SpeechEnded, SpeechStarted

# Four ticks a second: dead-air detectors fire within a quarter second of their
# threshold, and the overlay's silence timer looks continuous.
TICK_INTERVAL_S = 0.25

SpeechEvent = SpeechStarted | SpeechEnded | SpeechDiscarded


class SilenceClock:
    def __init__(self, tick_interval_s: float = TICK_INTERVAL_S) -> None:
        self._speaking: set[Speaker] = set()
        self._last_speech_end_s = 0.0
        self._interval = tick_interval_s
        self.next_tick_s = tick_interval_s

    def on_speech(self, event: SpeechEvent) -> None:
        if isinstance(event, SpeechStarted):
            self._speaking.add(event.speaker)
            return
        self._speaking.discard(event.speaker)
        if isinstance(event, SpeechEnded):
            # Silence counts from where the speech stopped, not from when the
            # end-of-utterance silence confirmed it.
            self._last_speech_end_s = max(self._last_speech_end_s, event.end_s)

    def silence_s(self, now_s: float) -> float:
        if self._speaking:
            return 0.0
        return max(0.0, now_s - self._last_speech_end_s)

    def tick(self) -> SilenceTick:
        """The next tick (one per interval, none skipped, so fast replay sees the
        same ticks as real time)."""
        at = self.next_tick_s
        self.next_tick_s += self._interval
        return SilenceTick(at, self.silence_s(at), time.monotonic())
