"""The input device disappears mid-call and comes back, through the real command:
a PulseAudio null sink is the microphone, unloading it is the unplug."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from tests.helpers.cli import CliRun
from tests.helpers.paths import AUDIO
from tests.helpers.pulse import SINK, pactl


def _recorded(folder: Path) -> list[list[str]]:
    return [
        [
            json.loads(line)["text"]
            for line in path.read_text(encoding="utf-8").splitlines()
            if '"FinalTranscript"' in line
        ]
        for path in sorted(folder.glob("session-*.jsonl"))
    ]


def _speak(path: Path) -> None:
    subprocess.run(["paplay", f"--device={SINK}", str(path)], check=True, timeout=30)


def _wait_until_capturing(coach: CliRun) -> None:
    """The pipeline says "listening" once its sources have started; PulseAudio can
    take another second to deliver the first block (more on a loaded machine), and
    speech played before that is simply never heard."""
    coach.wait_out('"state": "listening"', timeout_s=60)
    time.sleep(1.5)


def test_unplugged_mid_call_ends_clearly_and_plugging_back_in_works(
    sink: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    live = ("live", "--mic", "pulse", "--no-server", "--json", "--record", str(tmp_path))
    coach = CliRun(*live)
    _wait_until_capturing(coach)
    _speak(AUDIO / "rep_question.flac")
    coach.wait_out("FinalTranscript", timeout_s=30)
    pactl("unload-module", sink)  # unplugged
    assert coach.finish(30) == 2
    # One clear line, saying what happened, where the text is, and what to do; none
    # of PortAudio's own C-level complaints.
    assert "Traceback" not in coach.stderr and "Expression" not in coach.stderr, coach.err
    error = coach.err[-1]
    assert error.startswith("turnaround: error: input device 'pulse' stopped"), coach.err
    assert "transcript so far is in" in error and "reconnect it" in error
    said = [f["text"] for f in coach.finals()]
    assert said and "thoughts" in " ".join(said).lower()
    assert _recorded(tmp_path) == [said]  # nothing already produced was lost

    # Plugged back in: the same command picks up again, in a new session file.
    module = pactl("load-module", "module-null-sink", f"sink_name={SINK}").strip()
    try:
        pactl("set-default-source", f"{SINK}.monitor")
        again = CliRun(*live)
        _wait_until_capturing(again)
        _speak(AUDIO / "customer_objection.flac")
        again.wait_out("FinalTranscript", timeout_s=30)
        again.proc.send_signal(signal.SIGINT)
        assert again.finish(30) == 0, again.stderr
    finally:
        subprocess.run(["pactl", "unload-module", module], capture_output=True)
    first, second = _recorded(tmp_path)
    assert first == said
    assert "interested" in " ".join(second).lower()
