"""Soak: a long call under load, checked for leaks, lost finals and growing lag.

The bundled sample call, repeated to ``--minutes``, is replayed through the real
pipeline (Silero VAD, Whisper tiny.en, the suggestion engine) with the overlay
server attached, paced at ``--speed`` times real time (finals only, as a fast
replay: partial captions would only measure the decoder's overload). Meanwhile a
separate process (``benchmarks.load``, so this process's memory is the coach's
alone) keeps ``--clients`` overlay pages connected and ``--idle`` idle TCP
connections held open, re-opening each one the server closes.

Judged, after a warm-up of the first ``WARMUP_SHARE`` of the call:

* resident memory: the median of the last quarter after warm-up against the
  first quarter's, < 5 % growth;
* finals: every final the pipeline produced reached every page, in order;
* lag: speech end -> final, and final -> page, in the last quarter of the call
  against the first quarter after warm-up: no growth.

    python -m benchmarks.soak --minutes 30 --speed 10         # ~3.5 min of wall time
    python -m benchmarks.soak --minutes 2 --json soak.json    # a quick look
    python -m benchmarks.soak --server-only --minutes 60 --speed 60   # server alone
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .material import RATE_HZ, REPO, SAMPLE_CALL
from .results import percentiles, say
from .sampler import ResourceSampler

# Memory settles as the first minutes fill caches (allocator arenas, the
# conversation state's windows, asyncio's buffers): judged after this share of
# the call, and at least one pass of the 76 s sample call it repeats.
WARMUP_SHARE = 0.3
SAMPLE_CALL_S = 76.0
RSS_GROWTH_MAX = 0.05
# "No growth in lag": the last quarter's p95 within this of the first's (after
# warm-up): 50 % plus 0.25 s of scheduling noise on a shared 2-core machine.
LAG_GROWTH_RATIO = 1.5
LAG_GROWTH_SLACK_S = 0.25


def long_call(path: Path, minutes: float) -> Path:
    """The stereo sample call repeated to ``minutes`` (written in slices)."""
    from assistant.audio.file_source import decode_file, write_wav

    call = decode_file(SAMPLE_CALL, 2)
    samples = int(minutes * 60 * RATE_HZ)
    reps = int(np.ceil(samples / len(call)))
    return write_wav(path, np.tile(call, (reps, 1))[:samples])


def _start_load(port: int, clients: int, idle: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.load", "--port", str(port),
         "--clients", str(clients), "--idle", str(idle)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=REPO,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if "ready" not in line:
        raise RuntimeError(f"load generator failed: {line}{proc.stderr.read()}")
    return proc


def soak(
    minutes: float, speed: float, clients: int, idle: int, decoder: Any = None
) -> dict[str, Any]:
    from assistant.coach.playbook import load_playbook
    from assistant.events import FinalTranscript
    from assistant.server.server import OverlayServer

    from .cost import load_model
    from .harness import make_session, run_sessions

    if decoder is None:
        decoder, _ = load_model("tiny.en", prefix="soak")
    emitted: list[tuple[float, FinalTranscript]] = []  # (dispatch wall, final)

    def track(event: Any) -> None:
        if isinstance(event, FinalTranscript) and event.text.strip():
            emitted.append((time.monotonic(), event))

    server = OverlayServer(port=0)
    server.start()
    with tempfile.TemporaryDirectory() as tmp:
        path = long_call(Path(tmp) / "long_call.wav", minutes)
        record = make_session(
            path, decoder, realtime=False, partials=False, speed=speed,
            playbook=load_playbook("sales-call"), server=server, handlers=[track],
        )  # fmt: skip
        load = _start_load(server.port, clients, idle)
        say(f"soak: {minutes:g} min at {speed:g}x, {clients} pages, {idle} idle connections")
        try:
            with ResourceSampler(interval_s=0.5) as sampler:
                run = run_sessions([record])
            time.sleep(1.0)  # the last frames reach the pages
        finally:
            server.stop()
            out, err = load.communicate(input="", timeout=60)
    if load.returncode != 0:
        raise RuntimeError(f"load generator failed: {err}")
    return judge(json.loads(out), emitted, sampler, run, minutes * 60, speed, server.guard.stats)


def server_soak(seconds: float, rate: float, clients: int, idle: int) -> dict[str, Any]:
    """The overlay server alone under the same load, fed a synthetic call ``rate``
    times faster than speech (finals, cards, silence ticks, lag reports): hours of
    traffic in seconds, so a leak in the server, its queues or the connection guard
    shows without waiting for Whisper. Memory is judged after the first
    ``WARMUP_SHARE``; every final must reach every page."""
    from assistant.events import (
        FinalTranscript,
        PipelineState,
        SilenceTick,
        Speaker,
        SpeechEnded,
        Status,
        Suggestion,
    )
    from assistant.server.server import OverlayServer

    server = OverlayServer(port=0)
    server.start()
    emitted: list[tuple[float, Any]] = []
    load = _start_load(server.port, clients, idle)
    say(f"server soak: {seconds:g} s at {rate:g}x, {clients} pages, {idle} idle connections")
    try:
        with ResourceSampler(interval_s=0.25) as sampler:
            started = time.monotonic()
            uid, t = 0, 0.0  # utterance number, stream time
            while time.monotonic() - started < seconds:
                uid += 1
                speaker = Speaker.REP if uid % 2 else Speaker.CUSTOMER
                now = time.monotonic()
                server.handler(SpeechEnded(speaker, t, t + 3.0))
                final = FinalTranscript(speaker, uid, t, t + 3.0, f"utterance {uid} " * 8,
                                        now - 0.5, now)  # fmt: skip
                server.handler(final)
                emitted.append((now, final))
                for k in range(12):  # 3 s of silence ticks
                    server.handler(SilenceTick(t + 3.0 + k * 0.25, k * 0.25, now))
                if uid % 10 == 0:
                    server.handler(
                        Suggestion(
                            f"s{uid}-rep_but",
                            "rep_but",
                            "Say and, not but.",
                            "why",
                            "source",
                            "warn",
                            t,
                            created_wall=now,
                        )
                    )
                if uid % 25 == 0:
                    server.handler(Status(PipelineState.LISTENING, "behind", lag_s=1.2))
                t += 6.0
                time.sleep(6.0 / rate)
            server.handler(Status(PipelineState.STOPPED, "end of input"))
            time.sleep(1.0)
        run = {"started": started, "wall_s": time.monotonic() - started}
    finally:
        server.stop()
        out, err = load.communicate(input="", timeout=60)
    if load.returncode != 0:
        raise RuntimeError(f"load generator failed: {err}")
    return judge(json.loads(out), emitted, sampler, run, t, rate, server.guard.stats)


def _window(values: list[tuple[float, float]], lo: float, hi: float) -> list[float]:
    return [v for t, v in values if lo <= t < hi]


def judge(
    load: dict[str, Any],
    emitted: list[tuple[float, Any]],
    sampler: ResourceSampler,
    run: dict[str, Any],
    seconds: float,
    speed: float,
    guard: Any,
) -> dict[str, Any]:
    started, wall_s = run["started"], run["wall_s"]
    # Warm-up: a share of the call, and at least one whole pass of the sample call
    # (every utterance length and card the call has, once).
    warm_s = max(WARMUP_SHARE * seconds, min(SAMPLE_CALL_S, seconds / 2)) / speed
    warm_wall = started + warm_s
    rss = [(t, mb) for t, _, mb in sampler.samples]
    rss_after = [mb for t, mb in rss if t >= warm_wall] or [rss[-1][1]]
    # Settled level against settled level: the first and the last quarter after
    # warm-up, each by its median. A single sample against the peak judged the
    # allocator's transient high-water marks (a 30 s decode's buffers) as a leak;
    # a leak moves the median of the last quarter.
    quarter = max(1, len(rss_after) // 4)
    rss_warm = statistics.median(rss_after[:quarter])
    rss_end = statistics.median(rss_after[-quarter:])
    growth = (rss_end - rss_warm) / rss_warm

    ids = [f"u{f.utterance_id}" for _, f in emitted]
    pages = load["pages"]
    lost = [len(ids) - len(p.get("finals", [])) for p in pages]
    in_order = all([i for i, _ in p.get("finals", [])] == ids for p in pages)
    # Delivery: dispatch -> arrival on the page (CLOCK_MONOTONIC is system-wide).
    delivery = [
        (at - started, max(p["finals"][k][1] for p in pages) - at)
        for k, (at, _) in enumerate(emitted)
        if all(len(p.get("finals", [])) > k for p in pages)
    ]
    final_lag = [(at - started, f.latency_s) for at, f in emitted]
    span = (wall_s - warm_s) / 4  # quarters of the call after warm-up
    early = (warm_s, warm_s + span)
    late = (wall_s - span, wall_s + 1)
    lag = {
        name: {
            "first": percentiles(_window(values, *early)),
            "last": percentiles(_window(values, *late)),
        }
        for name, values in (("final_s", final_lag), ("delivery_s", delivery))
    }
    grew = {
        name: (w["last"]["p95"] or 0)
        > (w["first"]["p95"] or 0) * LAG_GROWTH_RATIO + LAG_GROWTH_SLACK_S
        for name, w in lag.items()
    }
    result = {
        "minutes": round(seconds / 60, 2),
        "speed": speed,
        "wall_s": round(wall_s, 1),
        "pages": len(pages),
        "pages_connected": sum(1 for p in pages if p.get("connected")),
        "pages_dropped": [p.get("closed") for p in pages if p.get("closed")],
        "idle": load["flood"],
        "server_guard": {"accepted": guard.accepted, "evicted": guard.evicted,
                         "refused": guard.refused},
        "finals": len(ids),
        "finals_lost_per_page_max": max(lost) if lost else None,
        "finals_in_order": in_order,
        "rss_mb": {"warm": round(rss_warm, 1), "end": round(rss_end, 1),
                   "max_after_warm": round(max(rss_after), 1), "growth": round(growth, 4),
                   "timeline": [[round(t - started, 1), round(mb, 1)] for t, mb in rss[::4]]},
        "lag": lag,
        "lag_grew": grew,
        "ok": growth < RSS_GROWTH_MAX and max(lost, default=1) == 0 and in_order
        and not any(grew.values()) and len(ids) > 0,
    }  # fmt: skip
    say(
        f"soak: {result['minutes']} min in {result['wall_s']} s; {len(ids)} finals, "
        f"lost per page {result['finals_lost_per_page_max']}; RSS {rss_warm:.0f} -> "
        f"{rss_end:.0f} MB ({growth * 100:+.1f} %); final lag p95 "
        f"{lag['final_s']['first']['p95']} -> {lag['final_s']['last']['p95']} s; "
        f"delivery p95 {lag['delivery_s']['first']['p95']} -> "
        f"{lag['delivery_s']['last']['p95']} s; idle opened {load['flood']['opened']}"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak",
        description="A long call with overlay pages and idle connections: memory, "
        "lost finals and lag over time.",
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="call length (default 30)")
    parser.add_argument("--speed", type=float, default=10.0, help="x real time (default 10)")
    parser.add_argument("--clients", type=int, default=20, help="overlay pages (default 20)")
    parser.add_argument("--idle", type=int, default=1000, help="idle connections (default 1000)")
    parser.add_argument("--json", type=Path, help="write the result here too")
    parser.add_argument(
        "--server-only",
        action="store_true",
        help="no Whisper: the server alone, fed a synthetic call at --speed (isolates "
        "the server's memory from the pipeline's own ~10-minute warm-up)",
    )
    args = parser.parse_args(argv)
    if args.server_only:
        result = server_soak(args.minutes * 60 / args.speed, args.speed, args.clients, args.idle)
    else:
        result = soak(args.minutes, args.speed, args.clients, args.idle)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    # Skip interpreter teardown: a daemon decoder thread torn down mid-call aborts
    # the process ("terminate called without an active exception").
    sys.stdout.flush()
    os._exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    raise SystemExit(main())
