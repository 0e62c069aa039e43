"""What the overlay shows, kept from pipeline events. No I/O, no threads.

``OverlayState`` turns each pipeline event into the protocol messages to broadcast,
and remembers enough (recent captions, active cards, latest metrics and status) to
give a page that connects mid-call a complete snapshot. The server owns one and only
touches it from its event loop thread.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from assistant.events import (
    CardAction,
    CardFeedback,
    CardRemoved,
    ConversationMetrics,
    Event,
    FinalTranscript,
    PartialTranscript,
    PipelineState,
    SilenceTick,
    Status,
    Suggestion,
    TranscriptRevision,
    is_final_text,
)
from assistant.server.lag import BehindClock
from assistant.server.latency import LatencyOrigin
from assistant.server.protocol import (
    PROTOCOL_VERSION,
    Caption,
    Card,
    CardClosed,
    CloseReason,
    Feedback,
    Metrics,
    ProtocolError,
    ServerMessage,
    Snapshot,
    StatusMsg,
    payload,
)

# Cards are at least 45 s apart (playbook min_gap_s); a minute is enough to read one
# and act on it in the next exchange, after which the moment has passed.
CARD_TTL_S = 60.0
# The stack is glanceable only while short; a fourth card pushes the oldest out.
MAX_ACTIVE_CARDS = 3
# Finals in a snapshot: a screenful of captions at 360x480.
RECENT_CAPTIONS = 12
# Ticks arrive 4/s (and hundreds/s in fast replay). Two metrics a second keep the
# talk meter live; the page interpolates the silence timer in between.
METRICS_INTERVAL_S = 0.5
# Ids remembered for feedback and latency acks: far more than one call's cards and
# a few minutes of captions, bounded for day-long sessions.
KNOWN_IDS_MAX = 512
# While behind, the "Behind N s" figure is refreshed at most this often.
BEHIND_REFRESH_S = 1.0


@dataclass
class _ActiveCard:
    suggestion: Suggestion
    shown_wall: float
    expires_wall: float


def _r(value: float) -> float:
    return round(value, 4)


def _caption(
    event: PartialTranscript | FinalTranscript | TranscriptRevision,
    text: str,
    final: bool,
    stable: int,
    lat: dict[str, float] | None = None,
) -> Caption:
    """A caption for one utterance: partials and committed pieces share its id, so
    each replaces the last on the page."""
    return Caption(
        f"u{event.utterance_id}",
        event.speaker.value,
        text,
        final,
        _r(event.start_s),
        _r(event.end_s),
        lat,
        stable,
    )


class OverlayState:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        card_ttl_s: float = CARD_TTL_S,
        max_cards: int = MAX_ACTIVE_CARDS,
        metrics_interval_s: float = METRICS_INTERVAL_S,
    ) -> None:
        self._clock = clock
        self._card_ttl_s = card_ttl_s
        self._max_cards = max_cards
        self._metrics_interval_s = metrics_interval_s
        # The coach's latest figures (talk, silence, monologue), and the stream clock.
        self._frame: ConversationMetrics | None = None
        self._now_s = 0.0
        # A final was captioned: the coach's frame that follows it goes out at once.
        self._frame_due = False
        self._finals: deque[Caption] = deque(maxlen=RECENT_CAPTIONS)
        # The open utterance per speaker: its caption so far and its committed text.
        self._partials: dict[str, Caption] = {}
        self._committed: dict[str, tuple[int, str]] = {}
        self._cards: OrderedDict[str, _ActiveCard] = OrderedDict()
        self._known_cards: OrderedDict[str, _ActiveCard] = OrderedDict()
        self._feedback_given: set[tuple[str, str]] = set()
        self._origins: OrderedDict[str, LatencyOrigin] = OrderedDict()
        # The last final text shown: a card the coach raised on it takes its timing.
        self._last_final: FinalTranscript | TranscriptRevision | None = None
        self._metrics: Metrics | None = None
        self._metrics_sent_wall = -1e9
        self._asr_lag_s = 0.0
        self._queue_lag_s = 0.0
        self._behind = BehindClock()
        self.model = ""
        self.devices: list[str] = []
        self._status = StatusMsg(PipelineState.STARTING, "", "", [])
        self.summary: str | None = None  # the call summary's path, once published

    # -- pipeline events -------------------------------------------------------------

    def on_event(self, event: Event) -> list[ServerMessage]:
        """Messages to broadcast for one pipeline event (often none)."""
        now = self._clock()
        self._behind.on_event(event, now)
        if isinstance(event, PartialTranscript):
            caption = _caption(event, event.text, False, event.stable_chars)
            self._partials[caption.speaker] = caption
            return [caption]
        if isinstance(event, (FinalTranscript, TranscriptRevision)):
            return self._on_final(event, now)
        if isinstance(event, SilenceTick):
            self._now_s = max(self._now_s, event.now_s)
            self._queue_lag_s = max(0.0, now - event.wall)
            return self._behind_changed(now)
        if isinstance(event, ConversationMetrics):
            self._frame = event
            self._now_s = max(self._now_s, event.now_s)
            force, self._frame_due = self._frame_due, False
            return self._metrics_if_due(now, force) or self._behind_changed(now)
        if isinstance(event, Suggestion):
            return self._on_suggestion(event, now)
        if isinstance(event, Status):
            if event.state is PipelineState.LISTENING and event.lag_s > 0:
                # ~30 lag reports a second while behind: they feed the "behind"
                # figure in the metrics (latest wins) instead of each becoming a
                # status frame for every page.
                return self._behind_changed(now)
            return self._on_status(event)
        return []

    def _behind_changed(self, now: float) -> list[ServerMessage]:
        """Metrics now if the page's "Behind" chip should appear, go, or move."""
        shown = self._metrics.lag.get("behind_s", 0.0) if self._metrics is not None else 0.0
        behind = self._behind.behind_s(now)
        due = (shown > 0) != (behind > 0) or (
            behind > 0 and now - self._metrics_sent_wall >= BEHIND_REFRESH_S
        )
        return self._metrics_if_due(now, force=True) if due else []

    def _on_final(
        self, event: FinalTranscript | TranscriptRevision, now: float
    ) -> list[ServerMessage]:
        """A committed piece grows the utterance's caption; its final text (its one
        final, or the revision after its pieces) replaces it and makes it final (an
        empty one takes it off the page)."""
        self._last_final = event
        done = is_final_text(event)
        speaker = event.speaker.value
        uid, so_far = self._committed.get(speaker, (event.utterance_id, ""))
        if uid != event.utterance_id or isinstance(event, TranscriptRevision):
            so_far = ""
        text = f"{so_far} {event.text}".strip() if event.text.strip() else so_far
        if uid == event.utterance_id and done:
            self._committed.pop(speaker, None)
            self._partials.pop(speaker, None)
        elif not done:
            self._committed[speaker] = (event.utterance_id, text)
        if not text and not isinstance(event, TranscriptRevision):
            return []
        if event.text.strip():
            self._now_s = max(self._now_s, event.end_s)
        self._asr_lag_s = max(0.0, event.latency_s)
        lat = {"final_s": _r(event.latency_s), "queued_s": _r(now - event.decoded_wall)}
        caption = _caption(event, text, done, len(text), lat)
        if done:
            kept = [c for c in self._finals if c.id != caption.id]
            self._finals.clear()
            self._finals.extend([*kept, caption] if text else kept)
            origin = LatencyOrigin("caption", event.speech_end_wall, event.decoded_wall, None, now)
            self._remember(caption.id, origin)
        else:
            self._partials[speaker] = caption
        # A final changes the talk times: the meter moves with the coach's next frame
        # (right behind this final), not at the next tick.
        self._frame_due = True
        return [caption, *self._behind_changed(now)]

    def _on_suggestion(self, event: Suggestion, now: float) -> list[ServerMessage]:
        final = self._last_final
        # The engine answers the final it was fed before anything else is dispatched,
        # so a speech-caused card belongs to the last final.
        final_wall = (
            final.decoded_wall
            if final is not None and event.speech_end_wall == final.speech_end_wall
            else None
        )
        lat: dict[str, float] = {"queued_s": _r(now - event.created_wall)}
        if event.speech_end_wall is not None and final_wall is not None:
            lat["final_s"] = _r(final_wall - event.speech_end_wall)
            lat["suggestion_s"] = _r(event.created_wall - final_wall)
        active = _ActiveCard(event, now, now + self._card_ttl_s)
        self._cards[event.id] = active
        self._known_cards[event.id] = active
        while len(self._known_cards) > KNOWN_IDS_MAX:
            self._known_cards.popitem(last=False)
        self._remember(
            event.id,
            LatencyOrigin("card", event.speech_end_wall, final_wall, event.created_wall, now),
        )
        out: list[ServerMessage] = [self._card_message(active, now, lat)]
        while len(self._cards) > self._max_cards:
            old_id, _ = self._cards.popitem(last=False)
            out.append(CardClosed(old_id, CloseReason.REPLACED))
        return out

    def _on_status(self, event: Status) -> list[ServerMessage]:
        # The same status again (pause spam from several pages) is news to nobody.
        if (event.state, event.detail) == (self._status.state, self._status.detail):
            return []
        self._status = StatusMsg(
            event.state,
            event.detail,
            self.model,
            list(self.devices),
            event.dropped_partials,
            _r(event.dropped_audio_s),
            self.summary,
        )
        return [self._status]

    def publish_summary(self, path: str) -> StatusMsg:
        """The call summary is ready at ``path``: the status that links to it."""
        self.summary = path
        self._status = replace(
            self._status, summary=path, model=self.model, devices=list(self.devices)
        )
        return self._status

    def _metrics_if_due(self, now: float, force: bool) -> list[ServerMessage]:
        frame = self._frame
        silence = frame.silence_s if frame is not None else 0.0
        was_silent = self._metrics is not None and self._metrics.silence_s > 0
        # Someone starting or stopping talking is worth a message at once (the silence
        # timer must reset immediately); otherwise at most every interval.
        changed = was_silent != (silence > 0)
        if not force and not changed and now - self._metrics_sent_wall < self._metrics_interval_s:
            return []
        self._metrics = Metrics(
            now_s=_r(frame.now_s if frame is not None else self._now_s),
            silence_s=_r(silence),
            talk_s={} if frame is None else {sp.value: _r(s) for sp, s in frame.talk_s.items()},
            # Before the coach's first frame (a server fed without one) there is no
            # window yet.
            window_s=frame.window_s if frame is not None else 0.0,
            monologue=None
            if frame is None or frame.monologue is None
            else {
                "speaker": frame.monologue.value,
                "duration_s": _r(frame.monologue_s),
                "warn_s": frame.monologue_warn_s,
            },
            lag={
                "asr_s": _r(self._asr_lag_s),
                "queue_s": _r(self._queue_lag_s),
                "behind_s": _r(self._behind.behind_s(now)),
            },
        )
        self._metrics_sent_wall = now
        return [self._metrics]

    # -- cards -----------------------------------------------------------------------

    def _card_message(
        self, active: _ActiveCard, now: float, lat: dict[str, float] | None = None
    ) -> Card:
        s = active.suggestion
        return Card(
            s.id,
            s.prompt,
            s.why,
            s.source,
            s.severity,
            s.trigger,
            _r(s.at_s),
            _r(max(0.0, active.expires_wall - now)),
            lat,
        )

    def expire(self) -> list[ServerMessage]:
        """Close cards whose time is up, and say so when the pipeline has caught up
        with real time (the server calls this about once a second)."""
        now = self._clock()
        gone = [cid for cid, card in self._cards.items() if card.expires_wall <= now]
        for cid in gone:
            del self._cards[cid]
        out: list[ServerMessage] = [CardClosed(cid, CloseReason.EXPIRED) for cid in gone]
        # While transcription is behind, no ticks come (the silence clock waits for
        # the late final): this timer is what shows and moves the "Behind" chip.
        return out + self._behind_changed(now)

    def feedback(self, msg: Feedback) -> tuple[CardFeedback | None, list[ServerMessage]]:
        """Apply the page's dismiss/helpful. Returns the outcome for the session
        (None for a repeat, so one card yields at most one per action) and messages
        to broadcast. Only ids the server issued are accepted: the outcome holds
        nothing the client typed."""
        known = self._known_cards.get(msg.card_id)
        if known is None:
            raise ProtocolError("unknown_card", "no such card (it may be too old)")
        out: list[ServerMessage] = []
        if self._cards.pop(msg.card_id, None) is not None:
            out.append(CardClosed(msg.card_id, CloseReason(msg.action.value)))
        if (msg.card_id, msg.action) in self._feedback_given:
            return None, out
        self._feedback_given.add((msg.card_id, msg.action))
        outcome = CardFeedback(
            card_id=msg.card_id,
            trigger=known.suggestion.trigger,
            action=CardAction(msg.action.value),
            at_s=_r(self._now_s),
            after_s=_r(self._clock() - known.shown_wall),
            time=datetime.now().astimezone().isoformat(timespec="milliseconds"),
        )
        return outcome, out

    def closed(self, msg: CardClosed) -> CardRemoved:
        """A card the overlay closed by itself (expired or replaced), for the
        session: the coach's overlay is free, and the report can say what became of
        every card."""
        known = self._known_cards.get(msg.id)
        return CardRemoved(
            card_id=msg.id,
            trigger=known.suggestion.trigger if known else None,
            reason=CardAction(msg.reason.value),
            at_s=_r(self._now_s),
            time=datetime.now().astimezone().isoformat(timespec="milliseconds"),
        )

    # -- snapshot and latency --------------------------------------------------------

    def snapshot(self, server: str) -> Snapshot:
        now = self._clock()
        captions = [payload(c) for c in self._finals]
        captions += [payload(c) for c in self._partials.values()]
        cards = [payload(self._card_message(c, now)) for c in self._cards.values()]
        metrics = payload(self._metrics) if self._metrics is not None else None
        # Model and devices may have been described after the last status event.
        status = payload(replace(self._status, model=self.model, devices=list(self.devices)))
        limits = {"max_cards": self._max_cards, "card_ttl_s": self._card_ttl_s}
        return Snapshot(PROTOCOL_VERSION, server, captions, cards, metrics, status, limits)

    def _remember(self, item_id: str, origin: LatencyOrigin) -> None:
        self._origins[item_id] = origin
        while len(self._origins) > KNOWN_IDS_MAX:
            self._origins.popitem(last=False)

    def origin(self, item_id: str) -> LatencyOrigin | None:
        return self._origins.get(item_id)
