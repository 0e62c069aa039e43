"""The manager's live view, as data: one row per call, most urgent first. Pure.

Urgency is what a manager watching a floor of calls should look at first, scored
so that the reasons can be shown beside it:

* a card on screen, by its severity (``alert`` > ``warn`` > ``info``): the coach
  has already seen the call stall;
* dead air growing (the silence clock past ``SILENCE_S``);
* a rep holding the floor (their share of talk past ``TALK_SHARE``: 65 % is where
  the published sales-call benchmarks put lost deals);
* stalls so far (cards shown in this call);
* transcription slow or behind (the coaching is late on this call).

Live calls come before calls still waiting for Listen, which come before ended
ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.team.stats import CallFigures

SEVERITY_SCORE = {"alert": 100.0, "warn": 60.0, "info": 30.0}
SILENCE_S = 5.0  # the dead-air-after-question threshold of the sales playbook
SILENCE_PER_S = 3.0
SILENCE_MAX = 50.0
TALK_SHARE = 0.65
TALK_PER_POINT = 1.0  # score per percentage point over the line
# Talk shares mean little before this much speech.
TALK_MIN_S = 20.0
STALL_SCORE = 5.0
SLOW_SCORE = 10.0
BEHIND_S = 1.0
_ORDER = {"live": 0, "waiting": 1, "ended": 2}


@dataclass(frozen=True)
class CallRow:
    """What the board needs of one call (built by the server from a ``Call``)."""

    call: str
    rep: str
    name: str
    state: str  # "waiting" | "live" | "ended"
    duration_s: float
    figures: CallFigures
    own: str  # the coached speaker ("rep"; "manager" in a coaching 1:1)
    watch: str  # the read-only overlay's address
    started: float | None = None
    end_reason: str = ""
    error: str | None = None


def urgency(row: CallRow) -> tuple[float, list[str]]:
    """A score (higher: look first) and the reasons behind it, in words."""
    if row.state != "live":
        return 0.0, []
    f = row.figures
    score, why = 0.0, []
    if f.cards:
        top = max(f.cards, key=lambda c: SEVERITY_SCORE.get(c.severity, 0.0))
        score += SEVERITY_SCORE.get(top.severity, 0.0)
        why.append(f"card: {top.trigger} ({top.severity})")
    if f.silence_s >= SILENCE_S:
        score += min(SILENCE_MAX, (f.silence_s - SILENCE_S + 1) * SILENCE_PER_S)
        why.append(f"silence {f.silence_s:.0f} s")
    share = own_share(row)
    if share is not None and share > TALK_SHARE:
        score += (share - TALK_SHARE) * 100 * TALK_PER_POINT
        why.append(f"{row.own} talks {share * 100:.0f} %")
    if f.stalls:
        score += f.stalls * STALL_SCORE
        why.append(f"{f.stalls} stall{'s' if f.stalls != 1 else ''}")
    if f.slow or f.behind_s >= BEHIND_S:
        score += SLOW_SCORE
        why.append("transcription slow" if f.slow else f"behind {f.behind_s:.1f} s")
    return round(score, 1), why


def own_share(row: CallRow) -> float | None:
    talk = row.figures.talk_s
    total = sum(talk.values())
    if total < TALK_MIN_S:
        return None
    return talk.get(row.own, 0.0) / total


def board(rows: list[CallRow]) -> dict[str, Any]:
    """The view's JSON: calls most urgent first."""
    scored = [(row, *urgency(row)) for row in rows]
    scored.sort(key=lambda t: (_ORDER.get(t[0].state, 3), -t[1], -(t[0].started or 0.0)))
    return {"calls": [_row(row, score, why) for row, score, why in scored]}


def _row(row: CallRow, score: float, why: list[str]) -> dict[str, Any]:
    f = row.figures
    share = own_share(row)
    card = max(f.cards, key=lambda c: (SEVERITY_SCORE.get(c.severity, 0.0), c.at_s), default=None)
    return {
        "call": row.call,
        "rep": row.rep,
        "name": row.name,
        "state": row.state,
        "duration_s": round(row.duration_s, 1),
        "talk_s": {k: round(v, 1) for k, v in f.talk_s.items()},
        "own": row.own,
        "own_share": None if share is None else round(share, 3),
        "silence_s": round(f.silence_s, 1),
        "card": None
        if card is None
        else {"trigger": card.trigger, "severity": card.severity, "prompt": card.prompt},
        "stalls": f.stalls,
        "stalls_by_trigger": dict(f.stalls_by_trigger),
        "slow": f.slow,
        "slow_detail": f.slow_detail,
        "behind_s": round(f.behind_s, 1),
        "pipeline": f.state,
        "detail": row.error or f.detail,
        "end_reason": row.end_reason,
        "urgency": score,
        "why": why,
        "watch": row.watch,
    }
