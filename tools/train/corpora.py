"""The detectors on labelled dialogue text in ``../shared/eval`` (part of
``python -m tools.train.evaluate``).

Per detector, precision / recall / F1 against the nearest labels, next to a plain
VADER-compound baseline on the same utterances; cards and signals on a neutral AMI
meeting and on a friendly call; time per utterance. Nothing here is used for tuning:
the negativity weights are trained on MELD *train* only (``tools.train.negativity``),
the objection weights on the train and dev splits (``tools.train.objections``).
"""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from assistant.coach.conversation import ConversationState
from assistant.coach.detectors import Context, Mode, Roles
from assistant.coach.detectors import language as lang
from assistant.coach.engine import SuggestionEngine
from assistant.coach.playbook import load_playbook
from assistant.coach.sentiment import default_model, vader_scores
from assistant.events import FinalTranscript, SilenceTick, Speaker, Suggestion

REPO = Path(__file__).resolve().parents[2]
# A friendly call with a neutral pricing question, a finance director and "email it
# over": the false-card check of issue 19 (it must get no card).
FRIENDLY_CALL = REPO / "tests" / "fixtures" / "transcripts" / "friendly_pricing_call.jsonl"
SAMPLE_SCRIPT = REPO / "assistant" / "samples" / "sample_call.json"
# VADER's documented cut-off for "negative" compound scores.
VADER_NEGATIVE = -0.05
# USS ratings: 1-5 with 3 "normal"; a mean of 2 or less is a dissatisfied user.
USS_DISSATISFIED = 2.0
# SwDA acts that refuse or push back: reject, dispreferred answer, no-answers.
SWDA_REJECT = {"ar", "arp_nd", "nn", "ng"}
SWDA_NON_UNDERSTANDING = {"br"}
TICK_S = 0.25  # the live silence clock's period


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def prf(pred: list[bool], gold: list[bool]) -> dict[str, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "positives": sum(gold),
        "n": len(gold),
    }


def vader_negative(text: str) -> bool:
    return vader_scores(text)["compound"] <= VADER_NEGATIVE


def utterance_detector(detect: Callable[[Context], list[Any]]) -> Callable[[str], bool]:
    """Run a single-utterance language detector on text spoken by the customer."""
    model = default_model()
    roles = Roles.for_mode(Mode.SALES)

    def run(text: str) -> bool:
        state = ConversationState(scorer=model)
        event = FinalTranscript(Speaker.CUSTOMER, 1, 0.0, 1.0, text, 0.0, 0.0)
        return bool(detect(Context(state, roles, state.add_final(event))))

    return run


def eval_binary(
    name: str, texts: list[str], gold: list[bool], detector: Callable[[str], bool]
) -> dict[str, Any]:
    started = time.perf_counter()
    pred = [detector(t) for t in texts]
    elapsed = time.perf_counter() - started
    result = prf(pred, gold)
    result["ms_per_utterance"] = round(1000 * elapsed / max(len(texts), 1), 4)
    result["baseline_vader"] = prf([vader_negative(t) for t in texts], gold)
    print(f"  {name}: F1 {result['f1']:.3f} (VADER {result['baseline_vader']['f1']:.3f})")
    return result


def eval_meld(data: Path) -> dict[str, Any]:
    """MELD dev (and test, where the data folder has it), model and detector."""
    out: dict[str, Any] = {}
    model = default_model()
    for split in ("dev", "test"):
        path = data / "text" / f"meld_{split}.jsonl"
        if not path.exists():
            continue
        rows = load_jsonl(path)
        texts = [r["text"] for r in rows]
        gold = [r["sentiment"] == "negative" for r in rows]
        out[f"customer_negativity (MELD {split})"] = eval_binary(
            f"MELD {split} negativity", texts, gold, model.is_negative
        )
        out[f"customer_negativity detector (MELD {split})"] = eval_binary(
            f"MELD {split} negativity via detector", texts, gold,
            utterance_detector(lang.negativity),
        )  # fmt: skip
    return out


