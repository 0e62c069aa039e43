"""Stage harness for the decode policy: feed segmenter actions, answer decode
requests by hand, check which transcript events come out and when."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from assistant.asr.config import StreamingConfig
from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.results import DecodeResult, Word
from assistant.asr.streaming import StreamingTranscriber
from assistant.events import (
    FinalTranscript,
    PartialTranscript,
    Speaker,
    SpeechEnded,
    TranscriptRevision,
)
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
        # 2 s of utterance: see test_no_commits_in_the_first_seconds_of_an_utterance).
        config.setdefault("min_commit_audio_s", 0.0)
        self.requests: list[DecodeRequest] = []
        self.now = 100.0
        self.st = StreamingTranscriber(
            Speaker.REP,
            reply=lambda req, res: None,
            config=StreamingConfig(**config),
            clock=lambda: self.now,
        )

    def act(self, actions, now_s: float):
        out = self.st.on_actions(
            actions, lambda s: 50.0 + s, now_s, lambda: AUDIO[: int(now_s * 16000)]
        )
        return self._split(out)

    def _split(self, out):
        self.requests += [o for o in out if isinstance(o, DecodeRequest)]
        return [o for o in out if not isinstance(o, DecodeRequest)]

    def answer(self, request: DecodeRequest, words: Spoken | str, logprob: float = -0.2):
        """Reply as the decoder would: the words after the forced prefix, timed from
        the start of the request's audio."""
        if isinstance(words, str):
            words = spoken(words, request.start_s)
        result = tuple(
            Word(w, (next(_tokens),), s - request.start_s, e - request.start_s) for w, s, e in words
        )
        text = " ".join(w for w, _, _ in words)
        return self._split(
            self.st.on_result(request, DecodeResult(text, logprob, 0.01, 1.0, 0.1, result))
        )

    def partials(self) -> list[DecodeRequest]:
        return [r for r in self.requests if r.kind is DecodeKind.PARTIAL]

    def finals(self) -> list[DecodeRequest]:
        return [r for r in self.requests if r.kind is DecodeKind.FINAL]


def finals(events) -> list[FinalTranscript]:
    return [e for e in events if isinstance(e, FinalTranscript)]


def revisions(events) -> list[TranscriptRevision]:
    return [e for e in events if isinstance(e, TranscriptRevision)]


def test_speculative_decode_is_committed_at_end_of_utterance() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO[:16000])], 1.15)
    (spec,) = h.requests
    assert spec.kind is DecodeKind.FINAL
    # Decoded as offline decoding does: all of its audio, nothing forced.
    assert spec.offline and spec.prefix == () and len(spec.audio) == 16000
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
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO[:16000])], 1.15)
    events = h.act([Ended(0.0, 1.0, AUDIO[:16000], forced=False)], 1.4)
    assert [type(e) for e in events] == [SpeechEnded]
    assert not h.st.idle  # its final is still owed
    (final,) = h.answer(h.requests[0], "Hello there.")
    assert isinstance(final, FinalTranscript)
    assert len(h.requests) == 1 and h.st.idle


def test_resumed_speech_discards_the_speculative_decode() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO[:16000])], 1.15)
    (stale,) = h.requests
    assert stale.wanted()
    h.act([Resumed(1.2)], 1.2)
    assert not stale.wanted()  # the worker skips it if it has not started
    assert h.answer(stale, "Hello") == []
    h.act([Paused(0.0, 2.0, AUDIO[:32000])], 2.15)
    h.act([Ended(0.0, 2.0, AUDIO[:32000], forced=False)], 2.4)
    (final,) = h.answer(h.requests[1], "Hello there, how are you?")
    assert final.text == "Hello there, how are you?"


def test_a_split_decodes_its_own_audio_not_the_speculative_one() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([Paused(0.0, 1.0, AUDIO[:16000])], 1.15)
    h.act([Resumed(1.2)], 1.2)
    h.act([Ended(0.0, 3.0, AUDIO[:48000], forced=True), Started(3.0, 3.0)], 3.0)
    stale, fresh = h.finals()
    assert len(fresh.audio) == 48000
    assert h.answer(stale, "Hello") == []
    (final,) = h.answer(fresh, "Hello there, how are you?")
    assert final.text == "Hello there, how are you?"


