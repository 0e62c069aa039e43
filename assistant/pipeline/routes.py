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
from assistant.logs import say


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
    split: bool = False,
    quiet: bool = False,
) -> list[Route]:
    """A stereo file is two speakers: left = the user, right = the other side --
    unless both channels carry the same signal (what many recorders write for one
    voice), which is one speaker, said once on stderr; ``split`` forces the split."""
    from assistant.audio.file_source import FileSource

    source = FileSource(path, realtime=realtime, channels=1 if mix else None)
    if source.channels == 2 and not split and identical_channels(path):
        say(
            f"{path.name}: both channels carry the same signal: one speaker "
            "(--split to split it into rep and customer)",
            quiet,
        )
        source = FileSource(path, realtime=realtime, channels=1)
    if source.channels == 2:
        return [Route(source, roles[0], 0), Route(source, roles[1], 1)]
    return [Route(source, Speaker.UNKNOWN, None)]


# Two channels are one signal when they correlate above this over the first seconds
# of sound (a copy measures 1.0; two people on their own channels near 0, and two
# headsets in one room, each hearing the other faintly, well under 0.9).
IDENTICAL_CORRELATION = 0.98
# How much sound to judge by, and how far into the file to look for it. 3 s took a
# meeting that opens with two people talking over each other (AMI EN2002a split
# into two channels: both carry the mix while both speak) for one signal; 10 s
# tells it apart, and a real copy (jfk.flac) stays one.
IDENTICAL_SOUND_S = 10.0
IDENTICAL_LOOK_S = 60.0
# A 32 ms frame louder than this (about -46 dBFS) on either channel is sound.
_SOUND_RMS = 0.005


def identical_channels(path: Path) -> bool:
    """Do both channels of ``path`` carry the same signal? Judged on the frames
    with sound in them, up to ``IDENTICAL_SOUND_S`` of them."""
    import numpy as np

    from assistant.audio.file_source import iter_blocks

    frame = 512
    kept: list[np.ndarray] = []
    sound = 0
    looked = 0
    for block in iter_blocks(path, 2, frame * 32):
        looked += len(block)
        n = len(block) // frame
        frames = block[: n * frame].reshape(n, frame, 2)
        loud = np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)).max(axis=1) > _SOUND_RMS
        kept.append(frames[loud].reshape(-1, 2))
        sound += int(loud.sum()) * frame
        if sound >= IDENTICAL_SOUND_S * 16000 or looked >= IDENTICAL_LOOK_S * 16000:
            break
    if sound < frame:
        return False  # silence: nothing to judge by, keep the split
    both = np.concatenate(kept).astype(np.float64)
    left, right = both[:, 0] - both[:, 0].mean(), both[:, 1] - both[:, 1].mean()
    denom = float(np.sqrt((left**2).sum() * (right**2).sum()))
    return denom > 0 and float((left * right).sum()) / denom > IDENTICAL_CORRELATION
