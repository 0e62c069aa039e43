"""Event builders shared by the server and browser tests: a final transcript and a
card as the pipeline would hand them to ``OverlayServer.handler``."""

from __future__ import annotations

import time

from assistant.events import FinalTranscript, Speaker, Suggestion


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
