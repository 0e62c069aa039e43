"""Train the utterance-negativity weights shipped in ``assistant/coach/data/negativity.json``.

    python -m tools.train.negativity --data ../shared/eval

Trains an L2 logistic regression (pure numpy, full-batch Adam on a sparse matrix)
on MELD *train* (negative vs neutral/positive), as written and, where
``python -m tools.train.noise --set meld`` has been run, as tiny.en heard it (each
heard copy carries its written line's label and fold). The regularisation strength,
the weight of a heard copy and the decision threshold are chosen by cross-validation
inside train; dev is never looked at here, so the dev numbers of
``python -m tools.train.evaluate`` stay honest.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.coach.sentiment import NegativityModel, dense_features, sparse_features, tokenize
from tools.train.data import NOISED_MELD
from tools.train.noise import read_cache

DEFAULT_OUT = (
    Path(__file__).resolve().parents[2] / "assistant" / "coach" / "data" / "negativity.json"
)

# A feature must occur in this many training utterances: rarer n-grams are names and
# typos that only memorise the training set (and would bloat the weights file).
MIN_FEATURE_COUNT = 3
# Full-batch Adam converges on ~10k utterances in a few hundred steps; more steps
# changed the cross-validated F1 by < 0.005.
TRAIN_STEPS = 400
LEARNING_RATE = 0.05
# Candidate L2 strengths (per-example scale); picked by cross-validated F1.
L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3)
# A heard copy against its written line (0: written lines only). The threshold is
# chosen on written and heard lines together: live, the detector reads heard text.
HEARD_WEIGHT_GRID = (0.0, 0.5, 1.0)
CV_FOLDS = 4
# Weights smaller than this change a probability by < 0.1 %; dropped to keep the file small.
PRUNE_BELOW = 0.01


@dataclass(frozen=True)
class Dataset:
    """Sparse design matrix in coordinate form plus a dense block."""

    rows: np.ndarray  # row index of each non-zero sparse entry
    cols: np.ndarray  # column index of each non-zero sparse entry
    dense: np.ndarray  # (n, n_dense)
    labels: np.ndarray  # (n,) 0/1
    n_sparse: int
    weights: np.ndarray  # (n,) per-example weight in the loss

    def subset(self, mask: np.ndarray) -> Dataset:
        index = np.full(len(mask), -1)
        index[mask] = np.arange(int(mask.sum()))
        keep = mask[self.rows]
        return Dataset(
            index[self.rows[keep]],
            self.cols[keep],
            self.dense[mask],
            self.labels[mask],
            self.n_sparse,
            self.weights[mask],
        )

    def weighted(self, weights: np.ndarray) -> Dataset:
        return Dataset(self.rows, self.cols, self.dense, self.labels, self.n_sparse, weights)


def load_meld(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def build_dataset(
    texts: list[str], labels: list[int], vocab: dict[str, int], dense_names: list[str]
) -> Dataset:
    rows: list[int] = []
    cols: list[int] = []
    dense = np.zeros((len(texts), len(dense_names)), dtype=np.float64)
    for i, text in enumerate(texts):
        tokens = tokenize(text)
        for feat in sparse_features(tokens):
            j = vocab.get(feat)
            if j is not None:
                rows.append(i)
                cols.append(j)
        feats = dense_features(text, tokens)
        dense[i] = [feats[name] for name in dense_names]
    return Dataset(
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        dense,
        np.asarray(labels, dtype=np.float64),
        len(vocab),
        np.ones(len(texts)),
    )


def logits(data: Dataset, w_sparse: np.ndarray, w_dense: np.ndarray, bias: float) -> np.ndarray:
    n = len(data.labels)
    z = np.bincount(data.rows, weights=w_sparse[data.cols], minlength=n)
    return z + data.dense @ w_dense + bias


def fit(data: Dataset, l2: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Logistic regression by full-batch Adam; returns (sparse, dense, bias)."""
    params = [np.zeros(data.n_sparse), np.zeros(data.dense.shape[1]), np.zeros(1)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    total = data.weights.sum()
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, TRAIN_STEPS + 1):
        p = 1.0 / (1.0 + np.exp(-logits(data, params[0], params[1], float(params[2][0]))))
        g = (p - data.labels) * data.weights / total
        grads = [
            np.bincount(data.cols, weights=g[data.rows], minlength=data.n_sparse) + l2 * params[0],
            data.dense.T @ g + l2 * params[1],
            np.array([g.sum()]),
        ]
        for k, grad in enumerate(grads):
            m[k] = beta1 * m[k] + (1 - beta1) * grad
            v[k] = beta2 * v[k] + (1 - beta2) * grad**2
            m_hat = m[k] / (1 - beta1**step)
            v_hat = v[k] / (1 - beta2**step)
            params[k] -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + eps)
    return params[0], params[1], float(params[2][0])


