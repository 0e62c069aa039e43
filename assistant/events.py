"""Typed messages that flow through the pipeline.

One frozen dataclass per kind of message (the pipecat "frame" idea, without the
3,000-line file). Times come in two clocks, and the names say which:

* ``*_s`` stream time: seconds of audio since the stream started. A replayed file
  and a live microphone share this clock, so detectors behave the same on both.
  Every event tied to the call says where it is on that clock: ``stream_s``.
* ``*_wall`` monotonic wall-clock time (``time.monotonic()``), used only to
  measure latency (speech end -> final -> suggestion -> rendered).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

import numpy as np


class Speaker(str, Enum):
    """Who is talking. With one mixed input the speaker is UNKNOWN."""

    REP = "rep"
    CUSTOMER = "customer"
    MANAGER = "manager"
    UNKNOWN = "unknown"


class PipelineState(str, Enum):
    """Where the pipeline is. The value is what the overlay protocol and ``--json``
    carry."""

    STARTING = "starting"
    LISTENING = "listening"
    PAUSED = "paused"
    STOPPED = "stopped"
    ERROR = "error"


class Severity(str, Enum):
    """How much a card matters: a warning replaces a tip, never the other way round."""

    INFO = "info"
    WARN = "warn"
    ALERT = "alert"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.ALERT: 2}


@dataclass(frozen=True)
class RawAudio:
    """A block as the device or decoder delivered it: (frames, channels) float32 at
    the source's native rate. The PortAudio callback makes nothing else."""

    samples: np.ndarray
    sample_rate_hz: int
    captured_wall: float  # monotonic time the block's last sample arrived


@dataclass(frozen=True)
class SpeechStarted:
    """An utterance began: its audio starts at ``start_s`` (a little before the
    speech, for soft onsets); the VAD knew at ``detected_s``."""

    speaker: Speaker
    start_s: float
    detected_s: float = 0.0

    @property
    def stream_s(self) -> float:
        return self.start_s


@dataclass(frozen=True)
class SpeechEnded:
    """End of an utterance; ``end_s`` is where the speech itself stopped
    (before the end-of-utterance silence that confirmed it at ``detected_s``)."""

    speaker: Speaker
    start_s: float
    end_s: float
    detected_s: float = 0.0
    forced: bool = False  # cut because the utterance ran too long

    @property
    def stream_s(self) -> float:
        return self.end_s


@dataclass(frozen=True)
class SpeechDiscarded:
    """What began as an utterance was too short to be words (a click, a cough):
    no text will come for it, and it was not speech for the silence clock."""

    speaker: Speaker
    start_s: float
    end_s: float
    detected_s: float = 0.0

    @property
    def stream_s(self) -> float:
        return self.end_s


@dataclass(frozen=True)
class PartialTranscript:
    """Best guess so far for an utterance still in progress.

    ``text`` is the whole utterance so far; its first ``stable_chars`` characters are
    already committed (sent as final pieces) and will not change, the rest may."""

    speaker: Speaker
    utterance_id: int
    start_s: float
    end_s: float
    text: str
    decoded_wall: float
    stable_chars: int = 0

    @property
    def stream_s(self) -> float:
        return self.end_s


@dataclass(frozen=True)
class FinalTranscript:
    """Committed text: one *piece* of an utterance. Never dropped under overload.

    A long turn is not held back until its speaker pauses: words that two successive
    decodes agree on are committed while the speaker goes on, as pieces 0, 1, 2 ...
    of the same ``utterance_id``; ``last`` marks the piece that closes the
    utterance. Each piece carries only its own words (never repeated in a later
    piece) and the stretch of audio they came from, so joining the pieces of an
    utterance in order gives its whole text. A short utterance is a single piece.
    """

    speaker: Speaker
    utterance_id: int
    start_s: float
    end_s: float
    text: str
    speech_end_wall: float  # when the audio at end_s was captured (latency origin)
    decoded_wall: float  # when the text was ready
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    piece: int = 0
    last: bool = True

    @property
    def latency_s(self) -> float:
        return self.decoded_wall - self.speech_end_wall

    @property
    def stream_s(self) -> float:
        return self.end_s


@dataclass(frozen=True)
class TranscriptRevision:
    """The final text of an utterance that committed pieces while it went on.

    When such an utterance ends, all of its audio is decoded once, the way offline
    decoding does it; ``text`` is the whole utterance and supersedes the pieces of
    the same ``utterance_id`` (the caption, the session file, the report and the
    detectors keep this text). It depends on the audio alone, never on when the
    pieces' decodes ran. An utterance without pieces has no revision: its one
    ``FinalTranscript`` already is its final text."""

    speaker: Speaker
    utterance_id: int
    start_s: float
    end_s: float
    text: str
    speech_end_wall: float  # when the audio at end_s was captured (latency origin)
    decoded_wall: float
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0

    @property
    def latency_s(self) -> float:
        return self.decoded_wall - self.speech_end_wall

    @property
    def stream_s(self) -> float:
        return self.end_s


