"""Run one listening session: load the model, start the pipeline, dispatch events.

Handlers are called on this (the consumer's) thread in event order. A handler may
return further events (the suggestion engine turns transcripts into cards); those
are dispatched to every handler too.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .asr import WhisperDecoder
from .errors import TurnaroundError
from .events import Event, FinalTranscript, Signal, SilenceTick, Suggestion, to_json_dict
from .models import DEFAULT_MODEL, resolve_model
from .pipeline import Pipeline, PipelineConfig, Route
from .recorder import TranscriptRecorder

Handler = Callable[[Event], "Iterable[Event] | None"]


@dataclass
class SessionOptions:
    model: str = DEFAULT_MODEL
    model_dir: Path | None = None
    cpu_threads: int = 2
    record_dir: Path | None = None
    # Metadata for the session file's first line (mode, playbook, input kind, overlay);
    # the session adds the model and the input names.
    record_meta: dict[str, Any] = field(default_factory=dict)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    quiet: bool = False  # no progress lines on stderr


def say(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(f"turnaround: {message}", file=sys.stderr, flush=True)


def load_decoder(opts: SessionOptions) -> WhisperDecoder:
    spec = resolve_model(opts.model, opts.model_dir)
    say(
        f"loading Whisper {spec.name} ({spec.compute_type}, CPU) from {spec.origin}: {spec.path}",
        opts.quiet,
    )
    decoder = WhisperDecoder(spec, cpu_threads=opts.cpu_threads)
    decoder.warm_up()
    say(f"model ready: load {decoder.load_s:.2f} s, warm-up {decoder.warmup_s:.2f} s", opts.quiet)
    return decoder


class Session:
    def __init__(
        self,
        routes: list[Route],
        opts: SessionOptions,
        handlers: list[Handler],
        decoder: WhisperDecoder | None = None,
    ) -> None:
        self.opts = opts
        self.recorder: TranscriptRecorder | None = None
        self.stream_s = 0.0  # how far into the call the last event was
        if opts.record_dir is not None:
            # Before the model: an unwritable folder is a one-line error now, not a
            # traceback after a long load.
            self.recorder = TranscriptRecorder.create(
                opts.record_dir, **_metadata(routes, opts, decoder)
            )
        try:
            self.decoder = decoder or load_decoder(opts)
            self.pipeline = Pipeline(routes, self.decoder, opts.pipeline)
        except BaseException:
            if self.recorder is not None:
                self.recorder.abandon()
            raise
        self.handlers = list(handlers)
        if self.recorder is not None:
            say(f"recording the transcript (text only) to {self.recorder.path}", opts.quiet)

    def _dispatch(self, event: Event) -> None:
        pending = [event]
        while pending:
            current = pending.pop(0)
            self.stream_s = max(self.stream_s, _stream_time(current))
            if self.recorder is not None and isinstance(
                current, (FinalTranscript, Signal, Suggestion)
            ):
                self.recorder.write(to_json_dict(current))
            for handler in self.handlers:
                produced = handler(current)
                if produced:
                    pending.extend(produced)

    def run(self) -> int:
        """Blocks until the input ends (or Ctrl-C); returns the exit code."""
        self.pipeline.start()
        reason = "end of input"
        try:
            try:
                for event in self.pipeline.events():
                    self._dispatch(event)
            except KeyboardInterrupt:
                reason = "stopped by the user"
                say("stopping: finishing the last utterance", self.opts.quiet)
                self.pipeline.stop()
                deadline = time.monotonic() + 10
                for event in self.pipeline.events(timeout_s=1.0):
                    self._dispatch(event)
                    if time.monotonic() > deadline:
                        break
        finally:
            if self.recorder is not None:
                error = self.pipeline.error
                self.recorder.end(self.stream_s, reason if error is None else f"error: {error}")
        error = self.pipeline.error
        if error is not None:
            saved = f"; transcript so far is in {self.recorder.path}" if self.recorder else ""
            if isinstance(error, TurnaroundError):
                raise type(error)(f"{error}{saved}") from error
            raise TurnaroundError(f"{error}{saved}") from error
        return 0


def _stream_time(event: Event) -> float:
    if isinstance(event, FinalTranscript):
        return event.end_s
    if isinstance(event, SilenceTick):
        return event.now_s
    if isinstance(event, (Signal, Suggestion)):
        return event.at_s
    return 0.0


def _metadata(
    routes: list[Route], opts: SessionOptions, decoder: WhisperDecoder | None
) -> dict[str, Any]:
    model = decoder.spec.name if decoder is not None else str(opts.model_dir or opts.model)
    names = list(dict.fromkeys(route.source.name for route in routes))
    meta: dict[str, Any] = {"input": {"kind": "devices", "names": names}}
    meta.update(opts.record_meta)
    meta.setdefault("model", model)
    if isinstance(meta.get("input"), dict):
        meta["input"] = {**meta["input"], "names": meta["input"].get("names") or names}
    return meta
