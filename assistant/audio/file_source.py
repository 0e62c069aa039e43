"""Replay an audio file as if it were a live input.

Decoded with PyAV (which faster-whisper already depends on), so wav, flac, mp3,
ogg/opus and m4a all work without ffmpeg binaries. Paced in real time (the
pipeline sees exactly what a microphone would deliver) or as fast as possible.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio.integrity import truncation
from assistant.audio.resample import TARGET_RATE_HZ
from assistant.errors import AudioInputError
from assistant.events import RawAudio

SUPPORTED = ".wav .flac .mp3 .ogg .opus .m4a .aac .webm .mka"
# Real-time blocks the size of a typical PortAudio callback (32 ms) so replay sees
# the same timing granularity as a microphone.
REALTIME_BLOCK_S = 0.032
FAST_BLOCK_S = 0.5
# A real-time replay this late on its schedule was stopped, not slow: the reader
# thread does nothing else and is never this far behind on a busy machine.
STALL_S = 1.0

log = logging.getLogger(__name__)


def _open(path: Path):
    import av

    if not path.exists():
        raise AudioInputError(f"no such file: {path}")
    if not path.is_file():
        raise AudioInputError(f"not a file: {path}")
    try:
        # Opened here first: FFmpeg's own refusal read "(PermissionError)".
        with path.open("rb"):
            pass
        container = av.open(str(path))
    except PermissionError:
        raise AudioInputError(f"permission denied: {path}") from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise AudioInputError(
            f"cannot read {path} as audio ({exc.__class__.__name__}); supported: {SUPPORTED}"
        ) from exc
    if not container.streams.audio:
        container.close()
        raise AudioInputError(f"{path} has no audio stream; supported: {SUPPORTED}")
    return container


def probe_channels(path: Path) -> int:
    container = _open(path)
    try:
        return max(1, container.streams.audio[0].codec_context.channels or 1)
    finally:
        container.close()


def iter_blocks(path: Path, channels: int, block_samples: int) -> Iterator[np.ndarray]:
    """Decode ``path`` to 16 kHz float32 blocks of shape (block_samples, channels).

    Streams: memory stays flat however long the file (a 30-minute call would be
    ~230 MB if decoded whole).
    """
    import av

    container = _open(path)
    declared_s = _container_duration_s(container)
    layout = "stereo" if channels == 2 else "mono"
    resampler = av.AudioResampler(format="flt", layout=layout, rate=TARGET_RATE_HZ)
    pending: list[np.ndarray] = []
    pending_n = 0
    produced = 0

    def frames() -> Iterator[np.ndarray]:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1, channels)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1, channels)

    try:
        for chunk in frames():
            pending.append(chunk)
            pending_n += len(chunk)
            while pending_n >= block_samples:
                joined = np.concatenate(pending)
                yield joined[:block_samples]
                produced += block_samples
                rest = joined[block_samples:]
                pending, pending_n = [rest], len(rest)
        if pending_n:
            produced += pending_n
            yield np.concatenate(pending)
    except av.error.FFmpegError as exc:
        raise AudioInputError(
            f"{path} is corrupt or truncated ({exc}); supported: {SUPPORTED}"
        ) from exc
    finally:
        container.close()
    if produced == 0:
        raise AudioInputError(f"{path} contains no audio samples; supported: {SUPPORTED}")
    got_s = produced / TARGET_RATE_HZ
    # FFmpeg skips undecodable packets quietly; a file that yields far less audio
    # than its header promises is damaged, and the user should hear about it. (A file
    # merely cut short is told apart before decoding, and only warned about:
    # ``integrity``.)
    if declared_s is not None and got_s < 0.9 * declared_s - 0.5:
        raise AudioInputError(
            f"{path} is corrupt or truncated: decoded {got_s:.1f} s of {declared_s:.1f} s"
        )


def declared_duration_s(path: Path) -> float | None:
    """What the file's header says its length is (None when it does not say)."""
    container = _open(path)
    try:
        return _container_duration_s(container)
    finally:
        container.close()


