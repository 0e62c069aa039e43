"""Terminal output: live captions for people, JSON lines for programs."""

from __future__ import annotations

import json
import sys
from typing import IO

from .events import (
    Event,
    FinalTranscript,
    PartialTranscript,
    Signal,
    SilenceTick,
    Status,
    Suggestion,
    to_json_dict,
)


def clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


class JsonPrinter:
    """One JSON object per line; silence ticks only when asked (4 per second)."""

    def __init__(self, out: IO[str] = sys.stdout, ticks: bool = False) -> None:
        self._out = out
        self._ticks = ticks

    def __call__(self, event: Event) -> None:
        if isinstance(event, SilenceTick) and not self._ticks:
            return
        self._out.write(json.dumps(to_json_dict(event), ensure_ascii=False) + "\n")
        self._out.flush()


class CaptionPrinter:
    """Finals as lines; partials as one self-overwriting line on a terminal."""

    def __init__(
        self, out: IO[str] = sys.stdout, partials: bool | None = None, signals: bool = False
    ) -> None:
        self._out = out
        self._partials = out.isatty() if partials is None else partials
        self._signals = signals
        self._partial_shown = False

    def _clear_partial(self) -> None:
        if self._partial_shown:
            self._out.write("\r\033[K")
            self._partial_shown = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, PartialTranscript):
            if self._partials:
                self._clear_partial()
                text = event.text if len(event.text) < 100 else "…" + event.text[-99:]
                self._out.write(f"\033[2m  {event.speaker.value}: {text}\033[0m")
                self._partial_shown = True
                self._out.flush()
            return
        if isinstance(event, FinalTranscript):
            self._clear_partial()
            self._out.write(f"[{clock(event.start_s)}] {event.speaker.value:>8}: {event.text}\n")
        elif isinstance(event, Suggestion):
            self._clear_partial()
            self._out.write(
                f"[{clock(event.at_s)}]  >>> CARD: {event.prompt}\n"
                f"{'':>13}why: {event.why} ({event.source})\n"
            )
        elif isinstance(event, Signal) and self._signals:
            self._clear_partial()
            self._out.write(
                f"[{clock(event.at_s)}]   signal {event.detector} "
                f"({event.speaker.value}, {event.confidence:.2f})\n"
            )
        elif isinstance(event, Status) and event.state in ("error", "paused"):
            self._clear_partial()
            self._out.write(f"[{event.state}] {event.detail}\n")
        else:
            return
        self._out.flush()
