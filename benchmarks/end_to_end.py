"""End to end: replay real speech through the real pipeline and measure what a user
would see.

Each stream is a :class:`assistant.pipeline.session.Session` fed by ``FileSource`` (real-time
pacing, exactly as ``turnaround replay`` does) with the suggestion engine attached,
run on its own thread; N concurrent streams are N sessions, each with its own
decoder, in this one process (the worst case: all of them talk at the same time).

"End of speech" is measured two ways and both are reported:

* **true**: where the script says the speech ended (``sample_call.json``, the AMI
  reference timings). Its wall time is the replay's start plus that stream position,
  because ``FileSource`` paces every block from its own start. We learn the start by
  watching the blocks go by: ``captured_wall - position`` is the start plus however
  late that block was, so the minimum over all blocks is the start itself.
* **vad**: ``FinalTranscript.speech_end_wall``, the end the VAD saw (a frame or two
  later than the true end).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.asr.config import StreamingConfig
from assistant.events import (
    Event,
    RawAudio,
)
from assistant.pipeline.core import PipelineConfig
from assistant.pipeline.routes import Route
from assistant.pipeline.session import Handler, Session, SessionOptions

from .common import CORES, ResourceSampler, percentiles, say
from .latency import analyse, lag_summary

LAG_POLL_S = 0.25


class TappedSource:
    """Wraps an AudioSource to learn the wall time at which its replay started."""

    def __init__(self, source: Any) -> None:
        self.inner = source
        self.name = source.name
        self.sample_rate_hz = source.sample_rate_hz
        self.channels = source.channels
        self.realtime = source.realtime
        self.start_wall = math.inf
        self.audio_s = 0.0

    def start(self, sink: Callable[[RawAudio], None], on_end: Callable[..., None]) -> None:
        def tapped(block: RawAudio) -> None:
            self.audio_s += len(block.samples) / block.sample_rate_hz
            self.start_wall = min(self.start_wall, block.captured_wall - self.audio_s)
            sink(block)

        self.inner.start(tapped, on_end)

    def stop(self) -> None:
        self.inner.stop()


class PacedSource:
    """A fast ``FileSource`` held to ``speed`` times real time.

    Unpaced, a fast replay reads only as fast as the decoder clears its finals, so
    every final waits behind the one before and its latency measures that backlog;
    paced just below what the decoder sustains, each figure is the decode's own.
    Blocks are re-stamped when handed over, as a device would.
    """

    def __init__(self, source: Any, speed: float) -> None:
        self.inner = source
        self.speed = speed
        self.name = source.name
        self.sample_rate_hz = source.sample_rate_hz
        self.channels = source.channels
        self.realtime = False  # blocking inbox, no partials: fast-replay semantics

    def start(self, sink: Callable[[RawAudio], None], on_end: Callable[..., None]) -> None:
        t0: list[float] = []
        done = [0.0]

        def paced(block: RawAudio) -> None:
            if not t0:
                t0.append(time.monotonic())
            done[0] += len(block.samples) / block.sample_rate_hz
            delay = t0[0] + done[0] / self.speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sink(RawAudio(block.samples, block.sample_rate_hz, time.monotonic()))

        self.inner.start(paced, on_end)

    def stop(self) -> None:
        self.inner.stop()


@dataclass
class StreamRecord:
    """Everything one session emitted, with the consumer's receipt time."""

    name: str
    source: TappedSource
    session: Session
    events: list[tuple[float, Event]] = field(default_factory=list)
    error: BaseException | None = None

    def handler(self, event: Event) -> None:
        self.events.append((time.monotonic(), event))

    def of(self, kind: type) -> list[Any]:
        return [e for _, e in self.events if isinstance(e, kind)]


def make_session(
    path: Path,
    decoder: Any,
    realtime: bool,
    partials: bool,
    extra_handlers: list[Handler] | None = None,
    playbook: Any = None,
    mix: bool = False,
    speed: float | None = None,
) -> StreamRecord:
    """One session over ``path``; ``playbook`` None means captions only (no coach)."""
    from assistant.pipeline.routes import file_routes

    routes = file_routes(path, realtime, mix=mix)
    source = routes[0].source
    tap = TappedSource(PacedSource(source, speed) if speed else source)
    routes = [Route(tap, r.speaker, r.channel) for r in routes]
    handlers: list[Handler] = []
    if playbook is not None:
        from assistant.coach.engine import SuggestionEngine

        handlers.append(SuggestionEngine(playbook).feed)  # ignores what it does not use
    opts = SessionOptions(
        quiet=True, pipeline=PipelineConfig(streaming=StreamingConfig(partials=partials))
    )
    session = Session(routes, opts, handlers, decoder=decoder)
    record = StreamRecord(path.name, tap, session)
    session.handlers.append(record.handler)
    session.handlers.extend(extra_handlers or [])
    return record


