"""Load benchmark of the team server (``turnaround serve``): run alone, not in the suite.

    python -m benchmarks.team_load [--calls 2,4,6] [--clip 30] [--only calls|batching|decode]
        [--out benchmarks/results/team_load.json]

* **calls**: N simulated reps (``benchmarks.team_reps``: the browser's binary
  frames of the real phone call, both sides, in real time) on one team server
  with ``--asr local`` (2 decoders of 1 thread; ``local1``: 1 of 2 threads),
  then Ray Serve with 1 replica and with 2 (1 CPU each; a private
  cluster on 127.0.0.1, 2 CPUs, started and stopped here). Per run: final-text
  latency p50/p95 (speech end to final, measured in the server), CPU seconds of
  the server and of the Ray processes per call-minute, RSS, and the load average
  of the machine (others' work inflates every wall-clock figure).
* **batching**: first-text decodes (2.5 s windows of real speech, one encoder
  window) in this process at batch 1, 4 and 8: decodes per CPU-second and wall
  time per batch.
* **decode**: the same final decodes in this process and on one Ray replica:
  decodes per CPU-second of the process that decodes (the replica's own counters).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from assistant.asr.models import DEFAULT_MODEL, resolve_model
from assistant.scale.batch import BatchDecoder
from assistant.scale.jobs import DecodeJob
from benchmarks.team_reps import conversation, run_rep

RATE_HZ = 16000
MAX_REPS = 16
STAGGER_S = 0.7  # reps do not all start speaking in the same 32 ms


def _team_file(folder: Path) -> tuple[Path, list[str]]:
    tokens = [f"rep{i:02d}-{os.urandom(8).hex()}" for i in range(MAX_REPS)]
    lines = ['[manager]\ntoken = "manager-bench-0123456789"\n']
    for i, token in enumerate(tokens):
        lines.append(f'[[rep]]\nid = "rep{i:02d}"\ntoken = "{token}"\n')
    path = folder / "team.toml"
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    return path, tokens


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def _rss_mb(procs: list[psutil.Process]) -> float:
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return round(total / 2**20, 1)


def _ray_procs(cluster: Any) -> list[psutil.Process]:
    if cluster is None:
        return []
    out = []
    for pid in cluster.processes():
        with contextlib.suppress(psutil.Error):
            out.append(psutil.Process(pid))
    return out


def run_calls(
    label: str, options: dict[str, Any], sizes: list[int], clip_s: float, cluster: Any
) -> list[dict[str, Any]]:
    from assistant.team.launch import TeamOptions, start_team

    folder = Path(tempfile.mkdtemp(prefix="team-load-"))
    team_path, tokens = _team_file(folder)
    started = time.perf_counter()
    run = start_team(
        TeamOptions(team_file=team_path, port=0, sessions_dir=None, quiet=True, **options)
    )
    ready_s = time.perf_counter() - started
    audio = conversation("phone_call")[: int(clip_s * RATE_HZ)]
    me = psutil.Process()
    rows = []
    used = 0
    try:
        for n in sizes:
            mine = tokens[used : used + n]
            used += n
            ray_procs = _ray_procs(cluster)
            cpu0, ray0, wall0 = _cpu([me]), _cpu(ray_procs), time.perf_counter()
            load0 = os.getloadavg()[0]

            async def all_reps(mine: list[str] = mine) -> list[Any]:
                tasks = [
                    run_rep(run.server.url, t, audio, start_delay_s=i * STAGGER_S)
                    for i, t in enumerate(mine)
                ]
                return list(await asyncio.gather(*tasks))

            reps = asyncio.run(all_reps())
            wall = time.perf_counter() - wall0
            cpu, ray_cpu = _cpu([me]) - cpu0, _cpu(_ray_procs(cluster)) - ray0
            calls = [
                c
                for c in run.server.calls()
                if c.rep.id in {f"rep{i:02d}" for i in range(used - n, used)}
            ]
            lat = [x for c in calls for x in c.stats.latencies_s]
            finals = sum(len(r.final_captions()) for r in reps)
            call_min = n * wall / 60.0
            rows.append(
                {
                    "asr": label,
                    "calls": n,
                    "errors": [r.error for r in reps if r.error],
                    "finals": finals,
                    "final_p50_s": _pct(lat, 50),
                    "final_p95_s": _pct(lat, 95),
                    "final_max_s": _pct(lat, 100),
                    "server_cpu_s_per_call_min": round(cpu / call_min, 2),
                    "ray_cpu_s_per_call_min": round(ray_cpu / call_min, 2),
                    "server_rss_mb": _rss_mb([me]),
                    "ray_rss_mb": _rss_mb(_ray_procs(cluster)),
                    "wall_s": round(wall, 1),
                    "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
                    "scheduler": run.scheduler.describe(),
                    "replica": _replica_info(run.scheduler.backend),
                    "ready_s": round(ready_s, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            for call in calls:
                call.end("benchmark run over")
            for call in calls:
                call.join(60)
    finally:
        run.stop()
        shutil.rmtree(folder, ignore_errors=True)  # the team file holds tokens
    return rows


def _replica_info(backend: Any) -> dict[str, Any] | None:
    """One replica's own counters (batch sizes formed by @serve.batch, drops)."""
    info = getattr(backend, "info", None)
    if info is None:
        return None
    try:
        got = info()
    except Exception as exc:  # a benchmark reports, it does not die
        return {"error": type(exc).__name__}
    return {k: got[k] for k in ("decodes", "dropped_partials", "batch_sizes")}


