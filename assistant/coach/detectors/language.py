"""Language detectors: negativity, objections, confusion, defensiveness, feature
pushing. Lexicons (regular expressions compiled once) plus the sentiment model's
per-utterance score kept in the conversation state."""

from __future__ import annotations

from assistant.coach.detectors.base import Context, make_signal
from assistant.coach.detectors.lexicons import (
    AGREEING_OPENER,
    APOLOGY,
    BARE_CONFUSION,
    CONFUSION,
    DEFENSIVE,
    FEATURES,
    OFFER_TO_SEND,
    OPENING_BUT,
)
from assistant.coach.detectors.objection_model import default_objection_model
from assistant.events import Signal, Speaker

# Repeated apologies: three within a minute reads as defensive, not sincere (one
# "I'm sorry" is what seed 002 asks for).
APOLOGIES_MAX = 2
APOLOGY_WINDOW_S = 60.0
# Negativity trend: two of the last three turns negative and the mean score over
# them clearly past the model's threshold.
TREND_TURNS = 3
TREND_NEGATIVE = 2
# Feature pushing: two of the rep's last three utterances pitch features, each long
# enough to be a pitch rather than an answer...
PITCH_TURNS = 3
PITCH_MIN_WORDS = 15
# ...while the other side answers in a few words at most (mean over their last two turns).
DISENGAGED_MEAN_WORDS = 4.0


def negativity(ctx: Context) -> list[Signal]:
    """One negative utterance from the other side (sentiment model above threshold)."""
    utt = ctx.utterance
    if utt is None or utt.speaker != ctx.roles.other or not utt.negative:
        return []
    return [
        make_signal(
            f"{utt.speaker.value}_negativity",
            utt.speaker,
            utt.negativity,
            utt.end_s,
            f"neg{utt.utterance_id}",
            [utt],
            probability=utt.negativity,
        )
    ]


def negativity_trend(ctx: Context) -> list[Signal]:
    """The other side's last few utterances are mostly negative."""
    utt = ctx.utterance
    if utt is None or utt.speaker != ctx.roles.other or not utt.negative:
        return []
    recent = [u for u in ctx.state.recent(utt.speaker, TREND_TURNS + 2) if not u.backchannel]
    recent = recent[-TREND_TURNS:]
    negatives = [u for u in recent if u.negative]
    if len(negatives) < TREND_NEGATIVE:
        return []
    mean = sum(u.negativity for u in recent) / len(recent)
    return [
        make_signal(
            f"{utt.speaker.value}_negativity_trend",
            utt.speaker,
            mean,
            utt.end_s,
            f"negtrend{utt.utterance_id}",
            negatives,
            negative_utterances=len(negatives),
            of_last=len(recent),
            mean_probability=mean,
        )
    ]


def objection(ctx: Context) -> list[Signal]:
    """Price, timing, authority, need/fit, competitor/status-quo objections and
    brush-offs, judged by the trained objection model (``objection_model.py``).

    The episode names the category too: when a long turn arrives in pieces, "we're
    fine with what we have" may be followed by "just send me an email", a brush-off
    that deserves its own signal; the same category again on a longer piece does not.
    """
    utt = ctx.utterance
    if utt is None or utt.speaker != ctx.roles.other:
        return []
    verdict = default_objection_model().classify(utt.text)
    if verdict is None:
        return []
    if verdict.category == "brush_off" and _accepts_offer_to_send(ctx):
        return []
    return [
        make_signal(
            "objection",
            utt.speaker,
            verdict.confidence,
            utt.end_s,
            f"obj{utt.utterance_id}:{verdict.category}",
            [utt],
            category=verdict.category,
            categories=list(verdict.categories),
            probability=verdict.probability,
        )
    ]


def _accepts_offer_to_send(ctx: Context) -> bool:
    """ "Shall I send you a quote?" - "Yes please, email it over": a yes to the coached
    speaker's own offer, not a request to be emailed instead of talking."""
    utt = ctx.utterance
    if utt is None or not AGREEING_OPENER.search(utt.text):
        return False
    before = [u for u in ctx.state.recent(None, 4)[:-1] if not u.backchannel]
    return bool(before) and (
        before[-1].speaker == ctx.roles.coached
        and OFFER_TO_SEND.search(before[-1].text) is not None
    )


