"""Train the objection weights shipped in ``assistant/coach/data/objections.json``.

    python -m tools.train.objections --data ../shared/eval

A softmax regression (pure numpy, full-batch Adam on a sparse matrix) over the
features of ``assistant.coach.detectors.objection_model``, seven classes (``none`` and six
categories). Data: ``tools.train.data``: the written lines, their ASR-noised copies
(``python -m tools.train.noise``; without them it trains on clean text alone and
says so) and corpus lines. The regularisation, the weight of the written lines
against the corpus lines, the weight of a heard copy and the decision threshold are
chosen by 5-fold cross-validation over train + dev (a line and its heard copies
share a fold); the final weights are then fitted on train + dev with those choices.
The test split and the held-out set are never looked at here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.coach.detectors.objection_model import CLASSES, ObjectionModel, features
from tools.train.baseline import BASELINE_OBJECTIONS
from tools.train.data import Example, fold_of, in_domain, load_devset

DEFAULT_OUT = (
    Path(__file__).resolve().parents[2] / "assistant" / "coach" / "data" / "objections.json"
)

# A feature must occur in two training lines: a one-off word or word pair is a name
# or a typo, and memorising it only bloats the file.
MIN_FEATURE_COUNT = 2
# Full-batch Adam settles in a few hundred steps on ~12k lines (more steps moved dev
# F1 by < 0.01).
TRAIN_STEPS = 300
LEARNING_RATE = 0.05
# Issue 10's grid (1e-4, 3e-4) chose 3e-4; with the heard lines, one fit on train gave
# dev F1 0.75 as text at 1e-4, 3e-4 and 1e-3 alike (threshold 0.5): only 3e-4 is
# kept, since each grid point costs six fits.
L2_GRID = (3e-4,)
# How much one written line weighs against one corpus line: the corpus lines outnumber
# the written objections ~40 to 1, and without weighting the model learns to say
# "none"; the written neutral lines are sales talk, the false alarms that matter most.
POSITIVE_WEIGHT_GRID = (5.0, 10.0)
# One heard copy against its written line: there are nine voices, so at 0.25 a line's
# copies together weigh about twice the clean text (what the detector receives live).
# One fit on train, dev F1 at threshold 0.5 as text / heard: 0.79 / 0.76 with heard
# lines at 0.25, 0.79 / 0.77 at 0.5, and 0.80 / 0.68 without any (issue 19).
HEARD_WEIGHT_GRID = (0.25, 0.5)
CV_FOLDS = 5
# Thresholds on P(objection) tried on dev.
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.3, 0.96, 0.05))
# Weights that change no class score by more than this are dropped: a third of the
# features, with the same dev F1 (file size).
PRUNE_BELOW = 0.05


@dataclass(frozen=True)
class Matrix:
    rows: np.ndarray
    cols: np.ndarray
    labels: np.ndarray  # class index per example
    weights: np.ndarray  # per-example weight
    n_features: int


@dataclass(frozen=True)
class Pool:
    """Training lines with their features computed once (the featuriser is the slow
    part: the grid search would otherwise run it ~30 times per line)."""

    examples: list[Example]
    feats: list[frozenset[str]]

    @classmethod
    def of(cls, examples: list[Example]) -> Pool:
        return cls(examples, [frozenset(features(e.text)) for e in examples])

    def subset(self, mask: np.ndarray) -> Pool:
        keep = np.flatnonzero(mask)
        return Pool([self.examples[i] for i in keep], [self.feats[i] for i in keep])


def build(pool: Pool, vocab: dict[str, int], positive_weight: float, heard: float) -> Matrix:
    rows: list[int] = []
    cols: list[int] = []
    for i, feats in enumerate(pool.feats):
        for feat in feats:
            j = vocab.get(feat)
            if j is not None:
                rows.append(i)
                cols.append(j)
    labels = np.asarray([CLASSES.index(e.label) for e in pool.examples])
    # Written lines (objections and neutral sales talk alike) are the in-domain ones;
    # a heard copy weighs a share of its written line.
    weights = np.asarray(
        [
            positive_weight * (heard if e.origin else 1.0) if in_domain(e) else 1.0
            for e in pool.examples
        ]
    )
    return Matrix(np.asarray(rows), np.asarray(cols), labels, weights, len(vocab))


def scores(m: Matrix, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    n = len(m.labels)
    z = np.stack(
        [np.bincount(m.rows, weights=w[m.cols, k], minlength=n) for k in range(len(CLASSES))],
        axis=1,
    )
    z += b
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def fit(m: Matrix, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression by full-batch Adam; returns (weights d x k, bias k)."""
    k = len(CLASSES)
    params = [np.zeros((m.n_features, k)), np.zeros(k)]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    onehot = np.eye(k)[m.labels]
    total = m.weights.sum()
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, TRAIN_STEPS + 1):
        p = scores(m, params[0], params[1])
        g = (p - onehot) * (m.weights / total)[:, None]
        grad_w = np.stack(
            [np.bincount(m.cols, weights=g[m.rows, c], minlength=m.n_features) for c in range(k)],
            axis=1,
        )
        grads = [grad_w + l2 * params[0], g.sum(axis=0)]
        for i, grad in enumerate(grads):
            first[i] = beta1 * first[i] + (1 - beta1) * grad
            second[i] = beta2 * second[i] + (1 - beta2) * grad**2
            m_hat = first[i] / (1 - beta1**step)
            v_hat = second[i] / (1 - beta2**step)
            params[i] -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + eps)
    return params[0], params[1]


