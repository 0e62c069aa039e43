"""Objection detection, per category, on the untouched splits (part of
``python -m tools.train.evaluate``).

    python -m tools.train.objection_eval --split dev --weights FILE

Run alone, ``--split dev --weights FILE`` studies train-only weights while tuning
(``tools.train.objections --train-only``) without touching the test split or the
held-out set. Today's phrase lexicon (``tools.train.baseline``) is scored on the same
lines as a fixed reference.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.coach.detectors.objection_model import (
    CATEGORIES,
    ObjectionModel,
    default_objection_model,
)
from tools.train.baseline import baseline_category
from tools.train.data import Example, corpus_of, load_devset

Predict = Callable[[str], str | None]  # a category, or None: not an objection


def model_predictor(model: ObjectionModel) -> Predict:
    def predict(text: str) -> str | None:
        verdict = model.classify(text)
        return None if verdict is None else verdict.category

    return predict


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def score_predictions(examples: list[Example], pred: list[str | None]) -> dict[str, Any]:
    """Per-category and any-objection P/R/F1 and false alarms by source.

    A category's true positive needs the right category; "any objection" only needs
    the line flagged (what decides whether a card appears at all).
    """
    pairs = list(zip(pred, examples, strict=True))
    out: dict[str, Any] = {}
    for cat in CATEGORIES:
        tp = sum(p == cat and e.label == cat for p, e in pairs)
        fp = sum(p == cat and e.label != cat for p, e in pairs)
        fn = sum(p != cat and e.label == cat for p, e in pairs)
        out[cat] = {**_prf(tp, fp, fn), "positives": tp + fn}
    tp = sum(p is not None and e.label != "none" for p, e in pairs)
    fp = sum(p is not None and e.label == "none" for p, e in pairs)
    fn = sum(p is None and e.label != "none" for p, e in pairs)
    out["any objection"] = {**_prf(tp, fp, fn), "positives": tp + fn}
    alarms: Counter[str] = Counter()
    negatives: Counter[str] = Counter()
    for p, e in pairs:
        if e.label == "none":
            negatives[corpus_of(e)] += 1
            alarms[corpus_of(e)] += p is not None
    out["false_alarms"] = {k: [alarms[k], negatives[k]] for k in sorted(negatives)}
    return out


def score(examples: list[Example], predict: Predict) -> dict[str, Any]:
    """:func:`score_predictions` of ``predict`` on ``examples``, and its time per line."""
    started = time.perf_counter()
    pred = [predict(e.text) for e in examples]
    elapsed = time.perf_counter() - started
    out = score_predictions(examples, pred)
    out["ms_per_utterance"] = round(1000 * elapsed / max(len(examples), 1), 4)
    return out


def evaluate(data: Path, split: str = "test", model: ObjectionModel | None = None) -> dict:
    """The model and the lexicon on one split of the development set, as text and as
    heard; on the test split also the held-out everyday set as text."""
    devset = load_devset(data)
    model = model or default_objection_model()
    examples: list[Example] = getattr(devset, split)
    heard = devset.test_heard if split == "test" else [e for e in devset.dev if e.origin]
    if split == "dev":
        examples = [e for e in examples if not e.origin]
    out: dict[str, Any] = {
        "split": split,
        "threshold": model.threshold,
        "text": {
            "lines": dict(sorted(Counter(e.label for e in examples).items())),
            "model": score(examples, model_predictor(model)),
            "lexicon (before)": score(examples, baseline_category),
        },
    }
    if heard:
        out["heard"] = {
            "lines": dict(sorted(Counter(e.label for e in heard).items())),
            "voices": sorted({e.source.split(":", 1)[1] for e in heard}),
            "model": score(heard, model_predictor(model)),
            "lexicon (before)": score(heard, baseline_category),
        }
    if split == "test":
        out["heldout"] = {
            "lines": dict(sorted(Counter(e.label for e in devset.heldout).items())),
            "model": score(devset.heldout, model_predictor(model)),
            "lexicon (before)": score(devset.heldout, baseline_category),
        }
    return out


def category_table(result: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """Markdown: one row per category, the model's P/R/F1 and a reference beside it."""
    head = "| category | P | R | F1 | positives |"
    rule = "|---|---|---|---|---|"
    if before is not None:
        head += " before: P / R / F1 |"
        rule += "---|"
    rows = [head, rule]
    for cat in (*CATEGORIES, "any objection"):
        m = result[cat]
        row = (
            f"| {cat} | {m['precision']:.2f} | {m['recall']:.2f} | **{m['f1']:.2f}** | "
            f"{m['positives']} |"
        )
        if before is not None:
            b = before[cat]
            row += f" {b['precision']:.2f} / {b['recall']:.2f} / {b['f1']:.2f} |"
        rows.append(row)
    return "\n".join(rows) + "\n"


def alarms_line(result: dict[str, Any]) -> str:
    return ", ".join(f"{src} {n}/{total}" for src, (n, total) in result["false_alarms"].items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--weights", type=Path, help="a weights file (default: the shipped one)")
    args = parser.parse_args(argv)
    try:
        model = ObjectionModel.from_file(args.weights) if args.weights else None
        result = evaluate(args.data, args.split, model)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for view in ("text", "heard"):
        if view in result:
            part = result[view]
            print(f"\n{args.split} split, {view} ({sum(part['lines'].values())} lines):\n")
            print(category_table(part["model"], part["lexicon (before)"]))
            print(f"False alarms: {alarms_line(part['model'])}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
