"""Detectors: pure functions ``(Context) -> list[Signal]``, grouped by mode.

Each looks at the conversation state right after one event (a final transcript or a
silence tick) and returns the signals it sees, with evidence and a confidence.
"""

from __future__ import annotations

from assistant.coach.detectors.base import Context, Detector, Mode, Roles, make_signal
from assistant.coach.detectors.coaching import COACHING_DETECTORS
from assistant.coach.detectors.language import LANGUAGE_DETECTORS, SALES_ONLY_DETECTORS
from assistant.coach.detectors.timing import TIMING_DETECTORS
from assistant.events import Signal

__all__ = [
    "Context",
    "Detector",
    "Mode",
    "Roles",
    "TRIGGERS",
    "detectors_for",
    "make_signal",
    "run_detectors",
]


# Every signal name each mode can produce: a playbook rule must name one of these.
TRIGGERS: dict[Mode, frozenset[str]] = {
    Mode.SALES: frozenset(
        {
            "dead_air_after_question",
            "dead_air",
            "rep_monologue",
            "talk_ratio",
            "rapid_questions",
            "customer_short_answers",
            "interruption",
            "customer_negativity",
            "customer_negativity_trend",
            "objection",
            "confusion",
            "rep_but",
            "rep_defensive",
            "rep_apologising",
            "feature_push",
        }
    ),
    Mode.COACHING: frozenset(
        {
            "dead_air_after_question",
            "dead_air",
            "manager_monologue",
            "talk_ratio",
            "rapid_questions",
            "rep_short_answers",
            "interruption",
            "rep_negativity",
            "rep_negativity_trend",
            "objection",
            "confusion",
            "manager_but",
            "rep_defensive",
            "manager_apologising",
            "closed_questions",
            "general_criticism",
        }
    ),
}


def detectors_for(mode: Mode) -> tuple[Detector, ...]:
    """The detectors that make sense in ``mode``."""
    if mode is Mode.COACHING:
        return TIMING_DETECTORS + LANGUAGE_DETECTORS + COACHING_DETECTORS
    return TIMING_DETECTORS + LANGUAGE_DETECTORS + SALES_ONLY_DETECTORS


def run_detectors(ctx: Context, detectors: tuple[Detector, ...]) -> list[Signal]:
    """All signals from ``detectors`` for one evaluation, in detector order."""
    signals: list[Signal] = []
    for detect in detectors:
        signals.extend(detect(ctx))
    return signals
