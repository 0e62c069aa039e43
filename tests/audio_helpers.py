"""Helpers for tests that need audio files on disk (stdlib only)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from assistant.events import Event, FinalTranscript


def write_wav(path: Path, audio: np.ndarray, rate: int = 16000) -> Path:
    data = audio if audio.ndim == 2 else audio[:, None]
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(pcm.shape[1])
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(pcm.tobytes())
    return path


def run_file(path: Path, decoder, realtime: bool = False, mix: bool = False) -> list[Event]:
    """The real pipeline over a file, as `turnaround replay` runs it."""
    from assistant.cli import file_routes
    from assistant.pipeline import Pipeline, PipelineConfig, wait_for
    from assistant.streaming import StreamingConfig

    config = PipelineConfig(streaming=StreamingConfig(partials=realtime))
    pipeline = Pipeline(file_routes(path, realtime, mix), decoder, config)
    pipeline.start()
    return wait_for(pipeline, timeout_s=300)


def finals(events: list[Event]) -> list[FinalTranscript]:
    return [e for e in events if isinstance(e, FinalTranscript)]
