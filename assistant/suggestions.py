"""Suggestion engine: transcript events in, detector signals and reset cards out.

    engine = SuggestionEngine(load_playbook("sales-call"))
    for event in events:            # FinalTranscript | SilenceTick
        for out in engine.feed(event):  # Signal | Suggestion
            ...

Runs on every final transcript *and* every silence tick, so dead air is caught
while it is happening. All policy (cooldowns, de-duplication, a cap on cards per
minute) is on the stream clock, so a replayed call gets the same cards as a live one.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from assistant.conversation import ConversationState, Scorer
from assistant.detectors import Context, Detector, Mode, Roles, detectors_for, run_detectors
from assistant.events import Event, FinalTranscript, Signal, SilenceTick, Suggestion
from assistant.playbook import Playbook, Rule

# Remembered (detector, episode) pairs; far more than one call produces in the
# windows that matter, and bounded so a day-long session cannot grow without limit.
SEEN_EPISODES_MAX = 5000
CARD_RATE_WINDOW_S = 60.0


@dataclass(frozen=True)
class _Candidate:
    rule: Rule
    signal: Signal
    prompt: str


class SuggestionEngine:
    """Conversation state + detectors + playbook policy for one call."""

    def __init__(
        self,
        playbook: Playbook,
        mode: Mode | None = None,
        scorer: Scorer | None = None,
        detectors: tuple[Detector, ...] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if scorer is None:
            from assistant.sentiment import default_model  # loads weights on first use

            scorer = default_model()
        self.playbook = playbook
        self.mode = mode or playbook.mode
        self.roles = Roles.for_mode(self.mode)
        self.state = ConversationState(scorer=scorer)
        self._detectors = detectors if detectors is not None else detectors_for(self.mode)
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._cards_at: deque[float] = deque()
        self._last_by_trigger: dict[str, float] = {}
        self._prompt_shown_at: dict[str, float] = {}
        self._rotation: dict[str, int] = {}
        self._count = 0

    def feed(self, event: Event) -> list[Signal | Suggestion]:
        """Update the state with one event; return new signals, then any suggestion."""
        speech_end_wall: float | None = None
        if isinstance(event, FinalTranscript):
            if not event.text.strip():
                return []
            utterance = self.state.add_final(event)
            speech_end_wall = event.speech_end_wall
        elif isinstance(event, SilenceTick):
            self.state.tick(event)
            utterance = None
        else:
            return []
        ctx = Context(self.state, self.roles, utterance)
        signals = [s for s in run_detectors(ctx, self._detectors) if self._first_time(s)]
        out: list[Signal | Suggestion] = list(signals)
        card = self._choose(signals, speech_end_wall)
        if card is not None:
            out.append(card)
        return out

    # -- policy ----------------------------------------------------------------------

    def _first_time(self, signal: Signal) -> bool:
        key = (signal.detector, str(signal.evidence.get("episode", signal.at_s)))
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_EPISODES_MAX:
            self._seen.popitem(last=False)
        return True

    def _choose(self, signals: list[Signal], speech_end_wall: float | None) -> Suggestion | None:
        now = self.state.now_s
        if not signals or not self._rate_allows(now):
            return None
        candidates = [c for s in signals if (c := self._candidate(s, now)) is not None]
        if not candidates:
            return None
        # One card per event: the most severe, then the most confident.
        best = max(candidates, key=lambda c: (c.rule.severity.rank, c.signal.confidence))
        return self._emit(best, now, speech_end_wall)

    def _rate_allows(self, now: float) -> bool:
        while self._cards_at and now - self._cards_at[0] >= CARD_RATE_WINDOW_S:
            self._cards_at.popleft()
        if len(self._cards_at) >= self.playbook.limits.max_cards_per_minute:
            return False
        return not self._cards_at or now - self._cards_at[-1] >= self.playbook.limits.min_gap_s

    def _candidate(self, signal: Signal, now: float) -> _Candidate | None:
        for rule in self.playbook.rules_for(signal.detector):
            if signal.confidence < rule.min_confidence or not rule.matches(signal.evidence):
                continue
            last = self._last_by_trigger.get(signal.detector)
            if last is not None and now - last < rule.cooldown_s:
                return None
            prompt = self._next_prompt(rule, now)
            if prompt is not None:
                return _Candidate(rule, signal, prompt)
        return None

    def _next_prompt(self, rule: Rule, now: float) -> str | None:
        """The rule's next prompt in rotation that was not shown recently."""
        start = self._rotation.get(rule.trigger + "|" + ",".join(rule.categories), 0)
        window = self.playbook.limits.repeat_prompt_after_s
        for k in range(len(rule.prompts)):
            prompt = rule.prompts[(start + k) % len(rule.prompts)]
            shown = self._prompt_shown_at.get(prompt)
            if shown is None or now - shown >= window:
                return prompt
        return None

    def _emit(self, chosen: _Candidate, now: float, speech_end_wall: float | None) -> Suggestion:
        rule, signal = chosen.rule, chosen.signal
        rotation_key = rule.trigger + "|" + ",".join(rule.categories)
        self._rotation[rotation_key] = rule.prompts.index(chosen.prompt) + 1
        self._prompt_shown_at[chosen.prompt] = now
        self._last_by_trigger[rule.trigger] = now
        self._cards_at.append(now)
        self._count += 1
        evidence = dict(signal.evidence)
        evidence.update(
            detector=signal.detector,
            speaker=signal.speaker.value,
            confidence=signal.confidence,
        )
        return Suggestion(
            id=f"s{self._count}-{rule.trigger}",
            trigger=rule.trigger,
            prompt=chosen.prompt,
            why=rule.why,
            source=rule.source.cite(),
            severity=rule.severity.value,
            at_s=signal.at_s,
            evidence=evidence,
            created_wall=self._clock(),
            speech_end_wall=speech_end_wall,
        )