def confusion(ctx: Context) -> list[Signal]:
    """The other side signals they have not understood."""
    utt = ctx.utterance
    if utt is None or utt.speaker != ctx.roles.other:
        return []
    match = CONFUSION.search(utt.text) or BARE_CONFUSION.search(utt.text)
    if match is None:
        return []
    return [
        make_signal(
            "confusion",
            utt.speaker,
            0.75,
            utt.end_s,
            f"conf{utt.utterance_id}",
            [utt],
            phrase=match.group(0).strip(),
        )
    ]


def but_after_other(ctx: Context) -> list[Signal]:
    """The coached speaker answers the other side with "but" (seed 002)."""
    utt, state, roles = ctx.utterance, ctx.state, ctx.roles
    if utt is None or utt.speaker != roles.coached or not OPENING_BUT.search(utt.text):
        return []
    before = [u for u in state.recent(None, 4)[:-1] if not u.backchannel]
    if not before or before[-1].speaker != roles.other:
        return []
    return [
        make_signal(
            f"{roles.coached.value}_but",
            roles.coached,
            0.8,
            utt.end_s,
            f"but{utt.utterance_id}",
            [before[-1], utt],
        )
    ]


def defensiveness(ctx: Context) -> list[Signal]:
    """The rep justifies, blames or argues (in a sales call or in a 1:1)."""
    utt = ctx.utterance
    if utt is None or utt.speaker != Speaker.REP:
        return []
    phrases = [m.group(0) for m in DEFENSIVE.finditer(utt.text)]
    if not phrases:
        return []
    return [
        make_signal(
            "rep_defensive",
            Speaker.REP,
            0.6 + 0.15 * (len(phrases) - 1),
            utt.end_s,
            f"def{utt.utterance_id}",
            [utt],
            phrases=phrases,
        )
    ]


def apologising(ctx: Context) -> list[Signal]:
    """The coached speaker keeps apologising."""
    utt, state, coached = ctx.utterance, ctx.state, ctx.roles.coached
    if utt is None or utt.speaker != coached or not APOLOGY.search(utt.text):
        return []
    window = [u for u in state.within(APOLOGY_WINDOW_S) if u.speaker == coached]
    apologies = [u for u in window if APOLOGY.search(u.text)]
    if len(apologies) <= APOLOGIES_MAX:
        return []
    return [
        make_signal(
            f"{coached.value}_apologising",
            coached,
            0.6 + 0.1 * (len(apologies) - APOLOGIES_MAX - 1),
            utt.end_s,
            f"sorry{utt.utterance_id}",
            apologies,
            apologies=len(apologies),
            window_s=APOLOGY_WINDOW_S,
        )
    ]


def feature_push(ctx: Context) -> list[Signal]:
    """Head-down, blinder mode: pitching features while the other side has checked out."""
    utt, state, roles = ctx.utterance, ctx.state, ctx.roles
    if utt is None or utt.speaker != roles.coached:
        return []
    # Utterances, not turns: the other side's "okay"s are backchannels and would merge
    # a whole pitch into one turn.
    pitches = [
        u
        for u in state.recent(roles.coached, PITCH_TURNS)
        if u.words >= PITCH_MIN_WORDS and FEATURES.search(u.text)
    ]
    if len(pitches) < 2 or pitches[-1] != utt:
        return []
    theirs = state.turns(roles.other, 2)
    if not theirs:
        return []
    mean_words = sum(t.words for t in theirs) / len(theirs)
    if mean_words > DISENGAGED_MEAN_WORDS:
        return []  # they are still talking: a demo they engage with is fine
    negative = any(u.negative for t in theirs for u in t.utterances)
    confidence = 0.9 if negative else 0.75
    return [
        make_signal(
            "feature_push",
            roles.coached,
            confidence,
            utt.end_s,
            f"push{utt.utterance_id}",
            pitches + [u for t in theirs for u in t.utterances],
            pitch_turns=len(pitches),
            other_mean_words=mean_words,
            other_negative=negative,
        )
    ]


LANGUAGE_DETECTORS = (
    negativity,
    negativity_trend,
    objection,
    confusion,
    but_after_other,
    defensiveness,
    apologising,
)
SALES_ONLY_DETECTORS = (feature_push,)
