import numpy as np
import pytest

from assistant.asr.text_guard import (
    audio_rms,
    collapse_repeats,
    compression_ratio,
    is_hallucination,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "And so my fellow American, and so my fellow American, and so my fellow",
            "And so my fellow American",
        ),
        (
            "What would it take to move forward this quarter? What would",
            "What would it take to move forward this quarter?",
        ),
        ("I don't know. I don't", "I don't know."),
        ("we are fine we are fine", "we are fine"),
    ],
)
def test_decoder_loops_are_cut(text: str, expected: str) -> None:
    assert collapse_repeats(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I know I know what you mean",  # the speaker moved on: a real repeat
        "no, no, I said no",  # single repeated words are speech
        "the cat and the dog saw the cat",  # not after a sentence end
        "Hello there.",
    ],
)
def test_real_speech_is_left_alone(text: str) -> None:
    assert collapse_repeats(text) == text


def test_phantom_phrase_on_quiet_audio_is_dropped() -> None:
    assert is_hallucination("Thank you.", avg_logprob=-0.9, no_speech_prob=0.5, rms=0.01)
    assert is_hallucination("you", avg_logprob=-1.6, no_speech_prob=0.98, rms=0.004)


def test_confident_real_thanks_is_kept() -> None:
    assert not is_hallucination("Thank you.", avg_logprob=-0.2, no_speech_prob=0.05, rms=0.08)


def test_short_loud_answer_is_kept_despite_low_score() -> None:
    # "Okay." from a real voice scores low because end-of-text is uncertain.
    assert not is_hallucination("Okay", avg_logprob=-2.1, no_speech_prob=0.25, rms=0.09)


def test_short_loud_words_after_a_pause_are_kept() -> None:
    # jfk's "Ask not", decoded with the second of quiet before it (the utterance
    # starts where the last one ended): the quiet lifts no_speech_prob to 0.4.
    assert not is_hallucination("Ask not", avg_logprob=-1.89, no_speech_prob=0.4, rms=0.18)
    # Quiet noise read as two words at the same confidence is still dropped.
    assert is_hallucination("Ask not", avg_logprob=-1.89, no_speech_prob=0.4, rms=0.01)
    assert is_hallucination("Ask not", avg_logprob=-1.89, no_speech_prob=0.7, rms=0.18)


def test_whispers_own_silence_rule() -> None:
    assert is_hallucination("I'm going to do it.", avg_logprob=-1.8, no_speech_prob=0.9, rms=0.05)


def test_looping_text_compresses_too_well() -> None:
    loop = "thank you for watching " * 20
    assert compression_ratio(loop) > 2.4
    assert is_hallucination(loop, avg_logprob=-0.3, no_speech_prob=0.1, rms=0.05)


def test_silent_audio_is_never_speech() -> None:
    assert audio_rms(np.zeros(16000, dtype=np.float32)) == 0.0
    assert is_hallucination("Hello there.", avg_logprob=-0.2, no_speech_prob=0.1, rms=0.0)
