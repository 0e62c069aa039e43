"""Streaming on real recorded speech, replayed in real time through the pipeline.

Fixtures (tests/fixtures/audio/real, built by make_real_fixtures.py): 22 s of one
LibriSpeech reader who never pauses 0.4 s, and two real speakers taking four turns
50-200 ms apart, mixed to one channel. The budgets themselves are measured by the
benchmark (python -m benchmarks); these tests check the behaviour behind them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assistant.asr.wer import wer, words
from assistant.events import Event, FinalTranscript

from .audio_helpers import finals, run_file

REAL = Path(__file__).resolve().parent / "fixtures" / "audio" / "real"


def load(name: str) -> tuple[Path, list[dict]]:
    doc = json.loads((REAL / f"{name}.json").read_text("utf-8"))
    return REAL / f"{name}.ogg", doc["utterances"]


def utterances(events: list[Event]) -> dict[int, str]:
    """Committed text per utterance, pieces joined in order."""
    out: dict[int, list[str]] = {}
    for f in finals(events):
        out.setdefault(f.utterance_id, []).append(f.text)
    return {uid: " ".join(t for t in texts if t) for uid, texts in out.items()}


@pytest.fixture(scope="module")
def monologue_live(decoder) -> tuple[list[Event], float, list[dict]]:
    """The 22 s monologue replayed in real time, with the wall time it started."""
    path, refs = load("monologue")
    started = time.monotonic()
    return run_file(path, decoder, realtime=True), started, refs


def test_a_long_turn_commits_text_while_it_goes_on(monologue_live) -> None:
    events, started, refs = monologue_live
    speech_end = refs[-1]["end"]
    pieces = finals(events)
    early = [f for f in pieces if f.decoded_wall - started < speech_end]
    # Nobody waits for the speaker to stop: most words are committed before the
    # 22 s monologue ends, each a second or two after it was spoken.
    early_words = sum(len(words(f.text)) for f in early)
    total = sum(len(words(r["text"])) for r in refs)
    assert early_words >= 0.7 * total
    first = min(f.decoded_wall - started for f in pieces)
    assert first < 4.0
    assert any(not f.last for f in pieces)  # committed as pieces of an utterance


def test_no_word_is_lost_at_utterance_boundaries(monologue_live, decoder) -> None:
    """The end of the first passage ("... my native country") and the words around
    every boundary arrive once: the text is as good as each passage alone."""
    events, _, refs = monologue_live
    text = " ".join(f.text for f in sorted(finals(events), key=lambda f: (f.start_s, f.piece)))
    reference = " ".join(r["text"] for r in refs)
    assert "native country" in " ".join(words(text))
    assert wer(reference, text) <= 0.08
    # Fast replay (each utterance decoded once, when it ends) loses nothing either.
    fast = finals(run_file(REAL / "monologue.ogg", decoder, realtime=False))
    fast_text = " ".join(f.text for f in fast)
    assert "native country" in " ".join(words(fast_text))
    assert wer(reference, fast_text) <= 0.08


def test_tight_turns_in_one_channel_end_at_each_turn(decoder) -> None:
    """Two speakers 50-200 ms apart on one channel: each turn is its own final,
    and no final mixes words from two turns."""
    path, refs = load("turns")
    events = run_file(path, decoder, realtime=True)
    texts = [t for t in utterances(events).values() if words(t)]
    assert len(texts) == len(refs), texts
    for text, ref in zip(texts, refs, strict=True):
        assert wer(ref["text"], text) <= 0.2, (text, ref["text"])
    for f in finals(events):
        assert isinstance(f, FinalTranscript)
