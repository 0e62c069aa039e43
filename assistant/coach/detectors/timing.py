"""Timing detectors: silence, monologues, talk ratio, question pace, short answers,
interruptions. Counts and clocks only, so each runs in microseconds."""

from __future__ import annotations

from assistant.coach.conversation import ConversationState
from assistant.coach.detectors.base import Context, make_signal
from assistant.coach.utterance import Turn, Utterance
from assistant.events import Signal, Speaker

# Gaps after a question are normally well under a second in conversation; a few
# seconds of thinking is healthy (seed 001: "We waited."). Five seconds is past any
# natural pause yet early enough for the card to help while the silence lasts.
DEAD_AIR_AFTER_QUESTION_S = 5.0
# Without a pending question, silence is less telling: people read, type, draw or
# wait for a screen share. Ten seconds of nobody speaking is reported as a possible
# stall; at fifteen it is reported again, with more confidence, as a certain one
# (playbooks put the card there, so a long pause for thought does not get one).
DEAD_AIR_S = 10.0
DEAD_AIR_CERTAIN_S = 15.0

# Sales-call studies (Gong) put effective reps' longest monologue under a minute and
# average reps' near 75 s: the signal starts at 60 s with confidence 0.6 and reaches
# 0.7 at 75 s (where the built-in playbooks put the card) and 1.0 at 120 s.
MONOLOGUE_S = 60.0
# Rolling window for talk ratio: three minutes smooths over one long answer while
# still reacting within one phase of a call.
TALK_RATIO_WINDOW_S = 180.0
# A ratio needs this much speech in the window before it means anything, and the call
# must be a full window old: the rep's opening introduction is not a skew.
TALK_RATIO_MIN_TALK_S = 90.0
# Good discovery calls sit near 45-60 % rep talk; at 80 % the other side is barely
# speaking.
TALK_RATIO_MAX = 0.8

# Three questions within 30 s while the other side says almost nothing is an
# interrogation rather than a conversation.
RAPID_QUESTIONS = 3
RAPID_WINDOW_S = 30.0
RAPID_MAX_OTHER_WORDS = 8

# Disengagement: the other side's last three turns are all this short, at least two
# of them answers to the coached speaker's questions (a short reply to a statement is
# often just acknowledgement)...
SHORT_TURNS = 3
SHORT_TURN_WORDS = 4
# ...after answering at length earlier (mean of earlier turns at least this), or
# while the coached speaker's turns in between run long.
SHORT_ANSWERS_TO_QUESTIONS = 2
# An answer may start a little before the question's final is timed to end.
ANSWER_OVERLAP_S = 0.5
ENGAGED_TURN_WORDS = 8.0
LONG_COACHED_TURN_WORDS = 25.0

# An overlap counts as an interruption when the later speaker starts more than 1.5 s
# before the other stops: next speakers routinely start up to a second early at the
# end of a sentence, and VAD-cut finals carry some trailing hangover on top...
INTERRUPT_OVERLAP_S = 1.5
# ...and after the other had been talking for a second: two people starting together
# is a collision, not cutting someone off.
INTERRUPT_MIN_LEAD_S = 1.0
INTERRUPT_WINDOW_S = 120.0


def dead_air_after_question(ctx: Context) -> list[Signal]:
    """Silence after the coached speaker's question: the other side has not answered."""
    last = ctx.state.last
    if ctx.utterance is not None or last is None or last.question is None:
        return []
    if last.speaker not in (ctx.roles.coached, Speaker.UNKNOWN):
        return []
    silence = ctx.state.silence_s
    if silence < DEAD_AIR_AFTER_QUESTION_S:
        return []
    # A "?" from the ASR is firmer evidence of a question than a wh-word opener.
    confidence = 0.9 if "?" in last.text else 0.7
    return [
        make_signal(
            "dead_air_after_question",
            last.speaker,
            confidence,
            ctx.now_s,
            f"q{last.utterance_id}",
            [last],
            silence_s=silence,
            threshold_s=DEAD_AIR_AFTER_QUESTION_S,
        )
    ]


