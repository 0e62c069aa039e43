"""Coaching-mode detectors (a manager in a 1:1 with a rep): closed questions and
sweeping criticism from the manager. The rep's defensiveness and minimal answers,
and the manager's monologue, come from the shared language and timing detectors."""

from __future__ import annotations

import re

from assistant.coach.detectors.base import Context, make_signal
from assistant.events import Signal

# Look at the manager's last few questions within five minutes: enough to see a
# pattern, recent enough to be the current stretch of the conversation.
QUESTION_WINDOW_S = 300.0
# Three closed questions in a row with no open one is interrogation, not coaching
# (seed 000: "ask open-ended questions to get their take").
CLOSED_IN_A_ROW = 3

# Generalisations instead of specifics (seed 000: "zero in on specific issues rather
# than general criticisms").
GENERAL_CRITICISM = re.compile(
    r"\b(?:you (?:always|never|constantly|keep)|every (?:single )?time you|"
    r"all the time|you're always|you don't ever|nothing you|everyone (?:says|thinks))\b",
    re.IGNORECASE,
)


def closed_questions(ctx: Context) -> list[Signal]:
    """The manager asks only yes/no questions."""
    utt, state, coached = ctx.utterance, ctx.state, ctx.roles.coached
    if utt is None or utt.speaker != coached or utt.question != "closed":
        return []
    questions = [u for u in state.within(QUESTION_WINDOW_S) if u.speaker == coached and u.question]
    run = []
    for question in reversed(questions):
        if question.question != "closed":
            break
        run.append(question)
    if len(run) < CLOSED_IN_A_ROW:
        return []
    return [
        make_signal(
            "closed_questions",
            coached,
            0.6 + 0.1 * (len(run) - CLOSED_IN_A_ROW),
            utt.end_s,
            f"closed{utt.utterance_id}",
            run[::-1],
            closed_in_a_row=len(run),
        )
    ]


def general_criticism(ctx: Context) -> list[Signal]:
    """The manager criticises in sweeping terms ("you always ...")."""
    utt, coached = ctx.utterance, ctx.roles.coached
    if utt is None or utt.speaker != coached:
        return []
    match = GENERAL_CRITICISM.search(utt.text)
    if match is None:
        return []
    return [
        make_signal(
            "general_criticism",
            coached,
            0.7,
            utt.end_s,
            f"gen{utt.utterance_id}",
            [utt],
            phrase=match.group(0),
        )
    ]


COACHING_DETECTORS = (closed_questions, general_criticism)
