"""What a benchmark section returns, and the document one run writes.

A section is a function that measures something and returns a :class:`Section`:
the detail its tables are made from, and its **metrics** -- the flat figures
``--compare`` reads. Each metric records its unit, which direction is better, its
kind (*normalized*: a ratio to a baseline measured in the same run, so it survives
a move to another machine; *accuracy*: a word error rate; *absolute*: seconds, MB,
%, honest but machine-dependent; *count*) and, where the samples allow, its
**noise**: how far the figure would move if the run were repeated, estimated from
the run's own samples (see :func:`bootstrap_noise`). ``--compare`` gates only on a
change larger than the noise of both runs.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Better = Literal["lower", "higher"]
Kind = Literal["absolute", "normalized", "accuracy", "count"]

# Bootstrap: resamples per figure, the interval it reports, and a fixed seed so the
# same samples always give the same noise.
BOOTSTRAP_ROUNDS = 400
BOOTSTRAP_INTERVAL = 0.90
BOOTSTRAP_SEED = 13


class Skip(Exception):
    """An optional part cannot run here (no Chromium, no ../shared data, ...)."""


_T0 = time.monotonic()


def say(message: str) -> None:
    """One progress line on stderr, stamped with seconds since the run began."""
    print(f"[{time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def rank(data: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted ``data`` (as the overlay's dev view does)."""
    return data[min(len(data) - 1, max(0, math.ceil(p / 100 * len(data)) - 1))]


def percentiles(values: Iterable[float | None]) -> dict[str, float | None]:
    """p50 / p95 / max / mean / n; None and non-finite values are left out."""
    data = sorted(float(v) for v in values if v is not None and math.isfinite(v))
    if not data:
        return {"n": 0, "p50": None, "p95": None, "max": None, "mean": None}
    return {
        "n": len(data),
        "p50": round(rank(data, 50), 4),
        "p95": round(rank(data, 95), 4),
        "max": round(data[-1], 4),
        "mean": round(sum(data) / len(data), 4),
    }


def pct(values: Iterable[float | None], p: float) -> float | None:
    data = sorted(float(v) for v in values if v is not None and math.isfinite(v))
    return rank(data, p) if data else None


def dig(d: Any, *keys: str) -> Any:
    """``d[k1][k2]...``, or None where any level is missing (a section was skipped)."""
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def ratio(ours: float | None, baseline: float | None) -> float | None:
    if ours is None or baseline is None or baseline <= 0:
        return None
    return round(ours / baseline, 4)


def bootstrap_noise(
    statistic: Callable[..., float | None],
    *groups: Sequence[Any],
    paired: bool = False,
) -> float | None:
    """Relative noise of ``statistic(*groups)``: half the width of its bootstrap
    interval (90 %, each group resampled with replacement; ``paired``: the groups
    are resampled together, index by index), divided by the figure itself.

    None when there is too little to resample (fewer than 3 samples in a group) or
    the figure is zero or missing: such a figure is reported, never gated.
    """
    value = statistic(*groups)
    if value is None or value == 0 or any(len(g) < 3 for g in groups):
        return None
    rng = random.Random(BOOTSTRAP_SEED)
    draws: list[float] = []
    for _ in range(BOOTSTRAP_ROUNDS):
        if paired:
            idx = [rng.randrange(len(groups[0])) for _ in groups[0]]
            sample = [[g[i] for i in idx] for g in groups]
        else:
            sample = [[g[rng.randrange(len(g))] for _ in g] for g in groups]
        drawn = statistic(*sample)
        if drawn is not None and math.isfinite(drawn):
            draws.append(drawn)
    if len(draws) < BOOTSTRAP_ROUNDS // 2:
        return None
    draws.sort()
    tail = (1 - BOOTSTRAP_INTERVAL) / 2 * 100
    half = (rank(draws, 100 - tail) - rank(draws, tail)) / 2
    return round(abs(half / value), 4)


def rate_noise(intervals: Sequence[tuple[float, float]]) -> float | None:
    """Noise of a rate (CPU seconds per wall second) measured over ``intervals`` of
    (amount, duration): the bootstrap over intervals."""

    def total_rate(sample: Sequence[tuple[float, float]]) -> float | None:
        wall = sum(w for _, w in sample)
        return sum(c for c, _ in sample) / wall if wall > 0 else None

    return bootstrap_noise(total_rate, intervals)


def combine(*noises: float | None) -> float | None:
    """Noise of a ratio or product of independent figures (in quadrature)."""
    if any(n is None for n in noises):
        return None
    return round(math.sqrt(sum(n * n for n in noises)), 4)  # type: ignore[operator]


@dataclass
class Section:
    """What a section returns: its detail, its metrics and what it skipped."""

    detail: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def metric(
        self,
        name: str,
        value: float | None,
        unit: str,
        better: Better = "lower",
        kind: Kind = "absolute",
        noise: float | None = None,
    ) -> None:
        if value is None:
            return
        entry: dict[str, Any] = {
            "value": round(float(value), 4),
            "unit": unit,
            "better": better,
            "kind": kind,
        }
        if noise is not None:
            entry["noise"] = round(float(noise), 4)
        self.metrics[name] = entry

    def skip(self, part: str, why: str) -> None:
        self.skipped[part] = why
        say(f"skipping {part}: {why}")


@dataclass
class Results:
    """The JSON document of one run: sections of detail plus a flat metric table."""

    meta: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)  # for plots; not compared

    def add(self, name: str, section: Section) -> None:
        """File a section's figures under ``name`` ("stages.decode" nests)."""
        self.metrics.update(section.metrics)
        self.skipped.update(section.skipped)
        target = self.sections
        parts = name.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = section.detail

    def skip(self, part: str, why: str) -> None:
        self.skipped[part] = why
        say(f"skipping {part}: {why}")

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 2,
            "meta": self.meta,
            "metrics": dict(sorted(self.metrics.items())),
            "skipped": self.skipped,
            "sections": self.sections,
            "series": self.series,
        }
