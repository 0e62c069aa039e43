"""Streaming on real speech: accuracy, latency and CPU per recording, beside
baselines measured in the same run. The benchmark's headline.

For every recording of ``conversations.py`` (mono and two-channel), in one process
with one model:

* **Turnaround**: the recording (padded with silence) replayed in real time
  through the whole pipeline as ``turnaround replay`` builds it (``harness``),
  partial captions on; every committed piece of text is logged with its arrival
  time on the stream clock;
* **offline**: faster-whisper's ``transcribe`` over the whole file (each channel
  of a two-channel file, with its VAD filter so the silent stretches of a channel
  are not hallucinated over), greedy, the same model; ``offline_repeats`` times,
  spread over the recording's turn (before our replay, after it, after the naive
  loop), so its CPU figure's spread includes how the machine's load moved;
* **naive**: every 2 s of new audio transcribed as it arrives (decode times real,
  clock simulated: one decoder, so a slow decode delays the next window).

All three are scored by ``scoring.py`` (RECIPES.md): WER, and per reference
utterance the latency from its end to the arrival of its last word. CPU is
process CPU seconds per second of recording. Pooled by input (mono, 2ch), our
figures are stated as ratios to the baselines, with the noise of each ratio from
the run's own samples (utterances, CPU intervals, decode windows, repeats).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .conversations import BUILDERS, RATE_HZ, Conversation
from .harness import make_session, run_sessions
from .results import Section, Skip, bootstrap_noise, combine, pct, percentiles, rate_noise, say
from .sampler import CORES, ResourceSampler
from .scoring import (
    Committed,
    Score,
    latency_ratio_noise,
    score_channels,
    wer_noise,
    wer_ratio_noise,
)

# Silence after the last word: the replay ends only when the file does, and the last
# final needs its end-of-utterance silence plus a decode.
TAIL_PAD_S = 3.0
NAIVE_WINDOW_S = 2.0
# The targets: (WER vs offline, p95 latency) by input.
TARGETS = {"2ch": (1.10, 1.0), "mono": (1.15, 2.0)}

Intervals = list[tuple[float, float]]  # (CPU seconds, audio or wall seconds)


def run(
    data: Path, decoder: Any, names: tuple[str, ...] | None, tmp: Path, offline_repeats: int = 3
) -> Section:
    out = Section()
    conversations: list[Conversation] = []
    for name, build in BUILDERS.items():
        if names is not None and name not in names:
            continue
        try:
            conversations += build(data)
        except (FileNotFoundError, OSError) as exc:
            out.skip(f"realspeech.{name}", f"recording missing: {exc}")
    if not conversations:
        raise Skip(f"no real recordings found (benchmarks/data, {data}/audio)")
    rows: dict[str, Any] = {}
    pooled: dict[str, dict[str, Any]] = {}
    for conv in conversations:
        key = f"{conv.name}.{conv.input}"
        say(f"realspeech: {key} ({conv.duration_s:.0f} s, real time)")
        # Offline decoding is timed between the other measurements, not back to back.
        offline, spent = _offline(conv, decoder)
        ours, cpu = _stream(conv, decoder, tmp)
        spent += _offline(conv, decoder)[1] if offline_repeats > 1 else []
        naive, naive_cpu = _naive(conv, decoder)
        for _ in range(offline_repeats - 2):
            spent += _offline(conv, decoder)[1]
        offline_cpu = {
            "repeats": spent,
            "cpu_s_per_audio_s": sum(spent) / len(spent) / conv.duration_s,
        }
        rows[key] = _row(conv, ours, offline, naive, cpu, offline_cpu, naive_cpu)
        if conv.synthetic:
            continue  # shown beside the real recordings, never pooled with them
        bucket = pooled.setdefault(conv.input, _empty_pool(offline_repeats))
        bucket["ours"] += ours
        bucket["offline"] += offline
        bucket["naive"] += naive
        bucket["audio_s"] += conv.duration_s
        bucket["ours_cpu"] += cpu.pop("intervals")
        bucket["naive_cpu"] += naive_cpu["windows"]
        for r, spent in enumerate(offline_cpu["repeats"]):
            bucket["offline_cpu"][r] += spent
        bucket["cpu_speaking"].append(cpu["cpu_speaking"])
        row = rows[key]
        lat = row["ours"]["latency_s"]
        say(
            f"realspeech: {key}: WER {row['ours']['wer']:.3f} (offline "
            f"{row['offline']['wer']:.3f}, naive {row['naive']['wer']:.3f}); latency "
            f"p50/p95 {lat['p50']}/{lat['p95']} s (naive p95 {row['naive']['latency_s']['p95']} s)"
        )
    out.detail = {"recordings": rows, "pooled": {}}
    for inp, bucket in pooled.items():
        out.detail["pooled"][inp] = _pooled(inp, bucket, out)
    speaking = [x for b in pooled.values() for x in b["cpu_speaking"] if x is not None]
    if speaking:
        out.metric("realspeech.cpu_speaking_max", max(speaking) * 100, "% of 2 cores")
    return out


def _empty_pool(repeats: int) -> dict[str, Any]:
    empty = Score(0, 0, ())
    return {
        "ours": empty,
        "offline": empty,
        "naive": empty,
        "audio_s": 0.0,
        "ours_cpu": [],
        "naive_cpu": [],
        "offline_cpu": [0.0] * repeats,
        "cpu_speaking": [],
    }


def _pooled(inp: str, b: dict[str, Any], out: Section) -> dict[str, Any]:
    """One input's recordings together: summaries, ratios with their noise, metrics."""
    ours, off, naive = b["ours"], b["offline"], b["naive"]
    audio_s = b["audio_s"]
    ours_cpu = sum(c for c, _ in b["ours_cpu"]) / audio_s
    naive_cpu = sum(c for c, _ in b["naive_cpu"]) / audio_s
    offline_cpu = sum(b["offline_cpu"]) / len(b["offline_cpu"]) / audio_s
    cpu_noise = {
        "ours": rate_noise(b["ours_cpu"]),
        "naive": rate_noise(b["naive_cpu"]),
        "offline": bootstrap_noise(lambda s: sum(s) / len(s), b["offline_cpu"]),
    }
    summary: dict[str, Any] = {k: _summary(s) for k, s in (("ours", ours), ("offline", off))}
    summary["naive"] = _summary(naive)
    summary["cpu_s_per_audio_s"] = {
        "ours": round(ours_cpu, 4),
        "offline": round(offline_cpu, 4),
        "naive": round(naive_cpu, 4),
        "noise": cpu_noise,
    }
    p50, p95 = pct(ours.latencies_s, 50), pct(ours.latencies_s, 95)
    ratios = {
        "wer_vs_offline": (_div(ours.wer, off.wer), wer_ratio_noise(ours, off)),
        "p50_vs_naive": (
            _div(p50, pct(naive.latencies_s, 50)),
            latency_ratio_noise(ours, naive, 50),
        ),
        "p95_vs_naive": (
            _div(p95, pct(naive.latencies_s, 95)),
            latency_ratio_noise(ours, naive, 95),
        ),
        "cpu_vs_offline": (
            _div(ours_cpu, offline_cpu),
            combine(cpu_noise["ours"], cpu_noise["offline"]),
        ),
        "cpu_vs_naive": (_div(ours_cpu, naive_cpu), combine(cpu_noise["ours"], cpu_noise["naive"])),
    }
    summary["ratios"] = {k: {"value": _round(v, 3), "noise": n} for k, (v, n) in ratios.items()}
    for name, (value, noise) in ratios.items():
        out.metric(f"realspeech.{inp}.{name}", value, "x", kind="normalized", noise=noise)
    out.metric(f"realspeech.{inp}.wer", ours.wer, "WER", kind="accuracy", noise=wer_noise(ours))
    for p, value in ((50, p50), (95, p95)):
        noise = bootstrap_noise(lambda s, p=p: pct(s, p), ours.latencies_s)
        out.metric(f"realspeech.{inp}.latency_p{p}", value, "s", noise=noise)
    out.metric(f"realspeech.{inp}.cpu_s_per_audio_s", ours_cpu, "s/s", noise=cpu_noise["ours"])
    max_ratio, max_p95 = TARGETS[inp]
    wer_ratio = ratios["wer_vs_offline"][0]
    summary["wer_vs_offline"] = _round(wer_ratio, 3)
    summary["target"] = {
        "wer_vs_offline_max": max_ratio,
        "p95_max_s": max_p95,
        "met": bool(
            wer_ratio is not None and wer_ratio <= max_ratio and p95 is not None and p95 <= max_p95
        ),
    }
    return summary


