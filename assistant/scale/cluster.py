"""A private Ray cluster on this machine, on loopback only, for ``--asr ray`` without
``--ray-address`` (and for the tests and the load benchmark).

``ray start --head`` with what RECIPES.md found works here: the node on 127.0.0.1
(``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, without which Ray binds the external
interface too), no dashboard, no usage reporting, free ports of its own, and its
own temporary folder. Stopping it ends exactly its processes, found by that
folder or its address and by descent from them, by process id: ``ray stop``
would end every Ray cluster of every user on the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.errors import TurnaroundError

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_env() -> dict[str, str]:
    return {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


class LocalCluster:
    def __init__(self, num_cpus: int = 2) -> None:
        self.num_cpus = num_cpus
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        # Short: Ray puts unix sockets under it (a socket path is at most 107 bytes).
        self.temp_dir = Path(tempfile.mkdtemp(prefix="ta-ray-", dir="/tmp"))
        self.started = False

    def start(self) -> LocalCluster:
        from assistant.scale.ray_backend import loopback_driver, require_ray

        loopback_driver(self.address)
        require_ray()
        command = [
            sys.executable,
            "-m",
            "ray.scripts.scripts",
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={self.port}",
            f"--ray-client-server-port={free_port()}",
            f"--num-cpus={self.num_cpus}",
            "--num-gpus=0",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={self.temp_dir}",
        ]
        try:
            done = subprocess.run(
                command,
                env=loopback_env(),
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            self.stop()
            raise TurnaroundError("the local Ray cluster did not start in time") from None
        self.started = True
        if done.returncode != 0:
            self.stop()
            lines = (done.stderr or done.stdout).strip().splitlines()
            why = lines[-1] if lines else f"exit status {done.returncode}"
            raise TurnaroundError(f"cannot start a local Ray cluster: {why}")
        return self

    def processes(self) -> list[int]:
        """Process ids of this cluster: those naming its folder or address, and
        everything they started."""
        import psutil

        marks = (str(self.temp_dir), f"--address={self.address}", f"--gcs-address={self.address}")
        me = os.getpid()
        roots = []
        for proc in psutil.process_iter(["cmdline"]):
            if proc.pid == me:
                continue
            args = proc.info.get("cmdline") or []
            if any(mark in arg for arg in args for mark in marks):
                roots.append(proc)
        found: dict[int, psutil.Process] = {}
        for root in roots:
            with contextlib.suppress(psutil.Error):
                for proc in [root, *root.children(recursive=True)]:
                    found[proc.pid] = proc
        found.pop(me, None)
        return sorted(found)

    def stop(self) -> None:
        import psutil

        if self.started:
            procs = []
            for pid in self.processes():
                with contextlib.suppress(psutil.Error, ProcessLookupError):
                    proc = psutil.Process(pid)
                    proc.send_signal(signal.SIGTERM)
                    procs.append(proc)
            _, alive = psutil.wait_procs(procs, timeout=STOP_TIMEOUT_S)
            for proc in alive:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(alive, timeout=STOP_TIMEOUT_S)
            self.started = False
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(predicate, timeout_s: float, step_s: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