def test_the_part_after_a_split_is_decoded_with_the_end_of_the_part_before() -> None:
    """A forced split cuts mid-sentence: the next part's final decode also hears the
    last seconds before the cut (tiny.en misreads a sentence's middle on its own),
    and the words it repeats from the part before are not said twice."""
    from assistant.asr.streaming import SPLIT_LEAD_IN_S

    h = Harness(partials=False)
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([Ended(0.0, 4.0, AUDIO[:64000], forced=True), Started(4.0, 4.0)], 4.0)
    (one,) = finals(h.answer(h.finals()[0], "he began a complaint against the wizard"))
    h.act([Ended(4.0, 6.0, AUDIO[:32000], forced=False)], 6.4)
    second = h.finals()[1]
    lead = int(SPLIT_LEAD_IN_S * 16000)
    assert len(second.audio) == 32000 + lead
    assert second.start_s == pytest.approx(4.0 - SPLIT_LEAD_IN_S)
    # Whisper's times drift: "wizard" placed after the cut is still the part before's.
    said = spoken("against the wizard who had vanished", 2.9, 0.5)
    (two,) = finals(h.answer(second, said))
    assert one.text.endswith("wizard") and two.text == "who had vanished"
    assert two.start_s == 4.0


def test_after_a_split_without_a_repeat_the_words_before_the_cut_are_dropped() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([Ended(0.0, 4.0, AUDIO[:64000], forced=True), Started(4.0, 4.0)], 4.0)
    h.answer(h.finals()[0], "something else entirely")
    h.act([Ended(4.0, 6.0, AUDIO[:32000], forced=False)], 6.4)
    said = [("wizard", 3.0, 3.5), ("who", 4.1, 4.3), ("had", 4.4, 4.6)]
    (two,) = finals(h.answer(h.finals()[1], said))
    assert two.text == "who had"


def test_after_a_split_a_repeat_well_after_the_cut_is_said_again() -> None:
    """The phone call: one speaker ends "...originally from Chicago." at the cut
    and the other answers "Oh, I'm originally from Chicago also": the same words,
    but a second after the cut, so they are the answer's own."""
    h = Harness(partials=False)
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([Ended(0.0, 4.0, AUDIO[:64000], forced=True), Started(4.0, 4.0)], 4.0)
    h.answer(h.finals()[0], "and i am sheila originally from chicago")
    h.act([Ended(4.0, 6.0, AUDIO[:32000], forced=False)], 6.4)
    said = spoken("oh i'm originally from chicago also", 4.2)
    (two,) = finals(h.answer(h.finals()[1], said))
    assert two.text == "oh i'm originally from chicago also"


def test_finals_come_out_in_utterance_order() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([Ended(0.0, 1.0, AUDIO[:16000], forced=False)], 1.4)
    h.act([Started(1.5, 1.8)], 1.8)
    h.act([Paused(1.5, 2.5, AUDIO[:16000])], 2.7)
    first, second = h.finals()
    assert h.answer(second, "second") == []  # ready, but the first is still owed
    assert not h.st.idle
    (one,) = h.answer(first, "first")
    assert one.text == "first"
    (two,) = finals(h.act([Ended(1.5, 2.5, AUDIO[:16000], forced=False)], 2.9))
    assert two.text == "second"


def test_partials_are_paced_and_never_stacked() -> None:
    h = Harness(partial_interval_s=0.5)
    h.act([Started(0.0, 0.3)], 0.0)
    for i in range(1, 40):
        h.act([], i * 0.032)
    assert len(h.partials()) == 1  # the first is still in flight: no queueing behind it
    (event,) = h.answer(h.partials()[0], "Hello")
    assert isinstance(event, PartialTranscript) and event.text == "Hello"
    h.act([], 1.3)
    assert len(h.partials()) == 2


def test_dropped_partial_frees_the_slot() -> None:
    h = Harness(partial_interval_s=0.5)
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([], 0.6)
    assert h.st.on_result(h.requests[0], None) == []
    h.act([], 1.2)
    assert len(h.requests) == 2


