"""Helpers for tests that need audio files on disk (stdlib only)."""

from __future__ import annotations

from pathlib import Path

from assistant.audio.file_source import write_wav
from assistant.events import Event, FinalTranscript, TranscriptRevision, is_final_text

__all__ = ["final_texts", "finals", "run_file", "write_wav"]


def run_file(path: Path, decoder, realtime: bool = False, mix: bool = False) -> list[Event]:
    """The real pipeline over a file, as `turnaround replay` runs it."""
    from assistant.asr.config import StreamingConfig
    from assistant.pipeline.core import Pipeline, PipelineConfig, wait_for
    from assistant.pipeline.routes import file_routes

    config = PipelineConfig(streaming=StreamingConfig(partials=realtime))
    pipeline = Pipeline(file_routes(path, realtime, mix), decoder, config)
    pipeline.start()
    return wait_for(pipeline, timeout_s=300)


def finals(events: list[Event]) -> list[FinalTranscript]:
    return [e for e in events if isinstance(e, FinalTranscript)]


def final_texts(events: list[Event]) -> list[tuple[str, str]]:
    """(speaker, final text) per utterance in order of their start: the revision
    where an utterance came in pieces, else its one final."""
    chosen: dict[tuple[str, int], tuple[float, str]] = {}
    for e in events:
        if is_final_text(e):
            assert isinstance(e, (FinalTranscript, TranscriptRevision))
            chosen[(e.speaker.value, e.utterance_id)] = (e.start_s, e.text)
    return [(sp, text) for (sp, _), (_, text) in sorted(chosen.items(), key=lambda kv: kv[1][0])]
