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

from assistant.events import TranscriptRevision
from tests.helpers.audio import final_texts, finals, run_file
from tests.helpers.paths import AUDIO
from tests.helpers.wer import wer, words

REAL = AUDIO / "real"


def load(name: str) -> tuple[Path, list[dict]]:
    doc = json.loads((REAL / f"{name}.json").read_text("utf-8"))
    return REAL / f"{name}.ogg", doc["utterances"]


@pytest.fixture(scope="module")
def monologue_live(decoder) -> tuple[list, float, list[dict]]:
    """The 22 s monologue replayed in real time, with the wall time it started."""
    path, refs = load("monologue")
    started = time.monotonic()
    return run_file(path, decoder, realtime=True), started, refs


def test_a_long_turn_commits_text_while_it_goes_on(monologue_live) -> None:
    events, _, refs = monologue_live
    # Nobody waits for the speaker to stop: a piece is committed only while the
    # utterance goes on, and pieces carry much of the 22 s monologue.
    pieces = [f for f in finals(events) if not f.last]
    total = sum(len(words(r["text"])) for r in refs)
    assert sum(len(words(f.text)) for f in pieces) >= 0.5 * total
    # Every utterance that came in pieces ends with its revision: one decode of all
    # its audio.
    revised = {e.utterance_id for e in events if isinstance(e, TranscriptRevision)}
    assert {f.utterance_id for f in pieces} <= revised


def test_final_text_is_as_good_as_each_passage_alone(monologue_live) -> None:
    """The end of the first passage ("... my native country") and the words around
    every boundary are in the final text once."""
    events, _, refs = monologue_live
    text = " ".join(t for _, t in final_texts(events))
    reference = " ".join(r["text"] for r in refs)
    assert "native country" in " ".join(words(text))
    assert wer(reference, text) <= 0.08


@pytest.mark.parametrize("name", ["monologue", "turns"])
def test_the_same_audio_gives_the_same_final_text_in_real_time_and_fast(
    name: str, decoder, monologue_live
) -> None:
    """Final text is a function of the audio alone: real-time replay (partials,
    pieces, a decoder shared with re-decodes) and fast replay (no partials) agree
    word for word."""
    path, _ = load(name)
    live = monologue_live[0] if name == "monologue" else run_file(path, decoder, realtime=True)
    fast = run_file(path, decoder, realtime=False)
    assert final_texts(live) == final_texts(fast)
    assert final_texts(fast)


def test_tight_turns_in_one_channel_keep_every_turns_words(decoder) -> None:
    """Two speakers 50-200 ms apart on one channel: no silence rule can end a turn
    in time, but the final text still holds every turn's words."""
    path, refs = load("turns")
    events = run_file(path, decoder, realtime=True)
    text = " ".join(t for _, t in final_texts(events))
    assert wer(" ".join(r["text"] for r in refs), text) <= 0.2, text
