"""The coaching report's numbers, computed from a session log. Pure: no I/O, no plots.

The recorded finals are fed, in recorded order, to the live coach's own
``ConversationState``: pieces of one utterance merge exactly as they did during the
call, and talk time and monologues are the numbers the detectors saw. Questions use
the coach's own rule (``question_kind``) sentence by sentence, so an utterance that
asks two questions counts two.
Each figure's method is spelled out in ``report.model.METHOD``.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.coach.conversation import ConversationState, Monologue, Scorer
from assistant.coach.detectors.base import Mode, Roles
from assistant.coach.utterance import Utterance, question_kind
from assistant.events import Speaker
from assistant.report.model import (
    DEFENSIVE_DETECTOR,
    EXCERPT_CHARS,
    OUTCOME_FATE,
    TREND_UTTERANCES,
    Asked,
    CardMoment,
    Fate,
    Line,
    Moment,
    QuestionGap,
    Questions,
    Quote,
    Report,
    Stretch,
)
from assistant.sessions.log import CardEvent, SessionLog, SessionMeta


def roles_of(meta: SessionMeta) -> Roles:
    try:
        return Roles.for_mode(Mode(meta.mode))
    except ValueError:
        return Roles.for_mode(Mode.SALES)


def _merge_transcript(
    log: SessionLog, state: ConversationState
) -> tuple[list[Utterance], dict[Speaker, Monologue]]:
    """Feed the finals as the live coach did; the merged utterances, and each
    speaker's longest monologue as the state tracked it."""
    utterances: list[Utterance] = []
    longest: dict[Speaker, Monologue] = {}
    for final in log.finals:
        if not final.text.strip():
            continue  # the coach ignores empty finals too
        before = state.speaker_stats(final.speaker).utterances
        utt = state.add_final(final)
        if state.speaker_stats(final.speaker).utterances == before:  # a later piece
            for i in range(len(utterances) - 1, -1, -1):
                old = utterances[i]
                if (old.speaker, old.utterance_id) == (utt.speaker, utt.utterance_id):
                    utterances[i] = utt
                    break
        else:
            utterances.append(utt)
        mono = state.monologue
        if mono is not None:
            best = longest.get(mono.speaker)
            if best is None or mono.duration_s > best.duration_s:
                longest[mono.speaker] = mono
    return utterances, longest


# Sentences end at . ! or ? followed by a space; unpunctuated ASR text is one sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_questions(text: str) -> list[tuple[str, str]]:
    """``(sentence, kind)`` for every sentence of ``text`` that is a question: one
    utterance can ask two ("It was. What do you want me to do?" asks one)."""
    asked = []
    for sentence in _SENTENCE_END.split(text.strip()):
        kind = question_kind(sentence)
        if kind is not None:
            asked.append((sentence, kind))
    return asked


def _lines(utterances: list[Utterance]) -> tuple[list[Line], dict[tuple[str, int], str]]:
    lines: list[Line] = []
    anchors: dict[tuple[str, int], str] = {}
    used: set[str] = set()
    for utt in sorted(utterances, key=lambda u: (u.start_s, u.end_s)):
        base = f"t-{utt.speaker.value}-{utt.utterance_id}"
        anchor, n = base, 1
        while anchor in used:  # the same id twice (a piece too late to merge)
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        anchors.setdefault((utt.speaker.value, utt.utterance_id), anchor)
        asked = sentence_questions(utt.text)
        last = _SENTENCE_END.split(utt.text.strip())[-1]
        lines.append(
            Line(
                anchor,
                utt.speaker.value,
                utt.start_s,
                utt.end_s,
                utt.text,
                tuple(kind for _sentence, kind in asked),
                bool(asked) and asked[-1][0] == last,
                utt.negativity,
                utt.backchannel,
            )
        )
    return lines, anchors


def _excerpt(texts: list[str]) -> str:
    text = " ".join(texts)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


def _stretch(mono: Monologue, lines: list[Line]) -> Stretch:
    inside = [
        ln
        for ln in lines
        if ln.speaker == mono.speaker.value
        and ln.start_s >= mono.start_s - 1e-6
        and ln.end_s <= mono.end_s + 1e-6
    ]
    return Stretch(
        mono.speaker.value,
        mono.start_s,
        mono.end_s,
        mono.utterances,
        mono.words,
        inside[0].anchor if inside else None,
        _excerpt([ln.text for ln in inside]),
    )


def _gaps(lines: list[Line]) -> list[QuestionGap]:
    gaps: list[QuestionGap] = []
    for i, line in enumerate(lines):
        if not line.ends_in_question:
            continue
        # The first utterance still going after the question ends: the answer, or the
        # asker carrying on (a backchannel during the question does not count).
        nxt = next((ln for ln in lines[i + 1 :] if ln.end_s > line.end_s), None)
        silence = None if nxt is None else max(0.0, nxt.start_s - line.end_s)
        gaps.append(
            QuestionGap(
                line.anchor,
                line.speaker,
                line.text,
                line.end_s,
                silence,
                None if nxt is None else nxt.speaker,
            )
        )
    return gaps


