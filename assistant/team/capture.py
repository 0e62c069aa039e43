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

from assistant.audio.page_capture import PageCapture
from assistant.events import Speaker
from assistant.pipeline.routes import Route
from assistant.server.capture import CaptureHub


class CallCapture(PageCapture):
    """One call's page capture (``audio.page_capture``), kept to its session file."""

    def __init__(self, roles: tuple[Speaker, Speaker]) -> None:
        super().__init__(roles)
        self.hub = CaptureHub(self.on_listen, self.on_audio, self.on_note)

    def routes(self) -> list[Route]:
        """Whose voice each captured input is (after the first Listen)."""
        return [Route(source, speaker) for source, speaker in self.voices()]
