"""Stage harness for the decode policy: feed segmenter actions, answer decode
requests by hand, check which transcript events come out and when."""

from __future__ import annotations

import numpy as np

from assistant.asr import DecodeResult
from assistant.events import FinalTranscript, PartialTranscript, Speaker, SpeechEnded
from assistant.segmenter import Ended, Paused, Resumed, Started
from assistant.streaming import DecodeKind, DecodeRequest, StreamingConfig, StreamingTranscriber

AUDIO = np.full(16000, 0.1, dtype=np.float32)


class Harness:
    def __init__(self, **config) -> None:
        self.requests: list[DecodeRequest] = []
        self.st = StreamingTranscriber(
            Speaker.REP,
            submit=self.requests.append,
            reply=lambda req, res: None,
            config=StreamingConfig(**config),
            clock=lambda: 100.0,
        )

    def act(self, actions, now_s: float):
        return self.st.on_actions(actions, now_s, lambda s: 50.0 + s, lambda: AUDIO)

    def answer(self, request: DecodeRequest, text: str):
        return self.st.on_result(request, DecodeResult(text, -0.2, 0.01, 1.0, 0.1))


def test_speculative_decode_is_committed_at_end_of_utterance() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO)], 1.03)
    (spec,) = h.requests
    assert spec.kind is DecodeKind.FINAL
    assert h.answer(spec, "Hello there.") == []  # not committed yet: may resume
    events = h.act([Ended(0.0, 1.0, AUDIO, forced=False)], 1.4)
    assert isinstance(events[0], SpeechEnded)
    final = events[1]
    assert isinstance(final, FinalTranscript) and final.text == "Hello there."
    assert final.speech_end_wall == 51.0  # wall time of stream time 1.0
    assert len(h.requests) == 1  # no second decode


def test_final_waits_for_a_speculative_decode_still_in_flight() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO)], 1.03)
    events = h.act([Ended(0.0, 1.0, AUDIO, forced=False)], 1.4)
    assert [type(e) for e in events] == [SpeechEnded]
    assert h.st.committed_s(2.0) == 1.0  # its final is still owed
    (final,) = h.answer(h.requests[0], "Hello there.")
    assert isinstance(final, FinalTranscript)
    assert len(h.requests) == 1 and h.st.idle


def test_resumed_speech_discards_the_speculative_result() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO)], 1.03)
    h.act([Resumed(1.1)], 1.1)
    assert h.answer(h.requests[0], "Hello") == []
    h.act([Paused(0.0, 2.0, AUDIO)], 2.03)
    h.act([Ended(0.0, 2.0, AUDIO, forced=False)], 2.4)
    (final,) = h.answer(h.requests[1], "Hello there, how are you?")
    assert final.text == "Hello there, how are you?"


def test_stale_speculative_reply_after_resume_never_becomes_final() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO)], 1.03)
    h.act([Resumed(1.1)], 1.1)
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
    partials = [r for r in h.requests if r.kind is DecodeKind.PARTIAL]
    assert len(partials) == 1  # the first is still in flight: no queueing behind it
    (event,) = h.answer(partials[0], "Hello")
    assert isinstance(event, PartialTranscript) and event.text == "Hello"
    h.act([], 1.3)
    assert len([r for r in h.requests if r.kind is DecodeKind.PARTIAL]) == 2


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
    assert h.st.on_result(h.requests[0], DecodeResult("Thank you.", -1.5, 0.9, 1, 0.1)) == []
    assert h.st.idle