def dead_air(ctx: Context) -> list[Signal]:
    """Long silence that no pending question explains."""
    last = ctx.state.last
    if ctx.utterance is not None or last is None:
        return []
    if last.question is not None and last.speaker in (ctx.roles.coached, Speaker.UNKNOWN):
        return []  # dead_air_after_question covers it, sooner
    silence = ctx.state.silence_s
    if silence < DEAD_AIR_S:
        return []
    certain = silence >= DEAD_AIR_CERTAIN_S
    return [
        make_signal(
            "dead_air",
            last.speaker,
            0.9 if certain else 0.6,
            ctx.now_s,
            f"gap{last.utterance_id}:{'certain' if certain else 'possible'}",
            [last],
            silence_s=silence,
            threshold_s=DEAD_AIR_CERTAIN_S if certain else DEAD_AIR_S,
        )
    ]


def monologue(ctx: Context) -> list[Signal]:
    """The coached speaker has been talking without the other side taking a turn."""
    utt, mono = ctx.utterance, ctx.state.monologue
    coached = ctx.roles.coached
    if utt is None or utt.speaker != coached or mono is None or mono.speaker != coached:
        return []
    if mono.duration_s < MONOLOGUE_S:
        return []
    # 0.6 at the threshold, certain at twice the threshold.
    confidence = 0.6 + 0.4 * (mono.duration_s - MONOLOGUE_S) / MONOLOGUE_S
    return [
        make_signal(
            f"{coached.value}_monologue",
            coached,
            confidence,
            utt.end_s,
            f"mono{mono.start_s:.2f}",
            [utt],
            monologue_s=mono.duration_s,
            utterances_in_run=mono.utterances,
            words=mono.words,
            threshold_s=MONOLOGUE_S,
        )
    ]


def talk_ratio(ctx: Context) -> list[Signal]:
    """The coached speaker's share of talk over the rolling window is too high."""
    utt, state, roles = ctx.utterance, ctx.state, ctx.roles
    if utt is None or utt.speaker != roles.coached:
        return []
    mine = state.talk_s_in_window(roles.coached, TALK_RATIO_WINDOW_S)
    # Everyone else's talk counts (an unlabelled channel or a third person is still
    # someone other than the coached speaker getting the floor).
    theirs = sum(
        state.talk_s_in_window(sp, TALK_RATIO_WINDOW_S) for sp in Speaker if sp != roles.coached
    )
    call_start = state.history[0].start_s if state.history else state.now_s
    if mine + theirs < TALK_RATIO_MIN_TALK_S or state.now_s - call_start < TALK_RATIO_WINDOW_S:
        return []
    ratio = mine / (mine + theirs)
    if ratio < TALK_RATIO_MAX:
        return []
    confidence = 0.6 + 2.0 * (ratio - TALK_RATIO_MAX)  # 0.6 at 80 %, 1.0 at 100 %
    return [
        make_signal(
            "talk_ratio",
            roles.coached,
            confidence,
            utt.end_s,
            f"ratio{utt.utterance_id}",
            [utt],
            ratio=ratio,
            coached_talk_s=mine,
            other_talk_s=theirs,
            window_s=TALK_RATIO_WINDOW_S,
        )
    ]


def rapid_questions(ctx: Context) -> list[Signal]:
    """Several questions in quick succession with barely an answer between them."""
    utt, roles = ctx.utterance, ctx.roles
    if utt is None or utt.question is None or utt.speaker != roles.coached:
        return []
    window = ctx.state.within(RAPID_WINDOW_S)
    questions = [u for u in window if u.speaker == roles.coached and u.question is not None]
    other_words = sum(u.words for u in window if u.speaker == roles.other)
    if len(questions) < RAPID_QUESTIONS or other_words > RAPID_MAX_OTHER_WORDS:
        return []
    confidence = 0.6 + 0.1 * (len(questions) - RAPID_QUESTIONS)
    return [
        make_signal(
            "rapid_questions",
            roles.coached,
            confidence,
            utt.end_s,
            f"rapid{utt.utterance_id}",
            questions,
            questions=len(questions),
            other_words=other_words,
            window_s=RAPID_WINDOW_S,
        )
    ]


