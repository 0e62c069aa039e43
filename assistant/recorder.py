"""Session transcript on disk, written as it goes (append + flush per line), so a
crash loses at most the line being written. Audio is never written."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any


class TranscriptRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.failed: str | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered text file: each record is flushed when its newline is written.
        self._fh: IO[str] | None = path.open("a", encoding="utf-8", buffering=1)
        # Overlay feedback arrives on the server's callback thread, transcripts on
        # the session thread: one line at a time, never interleaved.
        self._lock = threading.Lock()

    @classmethod
    def in_dir(cls, directory: Path) -> TranscriptRecorder:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return cls(directory / f"session-{stamp}.jsonl")

    def write(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        try:
            self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._fh.flush()
        except OSError as exc:
            # Full disk or a vanished drive must not end the call: keep coaching,
            # stop recording, and say so once.
            self.failed = (
                f"cannot write transcript {self.path} ({exc.strerror or exc}); recording stopped"
            )
            print(f"turnaround: warning: {self.failed}", file=sys.stderr)
            self._close()

    def _close(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):  # closing a file on a full disk
                self._fh.close()
            self._fh = None

    def close(self) -> None:
        with self._lock:
            self._close()
