"""First text: one utterance's words while it is still being spoken. Pure logic.

Every re-decode of the utterance so far gives the partial caption. Words that two
consecutive re-decodes agree on are committed at once as a *piece* of text
(whisper_streaming's LocalAgreement-2), and a word still unsettled
``max_commit_lag_s`` after it was spoken is committed as the latest decode has it, so
a 20 s turn produces text the detectors can act on about a second after it is
spoken. Pieces are fast, but they depend on when the decodes ran; the utterance's
final text (one decode of all its audio, ``streaming.py``) supersedes them.

Each re-decode covers the utterance's *uncommitted* audio plus a short overlap: it
starts at the last ``overlap_words`` committed words, forced as the decode's prefix.
The overlap shows Whisper where it is (a window that starts mid-phrase with no text
loses or invents words), the forced prefix keeps it from writing those words again,
and the window stays a few seconds long however long the speaker talks, so each
re-decode stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from assistant.asr.agreement import drop_repeat, join_words, trim_loop
from assistant.asr.commit import TimedWord, words_of, words_to_commit
from assistant.asr.config import StreamingConfig
from assistant.asr.decoder import SAMPLE_RATE_HZ
from assistant.asr.requests import DecodeKind, DecodeRequest
from assistant.asr.results import DecodeResult
from assistant.asr.text_guard import audio_rms, is_hallucination
from assistant.events import Event, FinalTranscript, PartialTranscript, Speaker

# Agreed words this close to the end of the newer decode's audio wait for the next
# decode: a word cut off by the end of the audio can be guessed the same (wrong)
# way twice.
HOLD_S = 0.3
# Committed words re-decoded (forced) at the start of every window.
OVERLAP_WORDS = 3
# Start the window this much before the first overlap word's aligned start:
# alignment times run late by up to a frame or two.
OVERLAP_MARGIN_S = 0.1


class FirstText:
    """Partial captions and committed pieces of one utterance."""

    def __init__(
        self,
        speaker: Speaker,
        utterance_id: int,
        start_s: float,
        config: StreamingConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.speaker = speaker
        self.utterance_id = utterance_id
        self.start_s = start_s
        self.config = config
        self._clock = clock
        self.committed: list[TimedWord] = []
        self.pieces = 0
        self.piece_start_s = start_s  # where the next piece's audio begins
        # The last re-decode's words beyond the committed ones: the next re-decode
        # is compared against them.
        self._tentative: list[TimedWord] | None = None
        # Stream time -> wall time of capture (the latency origin of a piece).
        self.wall_at: Callable[[float], float] = lambda _stream_s: clock()

    @property
    def joined(self) -> str:
        """The committed pieces as one text."""
        return join_words(words_of(self.committed))

    def request(
        self,
        audio: np.ndarray,
        reply: Callable[[DecodeRequest, DecodeResult | None], None],
        version: int = 0,
    ) -> DecodeRequest:
        """A re-decode of ``audio`` (the utterance from its start) from the overlap
        words on, with them forced as the prefix."""
        overlap = self.committed[-OVERLAP_WORDS:]
        begin = self.start_s
        if overlap:
            begin = max(self.start_s, overlap[0].start_s - OVERLAP_MARGIN_S)
        window = audio[int(round((begin - self.start_s) * SAMPLE_RATE_HZ)) :]
        return DecodeRequest(
            kind=DecodeKind.PARTIAL,
            speaker=self.speaker,
            utterance_id=self.utterance_id,
            version=version,
            audio=window,
            start_s=begin,
            end_s=self.start_s + len(audio) / SAMPLE_RATE_HZ,
            requested_wall=self._clock(),
            reply=reply,
            prefix=tuple(t for w in overlap for t in w.word.tokens),
            known=tuple(w.word for w in overlap),
            committed_words=len(self.committed),
        )

    def on_redecode(
        self, request: DecodeRequest, result: DecodeResult, paused: bool
    ) -> Iterator[Event]:
        """The partial caption and any piece this re-decode settles."""
        if request.committed_words != len(self.committed):
            return  # a piece was committed after this decode began
        words = drop_repeat(request.known, list(result.words))
        words = trim_loop(words_of(self.committed), words)
        timed = self._timed(request, words)
        text = join_words([*words_of(self.committed), *words])
        rms = audio_rms(request.audio)
        if not timed or is_hallucination(text, result.avg_logprob, result.no_speech_prob, rms):
            self._tentative = None
            return
        cfg = self.config
        piece: FinalTranscript | None = None
        heard_s = request.end_s - self.start_s
        if not paused and heard_s >= cfg.min_commit_audio_s:
            n = words_to_commit(self._tentative, timed, request.end_s, HOLD_S, cfg.max_commit_lag_s)
            if n:
                piece = self._commit(timed[:n])
                timed = timed[n:]
        self._tentative = timed
        yield PartialTranscript(
            self.speaker,
            self.utterance_id,
            self.start_s,
            request.end_s,
            text,
            self._clock(),
            stable_chars=len(self.joined),
        )
        if piece is not None:
            yield piece

    @staticmethod
    def _timed(request: DecodeRequest, words: Sequence) -> list[TimedWord]:
        return [TimedWord(w, request.start_s + w.start_s, request.start_s + w.end_s) for w in words]

    def _commit(self, words: Sequence[TimedWord]) -> FinalTranscript:
        start_s = self.piece_start_s
        end_s = max(start_s, words[-1].end_s)
        self.committed.extend(words)
        self.piece_start_s = end_s
        event = FinalTranscript(
            speaker=self.speaker,
            utterance_id=self.utterance_id,
            start_s=start_s,
            end_s=end_s,
            text=join_words(words_of(words)),
            speech_end_wall=self.wall_at(end_s),
            decoded_wall=self._clock(),
            piece=self.pieces,
            last=False,
        )
        self.pieces += 1
        return event
