"""The browser sources' shared clock: an input that is not sending is filled with
silence up to where the call is, so both speakers stay aligned and a gap costs its
own audio only (pure: a fake clock, no filler thread)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.browser_source import (
    LIVE_HOLD_S,
    PRESTART_S,
    SAMPLE_RATE_HZ,
    BrowserSource,
    CaptureTimeline,
)
from assistant.events import RawAudio

FRAME = 512
FRAME_S = FRAME / SAMPLE_RATE_HZ


def pcm(value: int = 1000) -> bytes:
    return np.full(FRAME, value, dtype="<i2").tobytes()


class Rig:
    def __init__(self) -> None:
        self.now = 50.0
        self.timeline = CaptureTimeline(clock=lambda: self.now, filler=False)
        self.mic = BrowserSource("page microphone", self.timeline)
        self.call = BrowserSource("page call audio", self.timeline)
        self.got: dict[str, list[RawAudio]] = {"mic": [], "call": []}

    def start(self) -> None:
        self.mic.start(self.got["mic"].append, lambda error: None)
        self.call.start(self.got["call"].append, lambda error: None)

    def run(self, seconds: float, mic: bool = True, call: bool = True) -> None:
        """Real time passes; the sending inputs deliver a frame every 32 ms."""
        for _ in range(round(seconds / FRAME_S)):
            self.now += FRAME_S
            if mic:
                self.mic.push(pcm(), self.now, self.now)
            if call:
                self.call.push(pcm(), self.now, self.now)
            self.timeline.tick(self.now)

    def audio(self, name: str) -> np.ndarray:
        return np.concatenate([b.samples[:, 0] for b in self.got[name]])


def test_both_sending_is_both_streams_as_sent() -> None:
    rig = Rig()
    rig.start()
    rig.run(2.0)
    for name in ("mic", "call"):
        audio = rig.audio(name)
        assert len(audio) == round(2.0 / FRAME_S) * FRAME
        assert np.allclose(audio, 1000 / 32768)  # int16 -> float, nothing filled
    assert rig.mic.filled == rig.call.filled == 0


def test_a_call_shared_later_starts_where_the_microphone_is() -> None:
    """The microphone runs 3 s before the tab is picked: the call's stream is
    silence up to then, so its first word lands at its real time into the call."""
    rig = Rig()
    rig.start()
    rig.run(3.0, call=False)
    rig.run(1.0)
    mic, call = rig.audio("mic"), rig.audio("call")
    assert abs(len(mic) - len(call)) <= FRAME
    first_sound = int(np.argmax(call != 0))
    assert first_sound / SAMPLE_RATE_HZ == pytest.approx(3.0, abs=FRAME_S + LIVE_HOLD_S)
    assert rig.call.filled > 0 and rig.mic.filled == 0


def test_sharing_stopped_fills_at_once_and_the_other_input_goes_on() -> None:
    rig = Rig()
    rig.start()
    rig.run(1.0)
    rig.call.set_sending(False)  # the page said: the shared tab was closed
    rig.run(2.0, call=False)
    assert abs(rig.call.emitted - rig.mic.emitted) <= FRAME
    assert not np.any(rig.audio("call")[rig.call.received :])  # silence after the stop


def test_with_nobody_sending_the_clock_runs_on_the_wall_clock() -> None:
    """The page is gone (a reload): both inputs are silent and stay level with real
    time, so audio after the gap has its right stream time; only the gap is lost."""
    rig = Rig()
    rig.start()
    rig.run(1.0)
    for source in (rig.mic, rig.call):
        source.set_sending(False)
    gone_at = rig.mic.stream_s
    rig.run(5.0, mic=False, call=False)  # the filler ticks on; no frames
    assert rig.mic.stream_s == pytest.approx(gone_at + 5.0, abs=FRAME_S)
    assert rig.call.stream_s == pytest.approx(rig.mic.stream_s, abs=FRAME_S)
    rig.run(1.0)  # back
    assert rig.mic.stream_s == pytest.approx(gone_at + 6.0, abs=2 * FRAME_S)


def test_a_stopped_process_does_not_fill_the_time_it_was_stopped() -> None:
    rig = Rig()
    rig.start()
    rig.run(1.0, mic=False, call=False)
    before = rig.mic.stream_s
    rig.now += 3600.0  # SIGSTOP, a laptop asleep
    rig.timeline.tick(rig.now)
    assert rig.mic.stream_s - before < 1.0


def test_frames_before_the_pipeline_starts_are_kept_up_to_a_limit() -> None:
    rig = Rig()
    for _ in range(round(2 * PRESTART_S / FRAME_S)):
        rig.now += FRAME_S
        rig.mic.push(pcm(), rig.now, rig.now)
    rig.start()
    assert len(rig.audio("mic")) == pytest.approx(PRESTART_S * SAMPLE_RATE_HZ, abs=FRAME)


def test_a_burst_on_one_input_never_starves_the_other() -> None:
    """A page that sends late audio all at once (up to the rate cap's allowance)
    puts that input ahead; when it stops, it is still fed at real time from there,
    so the pipeline's watchdog never sees it go quiet while the other catches up."""
    rig = Rig()
    rig.start()
    rig.run(0.5)
    for _ in range(round(6.0 / FRAME_S)):  # 6 s of the call at once
        rig.call.push(pcm(), rig.now, rig.now)
    rig.call.set_sending(False)  # the page went away after its burst
    for _ in range(round(4.0 / FRAME_S)):  # the microphone alone, in real time
        before = rig.call.emitted
        rig.run(FRAME_S, call=False)
        assert rig.call.emitted - before >= FRAME - 1  # fed every tick
    assert rig.call.stream_s == pytest.approx(0.5 + 6.0 + 4.0, abs=2 * FRAME_S)


def test_audio_kept_before_the_start_moves_the_clock_too() -> None:
    """Frames that came before the pipeline started (a page that sent a burst while
    the session was being built) count: the input they put ahead is fed from there."""
    rig = Rig()
    for _ in range(round(6.0 / FRAME_S)):
        rig.call.push(pcm(), rig.now, rig.now)
    rig.mic.push(pcm(), rig.now, rig.now)
    rig.call.set_sending(False)
    rig.start()
    assert rig.call.stream_s == pytest.approx(6.0, abs=FRAME_S)
    for _ in range(round(3.0 / FRAME_S)):
        before = rig.call.emitted
        rig.run(FRAME_S, call=False)
        assert rig.call.emitted - before >= FRAME - 1
