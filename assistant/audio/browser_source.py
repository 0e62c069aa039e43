"""Audio captured by the overlay page (``turnaround live --browser``), as sources.

The page streams the microphone and the call's tab as 16 kHz frames over its
websocket; the server hands each frame to :meth:`BrowserSource.push`. What a sound
card never does, a page does all the time: an input starts late (the tab is picked
after the microphone), stops (sharing ended, the tab closed), or vanishes with the
page (a reload, a dropped connection) and comes back. The pipeline's stream clock
is samples received, so a missing input would fall behind the other one and hold
back the ordered stream (and the no-audio watchdog would call it unplugged).

So the sources of one run share a :class:`CaptureTimeline`, which keeps every input
at the same place on the call's clock: an input that is sending is the clock; one
that is not (not shared yet, stopped, between reconnects) is filled with silence up
to where the others are, or, with none sending, up to where the wall clock says the
call is. The audio of a gap is lost, and nothing else: the stream times of what
comes after stay right, and both speakers stay aligned.

Nothing here is ever written to disk.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from assistant.events import RawAudio

SAMPLE_RATE_HZ = 16000
# The filler's period: one VAD frame, so a silent input never lags by more.
FILL_TICK_S = 0.032
# An input that has sent nothing for this long is silent, and is filled: frames come
# every 32 ms, a busy page's main thread can hold a few back (a garbage collection,
# a layout), and waiting longer would hold back the other speaker's captions.
LIVE_HOLD_S = 0.5
# Silence goes to the pipeline in blocks of at most this much.
FILL_BLOCK_S = 0.5
# A filler tick this late means the process was stopped (SIGSTOP, a suspended
# laptop): the call's clock goes on from where it was, without hours of silence.
STALL_S = 1.0
# Frames that arrive before the pipeline starts are kept, up to this much, and
# handed over as one block when it does: the first Listen builds the session (the
# coach's models, a VAD per speaker), which took 2-3 s on a loaded 2-core machine,
# and the first words were lost with a 2 s allowance.
PRESTART_S = 10.0

Sink = Callable[[RawAudio], None]


class BrowserSource:
    """One input of the page (the microphone or the call), as an ``AudioSource``."""

    realtime = True
    sample_rate_hz = SAMPLE_RATE_HZ
    channels = 1

    def __init__(self, name: str, timeline: CaptureTimeline) -> None:
        self.name = name
        self._timeline = timeline
        self._sink: Sink | None = None
        self.sending = False  # the page says this input is live
        self.emitted = 0  # samples handed to the pipeline (real and filled)
        self.received = 0  # real samples from the page
        self.filled = 0  # samples of silence put in for gaps
        self.last_frame_s = -1e9  # monotonic arrival of the latest frame
        self._early: deque[np.ndarray] = deque()
        self._early_n = 0
        timeline.add(self)

    # -- AudioSource ------------------------------------------------------------------

    def start(self, sink: Sink, on_end: Callable[[Exception | None], None]) -> None:
        """``on_end`` is never called: a page that goes away may come back, and the
        session lasts until the user stops it."""
        self._timeline.start(self, sink)

    def stop(self) -> None:
        self._timeline.stop(self)

    # -- from the server --------------------------------------------------------------

    def push(self, pcm: bytes, captured_wall: float, now: float | None = None) -> None:
        """One frame of int16 little-endian samples from the page."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        self._timeline.push(self, samples, captured_wall, time.monotonic() if now is None else now)

    def set_sending(self, sending: bool) -> None:
        """The page says this input started or stopped: a stopped one is filled at
        once, without waiting ``LIVE_HOLD_S`` for frames that will not come."""
        self._timeline.set_sending(self, sending)

    @property
    def stream_s(self) -> float:
        return self.emitted / SAMPLE_RATE_HZ

    # -- the timeline's side (under its lock) -----------------------------------------

    def _hand(self, samples: np.ndarray, captured_wall: float) -> None:
        if self._sink is None:
            self._early.append(samples)
            self._early_n += len(samples)
            while self._early_n > PRESTART_S * SAMPLE_RATE_HZ:
                self._early_n -= len(self._early.popleft())
            return
        self.emitted += len(samples)
        self._sink(RawAudio(samples[:, None], SAMPLE_RATE_HZ, captured_wall))

    def _started(self, sink: Sink, now: float) -> None:
        self._sink = sink
        if self._early:
            # One block, not hundreds: a live source's queue holds two seconds of
            # 32 ms blocks and drops the oldest beyond that.
            self._hand(np.concatenate(list(self._early)), now)
            self._early.clear()
        self._early_n = 0


