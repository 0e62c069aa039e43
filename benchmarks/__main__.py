"""Where does the time go, and did my change make it worse?

    python -m benchmarks --quick                 # ~3 min: every section, smaller
    python -m benchmarks                         # the full run (~10 min on 2 cores)
    python -m benchmarks --quick --compare benchmarks/reference-quick.json   # gate

Each section (``realspeech``, ``e2e``, ...) is a function that returns its figures
(:class:`results.Section`); sessions run through ``harness`` (the product's own
``assemble``); the budget is ``budget.BUDGET``. Writes ``<out>/<time>-<mode>/``:
``result.json`` (every figure), ``summary.md`` (the tables) and PNG plots. See
benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .material import REPO, SAMPLE_CALL
from .results import Results, Section, Skip, say

SECTIONS = ("realspeech", "stages", "e2e", "scaling", "cost")
DEFAULT_DATA = REPO.parent / "shared" / "eval"
DEFAULT_OUT = REPO / "benchmarks" / "results"
REFERENCE = REPO / "benchmarks" / "reference.json"


@dataclass(frozen=True)
class Plan:
    """How big each section is. Quick keeps every section but shrinks it."""

    mode: str
    call_window_s: tuple[float, float] | None  # part of the sample call; None = all
    decode_lengths_s: tuple[float, ...] = (1, 2, 4, 8, 15)
    decode_repeats: int = 3
    transcribe_baseline: bool = True
    fanout_clients: tuple[int, ...] = (1, 10, 50)
    fanout_messages: int = 50
    streams: tuple[int, ...] = (1, 2, 4)
    silence_s: float = 15.0
    long_minutes: float = 30.0
    vad_audio_s: float = 30.0
    # Real recordings replayed in real time (None: all of conversations.BUILDERS).
    realspeech: tuple[str, ...] | None = None
    # Offline decoding is repeated for the spread of its CPU figure.
    offline_repeats: int = 3
    # Recordings replayed once more beside a process that keeps one core half busy.
    loaded: tuple[str, ...] = ("phone_call", "ami_en2002a", "ami_es2003b")


FULL = Plan("full", None)
# The quick window (29.5-50 s) holds an objection, a "but" and a card: every stage
# of the path appears, in 20 s of real-time replay.
QUICK = Plan(
    "quick",
    (29.5, 50.0),
    decode_repeats=1,
    transcribe_baseline=False,
    fanout_clients=(1, 10),
    fanout_messages=20,
    streams=(1,),
    silence_s=3.0,
    long_minutes=1.5,
    vad_audio_s=10.0,
    realspeech=("phone_call",),
    loaded=(),
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Turnaround's latency, cost, accuracy and scaling benchmark. Replays real "
        "speech through the real pipeline (and a headless Chromium overlay), next to an offline "
        "and a naive fixed-window baseline measured in the same run.",
        epilog="Sections: " + ", ".join(SECTIONS) + ". Optional parts (Chromium, the shared "
        "evaluation data, other models) are skipped with a message when missing.",
    )
    p.add_argument("--quick", action="store_true", help="every section, smaller: ~3 minutes")
    p.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="evaluation data folder (default: %(default)s)",
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="where run folders go (default: %(default)s)"
    )
    p.add_argument("--model", default="tiny.en", help="model to measure (default: %(default)s)")
    p.add_argument("--only", metavar="S[,S]", help="run only these sections")
    p.add_argument("--skip-browser", action="store_true", help="no headless Chromium overlay")
    p.add_argument("--minutes", type=float, help="length of the fast long-call replay")
    p.add_argument(
        "--compare",
        type=Path,
        metavar="OLD.json",
        help="after the run, compare with OLD; exit 1 when a figure got worse by more than "
        "the threshold and its noise",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=1.25,
        help="smallest worse-by ratio that can count as a regression (default: %(default)s)",
    )
    p.add_argument(
        "--compare-all",
        action="store_true",
        help="also compare absolute figures (same machine only)",
    )
    p.add_argument(
        "--save-reference",
        nargs="?",
        const=REFERENCE,
        type=Path,
        metavar="PATH",
        help="also write a small copy (no plot data) as the reference "
        "(default path: benchmarks/reference.json)",
    )
    return p


def _meta(plan: Plan, args: argparse.Namespace) -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=REPO,
                text=True,
                capture_output=True,
                timeout=5,
            ).stdout.strip()
            or "?"
        )
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    return {
        "mode": plan.mode,
        "model": args.model,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "commit": commit,
        "loadavg_start": _loadavg(),
        "browser": not args.skip_browser,
    }


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


class Runner:
    def __init__(self, plan: Plan, args: argparse.Namespace) -> None:
        from assistant.audio.file_source import decode_file, write_wav

        from .harness import unthrottled
        from .material import excerpt, load_script, speech_material

        self.plan, self.args = plan, args
        self.results = Results(meta=_meta(plan, args))
        self.failed: dict[str, str] = {}
        self.browser_skipped = args.skip_browser
        if args.skip_browser:
            self.results.skip("browser", "--skip-browser")
        self.tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"turnaround-bench-{os.getpid()}"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.call = decode_file(SAMPLE_CALL, 2)
        script = load_script()
        self.speech, self.line_ends = speech_material(self.call, script)
        if plan.call_window_s is None:
            self.call_path, self.truth = SAMPLE_CALL, script
        else:
            audio, self.truth = excerpt(self.call, script, *plan.call_window_s)
            self.call_path = write_wav(self.tmp / "call_excerpt.wav", audio)
        self.playbook = unthrottled()
        self.decoder: Any = None
        self.e2e: dict[str, Any] | None = None

    @contextmanager
    def browser(self) -> Iterator[Any]:
        """The overlay in Chromium, or None (with one message) when it cannot run."""
        if self.browser_skipped:
            yield None
            return
        from .browser_latency import BrowserOverlay

        try:
            overlay = BrowserOverlay()
            page = overlay.__enter__()
        except Skip as exc:
            self.results.skip("browser", str(exc))
            self.browser_skipped = True
            yield None
            return
        try:
            yield page
        finally:
            overlay.__exit__(None, None, None)

    def section(self, name: str, fn: Callable[[], Section]) -> Section | None:
        """Run one section and file what it returns; a skip or a failure is noted,
        and the other sections go on."""
        only = self.args.only
        if only and name.split(".")[0] not in only.split(","):
            return None
        say(f"== {name}")
        try:
            result = fn()
        except Skip as exc:
            self.results.skip(name, str(exc))
            return None
        except Exception as exc:  # one broken section must not lose the others' figures
            traceback.print_exc()
            self.failed[name] = f"{type(exc).__name__}: {exc}"
            say(f"{name} FAILED: {exc}")
            return None
        self.results.add(name, result)
        return result

    def run(self) -> Results:
        from . import cost, e2e, fanout, realspeech, scaling, stages

        p, data, model = self.plan, self.args.data, self.args.model

        self.decoder, loaded = cost.load_model(model)  # every section needs it
        self.results.add("setup", loaded)
        has_data = (data / "text" / "ami_ES2011a.jsonl").is_file()
        if not data.is_dir():
            self.results.skip("data", f"no evaluation data at {data} (pass --data DIR)")
        self.section(
            "realspeech",
            lambda: realspeech.run(
                data, self.decoder, p.realspeech, self.tmp, p.offline_repeats, p.loaded
            ),
        )
        self.section(
            "stages.resample_vad", lambda: stages.resample_and_vad(self.speech, p.vad_audio_s)
        )
        self.section(
            "stages.decode",
            lambda: stages.decode_by_length(
                self.decoder,
                self.speech,
                self.line_ends,
                p.decode_lengths_s,
                p.decode_repeats,
                baseline=p.transcribe_baseline,
            ),
        )
        self.section("stages.detectors", lambda: stages.detectors(data if has_data else None))
        self.section("stages.fanout", lambda: fanout.run(p.fanout_clients, p.fanout_messages))

        def end_to_end() -> Section:
            with self.browser() as page:
                out = e2e.section(self.call_path, self.decoder, self.truth, page, self.playbook)
            self.e2e = out.detail
            return out

        self.section("end_to_end", end_to_end)
        self.section(
            "scaling.streams",
            lambda: scaling.streams(
                p.streams,
                self.decoder,
                lambda: cost.load_model(model)[0],
                self.call_path,
                self.truth,
                self.playbook,
                self.browser,
                {1: self.e2e} if self.e2e else {},
            ),
        )
        self.section("cost.silence", lambda: cost.silence(self.decoder, p.silence_s, self.playbook))
        minutes = self.args.minutes or p.long_minutes
        self.section("cost.long_call", lambda: cost.long_call_in_child(minutes, model))
        return self.results


def finish(runner: Runner, started: float) -> dict[str, Any]:
    """Move bulky series out of the sections, then judge the run against the budget."""
    from .budget import annotate, check
    from .plots import collect_series

    r = runner.results
    r.meta["loadavg_end"] = _loadavg()
    r.meta["wall_s"] = round(time.monotonic() - started, 1)
    r.series.update(collect_series(r.sections))
    annotate(r.metrics)
    doc = r.to_json()
    doc["failed"] = runner.failed
    doc["budget"] = check(doc)
    return doc


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.only:
        unknown = set(args.only.split(",")) - set(SECTIONS) - {"end_to_end"}
        if unknown:
            print(
                f"unknown section(s): {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}",
                file=sys.stderr,
            )
            return 2
        args.only = args.only.replace("e2e", "end_to_end")
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    say(f"Turnaround benchmark, {plan.mode} mode, model {args.model}, data {args.data}")
    runner = Runner(plan, args)
    try:
        runner.run()
    finally:
        import shutil

        shutil.rmtree(runner.tmp, ignore_errors=True)
    doc = finish(runner, started)
    run_dir = args.out / f"{time.strftime('%Y%m%d-%H%M%S')}-{plan.mode}"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "result.json").write_text(json.dumps(doc, indent=1) + "\n", "utf-8")
    from .plots import write_all
    from .report import markdown

    text = markdown(doc)
    (run_dir / "summary.md").write_text(text, "utf-8")
    pngs = write_all(doc, run_dir)
    print(text)
    say(f"wrote {run_dir / 'result.json'}, summary.md and {len(pngs)} plot(s) in {run_dir}")
    if args.save_reference:
        small = {k: v for k, v in doc.items() if k != "series"}
        args.save_reference.write_text(json.dumps(small, indent=1) + "\n", "utf-8")
        say(f"reference written to {args.save_reference}")
    code = 3 if runner.failed else 0
    if args.compare:
        from .compare import run_compare

        code = max(code, run_compare(args.compare, doc, args.threshold, args.compare_all))
    return code


if __name__ == "__main__":
    sys.exit(main())
