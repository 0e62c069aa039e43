"""Speech end -> painted on the page: the latency record made when a page acknowledges
rendering a card or a final caption (README.md, "Latency"). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LatencyOrigin:
    """Pipeline timestamps (monotonic) of a card or final caption, for the latency
    record made when the page acknowledges rendering it."""

    kind: str  # "card" | "caption"
    speech_end_wall: float | None  # None: a card caused by silence, not speech
    final_wall: float | None
    suggestion_wall: float | None
    received_wall: float  # when the server's handler got the event


def _diff(later: float | None, earlier: float | None) -> float | None:
    return None if later is None or earlier is None else round(later - earlier, 4)


def latency_record(
    origin: LatencyOrigin, item_id: str, client: int, sent: float, now: float, render_ms: float
) -> dict[str, Any]:
    """Latency, two ways (README.md, "Latency"): server clock at the ack's arrival
    (includes the ack's trip back, well under a millisecond on loopback), and the
    server's send time plus the page's own receive-to-paint delay."""
    render_s = render_ms / 1000.0
    start = origin.speech_end_wall
    upstream = origin.suggestion_wall or origin.final_wall
    return {
        "kind": origin.kind,
        "id": item_id,
        "client": client,
        "speech_end_to_final_s": _diff(origin.final_wall, start),
        "final_to_suggestion_s": _diff(origin.suggestion_wall, origin.final_wall),
        "to_server_s": _diff(origin.received_wall, upstream),
        "server_to_sent_s": _diff(sent, origin.received_wall),
        "sent_to_ack_s": _diff(now, sent),
        "page_render_s": round(render_s, 4),
        "speech_end_to_rendered_s": _diff(now, start),
        "speech_end_to_rendered_page_s": (
            None if start is None else round(sent - start + render_s, 4)
        ),
    }
