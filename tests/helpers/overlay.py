"""Event builders shared by the server and browser tests: a final transcript and a
card as the pipeline would hand them to ``OverlayServer.handler``, and the coach in
front of the server as ``assemble()`` puts it."""

from __future__ import annotations

import time
from collections.abc import Callable

from assistant.coach.metrics import Coach
from assistant.events import Event, FinalTranscript, Speaker, Suggestion
from assistant.server.server import OverlayServer


def coached(server: OverlayServer) -> Callable[[Event], None]:
    """Hand events to ``server`` as a session does: the coach sees each first, and
    its metrics frame (talk, silence, monologue) follows the event to the server.
    Captions only (no playbook), so no card appears that the test did not send."""
    coach = Coach()

    def feed(event: Event) -> None:
        produced = coach(event) or []
        server.handler(event)
        for extra in produced:
            server.handler(extra)

    return feed


def final(uid: int, text: str, speaker: Speaker = Speaker.REP) -> FinalTranscript:
    """Utterance ``uid`` (2 s, 3 s apart); speech ended 0.5 s ago, decoded 0.1 s ago."""
    now = time.monotonic()
    return FinalTranscript(speaker, uid, uid * 3.0, uid * 3.0 + 2.0, text, now - 0.5, now - 0.1)


def card(n: int = 1, severity: str = "warn") -> Suggestion:
    """Card ``n`` (its number in the prompt, so cards are told apart on screen)."""
    now = time.monotonic()
    return Suggestion(
        id=f"s{n}-rep_but",
        trigger="rep_but",
        prompt=f'Card {n}: replace "but" with "and".',
        why='You answered their point with "but".',
        source="Fall on Your Sword - 4 Steps to Fixing a Bad Sales Relationship",
        severity=severity,
        at_s=10.0,
        created_wall=now,
        speech_end_wall=now - 0.5,
    )
