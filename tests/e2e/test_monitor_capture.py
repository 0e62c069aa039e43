"""`--remote monitor` through a real PulseAudio server: null sinks stand in for the
laptop's output (the call app plays the customer into it) and the headset (the
rep's voice); `paplay` speaks real recordings into them, `parec` records the output's
monitor, the real coach transcribes both sides."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from assistant.audio.monitor import MonitorSource, list_monitors, resolve_monitor
from assistant.events import FinalTranscript, PipelineState, Speaker, Status
from assistant.pipeline.core import Pipeline
from assistant.pipeline.routes import Route
from tests.helpers.capture_rig import stop, wait_until
from tests.helpers.cli import CliRun
from tests.helpers.paths import AUDIO, REPO
from tests.helpers.pulse import pactl
from tests.helpers.wer import wer

CALL_SINK = "turnaround_e2e_call"  # the laptop's output: what the call app plays
REP_SINK = "turnaround_e2e_rep"  # stands in for the rep's headset microphone
START_S = 120.0


@pytest.fixture
def sinks(pulse: None) -> Iterator[dict[str, str]]:
    modules = {
        name: pactl("load-module", "module-null-sink", f"sink_name={name}").strip()
        for name in (CALL_SINK, REP_SINK)
    }
    yield modules
    for module in modules.values():
        subprocess.run(["pactl", "unload-module", module], capture_output=True)


def _play(sink: str, name: str) -> None:
    subprocess.run(["paplay", f"--device={sink}", str(AUDIO / name)], check=True)


def test_devices_lists_the_monitor_sources_and_the_default_output(sinks: dict) -> None:
    before = pactl("info")
    default = next(
        (line.split(":", 1)[1].strip() for line in before.splitlines() if "Default Sink" in line),
        None,
    )
    pactl("set-default-sink", CALL_SINK)
    try:
        shown = subprocess.run(
            [sys.executable, "-m", "assistant", "devices"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        ).stdout
        assert f"  {CALL_SINK}.monitor (default output)" in shown, shown
        assert f"  {REP_SINK}.monitor\n" in shown + "\n", shown
        assert resolve_monitor("monitor").name == f"{CALL_SINK}.monitor"
    finally:
        if default and default != CALL_SINK:
            subprocess.run(["pactl", "set-default-sink", default], capture_output=True)
    assert resolve_monitor(f"monitor:{REP_SINK}").sink == REP_SINK
    with pytest.raises(Exception, match="no monitor source 'nowhere'; monitor sources are: "):
        resolve_monitor("monitor:nowhere")


def test_the_call_from_a_desktop_app_is_the_customer(sinks: dict) -> None:
    """`live --mic pulse --remote monitor:SINK`: the rep from the (headset) input, the
    customer from what the output plays. PULSE_SOURCE points this process's default
    input at the rep's sink, so no global setting changes."""
    env = {**os.environ, "PULSE_SOURCE": f"{REP_SINK}.monitor"}
    run = CliRun(
        "live", "--mic", "pulse", "--remote", f"monitor:{CALL_SINK}",
        "--json", "--no-record", "--no-server", env=env,
    )  # fmt: skip
    try:
        run.wait_err(r"listening to rep: pulse \+ customer: monitor of " + CALL_SINK, START_S)
        time.sleep(1.0)  # both streams open
        _play(REP_SINK, "rep_question.flac")
        _play(CALL_SINK, "customer_objection.flac")
        wait_until(
            lambda: {e["speaker"] for e in run.finals()} >= {"rep", "customer"},
            START_S,
            "a final from each side",
        )
    finally:
        rc = stop(run)
    assert rc == 0, run.stderr
    assert "Traceback" not in run.stderr
    by_speaker = {
        speaker: " ".join(e["text"] for e in run.finals() if e["speaker"] == speaker)
        for speaker in ("rep", "customer")
    }
    for speaker, fixture in (("rep", "rep_question"), ("customer", "customer_objection")):
        truth = (AUDIO / f"{fixture}.txt").read_text()
        assert wer(truth, by_speaker[speaker]) <= 0.3, (speaker, by_speaker)


def test_the_monitored_output_removed_mid_call_is_an_unplugged_input(decoder, sinks: dict) -> None:
    (info,) = [m for m in list_monitors() if m.sink == CALL_SINK]
    pipeline = Pipeline([Route(MonitorSource(info), Speaker.CUSTOMER)], decoder)
    pipeline.start()
    time.sleep(0.5)
    _play(CALL_SINK, "customer_objection.flac")
    time.sleep(1.5)
    subprocess.run(["pactl", "unload-module", sinks[CALL_SINK]], check=True)  # "unplug"
    events = list(pipeline.events(timeout_s=30))
    finals = [e for e in events if isinstance(e, FinalTranscript)]
    assert finals, events  # what was said before the unplug is still transcribed
    errors = [e for e in events if isinstance(e, Status) and e.state is PipelineState.ERROR]
    assert errors and "is gone" in errors[0].detail, errors
    assert pipeline.error is not None and f"monitor of {CALL_SINK}" in str(pipeline.error)
