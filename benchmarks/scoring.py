"""Scoring streamed text against timed references (the method of shared/RECIPES.md).

* Words are normalised: lower case, punctuation and apostrophes stripped, hyphens
  split ("Don't" -> "dont", "well-known" -> "well known").
* The reference utterances are joined, in time order, into one word list, the
  committed texts into another; ``jiwer.process_words`` aligns them and its WER is
  the recording's.
* The latency of a reference utterance is when the latest hypothesis word aligned to
  one of its words (equal or substituted) arrived, minus the utterance's reference
  end. An utterance with no aligned word is *missed*.
* *Recognised* utterances (at least ``RECOGNISED_MIN_WORDS`` words, at least
  ``RECOGNISED_MIN_EQUAL`` of them aligned as equal) also get a latency measured over
  their equal words only: at a WER near 0.6 (the AMI clips) a substituted word can
  align many seconds away, and that figure is the one to read there.
* Each error is also charged to one reference utterance (a substitution or deletion
  to the utterance of its reference word, an insertion to the utterance of the
  reference word before it), only so the run can say how noisy its WER is (a
  bootstrap over utterances); the WER itself is the alignment's.

Two-channel input is scored per channel (each speaker's reference words against the
text of their own channel, errors pooled): joined across channels, two pieces that
arrive in a different order from the reference's would count as errors that no
listener would see.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .results import bootstrap_noise, pct

_DROP = re.compile(r"[^a-z0-9 ]")
RECOGNISED_MIN_WORDS = 3
RECOGNISED_MIN_EQUAL = 0.6


@dataclass(frozen=True)
class RefUtterance:
    speaker: str
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Committed:
    """A piece of committed text and when it arrived (stream-clock seconds)."""

    text: str
    arrived_s: float
    channel: int | None = None  # None: the single mixed channel


@dataclass(frozen=True)
class Score:
    errors: int
    ref_words: int
    latencies_s: tuple[float | None, ...]  # per reference utterance; None = missed
    errors_by_ref: tuple[int, ...] = ()  # per reference utterance, as latencies_s
    words_by_ref: tuple[int, ...] = ()
    # Per reference utterance: latency to its last equal word if it was recognised.
    recognised_s: tuple[float | None, ...] = ()

    @property
    def wer(self) -> float:
        return self.errors / self.ref_words if self.ref_words else 0.0

    @property
    def missed(self) -> int:
        return sum(1 for x in self.latencies_s if x is None)

    def __add__(self, other: Score) -> Score:
        return Score(
            self.errors + other.errors,
            self.ref_words + other.ref_words,
            self.latencies_s + other.latencies_s,
            self.errors_by_ref + other.errors_by_ref,
            self.words_by_ref + other.words_by_ref,
            self.recognised_s + other.recognised_s,
        )


EMPTY = Score(0, 0, ())


def normalise(text: str) -> list[str]:
    return _DROP.sub(" ", text.lower().replace("-", " ").replace("'", "")).split()


def score(refs: Sequence[RefUtterance], hyps: Iterable[Committed]) -> Score:
    """Align one channel's (or the mix's) committed text with its references."""
    import jiwer

    refs = sorted(refs, key=lambda r: r.start_s)
    ref_words: list[str] = []
    owner: list[int] = []
    for i, ref in enumerate(refs):
        words = normalise(ref.text)
        ref_words += words
        owner += [i] * len(words)
    hyp_words: list[str] = []
    arrived: list[float] = []
    for piece in hyps:
        words = normalise(piece.text)
        hyp_words += words
        arrived += [piece.arrived_s] * len(words)
    words_by_ref = tuple(owner.count(i) for i in range(len(refs)))
    if not ref_words:
        return Score(len(hyp_words), 0, ())
    if not hyp_words:
        none = (None,) * len(refs)
        return Score(len(ref_words), len(ref_words), none, words_by_ref, words_by_ref, none)
    out = jiwer.process_words(" ".join(ref_words), " ".join(hyp_words))
    latest: list[float | None] = [None] * len(refs)
    latest_equal: list[float | None] = [None] * len(refs)
    equal = [0] * len(refs)
    charged = [0] * len(refs)
    for chunk in out.alignments[0]:
        if chunk.type == "insert":
            charged[owner[max(0, chunk.ref_start_idx - 1)]] += (
                chunk.hyp_end_idx - chunk.hyp_start_idx
            )
        elif chunk.type in ("substitute", "delete"):
            for k in range(chunk.ref_start_idx, chunk.ref_end_idx):
                charged[owner[k]] += 1
        if chunk.type not in ("equal", "substitute"):
            continue
        for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
            ref_i = owner[chunk.ref_start_idx + k]
            at = arrived[chunk.hyp_start_idx + k]
            latest[ref_i] = at if latest[ref_i] is None else max(latest[ref_i], at)
            if chunk.type == "equal":
                equal[ref_i] += 1
                seen = latest_equal[ref_i]
                latest_equal[ref_i] = at if seen is None else max(seen, at)
    latencies = tuple(None if at is None else at - refs[i].end_s for i, at in enumerate(latest))
    recognised = tuple(
        latest_equal[i] - refs[i].end_s
        if latest_equal[i] is not None
        and words_by_ref[i] >= RECOGNISED_MIN_WORDS
        and equal[i] >= RECOGNISED_MIN_EQUAL * words_by_ref[i]
        else None
        for i in range(len(refs))
    )
    errors = out.substitutions + out.deletions + out.insertions
    return Score(errors, len(ref_words), latencies, tuple(charged), words_by_ref, recognised)


def score_channels(
    refs: Sequence[RefUtterance], channel_speakers: Sequence[str] | None, hyps: list[Committed]
) -> Score:
    """Score mono input as one stream, two-channel input channel by channel."""
    if not channel_speakers:
        return score(refs, hyps)
    total = EMPTY
    for ch, speaker in enumerate(channel_speakers):
        mine = [r for r in refs if r.speaker == speaker]
        total = total + score(mine, [h for h in hyps if h.channel == ch])
    return total


def _wer_of(pairs: Sequence[tuple[int, int]]) -> float | None:
    words = sum(w for _, w in pairs)
    return sum(e for e, _ in pairs) / words if words else None


def wer_noise(s: Score) -> float | None:
    """Relative noise of ``s.wer``: the bootstrap over reference utterances."""
    return bootstrap_noise(_wer_of, list(zip(s.errors_by_ref, s.words_by_ref, strict=True)))


def wer_ratio_noise(ours: Score, base: Score) -> float | None:
    """Noise of ``ours.wer / base.wer`` for two scorings of the same references
    (utterances resampled together)."""

    def ratio(a: Sequence[int], b: Sequence[int]) -> float | None:
        return sum(a) / sum(b) if sum(b) else None

    return bootstrap_noise(ratio, ours.errors_by_ref, base.errors_by_ref, paired=True)


def latency_ratio_noise(ours: Score, base: Score, p: float) -> float | None:
    """Noise of the ratio of the two scorings' p-th latency percentiles (utterances
    resampled together; a missed utterance counts in neither)."""

    def ratio(a: Sequence[float | None], b: Sequence[float | None]) -> float | None:
        x, y = pct(a, p), pct(b, p)
        return x / y if x is not None and y else None

    return bootstrap_noise(ratio, ours.latencies_s, base.latencies_s, paired=True)
