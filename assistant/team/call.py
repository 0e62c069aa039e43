"""One rep's call on the team server, from the page's first connection to its report.

A call is created when a rep's page connects and no call of theirs is live; the
page's Listen starts its session (``assemble()`` over the page's two inputs, the
rep's playbook, the shared decode scheduler, the call's own room as its overlay
and its own session file in the rep's folder). It runs on a thread of its own
until it ends:

* the rep's pages have all been gone for ``end_after_s`` (a reload or a network
  blip comes back well within it and the call goes on);
* the team server stops.

Either way the pipeline drains (the utterance in progress still gets its final
text), the session file is closed with why, and the call's report is rendered for
the rep's page and the manager's view.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.coach.detectors.base import Roles
from assistant.errors import TurnaroundError
from assistant.events import PipelineState, Status
from assistant.pipeline.core import PipelineConfig
from assistant.pipeline.runner import SessionOptions
from assistant.scale.scheduler import DecodeScheduler
from assistant.team.capture import CallCapture
from assistant.team.config import Rep
from assistant.team.room import CallRoom
from assistant.team.stats import CallStats

if TYPE_CHECKING:
    import asyncio

    from assistant.assemble import Assembly
    from assistant.coach.playbook import Playbook
    from assistant.scale.local import SharedDecoder

log = logging.getLogger(__name__)

SUMMARY_PATH = "/summary"
# How often the call's thread looks for Listen or for the end of the call.
WAIT_STEP_S = 0.1
# A slow transcription is said on the rep's page at most this often.
SLOW_REPEAT_S = 10.0


class CallState(str, Enum):
    WAITING = "waiting"  # a page is open; nobody has pressed Listen yet
    LIVE = "live"
    ENDED = "ended"


@dataclass
class CallSetup:
    """What every call on the server shares."""

    scheduler: DecodeScheduler
    decoder: SharedDecoder
    playbooks: dict[str, Playbook]
    sessions_dir: Path | None
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    model: str = ""


class Call:
    def __init__(self, number: int, rep: Rep, setup: CallSetup, loop: asyncio.AbstractEventLoop):
        self.id = f"{rep.id}-{number}"
        self.rep = rep
        self.setup = setup
        # Opens this call's overlay read-only: only the manager's view hands it out.
        self.watch_token = secrets.token_urlsafe(24)
        self.playbook = setup.playbooks[rep.playbook]
        roles = Roles.for_mode(self.playbook.mode)
        self.capture = CallCapture((roles.coached, roles.other))
        self.room = CallRoom(loop, self.id, hub=self.capture.hub)
        self.room.describe(setup.model, [s.name for s in self.capture.sources.values()])
        self.stats = CallStats(roles.coached)
        self.state = CallState.WAITING
        self.created = time.time()
        self.started: float | None = None  # wall time of the first Listen
        self.ended: float | None = None
        self.end_reason = ""
        self.session_file: Path | None = None
        self.error: str | None = None
        self.assembly: Assembly | None = None
        self._end = threading.Event()
        self._lock = threading.Lock()
        self._slow_said = -1e9
        self._thread = threading.Thread(target=self._run, name=f"call-{self.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def end(self, reason: str) -> None:
        """End the call (any thread): the session drains and closes."""
        with self._lock:
            if self._end.is_set():
                return
            self.end_reason = reason
            self._end.set()
            assembly = self.assembly
        if assembly is not None:
            assembly.session.stop_reason = reason
            assembly.pipeline.stop()

    def join(self, timeout_s: float) -> bool:
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def duration_s(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended or time.time()) - self.started

    # -- the call's thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self.capture.listened.wait(WAIT_STEP_S):
                if self._end.is_set():
                    return  # nobody pressed Listen: no session, nothing recorded
            self._session()
        except Exception as exc:  # a bug ends this call, never the server
            log.error("call %s failed", self.id, exc_info=True)
            self.error = f"internal error: {type(exc).__name__}"
        finally:
            self.state = CallState.ENDED
            self.ended = time.time()
            self.capture.detach()

    def _session(self) -> None:
        from assistant.assemble import assemble

        setup = self.setup
        record_dir = setup.sessions_dir / self.rep.id if setup.sessions_dir else None
        options = SessionOptions(
            model=setup.model,
            record_dir=record_dir,
            quiet=True,
            record_meta={
                "mode": self.playbook.mode.value,
                "playbook": self.rep.playbook,
                "coach": True,
                "input": {"kind": "browser"},
                "realtime": True,
                "overlay": True,
                "rep": self.rep.id,
            },
            pipeline=PipelineConfig(
                vad=setup.pipeline.vad,
                streaming=setup.pipeline.streaming,
                asr=setup.scheduler.factory(on_slow=self._slow),
            ),
        )
        try:
            assembly = assemble(
                self.capture.routes(),
                options,
                playbook=self.playbook,
                decoder=setup.decoder,  # type: ignore[arg-type]
                server=self.room,  # type: ignore[arg-type]
                handlers=[self.stats],
            )
        except TurnaroundError as exc:  # the rep's folder cannot be written, say
            self.error = str(exc)
            self.room.handler(Status(PipelineState.ERROR, str(exc)))
            log.error("call %s: %s", self.id, exc)
            return
        self.capture.attach(assembly.recorder)
        self.session_file = assembly.recorder.path if assembly.recorder else None
        with self._lock:
            self.assembly = assembly
            ending = self._end.is_set()
        self.started = time.time()
        self.state = CallState.LIVE
        if ending:  # ended while it was being built: start, then drain at once
            threading.Timer(0.0, assembly.pipeline.stop).start()
        try:
            assembly.run()
        except TurnaroundError as exc:
            self.error = str(exc)
            log.warning("call %s ended: %s", self.id, exc)
        self._publish_summary()

    def _slow(self, why: str) -> None:
        """A decode of this call had to be retried (a replica died): the manager's
        view counts it, the session file notes it, the rep's page says so."""
        self.stats.slowed(why)
        assembly = self.assembly
        if assembly is None:
            return
        if assembly.recorder is not None:
            assembly.recorder.write(
                {
                    "type": "Transcription",
                    "event": "slow",
                    "detail": why,
                    "at_s": round(assembly.recorder.stream_s, 3),
                }
            )
        now = time.monotonic()
        if now - self._slow_said < SLOW_REPEAT_S:
            return
        self._slow_said = now
        state = PipelineState.PAUSED if assembly.pipeline.paused else PipelineState.LISTENING
        assembly.session.inject(Status(state, f"transcription slow: {why}"))

    def _publish_summary(self) -> None:
        if self.session_file is None:
            return
        try:
            html = render_report(self.session_file)
        except Exception as exc:  # the report is a bonus; the session file is the record
            log.warning("call %s: no summary (%s)", self.id, exc)
            return
        self.room.publish_summary(html, SUMMARY_PATH)


def render_report(path: Path) -> str:
    """The coaching report of one session file, as self-contained HTML."""
    from assistant.report.figures import build_report
    from assistant.report.html import render_html
    from assistant.sessions.log import read_session

    return render_html(build_report(read_session(path)))
