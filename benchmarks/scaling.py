"""Scaling: the end-to-end figures with 1, 2 and 4 concurrent streams, and for every
model the catalogue can load on this machine. (Utterance length is covered by
``stages.decode_by_length`` and the latency-vs-length plot; call length by
``cost.long_call``.)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .e2e import realtime_run
from .results import Section, bootstrap_noise, pct, ratio

# The figures each scaling row keeps (the full detail stays in its own section).
KEEP = (
    "final_true_s",
    "final_vad_s",
    "suggestion_true_s",
    "rendered_card_true_s",
    "rendered_caption_true_s",
    "partials",
    "cpu_share",
    "cpu_s_per_audio_s",
    "peak_rss_mb",
    "decoder_busy_per_audio_s",
    "dropped_partials",
    "finals",
    "lines_matched",
    "streams",
)


def summary(run: dict[str, Any]) -> dict[str, Any]:
    out = {k: run[k] for k in KEEP if k in run}
    out["audio_lag_max_s"] = run["lag"]["audio_lag_s"]["max"]
    out["finals_waiting_max"] = run["lag"]["finals_waiting_max"]
    return out


def streams(
    counts: tuple[int, ...],
    decoder: Any,
    load: Callable[[], Any],
    path: Path,
    truth: list[dict[str, Any]],
    playbook: Any,
    browser: Callable[[], AbstractContextManager[Any]],
    done: dict[int, dict[str, Any]],
) -> Section:
    """N sessions at once, each with its own decoder (a decoder is one thread's).
    ``done`` holds runs already made (the primary 1-stream run), to avoid repeats."""
    pool = [decoder]
    rows: dict[str, Any] = {}
    section = Section(rows)
    samples: dict[int, list[float]] = {}
    for n in counts:
        if n in done:
            run = done[n]
        else:
            while len(pool) < n:
                pool.append(load())
            with browser() as page:
                run = realtime_run([path] * n, pool[:n], truth, f"{n} streams", page, playbook)
        rows[str(n)] = summary(run)
        samples[n] = run["samples"]["final_true_s"]
        section.metric(f"scaling.streams_{n}.final_true_p95", run["final_true_s"]["p95"], "s")
        section.metric(f"scaling.streams_{n}.cpu_share", run["cpu_share"] * 100, "% of 2 cores")
    one = min(counts)
    for n in counts:
        if n != one:
            section.metric(
                f"scaling.final_p95_{n}x_over_1x",
                _p95_ratio(samples[n], samples[one]),
                "ratio",
                kind="normalized",
                noise=bootstrap_noise(_p95_ratio, samples[n], samples[one]),
            )
    return section


def _p95_ratio(a: list[float], b: list[float]) -> float | None:
    return ratio(pct(a, 95), pct(b, 95))
