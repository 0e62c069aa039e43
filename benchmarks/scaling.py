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

import numpy as np

from .common import Results, Skip, ratio, say
from .end_to_end import realtime_run

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
    results: Results,
    done: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    """N sessions at once, each with its own decoder (a decoder is one thread's).
    ``done`` holds runs already made (the primary 1-stream run), to avoid repeats."""
    pool = [decoder]
    rows: dict[str, Any] = {}
    for n in counts:
        if n in done:
            run = done[n]
        else:
            while len(pool) < n:
                pool.append(load())
            with browser() as page:
                run = realtime_run([path] * n, pool[:n], truth, f"{n} streams", page, playbook)
        rows[str(n)] = summary(run)
        results.metric(f"scaling.streams_{n}.final_true_p95", run["final_true_s"]["p95"], "s")
        results.metric(f"scaling.streams_{n}.cpu_share", run["cpu_share"] * 100, "% of 2 cores")
    base = rows.get(str(min(counts)))
    for n in counts:
        if base and n != min(counts):
            results.metric(
                f"scaling.final_p95_{n}x_over_1x",
                ratio(rows[str(n)]["final_true_s"]["p95"], base["final_true_s"]["p95"]),
                "ratio",
                kind="normalized",
            )
    return rows


def models(
    main_model: str,
    path: Path,
    truth: list[dict[str, Any]],
    speech: np.ndarray,
    line_ends: list[float],
    lengths: tuple[float, ...],
    playbook: Any,
    results: Results,
) -> dict[str, Any]:
    """Every other catalogue model that resolves here: decode table + one replay."""
    from assistant.asr.models import load_catalog, resolve_model
    from assistant.errors import TurnaroundError

    from .cost import load_model
    from .stages import decode_by_length

    rows: dict[str, Any] = {}
    for name in load_catalog():
        if name == main_model:
            continue
        try:
            resolve_model(name)
        except TurnaroundError as exc:
            results.skip(f"models.{name}", f"not installed here ({exc})")
            continue
        try:
            decoder = load_model(name, results, prefix=f"models.{name}")
        except TurnaroundError as exc:
            results.skip(f"models.{name}", f"cannot load: {exc}")
            continue
        say(f"models: {name}")
        decode = decode_by_length(
            decoder, speech, line_ends, lengths, 1, results, f"models.{name}", baseline=False
        )
        run = realtime_run([path], [decoder], truth, f"model {name}", None, playbook)
        rows[name] = {"decode": decode["rows"], "end_to_end": summary(run)}
        results.metric(f"models.{name}.final_true_p95", run["final_true_s"]["p95"], "s")
    if not rows:
        raise Skip("no other catalogue model is installed (see `turnaround models`)")
    return rows
