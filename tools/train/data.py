"""The objection development set: written lines plus real non-objection dialogue.

* ``benchmarks/data/objections.tsv``: objection lines in everyday wording, six
  categories, and written hard negatives (neutral lines about price, timing, bosses,
  tools and email), all written for this project. Split by a stable hash of the text:
  60 % train, 20 % dev (tuning), 20 % test (never used for any choice).
* Non-objection customer lines from ``../shared/eval`` (AMI is kept out: it is the
  false-card check). They are read at run time and never copied into the repository
  (their licences allow evaluation use only): train from MELD train, SwDA train and
  CaSiNo train; dev and test from MELD dev, SwDA val and CaSiNo valid, split by a hash
  of the dialogue id so one conversation never feeds both.
* ``benchmarks/data/objections_heldout.tsv``: a separate everyday set written before
  any model existed, never used for training or tuning.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "benchmarks" / "data"
WRITTEN = DATA_DIR / "objections.tsv"
HELDOUT = DATA_DIR / "objections_heldout.tsv"
LABELS = ("none", "price", "timing", "authority", "need", "competitor", "brush_off")

# Written lines: percent of the hash space per split (the rest is test).
TRAIN_PCT, DEV_PCT = 60, 20
# Corpus negatives sampled per training file: enough everyday talk to learn what is
# not an objection, few enough that the written objections still weigh in.
TRAIN_NEGATIVES_PER_FILE = 4000
SEED = 13
# (file in ../shared/eval/text, corpus name): train files, then dev/test files.
TRAIN_FILES = (
    ("meld_train.jsonl.gz", "MELD"),
    ("swda_train.jsonl.gz", "SwDA"),
    ("casino_train.jsonl.gz", "CaSiNo"),
)
HELD_FILES = (
    ("meld_dev.jsonl", "MELD"),
    ("swda_val.jsonl", "SwDA"),
    ("casino_valid.jsonl", "CaSiNo"),
)


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # one of LABELS
    source: str  # "written", "MELD", "SwDA", "CaSiNo", "heldout"


@dataclass(frozen=True)
class DevSet:
    train: list[Example]
    dev: list[Example]
    test: list[Example]
    heldout: list[Example]


def _bucket(key: str) -> int:
    """0-99, stable across runs and machines (not Python's salted hash)."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 100


def read_tsv(path: Path, source: str) -> list[Example]:
    """``category<TAB>text`` lines; ``#`` comments and blank lines skipped."""
    out: list[Example] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        label, _, text = raw.partition("\t")
        if label not in LABELS or not text.strip():
            raise ValueError(f"{path}:{n}: expected '<label>\\t<text>' with a known label")
        out.append(Example(text.strip(), label, source))
    return out


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _usable(text: str) -> bool:
    # SwDA marks unfinished and garbled turns with "--", "<" and "{"; a line without a
    # letter is a laugh or a noise tag, not speech a detector would ever see.
    return any(c.isalpha() for c in text) and "<" not in text and "{" not in text


def corpus_negatives(data: Path, files: tuple[tuple[str, str], ...]) -> dict[str, list[Example]]:
    """Each corpus's lines (deduplicated, case-insensitively), by corpus name."""
    out: dict[str, list[Example]] = {}
    for name, corpus in files:
        path = data / "text" / name
        if not path.exists():
            continue
        seen: set[str] = set()
        for row in _rows(path):
            text = str(row.get("text", "")).strip()
            key = text.lower()
            if not _usable(text) or key in seen:
                continue
            seen.add(key)
            did = str(row.get("dialogue_id", ""))
            out.setdefault(corpus, []).append(Example(text, "none", f"{corpus}:{did}"))
    return out


def load_devset(data: Path) -> DevSet:
    """All splits; raises FileNotFoundError when ``data`` has no dialogue text."""
    if not (data / "text" / "meld_dev.jsonl").exists():
        raise FileNotFoundError(f"no evaluation data under {data} (expected text/meld_dev.jsonl)")
    written = read_tsv(WRITTEN, "written")
    train = [e for e in written if _bucket(e.text) < TRAIN_PCT]
    dev = [e for e in written if TRAIN_PCT <= _bucket(e.text) < TRAIN_PCT + DEV_PCT]
    test = [e for e in written if _bucket(e.text) >= TRAIN_PCT + DEV_PCT]
    rng = random.Random(SEED)
    for examples in corpus_negatives(data, TRAIN_FILES).values():
        train += rng.sample(examples, min(TRAIN_NEGATIVES_PER_FILE, len(examples)))
    for examples in corpus_negatives(data, HELD_FILES).values():
        for e in examples:
            (dev if _bucket(e.source) < 50 else test).append(e)
    return DevSet(train, dev, test, read_tsv(HELDOUT, "heldout"))


def fold_of(example: Example, folds: int) -> int:
    """A stable fold for cross-validation: by text for written lines, by dialogue for
    corpus lines (one conversation never sits on both sides)."""
    key = example.text if example.source == "written" else example.source
    return int(hashlib.sha1(f"fold:{key}".encode()).hexdigest()[:8], 16) % folds


def corpus_of(example: Example) -> str:
    return example.source.split(":")[0]
