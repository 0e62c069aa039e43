"""A real PulseAudio server and a null sink for a test (``paplay`` speaks into the
sink; its monitor is the microphone)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

SINK = "turnaround_test"


def need(binary: str) -> None:
    if shutil.which(binary) is None:
        message = f"{binary} not installed (apt-get install pulseaudio pulseaudio-utils)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a skip there would hide a broken setup
        pytest.skip(message)


def pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def pulse() -> Iterator[None]:
    for binary in ("pulseaudio", "pactl", "parec", "paplay"):
        need(binary)
    if subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
        # No module-always-sink: with a fallback source present, PortAudio quietly
        # re-opens on it after an unplug and the unplug test could not see it.
        subprocess.run(
            ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n",
             "--load=module-native-protocol-unix"],
            check=True, capture_output=True,
        )  # fmt: skip
        for _ in range(50):
            if subprocess.run(["pactl", "info"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
    yield


@pytest.fixture
def sink(pulse) -> Iterator[str]:
    module = pactl("load-module", "module-null-sink", f"sink_name={SINK}").strip()
    pactl("set-default-source", f"{SINK}.monitor")
    yield module
    subprocess.run(["pactl", "unload-module", module], capture_output=True)
