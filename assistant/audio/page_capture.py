"""The overlay page's two inputs as one capture: whose voice each is, its frames into
their sources, and what happened to them as notes for the session file.

``live --browser`` (``cli.browser_capture``) and each of the team server's calls
(``team.capture``) capture a page the same way; they differ in what they say about
it (the command line tells the terminal, a team server with many calls does not),
so that is passed in. They hand this class's callbacks to the server's capture hub
and turn :meth:`PageCapture.voices` into the pipeline's routes: this stage imports
neither, so the frame and the session file are described below by what is used.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from assistant.audio.browser_source import BrowserSource, CaptureTimeline
from assistant.events import Speaker

# Notes made before the session file exists (the first Listen starts the session).
EARLY_NOTES_MAX = 64
# A capture time further than this from its arrival is a page clock that differs
# from ours (a page on another machine): the arrival time is used instead.
MAX_CAPTURE_AGE_S = 1.0

Tell = Callable[[dict[str, Any]], None]


class _Input(Protocol):
    @property
    def input_name(self) -> str: ...


class Frame(Protocol):
    """``server.audio_frames.AudioFrame``, as far as a capture reads it."""

    @property
    def channel(self) -> _Input: ...

    @property
    def capture_ms(self) -> float: ...

    @property
    def pcm(self) -> bytes: ...


class NoteWriter(Protocol):
    """``sessions.recorder.TranscriptRecorder``, as far as a capture writes to it."""

    def write(self, record: dict[str, Any]) -> None: ...


class PageCapture:
    """The microphone and the call from one page, on one timeline. ``roles``: the
    user's voice and the other side's; ``tell``: what to do with each note besides
    keeping it (before it goes into the session file)."""

    def __init__(self, roles: tuple[Speaker, Speaker], tell: Tell | None = None) -> None:
        self.roles = roles
        self._tell = tell
        self.timeline = CaptureTimeline()
        self.sources = {
            "mic": BrowserSource("page microphone", self.timeline),
            "call": BrowserSource("page call audio", self.timeline),
        }
        self.speakers: dict[str, Speaker | None] = {}
        self.listened = threading.Event()
        self._lock = threading.Lock()
        self._recorder: NoteWriter | None = None
        self._attached = False
        self._early: deque[dict[str, Any]] = deque(maxlen=EARLY_NOTES_MAX)
        self.notes: list[dict[str, Any]] = []  # every note, for tests and benchmarks

    def voices(self) -> list[tuple[BrowserSource, Speaker]]:
        """The inputs that have a voice (after the first Listen), with whose it is."""
        return [
            (self.sources[name], speaker)
            for name, speaker in self.speakers.items()
            if speaker is not None
        ]

    def attach(self, recorder: NoteWriter | None) -> None:
        """The session file exists: the notes kept so far go in, in order."""
        with self._lock:
            self._recorder, self._attached = recorder, True
            while self._early and recorder is not None:
                recorder.write(self._early.popleft())
            self._early.clear()

    def detach(self) -> None:
        """The session file is closed: later notes are kept in memory only."""
        with self._lock:
            self._recorder = None

    # -- the capture hub's callbacks --------------------------------------------------

    def on_listen(self, mic: bool, call: bool) -> dict[str, str | None]:
        """Server loop: the first Listen decides whose voice each input is."""
        own, other = self.roles
        if mic and call:
            self.speakers = {"mic": own, "call": other}
        elif mic:
            self.speakers = {"mic": Speaker.UNKNOWN, "call": None}
        else:
            self.speakers = {"mic": None, "call": other}
        self.listened.set()
        return {name: sp.value if sp else None for name, sp in self.speakers.items()}

    def on_audio(self, frame: Frame, now: float) -> None:
        """Server loop: one frame to its source, stamped with its capture time on
        this process's clock (the page's clock is the same wall clock, unless the
        page is on another machine)."""
        age_s = (time.time() * 1000.0 - frame.capture_ms) / 1000.0
        captured = now - age_s if 0.0 <= age_s <= MAX_CAPTURE_AGE_S else now
        self.sources[frame.channel.input_name].push(frame.pcm, captured, now)

    def on_note(self, record: dict[str, Any]) -> None:
        """Callback thread: what changed, told and into the session file."""
        event = record.get("event")
        if event == "input":
            self.sources[record["input"]].set_sending(False)
        elif event == "page_disconnected":
            for source in self.sources.values():
                source.set_sending(False)
        at_s = max(s.stream_s for s in self.sources.values())
        note = {"type": "Capture", **record, "at_s": round(at_s, 3)}
        with self._lock:
            self.notes.append(note)
            if self._tell is not None:
                self._tell(record)
            if self._recorder is not None:
                self._recorder.write(note)
            elif not self._attached:
                self._early.append(note)
