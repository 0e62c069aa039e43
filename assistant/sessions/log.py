"""Read a session file back: the metadata line, then typed events and card records.

The format (written by ``recorder.TranscriptRecorder``), one JSON object per line::

    {"type": "Session", "format": 1, "id": "20250611-142233-3fa9c1", "started": "...",
     "mode": "sales", "playbook": "sales-call", "coach": true, "model": "tiny.en",
     "input": {"kind": "file", "names": ["sample_call.ogg"]}, "realtime": true,
     "overlay": true, "version": "0.1.0"}
    {"type": "FinalTranscript", ...}     # events, as events.to_json_dict writes them
    {"type": "TranscriptRevision", ...}  # an utterance's final text, over its pieces
    {"type": "Signal", ...}
    {"type": "Suggestion", ...}          # a card
    {"type": "Feedback", "card_id": ..., "action": "helpful" | "dismiss", ...}
    {"type": "CardClosed", "card_id": ..., "reason": "expired" | "replaced", ...}
    {"type": "SessionEnd", "end_s": 75.9, "reason": "end of input", ...}

Reading is forgiving where a crash or an old version explains the damage (a partial
last line, a file from before the metadata line existed) and strict where nothing
does (no metadata, not text): those are a one-line ``SessionReadError``.

``SessionLog.finals`` is the final text the user keeps, one entry per utterance: an
utterance committed in pieces while it was spoken is read as its
``TranscriptRevision`` (one final of the whole utterance, where the revision was
recorded), never as the pieces; where no revision was recorded (a session from
before revisions, or one cut off mid-utterance) its pieces are joined into one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.errors import TurnaroundError
from assistant.events import FinalTranscript, Signal, Speaker, Suggestion
from assistant.sessions.store import id_of

FORMAT = 1
# The metadata line is small; a first "line" longer than this is not a session.
MAX_META_BYTES = 64 * 1024
# Lines named one by one in the notes before they are only counted.
DAMAGED_NAMED = 3
# Stream times are seconds into the call. A week is beyond any call; a time past it
# (or before 0) is damage, not data: end_s = 1e300 gave a 300-digit duration and a
# matplotlib warning.
MAX_STREAM_S = 7 * 24 * 3600.0
# Record types from files made before the metadata line existed.
LEGACY_TYPES = frozenset({"FinalTranscript", "Suggestion", "Feedback"})


class SessionReadError(TurnaroundError):
    """A file that is not a readable Turnaround session."""


@dataclass(frozen=True)
class SessionMeta:
    id: str
    started: datetime | None
    mode: str  # "sales" | "coaching"
    playbook: str | None
    coach: bool
    model: str | None
    input_kind: str  # "devices" | "file" | "transcript" | "unknown"
    inputs: tuple[str, ...]
    realtime: bool | None
    overlay: bool | None  # None: not known (a session from an older version)
    version: str | None
    legacy: bool = False


@dataclass(frozen=True)
class CardEvent:
    """What became of a card: feedback from the page, or the overlay closing it."""

    card_id: str
    outcome: str  # "helpful" | "dismiss" | "expired" | "replaced"
    at_s: float | None
    line_no: int


@dataclass
class SessionLog:
    path: Path
    meta: SessionMeta
    # The final text, one entry per utterance (or its pieces, where no revision
    # was recorded: a session from before revisions, or one cut off mid-utterance).
    finals: list[FinalTranscript] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    card_events: list[CardEvent] = field(default_factory=list)
    end_s: float | None = None  # from SessionEnd; None when absent or out of range
    end_reason: str | None = None
    closed: bool = False  # a SessionEnd was read: the run ended normally
    notes: list[str] = field(default_factory=list)

    @property
    def last_s(self) -> float:
        """Stream time of the last thing recorded (how long the call ran)."""
        times = [f.end_s for f in self.finals]
        times += [s.at_s for s in self.suggestions] + [s.at_s for s in self.signals]
        times += [e.at_s for e in self.card_events if e.at_s is not None]
        if self.end_s is not None:
            times.append(self.end_s)
        return max(times, default=0.0)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _seconds(value: Any) -> float:
    """A stream time: a number of seconds between 0 and ``MAX_STREAM_S``."""
    number = _number(value)
    if not 0.0 <= number <= MAX_STREAM_S:
        raise ValueError("time out of range")
    return number


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not text")
    return value


def _final(d: dict[str, Any]) -> FinalTranscript:
    start, end = _seconds(d["start_s"]), _seconds(d["end_s"])
    if end < start:
        raise ValueError("ends before it starts")
    piece = d.get("piece", 0)
    if isinstance(piece, bool) or not isinstance(piece, int):
        raise ValueError("bad piece")
    return FinalTranscript(
        speaker=Speaker(d["speaker"]),
        utterance_id=int(_number(d["utterance_id"])),
        start_s=start,
        end_s=end,
        text=_text(d["text"]),
        speech_end_wall=_number(d.get("speech_end_wall", 0.0)),
        decoded_wall=_number(d.get("decoded_wall", 0.0)),
        piece=piece,
        last=bool(d.get("last", True)),
    )


def _joined(finals: list[FinalTranscript]) -> list[FinalTranscript]:
    """Each utterance's pieces as one final, where its last piece was (or, for one
    cut off before its last piece, where its latest piece was)."""
    open_pieces: dict[tuple[Speaker, int], list[FinalTranscript]] = {}
    out: list[FinalTranscript | tuple[Speaker, int]] = []
    for final in finals:
        key = (final.speaker, final.utterance_id)
        if final.piece == 0 and final.last:
            out.append(final)
            continue
        if key not in open_pieces:
            out.append(key)  # its place, until its last piece moves it
        open_pieces.setdefault(key, []).append(final)
        if final.last:
            out.remove(key)
            out.append(key)
    joined: list[FinalTranscript] = []
    for item in out:
        if isinstance(item, FinalTranscript):
            joined.append(item)
            continue
        pieces = open_pieces[item]
        text = " ".join(p.text.strip() for p in pieces if p.text.strip())
        first, last = pieces[0], pieces[-1]
        joined.append(
            FinalTranscript(
                first.speaker,
                first.utterance_id,
                first.start_s,
                last.end_s,
                text,
                last.speech_end_wall,
                last.decoded_wall,
            )  # fmt: skip
        )
    return joined


def _revise(log: SessionLog, revised: FinalTranscript) -> None:
    """The revision replaces its utterance's pieces (an empty one: the utterance
    had no words after all)."""
    key = (revised.speaker, revised.utterance_id)
    log.finals = [f for f in log.finals if (f.speaker, f.utterance_id) != key]
    if revised.text.strip():
        log.finals.append(revised)


def _evidence(d: dict[str, Any]) -> dict[str, Any]:
    evidence = d.get("evidence", {})
    if not isinstance(evidence, dict):
        raise ValueError("bad evidence")
    return evidence


def _suggestion(d: dict[str, Any]) -> Suggestion:
    return Suggestion(
        id=_text(d["id"]),
        trigger=_text(d["trigger"]),
        prompt=_text(d["prompt"]),
        why=_text(d.get("why", "")),
        source=_text(d.get("source", "")),
        severity=_text(d.get("severity", "info")),
        at_s=_seconds(d["at_s"]),
        evidence=_evidence(d),
    )


def _signal(d: dict[str, Any]) -> Signal:
    return Signal(
        detector=_text(d["detector"]),
        speaker=Speaker(d["speaker"]),
        confidence=_number(d.get("confidence", 0.0)),
        at_s=_seconds(d["at_s"]),
        evidence=_evidence(d),
    )


def _card_event(d: dict[str, Any], line_no: int) -> CardEvent:
    outcome = d.get("action") if d["type"] == "Feedback" else d.get("reason")
    if outcome not in ("helpful", "dismiss", "expired", "replaced"):
        raise ValueError("unknown card outcome")
    at = d.get("at_s")
    return CardEvent(_text(d["card_id"]), outcome, None if at is None else _seconds(at), line_no)


def _meta(d: dict[str, Any], path: Path) -> SessionMeta:
    fmt = d.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise SessionReadError(f"{path}: damaged session metadata (no format)")
    if fmt > FORMAT:
        raise SessionReadError(
            f"{path}: made by a newer Turnaround (session format {fmt}); upgrade to read it"
        )
    try:
        started = datetime.fromisoformat(_text(d["started"]))
        source = d.get("input") or {}
        names = source.get("names", []) if isinstance(source, dict) else []
        return SessionMeta(
            id=_text(d["id"]),
            started=started,
            mode=_text(d.get("mode") or "sales"),
            playbook=d.get("playbook") if isinstance(d.get("playbook"), str) else None,
            coach=bool(d.get("coach", True)),
            model=d.get("model") if isinstance(d.get("model"), str) else None,
            input_kind=_text(source.get("kind", "unknown")),
            inputs=tuple(str(n) for n in names if isinstance(n, str)),
            realtime=d.get("realtime") if isinstance(d.get("realtime"), bool) else None,
            overlay=d.get("overlay") if isinstance(d.get("overlay"), bool) else None,
            version=d.get("version") if isinstance(d.get("version"), str) else None,
        )
    except (KeyError, ValueError, TypeError, AttributeError):
        raise SessionReadError(f"{path}: damaged session metadata") from None


def _legacy_meta(path: Path) -> SessionMeta:
    session_id = id_of(path) or path.stem
    try:
        started: datetime | None = datetime.strptime(session_id[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        started = None
    return SessionMeta(
        session_id, started, "sales", None, True, None, "unknown", (), None, None, None, True
    )


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def read_meta_line(path: Path) -> tuple[SessionMeta, bool]:
    """The metadata and whether the first line was an event (a legacy file)."""
    try:
        with path.open("rb") as fh:
            first = fh.readline(MAX_META_BYTES)
    except IsADirectoryError:
        raise SessionReadError(f"{path} is a folder, not a session file") from None
    except OSError as exc:
        raise SessionReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not first.strip():
        raise SessionReadError(f"{path}: empty file, not a Turnaround session")
    data = _parse(first)
    if not isinstance(data, dict):
        raise SessionReadError(f"{path}: not a Turnaround session (unreadable first line)")
    if data.get("type") == "Session":
        return _meta(data, path), False
    if data.get("type") in LEGACY_TYPES:
        return _legacy_meta(path), True
    raise SessionReadError(f"{path}: not a Turnaround session (no session metadata)")


def read_session(path: Path) -> SessionLog:
    """The whole session; damaged lines are skipped and said so in ``notes``."""
    meta, legacy = read_meta_line(path)
    log = SessionLog(path, meta)
    if legacy:
        log.notes.append("recorded by an older version: no session metadata")
    damaged: list[int] = []
    try:
        with path.open("rb") as fh:
            lines = fh.read().split(b"\n")
    except OSError as exc:
        raise SessionReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    tail = lines.pop()  # b"" when the file ends with a newline, as a clean one does
    start = 0 if legacy else 1
    numbered = [(i + 1, raw) for i, raw in enumerate(lines)][start:]
    for line_no, raw in numbered:
        if raw.strip() and not _apply(log, _parse(raw), line_no):
            damaged.append(line_no)
    if tail.strip():
        record = _parse(tail)
        if record is None or not _apply(log, record, len(lines) + 1):
            log.notes.append(
                "the last line was cut off (the run was killed or crashed); it was ignored"
            )
    if damaged:
        named = ", ".join(str(n) for n in damaged[:DAMAGED_NAMED])
        more = f" and {len(damaged) - DAMAGED_NAMED} more" if len(damaged) > DAMAGED_NAMED else ""
        log.notes.append(f"{len(damaged)} damaged line(s) skipped (line {named}{more})")
    if not log.closed and not legacy:
        log.notes.append("the run did not close the session (killed or crashed)")
    log.finals = _joined(log.finals)
    return log


def _apply(log: SessionLog, record: Any, line_no: int) -> bool:
    """Add one record to the log; False if it is damaged."""
    if not isinstance(record, dict):
        return False
    kind = record.get("type")
    try:
        if kind == "FinalTranscript":
            log.finals.append(_final(record))
        elif kind == "TranscriptRevision":
            _revise(log, _final({**record, "piece": 0, "last": True}))
        elif kind == "Suggestion":
            log.suggestions.append(_suggestion(record))
        elif kind == "Signal":
            log.signals.append(_signal(record))
        elif kind in ("Feedback", "CardClosed"):
            log.card_events.append(_card_event(record, line_no))
        elif kind == "SessionEnd":
            reason = record.get("reason")
            log.end_reason = reason if isinstance(reason, str) else None
            log.closed = True
            try:
                log.end_s = _seconds(record["end_s"])
            except (KeyError, ValueError, TypeError, OverflowError):
                # The run did end; only its time is unusable: the call lasted as long
                # as the last thing recorded.
                log.notes.append(
                    f"line {line_no}: the session's end time is not a time into the call "
                    "(ignored; the duration runs to the last thing recorded)"
                )
        else:
            return isinstance(kind, str)  # a newer record type: not damage
    except (KeyError, ValueError, TypeError, OverflowError):
        return False
    return True
