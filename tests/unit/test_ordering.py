"""The ordered stream (``StreamOrder``): stream order across speakers and silence
ticks that depend on the audio alone, never on how the workers' threads
interleaved."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.events import (
    FinalTranscript,
    SilenceTick,
    Speaker,
    SpeechDiscarded,
    SpeechEnded,
    SpeechStarted,
)
from assistant.pipeline.ordering import StreamOrder

REP, CUSTOMER = Speaker.REP, Speaker.CUSTOMER


def final(speaker: Speaker, end_s: float, text: str) -> FinalTranscript:
    return FinalTranscript(speaker, 1, end_s - 1.0, end_s, text, 0.0, 0.0)


def test_an_event_waits_for_the_slower_stream_then_comes_in_stream_order() -> None:
    order = StreamOrder([REP, CUSTOMER])
    assert order.emit(REP, final(REP, 5.0, "later")) == []
    assert order.progress(REP, 6.0) == []  # the customer is still at 0
    assert order.emit(CUSTOMER, final(CUSTOMER, 4.0, "earlier")) == []
    out = order.progress(CUSTOMER, 6.0)
    texts = [e.text for e in out if isinstance(e, FinalTranscript)]
    assert texts == ["earlier", "later"]
    ticks = [e.now_s for e in out if isinstance(e, SilenceTick)]
    assert ticks == [0.25 * k for k in range(1, 24)]  # up to, not at, 6.0
    # Each final comes before the tick at or after its time.
    kinds = [(type(e).__name__, getattr(e, "end_s", getattr(e, "now_s", None))) for e in out]
    assert kinds.index(("FinalTranscript", 4.0)) < kinds.index(("SilenceTick", 4.0))


def test_silence_counts_from_the_speech_end_and_ignores_discarded_bursts() -> None:
    order = StreamOrder([REP])
    out = order.emit(REP, SpeechStarted(REP, 0.5, detected_s=1.0))
    out += order.emit(REP, SpeechEnded(REP, 0.5, 2.0, detected_s=2.4))
    out += order.emit(REP, SpeechStarted(REP, 3.0, detected_s=3.5))
    out += order.emit(REP, SpeechDiscarded(REP, 3.0, 3.6, detected_s=3.8))
    out += order.progress(REP, 5.0)
    silence = {e.now_s: e.silence_s for e in out if isinstance(e, SilenceTick)}
    assert silence[0.75] == 0.75  # nobody has spoken yet: silence since the start
    assert silence[1.5] == 0.0  # speaking
    # Speech stopped at 2.0 (its end decided at 2.4): silence counts from there.
    assert (silence[2.0], silence[2.25], silence[2.5]) == (0.0, 0.25, 0.5)
    assert silence[3.5] == 0.0  # a burst starts ...
    assert silence[4.0] == 2.0  # ... and is discarded: the silence since 2.0 goes on


def _script(speaker: Speaker, offset: float) -> list[tuple[str, object]]:
    """One worker's operations, in its own order: speech, its final, progress."""
    ops: list[tuple[str, object]] = []
    t = offset
    for k in range(4):
        start, end = t, t + 1.5
        ops.append(("emit", SpeechStarted(speaker, start - 0.3, detected_s=start)))
        ops.append(("progress", start + 0.5))
        ops.append(("progress", end))  # trailing: settled at the speech end
        ops.append(("emit", SpeechEnded(speaker, start - 0.3, end, detected_s=end + 0.4)))
        ops.append(("emit", final(speaker, end, f"{speaker.value} {k}")))
        ops.append(("progress", end + 0.4))
        t = end + 1.0 + 0.3 * k
    ops.append(("progress", float("inf")))
    return ops


def _run(choices: list[bool]) -> list[object]:
    order = StreamOrder([REP, CUSTOMER])
    scripts = {REP: _script(REP, 0.2), CUSTOMER: _script(CUSTOMER, 1.1)}
    out: list[object] = []
    picks = iter(choices)
    while scripts[REP] or scripts[CUSTOMER]:
        who = REP if not scripts[CUSTOMER] else CUSTOMER if not scripts[REP] else None
        if who is None:
            who = REP if next(picks, True) else CUSTOMER
        kind, arg = scripts[who].pop(0)
        if kind == "emit":
            out += order.emit(who, arg)  # type: ignore[arg-type]
        else:
            out += order.progress(who, arg)  # type: ignore[arg-type]
    # Wall-clock stamps are not part of the stream.
    return [dataclasses.replace(e, wall=0.0) if isinstance(e, SilenceTick) else e for e in out]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), max_size=80))
def test_the_ordered_stream_does_not_depend_on_thread_interleaving(choices: list[bool]) -> None:
    assert _run(choices) == _run([True] * 80)
