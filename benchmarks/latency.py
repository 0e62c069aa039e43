"""Latency figures from one recorded session: end of speech (true and VAD) to
final text, suggestion and paint in the browser; caption cadence; lag; and the
words, scored as the real-speech section scores them (``scoring``).

See :mod:`benchmarks.harness` for how the true end of speech is timed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.events import (
    FinalTranscript,
    PartialTranscript,
    PipelineState,
    SpeechEnded,
    SpeechStarted,
    Status,
    Suggestion,
    TranscriptRevision,
    is_final_text,
)

from .results import percentiles
from .scoring import Committed, RefUtterance, Score, score_channels, wer_noise

if TYPE_CHECKING:
    from .harness import StreamRecord

# A scripted line and the final that carries its last word end within this of each
# other (VAD frames are 32 ms; Silero's offset is a few frames at most).
MATCH_TOLERANCE_S = 1.0


def _match(
    final: FinalTranscript | TranscriptRevision, lines: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The scripted line whose end this final carries (same speaker when known)."""
    best, best_d = None, MATCH_TOLERANCE_S
    for line in lines:
        speaker = line.get("speaker")
        if speaker and final.speaker.value not in ("unknown", speaker):
            continue
        d = abs(final.end_s - line["end"])
        if d <= best_d and final.start_s <= line["end"]:
            best, best_d = line, d
    return best


