"""Open the overlay: a Chromium ``--app`` window (no tabs or address bar, and Document
Picture-in-Picture for "pop out") when one is installed, else the default browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import webbrowser

# Tried in order; the first found on PATH wins.
CHROMIUM_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "microsoft-edge",
    "brave-browser",
)
MAC_APPS = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
)
# Sized to the layout it was designed for (fits 360x480 with the window frame).
APP_WINDOW_SIZE = "380,560"


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    if sys.platform == "darwin":
        return next((app for app in MAC_APPS if os.path.exists(app)), None)
    return None


def open_overlay(url: str) -> None:
    """Open ``url`` beside the call; never raises (the URL is printed anyway)."""
    chromium = find_chromium()
    if chromium is not None:
        try:
            subprocess.Popen(
                [chromium, f"--app={url}", f"--window-size={APP_WINDOW_SIZE}"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # outlives Ctrl-C in the terminal
            )
            return
        except OSError:
            pass
    webbrowser.open(url)


# Headless Chromium on a machine with no network but loopback (tests, benchmarks).
# RECIPES.md: without the background-networking flags Chromium floods the closed
# network with refused connections; --disable-gpu because there is none.
HEADLESS_CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
