"""Compare two benchmark results: a figure regresses only when it got worse by more
than its noise.

    python -m benchmarks.compare OLD.json NEW.json [--threshold 1.25] [--all]

Each metric becomes a "worse-by" ratio: new/old when lower is better, old/new when
higher is better (word error rates as (WER + 0.2) ratios, so one word on a 22-word
clip is not a failure). A figure is **gated** when both runs measured its noise
(``results.bootstrap_noise``: the 90 % bootstrap half-width, relative, from the
run's own samples); it **regresses** when its worse-by exceeds both ``threshold``
and 1 + the two runs' noise combined. A figure without a noise estimate is shown,
never gated: a ratio of two ~0.1 ms medians can double between identical runs.

By default only figures that do not depend on the machine's speed are gated:
*normalized* ones (our figures over a baseline measured in the same run: latency
against the naive 2 s loop, CPU against offline decoding and the naive loop, WER
against offline; last/first phase of a long call) and *accuracy* (word error
rates). ``--all`` adds the absolute ones (seconds, %, MB), for two runs on the
same machine.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

DEFAULT_THRESHOLD = 1.25
DEFAULT_KINDS = ("normalized", "accuracy")
ALL_KINDS = ("normalized", "accuracy", "absolute", "count")
# WER ratios are taken on (WER + 0.2): one more wrong word in a 22-word recording
# (+0.045) is noise across CPUs (int8 kernels differ), two or more is a regression.
ACCURACY_FLOOR = 0.2


def _floor(metric: dict[str, Any]) -> float:
    return ACCURACY_FLOOR if metric.get("kind") == "accuracy" else 0.0


def worse_by(old: dict[str, Any], new: dict[str, Any]) -> float | None:
    """How many times worse ``new`` is than ``old`` (1.0 = unchanged)."""
    a, b = float(old["value"]) + _floor(old), float(new["value"]) + _floor(old)
    if a <= 0 or b <= 0:
        return 1.0 if a == b else None  # a ratio to zero says nothing
    r = b / a if old.get("better", "lower") == "lower" else a / b
    return r if math.isfinite(r) else None


def noise_of(old: dict[str, Any], new: dict[str, Any]) -> float | None:
    """The two runs' relative noise combined (on the floored scale for WERs); None
    when either run has no estimate."""
    parts = []
    for m in (old, new):
        noise = m.get("noise")
        if noise is None:
            return None
        value = abs(float(m["value"]))
        parts.append(float(noise) * value / (value + _floor(old)) if _floor(old) else noise)
    return math.sqrt(sum(p * p for p in parts))


def compare(
    old: dict[str, Any],
    new: dict[str, Any],
    threshold: float = DEFAULT_THRESHOLD,
    kinds: tuple[str, ...] = DEFAULT_KINDS,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for every metric in both runs, and the names that regressed."""
    rows, regressions = [], []
    old_m, new_m = old.get("metrics", {}), new.get("metrics", {})
    for name in sorted(set(old_m) & set(new_m)):
        o, n = old_m[name], new_m[name]
        r = worse_by(o, n)
        noise = noise_of(o, n)
        wanted = o.get("kind", "absolute") in kinds
        checked = wanted and noise is not None and r is not None
        allowed = max(threshold, 1 + noise) if noise is not None else None
        bad = checked and r > allowed  # type: ignore[operator]
        rows.append(
            {
                "metric": name,
                "old": o["value"],
                "new": n["value"],
                "unit": o.get("unit", ""),
                "worse_by": None if r is None else round(r, 3),
                "noise": None if noise is None else round(noise, 3),
                "allowed": None if allowed is None else round(allowed, 3),
                "checked": checked,
                "why_not": None if checked else ("no noise estimate" if wanted else "kind"),
                "regressed": bad,
            }
        )
        if bad:
            regressions.append(name)
    return rows, regressions


def format_rows(rows: list[dict[str, Any]], old: dict[str, Any], new: dict[str, Any]) -> str:
    lines = []
    om, nm = old.get("meta", {}), new.get("meta", {})
    if om.get("mode") != nm.get("mode"):
        lines.append(
            f"note: comparing a {om.get('mode')!r} run with a {nm.get('mode')!r} run; "
            "only the normalized figures mean much"
        )
    lines.append(f"{'metric':50} {'old':>9} {'new':>9} {'worse by':>9} {'allowed':>8}")
    for row in rows:
        r = "n/a" if row["worse_by"] is None else f"{row['worse_by']:.2f}x"
        allowed = "" if row["allowed"] is None else f"{row['allowed']:.2f}x"
        if row["regressed"]:
            flag = "  REGRESSION"
        elif not row["checked"]:
            flag = "  (not gated: no noise estimate)" if row["why_not"] != "kind" else ""
        else:
            flag = ""
        lines.append(
            f"{row['metric']:50} {row['old']:>9.4g} {row['new']:>9.4g} {r:>9} {allowed:>8}{flag}"
        )
    return "\n".join(lines)


def load_result(path: Path) -> dict[str, Any] | None:
    """A result JSON, or None (with the reason on stderr) when it cannot be read."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"compare: cannot read {path}: {exc}", file=sys.stderr)
        return None


def run_compare(
    old_path: Path,
    new: dict[str, Any],
    threshold: float = DEFAULT_THRESHOLD,
    all_kinds: bool = False,
) -> int:
    """Print the comparison; 1 on a regression, 2 when OLD cannot be read."""
    old = load_result(old_path)
    if old is None:
        return 2
    rows, regressions = compare(old, new, threshold, ALL_KINDS if all_kinds else DEFAULT_KINDS)
    print(format_rows(rows, old, new))
    checked = sum(r["checked"] for r in rows)
    if regressions:
        print(
            f"\n{len(regressions)} of {checked} gated figures got worse by more than "
            f"{threshold:g}x and their noise: {', '.join(regressions)}"
        )
        return 1
    print(f"\nno regression beyond {threshold:g}x and noise in {checked} gated figures")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description="Compare two benchmark JSON files; exit 1 when a gated figure got worse "
        "by more than the threshold and its noise.",
    )
    parser.add_argument(
        "old", type=Path, help="the earlier result (e.g. benchmarks/reference-quick.json)"
    )
    parser.add_argument("new", type=Path, help="the result to check")
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="smallest worse-by ratio that can count as a regression (default: %(default)s)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="also gate absolute figures (only between runs on one machine)",
    )
    args = parser.parse_args(argv)
    new = load_result(args.new)
    if new is None:
        return 2
    return run_compare(args.old, new, args.threshold, args.all)


if __name__ == "__main__":
    raise SystemExit(main())
