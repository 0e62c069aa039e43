"""Streaming transcription policy for one speaker. Pure logic; no threads.

Turns segmenter actions into decode requests and decode results into transcript
events:

* while someone speaks, ask for a partial caption every ``partial_interval_s``
  (at most one in flight: a busy worker means the partial is skipped, not queued);
* the moment silence begins, ask for a *speculative* final decode of the utterance;
  if the silence lasts long enough to end the utterance, that result is committed
  at once, so end-of-speech -> final costs ~max(end silence, decode time) rather
  than their sum. If speech resumes, the speculative result is thrown away.

The ASR worker calls nothing here; the source worker feeds results back with
:meth:`on_result`, so all state changes happen on one thread.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from .asr import SAMPLE_RATE_HZ, DecodeResult
from .events import Event, FinalTranscript, PartialTranscript, Speaker, SpeechEnded, SpeechStarted
from .segmenter import Discarded, Ended, Paused, Resumed, SegAction, Started
from .text_guard import audio_rms, collapse_repeats, is_hallucination

_utterance_ids = itertools.count(1)


class DecodeKind(Enum):
    PARTIAL = "partial"
    FINAL = "final"


@dataclass(frozen=True)
class StreamingConfig:
    # The overlay promises a caption update at least every 0.5 s while someone
    # talks. A request every 0.5 s plus decode jitter measured p95 0.61 s between
    # captions, so ask every 0.4 s; more often than that only burns CPU.
    partial_interval_s: float = 0.4
    # Partials decode at most the last 6 s of a long utterance: beyond that the
    # caption is already scrolling, and an 8 s window cost ~0.28 s per decode.
    partial_window_s: float = 6.0
    # Turn partials off entirely (fast replay, batch evaluation).
    partials: bool = True


@dataclass(frozen=True)
class DecodeRequest:
    kind: DecodeKind
    speaker: Speaker
    utterance_id: int
    version: int
    audio: np.ndarray
    start_s: float
    end_s: float
    requested_wall: float
    reply: Callable[[DecodeRequest, DecodeResult | None], None] = field(compare=False)


@dataclass
class _Utterance:
    id: int
    start_s: float
    version: int = 0
    ended: bool = False
    end_s: float = 0.0
    speech_end_wall: float = 0.0
    speculative: DecodeResult | None = None  # result for ``version``
    speculative_rms: float = 0.0
    in_flight_version: int | None = None
    final_requested: bool = False


class StreamingTranscriber:
    """Decode policy and transcript events for one speaker's stream."""

    def __init__(
        self,
        speaker: Speaker,
        submit: Callable[[DecodeRequest], None],
        reply: Callable[[DecodeRequest, DecodeResult | None], None],
        config: StreamingConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.speaker = speaker
        self.config = config or StreamingConfig()
        self._submit = submit
        self._reply = reply
        self._clock = clock
        self._current: _Utterance | None = None
        self._pending: dict[int, _Utterance] = {}  # ended, final not yet emitted
        self._partial_in_flight = False
        self._last_partial_s = 0.0

    @property
    def idle(self) -> bool:
        """No utterance open and no final outstanding."""
        return self._current is None and not self._pending

    def committed_s(self, now_s: float) -> float:
        """Stream time up to which this speaker's events are all out: a final still
        being decoded will carry its utterance's end time."""
        if not self._pending:
            return now_s
        return min(now_s, min(u.end_s for u in self._pending.values()))

    def on_actions(
        self,
        actions: list[SegAction],
        now_s: float,
        wall_at: Callable[[float], float],
        audio_so_far: Callable[[], np.ndarray],
    ) -> list[Event]:
        events: list[Event] = []
        for action in actions:
            events.extend(self._on_action(action, wall_at))
        utt = self._current
        if (
            utt is not None
            and self.config.partials
            and not self._partial_in_flight
            and not any(isinstance(a, (Paused, Ended)) for a in actions)
            and now_s - self._last_partial_s >= self.config.partial_interval_s
        ):
            audio = audio_so_far()
            window = int(self.config.partial_window_s * SAMPLE_RATE_HZ)
            self._partial_in_flight = True
            self._last_partial_s = now_s
            self._request(DecodeKind.PARTIAL, utt, audio[-window:], now_s)
        return events

    def _on_action(self, action: SegAction, wall_at: Callable[[float], float]) -> list[Event]:
        if isinstance(action, Started):
            self._current = _Utterance(next(_utterance_ids), action.start_s)
            self._last_partial_s = action.start_s
            return [SpeechStarted(self.speaker, action.start_s)]
        utt = self._current
        if utt is None:
            return []
        if isinstance(action, Paused):
            utt.version += 1
            utt.speculative = None
            utt.in_flight_version = utt.version
            utt.speculative_rms = audio_rms(action.audio)
            self._request(DecodeKind.FINAL, utt, action.audio, action.speech_end_s)
            return []
        if isinstance(action, Resumed):
            utt.version += 1  # any speculative decode in flight is now stale
            utt.speculative = None
            return []
        if isinstance(action, Discarded):
            self._current = None
            return []
        assert isinstance(action, Ended)
        self._current = None
        utt.ended = True
        utt.end_s = action.speech_end_s
        utt.speech_end_wall = wall_at(action.speech_end_s)
        self._pending[utt.id] = utt
        events: list[Event] = [
            SpeechEnded(self.speaker, utt.start_s, utt.end_s, forced=action.forced)
        ]
        if utt.speculative is not None and not action.forced:
            events.extend(self._commit(utt, utt.speculative, utt.speculative_rms))
        elif utt.in_flight_version != utt.version or action.forced:
            utt.version += 1
            utt.in_flight_version = utt.version
            utt.speculative_rms = audio_rms(action.audio)
            self._request(DecodeKind.FINAL, utt, action.audio, action.speech_end_s)
        # else: the speculative decode for this exact audio is in flight; commit on reply.
        return events

    def on_result(self, request: DecodeRequest, result: DecodeResult | None) -> list[Event]:
        """A decode finished (``None``: the worker dropped a stale partial)."""
        if request.kind is DecodeKind.PARTIAL:
            self._partial_in_flight = False
            utt = self._current
            if result is None or utt is None or utt.id != request.utterance_id:
                return []
            text = collapse_repeats(result.text)
            if is_hallucination(text, result.avg_logprob, result.no_speech_prob, 1.0):
                return []
            return [
                PartialTranscript(
                    self.speaker, utt.id, request.start_s, request.end_s, text, self._clock()
                )
            ]
        utt = self._pending.get(request.utterance_id) or self._current
        if utt is None or utt.id != request.utterance_id or result is None:
            return []
        if request.version != utt.version:
            return []  # speech resumed after this speculative decode began
        utt.in_flight_version = None
        if not utt.ended:
            utt.speculative = result
            return []
        return self._commit(utt, result, utt.speculative_rms)

    def _commit(self, utt: _Utterance, result: DecodeResult, rms: float) -> list[Event]:
        self._pending.pop(utt.id, None)
        text = collapse_repeats(result.text)
        if is_hallucination(text, result.avg_logprob, result.no_speech_prob, rms):
            return []
        return [
            FinalTranscript(
                speaker=self.speaker,
                utterance_id=utt.id,
                start_s=utt.start_s,
                end_s=utt.end_s,
                text=text,
                speech_end_wall=utt.speech_end_wall,
                decoded_wall=self._clock(),
                avg_logprob=result.avg_logprob,
                no_speech_prob=result.no_speech_prob,
            )
        ]

    def _request(self, kind: DecodeKind, utt: _Utterance, audio: np.ndarray, end_s: float) -> None:
        self._submit(
            DecodeRequest(
                kind=kind,
                speaker=self.speaker,
                utterance_id=utt.id,
                version=utt.version,
                audio=audio,
                start_s=utt.start_s,
                end_s=end_s,
                requested_wall=self._clock(),
                reply=self._reply,
            )
        )
