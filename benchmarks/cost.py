"""Cost: model load and warm-up, CPU in silence, and whether anything grows with the
length of a call (a long replay at fast speed: decode time, detector time and
memory must stay flat from the first minutes to the last).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio.file_source import write_wav
from assistant.events import Event, FinalTranscript, SpeechEnded

from .harness import make_session, run_sessions
from .material import RATE_HZ
from .results import Section, bootstrap_noise, percentiles, ratio, say
from .sampler import ResourceSampler, rss_mb

# Faint noise rather than digital zeros: a real line is never exactly silent.
SILENCE_NOISE_RMS = 1e-3
PHASES = 5  # the long replay is judged first fifth vs last fifth
# Long-call pace: fast, yet never behind, or the latency growth measures a queue
# that the pace built rather than the call's length. 10x was ~75 % busy with greedy
# finals here; beam-search finals cost ~2x that, and on a CI machine 1.3-1.9x
# slower than this one the decoder fell behind (latency "growth" 0.83 -> 2.19 in
# two runs, decode growth 0.96). 4x keeps it under ~50 % busy on both.
LONG_CALL_SPEED = 4.0


def load_model(model: str, prefix: str = "cost") -> tuple[Any, Section]:
    """A warmed-up decoder, and what loading it cost."""
    from assistant.asr.decoder import WhisperDecoder
    from assistant.asr.models import resolve_model

    before = rss_mb()
    decoder = WhisperDecoder(resolve_model(model), cpu_threads=2)
    decoder.warm_up()
    section = Section({"model": model, "load_s": round(decoder.load_s, 3)})
    section.detail["warmup_s"] = round(decoder.warmup_s, 3)
    section.metric(f"{prefix}.model_load_s", decoder.load_s, "s")
    section.metric(f"{prefix}.model_warmup_s", decoder.warmup_s, "s")
    grown_mb = rss_mb() - before
    section.metric(f"{prefix}.model_rss_mb", grown_mb, "MB")
    say(
        f"model {model}: load {decoder.load_s:.2f} s, warm-up {decoder.warmup_s:.2f} s, "
        f"+{grown_mb:.0f} MB"
    )
    return decoder, section


def silence(decoder: Any, seconds: float, playbook: Any) -> Section:
    """A two-channel call where nobody speaks, in real time, coach attached."""
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((int(seconds * RATE_HZ), 2)) * SILENCE_NOISE_RMS).astype(
        np.float32
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = write_wav(Path(tmp) / "silence.wav", audio)
        session = make_session(path, decoder, realtime=True, partials=True, playbook=playbook)
        with ResourceSampler() as sampler:
            run_sessions([session])
    share = sampler.cpu_share()
    say(f"cost: silence: CPU {share * 100:.1f}% of 2 cores over {seconds:.0f} s")
    section = Section(
        {
            "seconds": seconds,
            "cpu_share": round(share, 4),
            "finals": len(session.of(FinalTranscript)),
            "cpu_by_thread": sampler.cpu_by_thread(),
        }
    )
    section.metric("cost.cpu_share_silence", share * 100, "% of 2 cores", noise=sampler.cpu_noise())
    return section


def long_call_in_child(minutes: float, model: str) -> Section:
    """:func:`long_call` in a fresh process, so its memory figures are one call's
    (model, pipeline, engine) and not this benchmark's (four decoders after the
    scaling section, plot data, Chromium's driver)."""
    import json
    import subprocess
    import sys

    from .material import REPO

    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.cost", "--minutes", str(minutes), "--model", model],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"long-call child process failed (exit {proc.returncode})")
    doc = json.loads(proc.stdout)
    return Section(doc["section"], doc["metrics"])


