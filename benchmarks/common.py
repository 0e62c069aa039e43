"""Shared pieces of the benchmark: progress lines, percentiles, the metric record,
resource sampling and the audio the sections replay.

Every figure a section measures goes through :class:`Results.metric`, which records
its unit, which direction is better and whether it is *normalized* (a ratio to a
baseline measured in the same run, so it survives a move to another machine) or
*absolute* (seconds, MB, %: honest but machine-dependent). ``--compare`` uses that
to decide what to check.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CALL = REPO / "assistant" / "samples" / "sample_call.ogg"
SAMPLE_SCRIPT = SAMPLE_CALL.with_suffix(".json")
RATE_HZ = 16000
CORES = 2  # the budget in DEVELOPERS.md is stated against 2 cores
# The stereo sample call: left channel the rep, right the customer.
CHANNEL_SPEAKERS = ("rep", "customer")

# The budget (DEVELOPERS.md, 2-core CPU, tiny.en), for the report, metrics and plots.
BUDGET_FINAL_P95_S = 1.0
BUDGET_CARD_P95_S = 1.1
BUDGET_PARTIAL_INTERVAL_S = 0.5
BUDGET_CPU_SPEAKING_SHARE = 0.35
BUDGET_RSS_MB = 400.0
# "Near 0 %" in silence is read as at most 5 % of 2 cores: a VAD on two live
# streams costs ~1 % by itself.
BUDGET_SILENCE_PCT = 5.0

Better = Literal["lower", "higher"]
Kind = Literal["absolute", "normalized", "accuracy", "count"]


class Skip(Exception):
    """An optional part cannot run here (no Chromium, no ../shared data, ...)."""


_T0 = time.monotonic()


def say(message: str) -> None:
    """One progress line on stderr, stamped with seconds since the run began."""
    print(f"[{time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def percentiles(values: Iterable[float | None]) -> dict[str, float | None]:
    """p50 / p95 / max / mean / n (nearest-rank, as the overlay's dev view does)."""
    data = sorted(float(v) for v in values if v is not None and math.isfinite(v))
    if not data:
        return {"n": 0, "p50": None, "p95": None, "max": None, "mean": None}

    def rank(p: float) -> float:
        return data[min(len(data) - 1, max(0, math.ceil(p / 100 * len(data)) - 1))]

    return {
        "n": len(data),
        "p50": round(rank(50), 4),
        "p95": round(rank(95), 4),
        "max": round(data[-1], 4),
        "mean": round(sum(data) / len(data), 4),
    }


def dig(d: Any, *keys: str) -> Any:
    """``d[k1][k2]...``, or None where any level is missing (a section was skipped)."""
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def ratio(ours: float | None, baseline: float | None) -> float | None:
    if ours is None or baseline is None or baseline <= 0:
        return None
    return round(ours / baseline, 4)


@dataclass
class Results:
    """The JSON document of one run: sections of raw detail plus a flat metric table."""

    meta: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)  # for plots; not compared

    def metric(
        self,
        name: str,
        value: float | None,
        unit: str,
        better: Better = "lower",
        kind: Kind = "absolute",
        budget: str | None = None,
    ) -> None:
        if value is None:
            return
        entry: dict[str, Any] = {
            "value": round(float(value), 4),
            "unit": unit,
            "better": better,
            "kind": kind,
        }
        if budget:
            entry["budget"] = budget
        self.metrics[name] = entry

    def skip(self, section: str, why: str) -> None:
        self.skipped[section] = why
        say(f"skipping {section}: {why}")

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "meta": self.meta,
            "metrics": dict(sorted(self.metrics.items())),
            "skipped": self.skipped,
            "sections": self.sections,
            "series": self.series,
        }