def run_sessions(records: list[StreamRecord], timeout_s: float = 3600) -> dict[str, Any]:
    """Run the sessions concurrently; poll how far behind real time they run."""
    lag: list[tuple[float, float, int]] = []  # (wall, worst audio lag, finals waiting)
    done = threading.Event()

    def run(rec: StreamRecord) -> None:
        try:
            rec.session.run()
        except BaseException as exc:  # reported, never swallowed
            rec.error = exc

    def poll() -> None:
        while not done.wait(LAG_POLL_S):
            worst = max((r.session.pipeline.lag_s for r in records), default=0.0)
            waiting = sum(r.session.pipeline.asr.pending_finals for r in records)
            lag.append((time.monotonic(), worst, waiting))

    threads = [threading.Thread(target=run, args=(r,), daemon=True) for r in records]
    poller = threading.Thread(target=poll, daemon=True)
    started = time.monotonic()
    poller.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, timeout_s - (time.monotonic() - started)))
    done.set()
    poller.join()
    for rec in records:
        if rec.error is not None:
            raise RuntimeError(f"{rec.name}: session failed: {rec.error}") from rec.error
    return {"wall_s": time.monotonic() - started, "lag": lag, "started": started}


def unthrottled(name: str = "sales-call") -> Any:
    """A built-in playbook with its anti-nag limits lifted: every signal that passes
    its rule becomes a card. The card path (engine -> server -> page) is the same;
    there are just enough cards in one call to give a latency distribution (the real
    sales-call playbook shows one card in the 76 s sample call)."""
    from dataclasses import replace

    from assistant.coach.playbook import load_playbook

    pb = load_playbook(name)
    limits = replace(
        pb.limits,
        min_gap_s=0.0,
        max_cards_per_minute=10_000,
        default_cooldown_s=0.0,
        repeat_prompt_after_s=0.0,
    )
    return replace(pb, limits=limits, rules=tuple(replace(r, cooldown_s=0.0) for r in pb.rules))


def realtime_run(
    paths: list[Path],
    decoders: list[Any],
    truth: list[dict[str, Any]] | None,
    label: str,
    browser: Any = None,
    playbook: Any = None,
    mix: bool = False,
) -> dict[str, Any]:
    """N concurrent real-time sessions (one per path); figures pooled over streams."""
    say(
        f"{label}: replaying {len(paths)} stream(s) in real time "
        f"({sum(_duration(p) for p in paths) / len(paths):.0f} s each)"
    )
    records = [
        make_session(
            p,
            d,
            realtime=True,
            partials=True,
            playbook=playbook,
            mix=mix,
            extra_handlers=[browser.handler] if browser is not None and i == 0 else None,
        )
        for i, (p, d) in enumerate(zip(paths, decoders, strict=True))
    ]
    with ResourceSampler() as sampler:
        run = run_sessions(records)
    cpu_share = sampler.cpu_share()
    if browser is not None:
        browser.settle()
    per_stream = [
        analyse(r, truth, browser.latencies if browser is not None and i == 0 else None)
        for i, r in enumerate(records)
    ]
    pooled = _pool(per_stream)
    t_speech = _speech_spans(records, truth)
    pooled.update(
        wall_s=round(run["wall_s"], 2),
        cpu_share=round(cpu_share, 4),
        cpu_share_speaking=_round(sampler.cpu_share_during(t_speech)),
        peak_rss_mb=round(sampler.peak_rss_mb, 1),
        cpu_s_per_audio_s=round(
            cpu_share * CORES * run["wall_s"] / max(per_stream[0]["audio_s"], 1e-9), 4
        ),
        cpu_by_thread=sampler.cpu_by_thread(),
        lag=lag_summary(run["lag"], run["started"]),
        resources=sampler.timeline(run["started"]),
        streams=len(paths),
    )
    say(
        f"{label}: final p50/p95 {pooled['final_true_s']['p50']}/{pooled['final_true_s']['p95']} s"
        f" (true end), CPU {cpu_share * 100:.0f}% of {CORES} cores"
    )
    return pooled


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _duration(path: Path) -> float:
    from assistant.audio.file_source import declared_duration_s

    return declared_duration_s(path) or 0.0


def _speech_spans(
    records: list[StreamRecord], truth: list[dict[str, Any]] | None
) -> list[tuple[float, float]]:
    """Wall spans in which the script says someone speaks (any stream)."""
    spans = []
    for rec in records:
        t0 = rec.source.start_wall
        spans += [(t0 + line["start"], t0 + line["end"]) for line in truth or []]
    return spans


def _pool(per_stream: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentiles over the samples of every stream, counts summed."""
    first = per_stream[0]
    pooled: dict[str, Any] = dict(first)
    if len(per_stream) == 1:
        return pooled
    for key in ("final_true_s", "final_vad_s", "suggestion_true_s"):
        pooled[key] = percentiles(x for s in per_stream for x in s["samples"][key])
    for key in ("finals", "lines", "lines_matched", "cards", "audio_s", "asr_busy_s"):
        pooled[key] = round(sum(s[key] for s in per_stream), 3)
    pooled["dropped_partials"] = sum(s["dropped_partials"] or 0 for s in per_stream)
    pooled["by_length"] = [x for s in per_stream for x in s["by_length"]]
    pooled["samples"] = {
        key: [x for s in per_stream for x in s["samples"][key]] for key in first["samples"]
    }
    pooled["decoder_busy_per_audio_s"] = round(pooled["asr_busy_s"] / pooled["audio_s"], 4)
    return pooled
