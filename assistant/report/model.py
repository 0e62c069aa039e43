"""What the coaching report shows: its figures as typed records, the published
benchmarks it compares against, and how each figure is computed (``METHOD``, which
every format prints). ``report.figures`` fills these in from a session log."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from assistant.coach.detectors.base import Mode
from assistant.sessions.log import SessionMeta

# Published benchmarks for sales calls (Gong Labs, analyses of recorded B2B calls):
# the best calls split talk about 43:57 rep to customer, and a rep who talks more
# than about 65 % of the time goes with lost deals; 11-14 questions per call is the
# sweet spot for discovery calls.
BENCHMARK_REP_SHARE = 0.43
LOST_DEAL_REP_SHARE = 0.65
QUESTIONS_SWEET_SPOT = (11, 14)
# A gap after a question that people notice: conversational turn gaps are normally
# well under a second, so three seconds of nobody answering stands out.
NOTABLE_SILENCE_S = 3.0
# The negativity trend averages this many of the other side's utterances, the
# window the live negativity-trend detector compares.
TREND_UTTERANCES = 3
EXCERPT_CHARS = 240
DEFENSIVE_DETECTOR = "rep_defensive"

METHOD: dict[str, str] = {
    "duration": "Stream time from the start of the call to the last thing recorded "
    "(the session's end line, or the last transcript or card if the run was killed).",
    "talk": "Seconds each speaker's finished utterances lasted (voice-activity start to "
    "end; pieces of one utterance joined), over the whole call; the share is of all "
    "speakers' talk. Benchmark: about 43:57 rep to customer on good sales calls; a rep "
    "above 65 % goes with lost deals.",
    "monologue": "The longest run of one speaker's utterances with nobody else taking "
    "the floor; the other side's short backchannels ('yeah', 'mm-hmm') do not end it. "
    "From the first word of the run to the last.",
    "questions": "Each sentence that ends in '?', or opens with a question word or "
    "'tell me / walk me through ...' (the live coach's rule, applied per sentence), is one "
    "question; open questions start with what/how/why/... or 'tell me', the rest are "
    "closed. Published sweet spot: 11-14 per discovery call.",
    "stretch": "The other side's longest monologue, measured as above: long customer "
    "stretches mean the customer is telling their story.",
    "silences": "For every utterance that ends in a question, the gap from its end to "
    "the start of the next utterance by anyone that goes on past it (0 if someone spoke "
    "over its end). Gaps of 3 s or more are marked.",
    "timeline": "Bars: when each speaker talked. Line: the other side's negativity "
    "(probability from the coach's negativity model, per utterance, and the mean of the "
    "last three). Markers: where each card fired, coloured by what became of it.",
    "stalls": "Every card the coach showed, with the utterances that triggered it (or "
    "the two before it) and the prompt it suggested.",
    "cards": "Helpful and dismissed come from the overlay buttons; expired means the "
    "card left the overlay after 60 s with no answer; replaced means a newer card "
    "pushed it out; not shown means the session had no overlay.",
    "defensive": "Rep utterances the live coach flagged as defensive (justifying, "
    "blaming, arguing: 'to be fair', 'as I said', 'nobody told me' ...).",
    "manager_questions": "The manager's questions, split open versus closed by the rule above.",
}


class Fate(str, Enum):
    """What became of a card."""

    HELPFUL = "helpful"
    DISMISSED = "dismissed"
    EXPIRED = "expired"
    REPLACED = "replaced"
    OPEN = "on screen at the end"
    NOT_SHOWN = "not shown (no overlay)"
    UNKNOWN = "no response recorded"


# Session records' words for what happened to a card -> its fate.
OUTCOME_FATE = {
    "helpful": Fate.HELPFUL,
    "dismiss": Fate.DISMISSED,
    "expired": Fate.EXPIRED,
    "replaced": Fate.REPLACED,
}


@dataclass(frozen=True)
class Line:
    """One utterance of the transcript, pieces joined; ``anchor`` is its HTML id."""

    anchor: str
    speaker: str
    start_s: float
    end_s: float
    text: str
    questions: tuple[str, ...]  # "open" / "closed" for each question sentence in it
    ends_in_question: bool  # its last sentence is a question: an answer is due
    negativity: float
    backchannel: bool


@dataclass(frozen=True)
class Asked:
    """One question: a sentence of an utterance (``anchor``) and its kind."""

    anchor: str
    speaker: str
    start_s: float
    text: str
    kind: str  # "open" | "closed"


@dataclass(frozen=True)
class Quote:
    anchor: str | None  # None: not found in the transcript (a damaged log)
    speaker: str
    start_s: float
    text: str


@dataclass(frozen=True)
class Stretch:
    speaker: str
    start_s: float
    end_s: float
    utterances: int
    words: int
    anchor: str | None
    excerpt: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Questions:
    speaker: str
    total: int
    open: int
    closed: int
    anchors: tuple[str, ...]


@dataclass(frozen=True)
class QuestionGap:
    anchor: str
    asker: str
    text: str
    end_s: float
    silence_s: float | None  # None: nobody spoke again before the call ended
    next_speaker: str | None


@dataclass(frozen=True)
class CardMoment:
    id: str
    trigger: str
    prompt: str
    why: str
    source: str
    severity: str
    at_s: float
    fate: Fate
    excerpt: tuple[Quote, ...]
    anchor: str | None  # the utterance that triggered it


@dataclass(frozen=True)
class Moment:
    at_s: float
    anchor: str | None
    speaker: str
    text: str
    detail: str


@dataclass(frozen=True)
class Report:
    path: Path
    meta: SessionMeta
    duration_s: float
    coached: str
    other: str
    talk_s: dict[str, float]
    share: dict[str, float]
    coached_share: float | None  # coached / (coached + other); None: no talk by either
    monologues: dict[str, Stretch]
    questions: dict[str, Questions]
    other_stretch: Stretch | None
    gaps: tuple[QuestionGap, ...]
    negativity: tuple[tuple[float, float, str], ...]  # (end_s, P(negative), anchor)
    negativity_threshold: float
    cards: tuple[CardMoment, ...]
    defensive: tuple[Moment, ...] | None  # None outside coaching mode
    manager_questions: tuple[Asked, ...] | None  # None outside coaching mode
    transcript: tuple[Line, ...]
    notes: tuple[str, ...]

    @property
    def sales(self) -> bool:
        return self.meta.mode == Mode.SALES.value

    def fates(self) -> dict[Fate, int]:
        counts: dict[Fate, int] = {}
        for card in self.cards:
            counts[card.fate] = counts.get(card.fate, 0) + 1
        return counts
