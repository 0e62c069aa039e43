"""Several first-text decodes in one CTranslate2 call, for calls that share a decoder.

Measured (``benchmarks/team_load.py --only batching``, docs/team-server.md): for
first-text decodes of 2.5 s of real speech, batch 4 gave 1.4 times the decodes
per CPU-second of batch 1 on 2 cores, batch 8 no more than 4 (and twice the wall
time per batch). Final text uses the 30 s window, where batching gains nothing
(1.3-1.6 decodes per CPU-second at batch 1, 4 and 8 alike, measured earlier
here). So only first-text decodes (``offline=False``) are batched, and only
those whose features have the same shape (CTranslate2 takes one shape per
batch; padding short features to a longer window changes their words). Final
text is decoded one utterance at a time by ``WhisperDecoder.decode`` itself: it
must not depend on which other calls happened to be speaking.

A batched decode gives each utterance the words a single decode would, up to
the rounding of int8 matrix products over a different batch; its token budget
is the batch's largest (a looping decode may run a few tokens further, which
the text guard's loop cutting removes anyway).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from assistant.asr.decoder import (
    MAX_CONTEXT_TOKENS,
    SAMPLE_RATE_HZ,
    WhisperDecoder,
    _max_length,
)
from assistant.asr.models import ModelSpec
from assistant.asr.results import DecodeAbandoned, DecodeResult
from assistant.scale.jobs import DecodeJob

# The decoder's greedy budget for first text (decoder._TOKENS_PER_S, _MIN_TOKENS).
_TOKENS_PER_S = 8
_MIN_TOKENS = 12
_MAX_AUDIO_S = 29.0  # what decode() keeps of a longer utterance (30 s less the pad)


class BatchDecoder(WhisperDecoder):
    """A ``WhisperDecoder`` that can also decode several utterances at once.

    Not thread-safe, like its base: one belongs to one worker thread.
    ``device="cuda"``: a GPU replica's (int8 weights run as int8_float16 there).
    Untested on a GPU so far: none was available to measure on (docs/team-server.md).
    """

    def __init__(self, spec: ModelSpec, cpu_threads: int = 2, device: str = "cpu") -> None:
        super().__init__(spec, cpu_threads=cpu_threads)
        self.device = device
        if device != "cpu":
            from faster_whisper import WhisperModel

            compute = "int8_float16" if spec.compute_type == "int8" else spec.compute_type
            self._model = WhisperModel(
                str(spec.path), device=device, compute_type=compute, local_files_only=True
            )

    def decode_job(
        self, job: DecodeJob, proceed: Callable[[], bool] | None = None
    ) -> DecodeResult | None:
        """None: a first-text decode that gave way (``proceed`` said no after its
        encoder pass)."""
        try:
            return self.decode(
                job.audio,
                job.prefix,
                job.context,
                offline=job.offline,
                proceed=None if job.final or job.offline else proceed,
            )
        except DecodeAbandoned:
            return None

    def decode_many(
        self, jobs: Sequence[DecodeJob], proceed: Callable[[], bool] | None = None
    ) -> list[DecodeResult | None]:
        """Results in the order of ``jobs``: finals one by one, first-text decodes
        batched by feature shape. ``proceed`` is asked after each first-text
        encoder pass: when it says no, those jobs are answered None."""
        results: dict[int, DecodeResult | None] = {}
        groups: dict[tuple[int, ...], list[tuple[int, DecodeJob, np.ndarray]]] = {}
        for i, job in enumerate(jobs):
            if job.final or job.offline or len(jobs) == 1:
                results[i] = self.decode_job(job, proceed)
                continue
            audio = job.audio[: int(_MAX_AUDIO_S * SAMPLE_RATE_HZ)]
            feats = np.array(self._features(audio, self.min_window_s))
            groups.setdefault(feats.shape, []).append((i, job, feats))
        for members in groups.values():
            if len(members) == 1:
                i, job, _ = members[0]
                results[i] = self.decode_job(job, proceed)
                continue
            for (i, _, _), result in zip(members, self._batch(members, proceed), strict=True):
                results[i] = result
        return [results[i] for i in range(len(jobs))]

    def _batch(
        self,
        members: list[tuple[int, DecodeJob, np.ndarray]],
        proceed: Callable[[], bool] | None = None,
    ) -> list[DecodeResult | None]:
        """One encoder pass and one greedy decode for same-shape first-text jobs:
        ``WhisperDecoder._once`` for many (no timestamps tokens, forced prefixes)."""
        import ctranslate2

        started = time.perf_counter()
        model = self._model.model
        batch = np.ascontiguousarray(np.concatenate([f for _, _, f in members]), dtype=np.float32)
        encoded = model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=True)
        if proceed is not None and not proceed():
            return [None] * len(members)  # a final came in: its decode goes first
        prompts, budget = [], 0
        for _, job, _ in members:
            prompt = list(self._prompt) + list(job.prefix)
            context = list(job.context)[-MAX_CONTEXT_TOKENS:]
            if context:
                prompt = [self._tokenizer.sot_prev, *context, *prompt]
            new_tokens = _MIN_TOKENS + int(min(job.audio_s, _MAX_AUDIO_S) * _TOKENS_PER_S)
            budget = max(budget, _max_length(len(prompt) + new_tokens))
            prompts.append(prompt)
        out = model.generate(
            encoded,
            prompts,
            beam_size=1,
            sampling_temperature=1.0,
            return_scores=True,
            return_no_speech_prob=True,
            max_length=budget,
            suppress_blank=True,
            suppress_tokens=[-1],
            no_repeat_ngram_size=self.no_repeat_ngram_size,
        )
        # Alignment (word times) runs per utterance on its own slice of the encoder
        # output: the same pass a single decode makes.
        per_item = np.array(encoded)
        eot = self._tokenizer.eot
        results: list[DecodeResult | None] = []
        for k, ((_, job, _), result) in enumerate(zip(members, out, strict=True)):
            sequence = [t for t in result.sequences_ids[0][len(job.prefix) :] if t != eot]
            words = self._words([t for t in sequence if t < eot])
            if words:
                mine = ctranslate2.StorageView.from_array(np.ascontiguousarray(per_item[k : k + 1]))
                samples = min(len(job.audio), int(_MAX_AUDIO_S * SAMPLE_RATE_HZ))
                words = self._timed(mine, list(job.prefix), words, samples)
            results.append(
                DecodeResult(
                    text=" ".join(w.text for w in words),
                    avg_logprob=float(result.scores[0]) if result.scores else 0.0,
                    no_speech_prob=float(result.no_speech_prob),
                    audio_s=job.audio_s,
                    decode_s=(time.perf_counter() - started) / len(members),
                    words=words,
                )
            )
        return results
