"""Per-stage costs, each stage alone on real speech: resampling and VAD per second of
audio, Whisper decode time by utterance length, detectors per utterance.

Websocket fan-out lives in :mod:`benchmarks.fanout` (it needs a second process).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from .material import RATE_HZ
from .results import Section, Skip, bootstrap_noise, percentiles, ratio, say

# A microphone block at 48 kHz: 32 ms, the size PortAudio usually hands over.
MIC_RATE_HZ = 48000
MIC_BLOCK = 1536


def resample_and_vad(speech: np.ndarray, seconds: float) -> Section:
    """Milliseconds of CPU per second of audio for soxr (48 kHz -> 16 kHz) and Silero."""
    from assistant.audio.resample import StreamResampler
    from assistant.vad.segmenter import Segmenter
    from assistant.vad.silero import FRAME_SAMPLES, SileroVad

    audio = np.resize(speech, int(seconds * RATE_HZ)).astype(np.float32)
    # Real speech at the microphone's rate: upsample once (not timed), then time the
    # streaming downsampler on 32 ms blocks as the source worker runs it.
    mic = np.interp(
        np.arange(int(seconds * MIC_RATE_HZ)) * RATE_HZ / MIC_RATE_HZ, np.arange(len(audio)), audio
    ).astype(np.float32)
    resampler = StreamResampler(MIC_RATE_HZ)
    started = time.process_time()
    for i in range(0, len(mic), MIC_BLOCK):
        resampler(mic[i : i + MIC_BLOCK])
    resample_ms = (time.process_time() - started) * 1000 / seconds

    vad, seg = SileroVad(), Segmenter()
    frames = len(audio) // FRAME_SAMPLES
    started = time.process_time()
    for i in range(frames):
        frame = audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
        seg.feed(frame, vad(frame))
    vad_ms = (time.process_time() - started) * 1000 / seconds
    out = {
        "audio_s": seconds,
        "resample_48k_ms_per_audio_s": round(resample_ms, 3),
        "vad_segmenter_ms_per_audio_s": round(vad_ms, 3),
        "vad_ms_per_frame": round(vad_ms * FRAME_SAMPLES / RATE_HZ, 4),
    }
    section = Section(out)
    section.metric("stage.resample_ms_per_audio_s", resample_ms, "ms/s")
    section.metric("stage.vad_ms_per_audio_s", vad_ms, "ms/s")
    say(f"stages: resample {resample_ms:.2f} ms, VAD {vad_ms:.1f} ms per second of audio")
    return section


def decode_by_length(
    decoder: Any,
    speech: np.ndarray,
    line_ends_s: list[float],
    lengths_s: tuple[float, ...],
    repeats: int,
    prefix: str = "stage",
    baseline: bool = True,
) -> Section:
    """Decode time of utterances of each length, in the two settings the pipeline uses.

    * final: the utterance ends where a scripted line ends (the speaker stopped);
    * partial: it ends in the middle of a line and only its uncommitted end is
      decoded, as the streaming policy does: at most ``max_commit_lag_s`` of words
      not yet committed plus about a second of overlap words before them;
    * transcribe: ``WhisperModel.transcribe`` on the final's audio (pads to 30 s):
      what a straightforward integration pays, for comparison.
    """
    from assistant.asr.config import StreamingConfig

    window_s = StreamingConfig().max_commit_lag_s + 1.0
    rows: list[dict[str, Any]] = []
    section = Section()
    times_by_length: dict[float, dict[str, list[float]]] = {}
    for length in lengths_s:
        n = int(length * RATE_HZ)
        # The last line end with enough speech before it; else the end of the material.
        end_final = next((e for e in line_ends_s if e >= length), len(speech) / RATE_HZ)
        final_audio = speech[max(0, int(end_final * RATE_HZ) - n) : int(end_final * RATE_HZ)]
        mid = int((end_final - 0.6) * RATE_HZ)  # mid-word, inside the same line
        partial_audio = speech[max(0, mid - n) : mid][-int(window_s * RATE_HZ) :]
        row: dict[str, Any] = {"utterance_s": length}
        times: dict[str, list[float]] = {}
        for label, clip in (("final", final_audio), ("partial", partial_audio)):
            times[label] = [decoder.decode(clip).decode_s for _ in range(repeats)]
            row[f"{label}_s"] = round(statistics.median(times[label]), 4)
            row[f"{label}_audio_s"] = round(len(clip) / RATE_HZ, 2)
        if baseline:
            times["transcribe"] = [_transcribe_time(decoder, final_audio) for _ in range(repeats)]
            row["transcribe_s"] = round(statistics.median(times["transcribe"]), 4)
        rows.append(row)
        times_by_length[length] = times
        section.metric(
            f"{prefix}.decode_final_{length:g}s",
            row["final_s"],
            "s",
            noise=_median_noise(times["final"]),
        )
        section.metric(
            f"{prefix}.decode_partial_{length:g}s",
            row["partial_s"],
            "s",
            noise=_median_noise(times["partial"]),
        )
        if baseline:
            # What short encoder windows save, as a ratio within the run.
            section.metric(
                f"ratio.decode_final_{length:g}s_vs_transcribe",
                ratio(row["final_s"], row["transcribe_s"]),
                "ratio",
                kind="normalized",
                noise=bootstrap_noise(_median_ratio, times["final"], times["transcribe"]),
            )
        say(
            f"{prefix}: decode {length:g} s utterance: final {row['final_s'] * 1000:.0f} ms, "
            f"partial {row['partial_s'] * 1000:.0f} ms"
            + (f", transcribe() {row['transcribe_s'] * 1000:.0f} ms" if baseline else "")
        )
    if 15 in times_by_length and 2 in times_by_length and prefix == "stage":
        # Cost growth with utterance length, as a ratio within the run: 15 s over 2 s.
        long, short = times_by_length[15]["final"], times_by_length[2]["final"]
        section.metric(
            "ratio.decode_15s_vs_2s",
            _median_ratio(long, short),
            "ratio",
            kind="normalized",
            noise=bootstrap_noise(_median_ratio, long, short),
        )
    section.detail = {"rows": rows, "repeats": repeats, "partial_window_s": window_s}
    return section


def _median_noise(times: list[float]) -> float | None:
    return bootstrap_noise(statistics.median, times)


def _median_ratio(a: list[float], b: list[float]) -> float | None:
    return ratio(statistics.median(a), statistics.median(b))


def _transcribe_time(decoder: Any, audio: np.ndarray) -> float:
    """The same loaded model through faster-whisper's usual API (pads to 30 s)."""
    from .baselines import transcribe

    started = time.perf_counter()
    transcribe(decoder, audio)
    return time.perf_counter() - started


