"""ConversationState: totals, turns, monologues, talk ratio, silence, trend."""

from __future__ import annotations

import pytest

from assistant.coach.utterance import is_backchannel, question_kind
from assistant.events import SilenceTick, Speaker
from tests.helpers.detectors import CUSTOMER, REP, Harness


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("What would you change?", "open"),
        ("so how do you handle that today", "open"),
        ("Tell me about your team.", "open"),
        ("Does that make sense?", "closed"),
        ("You're on the old version?", "closed"),
        ("When we launched it went well.", None),
        ("We launched last year.", None),
        ("", None),
    ],
)
def test_question_kind(text: str, kind: str | None) -> None:
    assert question_kind(text) == kind


def test_backchannel() -> None:
    assert is_backchannel("Mm-hmm.")
    assert is_backchannel("Okay, sure.")
    assert not is_backchannel("Okay, tell me more.")
    assert not is_backchannel("")


def test_totals_turns_and_questions() -> None:
    h = Harness()
    h.say(REP, 0, 4, "Hi there. How are you doing today?")
    h.say(REP, 4.5, 6, "Good to meet you.")
    h.say(CUSTOMER, 7, 10, "Fine thanks, busy week.")
    rep = h.state.speaker_stats(REP)
    assert rep.talk_s == pytest.approx(5.5)
    assert rep.turns == 1 and rep.utterances == 2
    assert rep.words == 11 and rep.questions == 1
    assert h.state.speaker_stats(CUSTOMER).turns == 1
    assert h.state.seconds_since(REP) == pytest.approx(4.0)
    assert h.state.seconds_since(Speaker.MANAGER) is None


def test_monologue_survives_backchannels_but_not_a_real_turn() -> None:
    h = Harness()
    h.say(REP, 0, 20, "word " * 40)
    h.say(CUSTOMER, 10, 10.5, "mm-hmm")
    h.say(REP, 21, 40, "word " * 40)
    assert h.state.monologue is not None
    assert h.state.monologue.speaker == REP
    assert h.state.monologue.duration_s == pytest.approx(40)
    h.say(CUSTOMER, 41, 45, "That is a fair point about budgets.")
    assert h.state.monologue.speaker == CUSTOMER


def test_turns_group_consecutive_utterances() -> None:
    h = Harness()
    h.say(CUSTOMER, 0, 2, "one two")
    h.say(REP, 3, 6, "a long reply from the rep")
    h.say(CUSTOMER, 7, 8, "three")
    h.say(CUSTOMER, 8.5, 9, "four five")
    turns = h.state.turns(CUSTOMER, 5)
    assert [t.words for t in turns] == [2, 3]


def test_rolling_talk_ratio_uses_window() -> None:
    h = Harness()
    h.say(CUSTOMER, 0, 100, "long story")
    h.say(REP, 100, 130, "reply")
    assert h.state.talk_ratio(REP, CUSTOMER, 60) == pytest.approx(0.5)
    assert h.state.talk_ratio(REP, CUSTOMER, 1000) == pytest.approx(30 / 130)
    assert h.state.talk_ratio(Speaker.MANAGER, Speaker.UNKNOWN, 60) is None


def test_silence_from_ticks_and_finals() -> None:
    h = Harness()
    h.say(REP, 0, 3, "Hello?")
    assert h.state.silence_s == 0
    h.state.tick(SilenceTick(now_s=7.0, silence_s=4.0, wall=0))
    assert h.state.silence_s == 4.0 and h.state.now_s == 7.0
    assert h.state.seconds_since(REP) == pytest.approx(4.0)


def test_sentiment_trend() -> None:
    h = Harness()
    for i, text in enumerate(["fine", "good", "ok", "terrible", "awful", "hate it"]):
        h.say(CUSTOMER, i * 2, i * 2 + 1, text)
    recent, earlier = h.state.sentiment_trend(CUSTOMER)
    assert recent == pytest.approx(0.9) and earlier == pytest.approx(0.1)
    assert h.state.sentiment_trend(REP) is None
    assert h.state.speaker_stats(CUSTOMER).turns == 1


def test_only_final_text_reaches_the_conversation() -> None:
    """Pieces of a long turn move the talk meter, but the conversation the
    detectors read holds the utterance once, as its revision has it."""
    from dataclasses import replace

    from assistant.coach.metrics import Coach
    from assistant.events import TranscriptRevision
    from tests.helpers.detectors import final

    coach = Coach(frames=True)
    coach(final(CUSTOMER, 0.0, 1.0, "Hi there.", uid=1))
    out = coach(replace(final(REP, 1.2, 3.5, "What would it take", uid=2), last=False))
    assert [u.utterance_id for u in coach.state.history] == [1]
    (frame,) = out
    assert frame.talk_s[REP] == pytest.approx(2.3)  # the piece shows on the meter
    coach(final(CUSTOMER, 3.6, 3.9, "Mm-hmm.", uid=3))
    coach(replace(final(REP, 3.5, 6.0, "for you to move forward?", uid=2), piece=1))
    assert [u.utterance_id for u in coach.state.history] == [1, 3]
    (frame,) = coach(
        TranscriptRevision(REP, 2, 1.2, 6.0, "What would it take for you to move forward?", 0, 0)
    )
    rep = coach.state.history[-1]
    assert (rep.utterance_id, rep.text, rep.question) == (
        2,
        "What would it take for you to move forward?",
        "open",
    )
    stats = coach.state.speaker_stats(REP)
    assert (stats.utterances, stats.questions) == (1, 1)
    assert stats.talk_s == pytest.approx(4.8)
    assert frame.talk_s[REP] == pytest.approx(4.8)  # not counted twice
