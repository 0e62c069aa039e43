"""What this machine plays, as an input: the monitor source of a PulseAudio or
PipeWire (pipewire-pulse) sink, for ``turnaround live --remote monitor``.

A desktop call app plays the other side of the call through the default output;
the sound server's monitor of that output carries exactly that. PortAudio does not
list monitor sources (sounddevice shows ``pulse`` and ``default`` only), so the
monitor is recorded by ``parec``, 16 kHz mono int16 on its standard output, read
here as it comes: nothing is written to disk. ``pactl`` lists the sources and says
which sink is the default output.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.errors import AudioInputError, DeviceLostError
from assistant.events import RawAudio

MONITOR = "monitor"
SAMPLE_RATE_HZ = 16000
# 32 ms reads, as the microphone's callbacks: one VAD frame each.
BLOCK_BYTES = 2 * 512
# parec's own buffering: small, so the call's audio is not held back.
LATENCY_MS = 32
PACTL_TIMEOUT_S = 5.0
TOOLS_FIX = (
    "install PulseAudio's tools (Debian/Ubuntu: sudo apt-get install pulseaudio-utils; "
    "with PipeWire, pipewire-pulse provides the server)"
)


def is_monitor_spec(spec: str | None) -> bool:
    return spec is not None and (spec == MONITOR or spec.startswith(MONITOR + ":"))


@dataclass(frozen=True)
class MonitorSourceInfo:
    name: str  # the sound server's source name, e.g. alsa_output.pci-0000.analog-stereo.monitor
    sink: str  # the sink it monitors
    is_default: bool  # the monitor of the default output
    index: int = -1  # the sound server's source number (its events name it)


def _pactl(*args: str) -> str:
    if shutil.which("pactl") is None:
        raise AudioInputError(f"--remote monitor needs pactl: {TOOLS_FIX}")
    try:
        done = subprocess.run(
            ["pactl", *args], capture_output=True, text=True, timeout=PACTL_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioInputError(f"cannot ask the sound server (pactl {args[0]}): {exc}") from exc
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        raise AudioInputError(f"no PulseAudio or PipeWire sound server answers ({why})")
    return done.stdout


def _default_sink() -> str | None:
    for line in _pactl("info").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Default Sink":
            return value.strip() or None
    return None


def list_monitors() -> list[MonitorSourceInfo]:
    """Every monitor source the sound server has, the default output's first."""
    if not sys.platform.startswith("linux"):
        return []
    default = _default_sink()
    found = []
    for line in _pactl("list", "short", "sources").splitlines():
        fields = line.split("\t")
        if len(fields) < 2 or not fields[1].endswith(".monitor"):
            continue
        sink = fields[1][: -len(".monitor")]
        index = int(fields[0]) if fields[0].isdigit() else -1
        found.append(MonitorSourceInfo(fields[1], sink, sink == default, index))
    return sorted(found, key=lambda m: not m.is_default)


def resolve_monitor(spec: str) -> MonitorSourceInfo:
    """``monitor``: the default output's monitor; ``monitor:NAME``: the monitor of
    sink NAME, or the monitor source NAME."""
    if not sys.platform.startswith("linux"):
        raise AudioInputError(
            "--remote monitor needs Linux with PulseAudio or PipeWire; elsewhere use "
            "`turnaround live --browser` and share the call's tab or screen audio"
        )
    monitors = list_monitors()
    wanted = spec.partition(":")[2].strip()
    if not wanted:
        chosen = [m for m in monitors if m.is_default]
        if not chosen:
            raise AudioInputError(
                "the sound server has no default output to monitor; name one with "
                "--remote monitor:NAME (see `turnaround devices`)"
            )
        return chosen[0]
    chosen = [m for m in monitors if wanted in (m.name, m.sink)]
    if not chosen:
        known = ", ".join(m.name for m in monitors) or "none"
        raise AudioInputError(f"no monitor source {wanted!r}; monitor sources are: {known}")
    return chosen[0]


