"""A session's file, written as it goes (append + flush per line), so a crash loses
at most the line being written. Audio is never written.

The first line is the session's metadata (``sessions.log`` documents the format);
then events and card records; a clean end adds a ``SessionEnd`` line. The recorder
is an ordinary session handler: it records the events a session keeps and notes how
far into the call they went. The file is
created private (0600, in a 0700 folder) and under a name no other run can take
(``sessions.store.create_session_file``).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from assistant import __version__
from assistant.events import (
    CardFeedback,
    CardRemoved,
    Event,
    FinalTranscript,
    Signal,
    Suggestion,
    TranscriptRevision,
    to_json_dict,
)
from assistant.logs import say
from assistant.sessions.log import FORMAT
from assistant.sessions.store import RecordingError, create_session_file

# What a session file keeps: text, detector signals, cards and what became of them.
RECORDED = (FinalTranscript, TranscriptRevision, Signal, Suggestion, CardFeedback, CardRemoved)


def session_metadata(session_id: str, started: datetime, **fields: Any) -> dict[str, Any]:
    """The first line: who, when and how (mode, playbook, model, inputs, version)."""
    meta: dict[str, Any] = {
        "type": "Session",
        "format": FORMAT,
        "id": session_id,
        "started": started.isoformat(timespec="seconds"),
    }
    meta.update(fields)
    meta["version"] = __version__
    return meta


class TranscriptRecorder:
    def __init__(self, path: Path, fh: IO[bytes], session_id: str) -> None:
        self.path = path
        self.session_id = session_id
        self.failed: str | None = None
        self._fh: IO[bytes] | None = fh
        # Bytes of whole lines on disk: a write cut short by a full disk is cut back
        # to here, so the file never ends in half a record.
        self._size = os.fstat(fh.fileno()).st_size
        self._events = 0
        self.stream_s = 0.0  # how far into the call the latest event was
        # Overlay feedback arrives on the server's callback thread, transcripts on
        # the session thread: one line at a time, never interleaved.
        self._lock = threading.Lock()

    @classmethod
    def create(cls, directory: Path, **meta: Any) -> TranscriptRecorder:
        """A new session in ``directory``, its metadata line already on disk.

        Raises ``RecordingError`` (one line) when the folder cannot be written: the
        caller does this before loading the model, so the user hears at once.
        """
        started = datetime.now().astimezone()
        session_id, path, fd = create_session_file(directory, started)
        # Unbuffered: each record reaches the file in one write, as it happens.
        fh = os.fdopen(fd, "ab", buffering=0)
        recorder = cls(path, fh, session_id)
        recorder.write(session_metadata(session_id, started, **meta), event=False)
        if recorder.failed is not None:
            with contextlib.suppress(OSError):
                path.unlink()
            raise RecordingError(recorder.failed)
        return recorder

    @classmethod
    def in_dir(cls, directory: Path) -> TranscriptRecorder:
        return cls.create(directory)

    def __call__(self, event: Event) -> None:
        """As a session handler: record what a session keeps."""
        at = getattr(event, "stream_s", None)
        if at is not None:
            self.stream_s = max(self.stream_s, at)
        if isinstance(event, RECORDED):
            self.write(to_json_dict(event))

    def write(self, record: dict[str, Any], event: bool = True) -> None:
        with self._lock:
            self._write(record)
            self._events += event

    def _write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "replace")
        try:
            written = 0
            while written < len(line):  # a short write on a nearly full disk goes on
                written += self._fh.write(line[written:]) or 0
            self._size += written
        except OSError as exc:
            with contextlib.suppress(OSError):  # truncating frees blocks: works when full
                os.ftruncate(self._fh.fileno(), self._size)
            # Full disk or a vanished drive must not end the call: keep coaching,
            # stop recording, and say so once.
            self.failed = (
                f"cannot write transcript {self.path} ({exc.strerror or exc}); recording stopped"
            )
            say(f"warning: {self.failed}")
            self._close()

    def end(self, end_s: float, reason: str) -> None:
        """Close the session with a ``SessionEnd`` line (a killed run has none)."""
        self.write(
            {
                "type": "SessionEnd",
                "end_s": round(end_s, 4),
                "reason": reason,
                "ended": datetime.now().astimezone().isoformat(timespec="seconds"),
            },
            event=False,
        )
        self.close()

    def abandon(self) -> None:
        """The run never started (the model would not load): remove the file if it
        holds nothing but its metadata, so no empty session is listed."""
        with self._lock:
            self._close()
            if self._events == 0:
                with contextlib.suppress(OSError):
                    self.path.unlink()

    def _close(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):  # closing a file on a full disk
                self._fh.close()
            self._fh = None

    def close(self) -> None:
        with self._lock:
            self._close()
