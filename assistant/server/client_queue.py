"""One overlay client's bounded send queue, with the drop policy in one place. Pure.

websockets' ``broadcast()`` has no backpressure, and awaiting each client's ``send``
in turn would let one stalled page hold up everyone. So every client gets its own
queue and sender task, and the queue decides what gives when the client falls
behind:

1. A newer message with the same ``key`` replaces the queued one (only the latest
   partial caption per speaker and the latest metrics matter).
2. A final caption removes the queued partial it ``supersedes``.
3. When the queue is full, the oldest droppable message (partial or metrics) goes.
4. When it is full of messages that must not be dropped (finals, cards, status,
   errors), :meth:`put` returns False and the server disconnects the client; the
   page reconnects and gets a fresh snapshot instead of a gap.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from assistant.server.protocol import Caption, Card, Metrics, ServerMessage

# Enough for a burst (a snapshot, a few finals and a card arriving together) with
# room to spare, small enough that a page this far behind is better off starting
# over from a snapshot.
CLIENT_QUEUE_MAX = 256


@dataclass(frozen=True)
class Outgoing:
    """One serialised frame waiting for a client."""

    text: str
    droppable: bool = False
    key: str | None = None  # a newer message with the same key replaces this one
    supersedes: str | None = None  # the key of a queued message this one makes stale
    track_id: str | None = None  # card/caption id whose send time feeds latency


class ClientQueue:
    def __init__(self, max_items: int = CLIENT_QUEUE_MAX) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self._items: deque[Outgoing] = deque()
        self.dropped = 0  # droppable messages removed or replaced (the policy's tally)

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Outgoing) -> bool:
        """Queue ``item``; False means the client cannot keep up (disconnect it)."""
        for stale in (item.supersedes, item.key):
            if stale is not None:
                self._remove_key(stale)
        if len(self._items) >= self.max_items and not self._drop_oldest_droppable():
            return False
        self._items.append(item)
        return True

    def pop(self) -> Outgoing | None:
        return self._items.popleft() if self._items else None

    def _remove_key(self, key: str) -> None:
        for queued in self._items:
            if queued.key == key:
                self._items.remove(queued)
                self.dropped += 1
                return  # keys are unique in the queue: put() removes before adding

    def _drop_oldest_droppable(self) -> bool:
        for queued in self._items:
            if queued.droppable:
                self._items.remove(queued)
                self.dropped += 1
                return True
        return False


def outgoing(msg: ServerMessage) -> Outgoing:
    """Attach the drop policy to a message: captions still in progress (the newest
    per utterance) and metrics may be replaced or dropped; finals, cards and the
    rest never are."""
    text = msg.to_wire()
    if isinstance(msg, Caption):
        # Per utterance: its captions are cumulative (committed pieces and all), so
        # only the newest matters, and one utterance never replaces another's.
        key = f"caption:{msg.id}"
        if msg.final:
            return Outgoing(text, supersedes=key, track_id=msg.id)
        return Outgoing(text, droppable=True, key=key)
    if isinstance(msg, Metrics):
        return Outgoing(text, droppable=True, key="metrics")
    if isinstance(msg, Card):
        return Outgoing(text, track_id=msg.id)
    return Outgoing(text)
