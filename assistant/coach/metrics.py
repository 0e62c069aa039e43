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
from assistant.events import (
    CardFeedback,
    CardRemoved,
    ConversationMetrics,
    Event,
    FinalTranscript,
    SilenceTick,
    Speaker,
    TranscriptRevision,
    is_final_text,
)


class NoScorer:
    """Talk times and monologues need no sentiment: the captions-only coach skips
    the model."""

    threshold = 1.0

    def probability(self, text: str) -> float:
        return 0.0


def metrics_of(
    state: ConversationState, open_talk: dict[Speaker, float] | None = None
) -> ConversationMetrics:
    """The frame for the conversation as it stands; ``open_talk``: seconds of
    utterances still being spoken (their pieces), which the talk meter shows before
    their final text arrives."""
    mono = state.monologue
    extra = open_talk or {}
    return ConversationMetrics(
        now_s=state.now_s,
        silence_s=state.silence_s,
        talk_s={
            sp: state.talk_s_in_window(sp, TALK_RATIO_WINDOW_S) + extra.get(sp, 0.0)
            for sp in Speaker
            if sp in state.stats or sp in extra
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
        # (speaker, utterance id) -> (start, end) of pieces whose final text is owed.
        self._open: dict[tuple[Speaker, int], tuple[float, float]] = {}

    def __call__(self, event: Event) -> list[Event] | None:
        if isinstance(event, (CardFeedback, CardRemoved)):
            if self.engine is not None:
                self.engine.on_card_outcome(event)
            return None
        if not isinstance(event, (FinalTranscript, TranscriptRevision, SilenceTick)):
            if self.frames and not self._started:
                # The first event of a run (the pipeline's "listening"): a frame at
                # once, so the overlay has figures before anyone speaks.
                self._started = True
                return [metrics_of(self.state)]
            return None
        self._started = True
        if not isinstance(event, SilenceTick):
            self._track_open(event)
            if not is_final_text(event):
                # A piece: the talk meter moves, the coach waits for final text.
                return [self._metrics()] if self.frames else None
        out: list[Event] = []
        if self.engine is not None:
            out.extend(self.engine.feed(event))
        elif isinstance(event, SilenceTick):
            self.state.tick(event)
        elif event.text.strip():
            self.state.add_final(event)
        if self.frames:
            out.append(self._metrics())
        return out

    def _track_open(self, event: FinalTranscript | TranscriptRevision) -> None:
        key = (event.speaker, event.utterance_id)
        if is_final_text(event):
            self._open.pop(key, None)
        else:
            start, _ = self._open.get(key, (event.start_s, event.end_s))
            self._open[key] = (start, event.end_s)

    def _metrics(self) -> ConversationMetrics:
        open_talk: dict[Speaker, float] = {}
        for (speaker, _), (start, end) in self._open.items():
            open_talk[speaker] = open_talk.get(speaker, 0.0) + max(0.0, end - start)
        return metrics_of(self.state, open_talk)
