"""PNG plots of one run (matplotlib, headless): latency per stage, latency against
utterance length, CPU and RSS over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .budget import limit_of
from .results import dig

# The budget lines drawn on the latency plot.
FINAL_P95_S = limit_of("e2e.final_true_p95")
CARD_P95_S = limit_of("e2e.card_painted_true_p95")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on CI or a server
    import matplotlib.pyplot as plt

    return plt


def collect_series(sections: dict[str, Any]) -> dict[str, Any]:
    """Move per-sample lists and timelines out of the sections (they are for plots,
    and would bloat the committed reference)."""
    series: dict[str, Any] = {}
    e2e = sections.get("end_to_end")
    if e2e:
        series.update(e2e.pop("samples", {}))
        series.update(e2e.pop("samples_rendered", {}))
        series["by_length"] = e2e.pop("by_length", [])
        series["resources_e2e"] = e2e.pop("resources", None)
        series["lag_e2e"] = (e2e.get("lag") or {}).pop("timeline", None)
    for inp, pooled in (dig(sections, "realspeech", "pooled") or {}).items():
        for who in ("first", "final", "naive"):
            part = pooled.get(who) or {}
            series[f"realspeech_{inp}_{who}_s"] = part.pop("recognised_latencies", [])
            part.pop("latencies", None)
    for row in (dig(sections, "realspeech", "recordings") or {}).values():
        for who in ("first", "final", "offline", "naive"):
            part = row.get(who) or {}
            part.pop("latencies", None)
            part.pop("recognised_latencies", None)
    long_call = dig(sections, "cost", "long_call")
    if long_call:
        series["resources_long_call"] = long_call.pop("resources", None)
    return series


def write_all(doc: dict[str, Any], out_dir: Path) -> list[Path]:
    """Every plot the data allows; returns the files written."""
    written = []
    for fn in (latency_by_stage, latency_vs_length, resources):
        path = fn(doc, out_dir)
        if path is not None:
            written.append(path)
    return written


def latency_by_stage(doc: dict[str, Any], out_dir: Path) -> Path | None:
    series = doc.get("series", {})
    groups = [
        ("final\n(true end)", series.get("final_true_s")),
        ("final\n(VAD end)", series.get("final_vad_s")),
        ("suggestion", series.get("suggestion_true_s")),
        ("caption\npainted", series.get("caption_true_s")),
        ("card\npainted", series.get("card_true_s")),
    ]
    for inp in ("2ch", "mono"):
        groups += [
            (f"first text\n{inp}", series.get(f"realspeech_{inp}_first_s")),
            (f"final text\n{inp}", series.get(f"realspeech_{inp}_final_s")),
            (f"naive 2 s\n{inp}", series.get(f"realspeech_{inp}_naive_s")),
        ]
    groups = [(label, [x for x in data if x is not None]) for label, data in groups if data]
    groups = [(label, data) for label, data in groups if data]
    if not groups:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(groups)), 4.5))
    ax.boxplot([d for _, d in groups], whis=(5, 95), showfliers=False)
    for i, (_, data) in enumerate(groups, 1):
        ax.scatter([i] * len(data), data, s=10, alpha=0.5, color="tab:blue")
    ax.set_xticks(range(1, len(groups) + 1), [label for label, _ in groups])
    if FINAL_P95_S is not None:
        ax.axhline(
            FINAL_P95_S,
            color="tab:orange",
            ls="--",
            lw=1,
            label=f"budget: final p95 {FINAL_P95_S:g} s",
        )
    if CARD_P95_S is not None:
        ax.axhline(
            CARD_P95_S, color="tab:red", ls=":", lw=1, label=f"budget: card p95 {CARD_P95_S:g} s"
        )
    ax.set_ylabel("seconds after the end of speech")
    ax.set_title("Latency per stage (box: p25-p75, whiskers p5-p95)")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, plt, out_dir / "latency_by_stage.png")


def latency_vs_length(doc: dict[str, Any], out_dir: Path) -> Path | None:
    decode = doc.get("sections", {}).get("stages", {}).get("decode") or {}
    rows = decode.get("rows")
    by_length = doc.get("series", {}).get("by_length")
    if not rows and not by_length:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if rows:
        x = [r["utterance_s"] for r in rows]
        ax.plot(x, [r["final_s"] for r in rows], "o-", label="final decode")
        window = decode.get("partial_window_s")
        ax.plot(
            x,
            [r["partial_s"] for r in rows],
            "s-",
            label=f"partial decode (last {window:g} s)" if window else "partial decode",
        )
        if all("transcribe_s" in r for r in rows):
            ax.plot(x, [r["transcribe_s"] for r in rows], "^--", label="transcribe() (30 s pad)")
    if by_length:
        ax.scatter(
            [a for a, _ in by_length],
            [b for _, b in by_length],
            s=14,
            color="tab:gray",
            label="end to end: VAD end -> final",
        )
    ax.set_xlabel("utterance length (s)")
    ax.set_ylabel("seconds")
    ax.set_title("Latency and decode time vs utterance length")
    ax.legend(fontsize=8)
    return _save(fig, plt, out_dir / "latency_vs_length.png")


def resources(doc: dict[str, Any], out_dir: Path) -> Path | None:
    series = doc.get("series", {})
    panels = [(k, series.get(k)) for k in ("resources_e2e", "resources_long_call")]
    panels = [(k, v) for k, v in panels if v and v.get("t_s")]
    if not panels:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
    titles = {"resources_e2e": "real-time replay", "resources_long_call": "long call, fast replay"}
    for ax, (key, data) in zip(axes[:, 0], panels, strict=True):
        ax.plot(data["t_s"], data["cpu_pct"], color="tab:blue", lw=1)
        ax.set_ylabel("CPU, % of 2 cores", color="tab:blue")
        ax.set_ylim(bottom=0)
        ax2 = ax.twinx()
        ax2.plot(data["t_s"], data["rss_mb"], color="tab:green", lw=1.5)
        ax2.set_ylabel("RSS (MB)", color="tab:green")
        ax2.set_ylim(bottom=0)
        ax.set_title(f"CPU and memory over time: {titles[key]}")
        ax.set_xlabel("seconds")
    return _save(fig, plt, out_dir / "cpu_rss_over_time.png")


def _save(fig: Any, plt: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
