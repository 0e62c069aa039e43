"""Objections spoken through the whole product: a two-channel call of the held-out lines.

Each held-out customer line follows a neutral rep question: the rep on the left
channel, the customer on the right (espeak-ng voices tiny.en understands), the line
``ANSWER_GAP_S`` after the question and the next question ``NEXT_GAP_S`` after the
line. ``turnaround replay CALL.wav --fast --json`` runs it through VAD, Whisper,
the detectors and the playbook, exactly as a user would; every objection signal and
card is then attributed to the line whose window it falls in.

Generated files live under ``tools/train/generated/spoken/`` (git ignored): the call
(WAV and its timeline) is keyed by its lines and voices, the replay's event log by
the call *and* the product (``assistant/``'s code and weights), so new weights or a
changed featuriser get a fresh replay and nothing stale is ever scored. The event
log is kept whole (pieces, revisions, signals, cards), so other views of the same
run, such as cards raised on first text against those on final text, can be scored
from it later without decoding again.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tools.train.data import REPO, Example
from tools.train.speech import RATE_HZ, Voice, synthesize

SPOKEN_DIR = Path(__file__).resolve().parent / "generated" / "spoken"
PRODUCT = REPO / "assistant"
# Bump when the layout below changes: the cache key includes it.
LAYOUT_VERSION = 1
REP_VOICE = Voice("en-us+m3", 150)  # RECIPES.md: the voice tiny.en gets nearly right
CUSTOMER_VOICE = Voice("en-us+f2", 175)  # RECIPES.md's second, distinct voice
LEAD_S = 0.5
ANSWER_GAP_S = 1.0  # a quick answer: well under the 5 s dead-air-after-question rule
NEXT_GAP_S = 3.0  # the "3 s apart"; far above the 0.4 s that ends an utterance
# Neutral rep questions, rotated; none of them is an objection or a card trigger.
REP_QUESTIONS = (
    "How does that sound so far?",
    "What do you think about the proposal?",
    "How does the pricing look to you?",
    "Where do you see this fitting in for your team?",
    "When would you want to get started?",
    "Who else should we bring into the conversation?",
    "How are you handling this today?",
    "Does the next step make sense to you?",
)


@dataclass(frozen=True)
class Slot:
    """Where one customer line sits in the call (seconds on the stream clock)."""

    start_s: float
    end_s: float
    window_end_s: float  # signals up to here belong to this line


def _key(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def product_key() -> str:
    """This checkout's product, hashed: its code and shipped weights. A replay log is
    valid only for the product that wrote it; the detectors' featurisers are code, and
    a log written by new weights through an old featuriser (or the reverse) scored
    wrongly once (issue 19)."""
    digest = hashlib.sha1()
    for path in sorted(PRODUCT.rglob("*")):
        if path.suffix in (".py", ".json", ".yaml", ".toml") and path.is_file():
            digest.update(str(path.relative_to(PRODUCT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_call(examples: list[Example], customer: Voice, folder: Path) -> list[Slot]:
    """Write ``folder/call.wav`` (stereo, 16 kHz) and return each line's slot."""
    left: list[np.ndarray] = [np.zeros(int(LEAD_S * RATE_HZ), np.float32)]
    right: list[np.ndarray] = [left[0]]
    t = LEAD_S
    slots: list[Slot] = []
    for i, example in enumerate(examples):
        question = synthesize(REP_QUESTIONS[i % len(REP_QUESTIONS)], REP_VOICE)
        answer = synthesize(example.text, customer)
        gap = np.zeros(int(ANSWER_GAP_S * RATE_HZ), np.float32)
        after = np.zeros(int(NEXT_GAP_S * RATE_HZ), np.float32)
        left += [question, gap, np.zeros_like(answer), after]
        right += [np.zeros_like(question), gap, answer, after]
        start = t + (len(question) + len(gap)) / RATE_HZ
        end = start + len(answer) / RATE_HZ
        t = end + NEXT_GAP_S
        slots.append(Slot(round(start, 3), round(end, 3), round(t, 3)))
    stereo = np.stack([np.concatenate(left), np.concatenate(right)], axis=1)
    pcm = (np.clip(stereo, -1.0, 1.0) * 32767).astype("<i2")
    folder.mkdir(parents=True, exist_ok=True)
    with wave.open(str(folder / "call.wav"), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(RATE_HZ)
        handle.writeframes(pcm.tobytes())
    timeline = {
        "lines": [e.text for e in examples],
        "labels": [e.label for e in examples],
        "slots": [s.__dict__ for s in slots],
        "rep_voice": REP_VOICE.key,
        "customer_voice": customer.key,
    }
    (folder / "timeline.json").write_text(json.dumps(timeline, indent=1) + "\n", "utf-8")
    return slots


def replay(wav: Path, log: Path) -> list[dict[str, Any]]:
    """``turnaround replay WAV --fast --json`` (this checkout's product); its events."""
    command = [sys.executable, "-m", "assistant", "replay", str(wav), "--fast", "--json"]
    command += ["--no-record", "--no-server"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"replay failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    log.write_text(done.stdout, "utf-8")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def spoken_call(
    examples: list[Example], customer: Voice = CUSTOMER_VOICE, fresh: bool = False
) -> tuple[Path, list[Slot]]:
    """The call's folder (``call.wav``, ``timeline.json``) and its slots, made once."""
    call_key = _key(LAYOUT_VERSION, REP_VOICE.key, customer.key, [e.text for e in examples])
    folder = SPOKEN_DIR / f"{customer.key}-{call_key}"
    timeline = folder / "timeline.json"
    if fresh or not timeline.exists():
        print(f"  speaking {len(examples)} lines ({customer.key}) into {folder}", flush=True)
        return folder, build_call(examples, customer, folder)
    return folder, [Slot(**s) for s in json.loads(timeline.read_text("utf-8"))["slots"]]


def spoken_run(
    examples: list[Example], customer: Voice = CUSTOMER_VOICE, fresh: bool = False
) -> tuple[list[Slot], list[dict[str, Any]], dict[str, Any]]:
    """(slots, replay events, how they were made), from the cache when it is valid."""
    folder, slots = spoken_call(examples, customer, fresh)
    log = folder / f"replay-{product_key()}.jsonl"
    cached = log.exists() and not fresh
    if cached:
        events = [json.loads(x) for x in log.read_text("utf-8").splitlines() if x.strip()]
    else:
        print(f"  turnaround replay {folder / 'call.wav'} --fast --json", flush=True)
        events = replay(folder / "call.wav", log)
    how = {"call": str(folder.relative_to(REPO)), "replay_log": log.name, "cached": cached}
    return slots, events, how


def _slot_of(slots: list[Slot], at_s: float) -> int | None:
    for i, slot in enumerate(slots):
        if slot.start_s - ANSWER_GAP_S / 2 <= at_s < slot.window_end_s:
            return i
    return None


def per_line(slots: list[Slot], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the product did with each line: the customer's final text (an utterance's
    ``TranscriptRevision`` where it has one, else its pieces), its objection signals
    and cards. A line's verdict is its most confident objection signal."""
    rows: list[dict[str, Any]] = [
        {"heard": {}, "signals": [], "cards": 0, "negative": False} for _ in slots
    ]
    for event in events:
        kind = event.get("type")
        final = kind in ("FinalTranscript", "TranscriptRevision")
        at_s = event.get("end_s") if final else event.get("at_s")
        if at_s is None or (i := _slot_of(slots, float(at_s))) is None:
            continue
        if final and event.get("speaker") == "customer":
            pieces = rows[i]["heard"].setdefault(event.get("utterance_id"), [])
            if kind == "TranscriptRevision":
                pieces[:] = [event["text"]]
            else:
                pieces.append(event["text"])
        elif kind == "Signal" and event.get("detector") == "objection":
            rows[i]["signals"].append((event["confidence"], event["evidence"].get("category", "")))
        elif kind == "Signal" and event.get("detector") == "customer_negativity":
            rows[i]["negative"] = True
        elif kind == "Suggestion" and event.get("trigger") == "objection":
            rows[i]["cards"] += 1
    out = []
    for row in rows:
        best = max(row["signals"], default=None)
        out.append(
            {
                "heard": " ".join(" ".join(p) for p in row["heard"].values()),
                "category": best[1] if best else None,
                "signals": len(row["signals"]),
                "cards": row["cards"],
                "negative": row["negative"],
            }
        )
    return out
