"""Coaching-mode detectors."""

from __future__ import annotations

from assistant.coach.detectors import coaching, timing
from assistant.coach.detectors.base import Mode
from tests.helpers.detectors import MANAGER, REP, Harness


def test_closed_questions_in_a_row() -> None:
    h = Harness(Mode.COACHING)
    h.talk(
        [
            (MANAGER, "Did you read the report?"),
            (REP, "Yes."),
            (MANAGER, "Have you called the two accounts?"),
            (REP, "No."),
        ]
    )
    [signal] = coaching.closed_questions(h.say(MANAGER, 30, 32, "Are you using the scripts?"))
    assert signal.evidence["closed_in_a_row"] == 3


def test_open_question_breaks_the_run() -> None:
    h = Harness(Mode.COACHING)
    h.talk(
        [
            (MANAGER, "Did you read the report?"),
            (REP, "Yes."),
            (MANAGER, "What got in the way with the two accounts?"),
            (REP, "Time, mostly."),
        ]
    )
    assert coaching.closed_questions(h.say(MANAGER, 30, 32, "Are you using the scripts?")) == []


def test_general_criticism() -> None:
    h = Harness(Mode.COACHING)
    [signal] = coaching.general_criticism(h.say(MANAGER, 0, 3, "You always leave it late."))
    assert signal.evidence["phrase"].lower() == "you always"
    assert (
        coaching.general_criticism(h.say(MANAGER, 4, 7, "The Acme proposal went out late.")) == []
    )


def test_rep_minimal_answers_in_coaching() -> None:
    h = Harness(Mode.COACHING)
    h.talk(
        [
            (MANAGER, "How are things going with your accounts?"),
            (REP, "Mostly fine, the Acme renewal is slow because their buyer changed last month."),
            (MANAGER, "Did you follow up with the new buyer and send over the updated proposal?"),
            (REP, "Yes."),
            (
                MANAGER,
                "And have you booked the review meeting with their finance team for next week?",
            ),
            (REP, "Not yet."),
            (
                MANAGER,
                "Are you going to get that sorted before the end of the month, do you think?",
            ),
        ]
    )
    [signal] = timing.short_answers(h.say(REP, 80, 80.5, "Probably."))
    assert signal.detector == "rep_short_answers"
