"""Whisper adapter: one utterance of 16 kHz audio in, text and confidence out.

Decoding goes straight to CTranslate2 instead of ``WhisperModel.transcribe`` for one
reason: ``transcribe`` pads every call to 30 s, so a 2 s utterance costs as much
encoder time as 30 s of speech. CTranslate2's Whisper encoder accepts shorter
feature windows, so we feed the utterance plus a short silence pad: measured on
2 cores, a 2 s utterance drops from ~0.3 s to ~0.1 s, with the same words.

Decoding is at temperature 0, English only: greedy for first text, beam search for
the final text of longer utterances. Two optional inputs serve the streaming policy:

* ``prefix``: token ids the decoder must start with -- the words of this utterance
  already committed, so a re-decode can only *extend* text the user has seen;
* ``context``: the same speaker's last committed tokens, given as Whisper's
  previous-text prompt (``<|startofprev|>``), which CTranslate2 reads in one pass.

Results come back as words (with token ids): the policy compares decodes by word.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from assistant.asr.agreement import drop_repeat
from assistant.asr.models import ModelSpec, damaged_model_error
from assistant.asr.results import DecodeAbandoned, DecodeResult, Word
from assistant.errors import ModelError

SAMPLE_RATE_HZ = 16000
# Whisper's mel frames are 10 ms; the encoder halves them and holds at most 1500
# positions, i.e. 30 s of audio.
_FRAMES_PER_S = 100
_MAX_FRAMES = 3000
# Trailing silence appended before encoding: Whisper was trained on padded windows
# and ends its text more reliably when it "sees" the speaker stop. Compared 0.5, 1
# and 2 s on utterances cut mid-word (what partials are): 1 s looped least, and
# cost less overall because looping decodes run to the token budget.
_PAD_S = 1.0
# Greedy token budget for new text. Fast talkers reach ~5 words/s, ~6.5 tokens/s
# with punctuation; 8/s leaves room for them while still stopping a looping decoder.
_TOKENS_PER_S = 8
_MIN_TOKENS = 12
# Every encoder window is at least this long (the utterance plus silence). Whisper
# was trained on 30 s windows. Measured on 18 real utterances with tiny.en
# (benchmarks/windows.py, after the loop guard): the utterance plus 1 s, WER 0.181;
# 8 s, 0.154 at a median 81 ms; 30 s, 0.132 at 291 ms. Streamed, where the
# committed text comes from overlapping decodes, 30 s bought nothing: the real phone
# call gave WER 0.210 mono / 0.247 two-channel (8 s: 0.185 / 0.247), p95 2.5 / 2.0 s
# and 61-63 % of 2 cores while speaking (8 s: ~24 %). Short windows loop more often
# (raw WER 0.379 at 8 s), which text_guard.collapse_repeats undoes.
MIN_WINDOW_S = 8.0
# The final decode of an utterance is offline decoding's (``offline=True``):
# Whisper's own 30 s window and its timestamp tokens. Measured on the real
# recordings (docs/performance.md, "Final decode"): the phone call's two channels
# gave WER 0.321 with an 8 s window, 0.272 at 30 s without timestamp tokens and
# 0.198 with them (offline decoding of each whole channel: 0.160); without them
# Whisper more often skips the first words after a silence.
FINAL_WINDOW_S = 30.0
# Offline decoding's limit on the first timestamp (faster-whisper's
# max_initial_timestamp = 1.0 s, in 20 ms steps).
_MAX_INITIAL_TIMESTAMP_INDEX = 50
# Timestamp tokens come in pairs around each segment, a few per second of speech.
_TIMESTAMP_TOKENS_PER_S = 2
_TIMESTAMP_S = 0.02  # one timestamp token step
# Offline decoding's seek: at most this many windows per utterance, and none for a
# rest shorter than this (Whisper closing its text a breath before the end).
_MAX_PASSES = 3
_MIN_SEEK_REST_S = 0.5
# A decode whose text ends this far before the end of the utterance's audio (its
# 0.2 s tail and the 1 s pad included) left speech unheard.
_UNHEARD_TAIL_S = 2.0
# Previous-text prompt: Whisper was trained with up to 223 tokens; a sentence or two
# is what helps with names and casing, and more costs attention at every step.
MAX_CONTEXT_TOKENS = 48


# Beam search for the final text of utterances from GREEDY_FINAL_UNDER_S on (first
# text stays greedy: it is redone anyway). Fast replay of the real recordings,
# pooled final WER mono / two channels (docs/performance.md, "Beams by length"):
# beam 5 throughout 0.275 / 0.303, greedy 0.275 / 0.314, greedy under 2 / 4 / 6 s
# 0.275 / 0.300, 0.271 / 0.296, 0.275 / 0.309. 2 s, not 4: greedy misread the
# sample call's 3.6 s "What will it take ...?" (no question, no dead-air card).
FINAL_BEAM_SIZE = 5
GREEDY_FINAL_UNDER_S = 2.0


class WhisperDecoder:
    """Loads a CTranslate2 Whisper model and decodes single utterances.

    Not thread-safe: one decoder belongs to one ASR worker thread.
    """

    def __init__(
        self,
        spec: ModelSpec,
        cpu_threads: int = 2,
        full_window: bool = False,
        no_repeat_ngram_size: int = 0,
        min_window_s: float = MIN_WINDOW_S,
    ) -> None:
        try:
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
        except ImportError as exc:  # pragma: no cover - dependency of the package
            # (Ctrl-C inside CTranslate2's init arrives here too: cli.exits sees it.)
            raise ModelError(
                f"faster-whisper is not installed ({exc}); pip install turnaround"
            ) from exc
        started = time.perf_counter()
        try:
            # str(): a pathlib.Path makes ctranslate2 raise "incompatible constructor
            # arguments" (RECIPES.md).
            self._model = WhisperModel(
                str(spec.path),
                device="cpu",
                compute_type=spec.compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise damaged_model_error(spec, exc) from exc
        self.spec = spec
        # Pad every call to Whisper's 30 s window instead of the utterance's own
        # length: kept only to measure what the short window costs in words.
        self.full_window = full_window
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.min_window_s = 30.0 if full_window else min_window_s
        # Beams for an utterance's final (offline-style) decode; first text stays
        # greedy, it is redone anyway.
        self.final_beam_size = FINAL_BEAM_SIZE
        self.load_s = time.perf_counter() - started
        self.warmup_s = 0.0
        try:
            self._tokenizer = Tokenizer(
                self._model.hf_tokenizer,
                self._model.model.is_multilingual,
                task="transcribe",
                language="en",
            )
            self._prompt = list(self._tokenizer.sot_sequence) + [self._tokenizer.no_timestamps]
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            raise damaged_model_error(spec, exc) from exc
        self._token_text: dict[int, str] = {}

    def tokenize(self, text: str) -> tuple[int, ...]:
        """Token ids of ``text`` as it would follow earlier words (leading space)."""
        return tuple(self._tokenizer.encode(" " + text.strip()))

    def warm_up(self) -> float:
        """Run one decode so the first real utterance does not pay for allocation;
        a model that loads but cannot decode (an empty vocabulary, a config of {}) is
        a damaged model, said now, not a bug mid-call."""
        started = time.perf_counter()
        rng = np.random.default_rng(0)
        try:
            self.decode((rng.standard_normal(SAMPLE_RATE_HZ) * 0.01).astype(np.float32))
        except (RuntimeError, ValueError, KeyError, IndexError) as exc:
            raise damaged_model_error(self.spec, exc) from exc
        self.warmup_s = time.perf_counter() - started
        return self.warmup_s

    def _features(self, audio: np.ndarray, min_window_s: float) -> Any:
        import ctranslate2

        audio_s = len(audio) / SAMPLE_RATE_HZ
        # Round the window up to whole seconds: CTranslate2's oneDNN backend caches
        # a compiled kernel per input shape, and with a shape per utterance length
        # memory grew 8 % over a 30-minute call (benchmarks/soak.py).
        window_s = max(min_window_s, float(np.ceil(audio_s + _PAD_S)))
        pad = np.zeros(int((window_s - audio_s) * SAMPLE_RATE_HZ))
        feats = self._model.feature_extractor(
            np.concatenate([audio, pad.astype(np.float32)]), padding=0
        )
        frames = min(feats.shape[-1], _MAX_FRAMES)
        frames -= frames % 2  # the encoder's stride-2 convolution wants an even count
        feats = np.ascontiguousarray(feats[None, :, :frames], dtype=np.float32)
        return ctranslate2.StorageView.from_array(feats)

    def decode(
        self,
        audio: np.ndarray,
        prefix: Sequence[int] = (),
        context: Sequence[int] = (),
        timestamps: bool = True,
        offline: bool = False,
        proceed: Callable[[], bool] | None = None,
    ) -> DecodeResult:
        """Decode one utterance (16 kHz mono float32). Blocking: call from a worker.

        ``prefix`` is forced as the start of the text and is not part of the result;
        ``context`` (at most ``MAX_CONTEXT_TOKENS`` are used) conditions the decoder.
        With ``timestamps``, each word gets its time in the audio (one alignment
        pass over the text: ~10 ms for tiny.en). ``offline``: decode as offline
        decoding does (``FINAL_WINDOW_S`` window, Whisper's timestamp tokens; no
        prefix), for an utterance's final text. ``proceed`` is asked after the
        encoder pass (and, offline, before each further window): when it says no,
        ``DecodeAbandoned`` is raised instead of decoding text nobody will read, or
        text that would keep a more urgent decode waiting.
        """
        if offline and prefix:
            raise ValueError("an offline-style decode takes no forced prefix")
        started = time.perf_counter()
        audio = np.asarray(audio, dtype=np.float32)
        audio_s = len(audio) / SAMPLE_RATE_HZ
        if audio_s > _MAX_FRAMES / _FRAMES_PER_S - _PAD_S:
            audio = audio[: int((_MAX_FRAMES / _FRAMES_PER_S - _PAD_S) * SAMPLE_RATE_HZ)]
        if offline:
            words, logprob, no_speech = self._offline(audio, context, timestamps, proceed)
        else:
            words, logprob, no_speech, _ = self._once(
                audio, prefix, context, timestamps, proceed=proceed
            )
        return DecodeResult(
            text=" ".join(w.text for w in words),
            avg_logprob=logprob,
            no_speech_prob=no_speech,
            audio_s=audio_s,
            decode_s=time.perf_counter() - started,
            words=words,
        )

    def _offline(
        self,
        audio: np.ndarray,
        context: Sequence[int],
        timestamps: bool,
        proceed: Callable[[], bool] | None = None,
    ) -> tuple[tuple[Word, ...], float, float]:
        """Offline decoding's loop over one utterance: decode, and where Whisper
        closed its segments before the end of the audio, go on from its last
        timestamp (faster-whisper's seek). A single pass stopped early on real
        speech ("ask what you can do for your country." and not the sentence after
        it, in the joined-clips conversation)."""
        words: list[Word] = []
        scores: list[tuple[float, int]] = []
        no_speech = 1.0
        seek = 0
        # By the whole utterance's length: every window of one utterance alike.
        beams = self.final_beam_size if len(audio) >= GREEDY_FINAL_UNDER_S * SAMPLE_RATE_HZ else 1
        for _ in range(_MAX_PASSES):
            chunk = audio[seek:]
            got, logprob, chunk_no_speech, last_ts = self._once(
                chunk, (), context, timestamps, True, proceed, beams
            )
            if seek == 0:
                no_speech = chunk_no_speech
            offset = seek / SAMPLE_RATE_HZ
            # A window that starts at a timestamp Whisper placed early hears the
            # last words again ("... behind the curtain on the left." twice).
            got = tuple(drop_repeat(words, list(got))) if words else got
            words += [replace(w, start_s=w.start_s + offset, end_s=w.end_s + offset) for w in got]
            scores.append((logprob, max(1, len(got))))
            if last_ts is None:
                break
            step = int(last_ts * SAMPLE_RATE_HZ)
            if step <= 0 or len(chunk) - step < _MIN_SEEK_REST_S * SAMPLE_RATE_HZ:
                break
            seek += step
        total = sum(n for _, n in scores)
        return tuple(words), sum(lp * n for lp, n in scores) / total, no_speech

    def _once(
        self,
        audio: np.ndarray,
        prefix: Sequence[int],
        context: Sequence[int],
        timestamps: bool,
        offline: bool = False,
        proceed: Callable[[], bool] | None = None,
        beams: int = 1,
    ) -> tuple[tuple[Word, ...], float, float, float | None]:
        """One encoder window, one decode (``beams``; 1: greedy): the words, the
        average log probability, the no-speech probability and (offline) where the
        last complete segment ended, if Whisper stopped before the audio's end."""
        audio_s = len(audio) / SAMPLE_RATE_HZ
        window_s = max(FINAL_WINDOW_S, self.min_window_s) if offline else self.min_window_s
        encoded = self._model.model.encode(self._features(audio, window_s), to_cpu=False)
        if proceed is not None and not proceed():
            # A speculative final overtaken by speech, or a partial with a final
            # now waiting: its text would only delay every other decode.
            raise DecodeAbandoned
        prompt = list(self._tokenizer.sot_sequence) if offline else list(self._prompt)
        prompt += list(prefix)
        context = list(context)[-MAX_CONTEXT_TOKENS:]
        if context:
            prompt = [self._tokenizer.sot_prev, *context, *prompt]
        per_s = _TOKENS_PER_S + (_TIMESTAMP_TOKENS_PER_S if offline else 0)
        new_tokens = _MIN_TOKENS + int(audio_s * per_s)
        extra = {"max_initial_timestamp_index": _MAX_INITIAL_TIMESTAMP_INDEX} if offline else {}
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=beams,
            sampling_temperature=1.0,  # ignored for greedy (sampling_topk=1)
            return_scores=True,
            return_no_speech_prob=True,
            max_length=_max_length(len(prompt) + new_tokens),
            suppress_blank=True,
            suppress_tokens=[-1],
            no_repeat_ngram_size=self.no_repeat_ngram_size,
            **extra,
        )[0]
        eot = self._tokenizer.eot
        # The result repeats the forced prefix; the new text is what follows it
        # (timestamp tokens, above eot, are dropped with it).
        sequence = [t for t in result.sequences_ids[0][len(prefix) :] if t != eot]
        tokens = [t for t in sequence if t < eot]
        words = self._words(tokens)
        if timestamps and words:
            words = self._timed(encoded, list(prefix), words, len(audio))
        logprob = float(result.scores[0]) if result.scores else 0.0
        last_ts = self._resume_at(sequence, audio_s) if offline else None
        return words, logprob, float(result.no_speech_prob), last_ts

    def _resume_at(self, sequence: list[int], audio_s: float) -> float | None:
        """Where to decode again from, if Whisper stopped before the end of the
        audio: Whisper's seek rule (a decode that ends on a pair of timestamps
        closed its last segment there), and -- since an utterance is speech up to
        its end, by the VAD -- also a last timestamp that falls well before the end
        (tiny.en closed "ask what you can do for your country." at 2.7 s of 7.6 and
        stopped, dropping the next sentence)."""
        begin = self._tokenizer.timestamp_begin
        if not sequence or sequence[-1] < begin:
            return None
        at = (sequence[-1] - begin) * _TIMESTAMP_S
        pair = len(sequence) >= 2 and sequence[-2] >= begin
        if pair or at < audio_s - _UNHEARD_TAIL_S:
            return at if 0 < at < audio_s else None
        return None

    def _text_of(self, token: int) -> str:
        text = self._token_text.get(token)
        if text is None:
            text = self._tokenizer.decode([token])
            self._token_text[token] = text
        return text

    def _words(self, tokens: list[int]) -> tuple[Word, ...]:
        """Group tokens into words: a token that starts with a space starts a word."""
        groups: list[list[int]] = []
        for token in tokens:
            if not groups or self._text_of(token).startswith(" "):
                groups.append([token])
            else:
                groups[-1].append(token)
        words = []
        for group in groups:
            text = self._tokenizer.decode(group).strip()
            if text:
                glued = not self._text_of(group[0]).startswith(" ")
                words.append(Word(text, tuple(group), glued=glued))
        return tuple(words)

    def _timed(
        self, encoded: Any, prefix: list[int], words: tuple[Word, ...], samples: int
    ) -> tuple[Word, ...]:
        """``words`` with their times, from CTranslate2's cross-attention alignment
        (what faster-whisper's ``word_timestamps`` uses) of prefix + new tokens."""
        tokens = prefix + [t for w in words for t in w.tokens]
        frames = samples * _FRAMES_PER_S // SAMPLE_RATE_HZ
        try:
            aligned = self._model.model.align(
                encoded, list(self._tokenizer.sot_sequence), [tokens], frames
            )[0]
        except (RuntimeError, ValueError):  # never lose text over a timestamp
            return words
        text_idx = np.array([pair[0] for pair in aligned.alignments])
        time_idx = np.array([pair[1] for pair in aligned.alignments])
        if len(text_idx) == 0:
            return words
        # The time at which the path first reaches each token (encoder frames are 20 ms).
        jumps = np.pad(np.diff(text_idx), (1, 0), constant_values=1).astype(bool)
        token_start = time_idx[jumps] / (_FRAMES_PER_S / 2)
        audio_s = samples / SAMPLE_RATE_HZ
        timed = []
        index = len(prefix)
        for word in words:
            first, after = index, index + len(word.tokens)
            start = float(token_start[first]) if first < len(token_start) else audio_s
            end = float(token_start[after]) if after < len(token_start) else audio_s
            start = min(start, audio_s)
            timed.append(replace(word, start_s=start, end_s=min(max(end, start), audio_s)))
            index = after
        return tuple(timed)


def _max_length(tokens: int) -> int:
    """CTranslate2's Whisper ``max_length`` for a prompt plus ``tokens`` new tokens.

    Measured with tiny.en on CTranslate2 4.x: a greedy decode returns at most about
    ``max_length // 2`` tokens, fewer still with a previous-text prompt
    (max_length 30/60/79 -> 15/30/39 tokens), so the budget is doubled here rather
    than silently halved. Capped at Whisper's 448-token text context.
    """
    return min(448, 2 * tokens)