def _quotes(evidence: dict[str, Any], anchors: dict[tuple[str, int], str]) -> tuple[Quote, ...]:
    quotes: list[Quote] = []
    for item in evidence.get("utterances") or []:
        if not isinstance(item, dict):
            continue
        speaker, uid, text = item.get("speaker"), item.get("id"), item.get("text")
        start = item.get("start_s", 0.0)
        if not isinstance(speaker, str) or not isinstance(text, str):
            continue
        anchor = anchors.get((speaker, uid)) if isinstance(uid, int) else None
        at = float(start) if isinstance(start, (int, float)) else 0.0
        quotes.append(Quote(anchor, speaker, at, text))
    return tuple(quotes)


def _fate(card_id: str, events: list[CardEvent], overlay: bool | None) -> Fate:
    for event in events:  # in file order: the first thing that happened to the card
        if event.card_id == card_id:
            return OUTCOME_FATE[event.outcome]
    if overlay is None:
        return Fate.UNKNOWN
    return Fate.OPEN if overlay else Fate.NOT_SHOWN


def _cards(
    log: SessionLog, lines: list[Line], anchors: dict[tuple[str, int], str]
) -> list[CardMoment]:
    cards: list[CardMoment] = []
    for s in log.suggestions:
        quotes = _quotes(s.evidence, anchors)
        if not quotes:  # caused by silence: show what was said just before
            before = [ln for ln in lines if ln.end_s <= s.at_s + 1e-6][-2:]
            quotes = tuple(Quote(ln.anchor, ln.speaker, ln.start_s, ln.text) for ln in before)
        anchor = next((q.anchor for q in reversed(quotes) if q.anchor), None)
        fate = _fate(s.id, log.card_events, log.meta.overlay)
        cards.append(
            CardMoment(
                s.id, s.trigger, s.prompt, s.why, s.source, s.severity, s.at_s, fate, quotes, anchor
            )
        )
    return cards


def _defensive(log: SessionLog, anchors: dict[tuple[str, int], str]) -> list[Moment]:
    moments: list[Moment] = []
    for signal in log.signals:
        if signal.detector != DEFENSIVE_DETECTOR:
            continue
        quotes = _quotes(signal.evidence, anchors)
        quote = quotes[-1] if quotes else None
        phrases = signal.evidence.get("phrases")
        detail = ", ".join(f"“{p}”" for p in phrases if isinstance(p, str)) if phrases else ""
        moments.append(
            Moment(
                signal.at_s,
                quote.anchor if quote else None,
                signal.speaker.value,
                quote.text if quote else "",
                detail,
            )
        )
    return moments


def build_report(log: SessionLog, scorer: Scorer | None = None) -> Report:
    """Every figure of the report for one session."""
    if scorer is None:
        from assistant.coach.sentiment import default_model

        scorer = default_model()
    roles = roles_of(log.meta)
    state = ConversationState(scorer=scorer)
    utterances, longest = _merge_transcript(log, state)
    lines, anchors = _lines(utterances)
    talk = {sp.value: st.talk_s for sp, st in state.stats.items()}
    total = sum(talk.values())
    share = {sp: (t / total if total > 0 else 0.0) for sp, t in talk.items()}
    pair = talk.get(roles.coached.value, 0.0) + talk.get(roles.other.value, 0.0)
    coached_share = talk.get(roles.coached.value, 0.0) / pair if pair > 0 else None
    asked = [
        Asked(ln.anchor, ln.speaker, ln.start_s, sentence, kind)
        for ln in lines
        for sentence, kind in sentence_questions(ln.text)
    ]
    questions: dict[str, Questions] = {}
    for sp in talk:
        mine = [q for q in asked if q.speaker == sp]
        questions[sp] = Questions(
            sp,
            len(mine),
            sum(q.kind == "open" for q in mine),
            sum(q.kind == "closed" for q in mine),
            tuple(q.anchor for q in mine),
        )
    monologues = {sp.value: _stretch(mono, lines) for sp, mono in longest.items()}
    coaching = log.meta.mode == Mode.COACHING.value
    notes = list(log.notes)
    if set(talk) == {Speaker.UNKNOWN.value}:
        notes.append(
            "one mixed input: every utterance is 'unknown', so the two sides cannot be "
            "told apart (record the call's audio on its own input with --remote)"
        )
    if coaching and not log.signals:
        notes.append("no detector signals were recorded, so no defensive moments can be shown")
    other_lines = [ln for ln in lines if ln.speaker == roles.other.value]
    return Report(
        path=log.path,
        meta=log.meta,
        duration_s=log.last_s,
        coached=roles.coached.value,
        other=roles.other.value,
        talk_s=talk,
        share=share,
        coached_share=coached_share,
        monologues=monologues,
        questions=questions,
        other_stretch=monologues.get(roles.other.value),
        gaps=tuple(_gaps(lines)),
        negativity=tuple((ln.end_s, ln.negativity, ln.anchor) for ln in other_lines),
        negativity_threshold=scorer.threshold,
        cards=tuple(_cards(log, lines, anchors)),
        defensive=tuple(_defensive(log, anchors)) if coaching else None,
        manager_questions=(
            tuple(q for q in asked if q.speaker == roles.coached.value) if coaching else None
        ),
        transcript=tuple(lines),
        notes=tuple(notes),
    )


def rolling_mean(values: list[float], n: int = TREND_UTTERANCES) -> list[float]:
    """Mean of each value and up to ``n - 1`` before it (the plotted trend line)."""
    out: list[float] = []
    for i in range(len(values)):
        window = values[max(0, i - n + 1) : i + 1]
        out.append(sum(window) / len(window))
    return out
