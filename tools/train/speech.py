"""Speech in, text out: espeak-ng voices and the product's own tiny.en decoder.

Shared by the ASR-noised training set (``tools.train.noise``) and the spoken
evaluation (``tools.train.spoken``), so both hear the same voices the same way.
"""

from __future__ import annotations

import io
import subprocess
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np

RATE_HZ = 16_000
MODEL = "tiny.en"


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice and speaking rate (words per minute)."""

    name: str  # e.g. "en-us+m3"
    wpm: int = 175  # espeak-ng's default rate

    @property
    def key(self) -> str:
        return f"{self.name}@{self.wpm}"

    @classmethod
    def parse(cls, key: str) -> Voice:
        name, _, wpm = key.partition("@")
        return cls(name, int(wpm) if wpm else 175)


def synthesize(text: str, voice: Voice) -> np.ndarray:
    """``text`` spoken by ``voice``: float32 mono at 16 kHz."""
    import soxr

    # The text goes in on stdin: as an argument, a MELD line such as "-leg?" was read
    # as an option and espeak-ng wrote nothing.
    wav = subprocess.run(
        ["espeak-ng", "-v", voice.name, "-s", str(voice.wpm), "--stdout", "--stdin"],
        input=text.encode("utf-8"),
        check=True,
        capture_output=True,
    ).stdout
    if not wav:
        return np.zeros(0, np.float32)
    with wave.open(io.BytesIO(wav)) as handle:
        rate = handle.getframerate()
        frames = handle.readframes(handle.getnframes())
    # espeak-ng writes 16-bit mono at 22.05 kHz (its stdout header has no length,
    # so the frame count is read from the bytes, not the header).
    audio = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    return soxr.resample(audio, rate, RATE_HZ).astype(np.float32)


def load_decoder(threads: int = 1) -> Any:
    """The product's decoder with tiny.en, warmed up (weights from the installed
    package; nothing downloads)."""
    from assistant.asr.decoder import WhisperDecoder
    from assistant.asr.models import resolve_model

    decoder = WhisperDecoder(resolve_model(MODEL), cpu_threads=threads)
    decoder.warm_up()
    return decoder


def transcribe(decoder: Any, audio: np.ndarray) -> str:
    """One utterance through the decoder, as the streaming core decodes a final."""
    return str(decoder.decode(audio, timestamps=False).text).strip()
