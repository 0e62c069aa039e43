"""Every common container decodes to the same 16 kHz audio (PyAV, no ffmpeg binary)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.audio.file_source import FileSource, decode_file, iter_blocks, write_encoded
from assistant.events import RawAudio
from tests.helpers.paths import AUDIO

FORMATS = {  # suffix: (container format, codec, sample rate)
    "wav": ("wav", "pcm_s16le", 44100),
    "mp3": ("mp3", "libmp3lame", 44100),
    "ogg": ("ogg", "libopus", 48000),
    "m4a": ("ipod", "aac", 44100),
    "flac": ("flac", "flac", 22050),
}


def encode(src: np.ndarray, path: Path, fmt: str, codec: str, rate: int) -> None:
    resampled = np.interp(
        np.arange(int(len(src) * rate / 16000)) * 16000 / rate, np.arange(len(src)), src
    )
    write_encoded(path, resampled.astype(np.float32), fmt, codec, rate)


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_common_formats_decode_to_16k_mono(tmp_path: Path, suffix: str) -> None:
    original = decode_file(AUDIO / "rep_question.flac")[:, 0]
    path = tmp_path / f"call.{suffix}"
    encode(original, path, *FORMATS[suffix])
    decoded = decode_file(path)[:, 0]
    assert decoded.dtype == np.float32
    # Codec delay/padding may add a few tens of ms; the length must match otherwise.
    assert abs(len(decoded) - len(original)) / 16000 < 0.1
    energy_ratio = np.sqrt(np.mean(decoded**2)) / np.sqrt(np.mean(original**2))
    assert 0.8 < energy_ratio < 1.2


def test_blocks_are_streamed_not_decoded_whole() -> None:
    blocks = list(iter_blocks(AUDIO / "rep_question.flac", 1, 512))
    assert all(b.shape == (512, 1) for b in blocks[:-1])
    assert 0 < len(blocks[-1]) <= 512


def test_realtime_replay_is_paced_like_a_microphone() -> None:
    import threading
    import time

    source = FileSource(AUDIO / "rep_question.flac", realtime=True)
    got: list[RawAudio] = []
    done = threading.Event()
    started = time.monotonic()
    source.start(got.append, lambda err: done.set())
    assert done.wait(30)
    elapsed = time.monotonic() - started
    total_s = sum(len(b.samples) for b in got) / 16000
    assert elapsed >= total_s * 0.95  # never faster than real time
    assert max(len(b.samples) for b in got) <= 0.032 * 16000 + 1
