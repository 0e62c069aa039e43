"""User-facing errors: one line that says what went wrong and how to fix it."""

from __future__ import annotations

import errno


class TurnaroundError(Exception):
    """An error the CLI prints as one line (no traceback) and exits non-zero on."""

    exit_code = 2


class ModelError(TurnaroundError):
    """A Whisper model is missing or unreadable."""


class AudioInputError(TurnaroundError):
    """An audio device or file cannot be used."""


class DeviceLostError(AudioInputError):
    """A capture device went away mid-call (unplugged, server stopped)."""


class OutputError(TurnaroundError):
    """Standard output cannot be written. ``quiet`` when the reader simply went away
    (a closed pipe): like any Unix tool, stop without a word. The session stops a
    printer that raises it; the CLI turns it into its exit status."""

    def __init__(self, exc: OSError) -> None:
        self.quiet = exc.errno == errno.EPIPE
        reason = exc.strerror or str(exc)
        super().__init__(f"cannot write to standard output ({reason})")
        self.exit_code = 0 if self.quiet else 2