def _windows(n: int, window_s: float = 2.5) -> list[DecodeJob]:
    audio = np.concatenate([conversation("monologue")[:, 0], conversation("phone_call").sum(1)])
    step = int(window_s * RATE_HZ)
    starts = range(RATE_HZ, len(audio) - step, step)
    jobs = [DecodeJob(final=False, audio=audio[s : s + step]) for s in starts]
    return (jobs * (n // len(jobs) + 1))[:n]


def batching(n: int = 48) -> list[dict[str, Any]]:
    model = BatchDecoder(resolve_model(DEFAULT_MODEL, None), cpu_threads=2)
    model.warm_up()
    jobs = _windows(n)
    rows = []
    for size in (1, 4, 8):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(0, n, size):
            model.decode_many(jobs[i : i + size])
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        rows.append(
            {
                "batch": size,
                "decodes": n,
                "decodes_per_cpu_s": round(n / cpu, 2),
                "wall_per_batch_s": round(wall / (n / size), 3),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def decode_in_and_out(n: int = 24) -> list[dict[str, Any]]:
    """Final decodes of the same windows: in this process, then on one replica."""
    from assistant.scale.cluster import LocalCluster
    from assistant.scale.ray_backend import RayBackend, ReplicaConfig

    jobs = [DecodeJob(final=True, audio=j.audio, offline=True) for j in _windows(n)]
    model = BatchDecoder(resolve_model(DEFAULT_MODEL, None), cpu_threads=1)
    model.warm_up()
    cpu0 = time.process_time()
    for job in jobs:
        model.decode_job(job)
    local = n / (time.process_time() - cpu0)
    rows = [{"where": "in-process (1 thread)", "decodes_per_cpu_s": round(local, 2)}]
    with LocalCluster(num_cpus=2) as cluster:
        spec = resolve_model(DEFAULT_MODEL, None)
        backend = RayBackend(spec, ReplicaConfig(replicas=1, cpus=1.0), cluster.address)
        try:
            before = backend.info()
            for job in jobs:
                backend.decode([job], lambda _why: None)
            after = backend.info()
            per = n / (after["cpu_s"] - before["cpu_s"])
            rows.append(
                {
                    "where": "Ray replica (1 CPU)",
                    "decodes_per_cpu_s": round(per, 2),
                    "vs_in_process": round(per / local, 3),
                    "replica_rss_mb": round(after["max_rss_mb"], 1),
                }
            )
        finally:
            backend.close()
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="2,4,6", help="call counts per configuration")
    parser.add_argument("--clip", type=float, default=30.0, help="seconds of the call per rep")
    parser.add_argument("--only", choices=("calls", "batching", "decode"))
    parser.add_argument(
        "--configs",
        default="local,ray1,ray2",
        help="for calls: local (2 decoders of 1 thread), local1 (1 of 2 threads), ray1, ray2",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/team_load.json"))
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.calls.split(",")]
    if sum(sizes) > MAX_REPS:
        parser.error(f"at most {MAX_REPS} reps in all")
    out: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()}
    if args.only in (None, "batching"):
        out["batching"] = batching()
    if args.only in (None, "decode"):
        out["decode"] = decode_in_and_out()
    if args.only in (None, "calls"):
        from assistant.scale.cluster import LocalCluster

        configs = args.configs.split(",")
        rows = []
        if "local" in configs:  # serve's default on 2 cores: 2 decoders of 1 thread
            local = {"asr": "local", "decoders": 2, "cpu_threads": 1}
            rows += run_calls("local 2x1", local, sizes, args.clip, None)
        if "local1" in configs:  # one decoder with both cores' threads
            local1 = {"asr": "local", "decoders": 1, "cpu_threads": 2}
            rows += run_calls("local 1x2", local1, sizes, args.clip, None)
        ray = [int(c[3:]) for c in configs if c.startswith("ray")]
        if ray:
            with LocalCluster(num_cpus=2) as cluster:
                for replicas in ray:
                    rows += run_calls(
                        f"ray x{replicas}",
                        {"asr": "ray", "ray_address": cluster.address, "replicas": replicas},
                        sizes,
                        args.clip,
                        cluster,
                    )
        out["calls"] = rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
