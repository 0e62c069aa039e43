"""An objection in one sentence of a longer turn is judged on that sentence too (pure:
the shipped weights, no audio)."""

from __future__ import annotations

from assistant.coach.detectors.objection_model import default_objection_model


def test_the_most_likely_sentence_names_the_objection() -> None:
    model = default_objection_model()
    # The sample call's brush-off as tiny.en hears it: a status-quo remark as a whole,
    # a brush-off in its last sentence. Both categories are reported.
    heard = "Look, we are fine with what we have. Just end me on email."
    verdict = model.classify(heard)
    assert verdict is not None and verdict.categories[:2] == ("brush_off", "competitor")
    assert verdict.probability >= (model.classify("Just end me on email.") or verdict).probability


def test_sentences_change_nothing_when_none_is_an_objection() -> None:
    model = default_objection_model()
    assert model.classify("Sounds good. Send me the contract.") is None
    assert (
        model.classify("The price list looks clear to me. Thanks for walking me through it.")
        is None
    )
    # One sentence: the same verdict as before sentences were judged alone.
    one = model.classify("Honestly, this is a bit expensive for us, and I am not sure we need it.")
    assert one is not None and one.category in ("price", "need")
