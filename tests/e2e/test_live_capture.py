"""Live capture through a real PulseAudio null sink: `paplay` speaks into the sink,
sounddevice records its monitor through the `pulse` device, the full pipeline
transcribes it. Unloading the sink is a device being unplugged mid-call."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from assistant.events import FinalTranscript, Speaker, Status
from assistant.pipeline.core import Pipeline
from assistant.pipeline.routes import Route
from tests.helpers.paths import AUDIO
from tests.helpers.pulse import SINK, pactl
from tests.helpers.wer import wer


def _mic_pipeline(decoder) -> Pipeline:
    from assistant.audio.devices import resolve_input
    from assistant.audio.mic import MicSource

    device = resolve_input("pulse")
    return Pipeline([Route(MicSource(device), Speaker.UNKNOWN)], decoder)


def _collect(pipeline: Pipeline, seconds: float) -> list:
    events = []
    deadline = time.monotonic() + seconds
    for event in pipeline.events(timeout_s=0.2):
        events.append(event)
        if time.monotonic() > deadline:
            break
    return events


def test_speech_played_into_the_sink_is_transcribed(decoder, sink) -> None:
    pipeline = _mic_pipeline(decoder)
    pipeline.start()
    time.sleep(0.5)
    player = subprocess.Popen(
        ["paplay", f"--device={SINK}", str(AUDIO / "customer_objection.flac")]
    )
    events = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        events += _collect(pipeline, 1.0)
        if player.poll() is not None and any(isinstance(e, FinalTranscript) for e in events):
            events += _collect(pipeline, 1.5)  # a possible second utterance
            break
    pipeline.stop()
    events += list(pipeline.events(timeout_s=5))
    text = " ".join(e.text for e in events if isinstance(e, FinalTranscript))
    reference = (AUDIO / "customer_objection.txt").read_text()
    assert wer(reference, text) <= 0.3, text
    assert all(e.speaker is Speaker.UNKNOWN for e in events if isinstance(e, FinalTranscript))


def test_unplugged_device_is_reported_and_keeps_earlier_text(decoder, sink) -> None:
    others = [line for line in pactl("list", "short", "sources").splitlines() if SINK not in line]
    if others:
        message = f"other PulseAudio sources would take over after the unplug: {others}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    pipeline = _mic_pipeline(decoder)
    pipeline.start()
    time.sleep(0.5)
    subprocess.run(["paplay", f"--device={SINK}", str(AUDIO / "rep_question.flac")], check=True)
    time.sleep(1.0)
    subprocess.run(["pactl", "unload-module", sink], check=True)  # "unplug"
    events = list(pipeline.events(timeout_s=15))
    finals = [e for e in events if isinstance(e, FinalTranscript)]
    assert finals and "thoughts" in " ".join(f.text.lower() for f in finals)
    errors = [e for e in events if isinstance(e, Status) and e.state == "error"]
    assert errors, [e for e in events if isinstance(e, Status)]
    assert pipeline.error is not None
    assert "unplugged" in str(pipeline.error) or "stopped" in str(pipeline.error)


def test_pause_on_a_live_device_is_not_an_unplug(decoder, sink) -> None:
    """Paused, the pipeline drops the device's blocks on purpose: seconds without
    audio are then not a dead device, and resumed it transcribes again (issue 17,
    item 1: the no-audio watchdog ended the call 2 s into a pause)."""
    pipeline = _mic_pipeline(decoder)
    pipeline.start()
    time.sleep(0.5)
    pipeline.pause()
    events = _collect(pipeline, 4.0)  # twice the no-audio limit
    pipeline.resume()
    subprocess.run(["paplay", f"--device={SINK}", str(AUDIO / "rep_question.flac")], check=True)
    events += _collect(pipeline, 3.0)
    pipeline.stop()
    events += list(pipeline.events(timeout_s=10))
    assert pipeline.error is None, pipeline.error
    states = [e.state.value for e in events if isinstance(e, Status)]
    assert "paused" in states and "error" not in states, states
    text = " ".join(e.text for e in events if isinstance(e, FinalTranscript)).lower()
    assert "thoughts" in text, text
