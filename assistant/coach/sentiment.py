"""Utterance negativity: a tiny logistic regression over words and VADER scores.

One featuriser is shared by training (``tools/train/negativity.py``) and
inference, so the two can never drift apart. Inference is pure Python/numpy: a few
dictionary look-ups and a dot product, well under a millisecond per utterance.

Why not plain VADER: on conversational speech its compound score misses most
negativity that is carried by short questions and exclamations ("What?!",
"Are you kidding me?") and over-fires on polite words. The learned weights keep
VADER's scores as features and add word and punctuation evidence on top.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

WEIGHTS_RESOURCE = "negativity.json"

# Words keep inner apostrophes ("don't"); "!" / "?" / "..." stay as tokens because
# in speech transcripts punctuation carries much of the affect.
_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)?|[!?]|\.\.\.")


def tokenize(text: str) -> list[str]:
    """Lower-case word and punctuation tokens."""
    return _TOKEN_RE.findall(text.lower())


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    # Not built at import (it reads two lexicon files), but by default_model(), i.e.
    # when a session starts: nothing may open a file mid-call. A page that used up
    # the process's file descriptors once made the first negativity check of a call
    # fail with EMFILE.
    return SentimentIntensityAnalyzer()


def vader_scores(text: str) -> dict[str, float]:
    """VADER's neg/neu/pos/compound scores for ``text``."""
    return _vader().polarity_scores(text)


def dense_features(text: str, tokens: list[str]) -> dict[str, float]:
    """Hand-made features: VADER scores, punctuation and length."""
    scores = vader_scores(text)
    words = [t for t in tokens if t[0].isalpha()]
    n_words = len(words)
    return {
        "vader_neg": scores["neg"],
        "vader_pos": scores["pos"],
        "vader_compound": scores["compound"],
        # Split the compound so the model can weigh "clearly negative" on its own.
        "vader_compound_neg": min(scores["compound"], 0.0),
        "exclaims": min(text.count("!"), 3) / 3.0,
        "questions": min(text.count("?"), 3) / 3.0,
        # Log length: one-word replies and long rants behave differently.
        "log_words": math.log1p(n_words) / 4.0,
        "caps_ratio": _caps_ratio(text),
    }


def _caps_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    # All-caps transcripts (AMI, some ASR normalisers) carry no shouting information.
    if len(letters) < 4 or not any(c.islower() for c in letters):
        return 0.0
    return sum(c.isupper() for c in letters) / len(letters)


def sparse_features(tokens: list[str]) -> set[str]:
    """Unigram and bigram indicator features."""
    feats = {f"w:{t}" for t in tokens}
    feats.update(f"b:{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False))
    return feats


@dataclass(frozen=True)
class NegativityModel:
    """Logistic regression weights; ``threshold`` was tuned on train folds."""

    sparse_weights: dict[str, float]
    dense_weights: dict[str, float]
    bias: float
    threshold: float
    meta: dict[str, Any]

    def probability(self, text: str) -> float:
        """P(negative) for one utterance."""
        tokens = tokenize(text)
        z = self.bias
        weights = self.sparse_weights
        for feat in sparse_features(tokens):
            z += weights.get(feat, 0.0)
        for name, value in dense_features(text, tokens).items():
            z += self.dense_weights.get(name, 0.0) * value
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))

    def is_negative(self, text: str) -> bool:
        return self.probability(text) >= self.threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "turnaround-negativity-v1",
            "bias": self.bias,
            "threshold": self.threshold,
            "dense_weights": self.dense_weights,
            "sparse_weights": self.sparse_weights,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NegativityModel:
        if data.get("format") != "turnaround-negativity-v1":
            raise ValueError("not a turnaround negativity weights file")
        return cls(
            sparse_weights={str(k): float(v) for k, v in data["sparse_weights"].items()},
            dense_weights={str(k): float(v) for k, v in data["dense_weights"].items()},
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            meta=dict(data.get("meta", {})),
        )

    @classmethod
    def from_file(cls, path: Path) -> NegativityModel:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_model() -> NegativityModel:
    """The weights shipped in ``assistant/coach/data`` (loaded once, on first use), with
    the VADER lexicon their features need: everything scoring reads from disk is
    read here, at start-up."""
    resource = resources.files("assistant.coach").joinpath("data").joinpath(WEIGHTS_RESOURCE)
    text = resource.read_text(encoding="utf-8")
    _vader()
    return NegativityModel.from_json(json.loads(text))