def _container_duration_s(container: Any) -> float | None:
    stream = container.streams.audio[0]
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # av.time_base is microseconds
    return None


def decode_file(path: Path, channels: int = 1) -> np.ndarray:
    """Whole file at 16 kHz, shape (samples, channels) float32 (tests, offline runs)."""
    return np.concatenate(list(iter_blocks(path, channels, TARGET_RATE_HZ * 10)))


def write_wav(path: Path, audio: np.ndarray, rate_hz: int = TARGET_RATE_HZ) -> Path:
    """16-bit PCM WAV of mono or (samples, channels) float32 audio: the fixtures that
    tests and benchmarks build (silence, noise, long calls). Never used on capture."""
    import wave

    data = audio if audio.ndim == 2 else audio[:, None]
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(data.shape[1])
        fh.setsampwidth(2)
        fh.setframerate(rate_hz)
        # In one-minute slices, so a 30-minute call never needs a full-size int16 copy.
        step = rate_hz * 60
        for i in range(0, len(data), step):
            fh.writeframes((np.clip(data[i : i + step], -1, 1) * 32767).astype("<i2").tobytes())
    return path


def write_encoded(
    path: Path,
    audio: np.ndarray,
    fmt: str,
    codec: str,
    rate_hz: int = TARGET_RATE_HZ,
    bit_rate: int | None = None,
) -> Path:
    """Mono or (samples, channels) float32 audio at ``rate_hz`` encoded with PyAV
    (``"ogg"``/``"libopus"``, ``"mp3"``/``"libmp3lame"`` ...): the compressed
    fixtures tests and benchmarks use. Never used on capture."""
    import av

    data = audio if audio.ndim == 2 else audio[:, None]
    layout = "mono" if data.shape[1] == 1 else "stereo"
    pcm = (np.clip(data, -1, 1) * 32767).astype(np.int16)
    out = av.open(str(path), "w", format=fmt)
    try:
        stream = out.add_stream(codec, rate=rate_hz, layout=layout)
        if bit_rate:
            stream.bit_rate = bit_rate
        step = 960  # 20 ms at 48 kHz: a frame size every codec here accepts
        for i in range(0, len(pcm), step):
            chunk = np.ascontiguousarray(pcm[i : i + step]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=layout)
            frame.sample_rate = rate_hz
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    finally:
        out.close()
    return path


class FileSource:
    """Feeds a file to the pipeline in blocks, paced in real time or not."""

    def __init__(self, path: Path, realtime: bool = True, channels: int | None = None) -> None:
        self.path = path
        self.channels = channels or min(2, probe_channels(path))
        self.realtime = realtime
        self.sample_rate_hz = TARGET_RATE_HZ
        self.name = path.name
        # Decode the first second now so an unreadable file is an error before the
        # model loads, not a thread dying later; a cut-off one is said now too.
        next(iter_blocks(path, self.channels, TARGET_RATE_HZ), None)
        problem = truncation(path)
        if problem is not None:
            log.warning("%s", problem)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(
        self, sink: Callable[[RawAudio], None], on_end: Callable[[Exception | None], None]
    ) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(sink, on_end), name=f"file:{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(
        self, sink: Callable[[RawAudio], None], on_end: Callable[[Exception | None], None]
    ) -> None:
        block = int((REALTIME_BLOCK_S if self.realtime else FAST_BLOCK_S) * TARGET_RATE_HZ)
        t0 = time.monotonic()
        done = 0
        try:
            for samples in iter_blocks(self.path, self.channels, block):
                if self._stop.is_set():
                    break
                done += len(samples)
                if self.realtime:
                    delay = t0 + done / TARGET_RATE_HZ - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    elif delay < -STALL_S:
                        # The process was stopped (SIGSTOP, a laptop asleep): the file
                        # goes on where it was, as a paused player does, instead of
                        # bursting the missed seconds into the pipeline at once.
                        t0 -= delay
                sink(RawAudio(samples, TARGET_RATE_HZ, time.monotonic()))
        except AudioInputError as exc:
            on_end(exc)
            return
        on_end(None)
