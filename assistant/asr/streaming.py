"""One speaker's stream, from speech probabilities to transcript events. Pure logic;
no threads.

``StreamingTranscriber`` is the one owner of an utterance: its segmenter decides
where utterances start, end and split (from the speech probabilities alone), and it
decides what is decoded and what is committed. ``feed(frame, prob)`` and
``on_result(request, result)`` return explicit outputs -- transcript events to emit
and decode requests to submit -- and the source worker only moves them.

Two texts come out, for two purposes:

* **First text** (``FirstText``, ``asr/first_text.py``): while someone speaks, the
  utterance is re-decoded every ``partial_interval_s`` (partial captions), and
  words that two re-decodes agree on are committed as *pieces*, so detectors can act
  on a 20 s turn while it goes on. Pieces depend on when the decodes happened to
  run, so they are fast but not final.
* **Final text**: when an utterance ends, all of its audio is decoded once, the way
  offline decoding does it (a full 30 s encoder window with Whisper's timestamp
  tokens, beam search at temperature 0, no prefix from the pieces and no prompt). It is
  started speculatively when the speech pauses and thrown away if speech resumes;
  it depends on the utterance's audio alone, so the same audio gives the same final
  text in real time, in fast replay and on a busy machine. An utterance with no
  pieces ends with one ``FinalTranscript`` carrying it; one that committed pieces
  ends with its last piece (the words after the pieces) and a
  ``TranscriptRevision`` carrying the whole utterance, which supersedes them.
  Finals come out in utterance order.

Neither the previous-text prompt nor the same speaker's earlier audio before the
utterance helped the final text on the real recordings (docs/performance.md, "Final
decode"), and both would tie an utterance's text to another's. One exception: the
part after a forced split (an utterance that ran to the limit, cut mid-sentence)
is decoded with the last ``SPLIT_LEAD_IN_S`` of the part before, whose words are
then dropped; it still depends on the audio alone.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.asr.agreement import join_words
from assistant.asr.commit import TimedWord, words_of
from assistant.asr.config import StreamingConfig
from assistant.asr.decoder import SAMPLE_RATE_HZ
from assistant.asr.final_words import after_split, final_words
from assistant.asr.first_text import FirstText
from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.results import DecodeResult
from assistant.asr.text_guard import audio_rms, is_hallucination
from assistant.events import (
    Event,
    FinalTranscript,
    Speaker,
    SpeechDiscarded,
    SpeechEnded,
    SpeechStarted,
    TranscriptRevision,
)
from assistant.vad.segmenter import (
    Discarded,
    Ended,
    Paused,
    Resumed,
    SegAction,
    Segmenter,
    Started,
    VadConfig,
)

# The part after a forced split starts mid-sentence, and tiny.en hears its first
# words without the sentence they belong to ("who had vanished" -> "would vanish" on
# the turns recording, which offline decoding reads right): its final decode also
# hears this much of the part before, and the words of that part are dropped.
# Measured there: 1 s of lead-in still lost the words, 2 and 3 s kept them.
SPLIT_LEAD_IN_S = 2.0

Output = Event | DecodeRequest


@dataclass
class _Utterance:
    id: int
    start_s: float
    text: FirstText  # the pieces committed while it went on
    version: int = 0  # bumped whenever the audio its final would cover changes
    paused: bool = False
    ended: bool = False
    end_s: float = 0.0
    speech_end_wall: float = 0.0
    audio: np.ndarray | None = None  # what the final decodes (from Paused or Ended)
    rms: float = 0.0
    final_request: DecodeRequest | None = None  # in flight, for ``audio`` at ``version``
    final_result: DecodeResult | None = None
    # After a forced split: the end of the part before (decoded with this one's
    # audio, then dropped) and that part, whose final words say where to drop.
    lead_in: np.ndarray | None = None
    split_from: _Utterance | None = None
    final_words: list[TimedWord] | None = None  # once emitted, for the next part


class StreamingTranscriber:
    """Utterance boundaries, decode policy and transcript events for one speaker."""

    def __init__(
        self,
        speaker: Speaker,
        reply: Callable[[DecodeRequest, DecodeResult | None], None],
        config: StreamingConfig | None = None,
        vad: VadConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        ids: Iterator[int] | None = None,
    ) -> None:
        self.speaker = speaker
        # Utterance ids of this stream: the pipeline gives each stream its own
        # residue class (1, 3, 5 ... and 2, 4, 6 ...), so ids never depend on how
        # the streams' threads interleaved.
        self._ids = ids if ids is not None else itertools.count(1)
        self.config = config or StreamingConfig()
        self.segmenter = Segmenter(vad)
        self._reply = reply
        self._clock = clock
        self._current: _Utterance | None = None
        self._pending: deque[_Utterance] = deque()  # ended, final not yet emitted
        self._split: tuple[_Utterance, np.ndarray] | None = None  # a part just cut off
        self._partial_in_flight = False
        self._last_partial_s = 0.0
        self._wall_at: Callable[[float], float] = lambda _stream_s: self._clock()

    # -- what the wiring reads -------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No utterance open and no final outstanding."""
        return self._current is None and not self._pending

    @property
    def settled_s(self) -> float:
        """Stream time before which every event of this stream is out: an ended
        utterance's final will carry its end, and an utterance whose speech has
        stopped may still end where it stopped."""
        settled = self.segmenter.settled_s
        if self._pending:
            settled = min(settled, self._pending[0].end_s)
        return settled

    # -- inputs ----------------------------------------------------------------------

    def feed(
        self, frame: np.ndarray, prob: float, wall_at: Callable[[float], float]
    ) -> list[Output]:
        """One 32 ms frame and its speech probability."""
        actions = self.segmenter.feed(frame, prob)
        return self.on_actions(actions, wall_at)

    def flush(self, wall_at: Callable[[float], float]) -> list[Output]:
        """End of input: close the open utterance."""
        return self.on_actions(self.segmenter.flush(), wall_at)

    def on_actions(
        self,
        actions: Sequence[SegAction],
        wall_at: Callable[[float], float],
        now_s: float | None = None,
        audio_so_far: Callable[[], np.ndarray] | None = None,
    ) -> list[Output]:
        """The segmenter's actions at stream time ``now_s``, with the open
        utterance's audio for a re-decode (``feed`` passes its segmenter's; stage
        tests give them by hand)."""
        self._wall_at = wall_at
        if now_s is None:
            now_s = self.segmenter.now_s
        out: list[Output] = []
        for action in actions:
            out.extend(self._on_action(action, now_s))
        out.extend(self._schedule_final())
        utt = self._current
        if (
            utt is not None
            and self.config.partials
            and not utt.paused
            and not self._partial_in_flight
            and not any(isinstance(a, (Paused, Ended)) for a in actions)
            and now_s - self._last_partial_s >= self.config.partial_interval_s - 1e-9
        ):
            self._partial_in_flight = True
            self._last_partial_s = now_s
            audio = (audio_so_far or self.segmenter.audio_to_pause)()
            out.append(utt.text.request(audio, self._reply))
        return out

    def on_result(self, request: DecodeRequest, result: DecodeResult | None) -> list[Output]:
        """A decode finished (``None``: the worker dropped a stale partial)."""
        if request.kind is DecodeKind.PARTIAL:
            self._partial_in_flight = False
            utt = self._current
            if result is None or utt is None or utt.id != request.utterance_id:
                return []
            return list(utt.text.on_redecode(request, result, paused=utt.paused))
        utt = self._find(request.utterance_id)
        if utt is None or utt.final_request is not request or result is None:
            return []  # stale: speech resumed (or the utterance split) after it began
        utt.final_result = result
        return self._emit_finals()

    # -- segmenter actions -----------------------------------------------------------

    def _on_action(self, action: SegAction, now_s: float) -> list[Event]:
        if isinstance(action, Started):
            uid = next(self._ids)
            first = FirstText(self.speaker, uid, action.start_s, self.config, self._clock)
            first.wall_at = self._wall_at
            self._current = _Utterance(uid, action.start_s, first)
            if self._split is not None:  # this utterance goes on from a forced split
                self._current.split_from, self._current.lead_in = self._split
                self._split = None
            self._last_partial_s = action.start_s
            return [SpeechStarted(self.speaker, action.start_s, detected_s=now_s)]
        utt = self._current
        if utt is None:
            return []
        utt.text.wall_at = self._wall_at
        if isinstance(action, Paused):
            self._stale(utt)
            utt.paused = True
            utt.audio = action.audio
            return []
        if isinstance(action, Resumed):
            self._stale(utt)
            utt.paused = False
            utt.audio = None
            return []
        if isinstance(action, Discarded):
            self._current = None
            return [
                SpeechDiscarded(self.speaker, action.start_s, action.speech_end_s, detected_s=now_s)
            ]
        assert isinstance(action, Ended)
        self._current = None
        lead = int(SPLIT_LEAD_IN_S * SAMPLE_RATE_HZ)
        if action.forced and lead > 0:
            self._split = (utt, action.audio[-lead:])
        if action.forced or utt.audio is None or len(utt.audio) != len(action.audio):
            # A split, an end without a pause first, or the input ending mid-pause:
            # no speculative decode covers exactly this audio.
            self._stale(utt)
            utt.audio = action.audio
        utt.ended = True
        utt.end_s = max(action.speech_end_s, utt.text.piece_start_s)
        utt.speech_end_wall = self._wall_at(action.speech_end_s)
        utt.rms = audio_rms(action.audio)
        self._pending.append(utt)
        ended = SpeechEnded(
            self.speaker, utt.start_s, action.speech_end_s, detected_s=now_s, forced=action.forced
        )
        return [ended, *self._emit_finals()]

    @staticmethod
    def _stale(utt: _Utterance) -> None:
        """The audio a final would cover has changed: forget its decode."""
        utt.version += 1
        utt.final_request = utt.final_result = None

    def _find(self, utterance_id: int) -> _Utterance | None:
        for utt in self._pending:
            if utt.id == utterance_id:
                return utt
        cur = self._current
        return cur if cur is not None and cur.id == utterance_id else None

    # -- finals ----------------------------------------------------------------------

    def _schedule_final(self) -> list[DecodeRequest]:
        """Ask for every final decode this stream needs that is not in flight: the
        ended utterances', and a speculative one for a paused utterance."""
        out = []
        for utt in [*self._pending, self._current]:
            if utt is None or utt.audio is None or utt.final_request is not None:
                continue
            if not (utt.ended or utt.paused):
                continue
            audio, start_s = utt.audio, utt.start_s
            if utt.lead_in is not None:
                audio = np.concatenate([utt.lead_in, audio])
                start_s -= len(utt.lead_in) / SAMPLE_RATE_HZ
            request = DecodeRequest(
                kind=DecodeKind.FINAL,
                speaker=self.speaker,
                utterance_id=utt.id,
                version=utt.version,
                audio=audio,
                start_s=start_s,
                end_s=start_s + len(audio) / SAMPLE_RATE_HZ,
                requested_wall=self._clock(),
                reply=self._reply,
                offline=True,
                wanted=_still_wanted(utt),
            )
            utt.final_request = request
            out.append(request)
        return out

    def _emit_finals(self) -> list[Output]:
        """Emit the finals that are ready, oldest first, and ask for the next one."""
        out: list[Output] = []
        while self._pending and self._pending[0].final_result is not None:
            utt = self._pending.popleft()
            out.extend(self._finish(utt))
        out.extend(self._schedule_final())
        return out

    def _finish(self, utt: _Utterance) -> list[Event]:
        request, result = utt.final_request, utt.final_result
        assert request is not None and result is not None and utt.audio is not None
        words = final_words(request, result, utt.end_s)
        if utt.lead_in is not None:
            before = utt.split_from.final_words if utt.split_from is not None else None
            utt.split_from = None  # read once: no chain of parts is kept alive
            words = after_split(before, words, utt.start_s)
        utt.final_words = words
        whole = join_words(words_of(words))
        if is_hallucination(whole, result.avg_logprob, result.no_speech_prob, utt.rms, whole=True):
            words, whole = [], ""
        pieces = utt.text.pieces
        if result.failed and pieces:
            # The decoder failed (said once on stderr): keep what the pieces said
            # rather than erase the utterance.
            whole = utt.text.joined
        decoded_wall = self._clock()
        if pieces == 0:
            if not whole:
                return []
            return [
                FinalTranscript(
                    speaker=self.speaker,
                    utterance_id=utt.id,
                    start_s=utt.start_s,
                    end_s=utt.end_s,
                    text=whole,
                    speech_end_wall=utt.speech_end_wall,
                    decoded_wall=decoded_wall,
                    avg_logprob=result.avg_logprob,
                    no_speech_prob=result.no_speech_prob,
                )
            ]
        out: list[Event] = []
        # The words after the pieces close the first text; the revision replaces it.
        floor_s = utt.text.piece_start_s
        rest = [w for w in words if (w.start_s + w.end_s) / 2 >= floor_s]
        if rest:
            out.append(
                FinalTranscript(
                    speaker=self.speaker,
                    utterance_id=utt.id,
                    start_s=floor_s,
                    end_s=utt.end_s,
                    text=join_words(words_of(rest)),
                    speech_end_wall=utt.speech_end_wall,
                    decoded_wall=decoded_wall,
                    avg_logprob=result.avg_logprob,
                    no_speech_prob=result.no_speech_prob,
                    piece=pieces,
                    last=True,
                )
            )
        out.append(
            TranscriptRevision(
                speaker=self.speaker,
                utterance_id=utt.id,
                start_s=utt.start_s,
                end_s=utt.end_s,
                text=whole,
                speech_end_wall=utt.speech_end_wall,
                decoded_wall=decoded_wall,
                avg_logprob=result.avg_logprob,
                no_speech_prob=result.no_speech_prob,
            )
        )
        return out


def _still_wanted(utt: _Utterance) -> Callable[[], bool]:
    """For the ASR worker: is the request it is about to decode still the one this
    utterance waits for? (Read from the worker's thread; a stale answer only costs
    one decode.)"""
    request_version = utt.version
    return lambda: utt.version == request_version
