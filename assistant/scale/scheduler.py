"""One decode queue for many calls: what ``AsrWorker`` does for one call, for all.

Every call's pipeline gets a :class:`DecodeLane` (``submit``, ``pending_finals``,
``stop``: the ``AsrWorker`` interface, see ``pipeline.core.Asr``); the lanes share
one :class:`DecodeScheduler`, whose dispatch threads hand decodes to a backend
(decoders in this process, or Ray Serve replicas). The rules are the local
worker's, applied across calls:

* **finals first**, in arrival order, never dropped (a speculative final that
  speech overtook is skipped, as the worker skips it);
* **partials one per speaker** of each call: a newer request replaces the queued
  one; a partial that waited longer than ``STALE_PARTIAL_S`` since it was requested
  is dropped (the caption skips ahead instead of the call falling behind);
* **a partial gives way**: a first-text decode whose encoder pass ends while a
  final waits is answered None (dropped) instead of generating text, where the
  backend can ask (in this process; a Ray replica's batch runs to its end);
* **one decode per speaker at a time**: a speaker's results come back in the order
  its transcriber expects, as they do from the single worker thread;
* first-text decodes of the same encoder window may go to the backend together
  (``Backend.max_batch``), where batching pays (``scale.batch``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.results import DecodeResult
from assistant.asr.worker import STALE_PARTIAL_S
from assistant.events import Speaker
from assistant.scale.jobs import DecodeJob, job_of, window_frames

log = logging.getLogger(__name__)

# A lane's stop waits this long for its last finals (AsrWorker.stop's join).
STOP_TIMEOUT_S = 120.0

Notice = Callable[[str], None]
Proceed = Callable[[], bool]


class Backend(Protocol):
    """Where decodes run. ``slots``: decode calls in flight at once; ``max_batch``:
    first-text jobs one call may carry."""

    slots: int
    max_batch: int

    def decode(
        self, jobs: list[DecodeJob], notice: Notice, proceed: Proceed | None = None
    ) -> list[DecodeResult | None]:
        """Blocking. One result per job; None: a partial dropped as stale by the
        backend, or one that gave way when ``proceed`` (asked after a first-text
        encoder pass) said no. ``notice(why)``: the decode was slow for a reason
        worth telling the call (a replica died and it was retried). Raises when it
        failed."""
        ...

    def describe(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass(eq=False)
class _Item:
    lane: DecodeLane
    request: DecodeRequest

    @property
    def key(self) -> tuple[int, Speaker]:
        return (self.lane.number, self.request.speaker)


@dataclass
class SchedulerStats:
    decodes: int = 0
    batches: int = 0
    dropped_partials: int = 0
    failed: int = 0
    retried: int = 0
    # Finals: every one submitted is answered with text or skipped as overtaken
    # (a failed decode is neither); the replica-death test holds them equal.
    finals_submitted: int = 0
    finals_answered: int = 0
    finals_skipped: int = 0
    finals_in_flight: int = 0
    batch_sizes: deque[int] = field(default_factory=lambda: deque(maxlen=5000))


class DecodeScheduler:
    def __init__(
        self,
        backend: Backend,
        stale_partial_s: float = STALE_PARTIAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.stale_partial_s = stale_partial_s
        self._clock = clock
        self._cond = threading.Condition()
        self._finals: deque[_Item] = deque()
        self._partials: dict[tuple[int, Speaker], _Item] = {}
        self._busy: set[tuple[int, Speaker]] = set()
        self._lanes = 0
        self._closing = False
        self.stats = SchedulerStats()
        self._threads = [
            threading.Thread(target=self._run, name=f"decode-dispatch-{i}", daemon=True)
            for i in range(max(1, backend.slots))
        ]
        for thread in self._threads:
            thread.start()

    def lane(self, on_error: Notice | None = None, on_slow: Notice | None = None) -> DecodeLane:
        with self._cond:
            self._lanes += 1
            number = self._lanes
        return DecodeLane(self, number, on_error, on_slow)

    def factory(self, on_slow: Notice | None = None) -> Callable[..., DecodeLane]:
        """For ``PipelineConfig.asr``: the pipeline calls it with its decoder and
        its error callback, and gets its lane."""

        def make(_decoder: object, on_error: Notice | None = None, **_: object) -> DecodeLane:
            return self.lane(on_error, on_slow)

        return make

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._finals) + len(self._partials)

    def describe(self) -> dict[str, Any]:
        """For the team view: the backend, and what has been decoded and dropped."""
        sizes = list(self.stats.batch_sizes)
        return {
            **self.backend.describe(),
            "queued": self.queued,
            "decodes": self.stats.decodes,
            "mean_batch": round(sum(sizes) / len(sizes), 2) if sizes else None,
            "dropped_partials": self.stats.dropped_partials,
            "retried": self.stats.retried,
            "failed": self.stats.failed,
        }

    def close(self) -> None:
        """Finish what is queued, stop the dispatch threads, close the backend."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(STOP_TIMEOUT_S)
        self.backend.close()

    # -- lanes' side -----------------------------------------------------------------

    def submit(self, lane: DecodeLane, request: DecodeRequest) -> None:
        item = _Item(lane, request)
        replaced: _Item | None = None
        with self._cond:
            if request.kind is DecodeKind.FINAL:
                self._finals.append(item)
                lane._queued_finals += 1
                self.stats.finals_submitted += 1
            else:
                replaced = self._partials.get(item.key)
                self._partials[item.key] = item
                if replaced is not None:
                    lane.dropped_partials += 1
                    self.stats.dropped_partials += 1
                else:
                    lane._queued_partials += 1
            self._cond.notify()
        if replaced is not None:
            replaced.request.reply(replaced.request, None)

    def pending_finals(self, lane: DecodeLane) -> int:
        with self._cond:
            return lane._queued_finals + lane._in_flight

    def wait_idle(self, lane: DecodeLane, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while lane._queued_finals or lane._queued_partials or lane._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # -- dispatch threads --------------------------------------------------------------

    def _take(self, answered: list[_Item]) -> list[_Item] | None:
        """The next decode (or batch of first-text decodes), or None to stop.
        Items dropped or skipped on the way go to ``answered`` (replied None)."""
        with self._cond:
            while True:
                batch = self._next_final(answered) or self._next_partials(answered)
                if batch:
                    for item in batch:
                        self._busy.add(item.key)
                        item.lane._in_flight += 1
                        self.stats.finals_in_flight += item.request.kind is DecodeKind.FINAL
                    return batch
                if answered:
                    return []  # reply to those first, then look again
                if self._closing and not self._finals and not self._partials:
                    return None
                self._cond.wait()

    def _next_final(self, answered: list[_Item]) -> list[_Item]:
        for item in list(self._finals):
            if item.key in self._busy:
                continue
            self._finals.remove(item)
            item.lane._queued_finals -= 1
            if item.request.wanted():
                return [item]
            item.lane.skipped_finals += 1  # a speculative final overtaken by speech
            self.stats.finals_skipped += 1
            answered.append(item)
        return []

    def _next_partials(self, answered: list[_Item]) -> list[_Item]:
        now = self._clock()
        batch: list[_Item] = []
        frames = -1
        limit = max(1, self.backend.max_batch)
        for item in sorted(self._partials.values(), key=lambda i: i.request.requested_wall):
            if item.key in self._busy:
                continue
            stale = now - item.request.requested_wall > self.stale_partial_s
            job_frames = window_frames(len(item.request.audio), item.request.offline)
            if not stale and batch and (len(batch) >= limit or job_frames != frames):
                continue
            del self._partials[item.key]
            item.lane._queued_partials -= 1
            if stale:
                item.lane.dropped_partials += 1
                self.stats.dropped_partials += 1
                answered.append(item)
                continue
            frames = job_frames
            batch.append(item)
        return batch

    def _no_final_waits(self) -> bool:
        """Asked by a first-text decode after its encoder pass (a read of the
        deque's length: a stale answer only costs one partial or one short wait)."""
        return not self._finals

    def _run(self) -> None:
        while True:
            answered: list[_Item] = []
            batch = self._take(answered)
            for item in answered:
                item.request.reply(item.request, None)
            if batch is None:
                return
            if batch:
                self._decode(batch)

    def _decode(self, batch: list[_Item]) -> None:
        now = self._clock()
        jobs = [job_of(item.request, now) for item in batch]
        lanes = list({id(item.lane): item.lane for item in batch}.values())

        def notice(why: str) -> None:
            self.stats.retried += 1
            for lane in lanes:
                lane.slow(why)

        # First text gives way to a final that came in meanwhile (AsrWorker's rule):
        # a final's decode never waits behind a partial's text.
        first_text = all(not job.final for job in jobs)
        proceed = self._no_final_waits if first_text else None
        started = time.perf_counter()
        results: list[DecodeResult | None]
        try:
            results = list(self.backend.decode(jobs, notice, proceed))
            if len(results) != len(jobs):
                raise RuntimeError(f"{len(results)} results for {len(jobs)} decodes")
        except Exception as exc:  # a decode must never kill the dispatcher
            self.stats.failed += 1
            for lane in lanes:
                lane.error(f"decode failed: {exc}")
            results = [
                DecodeResult("", 0.0, 1.0, 0.0, 0.0, failed=True) if job.final else None
                for job in jobs
            ]
        elapsed = time.perf_counter() - started
        with self._cond:
            self.stats.decodes += len(batch)
            self.stats.batches += 1
            self.stats.batch_sizes.append(len(batch))
            for item, result in zip(batch, results, strict=True):
                item.lane.record(item.request, result, elapsed / len(batch))
                if item.request.kind is DecodeKind.FINAL:
                    self.stats.finals_in_flight -= 1
                    self.stats.finals_answered += result is not None and not result.failed
        for item, result in zip(batch, results, strict=True):
            item.request.reply(item.request, result)
        with self._cond:
            for item in batch:
                self._busy.discard(item.key)
                item.lane._in_flight -= 1
            self._cond.notify_all()


class DecodeLane:
    """One call's view of the scheduler, with ``AsrWorker``'s interface and counters."""

    def __init__(
        self,
        scheduler: DecodeScheduler,
        number: int,
        on_error: Notice | None = None,
        on_slow: Notice | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.number = number
        self._on_error = on_error or (lambda msg: log.error("%s", msg))
        self._on_slow = on_slow
        self.dropped_partials = 0
        self.skipped_finals = 0
        self.retried = 0
        self.busy_s = 0.0
        self.decode_times: deque[tuple[str, float, float]] = deque(maxlen=2000)
        # Guarded by the scheduler's lock.
        self._queued_finals = 0
        self._queued_partials = 0
        self._in_flight = 0

    def start(self) -> None:
        """Nothing to start: the scheduler's threads already run."""

    def submit(self, request: DecodeRequest) -> None:
        self.scheduler.submit(self, request)

    @property
    def pending_finals(self) -> int:
        return self.scheduler.pending_finals(self)

    def stop(self) -> None:
        """Finals are never dropped: wait for what this call has queued."""
        if not self.scheduler.wait_idle(self, STOP_TIMEOUT_S):
            self.error("transcription did not finish in time; the last lines may be missing")

    # -- the scheduler's side --------------------------------------------------------

    def record(self, request: DecodeRequest, result: DecodeResult | None, share_s: float) -> None:
        if result is None:
            if request.kind is DecodeKind.PARTIAL:
                self.dropped_partials += 1  # stale by the time a replica had room
                self.scheduler.stats.dropped_partials += 1
            return
        self.busy_s += share_s
        self.decode_times.append((request.kind.value, result.audio_s, share_s))

    def error(self, message: str) -> None:
        try:
            self._on_error(message)
        except Exception:
            log.error("%s", message)

    def slow(self, why: str) -> None:
        self.retried += 1
        if self._on_slow is not None:
            try:
                self._on_slow(why)
            except Exception:
                log.warning("transcription slow: %s", why)
