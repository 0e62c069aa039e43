"""The coach as one session handler, and the metrics frame it emits.

``Coach`` feeds final transcripts and silence ticks to the suggestion engine (the
conversation state, the detectors and the playbook's pacing) and hands back what the
engine produces -- signals and cards -- followed by a :class:`ConversationMetrics`
frame: talk per speaker over the talk-ratio window, the silence clock and the current
monologue. The overlay shows those figures; it keeps no conversation state of its
own. Without a playbook (``--no-coach``) the coach still keeps the conversation
state, so the overlay's meters work with captions only.
"""

from __future__ import annotations

from assistant.coach.conversation import ConversationState
from assistant.coach.detectors.timing import MONOLOGUE_S, TALK_RATIO_WINDOW_S
from assistant.coach.engine import SuggestionEngine
from assistant.events import ConversationMetrics, Event, FinalTranscript, SilenceTick, Speaker


class NoScorer:
    """Talk times and monologues need no sentiment: the captions-only coach skips
    the model."""

    threshold = 1.0

    def probability(self, text: str) -> float:
        return 0.0


def metrics_of(state: ConversationState) -> ConversationMetrics:
    """The frame for the conversation as it stands."""
    mono = state.monologue
    return ConversationMetrics(
        now_s=state.now_s,
        silence_s=state.silence_s,
        talk_s={
            sp: state.talk_s_in_window(sp, TALK_RATIO_WINDOW_S)
            for sp in Speaker
            if sp in state.stats
        },
        window_s=TALK_RATIO_WINDOW_S,
        monologue=None if mono is None else mono.speaker,
        monologue_s=0.0 if mono is None else mono.duration_s,
        monologue_warn_s=MONOLOGUE_S,
    )


class Coach:
    """Session handler: transcripts in; signals, cards and metrics frames out."""

    def __init__(self, engine: SuggestionEngine | None = None, frames: bool = True) -> None:
        self.engine = engine
        self.state = engine.state if engine is not None else ConversationState(scorer=NoScorer())
        # Frames are for the overlay; a session without one does not pay for them.
        self.frames = frames
        self._started = False

    def __call__(self, event: Event) -> list[Event] | None:
        if not isinstance(event, (FinalTranscript, SilenceTick)):
            if self.frames and not self._started:
                # The first event of a run (the pipeline's "listening"): a frame at
                # once, so the overlay has figures before anyone speaks.
                self._started = True
                return [metrics_of(self.state)]
            return None
        self._started = True
        out: list[Event] = []
        if self.engine is not None:
            out.extend(self.engine.feed(event))
        elif isinstance(event, SilenceTick):
            self.state.tick(event)
        elif event.text.strip():
            self.state.add_final(event)
        if self.frames:
            out.append(metrics_of(self.state))
        return out
