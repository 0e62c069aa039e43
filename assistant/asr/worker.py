"""The ASR worker thread: the only place Whisper runs.

Scheduling: finals first, in arrival order, never dropped. Partials are kept one per
speaker (a newer request replaces an older one: only the latest caption matters)
and dropped when they have waited longer than ``stale_partial_s`` -- under overload
the caption skips ahead instead of the whole loop falling behind real time. A final
never waits behind a partial's text: a partial whose encoder pass ends while a
final waits gives its turn up (the next re-decode, 0.4 s later, covers the same
words and more).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.results import DecodeAbandoned, DecodeResult
from assistant.events import Speaker

log = logging.getLogger(__name__)

# A partial older than this describes audio the speaker has already moved past.
STALE_PARTIAL_S = 0.75


class Decoder(Protocol):
    """What the worker needs from a model (WhisperDecoder, or a test double)."""

    def decode(
        self,
        audio: np.ndarray,
        prefix: Sequence[int] = (),
        context: Sequence[int] = (),
        timestamps: bool = True,
        offline: bool = False,
        proceed: Callable[[], bool] | None = None,
    ) -> DecodeResult: ...


class AsrWorker:
    def __init__(
        self,
        decoder: Decoder,
        stale_partial_s: float = STALE_PARTIAL_S,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._decoder = decoder
        self._stale_partial_s = stale_partial_s
        self._on_error = on_error or (lambda msg: log.error("%s", msg))
        self._finals: deque[DecodeRequest] = deque()
        self._partials: dict[Speaker, DecodeRequest] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._busy = False
        self.dropped_partials = 0
        self.skipped_finals = 0
        self.decode_times: deque[tuple[str, float, float]] = deque(maxlen=2000)
        self.busy_s = 0.0
        self._thread = threading.Thread(target=self._run, name="asr-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, request: DecodeRequest) -> None:
        """Called from source workers; never blocks on a decode."""
        dropped: DecodeRequest | None = None
        with self._cond:
            if request.kind is DecodeKind.FINAL:
                self._finals.append(request)
            else:
                dropped = self._partials.get(request.speaker)
                self._partials[request.speaker] = request
                if dropped is not None:
                    self.dropped_partials += 1
            self._cond.notify()
        if dropped is not None:
            dropped.reply(dropped, None)

    @property
    def pending_finals(self) -> int:
        with self._cond:
            return len(self._finals) + (1 if self._busy else 0)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        # Finals are never dropped: let the queued ones finish (the thread exits
        # when the queue is empty and _stopping is set).
        self._thread.join(timeout=120)

    def _no_final_waits(self) -> bool:
        """Asked by a partial's decode after its encoder pass (a read of the deque's
        length: a stale answer only costs one partial or one short wait)."""
        return not self._finals

    def _next(self) -> DecodeRequest | None:
        with self._cond:
            while not (self._finals or self._partials or self._stopping):
                self._cond.wait()
            if self._finals:
                self._busy = True
                return self._finals.popleft()
            if self._partials:
                speaker = min(self._partials, key=lambda s: self._partials[s].requested_wall)
                self._busy = True
                return self._partials.pop(speaker)
            return None

    def _run(self) -> None:
        while True:
            request = self._next()
            if request is None:
                return
            result: DecodeResult | None = None
            try:
                if (
                    request.kind is DecodeKind.PARTIAL
                    and time.monotonic() - request.requested_wall > self._stale_partial_s
                ):
                    self.dropped_partials += 1
                elif not request.wanted():
                    self.skipped_finals += 1  # a speculative final overtaken by speech
                else:
                    started = time.perf_counter()
                    try:
                        result = self._decoder.decode(
                            request.audio,
                            request.prefix,
                            request.context,
                            offline=request.offline,
                            proceed=request.wanted if request.offline else self._no_final_waits,
                        )
                    finally:  # an abandoned decode kept the worker busy too
                        elapsed = time.perf_counter() - started
                        self.busy_s += elapsed
                    self.decode_times.append((request.kind.value, result.audio_s, elapsed))
            except DecodeAbandoned:
                if request.kind is DecodeKind.FINAL:
                    self.skipped_finals += 1  # overtaken by speech while it ran
                else:
                    self.dropped_partials += 1  # gave way to a final that came in
            except Exception as exc:  # a decode must never kill the worker
                self._on_error(f"decode failed: {exc}")
                if request.kind is DecodeKind.FINAL:
                    result = DecodeResult("", 0.0, 1.0, 0.0, 0.0, failed=True)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
            request.reply(request, result)
