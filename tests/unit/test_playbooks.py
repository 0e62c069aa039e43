"""Playbook loading, validation, and the engine's anti-nag policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.coach.detectors import TRIGGERS, Mode
from assistant.coach.engine import SuggestionEngine
from assistant.coach.playbook import BUILTIN_PLAYBOOKS, PlaybookError, load_playbook
from assistant.events import Signal, Suggestion
from tests.helpers.detectors import CUSTOMER, REP, KeywordScorer, final

SEEDS = {
    "000_3780722600e64d06.txt",
    "001_82e963b2731d908a.txt",
    "002_06047c1528db99e7.txt",
    "003_0a5b712465c64881.txt",
}

MINIMAL = """
name = "mine"
mode = "sales"
[limits]
min_gap_s = 0
max_cards_per_minute = 1
default_cooldown_s = 0
repeat_prompt_after_s = 0
[sources.me]
title = "My notes"
[[rules]]
trigger = "objection"
prompts = ["Ask why."]
why = "They objected."
source = "me"
"""


@pytest.mark.parametrize("name", BUILTIN_PLAYBOOKS)
def test_builtin_playbooks_load_and_cite_seeds(name: str) -> None:
    playbook = load_playbook(name)
    assert playbook.name == name
    for rule in playbook.rules:
        assert rule.trigger in TRIGGERS[playbook.mode]
        assert rule.source.seed.split("/")[-1] in SEEDS
        assert rule.prompts and rule.why


def test_user_playbook_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    playbook = load_playbook(path)
    assert playbook.mode is Mode.SALES
    assert playbook.rules[0].source.cite() == "My notes"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('trigger = "objection"', 'trigger = "objektion"'), "unknown trigger"),
        (('source = "me"', 'source = "you"'), "not defined in [sources]"),
        (('mode = "sales"', 'mode = "retail"'), "mode must be one of"),
        (("max_cards_per_minute = 1", "max_cards_per_minute = 0"), "at least 1"),
        (('prompts = ["Ask why."]', "prompts = []"), "prompts must be"),
        (('why = "They objected."', 'why = "x"\ncolour = "red"'), "unknown field(s) colour"),
        (("[limits]", "[limits"), "not valid TOML"),
    ],
)
def test_bad_playbook_errors_name_the_problem(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace(*change), encoding="utf-8")
    with pytest.raises(PlaybookError, match="bad.toml") as info:
        load_playbook(path)
    assert message in str(info.value)


def test_missing_playbook() -> None:
    with pytest.raises(PlaybookError, match="not found"):
        load_playbook("no-such-playbook")


def _engine(text: str = MINIMAL) -> SuggestionEngine:
    from assistant.coach.playbook import parse_playbook

    try:
        import tomllib
    except ImportError:  # pragma: no cover
        import tomli as tomllib
    return SuggestionEngine(parse_playbook(tomllib.loads(text)), scorer=KeywordScorer())


def _cards(outputs: list[Signal | Suggestion]) -> list[Suggestion]:
    return [o for o in outputs if isinstance(o, Suggestion)]


def test_engine_emits_card_with_evidence_and_latency_origin() -> None:
    engine = _engine()
    outputs = engine.feed(final(CUSTOMER, 0, 2, "Just send me an email.", uid=7))
    [signal] = [o for o in outputs if isinstance(o, Signal)]
    [card] = _cards(outputs)
    assert signal.detector == card.trigger == "objection"
    assert card.prompt == "Ask why." and card.source == "My notes"
    assert card.evidence["utterances"][0]["id"] == 7
    assert card.speech_end_wall == 2 and card.created_wall > 0
    assert card.at_s == 2


def test_cards_per_minute_cap_and_gap() -> None:
    engine = _engine(MINIMAL.replace("min_gap_s = 0", "min_gap_s = 20"))
    times = [0, 10, 25, 61, 70]
    fired = [
        bool(_cards(engine.feed(final(CUSTOMER, t, t + 1, "Not interested.", uid=i))))
        for i, t in enumerate(times)
    ]
    # 10 s: inside the 20 s gap; 25 s: a second card inside one minute (cap 1);
    # 61 s: the minute has passed; 70 s: gap again.
    assert fired == [True, False, False, True, False]


def test_trigger_cooldown_and_prompt_rotation() -> None:
    text = MINIMAL.replace("default_cooldown_s = 0", "default_cooldown_s = 100").replace(
        'prompts = ["Ask why."]', 'prompts = ["Ask why.", "Just ask."]'
    )
    engine = _engine(text)
    prompts = []
    for i, t in enumerate([0, 70, 130, 240]):
        prompts += [
            c.prompt
            for c in _cards(engine.feed(final(CUSTOMER, t, t + 1, "Not interested.", uid=i)))
        ]
    assert prompts == ["Ask why.", "Just ask.", "Ask why."]


def test_repeated_signal_episode_reported_once() -> None:
    engine = _engine()
    engine.feed(final(REP, 0, 2, "What is your main goal?", uid=1))
    from assistant.events import SilenceTick

    signals = []
    for k in range(40):
        t = 2 + k * 0.25
        outs = engine.feed(SilenceTick(now_s=t, silence_s=t - 2, wall=t))
        signals += [o for o in outs if isinstance(o, Signal)]
    assert [s.detector for s in signals] == ["dead_air_after_question"]


# -- pacing: the most useful card first ------------------------------------------------

PACED = """
name = "paced"
mode = "sales"
[limits]
min_gap_s = 20
max_cards_per_minute = 4
default_cooldown_s = 0
repeat_prompt_after_s = 0
[pacing]
glance_s = 4
[sources.me]
title = "My notes"
[[rules]]
trigger = "objection"
categories = ["brush_off"]
severity = "warn"
urgency = "now"
prompts = ["Reset."]
why = "A brush-off."
source = "me"
[[rules]]
trigger = "objection"
categories = ["price", "timing", "authority", "need", "competitor"]
urgency = "now"
prompts = ["Ask why."]
why = "An objection."
source = "me"
[[rules]]
trigger = "rep_but"
prompts = ["Say and."]
why = "You said but."
source = "me"
[[rules]]
trigger = "dead_air_after_question"
severity = "warn"
urgency = "now"
prompts = ["Ask a better question."]
why = "Silence."
source = "me"
"""


class Call:
    """Feeds one engine finals and silence ticks; collects the cards."""

    def __init__(self, playbook: str = PACED) -> None:
        self.engine = _engine(playbook)
        self.cards: list[Suggestion] = []
        self._uid = 0
        self._end = 0.0

    def say(self, speaker, start: float, end: float, text: str) -> list[Suggestion]:
        from assistant.events import SilenceTick

        t = self._end
        while t + 0.25 < start:  # the silence clock between lines, as live
            t += 0.25
            self.cards += _cards(self.engine.feed(SilenceTick(t, t - self._end, t)))
        self._uid += 1
        new = _cards(self.engine.feed(final(speaker, start, end, text, uid=self._uid)))
        self.cards += new
        self._end = end
        return new


def test_more_severe_card_replaces_a_recent_info_card_after_a_glance() -> None:
    call = Call()
    [price] = call.say(CUSTOMER, 0, 3, "Honestly, it's way too expensive for us.")
    assert price.severity == "info"
    # Two seconds later: not even a glance at the first card, the brush-off waits ...
    assert call.say(CUSTOMER, 3.5, 5, "Just send me an email.") == []
    call.say(CUSTOMER, 8, 10, "Look, I'm not interested, thanks.")
    # ... and gets its card once the glance is over, while its moment lasts.
    [brush] = call.cards[1:]
    assert brush.severity == "warn" and brush.evidence["category"] == "brush_off"
    assert brush.evidence["pacing"] == f"more severe than {price.id}"
    assert brush.evidence["utterances"][-1]["text"] == "Just send me an email."
    assert brush.at_s == pytest.approx(5.0)  # the moment it belongs to
    assert len(call.cards) == 2  # the second brush-off has had its card


def test_info_card_never_blocks_a_warning() -> None:
    call = Call()
    call.say(CUSTOMER, 0, 3, "We already track everything in spreadsheets.")
    [but] = call.say(REP, 3.5, 7, "But spreadsheets break all the time.")
    assert but.trigger == "rep_but"
    call.say(REP, 7.5, 10, "What would it take for you to switch this quarter?")
    call.say(CUSTOMER, 18, 19, "Hmm.")
    [dead_air] = [c for c in call.cards if c.trigger == "dead_air_after_question"]
    assert dead_air.at_s == pytest.approx(15.0)  # 5 s into the silence, 8 s after "but"
    assert dead_air.evidence["pacing"] == f"more severe than {but.id}"


@pytest.mark.parametrize("release", [True, False])
def test_equal_card_waits_unless_the_rep_has_answered(release: bool) -> None:
    playbook = PACED.replace(
        "glance_s = 4", f"glance_s = 4\nrelease_when_answered = {str(release).lower()}"
    )
    call = Call(playbook)
    [first] = call.say(CUSTOMER, 0, 3, "It's too expensive for us right now.")
    # Same severity, the rep has not spoken: the first card keeps the overlay.
    assert call.say(CUSTOMER, 6, 9, "And we already use another vendor for that.") == []
    answered = call.say(REP, 10, 13, "Okay, what do you like about them?")
    later = call.say(CUSTOMER, 14, 17, "I'd have to check with my boss before anything changes.")
    if release:
        # The rep has answered: the objection held back meanwhile gets its card.
        assert [c.evidence["pacing"] for c in answered] == [f"{first.id} answered"]
        assert later == []
    else:
        assert answered == later == []  # held for min_gap_s
    # After min_gap_s the overlay is free either way.
    assert call.say(CUSTOMER, 40, 43, "Honestly, not this year, maybe next spring.")


def test_cap_holds_whatever_pacing_allows() -> None:
    call = Call(PACED.replace("max_cards_per_minute = 4", "max_cards_per_minute = 2"))
    call.say(CUSTOMER, 0, 3, "It's too expensive for us.")
    call.say(REP, 4, 6, "Okay, compared with what?")
    call.say(CUSTOMER, 10, 13, "My director has to approve it anyway.")
    call.say(REP, 14, 16, "Understood, who is that?")
    assert call.say(CUSTOMER, 20, 22, "Look, just send me an email.") == []  # 3rd in a minute
    assert len(call.cards) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("glance_s = 4", "glance_s = 30"), "glance_s must not exceed [limits] min_gap_s"),
        (("glance_s = 4", "glance_s = 4\nreplace_with_more_severe = 1"), "must be true or false"),
        (("glance_s = 4", "glance_s = 4\nhurry = true"), "unknown field(s) hurry"),
        (('urgency = "now"', 'urgency = "asap"'), "urgency must be now or soon"),
        (('categories = ["brush_off"]', 'categories = ["brushoff"]'), "unknown category brushoff"),
    ],
)
def test_bad_pacing_errors_name_the_problem(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(PACED.replace(*change, 1), encoding="utf-8")
    with pytest.raises(PlaybookError, match="bad.toml") as info:
        load_playbook(path)
    assert message in str(info.value)


def test_a_dismissed_card_keeps_its_rule_quiet_for_longer() -> None:
    """The page's dismissal flows back to the engine: the same rule stays quiet
    for three times its cooldown, where without the dismissal it would fire again
    once the cooldown has passed (issue 18: the card lifecycle has one owner)."""
    from assistant.events import CardAction, CardFeedback

    text = MINIMAL.replace("default_cooldown_s = 0", "default_cooldown_s = 30").replace(
        "max_cards_per_minute = 1", "max_cards_per_minute = 10"
    )

    def cards_at(times: list[float], dismiss: bool) -> list[float]:
        engine = _engine(text)
        shown = []
        for i, t in enumerate(times):
            for card in _cards(engine.feed(final(CUSTOMER, t, t + 1, "Not interested.", uid=i))):
                shown.append(t)
                if dismiss:
                    engine.on_card_outcome(CardFeedback(card.id, card.trigger, "dismiss", t + 2))
        return shown

    times = [0.0, 40.0, 80.0, 100.0]
    assert cards_at(times, dismiss=False) == [0.0, 40.0, 80.0]
    # Dismissed at 2 s: quiet until 2 + 3 x 30 = 92 s; then 100 s may fire.
    assert cards_at(times, dismiss=True) == [0.0, 100.0]
    assert CardFeedback("s1-x", "x", "dismiss", 1.0).action is CardAction.DISMISS


def test_a_card_the_overlay_took_down_frees_the_overlay_at_once() -> None:
    from assistant.events import CardRemoved

    text = MINIMAL.replace("min_gap_s = 0", "min_gap_s = 60").replace(
        "max_cards_per_minute = 1", "max_cards_per_minute = 10"
    )
    engine = _engine(text)
    first = _cards(engine.feed(final(CUSTOMER, 0, 1, "Not interested.", uid=1)))
    assert first
    blocked = _cards(engine.feed(final(CUSTOMER, 3, 4, "Not interested.", uid=2)))
    assert blocked == []  # the first card holds the overlay for min_gap_s
    engine.on_card_outcome(CardRemoved(first[0].id, first[0].trigger, "replaced", 5.0))
    freed = _cards(engine.feed(final(CUSTOMER, 6, 7, "Not interested.", uid=3)))
    assert freed
