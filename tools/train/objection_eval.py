"""Objection detection, per category, on the untouched test split and the held-out set.

    python -m tools.train.objection_eval --data ../shared/eval [--split test] [--weights FILE]

Part of ``python -m benchmarks.detectors`` (which prints and saves the same tables);
run alone, ``--split dev --weights FILE`` studies train-only weights while tuning
(``tools.train.objections --train-only``), without touching the test split.
Today's phrase lexicon (``tools.train.baseline``) is scored on the same lines.
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


def score(examples: list[Example], predict: Predict) -> dict[str, Any]:
    """Per-category and any-objection P/R/F1, false alarms by source, and timing.

    A category's true positive needs the right category; "any objection" only needs
    the line flagged (what decides whether a card appears at all).
    """
    started = time.perf_counter()
    pred = [predict(e.text) for e in examples]
    elapsed = time.perf_counter() - started
    out: dict[str, Any] = {}
    for cat in CATEGORIES:
        tp = sum(p == cat and e.label == cat for p, e in zip(pred, examples, strict=True))
        fp = sum(p == cat and e.label != cat for p, e in zip(pred, examples, strict=True))
        fn = sum(p != cat and e.label == cat for p, e in zip(pred, examples, strict=True))
        out[cat] = {**_prf(tp, fp, fn), "positives": tp + fn}
    gold_any = [e.label != "none" for e in examples]
    pred_any = [p is not None for p in pred]
    tp = sum(p and g for p, g in zip(pred_any, gold_any, strict=True))
    fp = sum(p and not g for p, g in zip(pred_any, gold_any, strict=True))
    fn = sum(g and not p for p, g in zip(pred_any, gold_any, strict=True))
    out["any objection"] = {**_prf(tp, fp, fn), "positives": tp + fn}
    alarms: Counter[str] = Counter()
    negatives: Counter[str] = Counter()
    for p, e in zip(pred, examples, strict=True):
        if e.label == "none":
            negatives[corpus_of(e)] += 1
            alarms[corpus_of(e)] += p is not None
    out["false_alarms"] = {k: [alarms[k], negatives[k]] for k in sorted(negatives)}
    out["ms_per_utterance"] = round(1000 * elapsed / max(len(examples), 1), 4)
    return out


def evaluate(data: Path, split: str = "test", model: ObjectionModel | None = None) -> dict:
    devset = load_devset(data)
    examples: list[Example] = getattr(devset, split)
    model = model or default_objection_model()
    counts = Counter(e.label for e in examples)
    return {
        "split": split,
        "lines": dict(sorted(counts.items())),
        "negatives_by_source": dict(
            sorted(Counter(corpus_of(e) for e in examples if e.label == "none").items())
        ),
        "model": score(examples, model_predictor(model)),
        "lexicon (before)": score(examples, baseline_category),
        "heldout": {
            "lines": dict(sorted(Counter(e.label for e in devset.heldout).items())),
            "model": score(devset.heldout, model_predictor(model)),
            "lexicon (before)": score(devset.heldout, baseline_category),
        },
        "threshold": model.threshold,
    }


def markdown(result: dict) -> str:
    rows = [
        "| category | P | R | F1 | positives | lexicon before: P / R / F1 |",
        "|---|---|---|---|---|---|",
    ]
    model, base = result["model"], result["lexicon (before)"]
    for cat in (*CATEGORIES, "any objection"):
        m, b = model[cat], base[cat]
        rows.append(
            f"| {cat} | {m['precision']:.2f} | {m['recall']:.2f} | **{m['f1']:.2f}** | "
            f"{m['positives']} | {b['precision']:.2f} / {b['recall']:.2f} / {b['f1']:.2f} |"
        )
    alarms = ", ".join(
        f"{src} {n}/{total} (before {base['false_alarms'][src][0]})"
        for src, (n, total) in model["false_alarms"].items()
    )
    held = result["heldout"]
    hm, hb = held["model"]["any objection"], held["lexicon (before)"]["any objection"]
    held_alarms = held["model"]["false_alarms"].get("heldout", [0, 0])
    held_before = held["lexicon (before)"]["false_alarms"].get("heldout", [0, 0])
    rows += [
        "",
        f"False alarms on the {result['split']} split's non-objection lines: {alarms}.",
        f"Held-out everyday set ({sum(held['lines'].values())} lines, "
        f"{held['lines'].get('none', 0)} neutral): any-objection P {hm['precision']:.2f} "
        f"R {hm['recall']:.2f} F1 **{hm['f1']:.2f}**, {held_alarms[0]} false alarms "
        f"(lexicon before: F1 {hb['f1']:.2f}, {held_before[0]} false alarms).",
        f"Model time: {model['ms_per_utterance']:.3f} ms per utterance.",
    ]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--weights", type=Path, help="a weights file (default: the shipped one)")
    args = parser.parse_args(argv)
    try:
        model = ObjectionModel.from_file(args.weights) if args.weights else None
        result = evaluate(args.data, args.split, model)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