class MonitorSource:
    """An ``AudioSource`` over ``parec`` recording one monitor source."""

    realtime = True
    sample_rate_hz = SAMPLE_RATE_HZ
    channels = 1

    def __init__(self, info: MonitorSourceInfo) -> None:
        if shutil.which("parec") is None:
            raise AudioInputError(f"--remote monitor needs parec: {TOOLS_FIX}")
        self.info = info
        self.name = f"monitor of {info.sink}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._errors: deque[str] = deque(maxlen=5)  # parec's last stderr lines
        self._events: subprocess.Popen[str] | None = None  # pactl subscribe

    def start(
        self, sink: Callable[[RawAudio], None], on_end: Callable[[Exception | None], None]
    ) -> None:
        command = [
            "parec",
            f"--device={self.info.name}",
            "--format=s16le",
            f"--rate={SAMPLE_RATE_HZ}",
            "--channels=1",
            f"--latency-msec={LATENCY_MS}",
            "--raw",
            "--client-name=turnaround",
            "--stream-name=call audio (monitor)",
        ]
        try:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise AudioInputError(f"cannot start parec for {self.name}: {exc}") from exc
        self._thread = threading.Thread(
            target=self._read, args=(sink, on_end), name="monitor-capture", daemon=True
        )
        self._thread.start()
        # Drained as it comes, so a chatty parec never blocks on a full pipe.
        threading.Thread(target=self._drain_stderr, name="monitor-stderr", daemon=True).start()
        self._watch_removal(on_end)

    def _watch_removal(self, on_end: Callable[[Exception | None], None]) -> None:
        """The sound server moves a stream whose source is removed (the output
        unplugged, the sink unloaded) to another source, and parec records on from
        there -- possibly the microphone. ``pactl subscribe`` says when our source goes:
        that ends this input, as an unplugged device does."""
        if self.info.index < 0:
            return
        try:
            self._events = subprocess.Popen(
                ["pactl", "subscribe"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            return  # no events: an unplug is then not noticed, as before
        gone = f"'remove' on source #{self.info.index}"

        def watch() -> None:
            stream = self._events.stdout if self._events is not None else None
            with contextlib.suppress(OSError, ValueError):
                for line in stream or ():
                    if gone in line and not self._stopping.is_set():
                        self._stopping.set()
                        self._kill()
                        on_end(DeviceLostError(f"{self.name} is gone (output removed?)"))
                        return

        threading.Thread(target=watch, name="monitor-events", daemon=True).start()

    def _drain_stderr(self) -> None:
        stream = self._proc.stderr if self._proc is not None else None
        if stream is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for line in stream:
                self._errors.append(line.decode("utf-8", "replace").strip())

    def _read(
        self, sink: Callable[[RawAudio], None], on_end: Callable[[Exception | None], None]
    ) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        pending = b""
        while True:
            try:
                chunk = os.read(fd, BLOCK_BYTES * 4)
            except OSError:
                chunk = b""
            if not chunk:
                break
            pending += chunk
            whole = len(pending) - len(pending) % BLOCK_BYTES
            for i in range(0, whole, BLOCK_BYTES):
                block = np.frombuffer(pending[i : i + BLOCK_BYTES], dtype="<i2")
                samples = (block.astype(np.float32) / 32768.0)[:, None]
                sink(RawAudio(samples, SAMPLE_RATE_HZ, time.monotonic()))
            pending = pending[whole:]
        if self._stopping.is_set():
            return
        proc.wait()
        time.sleep(0.1)  # parec's last words reach the stderr reader
        why = next((e for e in reversed(self._errors) if e), f"exit status {proc.returncode}")
        on_end(DeviceLostError(f"{self.name} stopped (parec: {why})"))

    def stop(self) -> None:
        self._stopping.set()
        self._kill()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _kill(self) -> None:
        for proc in (self._proc, self._events):
            if proc is None:
                continue
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for stream in (proc.stdout, proc.stderr):
                with contextlib.suppress(OSError, AttributeError):
                    stream.close()  # type: ignore[union-attr]


def monitor_lines() -> list[str]:
    """What ``turnaround devices`` shows about monitor sources (Linux only)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        monitors = list_monitors()
    except AudioInputError as exc:
        return [f"monitor sources: none listed ({exc})"]
    if not monitors:
        return ["monitor sources: none (the sound server lists no output to monitor)"]
    lines = ["monitor sources (--remote monitor, or --remote monitor:NAME):"]
    for m in monitors:
        lines.append(f"  {m.name}{' (default output)' if m.is_default else ''}")
    return lines
