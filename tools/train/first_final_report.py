"""First-text and final-text verdicts of a detector, scored and rendered
(``tools.train.first_final``)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tools.train.streaming_sim import Heard

Judge = Callable[[str], str | None]  # a label ("price", "negative"), or None


@dataclass(frozen=True)
class Verdicts:
    first: str | None  # the first-text verdict (earliest crossing)
    first_at: float | None
    final: str | None
    final_at: float
    end_s: float = 0.0  # where the speech ended (the latest utterance of a line)


def judge(utt: Heard, detector: Judge) -> Verdicts:
    text = ""
    first, first_at = None, None
    for at, piece in utt.pieces:
        text = f"{text} {piece}".strip()
        if (label := detector(text)) is not None:
            first, first_at = label, at
            break
    final = detector(utt.final) if utt.final else None
    return Verdicts(first, first_at, final, utt.final_at, utt.end_s)


def objection_judge() -> Judge:
    from assistant.coach.detectors.objection_model import default_objection_model

    model = default_objection_model()

    def run(text: str) -> str | None:
        verdict = model.classify(text)
        return None if verdict is None else verdict.category

    return run


def negativity_judge() -> Judge:
    from assistant.coach.sentiment import default_model

    model = default_model()
    return lambda text: "negative" if model.is_negative(text) else None


DETECTORS: dict[str, Callable[[], Judge]] = {
    "objection": objection_judge,
    "customer_negativity": negativity_judge,
}


# -- scoring -------------------------------------------------------------------------


def by_line(
    utts: list[Heard], windows: list[tuple[float, float]], detector: Judge
) -> list[Verdicts]:
    """One verdict pair per labelled line: its utterances are those that end inside
    its window; the first text's verdict is their earliest crossing, the final
    text's the first final that judges it."""
    out = []
    for lo, hi in windows:
        mine = [judge(u, detector) for u in utts if lo <= u.end_s < hi]
        firsts = sorted((v.first_at, v.first) for v in mine if v.first is not None)
        finals = [(v.final_at, v.final) for v in mine if v.final is not None]
        first_at, first = firsts[0] if firsts else (None, None)
        final_at, final = (
            finals[0] if finals else (max((v.final_at for v in mine), default=0), None)
        )
        end = max((u.end_s for u in utts if lo <= u.end_s < hi), default=0.0)
        out.append(Verdicts(first, first_at, final, final_at, end))
    return out


def prf(pred: list[str | None], labels: list[str | None]) -> dict[str, Any]:
    """Any-label precision / recall / F1, and how many positives got the right label."""
    tp = sum(p is not None and g is not None for p, g in zip(pred, labels, strict=True))
    fp = sum(p is not None and g is None for p, g in zip(pred, labels, strict=True))
    fn = sum(p is None and g is not None for p, g in zip(pred, labels, strict=True))
    right = sum(p is not None and p == g for p, g in zip(pred, labels, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "found": tp,
        "false_alarms": fp,
        "right_label": right,
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def compare(
    verdicts: list[Verdicts], labels: list[str | None] | None, had_pieces: list[bool]
) -> dict[str, Any]:
    """Agreement of the two verdicts, each against the labels, and the lead time."""
    n = len(verdicts)
    same_flag = sum((v.first is None) == (v.final is None) for v in verdicts)
    same_label = sum(v.first == v.final for v in verdicts)
    leads = sorted(
        v.final_at - v.first_at for v in verdicts if v.first_at is not None and v.final is not None
    )
    out: dict[str, Any] = {
        "items": n,
        "with_pieces": sum(had_pieces),
        "flagged_first": sum(v.first is not None for v in verdicts),
        "flagged_final": sum(v.final is not None for v in verdicts),
        "agree_flag": round(same_flag / n, 3) if n else None,
        "agree_label": round(same_label / n, 3) if n else None,
        "only_first": sum(v.first is not None and v.final is None for v in verdicts),
        "only_final": sum(v.first is None and v.final is not None for v in verdicts),
        "both": len(leads),
        "earlier": sum(lead > 0.05 for lead in leads),
        "lead_s_median": round(statistics.median(leads), 2) if leads else None,
        "lead_s_max": round(max(leads), 2) if leads else None,
    }
    # Against the end of the speech: negative means while the customer still talks.
    first_after = [v.first_at - v.end_s for v in verdicts if v.first_at is not None]
    final_after = [v.final_at - v.end_s for v in verdicts if v.final is not None]
    out["first_after_end_s_median"] = _median(first_after)
    out["final_after_end_s_median"] = _median(final_after)
    out["first_before_end"] = sum(t < 0 for t in first_after)
    if labels is not None:
        out["first_vs_labels"] = prf([v.first for v in verdicts], labels)
        out["final_vs_labels"] = prf([v.final for v in verdicts], labels)
    return out


def _prf_cell(m: dict[str, Any] | None) -> str:
    if m is None:
        return "-"
    return f"{m['precision']:.2f} / {m['recall']:.2f} / **{m['f1']:.2f}** ({m['false_alarms']})"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def render(result: dict[str, Any]) -> str:
    """One table per detector: a row per recording, first text beside final text."""
    parts: list[str] = []
    for detector in DETECTORS:
        parts += [
            f"`{detector}`:",
            "",
            "| recording | items (with pieces) | flagged first / final | same verdict | "
            "only first / only final | first text P / R / F1 (false alarms) | "
            "final text P / R / F1 (false alarms) | first earlier: items, median / max s | "
            "verdict after the speech ends, median s: first / final |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, row in result["recordings"].items():
            c = row[detector]
            lead = (
                f"{c['earlier']} of {c['both']}, {c['lead_s_median']:.2f} / {c['lead_s_max']:.2f}"
                if c["both"]
                else "-"
            )
            parts.append(
                f"| {name} | {c['items']} ({c['with_pieces']}) | {c['flagged_first']} / "
                f"{c['flagged_final']} | {100 * c['agree_label']:.0f} % | {c['only_first']} / "
                f"{c['only_final']} | {_prf_cell(c.get('first_vs_labels'))} | "
                f"{_prf_cell(c.get('final_vs_labels'))} | {lead} | "
                f"{_seconds(c['first_after_end_s_median'])} / "
                f"{_seconds(c['final_after_end_s_median'])} |"
            )
        parts.append("")
    decode = [
        f"{name}: {row['decodes'].get('partial', 0)} partial and {row['decodes'].get('final', 0)} "
        f"final decodes, median {row['decode_s_median'].get('partial', 0):.2f} / "
        f"{row['decode_s_median'].get('final', 0):.2f} s"
        for name, row in result["recordings"].items()
    ]
    parts += ["Decodes on the simulated clock (partial / final, this CPU under load):", ""]
    parts += [f"* {line}" for line in decode]
    wer = [
        f"* {name}: {row['wer']['first']} first text, {row['wer']['final']} final text"
        for name, row in result["recordings"].items()
        if row.get("wer")
    ]
    if wer:
        parts += ["", "Word error rate of each text against what the customer said:", "", *wer]
    return "\n".join(parts) + "\n"
