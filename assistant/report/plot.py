"""The report's timeline, drawn with matplotlib as an SVG string to inline in HTML.

Top: who spoke when (one row per speaker). Bottom: the other side's negativity per
utterance and its trend. Across both: where each card fired, coloured by what became
of it; each card marker links (``#card-<id>``) to the card in the report, each
utterance bar to its line in the transcript.
"""

from __future__ import annotations

import io
import re
from typing import Any

from assistant.errors import TurnaroundError
from assistant.report.figures import rolling_mean
from assistant.report.model import Fate, Report

SPEAKER_COLOURS = {
    "rep": "#2563eb",
    "customer": "#ea580c",
    "manager": "#7c3aed",
    "unknown": "#6b7280",
}
FATE_COLOURS = {
    Fate.HELPFUL: "#16a34a",
    Fate.DISMISSED: "#6b7280",
    Fate.EXPIRED: "#d97706",
    Fate.REPLACED: "#9333ea",
    Fate.OPEN: "#0284c7",
    Fate.NOT_SHOWN: "#94a3b8",
    Fate.UNKNOWN: "#94a3b8",
}
NEGATIVITY_COLOUR = "#dc2626"
# Fixed so the same session always gives the same SVG (diffable, testable).
SVG_HASH_SALT = "turnaround-report"
_SAME_PAGE = re.compile(r'(<a xlink:href="#[^"]*") target="_blank"')


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(max(0.0, seconds))), 60)
    return f"{minutes}:{secs:02d}"


def _figure_classes() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        raise TurnaroundError(
            "the HTML report's timeline needs matplotlib: pip install matplotlib "
            "(or use --format md or json)"
        ) from None
    return matplotlib, Figure, FuncFormatter


def timeline_svg(report: Report) -> str:
    """The timeline as an ``<svg>`` element (no XML prologue)."""
    matplotlib, figure_class, formatter = _figure_classes()
    speakers = [report.coached, report.other]
    speakers += sorted({ln.speaker for ln in report.transcript} - set(speakers))
    speakers = [sp for sp in speakers if any(ln.speaker == sp for ln in report.transcript)] or [
        report.coached
    ]
    end = max(report.duration_s, 1.0)
    rc = {"svg.fonttype": "none", "svg.hashsalt": SVG_HASH_SALT, "font.size": 9}
    with matplotlib.rc_context(rc):
        fig = figure_class(figsize=(10, 3.6), layout="constrained")
        talk, neg = fig.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [max(2, len(speakers)), 1.6]}
        )
        _speaker_rows(talk, report, speakers)
        _negativity(neg, report)
        _cards(talk, neg, report)
        neg.set_xlim(0, end * 1.01)
        neg.xaxis.set_major_formatter(formatter(lambda x, _pos: clock(x)))
        neg.set_xlabel("time into the call (m:ss)")
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    # matplotlib opens links in a new tab; these jump within the report.
    svg = _SAME_PAGE.sub(r"\1", svg)
    return svg[svg.index("<svg") :]


def _speaker_rows(ax: Any, report: Report, speakers: list[str]) -> None:
    rows = {sp: len(speakers) - 1 - i for i, sp in enumerate(speakers)}  # first on top
    for line in report.transcript:
        row = rows.get(line.speaker)
        if row is None:
            continue
        bars = ax.broken_barh(
            [(line.start_s, max(line.end_s - line.start_s, 0.05))],
            (row - 0.35, 0.7),
            color=SPEAKER_COLOURS.get(line.speaker, "#6b7280"),
            alpha=0.55 if line.backchannel else 0.9,
        )
        bars.set_url(f"#{line.anchor}")
    ax.set_yticks(list(rows.values()), [sp for sp in rows])
    ax.set_ylim(-0.7, len(speakers) - 0.3)
    ax.set_title("Who spoke when, and where each card fired", loc="left", fontsize=10)
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _negativity(ax: Any, report: Report) -> None:
    times = [t for t, _p, _a in report.negativity]
    probs = [p for _t, p, _a in report.negativity]
    if times:
        for t, p, anchor in report.negativity:
            (dot,) = ax.plot([t], [p], "o", color=NEGATIVITY_COLOUR, markersize=3.5, alpha=0.6)
            dot.set_url(f"#{anchor}")
        ax.plot(
            times,
            rolling_mean(probs),
            color=NEGATIVITY_COLOUR,
            linewidth=1.6,
            label="trend (mean of last 3)",
        )
    ax.axhline(report.negativity_threshold, color="#9ca3af", linestyle="--", linewidth=0.8)
    ax.set_ylim(0, 1)
    ax.set_yticks([0, 0.5, 1])
    ax.set_ylabel(f"{report.other}\nnegativity", fontsize=8)
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not times:
        ax.text(0.5, 0.5, f"no {report.other} speech", transform=ax.transAxes, ha="center")


def _cards(talk: Any, neg: Any, report: Report) -> None:
    seen: set[Fate] = set()
    top = talk.get_ylim()[1]
    for number, card in enumerate(report.cards, start=1):
        colour = FATE_COLOURS[card.fate]
        for ax in (talk, neg):
            ax.axvline(card.at_s, color=colour, linewidth=1.2, alpha=0.8)
        (marker,) = talk.plot(
            [card.at_s],
            [top],
            "v",
            color=colour,
            markersize=9,
            clip_on=False,
            label=None if card.fate in seen else card.fate.value,
        )
        marker.set_url(f"#card-{card.id}")
        label = talk.annotate(
            str(number),
            (card.at_s, top),
            xytext=(5, 2),
            textcoords="offset points",
            fontsize=8,
            color=colour,
            fontweight="bold",
        )
        label.set_url(f"#card-{card.id}")
        seen.add(card.fate)
    if seen:
        talk.legend(
            title="cards", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False
        )
