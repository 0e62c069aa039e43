"""What travels to a decoder that may be in another process: a ``DecodeJob`` is a
``DecodeRequest`` without its callbacks (the reply and the "still wanted?" check
stay with the call), and the result comes back as the ``DecodeResult`` the local
worker would hand over. Both pickle, which is all Ray needs."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.asr.decoder import MIN_WINDOW_S, SAMPLE_RATE_HZ
from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.results import DecodeResult

log = logging.getLogger(__name__)

# Whisper's mel frames are 10 ms and the encoder takes at most 30 s of them.
_FRAMES_PER_S = 100
_MAX_FRAMES = 3000
# The decoder pads every window with this much silence (decoder._PAD_S).
_PAD_S = 1.0


@dataclass(frozen=True)
class DecodeJob:
    """One decode as the decoder sees it. ``waited_s``: how long the request had
    waited when it was sent, so a replica can drop a partial that has gone stale
    by the same clock the local worker uses (the time since it was requested)."""

    final: bool
    audio: np.ndarray  # 16 kHz mono float32
    prefix: tuple[int, ...] = ()
    context: tuple[int, ...] = ()
    offline: bool = False
    waited_s: float = 0.0

    @property
    def audio_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE_HZ

    @property
    def frames(self) -> int:
        return window_frames(len(self.audio), self.offline)


def window_frames(samples: int, offline: bool) -> int:
    """About how many feature frames the encoder window of a decode has: only
    decodes with the same window can share a batch (CTranslate2 takes one feature
    shape per batch). A hint for grouping; ``BatchDecoder`` groups by the real
    shape."""
    if offline:
        return _MAX_FRAMES
    window_s = max(MIN_WINDOW_S, float(math.ceil(samples / SAMPLE_RATE_HZ + _PAD_S)))
    frames = min(int(window_s * _FRAMES_PER_S), _MAX_FRAMES)
    return frames - frames % 2


def job_of(request: DecodeRequest, now: float | None = None) -> DecodeJob:
    now = time.monotonic() if now is None else now
    return DecodeJob(
        final=request.kind is DecodeKind.FINAL,
        audio=np.ascontiguousarray(request.audio, dtype=np.float32),
        prefix=tuple(request.prefix),
        context=tuple(request.context),
        offline=request.offline,
        waited_s=max(0.0, now - request.requested_wall),
    )


def retry_once(
    send: Callable[[DecodeJob, bool], DecodeResult | None],
    job: DecodeJob,
    notice: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
) -> DecodeResult | None:
    """``send(job, retry)`` once more if it raises: a replica that died mid-decode
    fails its requests at once (Ray Serve does not retry them), and Serve routes
    the second try to a live replica (or the restarted one). ``notice`` tells the
    call it was slow. The time lost counts against a partial's staleness, as any
    wait does. A second failure is the decode's own, raised to the caller."""
    started = clock()
    try:
        return send(job, False)
    except Exception as exc:
        name = type(exc).__name__
        log.warning("decode failed on a replica (%s); retrying once", name)
        notice(f"a decode failed on a replica ({name}) and was retried")
    retry = dataclasses.replace(job, waited_s=job.waited_s + clock() - started)
    return send(retry, True)
