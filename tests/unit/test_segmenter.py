"""Segmentation on synthetic probabilities (pure) and on real speech (Silero)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.file_source import decode_file
from assistant.vad.segmenter import Discarded, Ended, Paused, Resumed, Segmenter, Started, VadConfig
from assistant.vad.silero import FRAME_S, FRAME_SAMPLES, SileroVad
from tests.helpers.paths import AUDIO


def run(probs: list[float], config: VadConfig | None = None) -> list:
    seg = Segmenter(config)
    actions = []
    for i, p in enumerate(probs):
        actions.extend(seg.feed(numbered(i), p))
    return actions


def numbered(i: int) -> np.ndarray:
    """Frame ``i`` filled with its own index, so audio can be traced back to frames."""
    return np.full(FRAME_SAMPLES, float(i), dtype=np.float32)


def frame_ids(audio: np.ndarray) -> list[int]:
    return [int(audio[k]) for k in range(0, len(audio), FRAME_SAMPLES)]


def frames(seconds: float) -> int:
    return round(seconds / FRAME_S)


def test_utterance_has_pre_roll_tail_and_ends_after_silence() -> None:
    probs = [0.0] * frames(1.0) + [0.9] * frames(1.0) + [0.0] * frames(1.0)
    actions = run(probs)
    assert [type(a) for a in actions] == [Started, Paused, Ended]
    started, paused, ended = actions
    cfg = VadConfig()
    assert started.start_s == pytest.approx(1.0 - cfg.pre_roll_s, abs=FRAME_S)
    assert started.voiced_s == pytest.approx(1.0, abs=FRAME_S)
    assert ended.speech_end_s == pytest.approx(2.0, abs=FRAME_S)
    assert not ended.forced
    # pre-roll + speech + the tail kept for soft word endings
    expected_s = cfg.pre_roll_s + 1.0 + cfg.tail_s
    assert len(ended.audio) / 16000 == pytest.approx(expected_s, abs=2 * FRAME_S)
    # the speculative snapshot is exactly the audio that gets committed
    assert np.array_equal(paused.audio, ended.audio)


def test_soft_frames_keep_an_utterance_going() -> None:
    # 0.4 is below the start threshold but above the end threshold
    probs = [0.9] * 10 + [0.4] * 10 + [0.9] * 10 + [0.0] * frames(0.6)
    assert [type(a) for a in run(probs)] == [Started, Paused, Ended]


def test_short_pause_resumes_the_same_utterance() -> None:
    probs = [0.9] * 20 + [0.0] * frames(0.35) + [0.9] * 20 + [0.0] * frames(0.6)
    kinds = [type(a) for a in run(probs)]
    assert kinds == [Started, Paused, Resumed, Paused, Ended]


def test_end_silence_shrinks_as_the_utterance_grows() -> None:
    pause = [0.0] * frames(0.35)  # past the tail, short of the 0.4 s of a short one
    short = [0.9] * frames(1.0) + pause + [0.9] * frames(1.0) + [0.0] * frames(0.6)
    long = [0.9] * frames(9.0) + pause + [0.9] * frames(1.0) + [0.0] * frames(0.6)
    assert [type(a) for a in run(short)].count(Ended) == 1
    assert [type(a) for a in run(long)].count(Ended) == 2
    cfg = VadConfig()
    assert cfg.end_silence_for(1.0) == cfg.end_silence_s
    assert cfg.end_silence_for(20.0) == cfg.min_end_silence_s
    middle = (cfg.shrink_from_s + cfg.shrink_until_s) / 2
    assert cfg.min_end_silence_s < cfg.end_silence_for(middle) < cfg.end_silence_s


def test_no_audio_between_two_utterances_is_dropped() -> None:
    """A gap shorter than ``bridge_s`` belongs to the next utterance, whole."""
    probs = [0.0] * 5 + [0.9] * 30 + [0.0] * frames(0.7) + [0.9] * 30 + [0.0] * frames(0.6)
    ended = [a for a in run(probs) if isinstance(a, Ended)]
    assert len(ended) == 2
    first, second = (frame_ids(e.audio) for e in ended)
    assert second[0] == first[-1] + 1  # contiguous: the next starts where one stopped
    assert first + second == list(range(first[0], second[-1] + 1))


def test_a_long_silence_is_trimmed_to_the_pre_roll() -> None:
    probs = [0.9] * 30 + [0.0] * frames(3.0) + [0.9] * 30 + [0.0] * frames(0.6)
    ended = [a for a in run(probs) if isinstance(a, Ended)]
    second = frame_ids(ended[1].audio)
    first_voiced = 30 + frames(3.0)
    assert second[0] == first_voiced - frames(VadConfig().pre_roll_s)


def test_clicks_are_discarded_but_their_audio_is_kept_for_the_next_word() -> None:
    probs = [0.0] * 10 + [0.9] * 2 + [0.0] * frames(0.5) + [0.9] * 20 + [0.0] * frames(0.6)
    actions = run(probs)
    assert [type(a) for a in actions] == [Started, Paused, Discarded, Started, Paused, Ended]
    ended = actions[-1]
    assert 10 in frame_ids(ended.audio)  # the click's frames are its onset now


def test_long_speech_is_split_at_its_quietest_point_not_at_the_limit() -> None:
    cfg = VadConfig(max_utterance_s=12.0)
    probs = [0.9] * frames(20.0) + [0.0] * frames(0.6)
    dip = frames(10.0)
    probs[dip] = 0.36  # quieter than the rest, not a pause: a word boundary
    actions = run(probs, cfg)
    ended = [a for a in actions if isinstance(a, Ended)]
    assert ended[0].forced and not ended[1].forced
    first, second = frame_ids(ended[0].audio), frame_ids(ended[1].audio)
    assert first[-1] == dip  # cut right after the quietest frame
    assert second[0] == dip + 1  # and nothing is lost at the cut
    assert ended[0].speech_end_s == pytest.approx((dip + 1) * FRAME_S, abs=1e-6)


def test_a_long_turn_ends_at_a_pause_a_short_one_keeps_going() -> None:
    """Real turn changes often leave only 0.2-0.3 s: after several seconds of speech
    that ends the utterance (its final comes without waiting for the limit), while
    a short answer is not cut at a breath of the same length."""
    pause = [0.0] * frames(0.25)
    long = [0.9] * frames(6.0) + pause + [0.9] * frames(1.0) + [0.0] * frames(0.6)
    short = [0.9] * frames(1.0) + pause + [0.9] * frames(1.0) + [0.0] * frames(0.6)
    assert [type(a) for a in run(long)].count(Ended) == 2
    assert [type(a) for a in run(short)].count(Ended) == 1


def test_a_long_turn_ends_at_a_three_frame_dip_and_loses_no_frame() -> None:
    """On one mixed channel a turn change is often only a dip of Silero's
    probability (2-6 frames under 0.35 on the phone call): after 6 s of speech three
    such frames end the utterance, before its tail is in, and the next one starts at
    the very next frame. Two frames do not, nor three in a short utterance."""

    def talk(before_s: float, dip: int) -> list[float]:
        return [0.9] * frames(before_s) + [0.1] * dip + [0.9] * frames(2.0) + [0.0] * frames(0.6)

    ended = [a for a in run(talk(7.0, 3)) if isinstance(a, Ended)]
    assert len(ended) == 2 and not ended[0].forced
    first, second = frame_ids(ended[0].audio), frame_ids(ended[1].audio)
    dip_end = frames(7.0) + 3  # the frame after the dip
    assert first[-1] == dip_end - 1  # the audio runs to where the silence had got
    assert second[0] == dip_end  # and the next utterance goes on from there
    assert [type(a) for a in run(talk(7.0, 2))].count(Ended) == 1
    assert [type(a) for a in run(talk(3.0, 3))].count(Ended) == 1


def test_a_split_cuts_within_the_last_seconds_so_its_final_is_not_late() -> None:
    """The first part of a split waits for the split: a quiet frame early in a long
    utterance is not chosen over one near the limit."""
    cfg = VadConfig()
    probs = [0.9] * frames(20.0) + [0.0] * frames(0.6)
    probs[frames(6.0)] = 0.36  # the quietest frame, but 6 s before the limit
    probs[frames(cfg.max_utterance_s - 1.0)] = 0.4
    first = next(a for a in run(probs, cfg) if isinstance(a, Ended))
    assert first.forced
    assert frame_ids(first.audio)[-1] == frames(cfg.max_utterance_s - 1.0)


def test_settled_time_waits_at_the_speech_end_until_the_utterance_ends() -> None:
    """While speech has stopped but not yet ended the utterance, its end may still
    come at the speech end: nothing after it is settled (the pipeline's ordering
    and silence clock rely on this)."""
    seg = Segmenter()
    for i in range(frames(1.0)):
        seg.feed(numbered(i), 0.9)
    assert seg.settled_s == pytest.approx(seg.now_s)
    speech_end = seg.now_s
    actions = []
    for i in range(frames(0.25)):
        actions += seg.feed(numbered(i), 0.0)
    assert not [a for a in actions if isinstance(a, Ended)]
    assert seg.settled_s == pytest.approx(speech_end)
    while not [a for a in actions if isinstance(a, Ended)]:
        actions += seg.feed(numbered(0), 0.0)
    assert seg.settled_s == pytest.approx(seg.now_s)


def test_flush_closes_open_speech() -> None:
    seg = Segmenter()
    for i in range(30):
        seg.feed(numbered(i), 0.9)
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
    assert first[0].start_s == pytest.approx(1.0 - VadConfig().pre_roll_s, abs=0.3)
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
