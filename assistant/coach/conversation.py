"""Conversation state built from transcript events, with no I/O.

``ConversationState`` is fed final text (an utterance's one ``FinalTranscript``, or
its ``TranscriptRevision`` when it came in pieces) and ``SilenceTick`` events and
keeps the numbers the detectors read: per-speaker talk time, turns, words and questions,
the current monologue, a rolling talk ratio, seconds since each side last spoke and a
sentiment trend. Everything is on the stream clock (``*_s``), so a replayed
transcript and a live call behave identically; and it holds final text only, never
the pieces committed while someone speaks (those depend on when decodes ran), so the
detectors that read it see the same conversation however the machine was loaded.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from assistant.coach.utterance import Turn, Utterance, is_backchannel, question_kind, words_of
from assistant.events import FinalTranscript, SilenceTick, Speaker, TranscriptRevision

# Enough history for every detector window (the longest is the 180 s talk-ratio
# window; even fast talkers produce far fewer than 400 utterances in 3 minutes).
HISTORY_UTTERANCES = 400


class Scorer(Protocol):
    """Anything that scores negativity (``assistant.coach.sentiment.NegativityModel``)."""

    threshold: float

    def probability(self, text: str) -> float: ...


@dataclass
class SpeakerStats:
    """Running totals for one speaker."""

    talk_s: float = 0.0
    turns: int = 0
    utterances: int = 0
    words: int = 0
    questions: int = 0
    last_end_s: float | None = None


@dataclass(frozen=True)
class Monologue:
    """The current run of utterances by one speaker with nobody else in between."""

    speaker: Speaker
    start_s: float
    end_s: float
    utterances: int
    words: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class ConversationState:
    """Mutable conversation summary; one instance per call."""

    scorer: Scorer
    now_s: float = 0.0
    silence_s: float = 0.0
    history: deque[Utterance] = field(default_factory=lambda: deque(maxlen=HISTORY_UTTERANCES))
    stats: dict[Speaker, SpeakerStats] = field(default_factory=dict)
    monologue: Monologue | None = None

    # -- feeding ---------------------------------------------------------------------

    def add_final(self, event: FinalTranscript | TranscriptRevision) -> Utterance:
        """Record one utterance's final text and return the derived ``Utterance``."""
        utt = self._utterance(event)
        previous = self.history[-1] if self.history else None
        stats = self.stats.setdefault(utt.speaker, SpeakerStats())
        stats.talk_s += utt.duration_s
        stats.utterances += 1
        stats.words += utt.words
        stats.questions += utt.question is not None
        if previous is None or previous.speaker != utt.speaker:
            stats.turns += 1
        stats.last_end_s = max(utt.end_s, stats.last_end_s or 0.0)
        self._extend_monologue(utt)
        self.history.append(utt)
        self._advance_to(utt.end_s)
        return utt

    def _utterance(self, event: FinalTranscript | TranscriptRevision) -> Utterance:
        text = event.text
        probability = self.scorer.probability(text)
        return Utterance(
            utterance_id=event.utterance_id,
            speaker=event.speaker,
            start_s=event.start_s,
            end_s=event.end_s,
            text=text,
            words=len(words_of(text)),
            question=question_kind(text),
            negativity=probability,
            negative=probability >= self.scorer.threshold,
            backchannel=is_backchannel(text) and event.speaker != Speaker.UNKNOWN,
            speech_end_wall=event.speech_end_wall,
        )

    def _advance_to(self, end_s: float) -> None:
        # Silence is the silence clock's alone (``tick``): someone has just spoken,
        # and the clock's next tick says how long ago.
        self.now_s = max(self.now_s, end_s)
        self.silence_s = 0.0

    def tick(self, event: SilenceTick) -> None:
        """Advance the stream clock; the tick's silence is the one silence figure
        (the pipeline's silence clock, from the VAD)."""
        self.now_s = max(self.now_s, event.now_s)
        self.silence_s = max(0.0, event.silence_s)

    def _extend_monologue(self, utt: Utterance) -> None:
        mono = self.monologue
        if mono is not None and mono.speaker != utt.speaker and utt.backchannel:
            return  # "mm-hmm" from the listener does not end the speaker's monologue
        if mono is not None and mono.speaker == utt.speaker:
            self.monologue = Monologue(
                utt.speaker,
                mono.start_s,
                max(mono.end_s, utt.end_s),
                mono.utterances + 1,
                mono.words + utt.words,
            )
        else:
            self.monologue = Monologue(utt.speaker, utt.start_s, utt.end_s, 1, utt.words)

    # -- reading ---------------------------------------------------------------------

    @property
    def last(self) -> Utterance | None:
        return self.history[-1] if self.history else None

    def last_end_s(self) -> float:
        return max((s.last_end_s or 0.0) for s in self.stats.values()) if self.stats else 0.0

    def speaker_stats(self, speaker: Speaker) -> SpeakerStats:
        return self.stats.get(speaker, SpeakerStats())

    def seconds_since(self, speaker: Speaker) -> float | None:
        """Stream seconds since ``speaker`` last finished speaking (None: never spoke)."""
        end = self.speaker_stats(speaker).last_end_s
        return None if end is None else max(0.0, self.now_s - end)

    def recent(self, speaker: Speaker | None = None, n: int = 3) -> list[Utterance]:
        """The last ``n`` utterances (of ``speaker`` if given), oldest first."""
        out: list[Utterance] = []
        for utt in reversed(self.history):
            if speaker is None or utt.speaker == speaker:
                out.append(utt)
                if len(out) == n:
                    break
        return out[::-1]

    def within(self, window_s: float) -> list[Utterance]:
        """Utterances that ended inside the last ``window_s`` seconds, oldest first."""
        cutoff = self.now_s - window_s
        out = [u for u in reversed(self.history) if u.end_s > cutoff]
        return out[::-1]

    def talk_s_in_window(self, speaker: Speaker, window_s: float) -> float:
        """Seconds ``speaker`` talked inside ``[now - window_s, now]``."""
        lo = self.now_s - window_s
        return sum(
            max(0.0, u.end_s - max(u.start_s, lo))
            for u in self.within(window_s)
            if u.speaker == speaker
        )

    def talk_ratio(self, speaker: Speaker, other: Speaker, window_s: float) -> float | None:
        """``speaker``'s share of the two sides' talk in the window (None: nobody talked)."""
        mine = self.talk_s_in_window(speaker, window_s)
        total = mine + self.talk_s_in_window(other, window_s)
        return None if total <= 0 else mine / total

    def turns(self, speaker: Speaker, n: int = 3) -> list[Turn]:
        """The last ``n`` turns of ``speaker``, oldest first.

        A turn is a run of consecutive utterances by one speaker; the other side's
        backchannels do not split it.
        """
        turns: list[Turn] = []
        current: list[Utterance] = []
        for utt in reversed(self.history):
            if utt.speaker == speaker:
                current.append(utt)
            elif current and not utt.backchannel:
                turns.append(Turn.of(current[::-1]))
                current = []
                if len(turns) == n:
                    break
        if current and len(turns) < n:
            turns.append(Turn.of(current[::-1]))
        return turns[::-1]

    def sentiment_trend(self, speaker: Speaker, n: int = 3) -> tuple[float, float] | None:
        """Mean negativity of ``speaker``'s last ``n`` utterances vs the ``n`` before.

        Returns ``(recent, earlier)``; ``earlier`` falls back to ``recent`` while there
        is too little history. None when the speaker has not spoken.
        """
        utts = self.recent(speaker, 2 * n)
        if not utts:
            return None
        recent = utts[-n:]
        earlier = utts[:-n] or recent
        mean = sum(u.negativity for u in recent) / len(recent)
        before = sum(u.negativity for u in earlier) / len(earlier)
        return mean, before
