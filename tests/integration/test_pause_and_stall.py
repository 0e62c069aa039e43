"""Pause, and a stall of the whole process, are not a dead input (issue 17, items
1 and 2): the call goes on after them, and shutdown never hangs."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.helpers.cli import CliRun, OverlayPage

PAUSE = {"v": 1, "type": "control", "action": "pause"}
RESUME = {"v": 1, "type": "control", "action": "resume"}


def _session(folder: Path) -> list[dict]:
    (path,) = folder.glob("session-*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pause_from_the_overlay_does_not_end_the_call(tmp_path: Path) -> None:
    coach = CliRun("replay", "--sample", "--port", "0", "--json", "--record", str(tmp_path))
    page = OverlayPage(coach.overlay_port())
    coach.wait_err("replaying")
    time.sleep(3.0)
    page.send(PAUSE)
    time.sleep(5.0)  # more than twice the no-audio limit
    page.send(RESUME)
    assert coach.finish(180) == 0, coach.stderr
    assert "no audio" not in coach.stderr and "Traceback" not in coach.stderr, coach.stderr
    statuses = page.statuses()
    assert "paused" in statuses, statuses
    assert "listening" in statuses[statuses.index("paused") :], statuses  # resumed
    # The same session goes on after the pause: text from after it, one SessionEnd.
    records = _session(tmp_path)
    assert [r["type"] for r in records].count("SessionEnd") == 1
    assert records[-1]["reason"] == "end of input", records[-1]
    late = [r for r in records if r["type"] == "FinalTranscript" and r["start_s"] > 8.0]
    assert late, "nothing transcribed after the pause"


def test_a_stopped_and_continued_process_finishes_the_call(tmp_path: Path) -> None:
    """SIGSTOP for 4 s (a laptop asleep), then SIGCONT: not a dead device, and the
    file goes on where it was, so every scripted line still gets its text."""
    coach = CliRun(
        "replay", "--sample", "--no-server", "--no-partials", "--json", "--record", str(tmp_path)
    )
    coach.wait_out("FinalTranscript", timeout_s=120)
    coach.proc.send_signal(signal.SIGSTOP)
    time.sleep(4.0)
    coach.proc.send_signal(signal.SIGCONT)
    assert coach.finish(240) == 0, coach.stderr
    assert "no audio" not in coach.stderr and "Traceback" not in coach.stderr, coach.stderr
    text = " ".join(f["text"] for f in coach.final_texts()).lower()
    for words in ("analytics platform", "move forward", "manual reporting"):
        assert words in text, text
    assert _session(tmp_path)[-1]["type"] == "SessionEnd"


def test_sigterm_right_after_a_stall_ends_with_the_session_closed(tmp_path: Path) -> None:
    """The next SIGTERM after a stall used to hang for over 10 minutes: the reader
    and the main thread blocked on a full queue of a worker that had given up."""
    coach = CliRun(
        "replay", "--sample", "--no-server", "--no-partials", "--json", "--record", str(tmp_path)
    )
    coach.wait_out("FinalTranscript", timeout_s=120)
    coach.proc.send_signal(signal.SIGSTOP)
    time.sleep(4.0)
    coach.proc.send_signal(signal.SIGCONT)
    time.sleep(0.5)
    coach.proc.send_signal(signal.SIGTERM)
    # Generous: a hang is minutes, a drain a few seconds even on a loaded machine.
    assert coach.finish(90) == 0, coach.stderr
    end = _session(tmp_path)[-1]
    assert end["type"] == "SessionEnd" and end["reason"] == "stopped by the user", end
