"""This process's CPU time and memory, sampled on a background thread while a
section runs: CPU share of the 2 cores the budget is stated against, per-thread
CPU (where the time goes), RSS over time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .results import rate_noise

CORES = 2  # the budget is stated against 2 cores


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

    def intervals(
        self, spans: list[tuple[float, float]] | None = None
    ) -> list[tuple[float, float]]:
        """(CPU seconds, wall seconds) per sampling interval (inside ``spans`` when
        given): the samples behind a CPU figure, for its noise."""
        out = []
        for a, b in zip(self.samples, self.samples[1:], strict=False):
            if b[0] > a[0] and (
                spans is None or any(lo <= a[0] and b[0] <= hi for lo, hi in spans)
            ):
                out.append((b[1] - a[1], b[0] - a[0]))
        return out

    def cpu_noise(self, spans: list[tuple[float, float]] | None = None) -> float | None:
        """Relative noise of the CPU share, from the spread of its intervals."""
        return rate_noise(self.intervals(spans))

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
