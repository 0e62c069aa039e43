"""Every figure of docs/detectors.md from one command: text, heard, spoken, corpora.

    python -m tools.train.evaluate --data ../shared/eval [--no-spoken] [--fresh]
        [--before tools/train/results/before.json]

* Objections per category on the development set's untouched test split, as text
  and as tiny.en heard it (``tools.train.noise``), and on the held-out everyday set
  (``benchmarks/data/objections_heldout.tsv``) as text and spoken through the whole
  product (``tools.train.spoken``: a two-channel call replayed by
  ``turnaround replay --fast --json``), beside the old phrase lexicon.
* False alarms per corpus: the neutral MELD / SwDA / CaSiNo test halves, the written
  neutral sales lines, the held-out neutral lines; objection signals and cards on the
  neutral AMI meeting, the friendly pricing call and the sample call's script.
* Customer negativity on MELD dev (and test where the data folder has one), as text
  and as heard; SwDA / USS rows as before.
* Time per utterance of both models.

Prints Markdown and writes ``tools/train/results/evaluation.{json,md}`` (git
ignored); a run with the spoken part also writes its tables into docs/detectors.md
(and the figures they come from into docs/detectors.json, ``tools.train.docs``).
``--before`` puts an earlier run's figures (its ``evaluation.json``) beside each one.
Nothing here is used for training or tuning.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from assistant.coach.detectors.objection_model import default_objection_model
from assistant.coach.sentiment import default_model
from tools.train import corpora, objection_eval
from tools.train.data import NOISED_MELD, Example, load_devset, read_meld
from tools.train.docs import DOCS, RESULTS, save_evaluation
from tools.train.report import render
from tools.train.speech import Voice
from tools.train.spoken import CUSTOMER_VOICE, per_line, spoken_run

# A voice kept out of the noised training set (tools.train.noise.VOICES): the spoken
# held-out figures are also given for a speaker the model has never heard.
UNSEEN_VOICE = Voice("en-us+m5", 160)


def word_error_rate(refs: list[str], hyps: list[str]) -> float | None:
    try:
        import jiwer
    except ImportError:  # the bench extra is not installed
        return None

    def norm(text: str) -> str:
        kept = "".join(c if c.isalnum() or c in " '" else " " for c in text.lower())
        return " ".join(kept.replace("-", " ").split()) or "-"

    return round(float(jiwer.wer([norm(r) for r in refs], [norm(h) for h in hyps])), 3)


def spoken(heldout: list[Example], voices: list[Voice], fresh: bool) -> dict[str, Any]:
    """The held-out set spoken by each voice through the whole product."""
    out: dict[str, Any] = {}
    for voice in voices:
        slots, events, how = spoken_run(heldout, voice, fresh)
        rows = per_line(slots, events)
        result = objection_eval.score_predictions(heldout, [r["category"] for r in rows])
        negatives = [r for r, e in zip(rows, heldout, strict=True) if e.label == "none"]
        result.update(
            how,
            wer=word_error_rate([e.text for e in heldout], [r["heard"] for r in rows]),
            objection_signals=sum(r["signals"] for r in rows),
            objection_cards=sum(r["cards"] for r in rows),
            cards_on_neutral_lines=sum(r["cards"] for r in negatives),
            misses=[
                {"text": e.text, "label": e.label, "heard": r["heard"], "got": r["category"]}
                for r, e in zip(rows, heldout, strict=True)
                if (r["category"] or "none") != e.label
            ],
        )
        print(f"  spoken ({voice.key}): F1 {result['any objection']['f1']:.3f}", flush=True)
        out[voice.key] = result
    return out


def meld_heard(data: Path, voice: Voice) -> dict[str, Any]:
    """MELD dev negativity on what tiny.en hears of it (one voice, cached)."""
    from tools.train.noise import generate, read_cache

    rows = read_meld(data / "text" / "meld_dev.jsonl")
    cache = NOISED_MELD.with_name("meld_dev_heard.jsonl")
    generate([t for t, _ in rows], [voice], cache)
    heard = read_cache(cache)
    texts = [heard.get((t, voice.key), "") for t, _ in rows]
    model = default_model()
    return corpora.eval_binary(
        f"MELD dev heard ({voice.key})", texts, [g for _, g in rows], model.is_negative
    )


def latency(devset_lines: list[str], repeats: int = 3) -> dict[str, Any]:
    """Per-utterance time of each model: p50 / p95 / mean in ms over real lines."""
    objection, negativity = default_objection_model(), default_model()
    out: dict[str, Any] = {}
    for name, run in (("objection", objection.classify), ("negativity", negativity.probability)):
        run("warm up")
        times = []
        for _ in range(repeats):
            for text in devset_lines:
                started = time.perf_counter()
                run(text)
                times.append(1000 * (time.perf_counter() - started))
        times.sort()
        out[name] = {
            "p50_ms": round(times[len(times) // 2], 4),
            "p95_ms": round(times[int(len(times) * 0.95)], 4),
            "mean_ms": round(sum(times) / len(times), 4),
            "utterances": len(devset_lines),
        }
    return out


def weights_meta() -> dict[str, Any]:
    """Which weights were scored (their training record, as shipped)."""
    return {
        "objections": {
            **default_objection_model().meta,
            "threshold": default_objection_model().threshold,
        },
        "negativity": {**default_model().meta, "threshold": default_model().threshold},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-spoken", action="store_true", help="skip espeak-ng and replay")
    parser.add_argument("--fresh", action="store_true", help="re-speak and re-replay")
    parser.add_argument(
        "--before", type=Path, help="an earlier evaluation.json to show beside this run"
    )
    parser.add_argument("--no-docs", action="store_true", help="leave docs/detectors.md as it is")
    parser.add_argument(
        "--voices",
        nargs="+",
        default=[CUSTOMER_VOICE.key, UNSEEN_VOICE.key],
        help="customer voices for the spoken held-out call (NAME@WPM)",
    )
    args = parser.parse_args(argv)
    if not (args.data / "text" / "meld_dev.jsonl").exists():
        print(f"error: no evaluation data under {args.data} (pass --data DIR)", file=sys.stderr)
        return 2
    before = json.loads(args.before.read_text("utf-8")) if args.before else None
    results: dict[str, Any] = {"weights": weights_meta()}
    print("objections (text, heard, held-out)...", flush=True)
    results["objections"] = objection_eval.evaluate(args.data, "test")
    devset = load_devset(args.data)
    if not args.no_spoken:
        print("objections spoken through the product...", flush=True)
        voices = [Voice.parse(v) for v in args.voices]
        results["spoken"] = spoken(devset.heldout, voices, args.fresh)
    for name, step in (("meld", corpora.eval_meld), ("swda", corpora.eval_swda)):
        print(f"{name}...", flush=True)
        results[name] = step(args.data)
    if not args.no_spoken:
        results["meld"]["customer_negativity heard (MELD dev)"] = meld_heard(
            args.data, CUSTOMER_VOICE
        )
    print("uss...", flush=True)
    results["uss"] = corpora.eval_uss(args.data)
    print("ami and transcripts...", flush=True)
    results["ami"] = corpora.eval_ami(args.data)
    results["transcripts"] = corpora.eval_transcripts()
    results["latency"] = latency([e.text for e in devset.test])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "evaluation.json").write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    table = render(results, before)
    (args.out / "evaluation.md").write_text(table, "utf-8")
    print(table)
    print(f"wrote evaluation.json and evaluation.md in {args.out}")
    if args.no_spoken or args.no_docs:
        # The page's tables have spoken columns: a run without them leaves it alone.
        print(f"{DOCS.relative_to(DOCS.parents[1])} left as it is")
    else:
        save_evaluation(results, before)
        print(f"wrote the tables of {DOCS.relative_to(DOCS.parents[1])} (and detectors.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
