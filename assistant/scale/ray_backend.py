"""Decoding on a Ray Serve deployment of Whisper replicas (``turnaround serve --asr ray``).

The team server stays the one process with the calls: audio, VAD, the streaming
policy, the coach and the pages. Only decodes leave it, as ``DecodeJob``s to the
``WhisperReplica`` deployment (``scale.replica``), through a deployment handle
(no HTTP proxy: ``proxy_location="Disabled"``).

* **Batching** happens on the replicas (``@serve.batch``), across every call and
  every team server sharing the deployment; this backend sends decodes one by one
  (``max_batch = 1``), as many at a time as the replicas can hold (``slots``), so
  that queue depth is visible to Serve's autoscaler.
* **Autoscaling** on queue depth: Serve's ongoing requests per replica (queued on
  the replica and at the handle) against ``target_ongoing_requests``.
* **Retry once**: Serve does not retry a request whose replica died (the caller
  gets ``ActorDiedError`` at once). Any failed decode is sent once more; Serve no
  longer routes to a replica it saw die, so the retry goes to another one (or
  waits for the restarted one). The call is told it was slow. A retry that fails
  too is the decode's failure, as a local decoder's exception is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import time
from typing import Any

from assistant.asr.models import ModelSpec
from assistant.asr.results import DecodeResult
from assistant.errors import TurnaroundError
from assistant.scale.jobs import DecodeJob, retry_once
from assistant.scale.scheduler import Notice, Proceed

log = logging.getLogger(__name__)

APP_NAME = "turnaround-asr"
INSTALL_HINT = "pip install 'turnaround[serve]'"
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# A first try that has not answered by then is given up and retried: far beyond a
# decode (~0.1-1 s) even queued behind a busy floor, short of a call going silent.
DECODE_TIMEOUT_S = 30.0
# The retry may have to wait for Serve to restart the only replica (~8-14 s here).
RETRY_TIMEOUT_S = 60.0
# Deployment and replica start: loading and warming the model on each.
DEPLOY_TIMEOUT_S = 300.0
# Scale up when a replica has more than about one batch of decodes waiting.
TARGET_ONGOING = 4
UPSCALE_DELAY_S = 3.0
DOWNSCALE_DELAY_S = 60.0
# The replica count reported to the team view is refreshed at most this often.
STATUS_EVERY_S = 5.0


def loopback_driver(address: str) -> None:
    """A cluster on 127.0.0.1 must be joined on 127.0.0.1: Ray turns a loopback
    address into the machine's external one (and fails to reach a head bound to
    loopback) unless told this is a local-only cluster, which it reads from the
    environment when it is imported; both are set, for a Ray already imported."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host not in ("127.0.0.1", "localhost", "::1"):
        return
    os.environ[LOCAL_ONLY_ENV] = "0"
    if "ray" in sys.modules:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False


def require_ray() -> None:
    """Ray Serve is an optional extra: say how to get it."""
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError:
        raise TurnaroundError(
            f"--asr ray needs Ray Serve, which is not installed: {INSTALL_HINT}"
        ) from None


@dataclasses.dataclass(frozen=True)
class ReplicaConfig:
    replicas: int | None = None  # a fixed count; None: autoscale min..max
    min_replicas: int = 1
    max_replicas: int = 2
    cpus: float = 1.0  # per replica; also its decoder's threads
    gpus: float = 0.0
    batch: int = 4  # partials per @serve.batch call

    def options(self) -> dict[str, Any]:
        actor: dict[str, Any] = {"num_cpus": self.cpus}
        if self.gpus:
            actor["num_gpus"] = self.gpus
        opts: dict[str, Any] = {"ray_actor_options": actor}
        if self.replicas is not None:
            opts["num_replicas"] = self.replicas
        else:
            opts["autoscaling_config"] = {
                "min_replicas": self.min_replicas,
                "max_replicas": self.max_replicas,
                "initial_replicas": self.min_replicas,
                "target_ongoing_requests": TARGET_ONGOING,
                "upscale_delay_s": UPSCALE_DELAY_S,
                "downscale_delay_s": DOWNSCALE_DELAY_S,
            }
        return opts

    @property
    def most(self) -> int:
        return self.replicas if self.replicas is not None else self.max_replicas