def _stream(conv: Conversation, decoder: Any, tmp: Path) -> tuple[Score, dict[str, Any]]:
    """Real-time replay through the product; committed pieces with arrival times."""
    from assistant.audio.file_source import write_wav
    from assistant.events import FinalTranscript, Speaker

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
    intervals = sampler.intervals()
    cpu = {
        "cpu_speaking": _round(sampler.cpu_share_during(speaking)),
        "cpu_overall": _round(sampler.cpu_share()),
        "cpu_s_per_audio_s": _round(sum(c for c, _ in intervals) / conv.duration_s),
        "decoder_busy_per_audio_s": _round(
            (record.session.pipeline.asr.busy_s - busy0) / conv.duration_s
        ),
        "pieces": len(pieces),
        "pipeline_utterances": len(
            {(e.speaker, e.utterance_id) for e in record.of(FinalTranscript)}
        ),
        "intervals": intervals,
    }
    return score_channels(conv.refs, conv.channel_speakers, pieces), cpu


def _channels(conv: Conversation) -> list[tuple[int | None, np.ndarray]]:
    if conv.channel_speakers:
        return [(ch, conv.audio[:, ch]) for ch in range(conv.audio.shape[1])]
    return [(None, conv.audio[:, 0])]


def transcribe(decoder: Any, audio: np.ndarray, vad: bool = False) -> list[tuple[float, str]]:
    """faster-whisper's own loop over ``audio`` (pads to 30 s windows): greedy,
    English, no previous-text conditioning -- the settings the product decodes with."""
    segments, _ = decoder._model.transcribe(
        audio,
        beam_size=1,
        temperature=0.0,
        condition_on_previous_text=False,
        language="en",
        vad_filter=vad,
    )
    return [(s.start, s.text) for s in segments]  # consumed here, in this thread


