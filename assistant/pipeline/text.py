"""A text transcript as a pipeline: the same events as audio, into the same session.

Each line becomes what the audio pipeline would have made of it: its speech start
and end, then its one ``FinalTranscript`` (the line's final text), released through
the same ``StreamOrder`` with the same silence ticks, so the coach, the recorder,
the terminal and the overlay see a text replay exactly as they see a call. Paced on
the transcript's own clock in real time, or as fast as the consumer takes it.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator

from assistant.audio.transcript_file import TranscriptLine
from assistant.events import (
    Event,
    FinalTranscript,
    PipelineState,
    Speaker,
    SpeechEnded,
    SpeechStarted,
    Status,
)
from assistant.pipeline.core import DONE, drain
from assistant.pipeline.ordering import StreamOrder

# Real time: how often the clock moves while waiting for the next line (silence
# ticks come every 0.25 s of stream time; this keeps them on time).
PACE_STEP_S = 0.05
# Events waiting for the consumer: fast replay waits for room (nothing is lost).
EVENT_QUEUE_SIZE = 1024
# The one stream a transcript is, for the ordering.
_STREAM = Speaker.UNKNOWN


def _timeline(lines: list[TranscriptLine]) -> list[tuple[float, int, Event]]:
    """(stream time, order, event): each speaker's speech starts and ends (lines of
    one speaker that overlap are one stretch of speech), and every line's final at
    its end, after the speech end there."""
    out: list[tuple[float, int, Event]] = []
    by_speaker: dict[Speaker, list[TranscriptLine]] = {}
    for line in lines:
        by_speaker.setdefault(line.speaker, []).append(line)
    for speaker, own in by_speaker.items():
        spans: list[list[float]] = []
        for line in sorted(own, key=lambda u: u.start_s):
            if spans and line.start_s <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], line.end_s)
            else:
                spans.append([line.start_s, line.end_s])
        for start, end in spans:
            out.append((start, 0, SpeechStarted(speaker, start, detected_s=start)))
            out.append((end, 1, SpeechEnded(speaker, start, end, detected_s=end)))
    for line in lines:
        final = FinalTranscript(
            line.speaker, line.line_no, line.start_s, line.end_s, line.text, 0.0, 0.0
        )
        out.append((line.end_s, 2, final))
    return sorted(out, key=lambda item: (item[0], item[1]))


class TranscriptPipeline:
    """The pipeline interface ``Session`` drives, over a transcript's lines."""

    def __init__(self, lines: list[TranscriptLine], name: str, realtime: bool) -> None:
        self.name = name
        self.realtime = realtime
        self._timeline = _timeline(lines)
        self._order = StreamOrder([_STREAM])
        self._events: queue.Queue[object] = queue.Queue(maxsize=EVENT_QUEUE_SIZE)
        self._stop = threading.Event()
        self._paused = threading.Event()
        self.error: Exception | None = None
        self.lag_s = 0.0
        self.dropped_partials = 0
        self._thread = threading.Thread(target=self._run, name="transcript", daemon=True)

    def start(self) -> None:
        self._put([Status(PipelineState.LISTENING, self.name)])
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def pause(self) -> None:
        self._paused.set()
        self._put([Status(PipelineState.PAUSED, "listening paused")])

    def resume(self) -> None:
        self._paused.clear()
        self._put([Status(PipelineState.LISTENING, "listening resumed")])

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def events(self, timeout_s: float | None = None) -> Iterator[Event]:
        return drain(self._events, timeout_s)

    def _put(self, events: list[Event]) -> None:
        for event in events:
            self._events.put(event)

    def _run(self) -> None:
        started = time.monotonic()
        reason = "end of input"
        for at_s, _, event in self._timeline:
            if self.realtime:
                started = self._wait_until(started, at_s)
            if self._stop.is_set():
                reason = "stopped"
                break
            if isinstance(event, FinalTranscript):
                # Its text is "heard" when the line ends: the latency origin.
                wall = time.monotonic()
                event = FinalTranscript(
                    event.speaker, event.utterance_id, event.start_s, event.end_s,
                    event.text, wall, wall,
                )  # fmt: skip
            self._put(self._order.emit(_STREAM, event))
            self._put(self._order.progress(_STREAM, at_s))
        self._put(self._order.progress(_STREAM, math.inf))
        self._put([Status(PipelineState.STOPPED, reason)])
        self._events.put(DONE)

    def _wait_until(self, started: float, at_s: float) -> float:
        """Real time: keep the clock (and its silence ticks) moving until the
        transcript reaches ``at_s``; a pause holds the clock. The pacing origin,
        shifted by any pause."""
        while not self._stop.is_set():
            if self._paused.is_set():
                paused_at = time.monotonic()
                while self._paused.is_set() and not self._stop.is_set():
                    time.sleep(PACE_STEP_S)
                started += time.monotonic() - paused_at
                continue
            now_s = time.monotonic() - started
            if now_s >= at_s:
                return started
            self._put(self._order.progress(_STREAM, now_s))
            time.sleep(min(PACE_STEP_S, at_s - now_s))
        return started