def long_call(decoder: Any, call: np.ndarray, minutes: float, playbook: Any) -> Section:
    """The sample call repeated to ``minutes``, replayed as fast as possible."""
    seconds = minutes * 60
    reps = int(np.ceil(seconds * RATE_HZ / len(call)))
    audio = np.tile(call, (reps, 1))[: int(seconds * RATE_HZ)]
    say(
        f"call length: replaying {minutes:g} min ({reps} x the sample call) "
        f"at {LONG_CALL_SPEED:g}x real time"
    )
    engine_ms: list[tuple[float, float]] = []  # (stream time, ms per final)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_wav(Path(tmp) / "long_call.wav", audio)
        del audio  # the replay streams from disk, as a real long file would
        session = make_session(
            path,
            decoder,
            realtime=False,
            partials=False,
            speed=LONG_CALL_SPEED,
            handlers=[_TimedEngine(playbook, engine_ms)],
        )
        with ResourceSampler(interval_s=0.5) as sampler:
            run = run_sessions([session])
    finals = [f for f in session.of(FinalTranscript)]
    decodes = [t for kind, _, t in session.session.pipeline.asr.decode_times if kind == "final"]
    timeline = sampler.timeline(run["started"])
    rss = timeline["rss_mb"]
    phases = []
    samples: list[dict[str, list[float]]] = []
    for i in range(PHASES):
        lo, hi = i * seconds / PHASES, (i + 1) * seconds / PHASES
        d = decodes[i * len(decodes) // PHASES : (i + 1) * len(decodes) // PHASES]
        e = [ms for t, ms in engine_ms if lo <= t < hi]
        q = [f.latency_s for f in finals if lo <= f.end_s < hi]
        r = rss[i * len(rss) // PHASES : (i + 1) * len(rss) // PHASES]
        samples.append({"decode": d, "engine": e, "latency": q})
        phases.append(
            {
                "from_min": round(lo / 60, 1),
                "decode_ms_p50": _median_ms(d, 1000),
                "engine_ms_p50": _median_ms(e, 1),
                "final_latency_ms_p50": _median_ms(q, 1000),
                "rss_mb_max": round(max(r), 1) if r else None,
            }
        )
    first, last = phases[0], phases[-1]
    out = {
        "minutes": minutes,
        "wall_s": round(run["wall_s"], 1),
        "wall_per_audio_s": round(run["wall_s"] / seconds, 4),
        "speed": LONG_CALL_SPEED,
        "finals": len(finals),
        "speech_ended": len(session.of(SpeechEnded)),
        "phases": phases,
        "final_latency_s": percentiles(f.latency_s for f in finals),
        "peak_rss_mb": round(sampler.peak_rss_mb, 1),
        "steady_rss_mb": round(statistics.median(rss[len(rss) // 2 :]), 1) if rss else None,
        "resources": timeline,
    }
    section = Section(out)
    # Growth from the first fifth of the call to the last, each with its noise: the
    # medians of a few dozen sub-millisecond timings move by themselves.
    for key, name in (("decode", "decode"), ("engine", "engine"), ("latency", "latency")):
        last_s, first_s = samples[-1][key], samples[0][key]
        section.metric(
            f"call_length.{name}_growth",
            _median_ratio(last_s, first_s),
            "last/first",
            kind="normalized",
            noise=bootstrap_noise(_median_ratio, last_s, first_s),
        )
    if first["rss_mb_max"] and last["rss_mb_max"]:
        section.metric("call_length.rss_growth_mb", last["rss_mb_max"] - first["rss_mb_max"], "MB")
    section.metric("call_length.peak_rss_mb", out["peak_rss_mb"], "MB")
    section.metric("cost.steady_rss_mb", out["steady_rss_mb"], "MB")
    say(
        f"call length: {minutes:g} min in {run['wall_s']:.0f} s; "
        f"decode p50 {first['decode_ms_p50']}"
        f" -> {last['decode_ms_p50']} ms, engine {first['engine_ms_p50']} -> "
        f"{last['engine_ms_p50']} ms, RSS {first['rss_mb_max']} -> {last['rss_mb_max']} MB"
    )
    return section


def _median_ratio(a: list[float], b: list[float]) -> float | None:
    if not a or not b:
        return None
    return ratio(statistics.median(a), statistics.median(b))


class _TimedEngine:
    """The suggestion engine as a session handler, timing each final it handles."""

    def __init__(self, playbook: Any, out: list[tuple[float, float]]) -> None:
        from assistant.coach.engine import SuggestionEngine

        self._engine = SuggestionEngine(playbook)
        self._out = out

    def __call__(self, event: Event) -> Any:
        started = time.perf_counter()
        produced = self._engine.feed(event)
        if isinstance(event, FinalTranscript):
            self._out.append((event.end_s, (time.perf_counter() - started) * 1000))
        return produced


def main(argv: list[str] | None = None) -> int:
    """Child process entry: one long call, JSON on stdout, progress on stderr."""
    import argparse
    import json

    from assistant.audio.file_source import decode_file

    from .harness import unthrottled
    from .material import SAMPLE_CALL

    parser = argparse.ArgumentParser(description="the long-call replay, in its own process")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--model", default="tiny.en")
    args = parser.parse_args(argv)
    decoder, _ = load_model(args.model)
    section = long_call(decoder, decode_file(SAMPLE_CALL, 2), args.minutes, unthrottled())
    print(json.dumps({"section": section.detail, "metrics": section.metrics}), flush=True)
    # Skip interpreter teardown: a daemon decoder thread torn down mid-call aborts
    # the process ("terminate called without an active exception").
    os._exit(0)


def _median_ms(values: list[float], scale: float) -> float | None:
    return round(statistics.median(values) * scale, 3) if values else None


if __name__ == "__main__":
    raise SystemExit(main())
