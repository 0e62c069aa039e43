"""Streaming on real speech: accuracy and latency per recording, beside baselines.

For every recording of ``conversations.py`` (mono and two-channel), in one process
with one model:

* **Turnaround**: the recording (padded with silence) replayed in real time through
  the whole pipeline as ``turnaround replay`` runs it, partial captions on; every
  committed piece of text is logged with its arrival time on the stream clock;
* **offline**: faster-whisper's ``transcribe`` over the whole file (each channel
  of a two-channel file, with its VAD filter so the silent stretches of a channel
  are not hallucinated over), greedy, the same model;
* **naive**: every 2 s of new audio transcribed as it arrives (decode times real,
  clock simulated: one decoder, so a slow decode delays the next window).

All three are scored by ``scoring.py`` (RECIPES.md): WER, and per reference
utterance the latency from its end to the arrival of its last word.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import CORES, ResourceSampler, Results, Skip, percentiles, say
from .conversations import BUILDERS, RATE_HZ, Conversation
from .scoring import Committed, Score, score_channels

# Silence after the last word: the replay ends only when the file does, and the last
# final needs its end-of-utterance silence plus a decode.
TAIL_PAD_S = 3.0
NAIVE_WINDOW_S = 2.0
# The targets: (WER vs offline, p95 latency) by input.
TARGETS = {"2ch": (1.10, 1.0), "mono": (1.15, 2.0)}


def run(
    data: Path, decoder: Any, names: tuple[str, ...] | None, tmp: Path, results: Results
) -> dict[str, Any]:
    conversations: list[Conversation] = []
    for name, build in BUILDERS.items():
        if names is not None and name not in names:
            continue
        try:
            conversations += build(data)
        except (FileNotFoundError, OSError) as exc:
            results.skip(f"realspeech.{name}", f"recording missing: {exc}")
    if not conversations:
        raise Skip(f"no real recordings found (benchmarks/data, {data}/audio)")
    rows: dict[str, Any] = {}
    pooled: dict[str, dict[str, Score]] = {}
    for conv in conversations:
        key = f"{conv.name}.{conv.input}"
        say(f"realspeech: {key} ({conv.duration_s:.0f} s, real time)")
        ours, cpu = _stream(conv, decoder, tmp)
        offline = _offline(conv, decoder)
        naive, naive_cpu = _naive(conv, decoder)
        row = _row(conv, ours, offline, naive, cpu, naive_cpu)
        rows[key] = row
        if conv.synthetic:
            continue  # shown beside the real recordings, never pooled with them
        for kind, s in (("ours", ours), ("offline", offline), ("naive", naive)):
            bucket = pooled.setdefault(conv.input, {})
            bucket[kind] = bucket.get(kind, Score(0, 0, ())) + s
        ours_row, lat = row["ours"], row["ours"]["latency_s"]
        say(
            f"realspeech: {key}: WER {ours_row['wer']:.3f} (offline "
            f"{row['offline']['wer']:.3f}, naive {row['naive']['wer']:.3f}); latency "
            f"p50/p95 {lat['p50']}/{lat['p95']} s (naive p95 {row['naive']['latency_s']['p95']} s)"
        )
    out: dict[str, Any] = {"recordings": rows, "pooled": {}}
    for kind_input, scores in pooled.items():
        out["pooled"][kind_input] = {k: _summary(s) for k, s in scores.items()}
        ours, off = scores["ours"], scores["offline"]
        wer_ratio = ours.wer / off.wer if off.wer else None
        out["pooled"][kind_input]["wer_vs_offline"] = _round(wer_ratio)
        p95 = out["pooled"][kind_input]["ours"]["latency_s"]["p95"]
        results.metric(f"realspeech.{kind_input}.wer", round(ours.wer, 4), "WER", kind="accuracy")
        if wer_ratio is not None:
            results.metric(
                f"realspeech.{kind_input}.wer_vs_offline",
                round(wer_ratio, 3),
                "x",
                kind="normalized",
            )
        naive_p95 = out["pooled"][kind_input]["naive"]["latency_s"]["p95"]
        if p95 is not None and naive_p95:
            results.metric(
                f"realspeech.{kind_input}.p95_vs_naive",
                round(p95 / naive_p95, 3),
                "x",
                kind="normalized",
            )
        if p95 is not None:
            results.metric(f"realspeech.{kind_input}.latency_p95", p95, "s")
        max_ratio, max_p95 = TARGETS[kind_input]
        out["pooled"][kind_input]["target"] = {
            "wer_vs_offline_max": max_ratio,
            "p95_max_s": max_p95,
            "met": bool(
                wer_ratio is not None
                and wer_ratio <= max_ratio
                and p95 is not None
                and p95 <= max_p95
            ),
        }
    return out


def _stream(conv: Conversation, decoder: Any, tmp: Path) -> tuple[Score, dict[str, Any]]:
    """Real-time replay through the product; committed pieces with arrival times."""
    from assistant.audio.file_source import write_wav
    from assistant.events import FinalTranscript, Speaker

    from .end_to_end import make_session, run_sessions

    pad = np.zeros((int(TAIL_PAD_S * RATE_HZ), conv.audio.shape[1]), dtype=np.float32)
    path = write_wav(tmp / f"{conv.name}-{conv.input}.wav", np.concatenate([conv.audio, pad]))
    record = make_session(path, decoder, realtime=True, partials=True)
    busy0 = record.session.pipeline.asr.busy_s
    with ResourceSampler() as sampler:
        run_sessions([record])
    t0 = record.source.start_wall
    channel = {Speaker.REP: 0, Speaker.CUSTOMER: 1}
    pieces = [
        Committed(
            e.text,
            e.decoded_wall - t0,
            channel.get(e.speaker) if conv.channel_speakers else None,
        )
        for e in sorted(record.of(FinalTranscript), key=lambda e: e.decoded_wall)
    ]
    speaking = [(t0 + r.start_s, t0 + r.end_s) for r in conv.refs]
    cpu = {
        "cpu_speaking": _round(sampler.cpu_share_during(speaking)),
        "cpu_overall": _round(sampler.cpu_share()),
        "decoder_busy_per_audio_s": _round(
            (record.session.pipeline.asr.busy_s - busy0) / conv.duration_s
        ),
        "pieces": len(pieces),
        "pipeline_utterances": len(
            {(e.speaker, e.utterance_id) for e in record.of(FinalTranscript)}
        ),
    }
    return score_channels(conv.refs, conv.channel_speakers, pieces), cpu


def _channels(conv: Conversation) -> list[tuple[int | None, np.ndarray]]:
    if conv.channel_speakers:
        return [(ch, conv.audio[:, ch]) for ch in range(conv.audio.shape[1])]
    return [(None, conv.audio[:, 0])]


def _transcribe(decoder: Any, audio: np.ndarray, vad: bool) -> list[tuple[float, str]]:
    segments, _ = decoder._model.transcribe(
        audio,
        beam_size=1,
        temperature=0.0,
        condition_on_previous_text=False,
        language="en",
        vad_filter=vad,
    )
    return [(s.start, s.text) for s in segments]  # consumed here, in this thread


def _offline(conv: Conversation, decoder: Any) -> Score:
    pieces = []
    for ch, audio in _channels(conv):
        pieces += [
            Committed(text, 0.0, ch) for _, text in _transcribe(decoder, audio, ch is not None)
        ]
    return score_channels(conv.refs, conv.channel_speakers, pieces)


def _naive(conv: Conversation, decoder: Any) -> tuple[Score, float]:
    """Fixed 2 s windows; window k of a channel is ready at 2(k+1) s."""
    n = int(NAIVE_WINDOW_S * RATE_HZ)
    jobs: list[tuple[float, int | None, str, float]] = []  # ready, channel, text, decode_s
    cpu0 = time.process_time()
    for ch, audio in _channels(conv):
        for k in range(math.ceil(len(audio) / n)):
            started = time.perf_counter()
            text = " ".join(t for _, t in _transcribe(decoder, audio[k * n : (k + 1) * n], False))
            ready = min((k + 1) * NAIVE_WINDOW_S, len(audio) / RATE_HZ)
            jobs.append((ready, ch, text, time.perf_counter() - started))
    cpu_s = time.process_time() - cpu0
    free = 0.0
    pieces = []
    for ready, ch, text, decode_s in sorted(jobs, key=lambda j: j[0]):
        free = max(ready, free) + decode_s
        pieces.append(Committed(text, free, ch))
    return score_channels(conv.refs, conv.channel_speakers, pieces), cpu_s / conv.duration_s


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def _summary(s: Score) -> dict[str, Any]:
    return {
        "wer": round(s.wer, 4),
        "errors": s.errors,
        "ref_words": s.ref_words,
        "latency_s": percentiles(x for x in s.latencies_s if x is not None),
        "missed": s.missed,
        "utterances": len(s.latencies_s),
        "latencies": [_round(x, 3) for x in s.latencies_s],
    }


def _row(
    conv: Conversation,
    ours: Score,
    offline: Score,
    naive: Score,
    cpu: dict[str, Any],
    naive_cpu: float,
) -> dict[str, Any]:
    row = {
        "input": conv.input,
        "synthetic": conv.synthetic,
        "duration_s": round(conv.duration_s, 2),
        "ours": {**_summary(ours), **cpu},
        "offline": _summary(offline),
        "naive": {**_summary(naive), "cpu_s_per_audio_s": round(naive_cpu, 4)},
    }
    row["wer_vs_offline"] = _round(ours.wer / offline.wer, 3) if offline.wer else None
    row["cores"] = CORES
    return row
