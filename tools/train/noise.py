"""Build the ASR-noised copy of the objection development set (and of MELD train).

    python -m tools.train.noise                     # objections.tsv, every voice
    python -m tools.train.noise --set meld --voices en-us+m3@150

Each written line of ``benchmarks/data/objections.tsv`` is spoken by several
espeak-ng voices and rates and transcribed by the product's own decoder (tiny.en),
so the detectors learn from what they actually receive: "we get by fine with
spreadsheets" heard as "we get by fine with Brad Sheets". The held-out file is never
read here. The result is a generated cache under ``tools/train/generated/`` (git
ignored; never committed): one JSON line per (line, voice), appended as it goes, so
an interrupted run resumes where it stopped and new lines cost only themselves.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from tools.train.data import NOISED_MELD, NOISED_OBJECTIONS, WRITTEN, read_meld_train, read_tsv
from tools.train.speech import Voice, load_decoder, synthesize, transcribe

CACHES = {"objections": NOISED_OBJECTIONS, "meld": NOISED_MELD}
# Voices tiny.en understands about as well as it understands a real phone call
# (word error rate on 25 written lines, measured here: en-us+m3 0.14 at 150 and 170
# wpm, 0.15 at 130; en-gb+m2 0.17, 0.20 at 130; en-us+m7 0.17; en-us+f2 0.22 at 175
# and 170; en-gb+f3 0.21; the phone call in benchmarks/data is ~0.19). Left out:
# en-029 0.27, en-us+f4 0.26 and en-gb-scotland 0.33, which lose whole sentences.
# en-us+m5 (0.16) is kept out of training on purpose: the spoken evaluation can use
# it as a voice the model has never heard.
VOICES = (
    "en-us+m3@150",
    "en-us+m3@130",
    "en-us+m3@170",
    "en-us+f2@175",
    "en-us+f2@140",
    "en-gb+m2@175",
    "en-gb+m2@130",
    "en-us+m7@150",
    "en-gb+f3@160",
)
PROGRESS_EVERY = 50


def read_cache(path: Path) -> dict[tuple[str, str], str]:
    """(clean text, voice key) -> what the decoder heard."""
    out: dict[tuple[str, str], str] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out[(row["text"], row["voice"])] = row["heard"]
    return out


def generate(texts: Iterable[str], voices: list[Voice], cache: Path, threads: int = 1) -> int:
    """Speak and transcribe every (text, voice) pair not in ``cache`` yet."""
    done = read_cache(cache)
    todo = [(t, v) for t in dict.fromkeys(texts) for v in voices if (t, v.key) not in done]
    print(f"{cache.name}: {len(done)} cached, {len(todo)} to decode", flush=True)
    if not todo:
        return 0
    decoder = load_decoder(threads)
    cache.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with cache.open("a", encoding="utf-8") as out:
        for n, (text, voice) in enumerate(todo, start=1):
            heard = transcribe(decoder, synthesize(text, voice))
            row = {"text": text, "voice": voice.key, "heard": heard}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            if n % PROGRESS_EVERY == 0 or n == len(todo):
                out.flush()
                spent = time.perf_counter() - started
                left = spent / n * (len(todo) - n)
                print(
                    f"  {n}/{len(todo)} ({spent:.0f} s, ~{left / 60:.0f} min left): "
                    f"{text!r} -> {heard!r}",
                    flush=True,
                )
    return len(todo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(CACHES), default="objections")
    parser.add_argument("--data", type=Path, default=Path("../shared/eval"), help="for --set meld")
    parser.add_argument("--voices", nargs="+", default=list(VOICES), help="NAME@WPM ...")
    parser.add_argument("--limit", type=int, help="only the first N lines (a quick look)")
    parser.add_argument("--threads", type=int, default=1, help="decoder threads")
    args = parser.parse_args(argv)
    if args.set == "objections":
        texts = [e.text for e in read_tsv(WRITTEN, "written")]
    else:
        try:
            texts = [text for text, _ in read_meld_train(args.data)]
        except FileNotFoundError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    texts = texts[: args.limit] if args.limit else texts
    generate(texts, [Voice.parse(v) for v in args.voices], CACHES[args.set], args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