class ResourceSampler:
    """Samples this process's CPU time and RSS on a background thread.

    CPU share is reported as a fraction of *all* cores (the budget is "% of 2
    cores"), from cumulative user+system time, so a short sampling interval loses
    nothing. Children (Chromium) are deliberately not counted: the budget is ours.
    """

    def __init__(self, interval_s: float = 0.25) -> None:
        import psutil

        self._proc = psutil.Process()
        self._interval_s = interval_s
        self.samples: list[tuple[float, float, float]] = []  # (wall, cpu_s, rss_mb)
        self.peak_rss_mb = 0.0
        # Last CPU time seen per OS thread, and each thread's CPU time when sampling
        # began, so threads that end mid-run (the sessions') still count.
        self._threads: dict[int, tuple[str, float]] = {}
        self._threads_at_start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def snapshot(self) -> tuple[float, float, float]:
        t = self._proc.cpu_times()
        rss = self._proc.memory_info().rss / 1e6
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        return time.monotonic(), t.user + t.system, rss

    def _thread_times(self) -> None:
        names = {t.native_id: t.name for t in threading.enumerate()}
        for th in self._proc.threads():
            name = self._threads.get(th.id, (None, 0.0))[0] or names.get(th.id) or _comm(th.id)
            self._threads[th.id] = (name, th.user_time + th.system_time)

    def __enter__(self) -> ResourceSampler:
        self.samples.append(self.snapshot())
        self._thread_times()
        self._threads_at_start = {tid: cpu for tid, (_, cpu) in self._threads.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.snapshot())
        self._thread_times()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.samples.append(self.snapshot())
            self._thread_times()

    def cpu_by_thread(self) -> dict[str, float]:
        """CPU seconds spent during sampling, per thread name (numbered threads of
        one kind are summed: "source:rep", "asr-worker", native Whisper/ONNX pools
        by their OS name). Where the time goes, without a profiler."""
        out: dict[str, float] = {}
        for tid, (name, cpu) in self._threads.items():
            spent = cpu - self._threads_at_start.get(tid, 0.0)
            if spent > 0.0005:
                key = name.split("-")[0] if name.startswith("Thread-") else name
                out[key] = round(out.get(key, 0.0) + spent, 3)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def cpu_share(self, start_wall: float | None = None, end_wall: float | None = None) -> float:
        """Mean CPU share of all cores between two wall times (default: whole run)."""
        pts = [
            s
            for s in self.samples
            if (start_wall is None or s[0] >= start_wall) and (end_wall is None or s[0] <= end_wall)
        ]
        if len(pts) < 2 or pts[-1][0] <= pts[0][0]:
            return 0.0
        return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0]) / CORES

    def cpu_share_during(self, spans: list[tuple[float, float]]) -> float | None:
        """CPU share over the sampling intervals that lie inside the given wall spans."""
        busy = wall = 0.0
        for a, b in zip(self.samples, self.samples[1:], strict=False):
            if any(lo <= a[0] and b[0] <= hi for lo, hi in spans):
                busy += b[1] - a[1]
                wall += b[0] - a[0]
        return busy / wall / CORES if wall > 0 else None

    def timeline(self, origin: float) -> dict[str, list[float]]:
        """CPU share per interval and RSS, against seconds since ``origin`` (plots)."""
        t, cpu, rss = [], [], []
        for a, b in zip(self.samples, self.samples[1:], strict=False):
            if b[0] > a[0]:
                t.append(round(b[0] - origin, 3))
                cpu.append(round((b[1] - a[1]) / (b[0] - a[0]) / CORES * 100, 2))
                rss.append(round(b[2], 1))
        return {"t_s": t, "cpu_pct": cpu, "rss_mb": rss}


def _comm(tid: int) -> str:
    """The OS name of a thread that Python did not start (CTranslate2, ONNX Runtime)."""
    try:
        comm = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
    except OSError:
        comm = "?"
    # CTranslate2's compute pool inherits the process name; ONNX Runtime runs the
    # VAD on the calling thread (intra_op_num_threads=1).
    return "native (Whisper compute)" if comm.startswith("python") else f"native:{comm}"


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def load_script() -> list[dict[str, Any]]:
    return json.loads(SAMPLE_SCRIPT.read_text("utf-8"))


def excerpt(
    audio: np.ndarray, script: list[dict[str, Any]], start_s: float, end_s: float
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The part of a call between two pauses, with its lines re-timed to the cut.

    Keeps a second of the pause after the last whole line, so the VAD ends that
    utterance by silence (as live) rather than by the end of the file.
    """
    lines = [line for line in script if line["start"] >= start_s and line["end"] <= end_s - 1.0]
    if not lines:
        raise ValueError(f"no whole scripted line between {start_s} and {end_s} s")
    lo = max(0.0, min(start_s, lines[0]["start"] - 0.3))
    hi = lines[-1]["end"] + 1.0
    shifted = [{**line, "start": line["start"] - lo, "end": line["end"] - lo} for line in lines]
    return audio[int(lo * RATE_HZ) : int(hi * RATE_HZ)], shifted


def speech_material(
    audio: np.ndarray, script: list[dict[str, Any]], gap_s: float = 0.3
) -> tuple[np.ndarray, list[float]]:
    """Every scripted line of the (stereo) sample call, from its speaker's channel,
    back to back with short gaps: real speech to cut utterances of any length from.
    Returns the mono audio and the stream times where lines end."""
    parts: list[np.ndarray] = []
    ends: list[float] = []
    pos = 0
    gap = np.zeros(int(gap_s * RATE_HZ), dtype=np.float32)
    for line in script:
        channel = CHANNEL_SPEAKERS.index(line["speaker"])
        clip = audio[int(line["start"] * RATE_HZ) : int(line["end"] * RATE_HZ), channel]
        parts += [clip, gap]
        pos += len(clip)
        ends.append(pos / RATE_HZ)
        pos += len(gap)
    return np.concatenate(parts).astype(np.float32), ends
