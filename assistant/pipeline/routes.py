"""Routes: which channel of which audio source is whose voice.

A live call is one or two devices (the microphone is the user; ``--remote`` is the
other side); a stereo recording is split the same way, left channel the user and
right channel the other side; anything else is one mixed speaker, ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from assistant.events import Speaker


class AudioSource(Protocol):
    name: str
    sample_rate_hz: int
    channels: int
    realtime: bool

    def start(self, sink, on_end) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Route:
    """Which channel of which source is whose voice (None = mix all channels)."""

    source: AudioSource
    speaker: Speaker
    channel: int | None = None


def file_routes(
    path: Path,
    realtime: bool,
    mix: bool,
    roles: tuple[Speaker, Speaker] = (Speaker.REP, Speaker.CUSTOMER),
) -> list[Route]:
    """A stereo file is two speakers: left = the user, right = the other side."""
    from assistant.audio.file_source import FileSource

    source = FileSource(path, realtime=realtime, channels=1 if mix else None)
    if source.channels == 2:
        return [Route(source, roles[0], 0), Route(source, roles[1], 1)]
    return [Route(source, Speaker.UNKNOWN, None)]
