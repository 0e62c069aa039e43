"""Cards on first text or on final text: would a detector judge them differently?

    python -m tools.train.first_final --data ../shared/eval [--no-docs]

The product decodes each utterance twice over: *first text* (pieces committed by
re-decodes while someone talks, ``assistant/asr/first_text.py``) and *final text*
(one offline-style decode of the whole utterance when it ends, a
``TranscriptRevision`` over its pieces). Cards are raised on final text. This
measures what acting on first text would change, per detector (objection, customer
negativity): how often the two texts get the same verdict, each one's precision and
recall against the labels, and how much earlier the first text's verdict comes.

The streaming policy itself (``StreamingTranscriber``, pure logic) runs over each
recording with real speech probabilities (Silero) and the product's tiny.en
decoder, on a simulated clock: audio arrives at real-time pace, and a decode takes
as long, in stream time, as it took on this CPU (one ASR worker; finals first,
partials one at a time and dropped when stale, as ``assistant/asr/worker.py``
schedules them). A realtime replay would give the same policy the same audio, but
would take the recordings' length and compete with whatever else the machine runs.

Recordings: the spoken held-out objection call (``tools.train.spoken``, customer
channel, one label per line), the bundled sample call (customer channel, labelled
by its script), and the real phone call and AMI meeting clips (one channel, no
objections: every objection verdict there is a false alarm).

A first-text verdict is the first moment the joined pieces so far cross the
detector's threshold (what a card on first text would be raised on); a final-text
verdict is the detector on the final text when it arrives.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tools.train.first_final_report import DETECTORS, by_line, compare, judge, render
from tools.train.streaming_sim import Heard, simulate

GENERATED = Path(__file__).resolve().parent / "generated" / "first_final"
SAMPLE_OBJECTIONS = ("expensive for us", "fine with what we have")


@dataclass(frozen=True)
class Recording:
    name: str
    load: Callable[[], np.ndarray]  # 16 kHz mono: the channel the detectors judge
    # Labelled lines: (window, objection label or None) per line; None: unlabelled,
    # every utterance is an item (and an objection verdict is a false alarm).
    lines: Callable[[], list[tuple[tuple[float, float], str | None]]] | None = None
    neutral: bool = False
    # What each labelled line says (for the word error rate of each text).
    refs: Callable[[], list[str]] | None = None


def label_of(label: str) -> str | None:
    return None if label == "none" else label


def _heldout_recordings(data: Path) -> list[Recording]:
    from tools.train.data import load_devset
    from tools.train.evaluate import UNSEEN_VOICE
    from tools.train.spoken import ANSWER_GAP_S, CUSTOMER_VOICE, spoken_call

    heldout = load_devset(data, heard=False).heldout
    out = []
    for voice in (CUSTOMER_VOICE, UNSEEN_VOICE):

        def load(voice: Any = voice) -> np.ndarray:
            from assistant.audio.file_source import decode_file

            folder, _ = spoken_call(heldout, voice)
            return decode_file(folder / "call.wav", 2)[:, 1].copy()

        def lines(voice: Any = voice) -> list[tuple[tuple[float, float], str | None]]:
            _, slots = spoken_call(heldout, voice)
            return [
                (
                    (s.start_s - ANSWER_GAP_S / 2, s.window_end_s),
                    None if e.label == "none" else e.label,
                )
                for s, e in zip(slots, heldout, strict=True)
            ]

        texts = [e.text for e in heldout]
        out.append(Recording(f"held-out spoken {voice.key}", load, lines, refs=lambda t=texts: t))
    return out


def _conversation(name: str, data: Path, mono: bool = True) -> list[Recording]:
    from benchmarks.conversations import BUILDERS

    out = []
    for conv in BUILDERS[name](data):
        if (conv.channel_speakers is None) != mono:
            continue
        channel = 0 if mono else conv.channel_speakers.index("customer")
        out.append(
            Recording(
                f"{conv.name} ({'mono' if mono else 'customer channel'})",
                lambda conv=conv, channel=channel: np.ascontiguousarray(conv.audio[:, channel]),
                neutral=name != "sample_call",
            )
        )
    return out


def _sample_call_lines() -> list[tuple[tuple[float, float], str | None]]:
    from benchmarks.conversations import sample_call

    refs = [r for r in sample_call()[0].refs if r.speaker == "customer"]
    out = []
    for i, ref in enumerate(refs):
        hi = refs[i + 1].start_s - 0.5 if i + 1 < len(refs) else ref.end_s + 10
        label = "objection" if any(s in ref.text for s in SAMPLE_OBJECTIONS) else None
        out.append(((ref.start_s - 0.5, hi), label))
    return out


def _sample_call_refs() -> list[str]:
    from benchmarks.conversations import sample_call

    return [r.text for r in sample_call()[0].refs if r.speaker == "customer"]


def word_errors(utts: list[Heard], windows: list[tuple[float, float]], refs: list[str]) -> dict:
    """Word error rate of the first text (all pieces joined) and of the final text."""
    from tools.train.evaluate import word_error_rate

    def text(lo: float, hi: float, final: bool) -> str:
        mine = [u for u in utts if lo <= u.end_s < hi]
        return " ".join(u.final if final else " ".join(p for _, p in u.pieces) for u in mine)

    return {
        kind: word_error_rate(refs, [text(lo, hi, kind == "final") for lo, hi in windows])
        for kind in ("first", "final")
    }


def recordings(data: Path) -> list[Recording]:
    sample = _conversation("sample_call", data, mono=False)[0]
    sample = Recording(sample.name, sample.load, _sample_call_lines, refs=_sample_call_refs)
    return [
        *_heldout_recordings(data),
        sample,
        *_conversation("phone_call", data),
        *_conversation("ami_meetings", data),
    ]


def code_key() -> str:
    """The ASR and VAD code on disk, hashed. Taken once, before the decoder is loaded:
    a key taken per recording once labelled a run's later recordings with code that
    changed on disk after this process had imported the old one (a stale cache)."""
    from tools.train.data import REPO

    digest = hashlib.sha1()
    for folder in ("asr", "vad"):
        for path in sorted((REPO / "assistant" / folder).glob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def heard_of(
    rec: Recording, decoder: Any, code: str, fresh: bool
) -> tuple[list[Heard], dict[str, Any]]:
    """The simulation of one recording, cached by its audio and ``code``
    (:func:`code_key` when the decoder was loaded)."""
    audio = rec.load().astype(np.float32)
    digest = hashlib.sha1(audio.tobytes())
    digest.update(code.encode())
    cache = GENERATED / f"{digest.hexdigest()[:12]}.json"
    if cache.exists() and not fresh:
        doc = json.loads(cache.read_text("utf-8"))
    else:
        started = time.perf_counter()
        utts, decode_s = simulate(audio, decoder)
        doc = {
            "utterances": [u.__dict__ for u in utts],
            "audio_s": round(len(audio) / 16000, 1),
            "sim_wall_s": round(time.perf_counter() - started, 1),
            "decodes": {k: len(v) for k, v in decode_s.items()},
            "decode_s_median": {
                k: round(statistics.median(v), 3) for k, v in decode_s.items() if v
            },
        }
        GENERATED.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(doc) + "\n", "utf-8")
    utts = [
        Heard(u["start_s"], u["end_s"], [tuple(p) for p in u["pieces"]], u["final"], u["final_at"])
        for u in doc["utterances"]
    ]
    meta = {k: v for k, v in doc.items() if k != "utterances"}
    return utts, meta


def evaluate(data: Path, fresh: bool = False) -> dict[str, Any]:
    from tools.train.speech import load_decoder

    code = code_key()
    decoder = load_decoder()
    judges = {name: make() for name, make in DETECTORS.items()}
    out: dict[str, Any] = {"recordings": {}}
    for rec in recordings(data):
        print(f"  {rec.name} ...", flush=True)
        utts, meta = heard_of(rec, decoder, code, fresh)
        row: dict[str, Any] = {**meta, "utterances": len(utts)}
        if rec.lines is not None and rec.refs is not None:
            row["wer"] = word_errors(utts, [w for w, _ in rec.lines()], rec.refs())
        for name, detector in judges.items():
            if rec.lines is not None:
                lines = rec.lines()
                windows = [w for w, _ in lines]
                verdicts = by_line(utts, windows, detector)
                pieces = [
                    any(u.had_pieces for u in utts if lo <= u.end_s < hi) for lo, hi in windows
                ]
                labels = [label for _, label in lines] if name == "objection" else None
            else:
                verdicts = [judge(u, detector) for u in utts]
                pieces = [u.had_pieces for u in utts]
                labels = [None] * len(utts) if name == "objection" and rec.neutral else None
            row[name] = compare(verdicts, labels, pieces)
        out["recordings"][rec.name] = row
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--fresh", action="store_true", help="simulate again, not from cache")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/detectors.md alone")
    args = parser.parse_args(argv)
    result = evaluate(args.data, args.fresh)
    from tools.train.docs import FIRST_FINAL_JSON, FIRST_FINAL_MARKERS, save

    print(render(result))
    if not args.no_docs:
        save(FIRST_FINAL_JSON, result, render, FIRST_FINAL_MARKERS)
        print(f"wrote {FIRST_FINAL_JSON.name} and its tables in docs/detectors.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
