"""Run one session: start its pipeline, dispatch every event to the handlers, drain.

Handlers are called in event order, one at a time. A handler may return further
events (the suggestion engine turns transcripts into cards); those are dispatched
to every handler too. Events from outside the pipeline -- what the overlay's pages
say about a card -- come in through :meth:`Session.inject` and are dispatched the
same way, so the coach's pacing and the recorder both hear of a dismissed card.

Stopping: the thread that calls :meth:`Session.run` only waits, so Ctrl-C (and
SIGTERM, which the CLI turns into the same KeyboardInterrupt) always lands there,
never halfway through an event's dispatch. It then stops the sources and lets the
pipeline drain: the utterance in progress still gets its final text, which is
printed, recorded and sent to the overlay with the closing "stopped" status.

The session knows nothing of models, files or recorders: ``assemble()`` builds the
pipeline (audio or text) and the handlers (the recorder among them).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.asr.models import DEFAULT_MODEL
from assistant.errors import OutputError
from assistant.events import Event
from assistant.logs import say
from assistant.pipeline.core import PipelineConfig

Handler = Callable[[Event], "Iterable[Event] | None"]

log = logging.getLogger(__name__)

# After a stop request: time for the last utterance's final decode (a few hundred
# ms on tiny.en; generous for a loaded machine or a bigger model).
DRAIN_TIMEOUT_S = 15.0


class Input(Protocol):
    """What a session runs: the audio ``Pipeline`` or a ``TranscriptPipeline``."""

    error: Exception | None

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    @property
    def paused(self) -> bool: ...

    def events(self, timeout_s: float | None = None) -> Iterator[Event]: ...


@dataclass
class SessionOptions:
    model: str = DEFAULT_MODEL
    model_dir: Path | None = None
    cpu_threads: int = 2
    record_dir: Path | None = None
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    quiet: bool = False  # no progress lines on stderr
    # Metadata for the session file's first line (mode, playbook, input kind, overlay);
    # assemble() adds the model and the input names.
    record_meta: dict[str, Any] = field(default_factory=dict)


class Session:
    def __init__(
        self,
        pipeline: Input,
        handlers: list[Handler],
        quiet: bool = False,
        on_abort: Callable[[], None] | None = None,
    ) -> None:
        """``on_abort``: what to close before a second Ctrl-C exits at once."""
        self.pipeline = pipeline
        self.quiet = quiet
        self.handlers = list(handlers)
        self._on_abort = on_abort
        # True when something besides stdout shows the captions (the overlay): a
        # closed stdout then only ends the terminal output, not the session.
        self.keep_going_without_output = False
        self.output_error: OutputError | None = None
        self._stop = threading.Event()
        self._pumped = threading.Event()
        self._dispatching = threading.Lock()
        self.stop_reason = "end of input"

    def inject(self, event: Event) -> None:
        """An event from outside the pipeline (a page's feedback on a card), to
        every handler as if the pipeline had emitted it. Any thread."""
        self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        with self._dispatching:
            self._dispatch_locked(event)

    def _dispatch_locked(self, event: Event) -> None:
        pending = [event]
        while pending:
            current = pending.pop(0)
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
                say(f"warning: {exc}; captions go on in the overlay", self.quiet)
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
        self.stop_reason = "stopped by the user"
        if announce:
            say("stopping: finishing the last utterance", self.quiet)
        self.pipeline.stop()
        try:
            if not self._wait(DRAIN_TIMEOUT_S):
                say("stopped before the last utterance was transcribed", self.quiet)
        except KeyboardInterrupt:
            # A second Ctrl-C: the user wants out now. Every line written so far is
            # already flushed; skip the interpreter's teardown, which would race the
            # decoder's native threads.
            say("stopped at once (second interrupt)", self.quiet)
            if self._on_abort is not None:
                self._on_abort()
            os._exit(130)

    def run(self) -> int:
        """Blocks until the input ends (or Ctrl-C); the exit code. A pipeline error
        is ``self.pipeline.error``, for the caller to report."""
        self._stop.clear()
        self._pumped.clear()
        # The pump reads events before the sources start, so a Ctrl-C during start-up
        # still finds someone draining the pipeline.
        threading.Thread(target=self._pump, name="session-events", daemon=True).start()
        try:
            self.pipeline.start()
            if not self._wait():
                self._drain(announce=self.output_error is None)
        except KeyboardInterrupt:
            self._drain()
        if self.output_error is not None and not self.keep_going_without_output:
            raise self.output_error
        return 0


def _name(handler: Handler) -> str:
    owner = getattr(handler, "__self__", None)
    return type(owner).__name__ if owner is not None else getattr(handler, "__name__", "handler")
