"""Log lines a user can read: one line each, no tracebacks, and no floods.

Python's fallback handler prints a full traceback for ``log.exception`` and prints
every record however often it repeats. Both reach the user's terminal mid-call: a
web page that opened 1,100 connections made asyncio log "socket.accept() out of
system resource" with a traceback about 12,000 lines long. Here every record is one
``turnaround: warning: ...`` line, and the same message is shown at most once per
``REPEAT_WINDOW_S``, with a count of the repeats it swallowed.

``TURNAROUND_DEBUG=1`` keeps tracebacks, for developers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

# A message repeated within this window is counted, not printed.
REPEAT_WINDOW_S = 10.0
# Distinct messages remembered for the repeat check (bounded: messages may carry
# client numbers or addresses).
REMEMBERED_MESSAGES = 256
DEBUG_ENV = "TURNAROUND_DEBUG"


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


class RepeatFilter(logging.Filter):
    """Drops a message seen within the window; the next one shown says how many."""

    def __init__(
        self, window_s: float = REPEAT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._window_s = window_s
        self._clock = clock
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.name}:{record.msg}"  # the template: "client %d ..." is one key
        now = self._clock()
        with self._lock:
            shown_at, swallowed = self._seen.get(key, (-1e18, 0))
            if now - shown_at < self._window_s:
                self._seen[key] = (shown_at, swallowed + 1)
                return False
            self._seen[key] = (now, 0)
            self._seen.move_to_end(key)
            while len(self._seen) > REMEMBERED_MESSAGES:
                self._seen.popitem(last=False)
        record.repeats = swallowed
        return True


class OneLineFormatter(logging.Formatter):
    """``turnaround: warning: <message> (<exception>)`` on one line."""

    def __init__(self, tracebacks: bool = False) -> None:
        super().__init__()
        self._tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message = f"{message} ({type(exc).__name__}: {exc})"
        repeats = getattr(record, "repeats", 0)
        if repeats:
            message = f"{message} [{repeats} more like this in the last {REPEAT_WINDOW_S:g} s]"
        level = "error" if record.levelno >= logging.ERROR else "warning"
        line = f"turnaround: {level}: {one_line(message)}"
        if self._tracebacks and record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(stream: Any = None) -> logging.Handler:
    """Route warnings and errors from every library through one readable handler."""
    # A log line that cannot be written (stderr closed, /dev/full) is dropped
    # quietly instead of printing "--- Logging error ---" and a traceback.
    logging.raiseExceptions = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(OneLineFormatter(tracebacks=debug_enabled()))
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_turnaround", False):
            root.removeHandler(old)
    handler._turnaround = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    return handler


def say(message: str, quiet: bool = False) -> None:
    """A progress or status line for the user: ``turnaround: <message>`` on stderr."""
    if not quiet and sys.stderr is not None:  # None: no console at all (pythonw)
        # stderr closed or full: there is nowhere left to say it.
        with contextlib.suppress(OSError, ValueError):
            # One write, newline included: print() writes the line and its newline
            # separately, and two threads saying something at once (the browser
            # capture's notes and the main thread) ran their lines together.
            sys.stderr.write(f"turnaround: {one_line(message)}\n")
            sys.stderr.flush()


# -- text that reaches a terminal or a Markdown file --------------------------------------

# C0 controls but newline and tab, DEL, and C1 controls. Text from outside (what was
# said on a call, a transcript file, a playbook, a file name) must not act on the
# terminal it is printed to: ESC starts a sequence that clears the screen, moves the
# cursor or retitles the window; U+009B is a one-character CSI on some terminals; a
# carriage return overwrites the line before it; BEL beeps and NUL cuts C strings.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# JSON escapes C0 itself (even with ensure_ascii=False); DEL and C1 it leaves raw.
_JSON_RAW_CONTROLS = re.compile(r"[\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def safe_text(text: str) -> str:
    """``text`` with every control character but newline and tab shown as a visible
    escape (ESC as ``\\x1b``): for captions, transcripts and Markdown."""
    return _CONTROLS.sub(_visible, text)


def safe_line(text: str) -> str:
    """``text`` as one inert line: newlines, tabs, line separators and every other
    character Python calls unprintable shown as escapes (``\\r``, ``\\u2028``). For
    values echoed in messages (file names, usage errors)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def one_line(message: str) -> str:
    """A message for stderr: line breaks and runs of spaces as one space (a library's
    multi-line text), every other control character as a visible escape."""
    return " ".join(safe_text(message).split())


def safe_json(record: Any, indent: int | None = None) -> str:
    """``record`` as JSON (one line unless ``indent``, no newline at the end) that a
    terminal can show safely; it still decodes to exactly ``record``."""
    text = json.dumps(record, ensure_ascii=False, indent=indent)
    return _JSON_RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