class RayBackend:
    max_batch = 1  # the replicas batch (@serve.batch), across calls

    def __init__(
        self, spec: ModelSpec, config: ReplicaConfig, address: str, model_dir: str | None = None
    ) -> None:
        loopback_driver(address)
        require_ray()
        import ray
        from ray import serve
        from ray._private import auto_init_hook

        # Never a Ray of its own: a background thread of Serve's handle that calls
        # Ray after close() would otherwise start a new local cluster (in /tmp/ray,
        # outliving the server). Ray is joined explicitly, at ``address``, only.
        os.environ["RAY_ENABLE_AUTO_CONNECT"] = "0"
        auto_init_hook.enable_auto_connect = False

        from assistant.scale.replica import WhisperReplica

        self.spec = spec
        self.config = config
        self.address = address
        # Enough decodes in flight to fill every replica's batch and queue, so the
        # autoscaler sees the demand; the rest waits in the scheduler, finals first.
        self.slots = min(64, config.most * (config.batch + TARGET_ONGOING))
        started = time.perf_counter()
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            # Serve's INFO lines ("Started Serve", "Deleting app") are not the user's.
            logging.getLogger("ray.serve").setLevel(logging.WARNING)
            serve.start(proxy_location="Disabled")
            app = WhisperReplica.options(**config.options()).bind(
                spec.name, model_dir, max(1, int(config.cpus)), config.batch,
                "cuda" if config.gpus else "cpu",
            )  # fmt: skip
            handle = serve.run(app, name=APP_NAME, route_prefix=None)
            # One handle per method, kept: each has its router (and its threads),
            # which close() shuts down before leaving Ray.
            self._decoder = handle.options(method_name="decode")
            self._info = handle.options(method_name="info")
        except TurnaroundError:
            raise
        except Exception as exc:  # no cluster at that address, a deployment that failed
            raise TurnaroundError(f"cannot start the Ray Serve deployment: {exc}") from exc
        self.deploy_s = time.perf_counter() - started
        self._status: tuple[float, dict[str, Any]] = (-1e9, {})

    def decode(
        self, jobs: list[DecodeJob], notice: Notice, proceed: Proceed | None = None
    ) -> list[DecodeResult | None]:
        # ``proceed`` cannot reach into a replica's running batch; the replica's
        # own gate puts finals ahead of the partials it has not started.
        return [self._decode(job, notice) for job in jobs]

    def _decode(self, job: DecodeJob, notice: Notice) -> DecodeResult | None:
        return retry_once(self._send, job, notice)

    def _send(self, job: DecodeJob, retry: bool) -> DecodeResult | None:
        response = self._decoder.remote(job)
        try:
            return response.result(timeout_s=RETRY_TIMEOUT_S if retry else DECODE_TIMEOUT_S)
        except BaseException:
            with contextlib.suppress(Exception):  # a timed-out try must not decode twice
                response.cancel()
            raise

    def replicas(self) -> dict[str, int]:
        """Replica states (RUNNING, STARTING, ...), at most every few seconds."""
        at, cached = self._status
        if time.monotonic() - at < STATUS_EVERY_S:
            return cached
        from ray import serve

        try:
            app = serve.status().applications[APP_NAME]
            states = {
                str(getattr(state, "value", state)): int(count)
                for d in app.deployments.values()
                for state, count in d.replica_states.items()
            }
        except Exception:  # the controller restarting: report what we knew
            states = cached
        self._status = (time.monotonic(), states)
        return states

    def replica_pids(self) -> list[int]:
        """Process ids of the running replicas (their CPU and memory are read from
        the operating system: benchmarks, the kill test)."""
        from ray.util.state import list_actors

        actors = list_actors(filters=[("state", "=", "ALIVE")], limit=1000)
        mine = f"ServeReplica:{APP_NAME}:"
        return sorted(int(a.pid) for a in actors if mine in (a.class_name or "") and a.pid)

    def info(self) -> dict[str, Any]:
        """One replica's counters (the one Serve routes this to)."""
        return dict(self._info.remote().result(timeout_s=RETRY_TIMEOUT_S))

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "ray",
            "address": self.address,
            "replicas": self.replicas(),
            "batch": self.config.batch,
        }

    def close(self) -> None:
        """Take the deployment down and leave the cluster (which may be shared).

        The handles' routers go first: their metrics thread would otherwise go on
        calling Ray after ``ray.shutdown()`` and log a traceback every few seconds."""
        import ray
        from ray import serve

        for handle in (self._decoder, self._info):
            with contextlib.suppress(Exception):
                handle.shutdown()
        try:
            serve.delete(APP_NAME)
        except Exception as exc:  # the cluster already gone: nothing left to delete
            log.warning("could not delete the Serve deployment (%s)", type(exc).__name__)
        ray.shutdown()
        # Anything of Serve's still running in this process has nothing to say now.
        logging.getLogger("ray.serve").setLevel(logging.CRITICAL)
