"""Speech recognition on real (espeak-ng generated) speech, judged by word error
rate against the script, and no text from silence or noise."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.asr.text_guard import collapse_repeats
from assistant.audio.file_source import decode_file
from assistant.events import Speaker
from tests.helpers.audio import finals, run_file, write_wav
from tests.helpers.paths import AUDIO, SAMPLE_CALL
from tests.helpers.wer import wer


@pytest.mark.parametrize("name", ["rep_question", "customer_objection"])
def test_single_utterances_are_recognised(decoder, name: str) -> None:
    audio = decode_file(AUDIO / f"{name}.flac")[:, 0]
    result = decoder.decode(audio)
    reference = (AUDIO / f"{name}.txt").read_text()
    assert wer(reference, result.text) <= 0.25, result.text


def test_sample_call_words_and_speakers(decoder, sample_script) -> None:
    out = finals(run_file(SAMPLE_CALL, decoder))
    hypothesis = " ".join(f.text for f in out)
    reference = " ".join(line["text"] for line in sample_script)
    assert wer(reference, hypothesis) <= 0.2, hypothesis
    # Each scripted line is matched by a final from the right channel, in time.
    for line in sample_script:
        matching = [f for f in out if f.start_s <= line["end"] and f.end_s >= line["start"]]
        assert matching, line
        assert {f.speaker.value for f in matching} == {line["speaker"]}
        assert matching[-1].end_s == pytest.approx(line["end"], abs=0.3)


def test_finals_arrive_in_stream_order(decoder) -> None:
    out = finals(run_file(SAMPLE_CALL, decoder))
    ends = [f.end_s for f in out]
    assert ends == sorted(ends)
    assert {f.speaker for f in out} == {Speaker.REP, Speaker.CUSTOMER}


def test_replay_is_as_good_as_decoding_each_segment_alone(decoder, sample_script, tmp_path) -> None:
    """Streaming adds no error of its own: the committed text is at least as good
    as decoding each committed stretch of audio by itself."""
    mono = decode_file(SAMPLE_CALL, 2).mean(axis=1)
    path = write_wav(tmp_path / "mono_call.wav", mono)
    audio = decode_file(path)[:, 0]
    out = finals(run_file(path, decoder))
    assert len(out) >= 10
    alone = []
    for final in out:
        start = round(final.start_s * 16000)
        end = round((final.end_s + 0.3) * 16000)  # its speech and the tail it ended with
        alone.append(collapse_repeats(decoder.decode(audio[start:end]).text))
    reference = " ".join(line["text"] for line in sample_script)
    streamed = wer(reference, " ".join(f.text for f in out))
    assert streamed <= wer(reference, " ".join(alone)) + 0.01


@pytest.mark.parametrize("kind", ["silence", "noise", "hum"])
def test_thirty_seconds_without_speech_produce_no_text(decoder, tmp_path, kind: str) -> None:
    rng = np.random.default_rng(7)
    n = 30 * 16000
    t = np.arange(n) / 16000
    audio = {
        "silence": np.zeros(n),
        "noise": rng.standard_normal(n) * 0.05,  # loud white noise, -26 dBFS
        "hum": 0.05 * np.sin(2 * np.pi * 50 * t) + rng.standard_normal(n) * 0.003,
    }[kind].astype(np.float32)
    path = write_wav(tmp_path / f"{kind}.wav", audio)
    assert finals(run_file(path, decoder)) == []


@pytest.mark.parametrize("level", [0.0, 0.003, 0.05])
def test_guard_rejects_what_whisper_makes_of_non_speech(decoder, level: float) -> None:
    """Even if the VAD let it through, Whisper's text for silence/noise is dropped."""
    from assistant.asr.text_guard import audio_rms, is_hallucination

    rng = np.random.default_rng(3)
    for seconds in (1, 3, 8):
        audio = (rng.standard_normal(seconds * 16000) * level).astype(np.float32)
        r = decoder.decode(audio)
        text = collapse_repeats(r.text)
        assert is_hallucination(text, r.avg_logprob, r.no_speech_prob, audio_rms(audio)), (
            seconds,
            r,
        )


def test_fast_replay_of_a_long_call_loses_no_final(decoder, sample_script, tmp_path) -> None:
    """Unpaced replay must wait for the decoder, not read ahead and drop finals."""
    call = decode_file(SAMPLE_CALL, 2)
    copies = 3
    path = write_wav(tmp_path / "long_call.wav", np.concatenate([call] * copies))
    out = finals(run_file(path, decoder))
    length_s = len(call) / 16000
    for k in range(copies):
        for line in sample_script:
            start, end = line["start"] + k * length_s, line["end"] + k * length_s
            assert any(f.start_s <= end and f.end_s >= start for f in out), (k, line)


