"""``turnaround live --browser``: the overlay page captures the call, the coach
listens to it.

The page's Listen button asks for the microphone and for the call's tab (or screen)
with its audio; the server's capture hub (``server.capture``) takes the frames and
hands them here, to two ``BrowserSource``s on one timeline. Whose voice each input
is, is decided by the first Listen, since a session's speakers are fixed when it
starts:

* microphone and call: the microphone is the user (the rep; the manager in a
  coaching 1:1) and the call is the other side;
* the microphone alone: one speaker, ``unknown`` (it may hear both sides, as
  ``turnaround live`` with one input does);
* the call alone: the other side.

Later Listens (after a reconnect, a reload, or sharing again) feed the same routes;
an input the session has no route for is not captured, and the page says so.

What happens to the inputs (refused, stopped, the page gone and back, and how much
audio a reconnect lost) is said on stderr and noted in the session file as
``{"type": "Capture", "event": ..., "at_s": ...}`` lines.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from assistant.audio.page_capture import PageCapture
from assistant.events import Speaker
from assistant.logs import say
from assistant.pipeline.routes import Route
from assistant.server.capture import CaptureHub

if TYPE_CHECKING:
    from assistant.asr.decoder import WhisperDecoder
    from assistant.pipeline.runner import SessionOptions
    from assistant.server.server import OverlayServer

# How often the wait for Listen wakes up, so Ctrl-C lands promptly.
WAIT_STEP_S = 0.1


class BrowserCapture(PageCapture):
    """The page's capture (``audio.page_capture``), told on stderr as it changes."""

    def __init__(self, roles: tuple[Speaker, Speaker], quiet: bool = False) -> None:
        super().__init__(roles, tell=self._say)
        self.quiet = quiet
        self.hub = CaptureHub(self.on_listen, self.on_audio, self.on_note)

    def wait_for_listen(self) -> list[Route]:
        """Block until a page presses Listen; the routes it decided."""
        while not self.listened.wait(WAIT_STEP_S):
            pass
        return [Route(source, speaker) for source, speaker in self.voices()]

    def _say(self, record: dict[str, Any]) -> None:
        line = _words(record)
        if line:
            say(f"browser: {line}", self.quiet)


def wait_for_page(
    server: OverlayServer, capture: BrowserCapture, args: argparse.Namespace, opts: SessionOptions
) -> tuple[list[Route], WhisperDecoder]:
    """Load the model, then offer Listen on the page and wait for it: the session
    starts with the routes the first Listen decided, and captions come at once."""
    from assistant.asr.decoder import WhisperDecoder
    from assistant.asr.models import resolve_model
    from assistant.cli.overlay import announce
    from assistant.sessions.store import prepare_dir

    if opts.record_dir is not None:
        prepare_dir(opts.record_dir)  # an unwritable folder is said before the model loads
    # Loaded here, not by assemble(): the session starts at the first Listen, and the
    # model must be ready by then.
    spec = resolve_model(opts.model, opts.model_dir)
    say(f"loading Whisper {spec.name} ({spec.compute_type}, CPU) from {spec.origin}", opts.quiet)
    decoder = WhisperDecoder(spec, cpu_threads=opts.cpu_threads)
    decoder.warm_up()
    server.enable_capture(capture.hub)
    announce(server, args)
    say("press Listen on the overlay page, then pick the call's tab (or screen) to share")
    return capture.wait_for_listen(), decoder


def _words(record: dict[str, Any]) -> str:
    event = record.get("event")
    if event in ("listen", "resumed", "inputs"):
        routes = record.get("routes") or {}
        heard = [f"{name} ({routes.get(name)})" for name in record.get("inputs", [])]
        verb = {"listen": "listening to", "resumed": "page back: listening to"}.get(
            event, "now listening to"
        )
        return f"{verb} {' and '.join(heard)}"
    if event == "input":
        return str(record.get("detail", ""))
    if event == "page_disconnected":
        return "the listening page disconnected: no audio until it reconnects"
    if event == "reconnected":
        return f"page reconnected: {record.get('lost_s', 0.0):.1f} s of audio lost"
    return ""
