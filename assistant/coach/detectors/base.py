"""What every detector shares: the mode, who is who, and how a signal is built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from assistant.coach.conversation import ConversationState
from assistant.coach.utterance import Utterance
from assistant.events import Signal, Speaker


class Mode(str, Enum):
    """Which conversation the overlay is coaching."""

    SALES = "sales"  # the rep (user) on a call with a customer
    COACHING = "coaching"  # a manager (user) in a 1:1 with a rep


@dataclass(frozen=True)
class Roles:
    """``coached`` is the overlay's user; ``other`` is who they are talking to."""

    coached: Speaker
    other: Speaker

    @classmethod
    def for_mode(cls, mode: Mode) -> Roles:
        if mode is Mode.COACHING:
            return cls(coached=Speaker.MANAGER, other=Speaker.REP)
        return cls(coached=Speaker.REP, other=Speaker.CUSTOMER)


@dataclass(frozen=True)
class Context:
    """One detector evaluation: the state after the event, and the event's utterance."""

    state: ConversationState
    roles: Roles
    utterance: Utterance | None  # the new final transcript; None on a silence tick

    @property
    def now_s(self) -> float:
        return self.state.now_s


Detector = Callable[[Context], list[Signal]]


def make_signal(
    detector: str,
    speaker: Speaker,
    confidence: float,
    at_s: float,
    episode: str,
    utterances: list[Utterance] | tuple[Utterance, ...] = (),
    **numbers: Any,
) -> Signal:
    """Build a Signal whose evidence names the utterances and the numbers behind it.

    ``episode`` identifies one occurrence of the condition (e.g. "the question with id
    12"); the engine reports each (detector, episode) once, so a dead-air signal is not
    repeated on every silence tick.
    """
    evidence: dict[str, Any] = {"episode": episode}
    if utterances:
        evidence["utterances"] = [u.brief() for u in utterances]
    for key, value in numbers.items():
        evidence[key] = round(value, 3) if isinstance(value, float) else value
    return Signal(
        detector=detector,
        speaker=speaker,
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        at_s=round(at_s, 3),
        evidence=evidence,
    )
