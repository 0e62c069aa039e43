"""One thread per speaker stream: resample -> VAD -> the speaker's transcriber.

The worker only moves things: raw blocks in (through a bounded queue), speech
probabilities into the ``StreamingTranscriber``, and what it returns out -- events
to the pipeline, decode requests to the ASR worker, decode results back. Every
decision (where utterances end, what is decoded and committed) is the
transcriber's.

For a live device, a full queue drops the *oldest* audio and counts it (the loop
must catch up with real time rather than fall further behind); a replayed file in
fast mode blocks instead, since nothing is lost by waiting.

Two things look like a dead device and are not: **pause** (the pipeline stops
handing over audio on purpose: the open utterance is finished, and the watchdog
waits) and a **stall of the whole process** (SIGSTOP, a laptop's suspend): the
worker's own wake-ups then jump by seconds at once, and the device gets a fresh
start instead of an error.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from assistant.asr.config import StreamingConfig
from assistant.asr.requests import DecodeRequest
from assistant.asr.results import DecodeResult
from assistant.asr.streaming import Output, StreamingTranscriber
from assistant.audio.resample import StreamResampler, select_channel
from assistant.errors import DeviceLostError
from assistant.events import Event, PipelineState, RawAudio, Speaker, Status
from assistant.vad.segmenter import VadConfig
from assistant.vad.silero import FRAME_S, FRAME_SAMPLES, SileroVad

# Two seconds of 32 ms blocks: enough to ride out a long decode on a busy machine;
# beyond that the audio is stale and dropping it is the honest thing to do.
INBOX_BLOCKS = 64
# No audio for this long from a live device that was delivering means it is gone.
DEVICE_STALL_S = 2.0
# Opening a device can take a second or more (PulseAudio through ALSA measured
# ~1.2 s here) before the first block; only then does the stall clock start.
DEVICE_START_S = 10.0
# The worker wakes every frame (32 ms) when idle; a wake-up this late means the
# whole process was stopped or the machine slept, not that the device died.
PROCESS_STALL_S = 1.0
# Say so when the loop runs this far behind the microphone.
LAG_WARNING_S = 1.0
LAG_REPEAT_S = 1.0

# Fast replay reads ahead of the decoder by at most this many queued finals.
MAX_FAST_BACKLOG = 2
# How long end-of-input waits for the last finals before giving up on them.
FINISH_TIMEOUT_S = 120.0
# A blocking hand-over (fast replay) re-checks this often that the worker lives.
PUT_RETRY_S = 0.1


class _Marker:
    """An instruction queued behind the audio (so it applies after what came first)."""

    def __init__(self, name: str) -> None:
        self.name = name


_END = _Marker("end")
_PAUSE = _Marker("pause")


class SourceWorker:
    def __init__(
        self,
        speaker: Speaker,
        channel: int | None,
        in_rate_hz: int,
        realtime: bool,
        submit: Callable[[DecodeRequest], None],
        emit: Callable[[Speaker, Event], None],
        on_progress: Callable[[Speaker, float], None],
        on_finished: Callable[[Speaker], None],
        backlog: Callable[[], int] = lambda: 0,
        paused: Callable[[], bool] = lambda: False,
        vad_config: VadConfig | None = None,
        streaming_config: StreamingConfig | None = None,
        utterance_ids: Iterator[int] | None = None,
    ) -> None:
        self.speaker = speaker
        self.channel = channel
        self.realtime = realtime
        self._submit = submit
        self._emit_to = emit
        self._on_progress = on_progress
        self._on_finished = on_finished
        self._backlog = backlog
        self._paused = paused
        self._inbox: queue.Queue[object] = queue.Queue(maxsize=INBOX_BLOCKS)
        self._results: queue.SimpleQueue[tuple[DecodeRequest, DecodeResult | None]] = (
            queue.SimpleQueue()
        )
        self._ending = threading.Event()
        self._resampler = StreamResampler(in_rate_hz)
        self._vad = SileroVad()
        self.transcriber = StreamingTranscriber(
            speaker, self._reply, streaming_config, vad_config, ids=utterance_ids
        )
        self._buffer = np.zeros(0, dtype=np.float32)
        self._last_wall = time.monotonic()
        self._last_end_s = 0.0  # stream time at the end of the last block received
        self.dropped_audio_s = 0.0
        self.lag_s = 0.0
        self.stalls = 0
        self._behind = False
        self._lag_said_wall = 0.0
        self.error: Exception | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"source:{speaker.value}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # -- called from other threads ---------------------------------------------------

    def put(self, block: RawAudio) -> None:
        """Hand over a block (called from the capture thread or callback)."""
        if not self.realtime:
            # Fast replay waits for room, but never for a worker that has stopped.
            while self._thread.is_alive() or not self._thread.ident:
                try:
                    self._inbox.put(block, timeout=PUT_RETRY_S)
                    return
                except queue.Full:
                    continue
            return
        self._put_dropping_oldest(block)

    def pause(self) -> None:
        """Listening paused: finish the open utterance; no audio is not a fault."""
        self._put_dropping_oldest(_PAUSE)

    def end(self, error: Exception | None = None) -> None:
        """The source finished (or failed): flush and stop after what is queued.
        Never blocks: a full queue (a stalled or finished worker) must not hang
        the caller, so the request is also a flag the worker reads."""
        if error is not None and self.error is None:
            self.error = error
        self._ending.set()
        # A full queue: the worker sees the flag once it is drained.
        with contextlib.suppress(queue.Full):
            self._inbox.put_nowait(_END)

    def _put_dropping_oldest(self, item: object) -> None:
        while True:
            try:
                self._inbox.put_nowait(item)
                return
            except queue.Full:
                try:
                    old = self._inbox.get_nowait()
                except queue.Empty:
                    continue
                if isinstance(old, RawAudio):
                    self.dropped_audio_s += len(old.samples) / old.sample_rate_hz

    def _reply(self, request: DecodeRequest, result: DecodeResult | None) -> None:
        # Called on the ASR thread: only enqueue; state changes stay on this thread.
        self._results.put((request, result))

    # -- this thread -----------------------------------------------------------------

    def _wall_at(self, stream_s: float) -> float:
        return self._last_wall - (self._last_end_s - stream_s)

    def _out(self, outputs: list[Output]) -> None:
        for item in outputs:
            if isinstance(item, DecodeRequest):
                self._submit(item)
            else:
                self._emit_to(self.speaker, item)

    def _drain_results(self) -> None:
        while True:
            try:
                request, result = self._results.get_nowait()
            except queue.Empty:
                return
            self._out(self.transcriber.on_result(request, result))
            self._report_progress()

    def _await_results(self, keep_waiting: Callable[[], bool]) -> None:
        """Apply decode results as they arrive, for as long as ``keep_waiting()``."""
        while keep_waiting():
            try:
                request, result = self._results.get(timeout=0.05)
            except queue.Empty:
                continue
            self._out(self.transcriber.on_result(request, result))
            self._report_progress()

    def _report_progress(self) -> None:
        self._on_progress(self.speaker, self.transcriber.settled_s)

    def _process(self, block: RawAudio) -> None:
        mono = select_channel(block.samples, self.channel)
        now_s = self.transcriber.segmenter.now_s
        # Stream time follows the samples received plus any dropped, so it keeps
        # pace with the wall clock even after an overload.
        self._last_end_s = (
            now_s + (len(self._buffer) + len(mono) * 16000 / block.sample_rate_hz) / 16000
        )
        self._last_wall = block.captured_wall
        self._buffer = np.concatenate([self._buffer, self._resampler(mono)])
        n_frames = len(self._buffer) // FRAME_SAMPLES
        for i in range(n_frames):
            frame = self._buffer[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
            self._out(self.transcriber.feed(frame, self._vad(frame), self._wall_at))
            # Frame by frame, not per block: real time hands over 32 ms blocks and
            # fast replay 0.5 s ones, and the ordered stream must see the same
            # settled times in both.
            self._report_progress()
        self._buffer = self._buffer[n_frames * FRAME_SAMPLES :]
        if self.realtime:
            self.lag_s = time.monotonic() - block.captured_wall
            self._report_lag()

    def _report_lag(self) -> None:
        """Say so when the loop falls behind the microphone, again at most once a
        second while it stays behind, and once when it has caught up (every block
        would be ~30 status lines a second)."""
        now = time.monotonic()
        if self.lag_s > LAG_WARNING_S:
            if not self._behind or now - self._lag_said_wall >= LAG_REPEAT_S:
                self._behind, self._lag_said_wall = True, now
                self._emit_lag(f"{self.lag_s:.1f} s behind real time")
        elif self._behind and self.lag_s < LAG_WARNING_S / 2:
            self._behind = False
            self._emit_lag("caught up with real time")

    def _emit_lag(self, what: str) -> None:
        self._emit_to(
            self.speaker,
            Status(
                PipelineState.LISTENING,
                f"{self.speaker.value}: {what}",
                lag_s=self.lag_s,
                dropped_audio_s=self.dropped_audio_s,
            ),
        )

    def _run(self) -> None:
        last_audio = last_wake = time.monotonic()
        seen_audio = False
        while True:
            try:
                item = self._inbox.get(timeout=FRAME_S)
            except queue.Empty:
                item = None
            now = time.monotonic()
            if now - last_wake > PROCESS_STALL_S:
                # The process itself was stopped (SIGSTOP, suspend): a fresh start
                # for the device, not an error.
                self.stalls += 1
                last_audio = now
            last_wake = now
            if item is None:
                self._drain_results()
                if self._ending.is_set():
                    break
                if self._paused():
                    last_audio = now
                    continue
                limit = DEVICE_STALL_S if seen_audio else DEVICE_START_S
                if self.realtime and now - last_audio > limit:
                    self.error = DeviceLostError(
                        f"no audio from the {self.speaker.value} input for {limit:.0f} s "
                        "(device unplugged or stopped?)"
                    )
                    break
                continue
            if item is _END:
                break
            if item is _PAUSE:
                self._out(self.transcriber.flush(self._wall_at))
                self._report_progress()
                last_audio = now
                continue
            assert isinstance(item, RawAudio)
            last_audio = now
            seen_audio = True
            self._process(item)
            self._drain_results()
            if not self.realtime:
                self._wait_for_decoder()
        self._finish()

    def _wait_for_decoder(self) -> None:
        """Fast replay only: nothing is lost by waiting, so never let finals pile up
        behind the decoder (a 10-minute fast replay queued 31 s of them, and memory
        grew with every queued utterance)."""
        self._await_results(lambda: self._backlog() > MAX_FAST_BACKLOG)

    def _finish(self) -> None:
        """Close the open utterance and wait for its final text."""
        self._out(self.transcriber.flush(self._wall_at))
        # Generous: after a fast replay the decoder may still hold a few finals.
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        self._await_results(lambda: not self.transcriber.idle and time.monotonic() < deadline)
        self._report_progress()
        self._on_finished(self.speaker)
