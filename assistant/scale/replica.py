"""The Ray Serve deployment: CTranslate2 Whisper replicas for many calls' decodes.

Imported only by the Ray backend (``scale.ray_backend``) and on the replicas
themselves, so Ray stays an optional extra (``pip install 'turnaround[serve]'``).

A replica holds one ``BatchDecoder`` and runs one decode at a time on it (one
model, ``cpu_threads`` threads), behind a gate that lets **finals first**: a final
waiting for the model goes before any batch of partials. First-text decodes
(partials) are batched across calls with ``@serve.batch``; a partial that has
waited longer than the local worker's ``STALE_PARTIAL_S`` since it was requested
(its wait before it was sent included) is dropped here, answered ``None``, as the
local worker drops it. Finals are never dropped.

The decode itself runs on a thread (``asyncio.to_thread``), so the replica's event
loop keeps taking requests, answering health checks and forming the next batch.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ray import serve

from assistant.asr.models import resolve_model
from assistant.asr.results import DecodeResult
from assistant.asr.worker import STALE_PARTIAL_S
from assistant.scale.batch import BatchDecoder
from assistant.scale.gate import FinalsFirst
from assistant.scale.jobs import DecodeJob

# Requests a replica takes before Serve queues the rest at the caller: enough for
# a full batch of partials and the finals of a busy floor. Above Serve's default
# of 5, without which batches of 8 never form (RECIPES.md).
MAX_ONGOING = 16
# How long a batch waits to fill: small next to a decode (~0.1-0.2 s), so an idle
# replica adds no latency; under load the batch fills while the model is busy.
BATCH_WAIT_S = 0.01
DEPLOYMENT = "WhisperReplica"


@serve.deployment(name=DEPLOYMENT, max_ongoing_requests=MAX_ONGOING, health_check_period_s=5.0)
class WhisperReplica:
    def __init__(
        self,
        model: str,
        model_dir: str | None = None,
        cpu_threads: int = 1,
        batch: int = 4,
        device: str = "cpu",
    ) -> None:
        spec = resolve_model(model, Path(model_dir) if model_dir else None)
        self._decoder = BatchDecoder(spec, cpu_threads=cpu_threads, device=device)
        self._decoder.warm_up()
        self._gate = FinalsFirst()
        self._partials.set_max_batch_size(max(1, batch))
        self._partials.set_batch_wait_timeout_s(BATCH_WAIT_S)
        self.decodes = 0
        self.dropped = 0
        self.batch_sizes: Counter[int] = Counter()

    async def decode(self, job: DecodeJob) -> DecodeResult | None:
        if job.final:
            async with self._gate.hold(final=True):
                result = await asyncio.to_thread(self._decoder.decode_job, job)
            self.decodes += 1
            self.batch_sizes[1] += 1
            return result
        return await self._partials(job, time.monotonic())

    @serve.batch(max_batch_size=4, batch_wait_timeout_s=BATCH_WAIT_S)
    async def _partials(
        self, jobs: list[DecodeJob], arrived: list[float]
    ) -> list[DecodeResult | None]:
        out: list[DecodeResult | None] = [None] * len(jobs)
        async with self._gate.hold(final=False):
            now = time.monotonic()
            fresh = [
                i
                for i, (job, at) in enumerate(zip(jobs, arrived, strict=True))
                if job.waited_s + (now - at) <= STALE_PARTIAL_S
            ]
            self.dropped += len(jobs) - len(fresh)
            if fresh:
                results = await asyncio.to_thread(
                    self._decoder.decode_many, [jobs[i] for i in fresh]
                )
                for i, result in zip(fresh, results, strict=True):
                    out[i] = result
                self.decodes += len(fresh)
                self.batch_sizes[len(fresh)] += 1
        return out

    def info(self) -> dict[str, Any]:
        """This replica's process and counters (benchmarks, tests, the team view)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "pid": os.getpid(),
            "decodes": self.decodes,
            "dropped_partials": self.dropped,
            "batch_sizes": dict(self.batch_sizes),
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "max_rss_mb": usage.ru_maxrss / 1024,
        }