def analyse(
    rec: StreamRecord,
    truth: list[dict[str, Any]] | None,
    rendered: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Latency figures for one stream (see the module docstring for 'true' vs 'vad')."""
    t0 = rec.source.start_wall
    # Final text: an utterance's one final, or the revision over its pieces.
    finals = [e for _, e in rec.events if is_final_text(e) and e.text.strip()]
    by_end_wall = {f.speech_end_wall: f for f in finals}
    true_end: dict[int, float] = {}  # utterance id -> wall time of the true speech end
    used: set[int] = set()
    for f in sorted(finals, key=lambda f: f.end_s):
        line = _match(f, truth or [])
        if line is not None and id(line) not in used:
            used.add(id(line))
            true_end[f.utterance_id] = t0 + line["end"]
    # Speech end -> text: per scripted line, when its last word arrived (the RECIPES.md
    # alignment; a long turn's words arrive in pieces before it ends).
    scored = _line_score(finals, truth or [], t0)
    final_true = [x for x in scored.latencies_s if x is not None]
    final_vad = [f.latency_s for f in finals]
    vad_offset = [
        f.speech_end_wall - true_end[f.utterance_id] for f in finals if f.utterance_id in true_end
    ]
    cards = [s for s in rec.of(Suggestion) if s.speech_end_wall is not None]
    sugg_vad, sugg_true = [], []
    for card in cards:
        sugg_vad.append(card.created_wall - card.speech_end_wall)
        final = by_end_wall.get(card.speech_end_wall)
        if final is not None and final.utterance_id in true_end:
            sugg_true.append(card.created_wall - true_end[final.utterance_id])
    out: dict[str, Any] = {
        "audio_s": round(rec.source.audio_s, 2),
        "finals": len(finals),
        "lines": len(truth or []),
        "lines_matched": len(final_true),
        "pieces": len(finals),
        "speech_ended": len(rec.of(SpeechEnded)),
        "cards": len(rec.of(Suggestion)),
        "cards_from_speech": len(cards),
        "final_true_s": percentiles(final_true),
        "final_vad_s": percentiles(final_vad),
        "vad_end_minus_true_end_s": percentiles(vad_offset),
        "suggestion_true_s": percentiles(sugg_true),
        "suggestion_vad_s": percentiles(sugg_vad),
        "partials": _partials(rec, t0),
        "by_length": [(round(f.end_s - f.start_s, 2), round(f.latency_s, 4)) for f in finals],
        "samples": {
            "final_true_s": final_true,
            "final_vad_s": final_vad,
            "suggestion_true_s": sugg_true,
        },
    }
    if truth and all("text" in line and "speaker" in line for line in truth):
        out["wer"] = {
            "wer": round(scored.wer, 4),
            "errors": scored.errors,
            "ref_words": scored.ref_words,
            "noise": wer_noise(scored),
        }
    asr = rec.session.pipeline.asr
    stopped = [s for s in rec.of(Status) if s.state is PipelineState.STOPPED]
    out["asr_busy_s"] = round(asr.busy_s, 3)
    out["decoder_busy_per_audio_s"] = round(asr.busy_s / max(rec.source.audio_s, 1e-9), 4)
    out["dropped_partials"] = stopped[-1].dropped_partials if stopped else None
    out["dropped_audio_s"] = stopped[-1].dropped_audio_s if stopped else None
    out["decoder_busy_s_by_kind"] = {
        kind: round(sum(t for k, _, t in asr.decode_times if k == kind), 3)
        for kind in ("partial", "final")
    }
    out["decodes"] = {
        kind: percentiles(t for k, _, t in asr.decode_times if k == kind)
        for kind in ("partial", "final")
    }
    if rendered is not None:
        out.update(_rendered(rendered, finals, cards, true_end))
    return out


def _line_score(finals: list[Any], lines: list[dict[str, Any]], t0: float) -> Score:
    """Every scripted line scored against the committed text: its words, and when its
    last word arrived (RECIPES.md's alignment; a long turn arrives in pieces)."""
    refs = [
        RefUtterance(x.get("speaker", "unknown"), x["start"], x["end"], x["text"]) for x in lines
    ]
    speakers = sorted({f.speaker.value for f in finals})
    two = [sp for sp in ("rep", "customer") if sp in speakers]
    channel = {sp: i for i, sp in enumerate(two)}
    pieces = [
        Committed(
            f.text, f.decoded_wall - t0, channel.get(f.speaker.value) if len(two) > 1 else None
        )
        for f in sorted(finals, key=lambda f: f.decoded_wall)
    ]
    return score_channels(refs, tuple(two) if len(two) > 1 else None, pieces)


def _partials(rec: StreamRecord, t0: float) -> dict[str, Any]:
    """Caption cadence while someone speaks: the gap between caption updates of the
    same utterance, and from the VAD noticing speech to its first caption."""
    starts: dict[str, float] = {}
    spans: dict[int, list[float]] = {}
    first: list[float] = []
    gaps: list[float] = []
    open_start: dict[str, float] = {}
    for _, ev in rec.events:
        if isinstance(ev, SpeechStarted):
            open_start[ev.speaker.value] = ev.start_s
        elif isinstance(ev, PartialTranscript):
            spans.setdefault(ev.utterance_id, []).append(ev.decoded_wall)
            starts.setdefault(str(ev.utterance_id), open_start.get(ev.speaker.value, ev.start_s))
    for uid, walls in spans.items():
        walls.sort()
        first.append(walls[0] - (t0 + starts[str(uid)]))
        gaps.extend(b - a for a, b in zip(walls, walls[1:], strict=False))
    return {
        "count": sum(len(w) for w in spans.values()),
        "interval_s": percentiles(gaps),
        "speech_start_to_first_s": percentiles(first),
    }


def _rendered(
    rendered: list[dict[str, Any]],
    finals: list[Any],
    cards: list[Suggestion],
    true_end: dict[int, float],
) -> dict[str, Any]:
    """Speech end -> painted in Chromium, from the overlay server's latency records."""
    by_caption = {f"u{f.utterance_id}": f for f in finals}
    by_card = {c.id: c for c in cards}
    final_by_end = {f.speech_end_wall: f for f in finals}
    out: dict[str, list[float]] = {"caption": [], "card": [], "caption_true": [], "card_true": []}
    for rec in rendered:
        lat = rec.get("speech_end_to_rendered_s")
        if lat is None:
            continue
        kind = rec.get("kind")
        if kind == "caption" and rec["id"] in by_caption:
            f = by_caption[rec["id"]]
        elif kind == "card" and rec["id"] in by_card:
            f = final_by_end.get(by_card[rec["id"]].speech_end_wall)
        else:
            continue
        out[kind].append(lat)
        if f is not None and f.utterance_id in true_end:
            out[f"{kind}_true"].append(f.speech_end_wall + lat - true_end[f.utterance_id])
    return {
        "rendered_caption_vad_s": percentiles(out["caption"]),
        "rendered_caption_true_s": percentiles(out["caption_true"]),
        "rendered_card_vad_s": percentiles(out["card"]),
        "rendered_card_true_s": percentiles(out["card_true"]),
        "rendered_records": len(rendered),
        "samples_rendered": {
            "card_true_s": out["card_true"],
            "caption_true_s": out["caption_true"],
        },
    }


def lag_summary(lag: list[tuple[float, float, int]], started: float) -> dict[str, Any]:
    return {
        "audio_lag_s": percentiles(x[1] for x in lag),
        "finals_waiting_max": max((x[2] for x in lag), default=0),
        "timeline": {
            "t_s": [round(x[0] - started, 2) for x in lag],
            "lag_s": [round(x[1], 4) for x in lag],
        },
    }
