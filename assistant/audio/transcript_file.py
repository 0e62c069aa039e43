"""A text transcript as an input: read and check a JSONL file of utterances.

Each line is one utterance::

    {"speaker": "rep", "start": 12.0, "end": 15.5, "text": "What is your goal?"}

A JSON array of the same objects is read too (the bundled sample call's script,
``assistant/samples/sample_call.json``, is one). ``pipeline/text.py`` replays the
lines through the same session, coach and overlay as audio.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import TurnaroundError
from assistant.events import Speaker

# Transcript times are seconds into the call; a day is far beyond any call, and the
# replay has a silence tick every 0.25 s of it (345,600 ticks at most).
# Without a bound, one line ending at 1e12 s made the replay spin for ever.
MAX_TIME_S = 24 * 3600.0
# A call's transcript is kilobytes to a few megabytes; refuse to read gigabytes.
MAX_FILE_BYTES = 64 * 1024 * 1024
# Longest text of one line (a 30-minute monologue is ~30,000 characters).
MAX_TEXT_CHARS = 100_000

# Other words people use for the two sides of a call.
SPEAKER_ALIASES: dict[str, Speaker] = {
    "prospect": Speaker.CUSTOMER,
    "client": Speaker.CUSTOMER,
    "seller": Speaker.REP,
    "agent": Speaker.REP,
    "coach": Speaker.MANAGER,
}


class TranscriptError(TurnaroundError):
    """A transcript file is missing or has a malformed line."""


@dataclass(frozen=True)
class TranscriptLine:
    line_no: int
    speaker: Speaker
    start_s: float
    end_s: float
    text: str


def parse_speaker(value: Any) -> Speaker | None:
    if not isinstance(value, str):
        return None
    name = value.strip().lower()
    try:
        return Speaker(name)
    except ValueError:
        return SPEAKER_ALIASES.get(name)


def parse_line(raw: str, line_no: int, origin: str) -> TranscriptLine:
    """One JSONL line -> ``TranscriptLine``; raises ``TranscriptError`` naming the line."""
    where = f"{origin}:{line_no}"
    return parse_item(_loads(raw, origin, line_no), line_no, where)


def _loads(text: str, origin: str, line_no: int | None = None) -> Any:
    """JSON, or a ``TranscriptError`` naming where: ``line_no``, the JSONL line the
    text is, or for a whole document (None) the decoder's own line of a syntax error
    and line 1 otherwise."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = exc.lineno if line_no is None else line_no
        raise TranscriptError(f"{origin}:{at}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        what = "a transcript" if line_no is None else "a transcript line"
        raise TranscriptError(
            f"{origin}:{line_no or 1}: not {what} (JSON nested too deeply)"
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise TranscriptError(
            f"{origin}:{line_no or 1}: not valid JSON ({_short(str(exc))})"
        ) from None


def parse_item(data: Any, line_no: int, where: str) -> TranscriptLine:
    """One decoded utterance object -> ``TranscriptLine``; errors name ``where``."""
    if not isinstance(data, dict):
        raise TranscriptError(f"{where}: expected a JSON object per line")
    missing = [k for k in ("speaker", "start", "end", "text") if k not in data]
    if missing:
        raise TranscriptError(f"{where}: missing field(s) {', '.join(missing)}")
    speaker = parse_speaker(data["speaker"])
    if speaker is None:
        allowed = ", ".join([s.value for s in Speaker] + sorted(SPEAKER_ALIASES))
        raise TranscriptError(
            f"{where}: unknown speaker {_short(repr(data['speaker']))} (use {allowed})"
        )
    start = _seconds(data["start"], "start", where)
    end = _seconds(data["end"], "end", where)
    if end < start:
        raise TranscriptError(f"{where}: end ({end:g}) is before start ({start:g})")
    text = data["text"]
    if not isinstance(text, str) or not text.strip():
        raise TranscriptError(f"{where}: text must be a non-empty string")
    if len(text) > MAX_TEXT_CHARS:
        raise TranscriptError(f"{where}: text longer than {MAX_TEXT_CHARS:,} characters")
    try:
        # JSON can escape half of a UTF-16 pair ("\ud800"); such text cannot be
        # printed, recorded or sent to the overlay.
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TranscriptError(
            f"{where}: text is not valid Unicode (a lone surrogate such as \\ud800)"
        ) from None
    return TranscriptLine(line_no, speaker, start, end, text.strip())


def _seconds(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TranscriptError(f"{where}: {name} must be a number of seconds")
    # Compare before converting: float() of a 400-digit integer overflows.
    if not (0 <= value <= MAX_TIME_S):  # also False for NaN
        raise TranscriptError(
            f"{where}: {name} must be between 0 and {MAX_TIME_S:g} seconds (24 hours)"
        )
    return float(value)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_transcript(path: Path) -> list[TranscriptLine]:
    """All utterances of a JSONL transcript (blank lines skipped)."""
    skipped = 0  # bytes of byte-order mark before the text
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise TranscriptError(
                f"{path}: larger than {MAX_FILE_BYTES >> 20} MB; not a transcript"
            )
        data = path.read_bytes()
        # Windows editors (Notepad among them) may start a UTF-8 file with a
        # byte-order mark: it is no part of the text, and JSON refuses it.
        if data.startswith(codecs.BOM_UTF8):
            skipped = len(codecs.BOM_UTF8)
        # Lines end at \n (or \r\n) only: str.splitlines() also splits at U+2028,
        # U+0085 and other characters that JSON allows inside a string.
        raw_lines = data[skipped:].decode("utf-8").split("\n")
    except FileNotFoundError:
        raise TranscriptError(f"{path}: transcript file not found") from None
    except UnicodeDecodeError as exc:
        # The byte the user's hex editor shows: counted from the file's start.
        raise TranscriptError(f"{path}: not UTF-8 text (byte {skipped + exc.start})") from None
    except PermissionError:
        raise TranscriptError(f"permission denied: {path}") from None
    except OSError as exc:
        raise TranscriptError(f"{path}: cannot read transcript ({exc.strerror or exc})") from None
    if raw_lines and raw_lines[0].lstrip().startswith("["):
        return _read_array("\n".join(raw_lines), path)
    lines = [
        parse_line(raw, i, str(path)) for i, raw in enumerate(raw_lines, start=1) if raw.strip()
    ]
    if not lines:
        raise TranscriptError(f"{path}: transcript has no utterances")
    return lines


def _read_array(text: str, path: Path) -> list[TranscriptLine]:
    """A JSON array of utterance objects; item N is reported as ``path:item N``."""
    items = _loads(text, str(path))
    if not isinstance(items, list) or not items:
        raise TranscriptError(f"{path}: expected a JSON array of utterances")
    return [parse_item(item, i, f"{path}:item {i}") for i, item in enumerate(items, start=1)]
