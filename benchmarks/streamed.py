"""One replay of a recording through the product, read as first and final text.

* *First text*: each ``FinalTranscript`` piece, at the moment the consumer got it.
* *Final text*: per utterance its last ``TranscriptRevision`` if there is one, else
  its pieces, utterances in order of their start, each word stamped with the arrival
  of the event that made it final (shared/RECIPES.md, "First text, final text").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .conversations import RATE_HZ, Conversation
from .harness import make_session, run_sessions
from .sampler import ResourceSampler
from .scoring import Committed, Score, score_channels

# Silence after the last word: the replay ends only when the file does, and the last
# final needs its end-of-utterance silence plus a decode.
TAIL_PAD_S = 3.0


@dataclass
class Streamed:
    first: Score
    final: Score
    # Seconds from each utterance's end (as the VAD saw it) to its final text.
    after_end_s: list[float]
    # The final text of every utterance, per channel, in order: what must not change.
    final_texts: list[tuple[int | None, str]]
    cpu: dict[str, Any] = field(default_factory=dict)
    cpu_intervals: list[tuple[float, float]] = field(default_factory=list)


def stream(conv: Conversation, decoder: Any, tmp: Path, realtime: bool) -> Streamed:
    from assistant.audio.file_source import write_wav
    from assistant.events import FinalTranscript, Speaker, TranscriptRevision, is_final_text

    pad = np.zeros((int(TAIL_PAD_S * RATE_HZ), conv.audio.shape[1]), dtype=np.float32)
    path = write_wav(tmp / f"{conv.name}-{conv.input}.wav", np.concatenate([conv.audio, pad]))
    record = make_session(path, decoder, realtime=realtime, partials=realtime)
    busy0 = record.session.pipeline.asr.busy_s
    with ResourceSampler() as sampler:
        run_sessions([record])
    t0 = record.source.start_wall
    channel = {Speaker.REP: 0, Speaker.CUSTOMER: 1}

    def ch(speaker: Any) -> int | None:
        return channel.get(speaker) if conv.channel_speakers else None

    first: list[Committed] = []
    # (channel, utterance id) -> (start_s, text, arrival) of its final text so far
    finals: dict[tuple[int | None, int], tuple[float, str, float]] = {}
    after_end: list[float] = []
    revised = 0
    for wall, event in record.events:
        if not isinstance(event, (FinalTranscript, TranscriptRevision)):
            continue
        key = (ch(event.speaker), event.utterance_id)
        arrival = wall - t0
        if isinstance(event, FinalTranscript):
            first.append(Committed(event.text, arrival, key[0]))
        revised += isinstance(event, TranscriptRevision)
        if is_final_text(event):
            finals[key] = (event.start_s, event.text, arrival)
            after_end.append(wall - event.speech_end_wall)
    final = [
        Committed(text, arrival, key[0])
        for key, (_, text, arrival) in sorted(finals.items(), key=lambda kv: kv[1][0])
    ]
    speaking = [(t0 + r.start_s, t0 + r.end_s) for r in conv.refs]
    intervals = sampler.intervals()
    cpu = {
        "cpu_speaking": _round(sampler.cpu_share_during(speaking)) if realtime else None,
        "cpu_overall": _round(sampler.cpu_share()),
        "cpu_s_per_audio_s": _round(sum(c for c, _ in intervals) / conv.duration_s),
        "decoder_busy_per_audio_s": _round(
            (record.session.pipeline.asr.busy_s - busy0) / conv.duration_s
        ),
        "pieces": len(first),
        "utterances": len(finals),
        "revised": revised,
    }
    return Streamed(
        first=score_channels(conv.refs, conv.channel_speakers, first),
        final=score_channels(conv.refs, conv.channel_speakers, final),
        after_end_s=after_end,
        final_texts=[(c.channel, c.text) for c in final],
        cpu=cpu,
        cpu_intervals=intervals,
    )


def _round(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)
