"""Stage harness for the decode policy: feed segmenter actions, answer decode
requests by hand, check which transcript events come out and when."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from assistant.asr.config import StreamingConfig
from assistant.asr.decoder import DecodeResult, Word
from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.streaming import StreamingTranscriber
from assistant.events import FinalTranscript, PartialTranscript, Speaker, SpeechEnded
from assistant.vad.segmenter import Ended, Paused, Resumed, Started

AUDIO = np.full(16000 * 10, 0.1, dtype=np.float32)
_tokens = itertools.count(1000)

Spoken = list[tuple[str, float, float]]  # (word, start_s, end_s) on the stream clock


def spoken(text: str, start_s: float, step_s: float = 0.3) -> Spoken:
    """The words of ``text``, one every ``step_s`` seconds from ``start_s``."""
    return [
        (w, start_s + i * step_s, start_s + (i + 1) * step_s - 0.05)
        for i, w in enumerate(text.split())
    ]


class Harness:
    def __init__(self, **config) -> None:
        # The commit rules themselves, from the first second (the default waits for
        # 2.5 s of utterance: see test_no_commits_in_the_first_seconds_of_an_utterance).
        config.setdefault("min_commit_audio_s", 0.0)
        self.requests: list[DecodeRequest] = []
        self.now = 100.0
        self.st = StreamingTranscriber(
            Speaker.REP,
            submit=self.requests.append,
            reply=lambda req, res: None,
            config=StreamingConfig(**config),
            clock=lambda: self.now,
        )

    def act(self, actions, now_s: float):
        return self.st.on_actions(
            actions, now_s, lambda s: 50.0 + s, lambda: AUDIO[: int(now_s * 16000)]
        )

    def answer(self, request: DecodeRequest, words: Spoken | str, logprob: float = -0.2):
        """Reply as the decoder would: the words after the forced prefix, timed from
        the start of the request's audio."""
        if isinstance(words, str):
            words = spoken(words, request.start_s)
        result = tuple(
            Word(w, (next(_tokens),), s - request.start_s, e - request.start_s) for w, s, e in words
        )
        text = " ".join(w for w, _, _ in words)
        return self.st.on_result(request, DecodeResult(text, logprob, 0.01, 1.0, 0.1, result))

    def partials(self) -> list[DecodeRequest]:
        return [r for r in self.requests if r.kind is DecodeKind.PARTIAL]


def finals(events) -> list[FinalTranscript]:
    return [e for e in events if isinstance(e, FinalTranscript)]


def test_speculative_decode_is_committed_at_end_of_utterance() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO[:16000])], 1.15)
    (spec,) = h.requests
    assert spec.kind is DecodeKind.FINAL
    assert h.answer(spec, "Hello there.") == []  # not committed yet: may resume
    events = h.act([Ended(0.0, 1.0, AUDIO[:16000], forced=False)], 1.4)
    assert isinstance(events[0], SpeechEnded)
    final = events[1]
    assert isinstance(final, FinalTranscript) and final.text == "Hello there."
    assert (final.piece, final.last) == (0, True)
    assert final.speech_end_wall == 51.0  # wall time of stream time 1.0
    assert len(h.requests) == 1  # no second decode


def test_final_waits_for_a_speculative_decode_still_in_flight() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO[:16000])], 1.15)
    events = h.act([Ended(0.0, 1.0, AUDIO[:16000], forced=False)], 1.4)
    assert [type(e) for e in events] == [SpeechEnded]
    assert h.st.committed_s(2.0) == 1.0  # its final is still owed
    (final,) = h.answer(h.requests[0], "Hello there.")
    assert isinstance(final, FinalTranscript)
    assert len(h.requests) == 1 and h.st.idle


def test_resumed_speech_discards_the_speculative_result() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO)], 1.15)
    h.act([Resumed(1.2)], 1.2)
    assert h.answer(h.requests[0], "Hello") == []
    h.act([Paused(0.0, 2.0, AUDIO)], 2.15)
    h.act([Ended(0.0, 2.0, AUDIO, forced=False)], 2.4)
    (final,) = h.answer(h.requests[1], "Hello there, how are you?")
    assert final.text == "Hello there, how are you?"


def test_stale_speculative_reply_after_resume_never_becomes_final() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO)], 1.15)
    h.act([Resumed(1.2)], 1.2)
    h.act([Ended(0.0, 3.0, AUDIO, forced=True)], 3.0)
    stale, fresh = h.requests
    assert h.answer(stale, "Hello") == []
    (final,) = h.answer(fresh, "Hello there, how are you?")
    assert final.text == "Hello there, how are you?"


def test_partials_are_paced_and_never_stacked() -> None:
    h = Harness(partial_interval_s=0.5)
    h.act([Started(0.0)], 0.0)
    for i in range(1, 40):
        h.act([], i * 0.032)
    assert len(h.partials()) == 1  # the first is still in flight: no queueing behind it
    (event,) = h.answer(h.partials()[0], "Hello")
    assert isinstance(event, PartialTranscript) and event.text == "Hello"
    h.act([], 1.3)
    assert len(h.partials()) == 2


def test_dropped_partial_frees_the_slot() -> None:
    h = Harness(partial_interval_s=0.5)
    h.act([Started(0.0)], 0.0)
    h.act([], 0.6)
    assert h.st.on_result(h.requests[0], None) == []
    h.act([], 1.2)
    assert len(h.requests) == 2