def test_hallucinated_final_is_not_emitted() -> None:
    h = Harness(partials=False)
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([Ended(0.0, 1.0, np.zeros(16000, dtype=np.float32), forced=False)], 1.4)
    assert h.answer(h.requests[0], "Thank you.", logprob=-1.5) == []
    assert h.st.idle


def _commit_first_words(h: Harness) -> list[FinalTranscript]:
    """Two re-decodes that agree on "I didn't know you" (spoken 0.1-1.25 s)."""
    h.act([Started(0.0, 0.1)], 0.0)
    h.act([], 1.6)
    (first,) = h.partials()
    assert finals(h.answer(first, spoken("I didn't know you", 0.1))) == []
    h.act([], 2.0)
    second = h.partials()[1]
    return finals(h.answer(second, spoken("I didn't know you were", 0.1)))


def test_pieces_are_committed_while_speaking_and_revised_at_the_end() -> None:
    h = Harness()
    (piece,) = _commit_first_words(h)
    # "were" (ending at 1.55 s) is in only one decode: it waits.
    assert (piece.text, piece.piece, piece.last) == ("I didn't know you", 0, False)
    assert piece.end_s == pytest.approx(1.25)
    assert piece.speech_end_wall == pytest.approx(51.25)  # latency origin: its last word
    # The next re-decode starts at the last committed words, forced as its prefix.
    h.act([], 2.4)
    redecode = h.partials()[-1]
    assert len(redecode.prefix) == 3 and redecode.start_s == pytest.approx(0.4 - 0.1)
    # The final decodes the whole utterance, without the pieces as a prefix ...
    h.act([Paused(0.0, 2.6, AUDIO[: int(2.8 * 16000)])], 2.8)
    (final_req,) = h.finals()
    assert final_req.prefix == () and final_req.start_s == 0.0
    assert len(final_req.audio) == int(2.8 * 16000)
    # ... and may hear the start differently: its text supersedes the pieces.
    heard = [("I", 0.1, 0.35), ("did", 0.4, 0.55), ("not", 0.6, 0.75), ("know", 0.8, 1.0)]
    heard += [("you", 1.0, 1.25), ("were", 1.3, 1.55), ("there.", 1.6, 1.85)]
    h.answer(final_req, heard)
    events = h.act([Ended(0.0, 2.6, AUDIO[: int(2.8 * 16000)], forced=False)], 3.0)
    (last,) = finals(events)
    (revision,) = revisions(events)
    # The last piece: the final's words after the pieces' audio, closing first text.
    assert (last.text, last.piece, last.last) == ("were there.", 1, True)
    assert last.start_s == piece.end_s
    assert revision.text == "I did not know you were there."
    span = (revision.utterance_id, revision.start_s, revision.end_s)
    assert span == (piece.utterance_id, 0.0, 2.6)
    assert revision.speech_end_wall == pytest.approx(52.6)


def test_final_text_does_not_depend_on_when_partials_ran() -> None:
    """The same utterance, with re-decodes at different moments (and different
    words), gets the same final text: the final decodes the audio alone."""

    def run(partial_times: list[float], partial_words: str) -> list[str]:
        h = Harness()
        h.act([Started(0.0, 0.1)], 0.0)
        answered = 0
        for t in partial_times:
            h.act([], t)
            for request in h.partials()[answered:]:
                h.answer(request, spoken(partial_words, 0.1))
            answered = len(h.partials())
        h.act([Paused(0.0, 2.6, AUDIO[: int(2.8 * 16000)])], 2.8)
        (final_req,) = h.finals()
        h.answer(final_req, spoken("I did not know you were there.", 0.1))
        events = h.act([Ended(0.0, 2.6, AUDIO[: int(2.8 * 16000)], forced=False)], 3.0)
        return [e.text for e in events if isinstance(e, (FinalTranscript, TranscriptRevision))]

    busy = run([1.6, 2.0, 2.4], "I didn't know you were")
    idle = run([2.2], "Idid no")
    assert busy[-1] == idle[-1] == "I did not know you were there."


