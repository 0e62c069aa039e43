"""The latency and resource budget, as data: one place for every limit.

Each line names the metric(s) it judges (the worst of them counts), its limit and
the figures shown beside it. ``check(doc)`` judges a run's metrics; the summary,
docs/performance.md and README's headline, the metric table (``budget`` on each metric) and the
plots' reference lines all read the limits from here.

The limits are for the reference machine: 2 CPU cores, no GPU, tiny.en int8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Line:
    figure: str
    metrics: tuple[str, ...]  # judged on the largest of these that was measured
    limit: float
    unit: str
    beside: tuple[tuple[str, str], ...] = ()  # (label, metric) shown with the value

    @property
    def budget(self) -> str:
        return f"<= {self.limit:g} {self.unit}"


BUDGET: tuple[Line, ...] = (
    Line(
        "end of speech -> final text, p95 (true end)",
        ("e2e.final_true_p95",),
        1.0,
        "s",
        (("VAD end", "e2e.final_vad_p95"),),
    ),
    Line(
        "end of speech -> card visible in Chromium, p95",
        ("e2e.card_painted_true_p95",),
        1.1,
        "s",
        (("final captions", "e2e.caption_painted_true_p95"),),
    ),
    Line(
        "partial caption interval while speaking, p95",
        ("e2e.partial_interval_p95",),
        0.5,
        "s",
        (("first caption after speech starts, p50", "e2e.first_caption_p50"),),
    ),
    Line(
        "CPU while someone speaks",
        ("e2e.cpu_share_speaking", "realspeech.cpu_speaking_max"),
        35.0,
        "% of 2 cores",
        (
            ("sample call", "e2e.cpu_share_speaking"),
            ("real speech, busiest recording", "realspeech.cpu_speaking_max"),
        ),
    ),
    # "Near 0 %" in silence is read as at most 5 % of 2 cores: a VAD on two live
    # streams costs ~1 % by itself.
    Line("CPU in silence", ("cost.cpu_share_silence",), 5.0, "% of 2 cores"),
    # Judged in a process that runs nothing but the call (cost.long_call_in_child):
    # the benchmark's own process also holds what its earlier sections allocated
    # (the real recordings, their decoders' caches), shown beside it. A plain
    # `turnaround replay --sample` peaks at ~250 MB.
    Line(
        "RSS, one call (peak)",
        ("call_length.peak_rss_mb",),
        400.0,
        "MB",
        (
            ("steady, long call", "cost.steady_rss_mb"),
            ("benchmark process after its other sections", "e2e.peak_rss_mb"),
        ),
    ),
    Line("audio lag behind real time (max)", ("e2e.audio_lag_max_s",), 1.0, "s"),
    Line("audio dropped", ("e2e.dropped_audio_s",), 0.0, "s"),
    Line("scripted lines without their text", ("e2e.lines_without_text",), 0.0, "lines"),
)


def limit_of(metric: str) -> float | None:
    """The limit a metric is judged against (None: not budgeted)."""
    return next((line.limit for line in BUDGET if metric in line.metrics), None)


def annotate(metrics: dict[str, dict[str, Any]]) -> None:
    """Write each budgeted metric's limit into its entry (for readers of the JSON)."""
    for line in BUDGET:
        for name in line.metrics:
            if name in metrics:
                metrics[name]["budget"] = line.budget


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    digits = 0 if unit in ("MB", "lines") else (1 if unit.startswith("%") else 2)
    return f"{value:.{digits}f}"


def check(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per budget line: measured value, the limit, and within it or not."""
    metrics = doc.get("metrics", {})

    def value(name: str) -> float | None:
        entry = metrics.get(name)
        return None if entry is None else float(entry["value"])

    rows = []
    for line in BUDGET:
        measured = [v for v in map(value, line.metrics) if v is not None]
        worst = max(measured) if measured else None
        shown = f"{_show(worst, line.unit)} {line.unit}" if worst is not None else "n/a"
        extra = [
            f"{label}: {_show(value(name), line.unit)}"
            for label, name in line.beside
            if value(name) is not None
        ]
        if extra:
            shown += f" ({'; '.join(extra)})"
        rows.append(
            {
                "figure": line.figure,
                "budget": line.budget,
                "measured": shown,
                "value": worst,
                "ok": None if worst is None else worst <= line.limit,
            }
        )
    return rows
