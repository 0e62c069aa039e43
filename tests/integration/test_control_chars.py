"""Control characters from outside (what was said, a transcript, a playbook, a file
name) are shown as escapes wherever text reaches a terminal or a Markdown file, never
obeyed: a transcript line holding ESC [2J cleared the screen in ``replay
--transcript`` and in ``report --format md``, and a file name with ESC was echoed raw
in "no such file" (issue 17, item 6). Real commands in real processes, except the
caption printer, which is fed real events the way a session feeds it."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from assistant.cli.output import CaptionPrinter, JsonPrinter
from assistant.logs import one_line, safe_json, safe_line, safe_text
from assistant.sessions.recorder import TranscriptRecorder
from tests.helpers.cli import turnaround
from tests.helpers.overlay import card, final
from tests.helpers.paths import REPO

# ESC CSI clear-screen, an OSC window title ended by BEL, NUL, a C1 CSI, DEL, CR.
HOSTILE = "a\x1b[2Jb\x1b]0;pwned\x07c\x00d\x9b31me\x7ff\rg"
# Every character that acts on a terminal: C0 but newline and tab, DEL and C1.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SALES = REPO / "assistant" / "coach" / "playbooks" / "sales-call.toml"


def assert_inert(text: str) -> None:
    found = RAW_CONTROL.findall(text)
    assert not found, f"raw control characters {found!r} in {text[:400]!r}"


def transcript(path: Path, text: str = HOSTILE) -> Path:
    lines = [
        {"speaker": "rep", "start": 0.0, "end": 2.0, "text": text},
        {"speaker": "customer", "start": 2.5, "end": 4.0, "text": "but that is too expensive"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


# -- the helper ---------------------------------------------------------------------------


def test_the_helpers_escape_controls_and_keep_the_rest() -> None:
    assert safe_text("a\x1b[2Jb\tc\nd\x9be\x00") == "a\\x1b[2Jb\tc\nd\\x9be\\x00"
    assert safe_text("Grüße, 東京 — “ok”") == "Grüße, 東京 — “ok”"
    assert safe_line("x\ny\tz\u2028\x1b") == "x\\ny\\tz\\u2028\\x1b"
    assert one_line("cannot\n  read \x1b[2J") == "cannot read \\x1b[2J"
    record = {"text": HOSTILE}
    assert json.loads(safe_json(record)) == record  # escaped, and still the same data
    assert_inert(safe_json(record))


# -- captions, as a session prints them ---------------------------------------------------


@pytest.mark.parametrize("partials", [False, True])
def test_caption_printer_shows_what_was_said_as_text(partials: bool) -> None:
    out = io.StringIO()
    printer = CaptionPrinter(out, partials=partials)
    evil_card = dataclasses.replace(card(1), prompt=HOSTILE, why=HOSTILE, source=HOSTILE)
    for event in (final(1, HOSTILE), evil_card, final(2, "fine")):
        printer(event)
    assert_inert(out.getvalue())
    assert "a\\x1b[2Jb" in out.getvalue()
    json_out = io.StringIO()
    JsonPrinter(json_out)(final(1, HOSTILE))
    assert_inert(json_out.getvalue())
    assert json.loads(json_out.getvalue())["text"] == HOSTILE


# -- transcript replay --------------------------------------------------------------------


def test_transcript_replay_prints_control_characters_as_escapes(tmp_path: Path) -> None:
    path = transcript(tmp_path / "call.jsonl")
    text = turnaround("replay", "--transcript", str(path))
    assert text.returncode == 0, text.stderr
    assert_inert(text.stdout)
    assert "a\\x1b[2Jb" in text.stdout
    as_json = turnaround("replay", "--transcript", str(path), "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert_inert(as_json.stdout)
    events = [json.loads(x) for x in as_json.stdout.splitlines()]
    said = [e["text"] for e in events if e["type"] == "FinalTranscript" and e["speaker"] == "rep"]
    assert said == [HOSTILE]  # the data itself is kept, only its display is escaped


def test_a_playbook_with_escapes_in_its_cards_prints_them_as_text(tmp_path: Path) -> None:
    toml = SALES.read_text(encoding="utf-8")
    toml = toml.replace('name = "sales-call"', 'name = "evil\\u001b[2J"', 1)
    # Every card's prompt (one per line of each rule's `prompts` list) opens with
    # ESC [2J and BEL.
    toml = re.sub(r'^  "', r'  "\\u001b[2J\\u0007', toml, flags=re.M)
    playbook = tmp_path / "evil.toml"
    playbook.write_text(toml, encoding="utf-8")
    calls = REPO / "tests" / "fixtures" / "transcripts" / "silent_prospect.jsonl"
    result = turnaround("replay", "--transcript", str(calls), "--playbook", str(playbook))
    assert result.returncode == 0, result.stderr
    assert "CARD" in result.stdout, result.stdout
    assert_inert(result.stdout + result.stderr)
    assert "\\x1b[2J" in result.stdout


# -- reports ------------------------------------------------------------------------------


def test_report_markdown_and_html_show_control_characters_as_escapes(tmp_path: Path) -> None:
    recorder = TranscriptRecorder.create(tmp_path, mode="sales", playbook="x\x1b[2J", overlay=True)
    recorder.write(
        {"type": "FinalTranscript", "speaker": "customer", "utterance_id": 1, "start_s": 0.0,
         "end_s": 2.0, "text": HOSTILE, "speech_end_wall": 0, "decoded_wall": 0}
    )  # fmt: skip
    recorder.end(2.0, "end of input")
    for fmt in ("md", "json", "html"):
        result = turnaround("report", str(recorder.path), "--format", fmt, "-o", "-")
        assert result.returncode == 0, result.stderr
        assert_inert(result.stdout)
    md = turnaround("report", str(recorder.path), "--format", "md").stdout
    assert "a\\\\x1b\\[2Jb" in md or "a\\x1b\\[2Jb" in md, md  # escaped, then Markdown-escaped
    listing = turnaround("sessions", "--dir", str(tmp_path))
    assert listing.returncode == 0 and recorder.session_id in listing.stdout
    assert_inert(listing.stdout)


# -- names echoed in errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "no\x1b[2Jsuch\x07.wav"],
        ["replay", "--transcript", "no\x1b[2Jsuch\x07.jsonl"],
        ["replay", "--transcript", str(REPO / "tests/fixtures/transcripts/friendly_call.jsonl"),
         "--playbook", "evil\x1b[2J\x9b"],
        ["report", "no\x1b[2Jsuch\x07.jsonl"],
        ["report", "\x1b]0;title\x07"],
    ],
    ids=["audio file", "transcript", "playbook name", "session path", "session id"],
)  # fmt: skip
def test_names_in_errors_are_echoed_as_escapes(tmp_path: Path, args: list[str]) -> None:
    result = turnaround(*args, "--dir", str(tmp_path)) if args[0] == "report" else turnaround(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("turnaround: error: "), result.stderr
    assert_inert(result.stderr)
    assert "\\x1b" in lines[0], lines[0]
