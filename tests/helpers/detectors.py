"""Shared builders for detector and engine tests: a fake scorer and event factories."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.coach.conversation import ConversationState
from assistant.coach.detectors import Context, Mode, Roles
from assistant.events import FinalTranscript, SilenceTick, Speaker

REP, CUSTOMER, MANAGER = Speaker.REP, Speaker.CUSTOMER, Speaker.MANAGER


@dataclass
class KeywordScorer:
    """Negativity 0.9 for texts containing a trigger word, else 0.1 (no model needed)."""

    words: tuple[str, ...] = ("terrible", "awful", "hate", "angry", "useless")
    threshold: float = 0.5
    calls: list[str] = field(default_factory=list)

    def probability(self, text: str) -> float:
        self.calls.append(text)
        return 0.9 if any(w in text.lower() for w in self.words) else 0.1


def final(speaker: Speaker, start: float, end: float, text: str, uid: int = 0) -> FinalTranscript:
    return FinalTranscript(speaker, uid, start, end, text, speech_end_wall=end, decoded_wall=end)


class Harness:
    """Feeds a ConversationState and runs one detector after each event."""

    def __init__(self, mode: Mode = Mode.SALES) -> None:
        self.state = ConversationState(scorer=KeywordScorer())
        self.roles = Roles.for_mode(mode)
        self._uid = 0

    def say(self, speaker: Speaker, start: float, end: float, text: str) -> Context:
        self._uid += 1
        utt = self.state.add_final(final(speaker, start, end, text, self._uid))
        return Context(self.state, self.roles, utt)

    def tick(self, now_s: float) -> Context:
        silence = max(0.0, now_s - self.state.last_end_s())
        self.state.tick(SilenceTick(now_s=now_s, silence_s=silence, wall=now_s))
        return Context(self.state, self.roles, None)

    def talk(
        self, turns: list[tuple[Speaker, str]], start: float = 0.0, gap_s: float = 0.5
    ) -> Context:
        """Say each (speaker, text) in turn at 2.5 words/s; returns the last context."""
        t = start
        ctx = None
        for speaker, text in turns:
            dur = max(0.5, len(text.split()) / 2.5)
            ctx = self.say(speaker, t, t + dur, text)
            t += dur + gap_s
        assert ctx is not None
        return ctx