def test_a_failed_final_decode_keeps_what_the_pieces_said() -> None:
    h = Harness()
    _commit_first_words(h)
    h.act([Ended(0.0, 2.6, AUDIO[: int(2.8 * 16000)], forced=False)], 3.0)
    (final_req,) = h.finals()
    events = h._split(h.st.on_result(final_req, DecodeResult("", 0.0, 1.0, 0.0, 0.0, failed=True)))
    (revision,) = revisions(events)
    assert revision.text == "I didn't know you"


def test_agreed_words_at_the_very_end_of_the_audio_wait() -> None:
    h = Harness()
    h.act([Started(0.0, 0.3)], 0.0)
    h.act([], 1.0)
    h.answer(h.partials()[0], spoken("Hello there", 0.3))  # "there" ends at 0.85
    h.act([], 1.4)
    (piece,) = finals(h.answer(h.partials()[1], spoken("Hello there", 0.3)))
    assert piece.text == "Hello there"  # 0.85 <= 1.4 - hold
    h2 = Harness()
    h2.act([Started(0.0, 0.3)], 0.0)
    h2.act([], 0.7)
    h2.answer(h2.partials()[0], spoken("Hello there", 0.3))
    h2.act([], 1.1)
    (piece,) = finals(h2.answer(h2.partials()[1], spoken("Hello there", 0.3)))
    assert piece.text == "Hello"  # "there" ends 0.85 > 1.1 - 0.3: held back


def test_unsettled_words_are_committed_once_they_are_old() -> None:
    h = Harness(max_commit_lag_s=1.5)
    h.act([Started(0.0, 0.1)], 0.0)
    h.act([], 1.0)
    h.answer(h.partials()[0], spoken("a bee", 0.1))
    h.act([], 3.0)
    # The decodes never agree, but "the beep" was heard over 1.5 s ago.
    (piece,) = finals(h.answer(h.partials()[1], spoken("the beep this is", 0.1, step_s=0.6)))
    assert piece.text == "the beep"


def test_a_late_redecode_after_a_split_is_ignored() -> None:
    h = Harness()
    h.act([Started(0.0, 0.1)], 0.0)
    h.act([], 2.0)
    late = h.partials()[0]
    events = h.act([Ended(0.0, 2.0, AUDIO[:32000], forced=True), Started(2.0, 2.0)], 2.0)
    assert [type(e) for e in events][0] is SpeechEnded
    assert h.answer(late, "words from before the split") == []
    (final,) = finals(h.answer(h.finals()[0], "words from before the split"))
    assert final.last and final.text == "words from before the split"


def test_no_commits_in_the_first_seconds_of_an_utterance() -> None:
    """Two decodes of the first second or two agree on misheard words too often:
    short utterances are committed whole by their final."""
    h = Harness(min_commit_audio_s=2.5)
    h.act([Started(0.0, 0.1)], 0.0)
    h.act([], 1.6)
    h.answer(h.partials()[0], spoken("I didn't know you", 0.1))
    h.act([], 2.0)
    assert finals(h.answer(h.partials()[1], spoken("I didn't know you were", 0.1))) == []
    h.act([], 2.8)
    (piece,) = finals(h.answer(h.partials()[2], spoken("I didn't know you were there", 0.1)))
    assert piece.text.startswith("I didn't know you")


def test_stream_utterance_ids_come_from_the_stream() -> None:
    st = StreamingTranscriber(
        Speaker.CUSTOMER, reply=lambda *_: None, ids=itertools.count(2, 2), clock=lambda: 0.0
    )
    events = st.on_actions([Started(0.0, 0.1)], lambda s: s, 0.1, lambda: AUDIO[:1600])
    events += st.on_actions(
        [Ended(0.0, 0.5, AUDIO[:9600], forced=True), Started(0.6, 0.6)], lambda s: s, 0.6
    )
    starts = [e for e in events if type(e).__name__ == "SpeechStarted"]
    assert len(starts) == 2
    ids = [r.utterance_id for r in events if isinstance(r, DecodeRequest)]
    assert ids and set(ids) <= {2, 4}
