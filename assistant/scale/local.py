"""Decoding in this process (``turnaround serve --asr local``), and the decoder
every call's session is given when a scheduler decodes for it.

``LocalBackend`` holds ``workers`` decoders, one per dispatch thread. One decoder
with both cores' threads is what a single machine needs.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from assistant.asr.models import ModelSpec
from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.results import DecodeResult
from assistant.events import Speaker
from assistant.scale.batch import BatchDecoder
from assistant.scale.jobs import DecodeJob
from assistant.scale.scheduler import DecodeScheduler, Notice, Proceed

# First-text decodes per batch: batch 4 gave 1.4 times the decodes per CPU-second
# of batch 1 on 2 cores, batch 8 no more at twice the wait (docs/team-server.md).
DEFAULT_BATCH = 4
# A decode through SharedDecoder waits at most this long (a replica restarting).
SHARED_DECODE_TIMEOUT_S = 120.0


class LocalBackend:
    def __init__(
        self,
        spec: ModelSpec,
        workers: int = 1,
        cpu_threads: int = 2,
        max_batch: int = DEFAULT_BATCH,
    ) -> None:
        self.spec = spec
        self.slots = max(1, workers)
        self.max_batch = max(1, max_batch)
        self._free: queue.SimpleQueue[BatchDecoder] = queue.SimpleQueue()
        self.load_s = 0.0
        for _ in range(self.slots):
            decoder = BatchDecoder(spec, cpu_threads=cpu_threads)
            decoder.warm_up()
            self.load_s += decoder.load_s + decoder.warmup_s
            self._free.put(decoder)

    def decode(
        self, jobs: list[DecodeJob], notice: Notice, proceed: Proceed | None = None
    ) -> list[DecodeResult | None]:
        decoder = self._free.get()
        try:
            return list(decoder.decode_many(jobs, proceed))
        finally:
            self._free.put(decoder)

    def describe(self) -> dict[str, Any]:
        return {"backend": "local", "decoders": self.slots, "batch": self.max_batch}

    def close(self) -> None:
        """Nothing to release: the decoders go with the process."""


class SharedDecoder:
    """The ``Decoder`` a call's session is built with when a scheduler decodes for
    it: it names the model (the session file's ``model``, the page's status line)
    and decodes through the scheduler, as a final, for anything that asks one
    directly (a stock ``AsrWorker`` over it works too, one call at a time)."""

    def __init__(self, spec: ModelSpec, scheduler: DecodeScheduler) -> None:
        self.spec = spec
        self._scheduler = scheduler
        self._lane = scheduler.lane()
        self.load_s = 0.0
        self.warmup_s = 0.0

    def decode(
        self,
        audio: np.ndarray,
        prefix: Sequence[int] = (),
        context: Sequence[int] = (),
        timestamps: bool = True,
        offline: bool = False,
        proceed: Callable[[], bool] | None = None,  # the scheduler asks before it starts
    ) -> DecodeResult:
        done = threading.Event()
        box: list[DecodeResult | None] = []

        def reply(_request: DecodeRequest, result: DecodeResult | None) -> None:
            box.append(result)
            done.set()

        audio = np.asarray(audio, dtype=np.float32)
        request = DecodeRequest(
            kind=DecodeKind.FINAL,
            speaker=Speaker.UNKNOWN,
            utterance_id=0,
            version=0,
            audio=audio,
            start_s=0.0,
            end_s=len(audio) / 16000,
            requested_wall=time.monotonic(),
            reply=reply,
            prefix=tuple(prefix),
            context=tuple(context),
            offline=offline,
        )
        self._lane.submit(request)
        if not done.wait(SHARED_DECODE_TIMEOUT_S) or not box or box[0] is None:
            raise RuntimeError("no decoder answered in time")
        result = box[0]
        if result.failed:
            raise RuntimeError("the decode failed")
        return result