def _offline(conv: Conversation, decoder: Any) -> tuple[Score, list[float]]:
    """Whole channels, decoded once: the score, and the CPU seconds it took (greedy
    decoding gives the same words every time; a repeat only re-times it)."""
    cpu0 = time.process_time()
    pieces: list[Committed] = []
    for ch, audio in _channels(conv):
        texts = transcribe(decoder, audio, ch is not None)
        pieces += [Committed(text, 0.0, ch) for _, text in texts]
    spent = time.process_time() - cpu0
    return score_channels(conv.refs, conv.channel_speakers, pieces), [spent]


def _naive(conv: Conversation, decoder: Any) -> tuple[Score, dict[str, Any]]:
    """Fixed 2 s windows; window k of a channel is ready at 2(k+1) s."""
    n = int(NAIVE_WINDOW_S * RATE_HZ)
    jobs: list[tuple[float, int | None, str, float]] = []  # ready, channel, text, decode_s
    windows: Intervals = []  # (CPU seconds, audio seconds) per window
    for ch, audio in _channels(conv):
        for k in range(math.ceil(len(audio) / n)):
            started, cpu0 = time.perf_counter(), time.process_time()
            clip = audio[k * n : (k + 1) * n]
            text = " ".join(t for _, t in transcribe(decoder, clip))
            windows.append((time.process_time() - cpu0, len(clip) / RATE_HZ))
            ready = min((k + 1) * NAIVE_WINDOW_S, len(audio) / RATE_HZ)
            jobs.append((ready, ch, text, time.perf_counter() - started))
    free = 0.0
    pieces = []
    for ready, ch, text, decode_s in sorted(jobs, key=lambda j: j[0]):
        free = max(ready, free) + decode_s
        pieces.append(Committed(text, free, ch))
    cpu_s = sum(c for c, _ in windows)
    score = score_channels(conv.refs, conv.channel_speakers, pieces)
    return score, {"windows": windows, "cpu_s_per_audio_s": cpu_s / conv.duration_s}


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


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
    offline_cpu: dict[str, Any],
    naive_cpu: dict[str, Any],
) -> dict[str, Any]:
    row = {
        "input": conv.input,
        "synthetic": conv.synthetic,
        "duration_s": round(conv.duration_s, 2),
        "ours": {**_summary(ours), **{k: v for k, v in cpu.items() if k != "intervals"}},
        "offline": {
            **_summary(offline),
            "cpu_s_per_audio_s": round(offline_cpu["cpu_s_per_audio_s"], 4),
        },
        "naive": {**_summary(naive), "cpu_s_per_audio_s": round(naive_cpu["cpu_s_per_audio_s"], 4)},
    }
    row["wer_vs_offline"] = _round(ours.wer / offline.wer, 3) if offline.wer else None
    row["cores"] = CORES
    return row
