"""What the manager's view shows of one live call, kept from the call's own events.

A session handler like the recorder: it runs on the call's session thread and
keeps a few figures under a lock for the team server to read (duration, talk per
speaker from the final text, the silence clock, the cards on screen and the stalls
so far, the pipeline's state, and when transcription was slow). No I/O.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from assistant.events import (
    CardFeedback,
    CardRemoved,
    ConversationMetrics,
    Event,
    PipelineState,
    SilenceTick,
    Speaker,
    Status,
    Suggestion,
    is_final_text,
)

# Final-text latencies kept per call (an hour of a busy call's utterances).
LATENCIES_MAX = 2000


@dataclass(frozen=True)
class CardNow:
    id: str
    trigger: str
    severity: str
    prompt: str
    at_s: float


@dataclass
class CallFigures:
    """One call at one moment (what ``CallStats.snapshot`` returns)."""

    now_s: float = 0.0
    talk_s: dict[str, float] = field(default_factory=dict)
    silence_s: float = 0.0
    cards: list[CardNow] = field(default_factory=list)
    stalls: int = 0
    stalls_by_trigger: dict[str, int] = field(default_factory=dict)
    state: str = "starting"
    detail: str = ""
    behind_s: float = 0.0
    finals: int = 0
    slow: int = 0
    slow_detail: str = ""


class CallStats:
    def __init__(self, own: Speaker, clock: Any = time.monotonic) -> None:
        self.own = own
        self._clock = clock
        self._lock = threading.Lock()
        self._f = CallFigures()
        self._cards: OrderedDict[str, CardNow] = OrderedDict()
        # Final-text latency (arrival minus speech end), seconds: benchmarks, tests.
        self.latencies_s: deque[float] = deque(maxlen=LATENCIES_MAX)

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._on(event)

    def _on(self, event: Event) -> None:
        f = self._f
        at = getattr(event, "stream_s", None)
        if isinstance(at, float):
            f.now_s = max(f.now_s, at)
        if is_final_text(event):
            span = max(0.0, event.end_s - event.start_s)  # type: ignore[union-attr]
            if event.text.strip():  # type: ignore[union-attr]
                who = event.speaker.value  # type: ignore[union-attr]
                f.talk_s[who] = f.talk_s.get(who, 0.0) + span
                f.finals += 1
            self.latencies_s.append(self._clock() - event.speech_end_wall)  # type: ignore[union-attr]
        elif isinstance(event, (ConversationMetrics, SilenceTick)):
            f.silence_s = event.silence_s
        elif isinstance(event, Suggestion):
            f.stalls += 1
            f.stalls_by_trigger[event.trigger] = f.stalls_by_trigger.get(event.trigger, 0) + 1
            self._cards[event.id] = CardNow(
                event.id, event.trigger, event.severity.value, event.prompt, event.at_s
            )
        elif isinstance(event, (CardFeedback, CardRemoved)):
            self._cards.pop(event.card_id, None)
        elif isinstance(event, Status):
            if event.state is PipelineState.LISTENING and event.lag_s > 0:
                f.behind_s = event.lag_s
            else:
                f.state, f.detail = event.state.value, event.detail
                if event.state is PipelineState.LISTENING:
                    f.behind_s = 0.0

    def slowed(self, why: str) -> None:
        """Transcription was slow for this call (a replica died, a decode retried)."""
        with self._lock:
            self._f.slow += 1
            self._f.slow_detail = why

    def snapshot(self) -> CallFigures:
        with self._lock:
            f = self._f
            return CallFigures(
                now_s=f.now_s,
                talk_s=dict(f.talk_s),
                silence_s=f.silence_s,
                cards=list(self._cards.values()),
                stalls=f.stalls,
                stalls_by_trigger=dict(f.stalls_by_trigger),
                state=f.state,
                detail=f.detail,
                behind_s=f.behind_s,
                finals=f.finals,
                slow=f.slow,
                slow_detail=f.slow_detail,
            )
