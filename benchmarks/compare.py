"""Compare two benchmark results by ratio, so the check works across machines.

    python -m benchmarks.compare OLD.json NEW.json [--threshold 1.25] [--all]

Each metric becomes a "worse-by" ratio: new/old when lower is better, old/new when
higher is better. Above ``threshold`` it is a regression and the exit status is 1.

By default only metrics that do not depend on the machine's speed are checked:
*normalized* ones (our figures divided by a baseline measured in the same run, or
last-phase over first-phase of one run) and *accuracy* (word error rates). ``--all``
adds the absolute ones (seconds, %, MB), for two runs on the same machine.
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
# WER ratios are taken on (WER + 0.2): one more wrong word in a 22-word recording
# (+0.045) is noise across CPUs (int8 kernels differ), two or more is a regression.
ACCURACY_FLOOR = 0.2


def worse_by(old: dict[str, Any], new: dict[str, Any]) -> float | None:
    """How many times worse ``new`` is than ``old`` (1.0 = unchanged)."""
    a, b = float(old["value"]), float(new["value"])
    if old.get("kind") == "accuracy":
        a, b = a + ACCURACY_FLOOR, b + ACCURACY_FLOOR
    if a <= 0 or b <= 0:
        return 1.0 if a == b else None  # a ratio to zero says nothing
    r = b / a if old.get("better", "lower") == "lower" else a / b
    return r if math.isfinite(r) else None


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
        checked = o.get("kind", "absolute") in kinds
        r = worse_by(o, n)
        bad = checked and r is not None and r > threshold
        rows.append(
            {
                "metric": name,
                "old": o["value"],
                "new": n["value"],
                "unit": o.get("unit", ""),
                "worse_by": None if r is None else round(r, 3),
                "checked": checked,
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
    lines.append(f"{'metric':58} {'old':>10} {'new':>10} {'worse by':>9}")
    for row in rows:
        r = "n/a" if row["worse_by"] is None else f"{row['worse_by']:.2f}x"
        flag = "  REGRESSION" if row["regressed"] else ("" if row["checked"] else "  (not checked)")
        lines.append(f"{row['metric']:58} {row['old']:>10.4g} {row['new']:>10.4g} {r:>9}{flag}")
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
    threshold: float,
    all_kinds: bool = False,
) -> int:
    """Print the comparison; 1 on a regression, 2 when OLD cannot be read."""
    old = load_result(old_path)
    if old is None:
        return 2
    kinds = ("normalized", "accuracy", "absolute", "count") if all_kinds else DEFAULT_KINDS
    rows, regressions = compare(old, new, threshold, kinds)
    print(format_rows(rows, old, new))
    checked = sum(r["checked"] for r in rows)
    if regressions:
        print(
            f"\n{len(regressions)} of {checked} checked figures regressed past "
            f"{threshold:g}x: {', '.join(regressions)}"
        )
        return 1
    print(f"\nno regression past {threshold:g}x in {checked} checked figures")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description="Compare two benchmark JSON files by ratio; exit 1 on a regression.",
    )
    parser.add_argument(
        "old", type=Path, help="the earlier result (e.g. benchmarks/reference.json)"
    )
    parser.add_argument("new", type=Path, help="the result to check")
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="worse-by ratio that fails (default: %(default)s)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="also check absolute figures (only between runs on one machine)",
    )
    args = parser.parse_args(argv)
    new = load_result(args.new)
    if new is None:
        return 2
    return run_compare(args.old, new, args.threshold, args.all)


if __name__ == "__main__":
    raise SystemExit(main())