def eval_swda(data: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split in ("swda_val.jsonl", "swda_train.jsonl.gz"):
        path = data / "text" / split
        if not path.exists():
            continue
        rows = [r for r in load_jsonl(path) if r.get("text", "").strip()]
        texts = [r["text"] for r in rows]
        tags = [str(r.get("dialog_act", "")) for r in rows]
        label = split.split(".")[0]
        out[f"objection vs reject/no-answer ({label})"] = eval_binary(
            f"SwDA {label} objection", texts, [t in SWDA_REJECT for t in tags],
            utterance_detector(lang.objection),
        )  # fmt: skip
        out[f"confusion vs non-understanding ({label})"] = eval_binary(
            f"SwDA {label} confusion", texts, [t in SWDA_NON_UNDERSTANDING for t in tags],
            utterance_detector(lang.confusion),
        )  # fmt: skip
    return out


def eval_uss(data: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    model = default_model()
    for name in ("uss_sgd.jsonl", "uss_mwoz.jsonl"):
        path = data / "text" / name
        if not path.exists():
            continue
        rows = [r for r in load_jsonl(path) if r.get("speaker") == "USER" and "sat_mean" in r]
        texts = [r["text"] for r in rows]
        gold = [float(r["sat_mean"]) <= USS_DISSATISFIED for r in rows]
        out[f"customer_negativity vs dissatisfied ({name.split('.')[0]})"] = eval_binary(
            f"{name} dissatisfaction", texts, gold, model.is_negative
        )
    return out


def ami_events(rows: list[dict[str, Any]], roles: dict[str, Speaker]) -> Iterator[Any]:
    """Finals at their end times with silence ticks between, as the live clock would."""
    rows = sorted(rows, key=lambda r: r["end"])
    t, last_end = 0.0, 0.0
    for i, row in enumerate(rows):
        while t + TICK_S < row["end"]:
            t += TICK_S
            speaking = any(r["start"] <= t < r["end"] for r in rows[i : i + 8])
            yield SilenceTick(t, 0.0 if speaking else max(0.0, t - last_end), 0.0)
        last_end = max(last_end, row["end"])
        yield FinalTranscript(roles[row["speaker"]], i, row["start"], row["end"], row["text"], 0, 0)


def eval_ami(data: Path) -> dict[str, Any]:
    rows = load_jsonl(data / "text" / "ami_ES2011a.jsonl")
    talk: Counter[str] = Counter()
    for r in rows:
        talk[r["speaker"]] += r["end"] - r["start"]
    ranked = [s for s, _ in talk.most_common()]
    hours = (max(r["end"] for r in rows) - min(r["start"] for r in rows)) / 3600
    # Harshest honest mapping: the meeting's main talker plays the coached user.
    setups = {
        "sales-call": {s: Speaker.REP if s == ranked[0] else Speaker.CUSTOMER for s in ranked},
        "coaching-1on1": {
            s: Speaker.MANAGER if s == ranked[0] else Speaker.REP if s == ranked[1]
            else Speaker.UNKNOWN for s in ranked
        },
    }  # fmt: skip
    out: dict[str, Any] = {"minutes": round(hours * 60, 1), "utterances": len(rows)}
    for playbook_name, roles in setups.items():
        engine = SuggestionEngine(load_playbook(playbook_name))
        cards: list[Suggestion] = []
        signals: Counter[str] = Counter()
        finals, elapsed = 0, 0.0
        for event in ami_events(rows, roles):
            started = time.perf_counter()
            outputs = engine.feed(event)
            if isinstance(event, FinalTranscript):
                elapsed += time.perf_counter() - started
                finals += 1
            for o in outputs:
                if isinstance(o, Suggestion):
                    cards.append(o)
                else:
                    signals[o.detector] += 1
        out[playbook_name] = {
            "cards": len(cards),
            "cards_per_hour": round(len(cards) / hours, 2),
            "card_triggers": [f"{c.trigger}@{c.at_s:.0f}s" for c in cards],
            "signals": dict(sorted(signals.items())),
            "engine_ms_per_final": round(1000 * elapsed / max(finals, 1), 4),
        }
        print(f"  AMI {playbook_name}: {len(cards)} cards in {hours * 60:.1f} min")
    return out


def eval_transcripts() -> dict[str, Any]:
    """Cards on the friendly pricing call (must be none) and on the sample call's
    script (its four moments), through the product's text replay."""
    from assistant.assemble import replay_transcript

    out: dict[str, Any] = {}
    for name, path in (("friendly_pricing_call", FRIENDLY_CALL), ("sample_call", SAMPLE_SCRIPT)):
        events: list[dict[str, Any]] = []
        replay_transcript(path, "sales-call", events.append, include_transcript=False)
        cards = [e for e in events if e["type"] == "Suggestion"]
        out[name] = {
            "cards": [
                f"{c['trigger']}:{c['evidence'].get('category', '')}".rstrip(":") for c in cards
            ],
            "objection_signals": sum(
                e["type"] == "Signal" and e["detector"] == "objection" for e in events
            ),
        }
    return out
