"""One wiring for every session: ``assemble()`` and the coach's metrics frame.

The overlay's talk meter, silence timer and monologue chip come from the coach's
``ConversationMetrics`` frames (one after every final and tick); the overlay keeps
no conversation state of its own. The session the CLI, the tests and the benchmarks
run is built by ``assemble()`` in one order: coach, output, other handlers, server.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.coach.conversation import ConversationState
from assistant.coach.detectors.timing import MONOLOGUE_S, TALK_RATIO_WINDOW_S
from assistant.coach.metrics import Coach, NoScorer
from assistant.events import (
    ConversationMetrics,
    FinalTranscript,
    PipelineState,
    SilenceTick,
    Speaker,
    Status,
)
from assistant.server.state import OverlayState
from tests.helpers.paths import AUDIO, REPO

REP, CUSTOMER = Speaker.REP, Speaker.CUSTOMER


def final(speaker: Speaker, uid: int, start: float, end: float, text: str) -> FinalTranscript:
    return FinalTranscript(speaker, uid, start, end, text, 0.0, 0.0)


CALL = [
    final(REP, 1, 0.0, 70.0, "a long pitch about the platform " * 20),
    final(CUSTOMER, 2, 70.5, 71.0, "yeah"),  # a backchannel: the monologue goes on
    final(REP, 3, 71.2, 80.0, "and there is more to say about it"),
    final(CUSTOMER, 4, 81.0, 90.0, "This is a bit expensive for us, honestly."),
]


def test_a_frame_follows_every_final_and_tick_with_the_conversation_figures() -> None:
    coach = Coach()  # captions only: no playbook, the figures still come
    mirror = ConversationState(scorer=NoScorer())
    frames: list[ConversationMetrics] = []
    for event in [*CALL, SilenceTick(95.0, 5.0, 0.0)]:
        out = coach(event) or []
        assert [type(e) for e in out] == [ConversationMetrics]
        frames.append(out[0])
        if isinstance(event, FinalTranscript):
            mirror.add_final(event)
        else:
            mirror.tick(event)
    last = frames[-1]
    assert last.now_s == 95.0 and last.silence_s == 5.0
    assert last.window_s == TALK_RATIO_WINDOW_S and last.monologue_warn_s == MONOLOGUE_S
    assert last.talk_s == {
        REP: pytest.approx(mirror.talk_s_in_window(REP, TALK_RATIO_WINDOW_S)),
        CUSTOMER: pytest.approx(mirror.talk_s_in_window(CUSTOMER, TALK_RATIO_WINDOW_S)),
    }
    rep_monologue = frames[2]  # after the rep's second utterance, across the "yeah"
    assert rep_monologue.monologue is REP and rep_monologue.monologue_s == pytest.approx(80.0)
    assert last.monologue is CUSTOMER and last.monologue_s == pytest.approx(9.0)


def test_the_coach_with_a_playbook_hands_on_cards_then_its_frame() -> None:
    from assistant.coach.engine import SuggestionEngine
    from assistant.coach.playbook import load_playbook
    from tests.helpers.detectors import KeywordScorer

    coach = Coach(SuggestionEngine(load_playbook("sales-call"), scorer=KeywordScorer()))
    out: list[Any] = []
    out += coach(final(REP, 1, 0.0, 4.0, "What would it take for you to move forward?")) or []
    out += coach(SilenceTick(10.0, 6.0, 0.0)) or []  # six seconds of silence after it
    kinds = [type(e).__name__ for e in out]
    assert kinds[-1] == "ConversationMetrics" and "Suggestion" in kinds
    assert kinds.index("Suggestion") < len(kinds) - 1  # the frame comes last
    assert coach.state is coach.engine.state  # one conversation state, the engine's


def test_no_frames_without_an_overlay_and_nothing_for_other_events() -> None:
    coach = Coach(frames=False)
    assert coach(final(REP, 1, 0.0, 2.0, "hello there")) == []
    assert coach(Status(PipelineState.LISTENING, "x")) is None
    assert coach.state.speaker_stats(REP).talk_s == 2.0


def test_the_overlay_shows_the_coach_frame() -> None:
    now = [100.0]
    state = OverlayState(clock=lambda: now[0])
    coach = Coach()
    msgs = []
    for event in [Status(PipelineState.LISTENING, "call.wav"), *CALL]:
        for e in [event, *(coach(event) or [])]:
            msgs += state.on_event(e)
    metrics = [m for m in msgs if m.type == "metrics"]
    assert metrics, [m.type for m in msgs]
    last = metrics[-1]
    assert last.talk_s == {"rep": 78.8, "customer": 9.5}
    assert last.window_s == TALK_RATIO_WINDOW_S
    assert last.monologue == {"speaker": "customer", "duration_s": 9.0, "warn_s": MONOLOGUE_S}
    # Each final's caption is followed by its metrics (the frame right behind it).
    types = [m.type for m in msgs]
    assert types[-2:] == ["caption", "metrics"]


def test_the_overlay_keeps_no_conversation_state() -> None:
    """The server package reads the coach's frames; it imports nothing of the coach."""
    server_dir = REPO / "assistant" / "server"
    for module in server_dir.glob("*.py"):
        text = module.read_text("utf-8")
        assert "assistant.coach" not in text, module.name
        assert "ConversationState" not in text, module.name


def test_json_output_never_prints_metrics_frames() -> None:
    from assistant.cli.output import JsonPrinter

    out = io.StringIO()
    printer = JsonPrinter(out)
    printer(final(REP, 1, 0.0, 2.0, "hello"))
    for e in Coach()(final(REP, 1, 0.0, 2.0, "hello")) or []:
        printer(e)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["type"] for line in lines] == ["FinalTranscript"]


def test_assemble_wires_coach_output_handlers_and_server(decoder: Any, tmp_path: Path) -> None:
    from assistant.assemble import assemble
    from assistant.coach.playbook import load_playbook
    from assistant.pipeline.routes import file_routes
    from assistant.pipeline.runner import SessionOptions
    from assistant.server.server import OverlayServer

    seen: list[Any] = []
    printed: list[Any] = []
    server = OverlayServer(port=0)
    server.start()
    try:
        running = assemble(
            file_routes(AUDIO / "customer_objection.flac", realtime=False, mix=False),
            SessionOptions(quiet=True, record_dir=tmp_path),
            playbook=load_playbook("sales-call"),
            decoder=decoder,
            server=server,
            output=printed.append,
            handlers=[seen.append],
        )
        handlers = running.session.handlers
        # The recorder is an ordinary handler, first so a crash loses at most a line.
        assert running.recorder is not None and handlers[0] is running.recorder
        assert handlers[1] is running.coach and running.coach.engine is not None
        assert handlers[2:4] == [printed.append, seen.append]
        assert handlers[-1] == server.handler
        # What pages say about cards comes back into the session, for every handler.
        assert server.on_feedback == running.session.inject
        assert server.on_card_closed == running.session.inject
        assert running.run() == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            snapshot = json.loads(server._state.snapshot("t").to_wire())  # noqa: SLF001
            if snapshot["metrics"] and snapshot["metrics"]["talk_s"]:
                break
            time.sleep(0.05)
    finally:
        server.stop()
    assert snapshot["status"]["model"] == decoder.spec.name
    assert snapshot["status"]["devices"] == ["customer_objection.flac"]
    assert snapshot["metrics"]["talk_s"]["unknown"] > 1.0
    finals = [e for e in seen if isinstance(e, FinalTranscript)]
    assert finals and any(isinstance(e, ConversationMetrics) for e in seen)
    assert printed == seen  # the output sees every event the other handlers see