def binary_f1(
    p: np.ndarray, labels: np.ndarray, cost: np.ndarray, threshold: float
) -> tuple[float, float]:
    """F1 of "is an objection" at ``threshold``, and its false alarms, each line
    counted at ``cost`` (its training weight)."""
    pred = (1.0 - p[:, 0]) >= threshold
    gold = labels > 0
    tp = int((pred & gold).sum())
    f1 = 2 * tp / max(int(pred.sum()) + int(gold.sum()), 1)
    return f1, float(cost[pred & ~gold].sum())


def lexicon_flags(examples: list[Example]) -> np.ndarray:
    """The non-objection lines today's phrase lexicon flags."""
    return np.asarray(
        [
            e.label == "none" and any(p.search(e.text) for p in BASELINE_OBJECTIONS.values())
            for e in examples
        ]
    )


def pick_threshold(
    p: np.ndarray, labels: np.ndarray, cost: np.ndarray, budget: float
) -> tuple[float, float]:
    """(F1, threshold): the best F1 with no more false alarms than today over the
    non-objection lines, each line counting at ``cost`` (its training weight: a false
    card on sales talk is what a rep sees; everyday dialogue only guards the rest);
    failing that, the fewest alarms."""
    trials = [(t, *binary_f1(p, labels, cost, t)) for t in THRESHOLDS]
    ok = [(f1, t) for t, f1, fp in trials if fp <= budget]
    if ok:
        return max(ok)
    t, f1, _ = min(trials, key=lambda x: (x[2], -x[1]))
    return f1, t


def vocabulary(pool: Pool) -> list[str]:
    counts: Counter[str] = Counter()
    for feats in pool.feats:
        counts.update(feats)
    return sorted(f for f, c in counts.items() if c >= MIN_FEATURE_COUNT)


def out_of_fold(
    pool: Pool, folds: np.ndarray, l2: float, weight: float, heard: float
) -> np.ndarray:
    """Class probabilities for every line from a model that never saw its fold."""
    p = np.zeros((len(pool.examples), len(CLASSES)))
    for k in range(CV_FOLDS):
        inside, held = pool.subset(folds != k), pool.subset(folds == k)
        vocab = {f: i for i, f in enumerate(vocabulary(inside))}
        w, b = fit(build(inside, vocab, weight, heard), l2)
        p[folds == k] = scores(build(held, vocab, weight, heard), w, b)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="leave the dev split out entirely (to study its errors with weights that "
        "never saw it: tools.train.objection_eval --split dev --weights FILE)",
    )
    args = parser.parse_args(argv)
    try:
        devset = load_devset(args.data)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    examples = devset.train if args.train_only else devset.train + devset.dev
    folds = np.asarray([fold_of(e, CV_FOLDS) for e in examples])
    labels = np.asarray([CLASSES.index(e.label) for e in examples])
    written = np.asarray([in_domain(e) for e in examples])
    heard_mask = np.asarray([bool(e.origin) for e in examples])
    heard_lines = int(heard_mask.sum())
    if not heard_lines:
        print("no heard lines: run python -m tools.train.noise first; clean text only")
    flagged = lexicon_flags(examples)
    print(
        f"{len(examples)} lines ({int(written.sum())} sales lines, {heard_lines} of them heard), "
        f"{CV_FOLDS}-fold cross-validation; today's false alarms on them: "
        f"{int((flagged & written).sum())} sales lines, {int((flagged & ~written).sum())} "
        "corpus lines",
        flush=True,
    )
    pool = Pool.of(examples)
    best: tuple[float, ...] | None = None  # (f1, l2, weight, heard, threshold)
    for weight in POSITIVE_WEIGHT_GRID:
        for l2 in L2_GRID:
            for heard in HEARD_WEIGHT_GRID if heard_lines else (0.0,):
                p = out_of_fold(pool, folds, l2, weight, heard)
                # Heard lines count in F1 but not in the false-alarm budget: the
                # lexicon barely fires on garbled text, so against it any detector
                # that reads heard speech would look alarming (with them in the
                # budget the threshold went to 0.90 and cross-validated F1 to 0.57).
                cost = build(pool, {}, weight, heard).weights * ~heard_mask
                f1, threshold = pick_threshold(p, labels, cost, float(cost[flagged].sum()))
                print(
                    f"  weight={weight:g} l2={l2:g} heard={heard:g}: F1 {f1:.3f} at "
                    f"{threshold:.2f}",
                    flush=True,
                )
                if best is None or f1 > best[0]:
                    best = (f1, l2, weight, heard, threshold)
    assert best is not None
    cv_f1, l2, weight, heard, threshold = best

    names = vocabulary(pool)
    vocab = {f: i for i, f in enumerate(names)}
    w, b = fit(build(pool, vocab, weight, heard), l2)
    kept = {
        names[j]: tuple(float(x) for x in w[j])
        for j in range(len(names))
        if np.abs(w[j]).max() >= PRUNE_BELOW
    }
    model = ObjectionModel(
        weights=kept,
        bias=tuple(float(x) for x in b),
        threshold=threshold,
        meta={
            "trained_on": "benchmarks/data/objections.tsv train+dev, as written and as "
            "tiny.en heard it, and corpus lines (MELD train, SwDA train, CaSiNo train; "
            "MELD dev, SwDA val, CaSiNo valid dev half)"
            if not args.train_only
            else "train split only",
            "lines": len(examples),
            "heard_lines": heard_lines,
            "l2": l2,
            "positive_weight": weight,
            "heard_weight": heard,
            "cv_f1": round(cv_f1, 4),
            "script": "tools/train/objections.py",
        },
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_json(), sort_keys=True) + "\n", encoding="utf-8")
    size_kb = args.out.stat().st_size / 1024
    print(
        f"wrote {args.out} ({len(kept)} features, {size_kb:.0f} KiB): l2={l2:g}, "
        f"weight={weight:g}, threshold={threshold:.2f}, cross-validated F1 {cv_f1:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