def detectors(data: Path | None) -> Section:
    """Per final transcript: conversation-state update (sentiment scoring included)
    and each detector, on the sample call's lines, and on a real 18-minute meeting via
    the detector evaluation's AMI replay (``tools.train.corpora``) when data exists."""
    from assistant.coach.conversation import ConversationState
    from assistant.coach.detectors import Context, Mode, Roles, detectors_for
    from assistant.coach.sentiment import default_model
    from assistant.events import FinalTranscript, Speaker

    from .material import load_script

    started = time.perf_counter()
    scorer = default_model()
    load_s = time.perf_counter() - started
    state = ConversationState(scorer=scorer)
    roles = Roles.for_mode(Mode.SALES)
    per_detector: dict[str, list[float]] = {}
    update_ms: list[float] = []
    script = load_script()
    for i, line in enumerate(script * 4):  # a few rounds: the state grows as in a call
        offset = (i // len(script)) * 80.0
        final = FinalTranscript(
            Speaker(line["speaker"]),
            i,
            line["start"] + offset,
            line["end"] + offset,
            line["text"],
            0.0,
            0.0,
        )
        t = time.perf_counter()
        utt = state.add_final(final)
        update_ms.append((time.perf_counter() - t) * 1000)
        ctx = Context(state, roles, utt)
        for detect in detectors_for(Mode.SALES):
            t = time.perf_counter()
            detect(ctx)
            per_detector.setdefault(detect.__name__, []).append((time.perf_counter() - t) * 1000)
    total = [u + sum(v[k] for v in per_detector.values()) for k, u in enumerate(update_ms)]
    out: dict[str, Any] = {
        "sentiment_model_load_s": round(load_s, 3),
        "state_update_ms": percentiles(update_ms),
        "all_detectors_ms": percentiles(total),
        "per_detector_ms_p50": {k: percentiles(v)["p50"] for k, v in sorted(per_detector.items())},
    }
    section = Section(out)
    section.metric("stage.detectors_ms_per_final", out["all_detectors_ms"]["p50"], "ms")
    if data is not None:
        from tools.train.corpora import eval_ami

        try:
            ami = eval_ami(data)
        except FileNotFoundError as exc:
            raise Skip(f"AMI text missing for the engine timing ({exc})") from exc
        out["ami_engine_ms_per_final"] = {
            name: ami[name]["engine_ms_per_final"] for name in ("sales-call", "coaching-1on1")
        }
        section.metric(
            "stage.engine_ms_per_final_ami", ami["sales-call"]["engine_ms_per_final"], "ms"
        )
    say(f"stages: detectors {out['all_detectors_ms']['p50']:.2f} ms per final (p50)")
    return section
