"""End to end: the sample call replayed in real time through the whole product --
resampling, Silero VAD, Whisper, the coach, the overlay server -- into headless
Chromium, timed from the true end of speech to the text, the card and the paint.

``realtime_run`` runs N concurrent sessions (one per path, each with its own
decoder: the worst case, everyone talking at once) and pools their figures;
``section`` is the end-to-end section and its headline metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import StreamRecord, make_session, run_sessions
from .latency import analyse, lag_summary
from .results import Section, bootstrap_noise, dig, pct, percentiles, ratio, say
from .sampler import CORES, ResourceSampler


def section(
    path: Path, decoder: Any, truth: list[dict[str, Any]], browser: Any, playbook: Any
) -> Section:
    """The sample call (or its quick excerpt) in real time, with the overlay page."""
    e = realtime_run([path], [decoder], truth, "end to end", browser, playbook)
    out = Section(e)
    m = out.metric
    samples = e.get("samples", {})
    final_true = samples.get("final_true_s", [])
    m("e2e.final_true_p50", pct(final_true, 50), "s", noise=_pct_noise(final_true, 50))
    m("e2e.final_true_p95", pct(final_true, 95), "s", noise=_pct_noise(final_true, 95))
    m("e2e.final_vad_p95", dig(e, "final_vad_s", "p95"), "s")
    m("e2e.suggestion_true_p95", dig(e, "suggestion_true_s", "p95"), "s")
    m("e2e.card_painted_true_p95", dig(e, "rendered_card_true_s", "p95"), "s")
    m("e2e.caption_painted_true_p95", dig(e, "rendered_caption_true_s", "p95"), "s")
    m("e2e.partial_interval_p95", dig(e, "partials", "interval_s", "p95"), "s")
    m("e2e.first_caption_p50", dig(e, "partials", "speech_start_to_first_s", "p50"), "s")
    m("e2e.cpu_share", e["cpu_share"] * 100, "% of 2 cores", noise=e["cpu_share_noise"])
    speaking = e.get("cpu_share_speaking")
    if speaking is not None:
        m(
            "e2e.cpu_share_speaking",
            speaking * 100,
            "% of 2 cores",
            noise=e["cpu_share_speaking_noise"],
        )
    m("e2e.peak_rss_mb", e.get("peak_rss_mb"), "MB")
    m("e2e.audio_lag_max_s", dig(e, "lag", "audio_lag_s", "max"), "s")
    m("e2e.dropped_audio_s", e.get("dropped_audio_s"), "s")
    m("e2e.lines_without_text", e["lines"] - e["lines_matched"], "lines", kind="count")
    m("e2e.decoder_busy_per_audio_s", e.get("decoder_busy_per_audio_s"), "s/s")
    m("e2e.dropped_partials", e.get("dropped_partials"), "count", kind="count")
    wer = e.get("wer") or {}
    m("e2e.wer_sample_call", wer.get("wer"), "WER", kind="accuracy", noise=wer.get("noise"))
    # Machine-independent: painting a caption against producing its text, same run.
    painted = (e.get("samples_rendered") or {}).get("caption_true_s", [])
    m(
        "ratio.caption_painted_p95_vs_final_p95",
        ratio(pct(painted, 95), pct(final_true, 95)),
        "ratio",
        kind="normalized",
        noise=bootstrap_noise(_p95_ratio, painted, final_true),
    )
    return out


def _p95_ratio(a: list[float], b: list[float]) -> float | None:
    return ratio(pct(a, 95), pct(b, 95))


def _pct_noise(samples: list[float], p: float) -> float | None:
    return bootstrap_noise(lambda s: pct(s, p), samples)


def realtime_run(
    paths: list[Path],
    decoders: list[Any],
    truth: list[dict[str, Any]] | None,
    label: str,
    browser: Any = None,
    playbook: Any = None,
    mix: bool = False,
) -> dict[str, Any]:
    """N concurrent real-time sessions (one per path); figures pooled over streams."""
    say(
        f"{label}: replaying {len(paths)} stream(s) in real time "
        f"({sum(_duration(p) for p in paths) / len(paths):.0f} s each)"
    )
    records = [
        make_session(
            p,
            d,
            realtime=True,
            partials=True,
            playbook=playbook,
            mix=mix,
            server=browser.server if browser is not None and i == 0 else None,
        )
        for i, (p, d) in enumerate(zip(paths, decoders, strict=True))
    ]
    with ResourceSampler() as sampler:
        run = run_sessions(records)
    cpu_share = sampler.cpu_share()
    if browser is not None:
        browser.settle()
    per_stream = [
        analyse(r, truth, browser.latencies if browser is not None and i == 0 else None)
        for i, r in enumerate(records)
    ]
    pooled = _pool(per_stream)
    t_speech = _speech_spans(records, truth)
    pooled.update(
        wall_s=round(run["wall_s"], 2),
        cpu_share=round(cpu_share, 4),
        cpu_share_noise=sampler.cpu_noise(),
        cpu_share_speaking=_round(sampler.cpu_share_during(t_speech)),
        cpu_share_speaking_noise=sampler.cpu_noise(t_speech),
        peak_rss_mb=round(sampler.peak_rss_mb, 1),
        cpu_s_per_audio_s=round(
            cpu_share * CORES * run["wall_s"] / max(per_stream[0]["audio_s"], 1e-9), 4
        ),
        cpu_by_thread=sampler.cpu_by_thread(),
        lag=lag_summary(run["lag"], run["started"]),
        resources=sampler.timeline(run["started"]),
        streams=len(paths),
    )
    say(
        f"{label}: final p50/p95 {pooled['final_true_s']['p50']}/{pooled['final_true_s']['p95']} s"
        f" (true end), CPU {cpu_share * 100:.0f}% of {CORES} cores"
    )
    return pooled


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _duration(path: Path) -> float:
    from assistant.audio.file_source import declared_duration_s

    return declared_duration_s(path) or 0.0


def _speech_spans(
    records: list[StreamRecord], truth: list[dict[str, Any]] | None
) -> list[tuple[float, float]]:
    """Wall spans in which the script says someone speaks (any stream)."""
    spans = []
    for rec in records:
        t0 = rec.source.start_wall
        spans += [(t0 + line["start"], t0 + line["end"]) for line in truth or []]
    return spans


def _pool(per_stream: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentiles over the samples of every stream, counts summed."""
    first = per_stream[0]
    pooled: dict[str, Any] = dict(first)
    if len(per_stream) == 1:
        return pooled
    for key in ("final_true_s", "final_vad_s", "suggestion_true_s"):
        pooled[key] = percentiles(x for s in per_stream for x in s["samples"][key])
    for key in ("finals", "lines", "lines_matched", "cards", "audio_s", "asr_busy_s"):
        pooled[key] = round(sum(s[key] for s in per_stream), 3)
    pooled["dropped_partials"] = sum(s["dropped_partials"] or 0 for s in per_stream)
    pooled["by_length"] = [x for s in per_stream for x in s["by_length"]]
    pooled["samples"] = {
        key: [x for s in per_stream for x in s["samples"][key]] for key in first["samples"]
    }
    pooled["decoder_busy_per_audio_s"] = round(pooled["asr_busy_s"] / pooled["audio_s"], 4)
    return pooled