class CaptureTimeline:
    """The call's clock for the browser sources of one run, and the filler thread
    that keeps a silent input level with it (see the module docstring). Pure apart
    from that thread: :meth:`tick` does the work and takes the time as an argument."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, filler: bool = True) -> None:
        """``filler=False``: no thread; the caller calls :meth:`tick` (tests)."""
        self._clock = clock
        self._filler = filler
        self._lock = threading.Lock()
        self._sources: list[BrowserSource] = []
        self._running: set[int] = set()
        # Where the call's clock was (samples) at a wall time: updated by every real
        # frame, so with nobody sending the clock runs on from the last one.
        self._anchor_samples = 0.0
        self._anchor_wall: float | None = None
        self._last_tick: float | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def add(self, source: BrowserSource) -> None:
        self._sources.append(source)

    def start(self, source: BrowserSource, sink: Sink) -> None:
        with self._lock:
            now = self._clock()
            if self._anchor_wall is None:
                self._anchor_wall = now
            source._started(sink, now)
            self._advance(source, now)  # what came before the start counts too
            self._running.add(id(source))
            if self._thread is None and self._filler:
                self._thread = threading.Thread(
                    target=self._run, name="browser-capture-fill", daemon=True
                )
                self._thread.start()

    def stop(self, source: BrowserSource) -> None:
        with self._lock:
            self._running.discard(id(source))
            source._sink = None
            if not self._running:
                self._stopped.set()

    def push(
        self, source: BrowserSource, samples: np.ndarray, captured_wall: float, now: float
    ) -> None:
        with self._lock:
            if not source.sending:
                source.sending = True
            source.received += len(samples)
            source.last_frame_s = now
            source._hand(samples, captured_wall)
            if source._sink is not None:
                self._advance(source, now)

    def _advance(self, source: BrowserSource, now: float) -> None:
        """The clock only moves forward: an input that got ahead (a burst of late
        audio, up to the rate cap's allowance; the audio kept before the start)
        carries it on from there, so an input that is not sending is still fed at
        real time and never looks unplugged to the pipeline's watchdog while the
        others catch up."""
        if source.emitted >= self._projected(now):
            self._anchor_samples, self._anchor_wall = float(source.emitted), now

    def set_sending(self, source: BrowserSource, sending: bool) -> None:
        with self._lock:
            source.sending = sending
            if not sending:
                source.last_frame_s = -1e9
        if not sending:
            self.tick(self._clock())

    def position(self, now: float) -> float:
        """Where the call is on its clock (samples): the furthest input that is
        sending, or where the furthest frame so far puts it by the wall clock,
        whichever is further."""
        live = [float(s.emitted) for s in self._started() if self._is_live(s, now)]
        return max([*live, self._projected(now)])

    def _projected(self, now: float) -> float:
        """The furthest frame's place plus the wall time since it came."""
        if self._anchor_wall is None:
            return 0.0
        return self._anchor_samples + (now - self._anchor_wall) * SAMPLE_RATE_HZ

    def tick(self, now: float) -> None:
        """Fill every input that is not sending up to the call's clock."""
        with self._lock:
            stalled = self._last_tick is not None and now - self._last_tick > STALL_S
            if stalled and self._anchor_wall is not None and self._last_tick is not None:
                # The process was stopped: the clock goes on from where it was.
                self._anchor_wall += now - self._last_tick
            self._last_tick = now
            target = self.position(now)
            block = int(FILL_BLOCK_S * SAMPLE_RATE_HZ)
            for source in self._started():
                if self._is_live(source, now):
                    continue
                missing = int(target) - source.emitted
                while missing > 0:
                    n = min(missing, block)
                    source.filled += n
                    source._hand(np.zeros(n, dtype=np.float32), now)
                    missing -= n

    def _started(self) -> list[BrowserSource]:
        return [s for s in self._sources if id(s) in self._running]

    @staticmethod
    def _is_live(source: BrowserSource, now: float) -> bool:
        return source.sending and now - source.last_frame_s < LIVE_HOLD_S

    def _run(self) -> None:
        while not self._stopped.wait(FILL_TICK_S):
            self.tick(self._clock())
