"""Streaming transcription policy for one speaker. Pure logic; no threads.

Turns segmenter actions into decode requests, and decode results into transcript
events. Three kinds of decode serve three purposes:

* **Re-decodes while someone speaks** (every ``partial_interval_s``, at most one in
  flight: a busy worker means the request is skipped, not queued). Each gives the
  partial caption. Words that two consecutive re-decodes agree on are committed at
  once as a piece of final text (whisper_streaming's LocalAgreement-2), and a word
  still unsettled ``max_commit_lag_s`` after it was spoken is committed as the
  latest decode has it, so a 20 s turn produces text the detectors can act on
  about a second after it is spoken.
* **A speculative final** the moment silence begins (after the segmenter's tail).
  If the silence lasts long enough to end the utterance, it is committed at once, so
  end of speech -> final costs ~max(end silence, decode time), not their sum. It is
  only used if it covers exactly the audio the utterance ended with *and* was
  decoded after the last committed piece; otherwise a fresh final is decoded.
* **The final** of an ended utterance: the rest of its words, as the last piece.

Every decode covers the utterance's *uncommitted* audio plus a short overlap: it
starts at the last ``overlap_words`` committed words, which are forced as the
decode's prefix. The overlap shows Whisper where it is (a window that starts
mid-phrase with no text loses or invents words), the forced prefix keeps it from
writing those words again, and the window stays a few seconds long however long
the speaker talks, so each re-decode stays cheap. Word times come from the
decoder's alignment.

The ASR worker calls nothing here; the source worker feeds results back with
:meth:`on_result`, so all state changes happen on one thread.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.asr.agreement import drop_repeat, join_words, trim_loop
from assistant.asr.commit import TimedWord, sentence_end, words_of, words_to_commit
from assistant.asr.config import StreamingConfig
from assistant.asr.decoder import SAMPLE_RATE_HZ, DecodeResult, Word
from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.text_guard import audio_rms, is_hallucination
from assistant.events import (
    Event,
    FinalTranscript,
    PartialTranscript,
    Speaker,
    SpeechEnded,
    SpeechStarted,
)
from assistant.vad.segmenter import Discarded, Ended, Paused, Resumed, SegAction, Started

_utterance_ids = itertools.count(1)

# The previous-text prompt: the same speaker's last committed words, as tokens.
CONTEXT_TOKENS = 48
# Two alignment frames: a final's word that starts this close to the end of its
# audio has no audio of its own.
END_GUESS_S = 0.04


@dataclass
class _Utterance:
    id: int
    start_s: float
    context: tuple[int, ...]
    committed: list[TimedWord] = field(default_factory=list)
    pieces: int = 0
    piece_start_s: float = 0.0  # where the next piece's audio begins
    # The last re-decode's words beyond the committed ones: the next re-decode is
    # compared against them.
    tentative: list[TimedWord] | None = None
    version: int = 0  # bumped whenever the audio a final would cover changes
    paused: bool = False
    speculative: DecodeRequest | None = None  # the request behind ``speculative_result``
    speculative_result: DecodeResult | None = None
    in_flight_version: int | None = None
    rms: float = 0.0
    ended: bool = False
    end_s: float = 0.0
    speech_end_wall: float = 0.0


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
        self._context: deque[int] = deque(maxlen=CONTEXT_TOKENS)
        self._split_hint: tuple[float, float] | None = None
        self._wall_at: Callable[[float], float] = lambda _stream_s: self._clock()

    @property
    def idle(self) -> bool:
        """No utterance open and no final outstanding."""
        return self._current is None and not self._pending

    @property
    def commit_floor_s(self) -> float:
        """Stream time up to which the open utterance's text is committed: a split
        must not cut before it, or committed words would be decoded twice."""
        utt = self._current
        return 0.0 if utt is None else utt.piece_start_s

    def take_split_hint(self) -> tuple[float, float] | None:
        """Where the last re-decode saw a sentence end inside the open utterance
        (a stream-time span for ``Segmenter.split_at_dip``), once."""
        hint, self._split_hint = self._split_hint, None
        return hint

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
        self._wall_at = wall_at
        events: list[Event] = []
        for action in actions:
            events.extend(self._on_action(action))
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
            audio = audio_so_far()
            end_s = utt.start_s + len(audio) / SAMPLE_RATE_HZ
            self._request(DecodeKind.PARTIAL, utt, audio, end_s)
        return events

    # -- segmenter actions -----------------------------------------------------------

    def _on_action(self, action: SegAction) -> list[Event]:
        if isinstance(action, Started):
            context = tuple(self._context) if self.config.context_prompt else ()
            self._current = _Utterance(
                next(_utterance_ids), action.start_s, context, piece_start_s=action.start_s
            )
            self._last_partial_s = action.start_s
            return [SpeechStarted(self.speaker, action.start_s)]
        utt = self._current
        if utt is None:
            return []
        if isinstance(action, Paused):
            utt.version += 1
            utt.paused = True
            utt.speculative = utt.speculative_result = None
            utt.in_flight_version = utt.version
            utt.rms = audio_rms(action.audio)
            self._request(DecodeKind.FINAL, utt, action.audio, action.speech_end_s)
            return []
        if isinstance(action, Resumed):
            utt.version += 1  # any speculative decode in flight is now stale
            utt.paused = False
            utt.speculative = utt.speculative_result = None
            return []
        if isinstance(action, Discarded):
            self._current = None
            return []
        assert isinstance(action, Ended)
        self._current = None
        utt.ended = True
        utt.end_s = max(action.speech_end_s, utt.piece_start_s)
        utt.speech_end_wall = self._wall_at(action.speech_end_s)
        self._pending[utt.id] = utt
        events: list[Event] = [
            SpeechEnded(self.speaker, utt.start_s, action.speech_end_s, forced=action.forced)
        ]
        if action.forced or not utt.paused:
            # A split (or an end without a pause first): no speculative decode
            # covers exactly this audio.
            utt.speculative = utt.speculative_result = None
            utt.version += 1
        if utt.speculative is not None and utt.speculative_result is not None:
            events.extend(self._commit_final(utt, utt.speculative, utt.speculative_result))
        elif utt.in_flight_version != utt.version:
            utt.version += 1
            utt.in_flight_version = utt.version
            utt.rms = audio_rms(action.audio)
            self._request(DecodeKind.FINAL, utt, action.audio, action.speech_end_s)
        # else: the speculative decode for this exact audio is in flight; commit on reply.
        return events

    # -- decode results --------------------------------------------------------------

    def on_result(self, request: DecodeRequest, result: DecodeResult | None) -> list[Event]:
        """A decode finished (``None``: the worker dropped a stale partial)."""
        if request.kind is DecodeKind.PARTIAL:
            self._partial_in_flight = False
            utt = self._current
            if result is None or utt is None or utt.id != request.utterance_id:
                return []
            return self._on_redecode(utt, request, result)
        utt = self._pending.get(request.utterance_id) or self._current
        if utt is None or utt.id != request.utterance_id or result is None:
            return []
        if request.version != utt.version or request.committed_words != len(utt.committed):
            return []  # speech resumed, or a piece was committed, after this decode began
        utt.in_flight_version = None
        if not utt.ended:
            utt.speculative, utt.speculative_result = request, result
            return []
        return self._commit_final(utt, request, result)

    def _new_words(
        self, utt: _Utterance, request: DecodeRequest, result: DecodeResult
    ) -> list[TimedWord]:
        """The result's words beyond the forced prefix, without a decoder loop or a
        repeat of the words already known, with stream times."""
        words = drop_repeat(request.known, list(result.words))
        if request.kind is DecodeKind.FINAL:
            # A final's audio ends after the speech: a word aligned to start where the
            # audio ends was heard nowhere (Whisper guessing at the next sentence).
            audio_s = len(request.audio) / SAMPLE_RATE_HZ
            while words and words[-1].start_s >= audio_s - END_GUESS_S:
                words.pop()
        return self._timed(request, trim_loop(words_of(utt.committed), words))

    def _timed(self, request: DecodeRequest, words: Sequence[Word]) -> list[TimedWord]:
        return [TimedWord(w, request.start_s + w.start_s, request.start_s + w.end_s) for w in words]

    def _on_redecode(
        self, utt: _Utterance, request: DecodeRequest, result: DecodeResult
    ) -> list[Event]:
        if request.committed_words != len(utt.committed):
            return []
        words = self._new_words(utt, request, result)
        text = join_words([*words_of(utt.committed), *words_of(words)])
        rms = audio_rms(request.audio)
        if not words or is_hallucination(text, result.avg_logprob, result.no_speech_prob, rms):
            utt.tentative = None
            return []
        events: list[Event] = []
        cfg = self.config
        heard_s = request.end_s - utt.start_s
        if cfg.commit_while_speaking and not utt.paused and heard_s >= cfg.min_commit_audio_s:
            n = words_to_commit(
                utt.tentative, words, request.end_s, cfg.hold_s, cfg.max_commit_lag_s
            )
            if n:
                events.append(self._commit_piece(utt, words[:n]))
                words = words[n:]
        utt.tentative = words
        self._split_hint = self._sentence_end(utt, words)
        events.insert(
            0,
            PartialTranscript(
                self.speaker,
                utt.id,
                utt.start_s,
                request.end_s,
                text,
                self._clock(),
                stable_chars=len(join_words(words_of(utt.committed))),
            ),
        )
        return events

    def _sentence_end(
        self, utt: _Utterance, tentative: list[TimedWord]
    ) -> tuple[float, float] | None:
        if not self.config.split_at_sentences:
            return None
        return sentence_end(
            [*utt.committed[-1:], *tentative], utt.piece_start_s, self.config.sentence_search_s
        )

    def _commit_piece(self, utt: _Utterance, words: Sequence[TimedWord]) -> Event:
        """Commit ``words`` while the utterance goes on."""
        start_s = utt.piece_start_s
        end_s = max(start_s, words[-1].end_s)
        utt.committed.extend(words)
        utt.piece_start_s = end_s
        self._remember(words)
        event = FinalTranscript(
            speaker=self.speaker,
            utterance_id=utt.id,
            start_s=start_s,
            end_s=end_s,
            text=join_words(words_of(words)),
            speech_end_wall=self._wall_at(end_s),
            decoded_wall=self._clock(),
            piece=utt.pieces,
            last=False,
        )
        utt.pieces += 1
        return event

    def _commit_final(
        self, utt: _Utterance, request: DecodeRequest, result: DecodeResult
    ) -> list[Event]:
        self._pending.pop(utt.id, None)
        words = self._new_words(utt, request, result)
        whole = join_words([*words_of(utt.committed), *words_of(words)])
        if utt.pieces == 0 and is_hallucination(
            whole, result.avg_logprob, result.no_speech_prob, utt.rms
        ):
            return []
        self._remember(words)
        return [
            FinalTranscript(
                speaker=self.speaker,
                utterance_id=utt.id,
                start_s=utt.piece_start_s,
                end_s=utt.end_s,
                text=join_words(words_of(words)),
                speech_end_wall=utt.speech_end_wall,
                decoded_wall=self._clock(),
                avg_logprob=result.avg_logprob,
                no_speech_prob=result.no_speech_prob,
                piece=utt.pieces,
                last=True,
            )
        ]

    def _remember(self, words: Sequence[TimedWord]) -> None:
        for word in words:
            self._context.extend(word.word.tokens)

    def _request(self, kind: DecodeKind, utt: _Utterance, audio: np.ndarray, end_s: float) -> None:
        """Ask for a decode of ``audio`` (the utterance from its start) from the
        overlap words on, with them forced as the prefix."""
        cfg = self.config
        overlap = utt.committed[-cfg.overlap_words :] if cfg.overlap_words else []
        begin = utt.start_s
        if overlap:
            begin = max(utt.start_s, overlap[0].start_s - cfg.overlap_margin_s)
        window = audio[int(round((begin - utt.start_s) * SAMPLE_RATE_HZ)) :]
        context = utt.context
        if cfg.context_prompt:
            earlier = utt.committed[: len(utt.committed) - len(overlap)]
            context = (*context, *(t for w in earlier for t in w.word.tokens))
        self._submit(
            DecodeRequest(
                kind=kind,
                speaker=self.speaker,
                utterance_id=utt.id,
                version=utt.version,
                audio=window,
                start_s=begin,
                end_s=end_s,
                requested_wall=self._clock(),
                reply=self._reply,
                prefix=tuple(t for w in overlap for t in w.word.tokens),
                known=tuple(w.word for w in overlap),
                context=context[-CONTEXT_TOKENS:],
                committed_words=len(utt.committed),
            )
        )
