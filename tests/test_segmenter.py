"""Segmentation on synthetic probabilities (pure) and on real speech (Silero)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.file_source import decode_file
from assistant.segmenter import Discarded, Ended, Paused, Resumed, Segmenter, Started, VadConfig
from assistant.vad import FRAME_S, FRAME_SAMPLES, SileroVad

from .conftest import AUDIO

FRAME = np.full(FRAME_SAMPLES, 0.1, dtype=np.float32)


def run(probs: list[float], config: VadConfig | None = None) -> list:
    seg = Segmenter(config)
    actions = []
    for p in probs:
        actions.extend(seg.feed(FRAME, p))
    return actions


def frames(seconds: float) -> int:
    return round(seconds / FRAME_S)


def test_utterance_has_pre_roll_and_ends_after_silence() -> None:
    probs = [0.0] * frames(1.0) + [0.9] * frames(1.0) + [0.0] * frames(1.0)
    actions = run(probs)
    kinds = [type(a) for a in actions]
    assert kinds == [Started, Paused, Ended]
    started, paused, ended = actions
    assert started.start_s == pytest.approx(1.0 - 0.2, abs=FRAME_S)
    assert ended.speech_end_s == pytest.approx(2.0, abs=FRAME_S)
    assert not ended.forced
    # pre-roll + speech + the first quiet frame
    assert len(ended.audio) / 16000 == pytest.approx(1.2 + FRAME_S, abs=FRAME_S)
    # the speculative snapshot is exactly the audio that gets committed
    assert np.array_equal(paused.audio, ended.audio)


def test_hysteresis_keeps_soft_frames_inside_speech() -> None:
    # 0.4 is below the start threshold but above the end threshold
    probs = [0.9] * 10 + [0.4] * 10 + [0.9] * 10 + [0.0] * frames(0.6)
    kinds = [type(a) for a in run(probs)]
    assert kinds == [Started, Paused, Ended]


def test_short_pause_resumes_the_same_utterance() -> None:
    probs = [0.9] * 20 + [0.0] * frames(0.2) + [0.9] * 20 + [0.0] * frames(0.6)
    kinds = [type(a) for a in run(probs)]
    assert kinds == [Started, Paused, Resumed, Paused, Ended]


def test_end_silence_is_configurable() -> None:
    probs = [0.9] * 20 + [0.0] * frames(0.5) + [0.9] * 20 + [0.0] * frames(0.6)
    kinds = [type(a) for a in run(probs, VadConfig(end_silence_s=0.3))]
    assert kinds.count(Ended) == 2


def test_clicks_are_discarded() -> None:
    probs = [0.0] * 10 + [0.9] * 2 + [0.0] * frames(0.6)
    kinds = [type(a) for a in run(probs)]
    assert kinds == [Started, Paused, Discarded]


def test_long_speech_is_cut_and_continues() -> None:
    probs = [0.9] * frames(20.0) + [0.0] * frames(0.6)
    actions = run(probs, VadConfig(max_utterance_s=15.0))
    ended = [a for a in actions if isinstance(a, Ended)]
    assert ended[0].forced and ended[0].speech_end_s == pytest.approx(15.0, abs=0.25)
    assert not ended[1].forced
    assert ended[1].speech_end_s == pytest.approx(20.0, abs=FRAME_S)


def test_flush_closes_open_speech() -> None:
    seg = Segmenter()
    for _ in range(30):
        seg.feed(FRAME, 0.9)
    (ended,) = seg.flush()
    assert isinstance(ended, Ended)


def test_silero_finds_each_utterance_in_a_speech_silence_mix() -> None:
    speech = decode_file(AUDIO / "rep_question.flac")[:, 0]
    gap = np.zeros(16000, dtype=np.float32)
    rng = np.random.default_rng(1)
    hiss = (rng.standard_normal(16000) * 0.002).astype(np.float32)
    mix = np.concatenate([gap, speech, hiss, gap, speech, gap])
    vad, seg = SileroVad(), Segmenter()
    ended = []
    for i in range(len(mix) // FRAME_SAMPLES):
        frame = mix[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
        ended += [a for a in seg.feed(frame, vad(frame)) if isinstance(a, Ended)]
    # The fixture has one natural pause ("so far? Where ...") that may split it.
    speech_s = len(speech) / 16000
    first = [e for e in ended if e.start_s < 1.0 + speech_s]
    second = [e for e in ended if e.start_s >= 1.0 + speech_s]
    assert 1 <= len(first) <= 2 and 1 <= len(second) <= 2
    assert first[0].start_s == pytest.approx(1.0, abs=0.35)
    assert second[-1].speech_end_s == pytest.approx(3.0 + 2 * speech_s, abs=0.5)


def test_silero_stays_quiet_on_silence_and_noise() -> None:
    rng = np.random.default_rng(2)
    for audio in (
        np.zeros(16000 * 5, dtype=np.float32),
        (rng.standard_normal(16000 * 5) * 0.05).astype(np.float32),
    ):
        vad, seg = SileroVad(), Segmenter()
        actions = []
        for i in range(len(audio) // FRAME_SAMPLES):
            frame = audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
            actions += seg.feed(frame, vad(frame))
        assert not [a for a in actions if isinstance(a, Ended)]
