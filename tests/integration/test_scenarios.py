"""Scenario transcripts written from the seed situations, replayed end to end.

Each asserts which card fires, roughly when, and that nothing else fires. These run
the shipped sentiment weights and built-in playbooks, exactly as `turnaround replay`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.assemble import replay_transcript
from assistant.audio.transcript_file import TranscriptError, read_transcript
from assistant.errors import TurnaroundError
from assistant.pipeline.text import TranscriptPipeline
from tests.helpers.paths import REPO

TRANSCRIPTS = REPO / "tests" / "fixtures" / "transcripts"


def replay(name: str, playbook: str = "sales-call") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    replay_transcript(TRANSCRIPTS / f"{name}.jsonl", playbook, events.append)
    json.dumps(events)  # everything emitted must be JSON-serialisable
    return events


def cards(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "Suggestion"]


def test_friendly_productive_call_produces_no_card() -> None:
    events = replay("friendly_call")
    assert cards(events) == []
    assert sum(e["type"] == "FinalTranscript" for e in events) == 20


def test_friendly_call_with_a_pricing_question_produces_no_card() -> None:
    """Price, timing, a director and "email it over" as friendly talk: no objection."""
    events = replay("friendly_pricing_call")
    assert cards(events) == []
    assert [e for e in events if e["type"] == "Signal" and e["detector"] == "objection"] == []
    texts = " ".join(e["text"] for e in events if e["type"] == "FinalTranscript")
    assert "What does pricing look like for ten seats?" in texts


def test_prospect_silent_after_question_is_caught_while_silent() -> None:
    events = replay("silent_prospect")
    card, stall = cards(events)
    assert card["trigger"] == "dead_air_after_question"
    # "I'd have to think about it and talk to the team" is a stall: it gets its card
    # once the rep has spoken after the first one.
    assert stall["trigger"] == "objection"
    assert stall["evidence"]["category"] in {"authority", "brush_off"}
    assert stall["evidence"]["pacing"] == "s1-dead_air_after_question answered"
    question = card["evidence"]["utterances"][0]
    assert "six months" in question["text"]
    # During the silence: ~5 s after the question, before the customer's next line ends.
    answer = next(
        e
        for e in events
        if e["type"] == "FinalTranscript"
        and e["end_s"] > question["end_s"]
        and e["speaker"] == "customer"
    )
    assert question["end_s"] + 4.5 <= card["at_s"] <= question["end_s"] + 6.0
    assert card["at_s"] < answer["start_s"]
    assert card["speech_end_wall"] is None  # caused by a silence tick, not by speech


def test_feature_pushing_with_disengaged_prospect() -> None:
    events = replay("feature_push")
    [card] = cards(events)
    assert card["trigger"] == "feature_push"
    assert card["severity"] == "alert"
    assert "What are your thoughts so far?" in card["prompt"]
    assert "003_0a5b712465c64881" in card["source"]
    assert 40.0 <= card["at_s"] <= 60.0  # after the third pitch met one-word replies


def test_defensive_rep_in_coaching_1on1() -> None:
    events = replay("defensive_rep_1on1", "coaching-1on1")
    [card] = cards(events)
    assert card["trigger"] == "rep_defensive"
    assert "unlock better results" in card["prompt"]
    assert 20.0 <= card["at_s"] <= 30.0  # on the rep's first excuse
    phrases = card["evidence"]["phrases"]
    assert any("fault" in p.lower() for p in phrases)
    assert any(e["type"] == "Signal" and e["detector"] == "closed_questions" for e in events)


def test_same_transcript_gives_same_cards() -> None:
    def key(events: list[dict[str, Any]]) -> list[tuple[str, float]]:
        return [(c["trigger"], c["at_s"]) for c in cards(events)]

    assert key(replay("feature_push")) == key(replay("feature_push"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"speaker": "rep", "start": 1, "end": 2}', "missing field(s) text"),
        ('{"speaker": "alien", "start": 1, "end": 2, "text": "hi"}', "unknown speaker"),
        ('{"speaker": "rep", "start": 3, "end": 2, "text": "hi"}', "before start"),
        ('{"speaker": "rep", "start": "1", "end": 2, "text": "hi"}', "start must be a number"),
        ('{"speaker": "rep", "start": 1, "end": 2, "text": " "}', "text must be"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_malformed_line_reports_line_number(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = '{"speaker": "rep", "start": 0, "end": 1, "text": "Hello."}'
    path.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(TranscriptError) as info:
        replay_transcript(path, "sales-call", lambda e: None)
    assert isinstance(info.value, TurnaroundError)
    assert "bad.jsonl:3: " in str(info.value)
    assert message in str(info.value)


def test_missing_transcript_file(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="not found"):
        replay_transcript(tmp_path / "nope.jsonl", "sales-call", lambda e: None)


def test_stream_clock_ticks_report_silence_between_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"speaker": "rep", "start": 0, "end": 1, "text": "Hi."}\n'
        '{"speaker": "prospect", "start": 4, "end": 5, "text": "Hello."}\n',
        encoding="utf-8",
    )
    pipeline = TranscriptPipeline(read_transcript(path), "t.jsonl", realtime=False)
    pipeline.start()
    events = list(pipeline.events(timeout_s=10))
    ticks = {e.now_s: e.silence_s for e in events if type(e).__name__ == "SilenceTick"}
    assert ticks[0.5] == 0.0  # someone is speaking
    assert ticks[3.0] == pytest.approx(2.0)
    assert ticks[4.5] == 0.0
    finals = [e for e in events if type(e).__name__ == "FinalTranscript"]
    assert [f.speaker.value for f in finals] == ["rep", "customer"]
    assert [f.utterance_id for f in finals] == [1, 2]  # line numbers
    # The same events as audio: each line's speech starts and ends around its text.
    kinds = [type(e).__name__ for e in events if "Speech" in type(e).__name__]
    assert kinds == ["SpeechStarted", "SpeechEnded"] * 2


def test_text_replay_prints_like_a_call() -> None:
    """`replay --transcript` goes through the same session and printer as audio."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "assistant", "replay", "--transcript"]
        + [str(TRANSCRIPTS / "silent_prospect.jsonl"), "--signals"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert ">>> CARD" in run.stdout
    assert "signal dead_air_after_question" in run.stdout
    assert "customer: A bit of everything really." in run.stdout
