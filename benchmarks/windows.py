"""What the short encoder window costs in words, on real speech.

Turnaround feeds Whisper's encoder the utterance plus silence up to a minimum
window (``assistant.asr.MIN_WINDOW_S``) instead of the 30 s Whisper was trained
on. Each reference utterance of the real recordings (the phone call's STM lines,
the LibriSpeech passages, jfk, the AMI lines), cut from 0.2 s before to 0.3 s after
its reference times, is decoded three ways with the same model: the utterance plus
1 s, padded to the minimum window, and padded to 30 s. Pooled WER and the median
decode time show what each costs. The WER is taken after the product's loop guard
(``text_guard.collapse_repeats``, which the streaming policy applies to every
decode); the raw WER beside it shows how often each window looped.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from .conversations import BUILDERS, RATE_HZ
from .results import Section, Skip, say
from .scoring import normalise

WINDOWS_S = (0.0, None, 30.0)  # 0: utterance + pad only; None: the product's minimum


def run(data: Path, model: str) -> Section:
    import jiwer

    from assistant.asr.decoder import MIN_WINDOW_S, WhisperDecoder
    from assistant.asr.models import resolve_model
    from assistant.asr.text_guard import collapse_repeats

    clips = []
    for name in ("phone_call", "libri_22s", "jfk", "ami_headset"):
        try:
            conversations = BUILDERS[name](data)
        except (FileNotFoundError, OSError):
            continue
        conv = conversations[0]  # the mono version
        for ref in conv.refs:
            lo = max(0, int((ref.start_s - 0.2) * RATE_HZ))
            hi = int((ref.end_s + 0.3) * RATE_HZ)
            clips.append((name, conv.audio[lo:hi, 0], ref.text))
    if not clips:
        raise Skip("no real recordings for the window comparison")
    out: dict[str, Any] = {"utterances": len(clips), "windows": {}}
    section = Section(out)
    spec = resolve_model(model)
    for window in WINDOWS_S:
        seconds = MIN_WINDOW_S if window is None else window
        label = f"{seconds:g}s" if seconds else "utterance+1s"
        decoder = WhisperDecoder(spec, min_window_s=seconds)
        decoder.warm_up()
        refs, hyps, raw, times = [], [], [], []
        for _, audio, text in clips:
            result = decoder.decode(audio)
            refs.append(" ".join(normalise(text)) or "-")
            hyps.append(" ".join(normalise(collapse_repeats(result.text))) or "-")
            raw.append(" ".join(normalise(result.text)) or "-")
            times.append(result.decode_s)
        errors, raw_errors = _errors(jiwer, refs, hyps), _errors(jiwer, refs, raw)
        ref_words = sum(len(r.split()) for r in refs)
        row = {
            "window": label,
            "wer": round(errors / ref_words, 4),
            "raw_wer": round(raw_errors / ref_words, 4),
            "errors": errors,
            "ref_words": ref_words,
            "decode_s_median": round(statistics.median(times), 4),
            "decode_s_total": round(sum(times), 3),
            "product_default": window is None,
        }
        out["windows"][label] = row
        section.metric(f"windows.{label}.wer", row["wer"], "WER", kind="accuracy")
        say(
            f"windows: {label}: WER {row['wer']:.3f} over {len(clips)} real utterances, "
            f"decode median {row['decode_s_median'] * 1000:.0f} ms"
        )
    return section


def _errors(jiwer: Any, refs: list[str], hyps: list[str]) -> int:
    m = jiwer.process_words(refs, hyps)
    return int(m.substitutions + m.deletions + m.insertions)


def table(section: dict[str, Any] | None) -> list[str]:
    if not section:
        return []
    out = [
        "",
        f"## Encoder window on real speech ({section['utterances']} reference utterances)",
        "",
        "| encoder window | WER | errors / words | WER without loop guard | decode median "
        "| decode total |",
        "|---|---|---|---|---|---|",
    ]
    for label, row in section["windows"].items():
        mark = " (default)" if row["product_default"] else ""
        out.append(
            f"| {label}{mark} | {row['wer']:.3f} | {row['errors']} / {row['ref_words']} | "
            f"{row.get('raw_wer', row['wer']):.3f} | {row['decode_s_median'] * 1000:.0f} ms | "
            f"{row['decode_s_total']:.2f} s |"
        )
    return out
