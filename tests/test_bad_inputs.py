"""The bad inputs of issue 12, each as a user would give it: through the real
command, in a real process. Every one must end in one clear line, never a
traceback, and never a hang."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.coach.playbook import PlaybookError, load_playbook
from assistant.coach.transcript_replay import TranscriptError, read_transcript

from .conftest import REPO

TRANSCRIPTS = REPO / "tests" / "fixtures" / "transcripts"
GOOD_TRANSCRIPT = TRANSCRIPTS / "silent_prospect.jsonl"
SALES_PLAYBOOK = REPO / "assistant" / "coach" / "playbooks" / "sales-call.toml"


def turnaround(
    *args: str, timeout: float = 60, stdout: int | None = subprocess.PIPE
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status 2 and exactly one line on stderr, naming the problem."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "error:" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def line(**fields: object) -> str:
    base: dict[str, object] = {"speaker": "rep", "start": 1.0, "end": 2.0, "text": "hello"}
    base.update(fields)
    return json.dumps(base)


# -- transcripts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('{"speaker": "rep", "start": 1, "end": 1' + "0" * 400 + ', "text": "hi"}', "end must"),
        ('{"speaker": "rep", "start": ' + "9" * 5000 + ', "end": 1, "text": "hi"}', "not valid"),
        ("[" * 100_000, "nested too deeply"),
        ('{"speaker": "rep", "start": 1, "end": 2, "text": "hi \\ud800"}', "lone surrogate"),
        ('{"speaker": "rep", "start": 1, "end": 1e12, "text": "hi"}', "24 hours"),
        ('{"speaker": "rep", "start": -1, "end": 2, "text": "hi"}', "start must"),
        ('{"speaker": "rep", "start": NaN, "end": 2, "text": "hi"}', "start must"),
        ('{"speaker": "' + "x" * 10_000 + '", "start": 1, "end": 2, "text": "hi"}', "speaker"),
    ],
    ids=["400-digit", "5000-digit", "deep", "surrogate", "1e12", "negative", "nan", "long"],
)
def test_bad_transcript_is_one_line(tmp_path: Path, raw: str, fragment: str) -> None:
    path = tmp_path / "call.jsonl"
    path.write_text(raw + "\n", encoding="utf-8")
    started = time.monotonic()
    result = turnaround("replay", "--transcript", str(path), timeout=30)
    error = assert_one_line_error(result, f"{path}:1", fragment)
    assert len(error) < 300  # a 10,000-character speaker is not echoed back whole
    assert time.monotonic() - started < 20  # 1e12 s of transcript time: no hang


def test_huge_time_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "call.jsonl"
    path.write_text(line(end=1e12) + "\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(TranscriptError, match="24 hours"):
        read_transcript(path)
    assert time.monotonic() - started < 1


def test_line_separator_inside_text_is_accepted(tmp_path: Path) -> None:
    """U+2028, U+2029 and U+0085 are legal inside a JSON string; only \\n ends a line."""
    path = tmp_path / "call.jsonl"
    text = "first part\u2028second\u2029third\x85fourth"
    path.write_text(line(text=text) + "\r\n" + line(start=3, end=4) + "\n", encoding="utf-8")
    lines = read_transcript(path)
    assert [u.text for u in lines] == [text, "hello"]
    result = turnaround("replay", "--transcript", str(path), "--json")
    assert result.returncode == 0, result.stderr
    finals = [json.loads(x) for x in result.stdout.split("\n") if x]
    assert finals[0]["text"] == text


def test_longest_allowed_transcript_replays_in_seconds(tmp_path: Path) -> None:
    """The bound is a day; a day of transcript time replays in a few seconds."""
    path = tmp_path / "call.jsonl"
    path.write_text(line() + "\n" + line(speaker="customer", start=86_000, end=86_400) + "\n")
    started = time.monotonic()
    result = turnaround("replay", "--transcript", str(path), "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 45


# -- playbooks --------------------------------------------------------------------------


def _playbook_with(tmp_path: Path, old: str, new: str) -> Path:
    text = SALES_PLAYBOOK.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+inf", "1" + "0" * 400, "1e400"])
def test_playbook_numbers_must_be_finite(tmp_path: Path, value: str) -> None:
    text = SALES_PLAYBOOK.read_text(encoding="utf-8")
    old = next(x for x in text.splitlines() if x.startswith("max_cards_per_minute"))
    path = _playbook_with(tmp_path, old, f"max_cards_per_minute = {value}")
    with pytest.raises(PlaybookError, match="max_cards_per_minute must be a number"):
        load_playbook(path)
    result = turnaround("replay", "--transcript", str(GOOD_TRANSCRIPT), "--playbook", str(path))
    assert_one_line_error(result, "max_cards_per_minute")


def test_deeply_nested_playbook_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 10_000 + "]" * 10_000 + "\n")
    result = turnaround("replay", "--transcript", str(GOOD_TRANSCRIPT), "--playbook", str(path))
    assert_one_line_error(result, "nested too deeply")


@pytest.mark.parametrize("name", ["a" * 300, "~no-such-user-xyz/p.toml", "/dev/null/x.toml"])
def test_unusable_playbook_path_is_one_line(name: str) -> None:
    result = turnaround("replay", "--transcript", str(GOOD_TRANSCRIPT), "--playbook", name)
    assert_one_line_error(result, "not found")


# -- options ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "fragment"),
    [
        (["--port", "70000"], "--port"),
        (["--port", "-1"], "--port"),
        (["--port", "1" + "0" * 400], "--port"),
        (["--threads", "-5"], "--threads"),
        (["--threads", "0"], "--threads"),
        (["--end-silence", "nan"], "--end-silence"),
        (["--end-silence", "inf"], "--end-silence"),
        (["--end-silence", "0"], "--end-silence"),
        (["--token", "a b"], "--token"),
        (["--host", "bad host"], "--host"),
    ],
)
def test_bad_option_is_a_usage_error_before_anything_loads(
    option: list[str], fragment: str
) -> None:
    started = time.monotonic()
    result = turnaround("replay", "--sample", *option)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("turnaround replay: error: argument") and fragment in last
    assert "loading Whisper" not in result.stderr  # refused before the model loads
    assert time.monotonic() - started < 20


# -- output -----------------------------------------------------------------------------


def test_closed_pipe_stops_quietly() -> None:
    """`turnaround replay --fast --json | head -1`: the reader goes away."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "replay", "--sample", "--fast", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert json.loads(first)["type"] == "Status"
    proc.stdout.close()  # what `head -1` does after its line
    rc = proc.wait(timeout=120)
    stderr = proc.stderr.read().decode()
    assert rc == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "error" not in stderr


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "--transcript", str(GOOD_TRANSCRIPT)],
        ["replay", "--sample", "--fast", "--json", "--no-record"],
    ],
    ids=["transcript", "audio"],
)
def test_full_output_device_is_one_line(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = turnaround(*args, stdout=full.fileno(), timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == "turnaround: error: cannot write to standard output (No space left on device)"
