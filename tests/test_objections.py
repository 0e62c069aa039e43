"""The objection model and detector with the shipped weights: everyday wording, neutral
talk, negation, pieces of one turn, speed. None of these lines is in the training data
(``benchmarks/data/objections.tsv``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.coach.detectors import language
from assistant.coach.detectors.objection_model import (
    CATEGORIES,
    ObjectionModel,
    default_objection_model,
    features,
    normalize,
)
from assistant.coach.engine import SuggestionEngine
from assistant.coach.playbook import load_playbook
from assistant.events import Signal, Suggestion
from tests.detector_helpers import CUSTOMER, REP, Harness, KeywordScorer, final

TRAINING_DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "data"

EVERYDAY = [
    ("Honestly that's more than we'd ever pay for this.", "price"),
    ("We haven't got the budget for anything new.", "price"),
    ("Can we pick this up again after the summer?", "timing"),
    ("We're not ready to make that kind of change yet.", "timing"),
    ("I'd have to get my director to approve it.", "authority"),
    ("Only our CFO can sign off on this kind of thing.", "authority"),
    ("I really don't see us needing this.", "need"),
    ("We already work with another provider on that.", "competitor"),
    ("We're happy with the system we've got.", "competitor"),
    ("Just email me something and I'll have a look.", "brush_off"),
    ("Sorry, I'm not interested.", "brush_off"),
]
NEUTRAL = [
    "What would pricing look like for twenty users?",
    "How much would it be for the whole team?",
    "The price isn't a problem for us.",
    "It's not too expensive at all.",
    "My boss loved the demo, she wants to see more.",
    "Can you send me the contract? I'll sign it today.",
    "We need this live before the summer.",
    "Sure, go on then.",
    "We need to cut the time our team spends on manual reporting.",
]


def _written_lines() -> set[str]:
    lines = set()
    for name in ("objections.tsv", "objections_heldout.tsv"):
        for raw in (TRAINING_DATA / name).read_text(encoding="utf-8").splitlines():
            if raw and not raw.startswith("#"):
                lines.add(normalize(raw.partition("\t")[2]))
    return lines


def test_test_lines_are_not_training_lines() -> None:
    written = _written_lines()
    for text in [t for t, _ in EVERYDAY] + NEUTRAL:
        assert normalize(text) not in written, text


@pytest.mark.parametrize(("text", "category"), EVERYDAY)
def test_everyday_objections_found_with_their_category(text: str, category: str) -> None:
    verdict = default_objection_model().classify(text)
    assert verdict is not None, text
    assert verdict.category == category
    assert 0.6 <= verdict.confidence <= 1.0


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral_talk_and_negated_objections_are_not_objections(text: str) -> None:
    assert default_objection_model().classify(text) is None


def test_spelled_out_and_contracted_forms_read_the_same() -> None:
    assert normalize("We are not ready, I am afraid. E-mail me.") == (
        "we're not ready, i'm afraid. email me."
    )
    assert features("We are fine with what we have.") == features("We're fine with what we have.")
    # A phrase right after a negation is a different feature from the phrase itself.
    assert "lex:price" in features("It's too expensive.")
    assert "lexneg:price" in features("It's not too expensive.")
    assert "lex:price" not in features("It's not too expensive.")


def test_detector_signal_names_category_and_episode() -> None:
    h = Harness()
    assert language.objection(h.say(REP, 0, 3, "Is it too expensive for you?")) == []
    [signal] = language.objection(h.say(CUSTOMER, 4, 7, "Honestly, it's way too expensive for us."))
    assert signal.detector == "objection" and signal.speaker == CUSTOMER
    assert signal.evidence["category"] == "price"
    assert signal.evidence["categories"][0] == "price"
    assert signal.evidence["episode"] == "obj2:price"
    assert signal.evidence["probability"] >= default_objection_model().threshold
    assert set(signal.evidence["categories"]) <= set(CATEGORIES)


def test_a_turn_in_pieces_upgrades_its_card_once() -> None:
    """A long turn committed in pieces (same utterance id): the brush-off in the second
    piece replaces the first piece's card at once; the same objection on a longer
    piece is not reported again."""
    engine = SuggestionEngine(load_playbook("sales-call"), scorer=KeywordScorer())

    def piece(k: int, start: float, end: float, text: str) -> list[Signal | Suggestion]:
        event = final(CUSTOMER, start, end, text, uid=9)
        return engine.feed(type(event)(**{**event.__dict__, "piece": k, "last": False}))

    first = piece(0, 40.0, 42.0, "Look, we are fine with what we have.")
    [card] = [o for o in first if isinstance(o, Suggestion)]
    assert card.trigger == "objection" and card.evidence["category"] == "competitor"
    second = piece(1, 42.4, 44.0, "Just send me an email.")
    [upgrade] = [o for o in second if isinstance(o, Suggestion)]
    assert upgrade.evidence["category"] == "brush_off" and upgrade.severity == "warn"
    assert upgrade.evidence["pacing"] == f"updates {card.id}"
    third = piece(2, 44.2, 45.0, "Thanks.")
    merged = engine.state.last
    assert merged is not None and merged.text.endswith("email. Thanks.")
    verdict = default_objection_model().classify(merged.text)
    assert verdict is not None and verdict.category == "brush_off"  # still a brush-off...
    assert [o for o in third if isinstance(o, Signal) and o.detector == "objection"] == []
    assert not [o for o in third if isinstance(o, Suggestion)]  # ...reported once


@pytest.mark.parametrize(
    ("rep_line", "objects"),
    [
        ("Shall I send you the quote today?", False),  # a yes to the rep's own offer
        ("Can I walk you through the reporting part?", True),  # email *instead of* talking
    ],
)
def test_yes_to_an_offer_to_send_is_not_a_brush_off(rep_line: str, objects: bool) -> None:
    h = Harness()
    h.say(REP, 0, 3, rep_line)
    signals = language.objection(h.say(CUSTOMER, 3.5, 5, "Sure, just email me something."))
    assert [s.evidence["category"] for s in signals] == (["brush_off"] if objects else [])


def test_model_is_fast_and_needs_no_download() -> None:
    model = default_objection_model()  # shipped in the package
    texts = [t for t, _ in EVERYDAY] + NEUTRAL
    model.classify("warm up")
    started = time.perf_counter()
    for _ in range(20):
        for text in texts:
            model.classify(text)
    per_utterance_ms = 1000 * (time.perf_counter() - started) / (20 * len(texts))
    assert per_utterance_ms < 1.0


def test_weights_round_trip_and_bad_file() -> None:
    model = default_objection_model()
    clone = ObjectionModel.from_json(model.to_json())
    text = "We're locked into a contract until next year."
    assert clone.probabilities(text)["competitor"] == pytest.approx(
        model.probabilities(text)["competitor"], abs=1e-3
    )
    with pytest.raises(ValueError):
        ObjectionModel.from_json({"format": "turnaround-negativity-v1"})