def test_a_final_decode_stops_after_its_encoder_pass_when_no_longer_wanted(decoder) -> None:
    """A speculative final whose speaker resumed while it ran: the beam search is
    not spent on text that is thrown away; a wanted one reads the same as ever."""
    from assistant.asr.results import DecodeAbandoned

    audio = decode_file(AUDIO / "customer_objection.flac")[:, 0]
    asked: list[int] = []

    def no_longer() -> bool:
        asked.append(1)
        return False

    with pytest.raises(DecodeAbandoned):
        decoder.decode(audio, offline=True, proceed=no_longer)
    assert asked == [1]  # asked once, after the encoder, before any text
    wanted = decoder.decode(audio, offline=True, proceed=lambda: True)
    assert wanted.text == decoder.decode(audio, offline=True).text
    assert wanted.text


def test_a_short_utterances_final_is_greedy_and_a_long_ones_beam_search(decoder) -> None:
    """Final text: greedy under GREEDY_FINAL_UNDER_S (it costs no words there, and a
    third of the decode), beam search from there on, every window of an utterance
    alike. Seen at CTranslate2's own call, on real recorded speech."""
    from assistant.asr.decoder import FINAL_BEAM_SIZE, GREEDY_FINAL_UNDER_S

    class Spy:
        def __init__(self, model: object) -> None:
            self._model = model
            self.beams: list[int] = []

        def generate(self, *args: object, **kwargs: object) -> object:
            self.beams.append(int(kwargs["beam_size"]))  # type: ignore[call-overload]
            return self._model.generate(*args, **kwargs)  # type: ignore[attr-defined]

        def __getattr__(self, name: str) -> object:
            return getattr(self._model, name)

    audio = decode_file(AUDIO / "customer_objection.flac")[:, 0]
    cut = int((GREEDY_FINAL_UNDER_S - 0.5) * 16000)
    assert len(audio) > cut
    real = decoder._model.model
    spy = Spy(real)
    decoder._model.model = spy
    try:
        short = decoder.decode(audio[:cut], offline=True)
        short_beams = list(spy.beams)
        spy.beams.clear()
        long = decoder.decode(np.concatenate([audio, audio])[: cut * 2], offline=True)
    finally:
        decoder._model.model = real
    assert short.text and long.text
    assert short_beams and set(short_beams) == {1}
    assert spy.beams and set(spy.beams) == {FINAL_BEAM_SIZE}


def test_a_partial_decode_gives_way_after_its_encoder_pass(decoder) -> None:
    """A partial asked after its encoder pass whether a final waits: its greedy
    pass is not run when one does, and reads the same as ever when none does."""
    from assistant.asr.results import DecodeAbandoned

    audio = decode_file(AUDIO / "customer_objection.flac")[:, 0][: 3 * 16000]
    with pytest.raises(DecodeAbandoned):
        decoder.decode(audio, proceed=lambda: False)
    kept = decoder.decode(audio, proceed=lambda: True)
    assert kept.text == decoder.decode(audio).text
    assert kept.text


def test_the_worker_answers_an_abandoned_final_with_no_result(decoder) -> None:
    """The worker asks ``wanted`` before a final and, through the decoder, after
    its encoder pass: a final overtaken by speech in between comes back as None
    (stale, as one skipped before it started) and the worker goes on."""
    import threading

    from assistant.asr.requests import DecodeKind, DecodeRequest
    from assistant.asr.worker import AsrWorker

    audio = decode_file(AUDIO / "customer_objection.flac")[:, 0]
    answers: list[object] = []
    done = threading.Event()
    checks = iter([True, False])  # wanted when it starts, overtaken during it

    def reply(_request: DecodeRequest, result: object) -> None:
        answers.append(result)
        done.set()

    worker = AsrWorker(decoder)
    worker.start()
    try:
        worker.submit(
            DecodeRequest(
                kind=DecodeKind.FINAL,
                speaker=Speaker.CUSTOMER,
                utterance_id=1,
                version=0,
                audio=audio,
                start_s=0.0,
                end_s=len(audio) / 16000,
                requested_wall=0.0,
                reply=reply,
                offline=True,
                wanted=lambda: next(checks, False),
            )
        )
        assert done.wait(60)
    finally:
        worker.stop()
    assert answers == [None]
    assert worker.skipped_finals == 1
