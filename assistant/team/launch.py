"""``turnaround serve``: build the team server from its options, in the order that
says a mistake first and cheapest (the team file, the playbooks, the sessions
folders, then the model or the Ray deployment, then the port), and take it all
down in the reverse order."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from assistant.asr.config import StreamingConfig
from assistant.asr.models import DEFAULT_MODEL, resolve_model
from assistant.errors import TurnaroundError
from assistant.logs import say
from assistant.pipeline.core import PipelineConfig
from assistant.scale.local import DEFAULT_BATCH, LocalBackend, SharedDecoder
from assistant.scale.scheduler import Backend, DecodeScheduler
from assistant.team.call import CallSetup
from assistant.team.config import Team, load_team
from assistant.team.server import END_AFTER_S, TeamServer
from assistant.vad.segmenter import VadConfig

log = logging.getLogger(__name__)


@dataclass
class TeamOptions:
    team_file: Path
    host: str = "127.0.0.1"
    port: int = 8765
    sessions_dir: Path | None = None  # None: no session files
    model: str = DEFAULT_MODEL
    model_dir: Path | None = None
    cpu_threads: int = 1
    asr: str = "local"  # "local" | "ray"
    ray_address: str | None = None  # None with --asr ray: a private local cluster
    replicas: int | None = None
    max_replicas: int = 2
    replica_cpus: float = 1.0
    replica_gpus: float = 0.0
    batch: int = DEFAULT_BATCH
    decoders: int = 2  # --asr local: decoders (and dispatch threads), 1 thread each
    end_after_s: float = END_AFTER_S
    vad: VadConfig = field(default_factory=VadConfig)
    partials: bool = True
    quiet: bool = False


@dataclass
class TeamRun:
    """Everything ``start_team`` built, to stop in order."""

    server: TeamServer
    scheduler: DecodeScheduler
    cluster: object | None = None

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            try:
                self.scheduler.close()
            finally:
                if self.cluster is not None:
                    self.cluster.stop()  # type: ignore[attr-defined]


def start_team(opts: TeamOptions) -> TeamRun:
    team = load_team(opts.team_file)
    if team.readable_by_others:
        say(
            f"warning: {opts.team_file} holds the team's tokens and others can read it: "
            f"chmod 600 {opts.team_file}",
            opts.quiet,
        )
    playbooks = _playbooks(team)
    if opts.sessions_dir is not None:
        _prepare_folders(opts.sessions_dir, team)
    spec = resolve_model(opts.model, opts.model_dir)
    backend, cluster = _backend(opts, spec)
    scheduler = DecodeScheduler(backend)
    try:
        setup = CallSetup(
            scheduler=scheduler,
            decoder=SharedDecoder(spec, scheduler),
            playbooks=playbooks,
            sessions_dir=opts.sessions_dir,
            pipeline=PipelineConfig(
                vad=opts.vad, streaming=StreamingConfig(partials=opts.partials)
            ),
            model=spec.name,
        )
        server = TeamServer(team, setup, opts.host, opts.port, end_after_s=opts.end_after_s)
        try:
            server.start()
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise TurnaroundError(
                f"cannot serve on {opts.host}:{opts.port} ({reason}); pick another --port"
            ) from exc
    except BaseException:
        scheduler.close()
        if cluster is not None:
            cluster.stop()
        raise
    return TeamRun(server, scheduler, cluster)


def _playbooks(team: Team) -> dict[str, object]:
    from assistant.coach.playbook import load_playbook

    names = dict.fromkeys([team.playbook, *(rep.playbook for rep in team.reps)])
    return {name: load_playbook(name) for name in names}


def _prepare_folders(root: Path, team: Team) -> None:
    """The sessions folder and one private folder per rep, made now: a folder that
    cannot be written is said before the model loads, not at a rep's first call."""
    from assistant.sessions.store import prepare_dir

    prepare_dir(root)
    for rep in team.reps:
        folder = root / rep.id
        prepare_dir(folder)
        with contextlib.suppress(OSError):  # ours: an older run may have left it open
            if stat.S_IMODE(folder.stat().st_mode) & 0o077 and folder.stat().st_uid == os.getuid():
                folder.chmod(0o700)


def _backend(opts: TeamOptions, spec: object) -> tuple[Backend, object | None]:
    if opts.asr == "local":
        say(f"loading Whisper {spec.name} ({opts.decoders} decoder(s), CPU)", opts.quiet)  # type: ignore[attr-defined]
        backend = LocalBackend(
            spec,  # type: ignore[arg-type]
            workers=opts.decoders,
            cpu_threads=opts.cpu_threads,
            max_batch=opts.batch,
        )
        return backend, None
    if opts.asr != "ray":
        raise TurnaroundError(f"--asr must be local or ray, not {opts.asr!r}")
    from assistant.scale.ray_backend import RayBackend, ReplicaConfig, require_ray

    require_ray()
    cluster = None
    address = opts.ray_address
    if address is None:
        from assistant.scale.cluster import LocalCluster

        say("starting a private Ray cluster on 127.0.0.1 (--ray-address to use yours)", opts.quiet)
        cluster = LocalCluster(num_cpus=os.cpu_count() or 2).start()
        address = cluster.address
    config = ReplicaConfig(
        replicas=opts.replicas,
        max_replicas=opts.max_replicas,
        cpus=opts.replica_cpus,
        gpus=opts.replica_gpus,
        batch=opts.batch,
    )
    say(f"deploying Whisper replicas on Ray Serve at {address}", opts.quiet)
    try:
        backend = RayBackend(
            spec,  # type: ignore[arg-type]
            config,
            address,
            model_dir=str(opts.model_dir) if opts.model_dir else None,
        )
    except BaseException:
        if cluster is not None:
            cluster.stop()
        raise
    return backend, cluster
