"""``assemble()``: one running session, wired the same way wherever it runs.

The command line, the tests and the benchmarks all build a call here:

* the **session** (``pipeline.session``): the session file, opened before the model
  loads so an unwritable folder is an error at once; the Whisper model (or one
  already loaded); the pipeline of sources -> VAD -> transcription;
* the **coach** (``coach.metrics.Coach``): the suggestion engine with the
  playbook's detectors and pacing, and the metrics frames the overlay shows. With
  no playbook it still keeps the conversation figures when an overlay is attached;
* the terminal **output**, and any other consumers (benchmarks timing events);
* the **overlay server**: it receives every event, pauses and resumes the pipeline
  for its pages, and records card feedback in the session file.

Handlers run in that order on the session's consumer thread; what a handler
returns (the coach's cards and frames) is dispatched to all of them after the event
that caused it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.pipeline.routes import Route
from assistant.pipeline.session import Handler, Session, SessionOptions

if TYPE_CHECKING:
    from assistant.asr.decoder import WhisperDecoder
    from assistant.coach.metrics import Coach
    from assistant.coach.playbook import Playbook
    from assistant.pipeline.core import Pipeline
    from assistant.server.server import OverlayServer
    from assistant.sessions.recorder import TranscriptRecorder


@dataclass
class Assembly:
    """A session and the parts wired around it."""

    session: Session
    coach: Coach | None
    server: OverlayServer | None

    @property
    def pipeline(self) -> Pipeline:
        return self.session.pipeline

    @property
    def recorder(self) -> TranscriptRecorder | None:
        return self.session.recorder

    def run(self) -> int:
        """Listen until the input ends (or Ctrl-C); the exit code."""
        return self.session.run()


def assemble(
    routes: Sequence[Route],
    options: SessionOptions | None = None,
    *,
    playbook: Playbook | None = None,
    decoder: WhisperDecoder | None = None,
    server: OverlayServer | None = None,
    output: Handler | None = None,
    handlers: Sequence[Handler] = (),
) -> Assembly:
    """Build a session over ``routes``, ready to ``run()``.

    ``playbook``: coach with it (None: captions only). ``decoder``: a model already
    loaded (tests and benchmarks share one); None loads ``options.model``.
    ``server``: an overlay server already listening (the CLI starts it before the
    model loads, so a port in use is said at once). ``output``: the terminal
    printer. ``handlers``: more consumers, after the output.
    """
    coach = _coach(playbook, overlay=server is not None)
    chain: list[Handler] = [coach] if coach is not None else []
    if output is not None:
        chain.append(output)
    chain.extend(handlers)
    session = Session(list(routes), options or SessionOptions(), chain, decoder=decoder)
    if server is not None:
        _attach(server, session, routes)
    return Assembly(session, coach, server)


def _coach(playbook: Playbook | None, overlay: bool) -> Coach | None:
    if playbook is None and not overlay:
        return None
    from assistant.coach.metrics import Coach

    engine = None
    if playbook is not None:
        from assistant.coach.engine import SuggestionEngine

        engine = SuggestionEngine(playbook)  # loads the sentiment model: before Whisper
    return Coach(engine, frames=overlay)


def _attach(server: OverlayServer, session: Session, routes: Sequence[Route]) -> None:
    from assistant.server.protocol import ControlAction

    pipeline = session.pipeline

    def control(action: ControlAction) -> None:
        # Idempotent: a page (or several) repeating "pause" changes nothing and
        # sends nobody another status frame.
        if action is ControlAction.PAUSE and not pipeline.paused:
            pipeline.pause()
        elif action is ControlAction.RESUME and pipeline.paused:
            pipeline.resume()

    server.on_control = control
    if session.recorder is not None:
        server.on_feedback = session.recorder.write
        server.on_card_closed = session.recorder.write
    server.describe(model=session.decoder.spec.name, devices=[r.source.name for r in routes])
    session.handlers.append(server.handler)
    # Captions still reach the user through the page when stdout goes away.
    session.keep_going_without_output = True