@dataclass(frozen=True)
class SilenceTick:
    """Periodic clock so detectors notice dead air while it is happening."""

    now_s: float
    silence_s: float  # seconds since anyone last spoke
    wall: float

    @property
    def stream_s(self) -> float:
        return self.now_s


@dataclass(frozen=True)
class Signal:
    """A detector's observation, with the evidence behind it."""

    detector: str
    speaker: Speaker
    confidence: float
    at_s: float
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def stream_s(self) -> float:
        return self.at_s


@dataclass(frozen=True)
class Suggestion:
    """A reset prompt to put in front of the user."""

    id: str
    trigger: str
    prompt: str
    why: str
    source: str
    severity: Severity
    at_s: float
    evidence: dict[str, Any] = field(default_factory=dict)
    created_wall: float = 0.0
    speech_end_wall: float | None = None  # latency origin, when caused by speech

    def __post_init__(self) -> None:
        # "warn" and Severity.WARN are one severity; the field always holds the enum.
        object.__setattr__(self, "severity", Severity(self.severity))

    @property
    def stream_s(self) -> float:
        return self.at_s


class CardAction(str, Enum):
    """What became of a card: the user's feedback on the page, or the overlay
    taking it down by itself. The value is what the session file records."""

    HELPFUL = "helpful"
    DISMISS = "dismiss"
    EXPIRED = "expired"  # shown its time and gone
    REPLACED = "replaced"  # pushed off by a newer card


@dataclass(frozen=True)
class CardFeedback:
    """The user marked a card helpful or dismissed it on the overlay. It flows
    back through the session, so the coach's pacing and the recorder both hear of
    it (a dismissed trigger stays quiet for longer)."""

    RECORD_TYPE: ClassVar[str] = "Feedback"  # the session file's name for it

    card_id: str
    trigger: str | None
    action: CardAction
    at_s: float
    after_s: float | None = None  # how long the card had been on screen
    time: str = ""  # local wall-clock time, ISO 8601

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", CardAction(self.action))

    @property
    def stream_s(self) -> float:
        return self.at_s


@dataclass(frozen=True)
class CardRemoved:
    """The overlay took a card down by itself: it expired, or a newer one replaced
    it. The overlay is free again for the coach."""

    RECORD_TYPE: ClassVar[str] = "CardClosed"

    card_id: str
    trigger: str | None
    reason: CardAction
    at_s: float
    time: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", CardAction(self.reason))

    @property
    def stream_s(self) -> float:
        return self.at_s


@dataclass(frozen=True)
class ConversationMetrics:
    """The coach's running figures after a final or a silence tick: what the overlay's
    talk meter, silence timer and monologue chip show. The overlay reads them from
    here rather than keeping a conversation state of its own."""

    now_s: float
    silence_s: float  # seconds since anyone last spoke
    talk_s: dict[Speaker, float]  # per speaker who has spoken, over the last window_s
    window_s: float
    monologue: Speaker | None  # who holds the floor (None: nobody has spoken yet)
    monologue_s: float  # for how long, backchannels from the other side included
    monologue_warn_s: float  # when the coach calls it a monologue

    @property
    def stream_s(self) -> float:
        return self.now_s


@dataclass(frozen=True)
class Status:
    """Pipeline health: model, devices, how far behind real time we are."""

    state: PipelineState
    detail: str = ""
    lag_s: float = 0.0
    dropped_partials: int = 0
    dropped_audio_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", PipelineState(self.state))


Event = (
    SpeechStarted
    | SpeechEnded
    | SpeechDiscarded
    | PartialTranscript
    | FinalTranscript
    | TranscriptRevision
    | SilenceTick
    | Signal
    | Suggestion
    | CardFeedback
    | CardRemoved
    | ConversationMetrics
    | Status
)


def is_final_text(event: object) -> bool:
    """True for the event that carries an utterance's final text: its one
    ``FinalTranscript`` (an utterance that came without pieces) or its
    ``TranscriptRevision``. Pieces are first text."""
    if isinstance(event, TranscriptRevision):
        return True
    return isinstance(event, FinalTranscript) and event.piece == 0 and event.last


def to_json_dict(event: Event) -> dict[str, Any]:
    """Flatten an event for JSON lines / the websocket protocol."""
    data: dict[str, Any] = {"type": getattr(event, "RECORD_TYPE", type(event).__name__)}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, float):
            value = round(value, 4)
        data[f.name] = value
    return data
