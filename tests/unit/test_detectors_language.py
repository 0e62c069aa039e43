"""Language detectors and the sentiment model."""

from __future__ import annotations

import pytest

from assistant.coach.detectors import language
from assistant.coach.detectors.base import Mode
from assistant.coach.sentiment import NegativityModel, default_model, tokenize
from tests.helpers.detectors import CUSTOMER, MANAGER, REP, Harness


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Honestly it's just too expensive for us.", "price"),
        ("Can you just send me an email?", "brush_off"),
        ("We're fine with what we have.", "competitor"),  # status quo
        ("I'm not interested, thanks.", "brush_off"),
        ("I'd need to check with my boss first.", "authority"),
        ("We already use another vendor for that.", "competitor"),
        ("It's not a priority until next quarter.", "timing"),
        # Issue 19: status quo / switching cost and problem denial (missed before it).
        ("We've been with them for years and it works.", "competitor"),
        ("Switching would be a huge pain for us.", "competitor"),
        ("I'm not convinced we have that problem.", "need"),
    ],
)
def test_objection_categories(text: str, category: str) -> None:
    h = Harness()
    [signal] = language.objection(h.say(CUSTOMER, 0, 3, text))
    assert category in signal.evidence["categories"]


def test_objection_ignores_rep_and_neutral_talk() -> None:
    h = Harness()
    assert language.objection(h.say(REP, 0, 3, "Is it too expensive?")) == []
    assert language.objection(h.say(CUSTOMER, 4, 6, "The price list looks clear to me.")) == []
    # Polarity: a positive price mention is not an objection (a false alarm before issue 19).
    assert (
        language.objection(h.say(CUSTOMER, 7, 9, "That price seems fair for what we'd get.")) == []
    )


@pytest.mark.parametrize("text", ["What do you mean by that?", "Sorry?", "You lost me there."])
def test_confusion(text: str) -> None:
    assert language.confusion(Harness().say(CUSTOMER, 0, 2, text))


def test_confusion_not_on_ordinary_question() -> None:
    assert language.confusion(Harness().say(CUSTOMER, 0, 2, "What does onboarding cost?")) == []


def test_but_after_customer() -> None:
    h = Harness()
    h.say(CUSTOMER, 0, 3, "The last rollout was painful for us.")
    [signal] = language.but_after_other(h.say(REP, 4, 7, "Yeah, but this version is different."))
    assert signal.detector == "rep_but"
    assert [u["speaker"] for u in signal.evidence["utterances"]] == ["customer", "rep"]
    h.say(REP, 8, 9, "Anyway.")
    assert language.but_after_other(h.say(REP, 10, 12, "But let me show you the rest.")) == []


def test_defensiveness_and_apologies() -> None:
    h = Harness()
    [signal] = language.defensiveness(
        h.say(REP, 0, 4, "To be fair, you didn't tell us about the deadline.")
    )
    assert len(signal.evidence["phrases"]) == 2 and signal.confidence > 0.7
    assert language.defensiveness(h.say(REP, 5, 7, "Thanks, that's useful to know.")) == []
    h.say(REP, 8, 9, "Sorry about that.")
    assert language.apologising(h.say(REP, 10, 11, "I'm so sorry.")) == []
    [apology] = language.apologising(h.say(REP, 12, 13, "Again, I apologise."))
    assert apology.evidence["apologies"] == 3


def test_negativity_and_trend_use_the_scorer() -> None:
    h = Harness()
    [single] = language.negativity(h.say(CUSTOMER, 0, 2, "This has been terrible."))
    assert single.detector == "customer_negativity"
    assert language.negativity_trend(h.say(CUSTOMER, 3, 4, "Fine.")) == []
    [trend] = language.negativity_trend(h.say(CUSTOMER, 5, 7, "Support is awful."))
    assert trend.evidence["negative_utterances"] == 2
    assert language.negativity(h.say(REP, 8, 9, "That sounds terrible.")) == []


def test_feature_push_needs_disengaged_listener() -> None:
    pitch = (
        "Our platform also integrates with your CRM, and all of the dashboards update in real time."
    )
    h = Harness()
    h.talk([(REP, pitch), (CUSTOMER, "Okay."), (REP, pitch), (CUSTOMER, "Sure.")])
    [signal] = language.feature_push(h.say(REP, 60, 66, pitch))
    assert signal.evidence["pitch_turns"] == 3
    engaged = Harness()
    engaged.talk(
        [
            (REP, pitch),
            (CUSTOMER, "How does the CRM sync handle duplicate contacts in our setup?"),
            (REP, pitch),
            (CUSTOMER, "Good, and can the dashboards be filtered per region and per rep?"),
        ]
    )
    assert language.feature_push(engaged.say(REP, 60, 66, pitch)) == []


def test_coaching_mode_roles() -> None:
    h = Harness(Mode.COACHING)
    h.say(REP, 0, 3, "It has been a terrible month.")
    [signal] = language.but_after_other(h.say(MANAGER, 4, 6, "I know, but the numbers matter."))
    assert signal.detector == "manager_but"
    [defensive] = language.defensiveness(h.say(REP, 7, 9, "It's not my fault, nobody told me."))
    assert defensive.speaker == REP


def test_shipped_sentiment_model_orders_obvious_cases() -> None:
    model = default_model()
    assert 0.0 < model.threshold < 1.0
    angry = model.probability("This is ridiculous, I am so angry with you!")
    happy = model.probability("That's wonderful, thank you so much!")
    assert angry > model.threshold > happy


def test_model_round_trip_and_all_caps_text() -> None:
    model = default_model()
    clone = NegativityModel.from_json(model.to_json())
    assert clone.probability("Not great.") == pytest.approx(model.probability("Not great."))
    # Upper-case transcripts (no lower case at all) must not read as shouting.
    text = "we could use the red button for that"
    assert model.probability(text.upper()) == pytest.approx(model.probability(text), abs=1e-9)
    assert tokenize("Don't go!") == ["don't", "go", "!"]
    with pytest.raises(ValueError):
        NegativityModel.from_json({"format": "other"})
