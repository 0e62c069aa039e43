"""Accuracy of streaming finals on real recordings (``../shared/eval/audio``).

For each recording: word error rate of the streaming finals against the reference
transcript, of an offline whole-file transcription with the same model against the
same reference, and of streaming against offline -- so what streaming itself costs
in accuracy (cutting at pauses, no cross-utterance context) is visible on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.events import FinalTranscript

from .common import CHANNEL_SPEAKERS, ResourceSampler, Results, Skip, say


@dataclass(frozen=True)
class Recording:
    name: str
    path: str  # under <data>/audio
    ref: str
    # Stereo recordings with one speaker per channel are split, as the product does
    # (left = rep, right = customer); "LEFT:"/"RIGHT:" lines in the reference.
    split: bool = False
    mix: bool = False  # a stereo file that is really mono (jfk.flac duplicates it)
    # Reference speech spans from MANIFEST.md, for the true end-of-speech latency.
    truth: list[dict[str, Any]] = field(default_factory=list)


RECORDINGS = (
    Recording("jfk", "faster_whisper/jfk.flac", "faster_whisper/jfk.ref.txt", mix=True),
    Recording(
        "ami_headset",
        "ami/ES2011a.Headset-0-40s-46s.wav",
        "ami/ES2011a.Headset-0-40s-46s.ref.txt",
        truth=[{"start": 1.46, "end": 2.82}, {"start": 3.36, "end": 4.36}],
    ),
    Recording(
        "stereo_diarization",
        "faster_whisper/stereo_diarization.wav",
        "faster_whisper/stereo_diarization.ref.txt",
        split=True,
    ),
)


def references(rec: Recording, data: Path) -> dict[str, str]:
    """Reference text per speaker value ("unknown" for one-channel recordings)."""
    text = (data / "audio" / rec.ref).read_text("utf-8")
    if not rec.split:
        return {"unknown": " ".join(text.split())}
    refs: dict[str, str] = {}
    for line in text.splitlines():
        side, _, words = line.partition(":")
        speaker = {"LEFT": "rep", "RIGHT": "customer"}.get(side.strip().upper())
        if speaker:
            refs[speaker] = words.strip()
    return refs


def pooled_wer(refs: dict[str, str], hyps: dict[str, str]) -> dict[str, Any]:
    """Errors summed over speakers / reference words summed (not a mean of rates)."""
    from assistant.asr.wer import wer, words

    errors = total = 0.0
    for speaker, ref in refs.items():
        n = len(words(ref))
        errors += wer(ref, hyps.get(speaker, "")) * n
        total += n
    return {"wer": round(errors / total, 4) if total else 0.0, "ref_words": int(total)}


def script_refs(script: list[dict[str, Any]]) -> dict[str, str]:
    """Reference text per speaker from a timed script (the sample call's lines)."""
    refs: dict[str, str] = {}
    for line in script:
        refs[line["speaker"]] = (refs.get(line["speaker"], "") + " " + line["text"]).strip()
    return refs


def hyps_from_finals(finals: list[FinalTranscript]) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for f in sorted(finals, key=lambda f: f.end_s):
        out.setdefault(f.speaker.value, []).append(f.text)
    return {k: " ".join(v) for k, v in out.items()}


def offline_text(decoder: Any, audio: Any) -> str:
    """Whole-channel transcription with faster-whisper's own loop, greedy, no VAD."""
    segments, _ = decoder._model.transcribe(
        audio, beam_size=1, temperature=0.0, condition_on_previous_text=False, language="en"
    )
    return " ".join(s.text.strip() for s in segments)  # consumed here, in this thread


def offline_by_channel(decoder: Any, stereo: Any) -> dict[str, str]:
    """Each channel of a two-speaker recording transcribed whole, by speaker."""
    return {sp: offline_text(decoder, stereo[:, ch]) for ch, sp in enumerate(CHANNEL_SPEAKERS)}


def offline_hyps(decoder: Any, path: Path, split: bool) -> dict[str, str]:
    from assistant.audio.file_source import decode_file

    if split:
        return offline_by_channel(decoder, decode_file(path, 2))
    audio = decode_file(path, 1)[:, 0]
    return {"unknown": offline_text(decoder, audio)}


def run(data: Path, decoder: Any, realtime: bool, results: Results) -> dict[str, Any]:
    from .end_to_end import analyse, make_session, run_sessions

    audio_dir = data / "audio"
    if not audio_dir.is_dir():
        raise Skip(f"no recordings under {audio_dir} (pass --data DIR)")
    out: dict[str, Any] = {}
    totals = {"stream": [0.0, 0], "offline": [0.0, 0], "stream_vs_offline": [0.0, 0]}
    for rec in RECORDINGS:
        path = audio_dir / rec.path
        if not path.is_file() or not (audio_dir / rec.ref).is_file():
            results.skip(f"accuracy.{rec.name}", f"{path} or its reference is missing")
            continue
        refs = references(rec, data)
        session = make_session(path, decoder, realtime=realtime, partials=realtime, mix=rec.mix)
        with ResourceSampler() as sampler:
            run_sessions([session])
        stream = hyps_from_finals(session.of(FinalTranscript))
        offline = offline_hyps(decoder, path, rec.split)
        row: dict[str, Any] = {
            "mode": "real time" if realtime else "fast",
            "stream_vs_ref": pooled_wer(refs, stream),
            "offline_vs_ref": pooled_wer(refs, offline),
            "stream_vs_offline": pooled_wer(offline, stream),
            "stream_text": stream,
            "offline_text": offline,
        }
        if realtime:  # latency in a fast replay only measures the backlog
            lat = analyse(session, rec.truth or None)
            row["final_true_s"] = lat["final_true_s"]
            row["final_vad_s"] = lat["final_vad_s"]
            row["cpu_share"] = round(sampler.cpu_share(), 4)
        out[rec.name] = row
        for key, src in (
            ("stream", "stream_vs_ref"),
            ("offline", "offline_vs_ref"),
            ("stream_vs_offline", "stream_vs_offline"),
        ):
            totals[key][0] += row[src]["wer"] * row[src]["ref_words"]
            totals[key][1] += row[src]["ref_words"]
        results.metric(
            f"accuracy.{rec.name}.wer_stream", row["stream_vs_ref"]["wer"], "WER", kind="accuracy"
        )
        say(
            f"accuracy: {rec.name}: WER stream {row['stream_vs_ref']['wer']:.3f}, offline "
            f"{row['offline_vs_ref']['wer']:.3f}, stream vs offline "
            f"{row['stream_vs_offline']['wer']:.3f}"
        )
    if not out:
        raise Skip("none of the reference recordings were found")
    pooled = {k: round(e / n, 4) if n else None for k, (e, n) in totals.items()}
    out["pooled"] = pooled
    results.metric("accuracy.wer_stream", pooled["stream"], "WER", kind="accuracy")
    results.metric("accuracy.wer_offline", pooled["offline"], "WER", kind="accuracy")
    results.metric(
        "accuracy.wer_stream_vs_offline", pooled["stream_vs_offline"], "WER", kind="accuracy"
    )
    return out
