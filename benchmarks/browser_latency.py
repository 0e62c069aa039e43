"""Speech end -> card painted in a real headless Chromium.

Starts the overlay server (``assistant/server/server.py``) on a free loopback port and
opens its page in Chromium through Playwright; the harness attaches the server to
the session as ``turnaround`` does. The page acknowledges every final caption and
card after it has painted it (``rendered`` messages); the server turns those into
latency records, which :mod:`benchmarks.latency` maps back to true speech ends.

Everything here is optional: no server module, no Playwright or no Chromium means a
:class:`Skip` with the reason, never a crash.
"""

from __future__ import annotations

import os
import time
from typing import Any

from assistant.cli.browser import HEADLESS_CHROMIUM_ARGS

from .results import Skip, say

CONNECT_TIMEOUT_S = 15.0
# After the last event the page still has to paint and acknowledge; a frame or two.
SETTLE_S = 1.0


def find_chromium() -> str | None:
    """$TURNAROUND_CHROMIUM when set, else the Chromium that ``--open`` would use."""
    from assistant.cli.browser import find_chromium as installed_chromium

    env = os.environ.get("TURNAROUND_CHROMIUM")
    if env and os.access(env, os.X_OK):
        return env
    return installed_chromium()


class BrowserOverlay:
    """Context manager: overlay server + one headless Chromium page connected to it."""

    def __init__(self) -> None:
        try:
            from assistant.server.server import OverlayServer
        except ImportError as exc:
            raise Skip(f"the overlay server is not available ({exc})") from exc
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise Skip("Playwright is not installed (pip install playwright)") from exc
        chromium = find_chromium()
        if chromium is None:
            raise Skip("no Chromium found (apt-get install chromium, or set TURNAROUND_CHROMIUM)")
        self._chromium = chromium
        self._sync_playwright = sync_playwright
        self._server_cls = OverlayServer
        self.server: Any = None
        self._pw: Any = None
        self._browser: Any = None
        self.page_errors: list[str] = []

    def __enter__(self) -> BrowserOverlay:
        try:
            self._open()
        except Skip:
            self.close()
            raise
        except Exception as exc:  # a browser that will not start is a skip, with why
            self.close()
            raise Skip(f"could not open the overlay in Chromium: {exc}") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        started = time.monotonic()
        self.server = self._server_cls(host="127.0.0.1", port=0)
        self.server.start()
        self._pw = self._sync_playwright().start()
        # launch() gives Chromium a fresh temporary profile of its own (it refuses a
        # --user-data-dir argument), so no state leaks between runs.
        self._browser = self._pw.chromium.launch(
            executable_path=self._chromium, headless=True, args=HEADLESS_CHROMIUM_ARGS
        )
        page = self._browser.new_page()
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))
        page.goto(self.server.url)
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while self.server.clients < 1:
            if time.monotonic() > deadline:
                raise Skip(f"the overlay page did not connect within {CONNECT_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        say(
            f"browser: Chromium connected to {self.server.url} "
            f"in {time.monotonic() - started:.1f} s"
        )

    def settle(self) -> None:
        """Give the page time to paint and acknowledge the last events."""
        time.sleep(SETTLE_S)

    @property
    def latencies(self) -> list[dict[str, Any]]:
        return list(self.server.latencies) if self.server is not None else []

    def close(self) -> None:
        for step in (
            lambda: self._browser and self._browser.close(),
            lambda: self._pw and self._pw.stop(),
            lambda: self.server and self.server.stop(),
        ):
            try:
                step()
            except Exception as exc:  # closing must not hide the figures already taken
                say(f"browser: cleanup problem ignored: {exc}")
        self._browser = self._pw = None
