"""An utterance committed in pieces ends with its ``TranscriptRevision``: the overlay
replaces its caption, the terminal shows the final text, the session file keeps it
and reading the session back gives final text only."""

from __future__ import annotations

import io
import json
from pathlib import Path

from assistant.cli.output import CaptionPrinter
from assistant.events import FinalTranscript, Speaker, TranscriptRevision, to_json_dict
from assistant.server.state import OverlayState
from assistant.sessions.log import read_session
from assistant.sessions.recorder import TranscriptRecorder

REP = Speaker.REP


def piece(text: str, start: float, end: float, n: int, last: bool = False) -> FinalTranscript:
    return FinalTranscript(REP, 7, start, end, text, 100.0 + end, 101.0 + end, piece=n, last=last)


def revision(text: str) -> TranscriptRevision:
    return TranscriptRevision(REP, 7, 0.0, 4.0, text, 104.0, 104.4)


PIECES = [piece("Okay, then I", 0.0, 1.5, 0), piece("thought you know", 1.5, 3.0, 1)]
LAST = piece("I heard a beep.", 3.0, 4.0, 2, last=True)
REVISED = revision("Okay, then I thought, you know, that I heard a beep.")


def test_the_overlay_caption_becomes_final_only_with_the_revision() -> None:
    state = OverlayState(clock=lambda: 200.0)
    captions = []
    for event in [*PIECES, LAST, REVISED]:
        captions += [m for m in state.on_event(event) if type(m).__name__ == "Caption"]
    assert {c.id for c in captions} == {"u7"}  # one line on the page, replaced
    assert [c.final for c in captions] == [False, False, False, True]
    assert captions[-1].text == REVISED.text
    # A page that connects now gets the final text, once.
    snapshot = state.snapshot("test")
    assert [c["text"] for c in snapshot.captions] == [REVISED.text]


def test_an_empty_revision_takes_the_caption_off() -> None:
    state = OverlayState(clock=lambda: 200.0)
    for event in PIECES:
        state.on_event(event)
    (caption,) = [m for m in state.on_event(revision("")) if type(m).__name__ == "Caption"]
    assert caption.final and caption.text == ""
    assert state.snapshot("test").captions == []


def test_the_terminal_shows_the_final_text_when_it_differs() -> None:
    out = io.StringIO()
    printer = CaptionPrinter(out, partials=False)
    for event in [*PIECES, LAST, REVISED]:
        printer(event)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("rep: Okay, then I thought you know I heard a beep.")
    assert lines[1].endswith("rep: " + REVISED.text + "  (final text)")


def test_a_terminal_line_still_last_is_rewritten_in_place() -> None:
    out = io.StringIO()
    printer = CaptionPrinter(out, partials=True)  # as on a terminal
    for event in [*PIECES, LAST, REVISED]:
        printer(event)
    assert out.getvalue().endswith("\r\033[K[00:00.0]      rep: " + REVISED.text + "\n")


def test_the_terminal_prints_nothing_more_when_the_revision_agrees() -> None:
    out = io.StringIO()
    printer = CaptionPrinter(out, partials=False)
    for event in [*PIECES, LAST, revision("Okay then I thought you know. I heard a beep")]:
        printer(event)
    assert len(out.getvalue().splitlines()) == 1


def test_the_session_keeps_the_revision_and_reads_back_final_text(tmp_path: Path) -> None:
    recorder = TranscriptRecorder.create(tmp_path, mode="sales")
    other = FinalTranscript(Speaker.CUSTOMER, 8, 3.2, 3.6, "Mm-hmm.", 0.0, 0.0)
    for event in [*PIECES, other, LAST, REVISED]:
        recorder.write(to_json_dict(event))
    recorder.end(5.0, "end of input")
    kinds = [json.loads(line)["type"] for line in recorder.path.read_text().splitlines()]
    assert kinds.count("TranscriptRevision") == 1 and kinds.count("FinalTranscript") == 4
    log = read_session(recorder.path)
    assert [(f.speaker, f.text) for f in log.finals] == [
        (Speaker.CUSTOMER, "Mm-hmm."),
        (REP, REVISED.text),
    ]
    assert (log.finals[1].start_s, log.finals[1].end_s) == (0.0, 4.0)
