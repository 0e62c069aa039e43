"""Terminal output: live captions for people, JSON lines for programs.

Standard output may close under us (``turnaround ... | head -1``) or fill
(``> /dev/full``, a full disk). A printer then raises :class:`OutputError`, once;
the session decides whether to stop (nobody is reading) or carry on (the overlay is
still showing captions).

What was said, and what a playbook's cards say, come from outside: every piece of it
passes ``safe_text`` first, so a control character in it is shown, never obeyed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from typing import IO

from assistant.errors import OutputError
from assistant.events import (
    ConversationMetrics,
    Event,
    FinalTranscript,
    PartialTranscript,
    PipelineState,
    Signal,
    SilenceTick,
    Status,
    Suggestion,
    TranscriptRevision,
    is_final_text,
    to_json_dict,
)
from assistant.logs import safe_json, safe_text


def write_out(out: IO[str], text: str) -> None:
    """Write and flush, turning a failed write into :class:`OutputError`."""
    try:
        out.write(text)
        out.flush()
    except OSError as exc:
        raise OutputError(exc) from exc


def silence_stdout() -> None:
    """Point stdout at /dev/null after it failed, so the interpreter's own flush at
    exit does not print "Exception ignored ... BrokenPipeError"."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _words(text: str) -> list[str]:
    return "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in text).split()


def clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


# Utterances whose printed pieces a revision can still be compared with.
_REMEMBERED_UTTERANCES = 32

# Pipeline states a caption printer mentions (the rest are routine).
_SHOWN_STATES = (PipelineState.ERROR, PipelineState.PAUSED)


class JsonPrinter:
    """One JSON object per line; silence ticks only when asked (4 per second). The
    coach's metrics frames are the overlay's meters, not events of the call: never
    printed."""

    def __init__(self, out: IO[str] = sys.stdout, ticks: bool = False) -> None:
        self._out = out
        self._ticks = ticks

    def __call__(self, event: Event) -> None:
        if isinstance(event, ConversationMetrics) or (
            isinstance(event, SilenceTick) and not self._ticks
        ):
            return
        write_out(self._out, safe_json(to_json_dict(event)) + "\n")


class CaptionPrinter:
    """One line per utterance. A long turn's committed pieces extend its line as
    they arrive; on a terminal the words still being heard follow them, dimmed, and
    are rewritten in place. When such a turn ends, its final text (the revision:
    one decode of all of it) replaces the line if it is still the last one on a
    terminal, and otherwise follows as a line marked "(final text)" -- unless it
    says what the pieces said. Each event is one write (see :func:`write_out`)."""

    def __init__(
        self, out: IO[str] = sys.stdout, partials: bool | None = None, signals: bool = False
    ) -> None:
        self._out = out
        self._partials = out.isatty() if partials is None else partials
        self._signals = signals
        self._partial_shown = False
        # The utterance whose line is open (committed pieces, no newline yet).
        self._open: tuple[str, int] | None = None
        self._open_text = ""
        self._rewrite = out.isatty() if partials is None else partials
        # What the pieces of recent utterances printed, for their revisions.
        self._said: dict[tuple[str, int], str] = {}

    def _clear_partial(self) -> str:
        """Text that takes the dimmed words off the line, keeping its committed part."""
        if self._partial_shown:
            self._partial_shown = False
            return "\r\033[K" + self._open_text
        return ""

    def _close_line(self) -> str:
        text = self._clear_partial()
        if self._open is not None:
            text += "\n"
            self._open, self._open_text = None, ""
        return text

    def _line_for(self, speaker: str, utterance_id: int, start_s: float) -> str:
        """Make the open line this utterance's, starting a new one if needed."""
        if self._open == (speaker, utterance_id):
            return ""
        text = self._close_line()
        self._open = (speaker, utterance_id)
        self._open_text = f"[{clock(start_s)}] {speaker:>8}:"
        return text + self._open_text

    def _partial(self, event: PartialTranscript) -> str:
        key = (event.speaker.value, event.utterance_id)
        # Another utterance's line is open: leave it, and show this one below.
        text = self._close_line() if self._open not in (None, key) else ""
        text += self._clear_partial()
        if self._open == key:
            heard = safe_text(event.text[event.stable_chars :].strip())
            shown = f" {heard}" if heard else ""
        else:
            words = safe_text(event.text if len(event.text) < 100 else "…" + event.text[-99:])
            shown = f"  {event.speaker.value}: {words}"
        if shown:
            text += f"\033[2m{shown}\033[0m"
            self._partial_shown = True
        return text

    def _revision(self, event: TranscriptRevision) -> str:
        key = (event.speaker.value, event.utterance_id)
        printed = self._said.pop(key, None)
        final = safe_text(event.text)
        if printed is not None and _words(printed) == _words(final):
            return self._close_line() if self._open == key else ""
        width = shutil.get_terminal_size().columns
        if self._open == key and self._rewrite and len(self._open_text) < width:
            # Still the last line on a terminal, and one row: the final text in its
            # place (\r and a clear reach only the row the cursor is on).
            self._partial_shown = False
            head = f"[{clock(event.start_s)}] {event.speaker.value:>8}:"
            self._open, self._open_text = None, ""
            return f"\r\033[K{head} {final}\n"
        text = self._close_line()
        if not final:
            return text
        return text + f"[{clock(event.start_s)}] {event.speaker.value:>8}: {final}  (final text)\n"

    def __call__(self, event: Event) -> None:
        if isinstance(event, PartialTranscript):
            if self._partials:
                write_out(self._out, self._partial(event))
            return
        if isinstance(event, FinalTranscript):
            text = self._clear_partial()
            text += self._line_for(event.speaker.value, event.utterance_id, event.start_s)
            if event.text:
                said = safe_text(event.text)
                text += " " + said
                self._open_text += " " + said
                key = (event.speaker.value, event.utterance_id)
                self._said[key] = f"{self._said.get(key, '')} {said}".strip()
                while len(self._said) > _REMEMBERED_UTTERANCES:
                    self._said.pop(next(iter(self._said)))
            if is_final_text(event):
                text += self._close_line()  # else its revision closes the line
        elif isinstance(event, TranscriptRevision):
            text = self._revision(event)
        elif isinstance(event, Suggestion):
            text = self._close_line() + (
                f"[{clock(event.at_s)}]  >>> CARD: {safe_text(event.prompt)}\n"
                f"{'':>13}why: {safe_text(event.why)} ({safe_text(event.source)})\n"
            )
        elif isinstance(event, Signal) and self._signals:
            text = self._close_line() + (
                f"[{clock(event.at_s)}]   signal {event.detector} "
                f"({event.speaker.value}, {event.confidence:.2f})\n"
            )
        elif isinstance(event, Status) and event.state in _SHOWN_STATES:
            text = self._close_line() + f"[{event.state.value}] {safe_text(event.detail)}\n"
        else:
            return
        write_out(self._out, text)
