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
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from assistant.audio.browser_source import BrowserSource, CaptureTimeline
from assistant.events import Speaker
from assistant.logs import say
from assistant.pipeline.routes import Route
from assistant.server.audio_frames import AudioFrame
from assistant.server.capture import CaptureHub, Routes
from assistant.sessions.recorder import TranscriptRecorder

if TYPE_CHECKING:
    from assistant.asr.decoder import WhisperDecoder
    from assistant.pipeline.runner import SessionOptions
    from assistant.server.server import OverlayServer

# Notes made before the session file exists (the first Listen starts the session).
EARLY_NOTES_MAX = 64
# A page's capture time more than this behind its arrival is not believed (a page on
# another machine, whose clock differs): the arrival time is used instead.
MAX_CAPTURE_AGE_S = 1.0
# How often the wait for Listen wakes up, so Ctrl-C lands promptly.
WAIT_STEP_S = 0.1


class BrowserCapture:
    def __init__(self, roles: tuple[Speaker, Speaker], quiet: bool = False) -> None:
        self.roles = roles
        self.quiet = quiet
        self.timeline = CaptureTimeline()
        self.sources = {
            "mic": BrowserSource("page microphone", self.timeline),
            "call": BrowserSource("page call audio", self.timeline),
        }
        self.speakers: dict[str, Speaker | None] = {}
        self._listened = threading.Event()
        self._lock = threading.Lock()
        self._recorder: TranscriptRecorder | None = None
        self._attached = False
        self._early: deque[dict[str, Any]] = deque(maxlen=EARLY_NOTES_MAX)
        self.notes: list[dict[str, Any]] = []  # every note, for tests and benchmarks
        self.hub = CaptureHub(self._on_listen, self._on_audio, self._on_note)

    # -- the command line's side ------------------------------------------------------

    def wait_for_listen(self) -> list[Route]:
        """Block until a page presses Listen; the routes it decided."""
        while not self._listened.wait(WAIT_STEP_S):
            pass
        return [
            Route(self.sources[name], speaker)
            for name, speaker in self.speakers.items()
            if speaker is not None
        ]

    def attach(self, recorder: TranscriptRecorder | None) -> None:
        """The session file exists: the notes kept so far go in, in order."""
        with self._lock:
            self._recorder, self._attached = recorder, True
            while self._early and recorder is not None:
                recorder.write(self._early.popleft())
            self._early.clear()

    # -- the capture hub's callbacks --------------------------------------------------

    def _on_listen(self, mic: bool, call: bool) -> Routes:
        """Server loop: the first Listen decides whose voice each input is."""
        own, other = self.roles
        if mic and call:
            self.speakers = {"mic": own, "call": other}
        elif mic:
            self.speakers = {"mic": Speaker.UNKNOWN, "call": None}
        else:
            self.speakers = {"mic": None, "call": other}
        self._listened.set()
        return {name: sp.value if sp else None for name, sp in self.speakers.items()}

    def _on_audio(self, frame: AudioFrame, now: float) -> None:
        """Server loop: one frame to its source, stamped with its capture time on
        this process's clock (the page's clock is the same wall clock here)."""
        age_s = (time.time() * 1000.0 - frame.capture_ms) / 1000.0
        captured = now - age_s if 0.0 <= age_s <= MAX_CAPTURE_AGE_S else now
        self.sources[frame.channel.input_name].push(frame.pcm, captured, now)

    def _on_note(self, record: dict[str, Any]) -> None:
        """Callback thread: what changed, on stderr and in the session file."""
        event = record.get("event")
        if event == "input":
            self.sources[record["input"]].set_sending(False)
        elif event == "page_disconnected":
            for source in self.sources.values():
                source.set_sending(False)
        at_s = max(s.stream_s for s in self.sources.values())
        note = {"type": "Capture", **record, "at_s": round(at_s, 3)}
        self.notes.append(note)
        line = _words(record)
        if line:
            say(f"browser: {line}", self.quiet)
        with self._lock:
            if self._recorder is not None:
                self._recorder.write(note)
            elif not self._attached:
                self._early.append(note)


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