def short_answers(ctx: Context) -> list[Signal]:
    """The other side's answers have gone short: disengagement (or minimal answers)."""
    utt, state, roles = ctx.utterance, ctx.state, ctx.roles
    if utt is None or utt.speaker != roles.other:
        return []
    turns = state.turns(roles.other, 2 * SHORT_TURNS)
    recent = turns[-SHORT_TURNS:]
    if len(recent) < SHORT_TURNS or any(t.words > SHORT_TURN_WORDS for t in recent):
        return []
    answers = sum(_answers_a_question(state, t, roles.coached) for t in recent)
    if answers < SHORT_ANSWERS_TO_QUESTIONS:
        return []
    earlier = turns[:-SHORT_TURNS]
    earlier_mean = _mean_words(earlier)
    dropped = earlier_mean is not None and earlier_mean >= ENGAGED_TURN_WORDS
    # The coached speaker's turns between (and just before) those short answers.
    coached_turns = [
        t for t in state.turns(roles.coached, SHORT_TURNS + 1) if t.end_s > recent[0].start_s
    ]
    coached_mean = _mean_words(coached_turns) or 0.0
    talking_at = coached_mean >= LONG_COACHED_TURN_WORDS
    if not (dropped or talking_at):
        return []
    confidence = 0.9 if dropped and talking_at else 0.7
    return [
        make_signal(
            f"{roles.other.value}_short_answers",
            roles.other,
            confidence,
            utt.end_s,
            f"short{utt.utterance_id}",
            [u for t in recent for u in t.utterances],
            recent_words=[t.words for t in recent],
            earlier_mean_words=earlier_mean if earlier_mean is not None else 0.0,
            coached_mean_words=coached_mean,
        )
    ]


def _answers_a_question(state: ConversationState, turn: Turn, asker: Speaker) -> bool:
    """Whether the utterance before ``turn`` (ignoring backchannels) is ``asker``'s question."""
    before = [
        u
        for u in state.history
        if u.end_s <= turn.start_s + ANSWER_OVERLAP_S and u.speaker != turn.speaker
        and not u.backchannel
    ]  # fmt: skip
    return bool(before) and before[-1].speaker == asker and before[-1].question is not None


def _mean_words(turns: list[Turn]) -> float | None:
    return sum(t.words for t in turns) / len(turns) if turns else None


def interruption(ctx: Context) -> list[Signal]:
    """The coached speaker started talking over the other side (two channels only)."""
    utt, state, roles = ctx.utterance, ctx.state, ctx.roles
    if utt is None or utt.speaker not in (roles.coached, roles.other):
        return []
    window = state.within(INTERRUPT_WINDOW_S)
    pairs = _interruptions(window, roles.coached, roles.other)
    new = [p for p in pairs if utt in p]
    if not new:
        return []
    interrupted, interrupter = new[-1]
    count = len(pairs)
    # One interruption is ordinary; a pattern of them is the coaching point.
    confidence = {1: 0.4, 2: 0.7}.get(count, 0.9)
    return [
        make_signal(
            "interruption",
            roles.coached,
            confidence,
            utt.end_s,
            f"int{interrupted.utterance_id}-{interrupter.utterance_id}",
            [interrupted, interrupter],
            overlap_s=interrupted.end_s - interrupter.start_s,
            interruptions_in_window=count,
            window_s=INTERRUPT_WINDOW_S,
        )
    ]


def _interruptions(
    window: list[Utterance], interrupter: Speaker, interrupted: Speaker
) -> list[tuple[Utterance, Utterance]]:
    """(interrupted, interrupter) pairs where ``interrupter`` cut in on ``interrupted``."""
    mine = [u for u in window if u.speaker == interrupter and not u.backchannel]
    theirs = [u for u in window if u.speaker == interrupted and not u.backchannel]
    return [
        (t, m)
        for m in mine
        for t in theirs
        if t.start_s + INTERRUPT_MIN_LEAD_S <= m.start_s < t.end_s - INTERRUPT_OVERLAP_S
    ]


TIMING_DETECTORS = (
    dead_air_after_question,
    dead_air,
    monologue,
    talk_ratio,
    rapid_questions,
    short_answers,
    interruption,
)
