"""Capture frames: the page's audio, as binary websocket frames. Pure; no I/O.

With ``turnaround live --browser`` the overlay page captures the microphone and the
call's tab and streams both to the coach over its websocket. Each binary frame is
one 16-byte header and 20-40 ms of 16 kHz mono PCM (docs/browser-capture.md):

    offset size  field
    0      1     magic 0x41 ("A")
    1      1     version, 1
    2      1     channel: 0 = the microphone (the user), 1 = the call (the other side)
    3      1     flags: bit 0 = the first frame of a new capture of this input (the
                 sequence starts again); the other bits are 0
    4      4     sequence number, uint32 little-endian, +1 per frame of this channel
    8      8     capture time, float64 little-endian: ms since the Unix epoch on the
                 page's clock, when the frame's last sample was captured
    16     2*n   n int16 little-endian samples, 320 <= n <= 640

Anything else is refused here with a close code and a reason: the server closes that
connection (never the coach), and the page says why.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from enum import IntEnum

from websockets.frames import CloseCode

MAGIC = 0x41
FRAME_VERSION = 1
HEADER = struct.Struct("<BBBBId")
FLAG_FIRST = 0x01
SAMPLE_RATE_HZ = 16000
# 20-40 ms per frame: small enough for low latency, large enough that a frame's
# overhead (a websocket message, a header, a Python call) stays negligible. The page
# sends 512 samples (32 ms: four of the AudioWorklet's 128-sample quanta).
MIN_SAMPLES = 320
MAX_SAMPLES = 640
MAX_AUDIO_FRAME_BYTES = HEADER.size + 2 * MAX_SAMPLES
# A capture time this far in the future or the past is not a clock reading.
MAX_CAPTURE_MS = 2.0**53

# Rate cap per channel, as a token bucket over samples: real time plus a margin for
# clock drift (a sound card's clock is off by well under 1 %), and a burst for audio
# that arrives late all at once: a page whose main thread stalled, or this server's
# own loop held up (starting the session's pipeline at the first Listen held it for
# over two seconds on a loaded 2-core machine, and a 2 s burst closed the page).
RATE_MARGIN = 1.25
BURST_S = 8.0


class Channel(IntEnum):
    MIC = 0
    CALL = 1

    @property
    def input_name(self) -> str:
        return "mic" if self is Channel.MIC else "call"


class FrameError(ValueError):
    """A frame the server will not take: the connection is closed with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def malformed(reason: str) -> FrameError:
    return FrameError(CloseCode.INVALID_DATA, f"malformed audio frame: {reason}")


@dataclass(frozen=True)
class AudioFrame:
    channel: Channel
    seq: int
    capture_ms: float  # page clock, ms since the epoch, at the frame's last sample
    first: bool  # the first frame of a new capture of this input
    pcm: bytes  # int16 little-endian samples

    @property
    def samples(self) -> int:
        return len(self.pcm) // 2

    @property
    def duration_s(self) -> float:
        return self.samples / SAMPLE_RATE_HZ


def parse_audio_frame(data: bytes) -> AudioFrame:
    """One binary frame from the page, or :class:`FrameError`."""
    if len(data) > MAX_AUDIO_FRAME_BYTES:
        raise FrameError(
            CloseCode.MESSAGE_TOO_BIG,
            f"audio frame of {len(data)} bytes; at most {MAX_AUDIO_FRAME_BYTES}",
        )
    if len(data) < HEADER.size:
        raise malformed(f"{len(data)} bytes is shorter than the {HEADER.size}-byte header")
    magic, version, channel, flags, seq, capture_ms = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise malformed(f"bad magic byte 0x{magic:02x}")
    if version != FRAME_VERSION:
        raise malformed(f"version {version}; this server reads version {FRAME_VERSION}")
    if channel not in (Channel.MIC, Channel.CALL):
        raise malformed(f"unknown channel {channel}")
    if flags & ~FLAG_FIRST:
        raise malformed(f"unknown flags 0x{flags:02x}")
    if not (math.isfinite(capture_ms) and 0 < capture_ms < MAX_CAPTURE_MS):
        raise malformed("the capture time is not a time")
    body = len(data) - HEADER.size
    if body % 2:
        raise malformed("odd number of PCM bytes")
    if not MIN_SAMPLES <= body // 2 <= MAX_SAMPLES:
        raise malformed(f"{body // 2} samples; a frame holds {MIN_SAMPLES} to {MAX_SAMPLES}")
    return AudioFrame(
        Channel(channel), seq, capture_ms, bool(flags & FLAG_FIRST), bytes(data[HEADER.size :])
    )


def build_audio_frame(
    channel: Channel, seq: int, capture_ms: float, pcm: bytes, first: bool = False
) -> bytes:
    """The page's encoding (tests, benchmarks and tools that stand in for a page)."""
    flags = FLAG_FIRST if first else 0
    return HEADER.pack(MAGIC, FRAME_VERSION, int(channel), flags, seq, capture_ms) + pcm


@dataclass
class _Bucket:
    tokens: float
    at_s: float


@dataclass
class StreamCheck:
    """One connection's audio, checked frame by frame: the sequence of each channel
    goes up by one (a gap is frames the page lost, counted), and no channel sends
    faster than real time allows (``RATE_MARGIN``, ``BURST_S``)."""

    last_seq: dict[Channel, int] = field(default_factory=dict)
    lost_frames: dict[Channel, int] = field(default_factory=dict)
    _buckets: dict[Channel, _Bucket] = field(default_factory=dict)

    def admit(self, frame: AudioFrame, now_s: float) -> None:
        """Raise :class:`FrameError` if ``frame`` breaks the sequence or the rate cap."""
        last = self.last_seq.get(frame.channel)
        if last is not None and not frame.first:
            if frame.seq <= last:
                raise malformed(f"sequence went from {last} to {frame.seq}")
            self.lost_frames[frame.channel] = (
                self.lost_frames.get(frame.channel, 0) + frame.seq - last - 1
            )
        self.last_seq[frame.channel] = frame.seq
        capacity = BURST_S * SAMPLE_RATE_HZ
        bucket = self._buckets.setdefault(frame.channel, _Bucket(capacity, now_s))
        refill = max(0.0, now_s - bucket.at_s) * SAMPLE_RATE_HZ * RATE_MARGIN
        bucket.tokens = min(capacity, bucket.tokens + refill)
        bucket.at_s = now_s
        if frame.samples > bucket.tokens:
            raise FrameError(
                CloseCode.POLICY_VIOLATION,
                f"{frame.channel.input_name} audio faster than real time (rate cap)",
            )
        bucket.tokens -= frame.samples
