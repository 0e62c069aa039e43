"""One ordered event stream out of several speaker streams. Pure; no threads.

Each speaker's worker emits its events and reports how far its stream is settled
(``StreamingTranscriber.settled_s``: nothing it emits later lies before that stream
time). Up to the slowest stream's settled time -- the watermark -- the order is
final, so ``StreamOrder`` releases events there in stream-time order, and the
silence clock's ticks (strictly before the watermark) between them, each tick after
every speech event before it: an utterance's end counts from where its speech
stopped, which its stream stays settled at until the end is decided. The consumer
then sees both speakers in stream order and the same ticks with the same silence,
however the threads were scheduled: the same audio gives the same cards in real
time, in fast replay and on a loaded machine.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable

from assistant.events import (
    Event,
    FinalTranscript,
    PartialTranscript,
    SilenceTick,
    Speaker,
    SpeechDiscarded,
    SpeechEnded,
    SpeechStarted,
    TranscriptRevision,
)
from assistant.pipeline.silence_clock import SilenceClock

# At one stream time: speech events, then text (a final at its utterance's end
# after the end itself), partials last; a silence tick after all of them.
_RANK = {
    SpeechStarted: 0,
    SpeechEnded: 1,
    SpeechDiscarded: 1,
    FinalTranscript: 2,
    TranscriptRevision: 3,
    PartialTranscript: 4,
}


def stream_time(event: Event) -> float:
    """Where a stream event sits on the stream clock: a start or a discarded burst
    when the VAD decided it, an end where the speech stopped, text at the end of the
    audio it covers."""
    if isinstance(event, (SpeechStarted, SpeechDiscarded)):
        return event.detected_s
    if isinstance(event, SpeechEnded):
        return event.end_s
    if isinstance(event, (PartialTranscript, FinalTranscript, TranscriptRevision)):
        return event.end_s
    raise TypeError(f"not a stream event: {type(event).__name__}")


class StreamOrder:
    def __init__(self, speakers: Iterable[Speaker], clock: SilenceClock | None = None) -> None:
        self._progress = {speaker: 0.0 for speaker in speakers}
        self._held: list[tuple[float, int, int, Event]] = []
        self._seq = itertools.count()
        self.clock = clock or SilenceClock()

    def emit(self, speaker: Speaker, event: Event) -> list[Event]:
        """Queue one speaker's event; what can be released now."""
        # A piece or partial describes audio before the stream's settled time; it
        # goes out as of the settled time, behind what was already released.
        key = max(stream_time(event), self._progress[speaker])
        heapq.heappush(self._held, (key, _RANK[type(event)], next(self._seq), event))
        return self._release()

    def progress(self, speaker: Speaker, settled_s: float) -> list[Event]:
        """A stream is settled up to ``settled_s`` (``math.inf``: it has ended)."""
        self._progress[speaker] = max(self._progress[speaker], settled_s)
        return self._release()

    def _release(self) -> list[Event]:
        watermark = min(self._progress.values())
        # Ticks stop where the slowest live stream is (an ended stream is at inf).
        live = min((t for t in self._progress.values() if t != math.inf), default=-math.inf)
        ready: list[Event] = []
        while True:
            next_key = self._held[0][0] if self._held else math.inf
            tick_s = self.clock.next_tick_s
            if next_key <= watermark and next_key <= tick_s:
                event = heapq.heappop(self._held)[3]
                if isinstance(event, (SpeechStarted, SpeechEnded, SpeechDiscarded)):
                    self.clock.on_speech(event)
                ready.append(event)
            elif tick_s < min(watermark, live):
                tick: SilenceTick = self.clock.tick()
                ready.append(tick)
            else:
                return ready
