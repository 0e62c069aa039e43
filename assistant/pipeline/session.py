"""Run one listening session: load the model, start the pipeline, dispatch events.

Handlers are called on one consumer thread in event order. A handler may return
further events (the suggestion engine turns transcripts into cards); those are
dispatched to every handler too.

Stopping: the thread that calls :meth:`Session.run` only waits, so Ctrl-C (and
SIGTERM, which the CLI turns into the same KeyboardInterrupt) always lands there,
never halfway through an event's dispatch. It then stops the sources and lets the
pipeline drain: the utterance in progress still gets its final text, which is
printed, recorded and sent to the overlay with the closing "stopped" status.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.asr.decoder import WhisperDecoder
from assistant.asr.models import DEFAULT_MODEL, resolve_model
from assistant.errors import DeviceLostError, OutputError, TurnaroundError
from assistant.events import (
    Event,
    FinalTranscript,
    Signal,
    SilenceTick,
    Suggestion,
    TranscriptRevision,
    to_json_dict,
)
from assistant.logs import say
from assistant.pipeline.core import Pipeline, PipelineConfig
from assistant.pipeline.routes import Route
from assistant.sessions.recorder import TranscriptRecorder

Handler = Callable[[Event], "Iterable[Event] | None"]

log = logging.getLogger(__name__)

# After a stop request: time for the last utterance's final decode (a few hundred
# ms on tiny.en; generous for a loaded machine or a bigger model).
DRAIN_TIMEOUT_S = 15.0


@dataclass
class SessionOptions:
    model: str = DEFAULT_MODEL
    model_dir: Path | None = None
    cpu_threads: int = 2
    record_dir: Path | None = None
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    quiet: bool = False  # no progress lines on stderr
    # Metadata for the session file's first line (mode, playbook, input kind, overlay);
    # the session adds the model and the input names.
    record_meta: dict[str, Any] = field(default_factory=dict)


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
        # True when something besides stdout shows the captions (the overlay): a
        # closed stdout then only ends the terminal output, not the session.
        self.keep_going_without_output = False
        self.output_error: OutputError | None = None
        self._stop = threading.Event()
        self._pumped = threading.Event()
        self._stop_reason = "end of input"
        if self.recorder is not None:
            say(f"recording the transcript (text only) to {self.recorder.path}", opts.quiet)

    def _dispatch(self, event: Event) -> None:
        pending = [event]
        while pending:
            current = pending.pop(0)
            self.stream_s = max(self.stream_s, _stream_time(current))
            if self.recorder is not None and isinstance(
                current, (FinalTranscript, TranscriptRevision, Signal, Suggestion)
            ):
                self.recorder.write(to_json_dict(current))
            for handler in list(self.handlers):
                try:
                    produced = handler(current)
                except OutputError as exc:
                    self._output_lost(handler, exc)
                    continue
                except Exception:
                    # A bug in one consumer (coach, overlay) must not end the call
                    # for the others: one line in the log, and carry on.
                    log.error("%s failed on %s", _name(handler), type(current).__name__,
                              exc_info=True)  # fmt: skip
                    continue
                if produced:
                    pending.extend(produced)

    def _output_lost(self, handler: Handler, exc: OutputError) -> None:
        """Standard output failed: drop that printer. With nothing else showing
        captions, nobody is listening any more: stop (finishing the utterance)."""
        self.handlers.remove(handler)
        if self.output_error is None:
            self.output_error = exc
        if self.keep_going_without_output:
            if not exc.quiet:
                say(f"warning: {exc}; captions go on in the overlay", self.opts.quiet)
            return
        self._stop.set()

    def _pump(self) -> None:
        try:
            for event in self.pipeline.events():
                self._dispatch(event)
        finally:
            self._pumped.set()

    def _wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the pump to finish (True) or for a stop request (False)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._pumped.is_set():
            if self._stop.is_set() and timeout_s is None:
                return False
            if deadline is not None and time.monotonic() > deadline:
                return False
            # Short waits: the main thread must return to Python often so that a
            # signal handler runs promptly.
            self._pumped.wait(0.1)
        return True

    def _drain(self, announce: bool = True) -> None:
        self._stop_reason = "stopped by the user"
        if announce:
            say("stopping: finishing the last utterance", self.opts.quiet)
        self.pipeline.stop()
        try:
            if not self._wait(DRAIN_TIMEOUT_S):
                say("stopped before the last utterance was transcribed", self.opts.quiet)
        except KeyboardInterrupt:
            # A second Ctrl-C: the user wants out now. Every line written so far is
            # already flushed; skip the interpreter's teardown, which would race the
            # decoder's native threads.
            say("stopped at once (second interrupt)", self.opts.quiet)
            if self.recorder is not None:
                self.recorder.close()
            os._exit(130)

    def run(self) -> int:
        """Blocks until the input ends (or Ctrl-C); returns the exit code."""
        self._stop.clear()
        self._pumped.clear()
        # The pump reads events before the sources start, so a Ctrl-C during start-up
        # still finds someone draining the pipeline.
        threading.Thread(target=self._pump, name="session-events", daemon=True).start()
        try:
            try:
                self.pipeline.start()
                if not self._wait():
                    self._drain(announce=self.output_error is None)
            except KeyboardInterrupt:
                self._drain()
        finally:
            if self.recorder is not None:
                error = self.pipeline.error
                reason = self._stop_reason if error is None else f"error: {error}"
                self.recorder.end(self.stream_s, reason)
        error = self.pipeline.error
        if error is not None:
            saved = f"; transcript so far is in {self.recorder.path}" if self.recorder else ""
            if isinstance(error, DeviceLostError):
                saved += "; reconnect it and run the same command to go on (a new session)"
            if isinstance(error, TurnaroundError):
                raise type(error)(f"{error}{saved}") from error
            raise TurnaroundError(f"{error}{saved}") from error
        if self.output_error is not None and not self.keep_going_without_output:
            raise self.output_error
        return 0


def _name(handler: Handler) -> str:
    owner = getattr(handler, "__self__", None)
    return type(owner).__name__ if owner is not None else getattr(handler, "__name__", "handler")


def _stream_time(event: Event) -> float:
    if isinstance(event, (FinalTranscript, TranscriptRevision)):
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