def test_hallucinated_final_is_not_emitted() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0)], 0.0)
    h.act([Ended(0.0, 1.0, np.zeros(16000, dtype=np.float32), forced=False)], 1.4)
    assert h.answer(h.requests[0], "Thank you.", logprob=-1.5) == []
    assert h.st.idle


def _commit_first_words(h: Harness) -> list[FinalTranscript]:
    """Two re-decodes that agree on "I didn't know you" (spoken 0.1-1.25 s)."""
    h.act([Started(0.0)], 0.0)
    h.act([], 1.6)
    (first,) = h.partials()
    assert finals(h.answer(first, spoken("I didn't know you", 0.1))) == []
    h.act([], 2.0)
    second = h.partials()[1]
    return finals(h.answer(second, spoken("I didn't know you were", 0.1)))


def test_words_two_redecodes_agree_on_are_committed_while_speaking() -> None:
    h = Harness()
    (piece,) = _commit_first_words(h)
    # "were" (ending at 1.55 s) is in only one decode: it waits.
    assert (piece.text, piece.piece, piece.last) == ("I didn't know you", 0, False)
    assert piece.end_s == pytest.approx(1.25)
    assert piece.speech_end_wall == pytest.approx(51.25)  # latency origin: its last word
    # The final decodes from the last committed words on, forced as its prefix ...
    h.act([Paused(0.0, 2.6, AUDIO[: int(2.75 * 16000)])], 2.75)
    final_req = h.requests[-1]
    assert final_req.kind is DecodeKind.FINAL
    assert len(final_req.prefix) == 3  # "didn't know you"
    assert final_req.start_s == pytest.approx(0.4 - 0.1)  # "didn't" starts at 0.4
    assert len(final_req.audio) == int(2.75 * 16000) - int(round(0.3 * 16000))
    h.answer(final_req, spoken("were there.", 1.3))
    # ... so the last piece carries only the words after them.
    (last,) = finals(h.act([Ended(0.0, 2.6, AUDIO[: int(2.75 * 16000)], forced=False)], 3.0))
    assert (last.text, last.piece, last.last) == ("were there.", 1, True)
    assert last.start_s == piece.end_s


def test_agreed_words_at_the_very_end_of_the_audio_wait() -> None:
    h = Harness()
    h.act([Started(0.0)], 0.0)
    h.act([], 1.0)
    h.answer(h.partials()[0], spoken("Hello there", 0.3))  # "there" ends at 0.85
    h.act([], 1.4)
    (piece,) = finals(h.answer(h.partials()[1], spoken("Hello there", 0.3)))
    assert piece.text == "Hello there"  # 0.85 <= 1.4 - hold
    h2 = Harness()
    h2.act([Started(0.0)], 0.0)
    h2.act([], 0.7)
    h2.answer(h2.partials()[0], spoken("Hello there", 0.3))
    h2.act([], 1.1)
    (piece,) = finals(h2.answer(h2.partials()[1], spoken("Hello there", 0.3)))
    assert piece.text == "Hello"  # "there" ends 0.85 > 1.1 - 0.3: held back


def test_unsettled_words_are_committed_once_they_are_old() -> None:
    h = Harness(max_commit_lag_s=1.5)
    h.act([Started(0.0)], 0.0)
    h.act([], 1.0)
    h.answer(h.partials()[0], spoken("a bee", 0.1))
    h.act([], 3.0)
    # The decodes never agree, but "the beep" was heard over 1.5 s ago.
    (piece,) = finals(h.answer(h.partials()[1], spoken("the beep this is", 0.1, step_s=0.6)))
    assert piece.text == "the beep"


def test_a_late_redecode_after_a_split_is_ignored() -> None:
    h = Harness()
    h.act([Started(0.0)], 0.0)
    h.act([], 2.0)
    late = h.partials()[0]
    events = h.act([Ended(0.0, 2.0, AUDIO[:32000], forced=True), Started(2.0)], 2.0)
    assert [type(e) for e in events][0] is SpeechEnded
    assert h.answer(late, "words from before the split") == []
    final_req = [r for r in h.requests if r.kind is DecodeKind.FINAL][0]
    (final,) = finals(h.answer(final_req, "words from before the split"))
    assert final.last and final.text == "words from before the split"


def test_a_full_stop_with_more_words_after_it_hints_a_split() -> None:
    h = Harness()
    h.act([Started(0.0)], 0.0)
    h.act([], 2.0)
    h.answer(h.partials()[0], [("there.", 0.5, 0.9), ("Neither", 1.1, 1.4)])
    hint = h.st.take_split_hint()
    assert hint is not None and hint[0] < 0.9 < 1.1 < hint[1]
    assert h.st.take_split_hint() is None  # once
    # A full stop at the end of the audio is only Whisper assuming the end.
    h.act([], 2.4)
    h.answer(h.partials()[1], [("there.", 0.5, 0.9)])
    assert h.st.take_split_hint() is None


def test_no_commits_in_the_first_seconds_of_an_utterance() -> None:
    """Two decodes of the first second or two agree on misheard words too often:
    short utterances are committed whole by their final."""
    h = Harness(min_commit_audio_s=2.5)
    h.act([Started(0.0)], 0.0)
    h.act([], 1.6)
    h.answer(h.partials()[0], spoken("I didn't know you", 0.1))
    h.act([], 2.0)
    assert finals(h.answer(h.partials()[1], spoken("I didn't know you were", 0.1))) == []
    h.act([], 2.8)
    (piece,) = finals(h.answer(h.partials()[2], spoken("I didn't know you were there", 0.1)))
    assert piece.text.startswith("I didn't know you")
