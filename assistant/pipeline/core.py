"""Wiring: sources -> source workers -> ASR worker -> one ordered event stream.

The threads and queues live here and nowhere else; every decision they carry out
is made by the pure objects they hold (Segmenter, StreamingTranscriber,
StreamOrder). The consumer reads :meth:`Pipeline.events` on its own thread.
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from assistant.asr.config import StreamingConfig
from assistant.asr.requests import DecodeRequest
from assistant.asr.worker import AsrWorker, Decoder
from assistant.errors import TurnaroundError
from assistant.events import (
    Event,
    PartialTranscript,
    PipelineState,
    RawAudio,
    Speaker,
    Status,
)
from assistant.pipeline.ordering import StreamOrder
from assistant.pipeline.routes import AudioSource, Route
from assistant.pipeline.source_worker import SourceWorker
from assistant.vad.segmenter import VadConfig

# Events waiting for the consumer. Partials are dropped when it is full (a newer
# one is always coming); finals and everything else wait for room.
EVENT_QUEUE_SIZE = 1024


class Asr(Protocol):
    """What the pipeline needs of whoever runs its decodes: its own ``AsrWorker``,
    or a lane of a scheduler shared by many calls (``assistant.scale``)."""

    dropped_partials: int

    def start(self) -> None: ...

    def submit(self, request: DecodeRequest) -> None: ...

    @property
    def pending_finals(self) -> int: ...

    def stop(self) -> None: ...


# Builds the pipeline's ASR from its decoder and its error callback.
AsrFactory = Callable[..., Asr]


@dataclass
class PipelineConfig:
    vad: VadConfig = field(default_factory=VadConfig)
    streaming: StreamingConfig = field(default_factory=StreamingConfig)
    # None: the pipeline's own AsrWorker thread. The team server passes a factory
    # so that many calls share one scheduler (in-process or on Ray Serve).
    asr: AsrFactory | None = None


# The end of a pipeline's event queue (every source ended and flushed).
DONE = object()


def drain(events: queue.Queue[object], timeout_s: float | None) -> Iterator[Event]:
    """A pipeline's events in order until ``DONE``, or until ``timeout_s`` passes
    without one."""
    while True:
        try:
            item = events.get(timeout=timeout_s)
        except queue.Empty:
            return
        if item is DONE:
            return
        yield item  # type: ignore[misc]


class Pipeline:
    def __init__(
        self, routes: list[Route], decoder: Decoder, config: PipelineConfig | None = None
    ) -> None:
        if not routes:
            raise TurnaroundError("no audio input to listen to")
        self.config = config or PipelineConfig()
        self.asr = (self.config.asr or AsrWorker)(decoder, on_error=self._asr_error)
        self._events: queue.Queue[object] = queue.Queue(maxsize=EVENT_QUEUE_SIZE)
        self._order = StreamOrder(route.speaker for route in routes)
        self._order_lock = threading.Lock()
        self.dropped_partials = 0
        self.error: Exception | None = None
        self._paused = threading.Event()
        self._stop_reason = "end of input"
        self._sources: dict[int, AudioSource] = {}
        self._workers: list[SourceWorker] = []
        by_source: dict[int, list[SourceWorker]] = {}
        for index, route in enumerate(routes):
            worker = SourceWorker(
                speaker=route.speaker,
                channel=route.channel,
                in_rate_hz=route.source.sample_rate_hz,
                realtime=route.source.realtime,
                submit=self.asr.submit,
                emit=self._emit,
                on_progress=self._on_progress,
                on_finished=self._on_finished,
                backlog=lambda: self.asr.pending_finals,
                paused=self._paused.is_set,
                vad_config=self.config.vad,
                streaming_config=self.config.streaming,
                utterance_ids=itertools.count(index + 1, len(routes)),
            )
            self._workers.append(worker)
            self._sources[id(route.source)] = route.source
            by_source.setdefault(id(route.source), []).append(worker)
        self._fanout = by_source
        self._watcher = threading.Thread(target=self._watch, name="pipeline-watch", daemon=True)

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        self.asr.start()
        for worker in self._workers:
            worker.start()
        for key, source in self._sources.items():
            workers = self._fanout[key]
            source.start(self._sink_for(workers), self._end_for(workers))
        self._emit_now(
            Status(PipelineState.LISTENING, ", ".join(s.name for s in self._sources.values()))
        )
        self._watcher.start()

    def stop(self) -> None:
        """Stop capturing; queued audio is still transcribed, then events() ends."""
        self._stop_reason = "stopped"
        for source in self._sources.values():
            source.stop()
        for workers in self._fanout.values():
            for worker in workers:
                worker.end()

    def pause(self) -> None:
        """Stop listening (the audio is not even looked at); what was being said
        is finished and transcribed. The sources and the session go on."""
        self._paused.set()
        for worker in self._workers:
            worker.pause()
        self._emit_now(Status(PipelineState.PAUSED, "listening paused"))

    def resume(self) -> None:
        self._paused.clear()
        self._emit_now(Status(PipelineState.LISTENING, "listening resumed"))

    @property
    def lag_s(self) -> float:
        """How far the slowest live stream is behind real time (0 for fast replay)."""
        return max((w.lag_s for w in self._workers), default=0.0)

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def events(self, timeout_s: float | None = None) -> Iterator[Event]:
        """Yield events in order until every source has ended and been flushed."""
        return drain(self._events, timeout_s)

    # -- plumbing ----------------------------------------------------------------
    def _sink_for(self, workers: list[SourceWorker]):
        def sink(block: RawAudio) -> None:
            if self._paused.is_set():
                return  # paused: the audio is not even looked at
            for worker in workers:
                worker.put(block)

        return sink

    def _end_for(self, workers: list[SourceWorker]):
        def on_end(error: Exception | None) -> None:
            for worker in workers:
                worker.end(error)

        return on_end

    def _emit(self, speaker: Speaker, event: Event) -> None:
        """A stream event, released in stream order (``StreamOrder``)."""
        if isinstance(event, Status):
            self._emit_now(event)
            return
        with self._order_lock:
            self._put(self._order.emit(speaker, event))

    def _emit_now(self, event: Event) -> None:
        """An event not tied to the stream clock (status, errors)."""
        with self._order_lock:
            self._put([event])

    def _put(self, events: list[Event]) -> None:
        """Hand events to the consumer, in order: the caller holds the order lock,
        so two workers' releases never interleave. A full queue blocks the worker
        (back-pressure), except for partials, which a newer one replaces anyway."""
        for event in events:
            if isinstance(event, PartialTranscript):
                try:
                    self._events.put_nowait(event)
                except queue.Full:
                    self.dropped_partials += 1
            else:
                self._events.put(event)

    def _on_progress(self, speaker: Speaker, settled_s: float) -> None:
        with self._order_lock:
            self._put(self._order.progress(speaker, settled_s))

    def _on_finished(self, speaker: Speaker) -> None:
        """A stream ended: it no longer holds the others back."""
        self._on_progress(speaker, math.inf)

    def _asr_error(self, message: str) -> None:
        self._emit_now(Status(PipelineState.ERROR, message))

    def _watch(self) -> None:
        for worker in self._workers:
            worker.join()
        errors = [w.error for w in self._workers if w.error is not None]
        if errors:
            self.error = errors[0]
            self._emit_now(Status(PipelineState.ERROR, str(errors[0])))
        for source in self._sources.values():
            source.stop()
        self.asr.stop()
        self._emit_now(
            Status(
                PipelineState.STOPPED,
                self._stop_reason,
                dropped_partials=self.asr.dropped_partials + self.dropped_partials,
                dropped_audio_s=sum(w.dropped_audio_s for w in self._workers),
            )
        )
        self._events.put(DONE)


def wait_for(pipeline: Pipeline, timeout_s: float) -> list[Event]:
    """Collect every event of a finite run (tests, benchmarks)."""
    deadline = time.monotonic() + timeout_s
    out: list[Event] = []
    for event in pipeline.events(timeout_s=max(0.1, deadline - time.monotonic())):
        out.append(event)
        if time.monotonic() > deadline:
            break
    return out
