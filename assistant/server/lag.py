"""Is the coach behind the call? The figure behind the overlay's "Behind N s" chip.
Pure: events and a clock in, seconds out.

Two ways to fall behind, both seen from the events the pipeline already emits:

* **Audio**: the pipeline reports lag (a "listening" status with ``lag_s``) with
  every audio block it handles late, and says nothing once it has caught up; so a
  report is believed for ``REPORT_HOLD_S``.
* **Transcription**: Whisper slower than real time (a loaded CPU, a big model).
  Audio keeps flowing, but an utterance that has ended (``SpeechEnded``) waits for
  its final text. It is behind once that wait passes ``LATE_FINAL_S``, and caught up
  when the final arrives -- or when the silence clock passes the utterance's end,
  which the pipeline only lets happen once that utterance's events are all out
  (also when its text was dropped as noise, so a missing final never sticks).
"""

from __future__ import annotations

from collections import deque

from assistant.events import (
    FinalTranscript,
    PipelineState,
    SilenceTick,
    SpeechEnded,
    Status,
    TranscriptRevision,
)

# A lag report is believed this long; reports come ~30 a second while behind.
REPORT_HOLD_S = 1.5
# A final normally follows the end of speech in 0.4-0.8 s here (README,
# "Performance"); one more than this late means transcription is behind.
LATE_FINAL_S = 1.5
# Utterances waiting for their final, remembered (a backlog beyond this is already
# far behind; the oldest is what the figure measures).
MAX_WAITING = 64


class BehindClock:
    def __init__(self) -> None:
        self._report_s = 0.0
        self._report_wall = -1e18
        # (speaker, stream end of the utterance, wall time its end was seen)
        self._waiting: deque[tuple[str, float, float]] = deque(maxlen=MAX_WAITING)

    def on_event(self, event: object, now: float) -> None:
        if isinstance(event, SpeechEnded):
            self._waiting.append((event.speaker.value, event.end_s, now))
        elif isinstance(event, (FinalTranscript, TranscriptRevision)):
            speaker = event.speaker.value
            self._keep(lambda sp, end: sp != speaker or end > event.end_s + 0.5)
        elif isinstance(event, SilenceTick):
            self._keep(lambda sp, end: end > event.now_s)
        elif isinstance(event, Status):
            if event.state is PipelineState.LISTENING and event.lag_s > 0:
                self._report_s, self._report_wall = event.lag_s, now
            elif event.state in (PipelineState.STOPPED, PipelineState.ERROR):
                self._waiting.clear()
                self._report_wall = -1e18

    def _keep(self, keep) -> None:  # type: ignore[no-untyped-def]
        self._waiting = deque(
            (item for item in self._waiting if keep(item[0], item[1])), maxlen=MAX_WAITING
        )

    def behind_s(self, now: float) -> float:
        """Seconds behind the call (0 when keeping up)."""
        report = self._report_s if now - self._report_wall <= REPORT_HOLD_S else 0.0
        wait = now - self._waiting[0][2] if self._waiting else 0.0
        return max(report, wait if wait > LATE_FINAL_S else 0.0)
