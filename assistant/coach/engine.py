"""Suggestion engine: transcript events in, detector signals and reset cards out.

    engine = SuggestionEngine(load_playbook("sales-call"))
    for event in events:            # final text | SilenceTick
        for out in engine.feed(event):  # Signal | Suggestion
            ...

Runs on every utterance's final text (``is_final_text``: its one
``FinalTranscript`` or its ``TranscriptRevision``) *and* every silence tick, so dead
air is caught while it is happening. Pieces committed while someone speaks are
ignored: they depend on when decodes ran, and the same audio must give the same
cards in real time, in fast replay and on a loaded machine. All policy (pacing,
cooldowns, de-duplication, a cap on cards per minute) is on the stream clock, so a
replayed call gets the same cards as a live one.

Pacing puts the most useful card first (the playbook's ``[pacing]``): when signals
collide on one event the most important wins (severity, then urgency, then
confidence); a card then holds the overlay for ``min_gap_s`` unless a more severe one
replaces it, or its moment passes (an ``urgency = "now"`` card the coached speaker has
answered by speaking).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from assistant.coach.conversation import ConversationState, Scorer
from assistant.coach.detectors import Context, Detector, Mode, Roles, detectors_for, run_detectors
from assistant.coach.playbook import Playbook, Rule, Urgency
from assistant.events import (
    CardAction,
    CardFeedback,
    CardRemoved,
    Event,
    FinalTranscript,
    Signal,
    SilenceTick,
    Speaker,
    Suggestion,
    TranscriptRevision,
    is_final_text,
)

# Remembered (detector, episode) pairs; far more than one call produces in the
# windows that matter, and bounded so a day-long session cannot grow without limit.
SEEN_EPISODES_MAX = 5000
CARD_RATE_WINDOW_S = 60.0


@dataclass(frozen=True)
class _Candidate:
    rule: Rule
    signal: Signal
    prompt: str
    category: str  # the signal's category the rule matched ("" when none)

    @property
    def importance(self) -> tuple[int, int, float]:
        return (self.rule.severity.rank, self.rule.urgency.rank, self.signal.confidence)


@dataclass
class _Shown:
    """The last card shown, and whether its moment has passed."""

    card_id: str
    at_s: float
    severity_rank: int
    urgency: Urgency
    utterance: tuple[Speaker, int] | None  # the final that caused it (None: a silence)
    answered: bool = False


# How long a signal that pacing held back stays eligible for a card: past that its
# moment has gone, and a late card is worse than none.
HOLD_S = 6.0
# A rule whose card the user dismissed keeps quiet this many times its cooldown: the
# user has said the prompt does not help here, and the same card again is a nag.
DISMISSED_COOLDOWN_FACTOR = 3.0
# Cards remembered for the outcomes the overlay reports (far more than can be shown).
CARDS_REMEMBERED = 256


def _episode(evidence: dict, signal: Signal | None = None) -> tuple[str, str]:
    """(detector, episode): one occurrence of a condition."""
    detector = evidence.get("detector", signal.detector if signal else "")
    at = signal.at_s if signal else evidence.get("at_s", "")
    return (str(detector), str(evidence.get("episode", at)))


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
            from assistant.coach.sentiment import default_model  # loads weights on first use

            scorer = default_model()
        self.playbook = playbook
        self.mode = mode or playbook.mode
        self.roles = Roles.for_mode(self.mode)
        self.state = ConversationState(scorer=scorer)
        self._detectors = detectors if detectors is not None else detectors_for(self.mode)
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._cards_at: deque[float] = deque()
        self._shown: _Shown | None = None
        self._last_by_rule: dict[str, float] = {}
        # card id -> its rule's key, for what the overlay says became of the card
        self._card_rules: OrderedDict[str, str] = OrderedDict()
        self._quiet_until: dict[str, float] = {}
        self._prompt_shown_at: dict[str, float] = {}
        self._rotation: dict[str, int] = {}
        self._count = 0
        self._held: dict[tuple[str, str], tuple[Signal, float]] = {}

    def on_card_outcome(self, outcome: CardFeedback | CardRemoved) -> None:
        """What became of a card on the overlay. Gone (dismissed, expired, replaced):
        the overlay is free for the next card at once. Dismissed: its rule keeps quiet
        for ``DISMISSED_COOLDOWN_FACTOR`` times its cooldown."""
        shown = self._shown
        helpful = isinstance(outcome, CardFeedback) and outcome.action is CardAction.HELPFUL
        if shown is not None and shown.card_id == outcome.card_id and not helpful:
            self._shown = None
        if not isinstance(outcome, CardFeedback) or outcome.action is not CardAction.DISMISS:
            return
        key = self._card_rules.get(outcome.card_id)
        rule = next((r for r in self.playbook.rules if r.key == key), None)
        if rule is not None:
            until = outcome.at_s + DISMISSED_COOLDOWN_FACTOR * rule.cooldown_s
            self._quiet_until[rule.key] = max(self._quiet_until.get(rule.key, 0.0), until)

    def feed(self, event: Event) -> list[Signal | Suggestion]:
        """Update the state with one event; return new signals, then any suggestion."""
        speech_end_wall: float | None = None
        if isinstance(event, (FinalTranscript, TranscriptRevision)):
            if not is_final_text(event) or not event.text.strip():
                return []
            utterance = self.state.add_final(event)
            speech_end_wall = event.speech_end_wall
            shown = self._shown
            if shown is not None and event.speaker == self.roles.coached:
                # They spoke after the card appeared: they have read it, or moved on.
                shown.answered = shown.answered or utterance.start_s >= shown.at_s
        elif isinstance(event, SilenceTick):
            self.state.tick(event)
            utterance = None
        else:
            return []
        ctx = Context(self.state, self.roles, utterance)
        signals = [s for s in run_detectors(ctx, self._detectors) if self._first_time(s)]
        out: list[Signal | Suggestion] = list(signals)
        about = None if utterance is None else (utterance.speaker, utterance.utterance_id)
        card = self._choose(signals, speech_end_wall, about)
        if card is None:
            # A moment that pacing held back a second ago may still deserve its card
            # once the one showing has been read ("but" right after an objection card).
            card = self._choose(self._still_held(), None, None)
        if card is not None:
            out.append(card)
        self._hold(signals, card)
        return out

    def _hold(self, signals: list[Signal], card: Suggestion | None) -> None:
        """Keep new signals for a few seconds, so that one pacing held back can still
        get its card while its moment lasts (a long turn now arrives in pieces, so a
        signal often comes while the card before it is still being read). A card
        settles every held signal of its detector: the moment has had its card."""
        now = self.state.now_s
        for signal in signals:
            self._held[_episode(signal.evidence, signal)] = (signal, now + HOLD_S)
        if card is not None:
            detector = str(card.evidence.get("detector", card.trigger))
            for key in [k for k in self._held if k[0] == detector]:
                del self._held[key]

    def _still_held(self) -> list[Signal]:
        now = self.state.now_s
        for key in [k for k, (_, until) in self._held.items() if until < now]:
            del self._held[key]
        return [signal for signal, _ in self._held.values()]

    # -- policy ----------------------------------------------------------------------

    def _first_time(self, signal: Signal) -> bool:
        key = _episode(signal.evidence, signal)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_EPISODES_MAX:
            self._seen.popitem(last=False)
        return True

    def _choose(
        self,
        signals: list[Signal],
        speech_end_wall: float | None,
        about: tuple[Speaker, int] | None,
    ) -> Suggestion | None:
        now = self.state.now_s
        if not signals or not self._under_cap(now):
            return None
        candidates = [c for s in signals if (c := self._candidate(s, now)) is not None]
        # One card per event: the most important that pacing lets through.
        for best in sorted(candidates, key=lambda c: c.importance, reverse=True):
            reason = self._pacing_allows(best, now, about)
            if reason is not None:
                return self._emit(best, now, speech_end_wall, reason, about)
        return None

    def _under_cap(self, now: float) -> bool:
        while self._cards_at and now - self._cards_at[0] >= CARD_RATE_WINDOW_S:
            self._cards_at.popleft()
        return len(self._cards_at) < self.playbook.limits.max_cards_per_minute

    def _pacing_allows(
        self, candidate: _Candidate, now: float, about: tuple[Speaker, int] | None
    ) -> str | None:
        """Why ``candidate`` may show now (None: the card showing keeps the overlay)."""
        shown, pacing = self._shown, self.playbook.pacing
        if shown is None:
            return "first card"
        since = now - shown.at_s
        if since >= self.playbook.limits.min_gap_s:
            return "overlay free"
        more_severe = (
            pacing.replace_with_more_severe and candidate.rule.severity.rank > shown.severity_rank
        )
        if more_severe and about is not None and about == shown.utterance:
            # A later piece of the same turn ("we're fine with what we have" then
            # "just send me an email") corrects its card rather than adding one, so
            # the glance wait does not apply.
            return f"updates {shown.card_id}"
        if since < pacing.glance_s:
            return None
        if more_severe:
            return f"more severe than {shown.card_id}"
        if pacing.release_when_answered and shown.urgency is Urgency.NOW and shown.answered:
            return f"{shown.card_id} answered"
        return None

    def _candidate(self, signal: Signal, now: float) -> _Candidate | None:
        """The most important rule for ``signal`` that is out of cooldown and has a
        prompt not shown recently (a brush-off beats a status-quo objection)."""
        options: list[_Candidate] = []
        for rule in self.playbook.rules_for(signal.detector):
            category = rule.matched_category(signal.evidence)
            if signal.confidence < rule.min_confidence or category is None:
                continue
            last = self._last_by_rule.get(rule.key)
            if last is not None and now - last < rule.cooldown_s:
                continue
            if now < self._quiet_until.get(rule.key, 0.0):
                continue  # the user dismissed this rule's card
            prompt = self._next_prompt(rule, now)
            if prompt is not None:
                options.append(_Candidate(rule, signal, prompt, category))
        return max(options, key=lambda c: c.importance, default=None)

    def _next_prompt(self, rule: Rule, now: float) -> str | None:
        """The rule's next prompt in rotation that was not shown recently."""
        start = self._rotation.get(rule.key, 0)
        window = self.playbook.limits.repeat_prompt_after_s
        for k in range(len(rule.prompts)):
            prompt = rule.prompts[(start + k) % len(rule.prompts)]
            shown = self._prompt_shown_at.get(prompt)
            if shown is None or now - shown >= window:
                return prompt
        return None

    def _emit(
        self,
        chosen: _Candidate,
        now: float,
        speech_end_wall: float | None,
        reason: str,
        about: tuple[Speaker, int] | None,
    ) -> Suggestion:
        rule, signal = chosen.rule, chosen.signal
        self._rotation[rule.key] = rule.prompts.index(chosen.prompt) + 1
        self._prompt_shown_at[chosen.prompt] = now
        self._last_by_rule[rule.key] = now
        self._cards_at.append(now)
        self._count += 1
        card_id = f"s{self._count}-{rule.trigger}"
        self._shown = _Shown(card_id, now, rule.severity.rank, rule.urgency, about)
        self._card_rules[card_id] = rule.key
        while len(self._card_rules) > CARDS_REMEMBERED:
            self._card_rules.popitem(last=False)
        evidence = dict(signal.evidence)
        if chosen.category:
            evidence["category"] = chosen.category
        evidence.update(
            detector=signal.detector,
            speaker=signal.speaker.value,
            confidence=signal.confidence,
            pacing=reason,
        )
        return Suggestion(
            id=card_id,
            trigger=rule.trigger,
            prompt=chosen.prompt,
            why=rule.why,
            source=rule.source.cite(),
            severity=rule.severity,
            at_s=signal.at_s,
            evidence=evidence,
            created_wall=self._clock(),
            speech_end_wall=speech_end_wall,
        )
