"""The harness every timed section runs a session through.

A session is built by ``assistant.assemble.assemble`` -- exactly the wiring the
``turnaround`` command uses -- over a recording, and every event it emits is kept
with the wall time the consumer received it. Sources are wrapped to learn when the
replay started (so a scripted speech end becomes a wall time), or paced to a fixed
speed for long calls.

"End of speech" is measured two ways and both are reported by the sections:

* **true**: where the script says the speech ended (``sample_call.json``, the
  recordings' reference timings). Its wall time is the replay's start plus that
  stream position, because ``FileSource`` paces every block from its own start. The
  start is learnt by watching the blocks go by: ``captured_wall - position`` is the
  start plus however late that block was, so the minimum over all blocks is the
  start itself.
* **vad**: ``FinalTranscript.speech_end_wall``, the end the VAD saw (a frame or two
  later than the true end).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.asr.config import StreamingConfig
from assistant.assemble import Assembly, assemble
from assistant.events import Event, RawAudio
from assistant.pipeline.core import PipelineConfig
from assistant.pipeline.routes import Route, file_routes
from assistant.pipeline.runner import Handler, Session, SessionOptions

# How often the audio lag and the finals waiting are polled during a run.
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
    """One assembled session and everything it emitted, with receipt times."""

    name: str
    source: TappedSource
    assembly: Assembly = field(init=False)
    events: list[tuple[float, Event]] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def session(self) -> Session:
        return self.assembly.session

    def handler(self, event: Event) -> None:
        self.events.append((time.monotonic(), event))

    def of(self, kind: type) -> list[Any]:
        return [e for _, e in self.events if isinstance(e, kind)]


def make_session(
    path: Path,
    decoder: Any,
    realtime: bool,
    partials: bool,
    playbook: Any = None,
    mix: bool = False,
    speed: float | None = None,
    server: Any = None,
    handlers: Sequence[Handler] = (),
) -> StreamRecord:
    """A session over ``path`` as ``turnaround replay`` builds it; ``playbook`` None
    means captions only, ``server`` an overlay server (already listening) to attach,
    ``handlers`` consumers that run before the recording of events."""
    routes = file_routes(path, realtime, mix=mix)
    source = routes[0].source
    tap = TappedSource(PacedSource(source, speed) if speed else source)
    routes = [Route(tap, r.speaker, r.channel) for r in routes]
    options = SessionOptions(
        quiet=True, pipeline=PipelineConfig(streaming=StreamingConfig(partials=partials))
    )
    record = StreamRecord(path.name, tap)
    record.assembly = assemble(
        routes,
        options,
        playbook=playbook,
        decoder=decoder,
        server=server,
        handlers=[*handlers, record.handler],
    )
    return record


def run_sessions(records: list[StreamRecord], timeout_s: float = 3600) -> dict[str, Any]:
    """Run the sessions concurrently; poll how far behind real time they run."""
    lag: list[tuple[float, float, int]] = []  # (wall, worst audio lag, finals waiting)
    done = threading.Event()

    def run(rec: StreamRecord) -> None:
        try:
            rec.assembly.run()
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