def best_f1_threshold(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    best = (0.0, 0.5)
    for threshold in np.arange(0.15, 0.7, 0.01):
        pred = probs >= threshold
        tp = float((pred & (labels == 1)).sum())
        f1 = 2 * tp / max(pred.sum() + labels.sum(), 1)
        if f1 > best[0]:
            best = (f1, float(threshold))
    return best


def cross_validate(data: Dataset, l2: float, folds: np.ndarray) -> tuple[float, float]:
    """Mean-of-folds F1 at the threshold that is best over pooled out-of-fold scores
    (lines of weight 0 are fitted without and scored all the same)."""
    oof = np.zeros(len(data.labels))
    for k in range(CV_FOLDS):
        inside = (folds != k) & (data.weights > 0)
        w_s, w_d, b = fit(data.subset(inside), l2)
        oof[folds == k] = 1.0 / (1.0 + np.exp(-logits(data.subset(folds == k), w_s, w_d, b)))
    return best_f1_threshold(oof, data.labels)


def fold_of(text: str) -> int:
    """A stable fold by written text: a line and its heard copy share it."""
    return int(hashlib.sha1(f"fold:{text}".encode()).hexdigest()[:8], 16) % CV_FOLDS


def heard_copies(rows: list[dict]) -> list[tuple[str, int, str]]:
    """(heard text, label, written text) for every cached heard copy of a train line."""
    labels: dict[str, int] = {}
    for r in rows:
        labels.setdefault(r["text"], int(r["sentiment"] == "negative"))
    return [
        (heard, labels[text], text)
        for (text, _voice), heard in sorted(read_cache(NOISED_MELD).items())
        if text in labels and any(c.isalpha() for c in heard)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    train_path = args.data / "text" / "meld_train.jsonl.gz"
    if not train_path.exists():
        print(f"error: {train_path} not found (pass --data DIR with text/)", file=sys.stderr)
        return 2
    rows = load_meld(train_path)
    heard = heard_copies(rows)
    texts = [r["text"] for r in rows] + [h for h, _, _ in heard]
    labels = [int(r["sentiment"] == "negative") for r in rows] + [y for _, y, _ in heard]
    folds = np.asarray([fold_of(r["text"]) for r in rows] + [fold_of(t) for _, _, t in heard])
    is_heard = np.asarray([False] * len(rows) + [True] * len(heard))

    # The vocabulary comes from the written lines: a heard copy adds no n-gram of its own.
    counts: Counter[str] = Counter()
    for r in rows:
        counts.update(sparse_features(tokenize(r["text"])))
    names = sorted(f for f, c in counts.items() if c >= MIN_FEATURE_COUNT)
    vocab = {f: i for i, f in enumerate(names)}
    dense_names = sorted(dense_features("x", ["x"]))
    data = build_dataset(texts, labels, vocab, dense_names)
    print(
        f"train: {len(rows)} utterances and {len(heard)} heard copies, {len(vocab)} n-gram "
        "features",
        flush=True,
    )

    results = {}
    for heard_weight in HEARD_WEIGHT_GRID if heard else (0.0,):
        weighted = data.weighted(np.where(is_heard, heard_weight, 1.0))
        for l2 in L2_GRID:
            results[(l2, heard_weight)] = cross_validate(weighted, l2, folds)
            f1, threshold = results[(l2, heard_weight)]
            print(
                f"  l2={l2:g} heard={heard_weight:g}: cv F1 {f1:.3f} at threshold {threshold:.2f}"
            )
    l2, heard_weight = max(results, key=lambda k: results[k][0])
    cv_f1, threshold = results[(l2, heard_weight)]
    data = data.weighted(np.where(is_heard, heard_weight, 1.0))

    w_s, w_d, b = fit(data.subset(data.weights > 0), l2)
    sparse = {names[j]: round(float(w), 4) for j, w in enumerate(w_s) if abs(w) >= PRUNE_BELOW}
    model = NegativityModel(
        sparse_weights=sparse,
        dense_weights={n: round(float(w), 4) for n, w in zip(dense_names, w_d, strict=True)},
        bias=round(b, 4),
        threshold=round(threshold, 3),
        meta={
            "trained_on": "MELD train (negative vs rest)"
            + (", as written and as tiny.en heard it" if heard_weight else ""),
            "utterances": len(rows),
            "heard_copies": len(heard) if heard_weight else 0,
            "heard_weight": heard_weight,
            "l2": l2,
            "cv_f1": round(cv_f1, 4),
            "script": "tools/train/negativity.py",
        },
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_json(), sort_keys=True) + "\n", encoding="utf-8")
    size_kb = args.out.stat().st_size / 1024
    print(
        f"wrote {args.out} ({len(sparse)} weights, {size_kb:.0f} KiB), l2={l2:g}, "
        f"heard={heard_weight:g}, cv F1 {cv_f1:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
