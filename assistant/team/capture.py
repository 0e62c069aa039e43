"""One call's audio from its rep's page: the browser capture of ``live --browser``
(``server.capture.CaptureHub`` for the frames, ``audio.browser_source`` for the
sources), one per call, so no call can hear another.

The first Listen decides whose voice each input is (the microphone is the rep, the
shared tab the customer; in a coaching 1:1 the manager and the rep); what happens
to the inputs later (stopped, the page gone and back) goes into the call's session
file as ``Capture`` lines, as ``live --browser`` records them. Unlike the command
line's capture, nothing is said on the terminal: a team server has many calls.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from assistant.audio.browser_source import BrowserSource, CaptureTimeline
from assistant.events import Speaker
from assistant.pipeline.routes import Route
from assistant.server.audio_frames import AudioFrame
from assistant.server.capture import CaptureHub, Routes
from assistant.sessions.recorder import TranscriptRecorder

# Notes made before the session file exists (the first Listen starts the session).
EARLY_NOTES_MAX = 64
# A capture time further than this from its arrival is a page clock that differs
# from ours (a rep on another machine): the arrival time is used instead.
MAX_CAPTURE_AGE_S = 1.0


class CallCapture:
    def __init__(self, roles: tuple[Speaker, Speaker]) -> None:
        self.roles = roles
        self.timeline = CaptureTimeline()
        self.sources = {
            "mic": BrowserSource("page microphone", self.timeline),
            "call": BrowserSource("page call audio", self.timeline),
        }
        self.speakers: dict[str, Speaker | None] = {}
        self.listened = threading.Event()
        self._lock = threading.Lock()
        self._recorder: TranscriptRecorder | None = None
        self._attached = False
        self._early: deque[dict[str, Any]] = deque(maxlen=EARLY_NOTES_MAX)
        self.notes: list[dict[str, Any]] = []
        self.hub = CaptureHub(self._on_listen, self._on_audio, self._on_note)

    def routes(self) -> list[Route]:
        """Whose voice each captured input is (after the first Listen)."""
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

    def detach(self) -> None:
        """The session file is closed: later notes are kept in memory only."""
        with self._lock:
            self._recorder = None

    # -- the hub's callbacks -----------------------------------------------------------

    def _on_listen(self, mic: bool, call: bool) -> Routes:
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

    def _on_audio(self, frame: AudioFrame, now: float) -> None:
        """Server loop: one frame to its source, stamped with its capture time."""
        age_s = (time.time() * 1000.0 - frame.capture_ms) / 1000.0
        captured = now - age_s if 0.0 <= age_s <= MAX_CAPTURE_AGE_S else now
        self.sources[frame.channel.input_name].push(frame.pcm, captured, now)

    def _on_note(self, record: dict[str, Any]) -> None:
        """The room's callback thread: what changed, into the session file."""
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
            if self._recorder is not None:
                self._recorder.write(note)
            elif not self._attached:
                self._early.append(note)
