"""User-facing errors: one line that says what went wrong and how to fix it."""

from __future__ import annotations


class TurnaroundError(Exception):
    """An error the CLI prints as one line (no traceback) and exits non-zero on."""

    exit_code = 2


class ModelError(TurnaroundError):
    """A Whisper model is missing or unreadable."""


class AudioInputError(TurnaroundError):
    """An audio device or file cannot be used."""


class DeviceLostError(AudioInputError):
    """A capture device went away mid-call (unplugged, server stopped)."""
