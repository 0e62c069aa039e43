"""Timing detectors on synthetic conversations: each fires, and stays quiet when it should."""

from __future__ import annotations

from assistant.coach.detectors import timing
from assistant.coach.detectors.base import Mode
from tests.helpers.detectors import CUSTOMER, MANAGER, REP, Harness


def test_dead_air_after_question_fires_only_past_threshold_and_on_ticks() -> None:
    h = Harness()
    ctx = h.say(REP, 0, 3, "What would you want to be different?")
    assert timing.dead_air_after_question(ctx) == []  # a final is not silence
    assert timing.dead_air_after_question(h.tick(3 + timing.DEAD_AIR_AFTER_QUESTION_S - 0.5)) == []
    [signal] = timing.dead_air_after_question(h.tick(3 + timing.DEAD_AIR_AFTER_QUESTION_S + 0.1))
    assert signal.detector == "dead_air_after_question" and signal.speaker == REP
    assert signal.evidence["utterances"][0]["text"].startswith("What would")
    assert signal.evidence["silence_s"] >= timing.DEAD_AIR_AFTER_QUESTION_S
    assert timing.dead_air(h.tick(20)) == []  # the question case belongs to the other detector


def test_dead_air_needs_no_question_but_longer_silence() -> None:
    h = Harness()
    h.say(CUSTOMER, 0, 3, "That is how we do it today.")
    assert timing.dead_air_after_question(h.tick(10)) == []
    assert timing.dead_air(h.tick(3 + timing.DEAD_AIR_S - 1)) == []
    [possible] = timing.dead_air(h.tick(3 + timing.DEAD_AIR_S + 0.5))
    assert possible.speaker == CUSTOMER
    [certain] = timing.dead_air(h.tick(3 + timing.DEAD_AIR_CERTAIN_S + 0.5))
    assert certain.confidence > possible.confidence
    assert certain.evidence["episode"] != possible.evidence["episode"]


def test_customer_question_silence_is_not_flagged_as_unanswered() -> None:
    h = Harness()
    h.say(CUSTOMER, 0, 3, "How much does it cost?")
    assert timing.dead_air_after_question(h.tick(9)) == []


def test_monologue_threshold() -> None:
    h = Harness()
    assert timing.monologue(h.say(REP, 0, 50, "pitch " * 100)) == []
    [signal] = timing.monologue(h.say(REP, 50.5, 70, "more " * 40))
    assert signal.detector == "rep_monologue"
    assert signal.evidence["monologue_s"] == 70
    assert timing.monologue(h.say(CUSTOMER, 71, 72, "I see what you mean there")) == []


def test_manager_monologue_in_coaching_mode() -> None:
    h = Harness(Mode.COACHING)
    h.say(MANAGER, 0, 40, "lecture " * 80)
    [signal] = timing.monologue(h.say(MANAGER, 41, 65, "lecture " * 50))
    assert signal.detector == "manager_monologue"


def test_talk_ratio_skewed_and_balanced() -> None:
    h = Harness()
    h.say(CUSTOMER, 0, 10, "answer " * 20)
    # The rep's opening stretch is not judged before a full window has passed.
    assert timing.talk_ratio(h.say(REP, 11, 100, "talk " * 200)) == []
    [signal] = timing.talk_ratio(h.say(REP, 101, 190, "talk " * 200))
    assert signal.evidence["ratio"] > timing.TALK_RATIO_MAX
    balanced = Harness()
    balanced.say(CUSTOMER, 0, 90, "answer " * 100)
    assert timing.talk_ratio(balanced.say(REP, 91, 190, "talk " * 100)) == []


def test_rapid_questions() -> None:
    h = Harness()
    h.say(REP, 0, 2, "How big is the team?")
    h.say(CUSTOMER, 2.5, 3, "Ten.")
    h.say(REP, 3.5, 5, "Who decides?")
    [signal] = timing.rapid_questions(h.say(REP, 6, 8, "And what's the budget?"))
    assert signal.evidence["questions"] == 3
    slow = Harness()
    slow.say(REP, 0, 2, "How big is the team?")
    slow.say(CUSTOMER, 2.5, 12, "About ten people across two sites, growing to twenty next year.")
    slow.say(REP, 13, 15, "Who decides?")
    assert timing.rapid_questions(slow.say(REP, 16, 18, "What's the budget?")) == []


def test_short_answers_after_engaged_start() -> None:
    h = Harness()
    h.talk(
        [
            (REP, "Tell me about your process."),
            (
                CUSTOMER,
                "We collect orders by email and re-type them into the system every morning.",
            ),
            (REP, "Interesting, how long does that take?"),
            (CUSTOMER, "About two hours a day for one person, sometimes more on Mondays."),
            (REP, "Our tool imports orders automatically. Would that help?"),
            (CUSTOMER, "Maybe."),
            (REP, "It also checks stock. Is stock a problem?"),
            (CUSTOMER, "Not really."),
            (REP, "And the reports, do you use reports?"),
        ]
    )
    [signal] = timing.short_answers(h.say(CUSTOMER, 60, 60.5, "Sometimes."))
    assert signal.detector == "customer_short_answers"
    assert signal.evidence["recent_words"] == [1, 2, 1]
    assert signal.evidence["earlier_mean_words"] > timing.ENGAGED_TURN_WORDS


def test_short_answers_quiet_for_consistently_brief_but_engaged_customer() -> None:
    h = Harness()
    ctx = h.talk(
        [
            (REP, "Is Tuesday good?"),
            (CUSTOMER, "Yes."),
            (REP, "Two o'clock?"),
            (CUSTOMER, "Works."),
            (REP, "Video?"),
            (CUSTOMER, "Sure, video."),
        ]
    )
    assert timing.short_answers(ctx) == []


def test_interruptions_need_a_pattern() -> None:
    h = Harness()
    h.say(CUSTOMER, 0, 10, "So the thing about our current supplier is that they never call back")
    [first] = timing.interruption(
        h.say(REP, 6, 12, "Right, and that's exactly why we built our support")
    )
    assert first.confidence < 0.7
    h.say(CUSTOMER, 13, 20, "Well we also have a problem with invoices being wrong every month")
    [second] = timing.interruption(
        h.say(REP, 17, 22, "Our invoices are always right, they are automatic")
    )
    assert second.confidence >= 0.7
    assert second.evidence["interruptions_in_window"] == 2


def test_overlap_at_the_end_of_a_sentence_is_not_an_interruption() -> None:
    h = Harness()
    h.say(CUSTOMER, 0, 10, "So the thing about our current supplier is that they never call back")
    assert timing.interruption(h.say(REP, 9, 12, "Right, that is exactly what we hear")) == []
    h.say(CUSTOMER, 13, 20, "And the invoices are wrong every single month, which is a pain")
    assert timing.interruption(h.say(REP, 13.2, 16, "Our invoices are automatic")) == []


def test_backchannel_overlap_is_not_an_interruption() -> None:
    h = Harness()
    h.say(CUSTOMER, 0, 10, "So the thing about our current supplier is that they never call back")
    assert timing.interruption(h.say(REP, 5, 5.5, "mm-hmm")) == []
