"""``turnaround serve --team FILE``: one server that coaches a whole team's calls.

The options are declared here (``add_serve_command``) and turned into
``team.launch.TeamOptions``; the server runs until Ctrl-C (or SIGTERM), when
every call finishes its last utterance, records and closes.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

from assistant.asr.models import DEFAULT_MODEL
from assistant.cli import args as cli_args
from assistant.logs import say
from assistant.sessions.store import default_sessions_dir
from assistant.vad.segmenter import VadConfig

# The main thread only waits; signals land here promptly.
WAIT_STEP_S = 0.2
# Many calls: decoders of one thread each, one per core. On 2 cores, 2 x 1 held
# 4 calls at final p95 5.6 s where 1 x 2 took 10.6 s, same run, same load
# (benchmarks/team_load.py, docs/team-server.md): a tiny model's decode does not
# spread over threads as well as two decodes run side by side.
DEFAULT_DECODERS = max(1, min(8, os.cpu_count() or 1))


def _count(text: str) -> int:
    if not re.fullmatch(r"\d{1,4}", text.strip()):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number")
    value = int(text)
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is not a count from 1 to 1000")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds") from None
    if not 0.0 <= value <= 86400.0:
        raise argparse.ArgumentTypeError(f"{value:g} is not 0 to 86400 seconds")
    return value


def _cpus(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of CPUs") from None
    if not 0.0 <= value <= 256.0:
        raise argparse.ArgumentTypeError(f"{value:g} is not 0 to 256")
    return value


def add_serve_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser(
        "serve",
        help="coach a team's calls from one server (each rep's browser captures their call)",
        description="One server for a team: each rep opens /?token=THEIR_TOKEN and presses "
        "Listen; the manager opens /team?token=MANAGER_TOKEN for every live call, most urgent "
        "first. Reps and tokens come from the --team TOML file (docs/team-server.md).",
    )
    serve.add_argument("--team", type=Path, required=True, metavar="FILE", help="the team file")
    net = serve.add_argument_group("network")
    net.add_argument(
        "--host",
        type=cli_args.host,
        default="127.0.0.1",
        help="address to serve on (default: %(default)s; every page needs a token anyway)",
    )
    net.add_argument("--port", type=cli_args.port, default=8765, help="(default: %(default)s)")
    asr = serve.add_argument_group("transcription")
    asr.add_argument(
        "--asr",
        choices=("local", "ray"),
        default="local",
        help="local: Whisper in this process (default); ray: on a Ray Serve deployment "
        "(pip install 'turnaround[serve]')",
    )
    asr.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="a running Ray cluster (implies --asr ray; default: a private one on 127.0.0.1)",
    )
    asr.add_argument("--replicas", type=_count, help="a fixed number of replicas (no autoscaling)")
    asr.add_argument(
        "--max-replicas", type=_count, default=2, help="autoscaling ceiling (default: %(default)s)"
    )
    asr.add_argument(
        "--replica-cpus", type=_cpus, default=1.0, help="CPUs per replica (default: %(default)s)"
    )
    asr.add_argument(
        "--replica-gpus", type=_cpus, default=0.0, help="GPUs per replica (default: none)"
    )
    asr.add_argument(
        "--batch",
        type=_count,
        default=4,
        help="first-text decodes batched together (default: %(default)s)",
    )
    asr.add_argument(
        "--decoders",
        type=_count,
        default=DEFAULT_DECODERS,
        help="--asr local: decoders in this process, one decode each at a time "
        "(default: one per CPU core, %(default)s here)",
    )
    asr.add_argument("--model", default=DEFAULT_MODEL, help="(default: %(default)s)")
    asr.add_argument("--model-dir", type=Path, help="a CTranslate2 Whisper directory")
    asr.add_argument(
        "--threads",
        type=cli_args.threads,
        default=1,
        help="threads per local decoder (default: %(default)s)",
    )
    calls = serve.add_argument_group("calls")
    calls.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help=f"sessions folder, a private folder per rep in it (default: {default_sessions_dir()})",
    )
    calls.add_argument("--no-record", action="store_true", help="write no session files")
    calls.add_argument(
        "--end-after",
        type=_seconds,
        default=30.0,
        metavar="S",
        help="a call ends this long after its rep's page closed (default: %(default)s)",
    )
    calls.add_argument(
        "--end-silence",
        type=cli_args.end_silence,
        default=VadConfig.end_silence_s,
        metavar="S",
        help="silence that ends an utterance, seconds (default: %(default)s)",
    )
    calls.add_argument("--no-partials", action="store_true", help="final text only")


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.team.launch import TeamOptions, start_team

    use_ray = args.asr == "ray" or args.ray_address is not None
    options = TeamOptions(
        team_file=args.team,
        host=args.host,
        port=args.port,
        sessions_dir=None if args.no_record else (args.record or default_sessions_dir()),
        model=args.model,
        model_dir=args.model_dir,
        cpu_threads=args.threads,
        asr="ray" if use_ray else "local",
        ray_address=args.ray_address,
        replicas=args.replicas,
        max_replicas=args.max_replicas,
        replica_cpus=args.replica_cpus,
        replica_gpus=args.replica_gpus,
        batch=args.batch,
        decoders=args.decoders,
        end_after_s=args.end_after,
        vad=VadConfig(end_silence_s=args.end_silence),
        partials=not args.no_partials,
    )
    run = start_team(options)
    try:
        url = run.server.url
        reps = len(run.server.team.reps)
        say(f"team server: {url} ({reps} rep(s); sessions: {options.sessions_dir or 'not kept'})")
        say(f"reps open {url}/?token=THEIR_TOKEN; the manager {url}/team?token=MANAGER_TOKEN")
        say("Ctrl-C to stop (every call finishes its last utterance first)")
        while True:
            time.sleep(WAIT_STEP_S)
    except KeyboardInterrupt:
        say("stopping: ending every call")
    finally:
        run.stop()
    return 0
