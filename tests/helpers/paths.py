"""Where the tests find the repository, its fixtures and Chromium."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
# Debian's Chromium, never a browser Playwright downloads (CI installs it).
CHROMIUM = Path("/usr/bin/chromium")
AUDIO = REPO / "tests" / "fixtures" / "audio"
SAMPLE_CALL = REPO / "assistant" / "samples" / "sample_call.ogg"
