"""What a page's text message does: one answer for the overlay server and for a
team call's room, so a page is treated alike wherever it is served.

* feedback on a card: the overlay state records it, every page is told, the
  session gets the record, the page an ack;
* pause/resume: rate-limited per page, then the session's ``on_control``, an ack;
* a render acknowledgement: whatever the owner measures with it, if anything;
* Listen and input changes: to the capture hub, when the page's audio is taken.

A message that is malformed, refused or unavailable gets an error frame on that
page only. The owner says what differs (``Unavailable``'s words, ``on_rendered``)
and how to reach its pages and its callback thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.events import CardFeedback
from assistant.server.capture import CaptureHub
from assistant.server.client_queue import Outgoing
from assistant.server.pages import Page
from assistant.server.protocol import (
    Ack,
    Control,
    ControlAction,
    Error,
    Feedback,
    ProtocolError,
    Rendered,
    ServerMessage,
    parse_client_message,
)
from assistant.server.state import OverlayState

# Runs a session callback off the event loop (the owner's callback thread).
RunCallback = Callable[[Callable[[Any], None], Any], None]


@dataclass(frozen=True)
class Unavailable:
    """What a page is told when it asks for something its server cannot do: the
    words say why in the owner's terms (no session yet, no capture in this run)."""

    control: str  # pause/resume with nothing to pause
    audio: str  # Listen or an input change with nothing taking the page's audio


@dataclass(frozen=True)
class PageMessages:
    state: OverlayState  # the owner's: feedback is recorded there
    broadcast: Callable[[ServerMessage], None]  # to every page of the owner
    send: Callable[[Page, Outgoing], None]  # to one page (its bounded queue)
    callback: RunCallback
    unavailable: Unavailable
    # What a render acknowledgement is for; None: nothing is measured from them.
    on_rendered: Callable[[Page, Rendered], None] | None = None

    def handle(
        self,
        page: Page,
        raw: str | bytes,
        on_feedback: Callable[[CardFeedback], None] | None,
        on_control: Callable[[ControlAction], None] | None,
        hub: CaptureHub | None,
    ) -> None:
        """Answer one message from ``page``. The session's callbacks and the hub are
        passed on each call: they are wired (or replaced) after the owner is built."""
        try:
            msg = parse_client_message(raw)
            if isinstance(msg, Feedback):
                record, out = self.state.feedback(msg)
                for m in out:
                    self.broadcast(m)
                if record is not None and on_feedback is not None:
                    self.callback(on_feedback, record)
                self.send(page, Outgoing(Ack("feedback", msg.card_id).to_wire()))
            elif isinstance(msg, Control):
                if on_control is None:
                    raise ProtocolError("unavailable", self.unavailable.control)
                if not page.allow_control(time.monotonic()):
                    raise ProtocolError("rate_limited", "too many pause/resume requests; wait")
                self.callback(on_control, msg.action)
                self.send(page, Outgoing(Ack("control", msg.action.value).to_wire()))
            elif isinstance(msg, Rendered):
                if self.on_rendered is not None:
                    self.on_rendered(page, msg)
            elif hub is None:  # listen, input: audio from the page
                raise ProtocolError("unavailable", self.unavailable.audio)
            else:
                hub.on_message(page, msg)
        except ProtocolError as exc:
            self.send(page, Outgoing(Error(exc.code, exc.message).to_wire()))
